import { v7 as uuidv7 } from 'uuid';
import type { Clock } from '../contracts/clock.js';
import type { DeadLetterQueue } from '../contracts/dead-letter-queue.js';
import type { ValidationIssue } from '../contracts/errors.js';
import type { Lead } from '../contracts/lead.js';
import type { LeadStoreV1, LeadUpsertStatus } from '../contracts/lead-store.js';
import { redactSecrets } from '../contracts/secrets.js';
import { leadIdentityKey } from '../lead/identity.js';
import { errorInfo } from './ledger.js';
import type { PipelineDeadLetterError } from './report.js';

/** The dead-letter `target` of a lead the store failed to take. */
const STORE_DEAD_LETTER_TARGET = 'leadStore';

/** How one lead's store upsert ended. */
export type StoreStageOutcome =
  | {
      /** The store took the lead. */
      readonly kind: 'stored';
      /** `created`, `updated` or `unchanged`. */
      readonly status: Exclude<LeadUpsertStatus, 'rejected'>;
      /** Id of the stored lead. */
      readonly id: string;
    }
  | {
      /** The store refused the lead (bad input); the issues are named `store.<field>`. */
      readonly kind: 'rejected';
      /** Every reason. */
      readonly issues: readonly ValidationIssue[];
    }
  | {
      /** The upsert failed: the lead is on the dead-letter queue. */
      readonly kind: 'deadLettered';
      /** The error, naming its queue entry. */
      readonly error: PipelineDeadLetterError;
    };

/** Options of {@link createStoreStage}. */
export interface StoreStageOptions {
  /** The store leads are upserted into. */
  readonly store: LeadStoreV1;
  /** Where leads whose upsert failed go. */
  readonly deadLetters: DeadLetterQueue;
  /** Clock of the dead-letter entries. */
  readonly now: Clock;
}

/** The store stage of a pipeline: one upsert per batch, one outcome per lead. */
export interface StoreStage {
  /**
   * Upsert a batch; resolves with one outcome per lead, in order. A failed
   * upsert dead-letters every lead of the batch (one entry each); rejects
   * only when the dead-letter queue failed too.
   */
  write(leads: readonly Lead[]): Promise<readonly StoreStageOutcome[]>;
}

/**
 * The lead store as a terminal step of the pipeline, beside the CRMs: each
 * batch is one `upsert` (keyed by identity, so a resumed run that writes a
 * lead again merges it into the same row: `unchanged` when nothing new
 * came). A failure puts each lead of the batch on the dead-letter queue
 * with target `leadStore`, the lead as JSON in `record.properties.lead`.
 */
export function createStoreStage(options: StoreStageOptions): StoreStage {
  const { store, deadLetters, now } = options;
  return {
    async write(leads) {
      let outcomes: Awaited<ReturnType<LeadStoreV1['upsert']>>;
      try {
        outcomes = await store.upsert(leads);
      } catch (error) {
        const info = errorInfo(error);
        const at = new Date(now()).toISOString();
        const results: StoreStageOutcome[] = [];
        for (const lead of leads) {
          const id = uuidv7();
          await deadLetters.put({
            id,
            target: STORE_DEAD_LETTER_TARGET,
            object: 'lead',
            idProperty: 'identity',
            record: {
              key: leadIdentityKey(lead) ?? lead.id,
              properties: { lead: JSON.stringify(lead) },
            },
            leadIds: [lead.id],
            error: {
              code: 'adapter_error',
              message: redactSecrets(`${info.code}: ${info.message}`),
              retryable: info.retryable,
            },
            attempts: 1,
            firstFailedAt: at,
            lastFailedAt: at,
          });
          results.push({
            kind: 'deadLettered',
            error: {
              target: STORE_DEAD_LETTER_TARGET,
              code: info.code,
              message: `${STORE_DEAD_LETTER_TARGET}/lead: upsert failed (entry ${id}): ${info.message}`,
              retryable: info.retryable,
            },
          });
        }
        return results;
      }
      return leads.map((lead, index): StoreStageOutcome => {
        const outcome = outcomes[index];
        if (outcome === undefined) {
          return {
            kind: 'rejected',
            issues: [{ field: 'store', reason: `the store returned no outcome for lead ${lead.id}` }],
          };
        }
        if (outcome.status === 'rejected') {
          return {
            kind: 'rejected',
            issues: (outcome.issues ?? [{ field: 'lead', reason: 'refused by the store' }]).map((issue) => ({
              field: `store.${issue.field}`,
              reason: issue.reason,
            })),
          };
        }
        return { kind: 'stored', status: outcome.status, id: outcome.id ?? lead.id };
      });
    },
  };
}

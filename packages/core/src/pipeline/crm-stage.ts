import type { DeadLetterQueue } from '../contracts/dead-letter-queue.js';
import type { ValidationIssue } from '../contracts/errors.js';
import type { Lead } from '../contracts/lead.js';
import {
  type CrmSync,
  type CrmSyncEvent,
  type CrmSyncOptions,
  type CrmSyncTargetReport,
  createCrmSync,
} from '../crm/index.js';
import type { PipelineDeadLetterError } from './report.js';

/** How one lead's CRM writes ended. */
export type CrmStageOutcome =
  | {
      /** Every CRM took the lead. */
      readonly kind: 'written';
    }
  | {
      /** A CRM mapping refused the lead (and no CRM dead-lettered it). */
      readonly kind: 'rejected';
      /** Every reason, named `crm.<adapterId>.<property>`. */
      readonly issues: readonly ValidationIssue[];
    }
  | {
      /** A CRM failed the lead for good: its record is on the dead-letter queue. Wins over a reject. */
      readonly kind: 'deadLettered';
      /** One error per CRM that failed. */
      readonly errors: readonly PipelineDeadLetterError[];
    };

/** What a CRM stage write resolves to. */
export interface CrmStageResult {
  /** One outcome per lead, in the order given. */
  readonly outcomes: readonly CrmStageOutcome[];
  /** The CRM sync's reports of this write, per CRM and object. */
  readonly reports: readonly CrmSyncTargetReport[];
}

/** The CRM stage of a pipeline: writes leads to every CRM and says how each one ended. */
export interface CrmStage {
  /** The CRM sync engine (for `redrive` through the pipeline). */
  readonly sync: CrmSync;
  /**
   * Write leads to every CRM. Resolves once each lead is in a terminal state
   * in every CRM; rejects when the sync itself fails (aborted, or the
   * dead-letter queue failed).
   */
  write(leads: readonly Lead[], signal: AbortSignal): Promise<CrmStageResult>;
}

/** Options of {@link createCrmStage}. */
export interface CrmStageOptions {
  /** The CRMs, each with its mapping. */
  readonly crms: CrmSyncOptions['crms'];
  /** Other settings of the CRM sync. */
  readonly crmOptions?: Omit<CrmSyncOptions, 'crms' | 'deadLetters' | 'onEvent'> | undefined;
  /** Where dead-lettered records go. */
  readonly deadLetters: DeadLetterQueue;
  /** Told every CRM sync event (to re-emit it). */
  readonly onEvent: (event: CrmSyncEvent) => void;
}

interface Collector {
  readonly errors: PipelineDeadLetterError[];
  readonly issues: ValidationIssue[];
}

/**
 * The CRM stage over `createCrmSync`, one sync call per batch. The sync
 * reports a lead's reject or dead letter only as an event, so each write
 * collects those events by lead id for the leads it sent.
 */
export function createCrmStage(options: CrmStageOptions): CrmStage {
  const collectors = new Map<string, Collector>();
  const sync = createCrmSync({
    ...options.crmOptions,
    crms: options.crms,
    deadLetters: options.deadLetters,
    onEvent: (event: CrmSyncEvent) => {
      if (event.type === 'crm.recordDeadLettered') {
        for (const leadId of event.leadIds) {
          collectors.get(leadId)?.errors.push({
            target: event.adapterId,
            code: event.code,
            message: `${event.adapterId}/${event.object}: record dead-lettered (entry ${event.entryId})`,
            retryable: event.retryable,
          });
        }
      } else if (event.type === 'crm.recordRejected') {
        const collector = collectors.get(event.leadId);
        for (const issue of event.issues) {
          collector?.issues.push({ field: `crm.${event.adapterId}.${issue.field}`, reason: issue.reason });
        }
      }
      options.onEvent(event);
    },
  });

  return {
    sync,
    async write(leads, signal) {
      const mine = leads.map((lead) => {
        const collector: Collector = { errors: [], issues: [] };
        collectors.set(lead.id, collector);
        return collector;
      });
      try {
        const report = await sync.sync(leads, { signal });
        const outcomes = mine.map((collector): CrmStageOutcome => {
          if (collector.errors.length > 0) return { kind: 'deadLettered', errors: collector.errors };
          if (collector.issues.length > 0) return { kind: 'rejected', issues: collector.issues };
          return { kind: 'written' };
        });
        return { outcomes, reports: report.crms };
      } finally {
        for (const lead of leads) collectors.delete(lead.id);
      }
    },
  };
}

/**
 * The leads waiting for a CRM batch, and the linger timer of a partial one:
 * the first lead of an empty buffer starts the timer; when it fires, the
 * batch is due even if not full.
 */
export class CrmBatchBuffer<Item> {
  readonly #lingerMs: number;
  readonly #onDue: () => void;
  #items: Item[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lingerExpired = false;

  /**
   * @param lingerMs - how long a partial batch waits for more, in ms (0: no timer).
   * @param onDue - told when the linger time of a partial batch ran out.
   */
  constructor(lingerMs: number, onDue: () => void) {
    this.#lingerMs = lingerMs;
    this.#onDue = onDue;
  }

  /** Items waiting. */
  get length(): number {
    return this.#items.length;
  }

  /** Whether the linger time of the waiting items ran out. */
  get lingerExpired(): boolean {
    return this.#lingerExpired;
  }

  /** Add an item; starts the linger timer when none runs. */
  add(item: Item): void {
    this.#items.push(item);
    if (this.#timer === undefined && this.#lingerMs > 0) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#lingerExpired = true;
        this.#onDue();
      }, this.#lingerMs);
      this.#timer.unref?.();
    }
  }

  /** Take up to `max` items, oldest first; an emptied buffer stops its timer. */
  take(max: number): Item[] {
    const taken = this.#items.splice(0, max);
    if (this.#items.length === 0) this.#reset();
    return taken;
  }

  /** Take every item and stop the timer. */
  clear(): Item[] {
    const taken = this.#items;
    this.#items = [];
    this.#reset();
    return taken;
  }

  #reset(): void {
    this.#lingerExpired = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

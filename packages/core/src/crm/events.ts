import type { CrmRecordErrorCode } from '../spec/crm-adapter.js';
import type { ValidationIssue } from '../spec/errors.js';
import { redactValue } from '../spec/secrets.js';

/**
 * Every event the CRM sync engine emits. Payloads carry ids, counts and
 * codes, never record values or secrets. Listeners only observe: one that
 * throws never breaks a run.
 */
export type CrmSyncEvent =
  | {
      /** A batch of records is being sent (`attempt` > 1 for a retry of its retryable records). */
      readonly type: 'crm.batchSent';
      readonly adapterId: string;
      readonly object: string;
      readonly records: number;
      readonly attempt: number;
    }
  | {
      /** A batch reached its end: every record in it is done or dead-lettered. */
      readonly type: 'crm.batchCompleted';
      readonly adapterId: string;
      readonly object: string;
      readonly created: number;
      readonly updated: number;
      readonly unchanged: number;
      readonly deadLettered: number;
    }
  | {
      /** Records failed with retryable errors and will be sent again, alone. */
      readonly type: 'crm.recordsRetrying';
      readonly adapterId: string;
      readonly object: string;
      readonly records: number;
      readonly attempt: number;
    }
  | {
      /** A lead could not be mapped; it was not sent. */
      readonly type: 'crm.recordRejected';
      readonly adapterId: string;
      readonly object: string;
      readonly leadId: string;
      readonly issues: readonly ValidationIssue[];
    }
  | {
      /** A record was put on the dead-letter queue. */
      readonly type: 'crm.recordDeadLettered';
      readonly adapterId: string;
      readonly object: string;
      readonly entryId: string;
      readonly leadIds: readonly string[];
      readonly code: CrmRecordErrorCode;
      readonly retryable: boolean;
    }
  | {
      /** The CRM answered 429; its limiter waits `waitMs` and sends the same call again. */
      readonly type: 'crm.rateLimited';
      readonly adapterId: string;
      readonly waitMs: number;
    }
  | {
      /**
       * The CRM kept failing as a whole (or refused our credentials); the
       * rest of its records in this run go straight to the dead-letter queue.
       */
      readonly type: 'crm.down';
      readonly adapterId: string;
      readonly object: string;
      readonly code: string;
      readonly message: string;
    };

/** Name of a CRM sync event. */
export type CrmSyncEventType = CrmSyncEvent['type'];

/** Call `listener` with a scrubbed copy of `event`, isolating any failure of the listener. */
export function emitCrmEvent(
  listener: ((event: CrmSyncEvent) => void) | undefined,
  event: CrmSyncEvent,
): void {
  if (!listener) return;
  try {
    const returned: unknown = listener(redactValue(event));
    if (returned instanceof Promise) returned.catch(() => undefined);
  } catch {
    // Listeners only observe; a failing one must not break the run.
  }
}

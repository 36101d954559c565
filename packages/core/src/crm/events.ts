import type { CrmRecordErrorCode } from '../contracts/crm-adapter.js';
import type { ValidationIssue } from '../contracts/errors.js';
import type { SafeEventBus } from '../events/safe-event-bus.js';

/**
 * Every event the CRM sync engine emits. Payloads carry ids, counts and
 * codes, never record values or secrets. Listeners only observe: one that
 * throws never breaks a run.
 */
export type CrmSyncEvent =
  | {
      /**
       * A batch of records is being sent (`attempt` > 1 for a retry of its
       * records not yet written; a re-send by the limiter after a 429 repeats
       * the same `attempt`).
       */
      readonly type: 'crm.batchSent';
      /** Id of the CRM adapter the batch goes to. */
      readonly adapterId: string;
      /** The CRM object written, such as `contacts`. */
      readonly object: string;
      /** Records in this call. */
      readonly records: number;
      /** Number of this attempt of the upsert, from 1. */
      readonly attempt: number;
    }
  | {
      /** A batch reached its end: every record in it is done or dead-lettered. */
      readonly type: 'crm.batchCompleted';
      /** Id of the CRM adapter. */
      readonly adapterId: string;
      /** The CRM object written. */
      readonly object: string;
      /** Records of the batch the CRM created. */
      readonly created: number;
      /** Records of the batch the CRM updated. */
      readonly updated: number;
      /**
       * Records of the batch left as they were: the CRM already held them as
       * sent, or the conflict policy left nothing to write.
       */
      readonly unchanged: number;
      /** Records of the batch put on the dead-letter queue. */
      readonly deadLettered: number;
    }
  | {
      /**
       * Records failed with retryable errors (or the whole call did) and will
       * be sent again, without the records already written. Emitted after
       * the backoff, just before the new attempt.
       */
      readonly type: 'crm.recordsRetrying';
      /** Id of the CRM adapter. */
      readonly adapterId: string;
      /** The CRM object written. */
      readonly object: string;
      /** Records sent again. */
      readonly records: number;
      /** Number of the attempt about to be made, from 2. */
      readonly attempt: number;
    }
  | {
      /** A lead could not be mapped; it was not sent. */
      readonly type: 'crm.recordRejected';
      /** Id of the CRM adapter whose mapping refused the lead. */
      readonly adapterId: string;
      /** The CRM object of that mapping. */
      readonly object: string;
      /** Id of the lead refused (`unknown` when the input was not a lead). */
      readonly leadId: string;
      /** Every reason, each naming the CRM property (`lead` when the input was not a lead). */
      readonly issues: readonly ValidationIssue[];
    }
  | {
      /** A record was put on the dead-letter queue. */
      readonly type: 'crm.recordDeadLettered';
      /** Id of the CRM adapter the record was for. */
      readonly adapterId: string;
      /** The CRM object the record was for. */
      readonly object: string;
      /** Id of the dead-letter entry (on redelivery, the id of the entry sent again). */
      readonly entryId: string;
      /** Ids of every lead merged into this record (several when leads shared its key). */
      readonly leadIds: readonly string[];
      /** Code of the failure stored with the entry. */
      readonly code: CrmRecordErrorCode;
      /** Whether a redrive may succeed. */
      readonly retryable: boolean;
    }
  | {
      /**
       * The CRM answered 429; its limiter waits `waitMs` and sends the same
       * call again. Only reported for limiters of the engine's own registry
       * (not a `limiterRegistry` or a target's `limiter` passed in).
       */
      readonly type: 'crm.rateLimited';
      /** Id of the CRM adapter that answered 429. */
      readonly adapterId: string;
      /** How long the limiter pauses before sending the call again, in ms. */
      readonly waitMs: number;
    }
  | {
      /**
       * The CRM kept failing as a whole (or refused our credentials); the
       * rest of its records in this run go straight to the dead-letter queue.
       */
      readonly type: 'crm.down';
      /** Id of the CRM adapter that went down. */
      readonly adapterId: string;
      /** The CRM object whose run went down. */
      readonly object: string;
      /**
       * Code of the failure that took it down: `unauthorized`, `forbidden` or
       * `quota_exceeded` at once, any other once `downAfter` batches in a row failed as a whole.
       */
      readonly code: CrmRecordErrorCode;
      /** Message of that failure, scrubbed of secrets. */
      readonly message: string;
    };

/** Name of a CRM sync event. */
export type CrmSyncEventType = CrmSyncEvent['type'];

/** Every CRM sync event by name, as `CrmSync.on` takes them. */
export type CrmSyncEventMap = { readonly [E in CrmSyncEvent as E['type']]: E };

/** Every event name, in no particular order (to subscribe one listener to all). */
export const CRM_SYNC_EVENT_TYPES: readonly CrmSyncEventType[] = [
  'crm.batchSent',
  'crm.batchCompleted',
  'crm.recordsRetrying',
  'crm.recordRejected',
  'crm.recordDeadLettered',
  'crm.rateLimited',
  'crm.down',
];

/** Emit `event` on `bus` under its own name. The bus isolates listeners and scrubs the payload. */
export function emitCrmEvent(bus: SafeEventBus<CrmSyncEventMap>, event: CrmSyncEvent): void {
  bus.emit(event.type, event as never);
}

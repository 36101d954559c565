import type { Clock } from '../contracts/clock.js';
import type {
  CrmAdapterV1,
  CrmChangesPage,
  CrmListChangesRequest,
  CrmRecordError,
} from '../contracts/crm-adapter.js';
import type { DeadLetterEntry, DeadLetterQueue } from '../contracts/dead-letter-queue.js';
import type { ValidationIssue } from '../contracts/errors.js';
import type { Lead } from '../contracts/lead.js';
import type { LimiterRegistry, LimiterRegistryOptions, ProviderLimiter } from '../limits/index.js';
import type { ObservabilityOptions } from '../telemetry/index.js';
import type { CrmSyncEvent, CrmSyncEventMap } from './events.js';
import type { CrmFieldMapping, CrmFieldMappingDefinition } from './mapping.js';

/** One CRM to sync into: an adapter and how leads map onto one of its objects. */
export interface CrmSyncTarget {
  /** The CRM adapter. */
  readonly adapter: CrmAdapterV1;
  /** The mapping; a plain definition is checked with `defineFieldMapping()`. */
  readonly mapping: CrmFieldMapping | CrmFieldMappingDefinition;
  /**
   * A limiter to use instead of the registry's one for this adapter, such as
   * one shared with other code calling the same account.
   */
  readonly limiter?: ProviderLimiter;
}

/**
 * Backoff of retries (5xx, timeouts, network, retryable record failures). The
 * upsert loop and the `doGet` / `doListChanges` calls (through `withRetry`) share it.
 */
export interface CrmSyncRetryOptions {
  /** Retries after the first attempt. */
  readonly retries?: number;
  /** First backoff, in ms. */
  readonly minTimeoutMs?: number;
  /** Longest backoff, in ms. */
  readonly maxTimeoutMs?: number;
}

/** A lead that could not be mapped for a CRM, and why. */
export interface CrmSyncReject {
  /** The CRM adapter. */
  readonly adapterId: string;
  /** The CRM object. */
  readonly object: string;
  /** The lead's id (`unknown` when the input was not a lead). */
  readonly leadId: string;
  /** Every reason, naming the CRM property. */
  readonly issues: readonly {
    /** The CRM property refused, such as `jobtitle` (`lead` when the input was not a lead). */
    readonly field: string;
    /** Why, such as a missing required value or a transform that threw (scrubbed of secrets). */
    readonly reason: string;
  }[];
}

/** Options of {@link createCrmSync}. */
export interface CrmSyncOptions extends ObservabilityOptions {
  /** The CRMs to sync into, each with its mapping. (adapterId, object) pairs must be unique. */
  readonly crms: readonly CrmSyncTarget[];
  /** Where permanently failed records go. Default: an in-memory queue. */
  readonly deadLetters?: DeadLetterQueue;
  /**
   * The limiter registry, to share limits with the enrichment engine or
   * across processes (Redis). Default: a registry of the engine's own,
   * disconnected by `close()`.
   */
  readonly limiterRegistry?: LimiterRegistry;
  /**
   * Options of the engine's own registry when `limiterRegistry` is not given.
   * Its 429s are also reported as `crm.rateLimited` events.
   */
  readonly limits?: LimiterRegistryOptions;
  /** Backoff of retries. */
  readonly retry?: CrmSyncRetryOptions;
  /** Batches in flight at once per CRM. Default 2. */
  readonly concurrency?: number;
  /**
   * After this many batches in a row fail as a whole (after retries), a CRM
   * is considered down for the rest of the run: its remaining records go
   * straight to the dead-letter queue, marked retryable, to be redriven
   * later. Auth failures (`unauthorized`, `forbidden`) the adapter did not
   * mark retryable (a wrong credential; a session that expired again right
   * after its renewal is retryable and counts here) and `quota_exceeded`
   * take a CRM down at once. A `rate_limited` call (the vendor asking to
   * wait) never counts. Down lasts for the whole run (a session, or
   * one `sync` call): later batches dead-letter without calling, and
   * `crm.down` is emitted once. After a batch failed as a whole, new batches
   * wait for those in flight (one probe at a time) until one succeeds.
   * Default 3.
   */
  readonly downAfter?: number;
  /** Clock, in epoch ms, for dead-letter times and durations. Default `systemClock`. */
  readonly now?: Clock;
  /**
   * Observes every event (as `on()` for each event name). Payloads are
   * scrubbed; a throwing listener is ignored and changes no outcome.
   */
  readonly onEvent?: (event: CrmSyncEvent) => void;
  /** Told about every lead rejected by a mapping (also counted and emitted as `crm.recordRejected`). */
  readonly onRejected?: (reject: CrmSyncReject) => void;
}

/**
 * What happened in one CRM during a run. Every input ends in exactly one of
 * `rejected`, `merged` (folded into another input with the same key),
 * `created`, `updated`, `unchanged` or `deadLettered`, so
 * `received = rejected + merged + created + updated + unchanged + deadLettered`.
 */
export interface CrmSyncTargetReport {
  /** The CRM adapter. */
  readonly adapterId: string;
  /** The CRM object. */
  readonly object: string;
  /** `ok`: nothing failed; `degraded`: some records were dead-lettered; `down`: the CRM went down. */
  readonly status: 'ok' | 'degraded' | 'down';
  /** Inputs (leads, or dead letters on redelivery) seen for this CRM. */
  readonly received: number;
  /** Leads the mapping rejected before any call. */
  readonly rejected: number;
  /** Inputs merged into another with the same key in the same batch. */
  readonly merged: number;
  /** Records created. */
  readonly created: number;
  /** Records updated. */
  readonly updated: number;
  /** Records the CRM already held as sent, or with nothing left to write after the conflict policy. */
  readonly unchanged: number;
  /** Records written without some of their properties, which the adapter left out with a warning. */
  readonly warned: number;
  /** Records that ended in failure. Every one is on the dead-letter queue. */
  readonly failed: number;
  /** Records put on the dead-letter queue. */
  readonly deadLettered: number;
  /** Record resubmissions after retryable failures (a record sent three times counts 2). */
  readonly retried: number;
  /** Adapter calls made (`doUpsert` and `doGet`), retries included. */
  readonly calls: number;
  /** Why the CRM went down, when it did. */
  readonly error?: {
    /** Code of the failure that took the CRM down, such as `unauthorized` or `server_error`. */
    readonly code: string;
    /** `<adapterId> is down for this run: ` and that failure's message, scrubbed of secrets. */
    readonly message: string;
  };
}

/** The result of a run: one report per CRM. */
export interface CrmSyncReport {
  /** Inputs read (leads, or dead-letter entries on redelivery). */
  readonly inputs: number;
  /** Dead-letter entries left alone because no configured CRM matches their target and object. */
  readonly unmatched: number;
  /** Run time in ms, by the engine's clock. */
  readonly durationMs: number;
  /** One report per configured CRM, in configuration order. */
  readonly crms: readonly CrmSyncTargetReport[];
}

/** Options of one run. */
export interface CrmSyncRunOptions {
  /** Cancels the run: it rejects with an `aborted` error, and in-flight calls are aborted. */
  readonly signal?: AbortSignal;
}

/** Options of {@link CrmSync.redeliver}. */
export interface CrmRedeliverOptions extends CrmSyncRunOptions {
  /**
   * The queue the entries come from: delivered entries are removed from it,
   * and entries that fail again are updated in it (same id). Default: the
   * engine's own queue.
   */
  readonly queue?: DeadLetterQueue;
}

/** The CRM sync engine. Build it with {@link createCrmSync}. */
export interface CrmSync {
  /** The queue permanent failures go to. */
  readonly deadLetters: DeadLetterQueue;
  /**
   * Open a session that lives for a whole run: `write(leads)` as often as
   * needed, each resolving to one outcome per lead, then `close()` for the
   * report. "Down" (see `downAfter`) spans every write of the session.
   */
  open(options?: CrmSyncRunOptions): CrmSyncSession;
  /**
   * Listen to one event (`crm.down`, `crm.recordDeadLettered`, ...). Events
   * only observe: outcomes are return values, and a listener that throws
   * changes nothing. Returns a function that removes the listener.
   */
  on<E extends keyof CrmSyncEventMap>(event: E, listener: (event: CrmSyncEventMap[E]) => void): () => void;
  /**
   * Map every lead for every CRM and upsert them in batches: one session
   * (`open`, a write per lead, `close`). Resolves with a report once every
   * lead is in a terminal state in every CRM; one CRM failing does not stop
   * the others. Rejects only when cancelled or when the dead-letter queue
   * itself fails.
   */
  sync(leads: AsyncIterable<Lead> | Iterable<Lead>, options?: CrmSyncRunOptions): Promise<CrmSyncReport>;
  /**
   * Send dead-lettered records again (see {@link redrive}). Each entry goes to
   * the configured CRM matching its target and object; entries matching none
   * are left in the queue and counted as `unmatched`.
   */
  redeliver(
    entries: AsyncIterable<DeadLetterEntry> | Iterable<DeadLetterEntry>,
    options?: CrmRedeliverOptions,
  ): Promise<CrmSyncReport>;
  /**
   * Page through the records changed in one configured CRM since a cursor,
   * through its limiter and retries, until the CRM has no more. Store each
   * page's `nextCursor` as the checkpoint of the next run. Rejects with a
   * `ConfigurationError` when no configured CRM matches `adapterId` and
   * `request.object`, or when the adapter cannot list changes.
   */
  listChanges(
    adapterId: string,
    request: CrmListChangesRequest,
    options?: CrmSyncRunOptions,
  ): AsyncGenerator<CrmChangesPage, void, undefined>;
  /** Disconnect the engine's own limiter registry (not one passed in). */
  close(): Promise<void>;
}

/** What became of one lead in one CRM. */
export type CrmTargetOutcome =
  | {
      /** The CRM adapter. */
      readonly adapterId: string;
      /** The CRM object. */
      readonly object: string;
      /**
       * Written: `created`, `updated`, or `unchanged` (the CRM held it as sent,
       * or the conflict policy left nothing to write).
       */
      readonly status: 'created' | 'updated' | 'unchanged';
      /** The CRM's id of the record. */
      readonly id: string;
      /**
       * Properties the adapter left out to save the record, each with why
       * (such as a value outside a restricted picklist). Absent when none.
       */
      readonly warnings?: readonly ValidationIssue[];
    }
  | {
      /** The CRM adapter. */
      readonly adapterId: string;
      /** The CRM object. */
      readonly object: string;
      /** The mapping refused the lead; nothing was sent. */
      readonly status: 'rejected';
      /** Every reason, naming the CRM property (`lead` when the input was not a lead). */
      readonly issues: readonly ValidationIssue[];
    }
  | {
      /** The CRM adapter. */
      readonly adapterId: string;
      /** The CRM object. */
      readonly object: string;
      /** The record was put on the dead-letter queue. */
      readonly status: 'deadLettered';
      /** Id of its dead-letter entry (shared by leads merged into one record). */
      readonly entryId: string;
      /** The failure stored with the entry (scrubbed; `retryable` says whether a redrive may succeed). */
      readonly error: CrmRecordError;
    };

/**
 * What became of one lead written through a {@link CrmSyncSession}: one
 * outcome per configured CRM, and a summary status: `deadLettered` when any
 * CRM dead-lettered it, else `rejected` when any mapping refused it, else
 * `written`.
 */
export interface CrmLeadOutcome {
  /** Position of the lead in the array given to `write` (outcomes come back in that order). */
  readonly index: number;
  /** The lead's id (`unknown` when the input was not a lead). */
  readonly leadId: string;
  /** The summary over every CRM. */
  readonly status: 'written' | 'rejected' | 'deadLettered';
  /** One outcome per configured CRM, in configuration order. */
  readonly targets: readonly CrmTargetOutcome[];
}

/**
 * A CRM sync session: one per run. The session batches to each adapter's
 * `maxBatchSize` itself, so callers may write any number of leads at a time;
 * at most `concurrency` batches per CRM are in flight, and a write waits for
 * a slot. Once a CRM is down, later writes dead-letter its records (retryable)
 * without calling it, and `crm.down` is emitted once per session.
 */
export interface CrmSyncSession {
  /**
   * Map and upsert `leads` in every CRM. Resolves once each is in a terminal
   * state everywhere, with exactly one outcome per lead, in input order.
   * Writes may overlap. Rejects only when the session was cancelled, the
   * dead-letter queue failed (`dead_letter_failed`; the session is then
   * unusable) or the session is closed.
   */
  write(leads: readonly Lead[]): Promise<readonly CrmLeadOutcome[]>;
  /**
   * Wait for writes in progress and end the session: resolves with the
   * report of every write, or rejects with the error that ended the session.
   */
  close(): Promise<CrmSyncReport>;
  /**
   * The report so far: every batch that has finished, also after the session
   * was aborted or failed (when `close` rejects), so a stopped run can still
   * say what reached each CRM.
   */
  report(): CrmSyncReport;
}

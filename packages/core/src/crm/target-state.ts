// What one CRM's run (a CrmTargetRun) shares between its modules: the dependencies it is given,
// the counts of its report, its health ("down") and where its events go. target-run.ts builds it;
// target-batch.ts, target-upsert.ts, target-calls.ts and target-settle.ts read and count through it.
import type { Context } from '@opentelemetry/api';
import type { Clock } from '../contracts/clock.js';
import type { DeadLetterQueue } from '../contracts/dead-letter-queue.js';
import type { SafeEventBus } from '../events/safe-event-bus.js';
import type { ProviderLimiter } from '../limits/index.js';
import type { Observer } from '../telemetry/index.js';
import { type CrmSyncEvent, type CrmSyncEventMap, emitCrmEvent } from './events.js';
import { CrmHealth } from './health.js';
import type { ResolvedTarget } from './options.js';
import type { CrmBackoff } from './retry-policy.js';
import type { CrmSyncReject, CrmSyncTargetReport } from './types.js';

/**
 * Everything a {@link CrmTargetRun} depends on, passed in (the shape of
 * BullMQ's `LockManagerWorkerContext`): no closure over an engine's state.
 */
export interface CrmTargetRunContext {
  /** The CRM and its mapping. */
  readonly target: ResolvedTarget;
  /** Where failed records go, and where redelivered entries are removed from. */
  readonly queue: DeadLetterQueue;
  /** Aborts the run: in-flight calls are aborted, batches not started fail with `aborted`. */
  readonly signal: AbortSignal;
  /** The CRM's limiter, asked for on the first call. */
  readonly limiter: () => ProviderLimiter;
  /** Backoff of the upsert loop and of reads. */
  readonly backoff: CrmBackoff;
  /** Batches in flight at once. */
  readonly concurrency: number;
  /** Whole-call failures in a row that take the CRM down. */
  readonly downAfter: number;
  /** Dead-letter times. */
  readonly now: Clock;
  /** Where events go (listeners isolated there). */
  readonly events: SafeEventBus<CrmSyncEventMap>;
  /** Told about every lead the mapping rejects; a throw is ignored. */
  readonly onRejected: ((reject: CrmSyncReject) => void) | undefined;
  /** Told when a batch fails in a way that must end the run (abort, dead-letter queue failure). */
  readonly onFatal: (error: unknown) => void;
  /** Jitter source of the backoff. Default `Math.random`. */
  readonly random?: () => number;
  /** The logger and error hook. */
  readonly observer: Observer;
  /** The context the CRM calls' spans nest under: the sync run's span. */
  readonly traceParent: Context;
}

/** The counts of a CRM's report ({@link CrmSyncTargetReport} without its names and status), mutable. */
type TargetRunCounts = {
  -readonly [K in keyof Omit<CrmSyncTargetReport, 'adapterId' | 'object' | 'status' | 'error'>]-?: number;
};

/** What one batch did, told with `crm.batchCompleted`. */
export interface BatchCounts {
  created: number;
  updated: number;
  unchanged: number;
  deadLettered: number;
}

/** The state of one CRM's run that its modules share. */
export interface TargetRunState {
  /** The run's dependencies. */
  readonly ctx: CrmTargetRunContext;
  /** The CRM's adapter id. */
  readonly adapterId: string;
  /** The CRM object written (`contact`, `Lead`...). */
  readonly object: string;
  /** The counts of the run's report. */
  readonly counts: TargetRunCounts;
  /** Whether the CRM is down (or suspect) for the run; spans every batch. */
  readonly health: CrmHealth;
  /** Properties the mapping marks required, told to the adapter with each upsert. */
  readonly required: readonly string[];
  /** Emit a CRM event on the run's bus. */
  emit(event: CrmSyncEvent): void;
}

/** The shared state of a new run of `ctx.target`: every count at 0, the CRM healthy. */
export function createTargetRunState(ctx: CrmTargetRunContext): TargetRunState {
  const adapterId = ctx.target.adapter.adapterId;
  return {
    ctx,
    adapterId,
    object: ctx.target.mapping.object,
    counts: {
      received: 0,
      rejected: 0,
      merged: 0,
      created: 0,
      updated: 0,
      unchanged: 0,
      warned: 0,
      failed: 0,
      deadLettered: 0,
      retried: 0,
      calls: 0,
    },
    health: new CrmHealth(adapterId, ctx.downAfter),
    required: ctx.target.mapping.fields.filter((field) => field.required === true).map((field) => field.to),
    emit: (event) => emitCrmEvent(ctx.events, event),
  };
}

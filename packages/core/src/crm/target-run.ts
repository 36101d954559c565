import type { Context } from '@opentelemetry/api';
import pLimit, { type LimitFunction } from 'p-limit';
import { v7 as uuidv7 } from 'uuid';
import type { Clock } from '../contracts/clock.js';
import type {
  CrmCallOptions,
  CrmRecord,
  CrmRecordError,
  CrmRecordSnapshot,
  CrmUpsertResult,
} from '../contracts/crm-adapter.js';
import type { DeadLetterEntry, DeadLetterQueue } from '../contracts/dead-letter-queue.js';
import { ApiCallError, LeadpipeError, type ValidationIssue } from '../contracts/errors.js';
import type { Lead } from '../contracts/lead.js';
import { redactSecrets } from '../contracts/secrets.js';
import type { SafeEventBus } from '../events/safe-event-bus.js';
import { isRetryableByRetry, type ProviderLimiter, withRetry } from '../limits/index.js';
import { type Observer, TelemetryAttributes, traceCall } from '../telemetry/index.js';
import { indexSnapshots, indexUpsertResults } from './adapter-output.js';
import { applyConflictPolicy } from './conflict-policy.js';
import { type CrmSyncEvent, type CrmSyncEventMap, emitCrmEvent } from './events.js';
import { CrmHealth } from './health.js';
import { mapLead, mergeCrmProperties, normalizeCrmKey } from './mapping.js';
import type { ResolvedTarget } from './options.js';
import {
  CrmDownError,
  DeadLetterWriteError,
  scrubRecordError,
  syncAbortedError,
  toRecordError,
} from './record-errors.js';
import { backoffDelayMs, type CrmBackoff, sleep } from './retry-policy.js';
import type { CrmSyncReject, CrmSyncTargetReport, CrmTargetOutcome } from './types.js';

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

/** What became of one record in this CRM. */
type ItemOutcome =
  | {
      readonly status: 'created' | 'updated' | 'unchanged';
      readonly id: string;
      readonly warnings?: readonly ValidationIssue[];
    }
  | { readonly status: 'deadLettered'; readonly entryId: string; readonly error: CrmRecordError };

/** One record to write: one lead, or several merged by key, or a dead-letter entry sent again. */
class Item {
  record: CrmRecord;
  readonly leadIds: string[];
  readonly entryIds: string[];
  priorAttempts: number;
  firstFailedAt: string | undefined;
  /** Settles once the record is terminal; rejects only when the run fails. Never unhandled. */
  readonly outcome: Promise<ItemOutcome>;
  #resolve: (outcome: ItemOutcome) => void = () => undefined;
  #reject: (error: unknown) => void = () => undefined;

  constructor(fields: {
    record: CrmRecord;
    leadIds: string[];
    entryIds: string[];
    priorAttempts: number;
    firstFailedAt: string | undefined;
  }) {
    this.record = fields.record;
    this.leadIds = fields.leadIds;
    this.entryIds = fields.entryIds;
    this.priorAttempts = fields.priorAttempts;
    this.firstFailedAt = fields.firstFailedAt;
    this.outcome = new Promise<ItemOutcome>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.outcome.catch(() => undefined);
  }

  get key(): string {
    return this.record.key;
  }

  settle(outcome: ItemOutcome): void {
    this.#resolve(outcome);
  }

  fail(error: unknown): void {
    this.#reject(error);
  }
}

interface Pending {
  readonly item: Item;
  readonly send: CrmRecord;
  attempts: number;
  lastError: CrmRecordError | undefined;
}

interface BatchCounts {
  created: number;
  updated: number;
  unchanged: number;
  deadLettered: number;
}

type Counts = {
  -readonly [K in keyof Omit<CrmSyncTargetReport, 'adapterId' | 'object' | 'status' | 'error'>]-?: number;
};

/** How a lead ended up in {@link CrmTargetRun.addLead}: refused by the mapping, or in a record on its way. */
export type CrmLeadSlot =
  | { readonly kind: 'rejected'; readonly outcome: CrmTargetOutcome }
  | { readonly kind: 'record'; readonly outcome: Promise<CrmTargetOutcome> };

/**
 * The work of one CRM for one run (a session, a `sync` call or a redelivery):
 * map leads, merge duplicate keys into records, batch them to the adapter's
 * `maxBatchSize`, run at most `concurrency` batches at once (p-limit), and
 * write each batch with an explicit retry loop over its pending records.
 * Every record ends created, updated, unchanged or dead-lettered; "down"
 * ({@link CrmHealth}) spans every batch of the run.
 */
export class CrmTargetRun {
  readonly #ctx: CrmTargetRunContext;
  readonly #adapterId: string;
  readonly #object: string;
  readonly #limit: LimitFunction;
  readonly #health: CrmHealth;
  readonly #batches = new Set<Promise<void>>();
  /** Properties the mapping marks required, told to the adapter with each upsert. */
  readonly #required: readonly string[];
  readonly #counts: Counts = {
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
  };
  #buffer = new Map<string, Item>();
  #limiter: ProviderLimiter | undefined;
  #fatal: { readonly error: unknown } | undefined;
  /** Batches between their first call and their end. */
  #calling = 0;
  /** Batches waiting for {@link #calling} to drop while the CRM is suspect. */
  #waiting: (() => void)[] = [];

  /** @param ctx - the run's dependencies. */
  constructor(ctx: CrmTargetRunContext) {
    this.#ctx = ctx;
    this.#adapterId = ctx.target.adapter.adapterId;
    this.#object = ctx.target.mapping.object;
    this.#limit = pLimit(ctx.concurrency);
    this.#health = new CrmHealth(this.#adapterId, ctx.downAfter);
    this.#required = ctx.target.mapping.fields
      .filter((field) => field.required === true)
      .map((field) => field.to);
  }

  /** Whether a dead-letter entry belongs to this CRM and object. */
  matches(entry: DeadLetterEntry): boolean {
    return entry.target === this.#adapterId && entry.object === this.#object;
  }

  /**
   * Map `lead` and buffer its record (merged into a buffered one with the
   * same key). Waits while `concurrency` batches are in flight.
   */
  async addLead(lead: Lead): Promise<CrmLeadSlot> {
    this.#counts.received += 1;
    const leadId = typeof lead?.id === 'string' ? lead.id : 'unknown';
    const mapped =
      typeof lead === 'object' && lead !== null
        ? mapLead(lead, this.#ctx.target.mapping)
        : { issues: [{ field: 'lead', reason: 'must be a Lead object' }] };
    if (mapped.issues) {
      this.#counts.rejected += 1;
      const reject: CrmSyncReject = {
        adapterId: this.#adapterId,
        object: this.#object,
        leadId,
        issues: mapped.issues,
      };
      this.#emit({ type: 'crm.recordRejected', ...reject });
      try {
        this.#ctx.onRejected?.(reject);
      } catch {
        // The reject is counted, emitted and returned; a failing callback changes nothing.
      }
      return {
        kind: 'rejected',
        outcome: {
          adapterId: this.#adapterId,
          object: this.#object,
          status: 'rejected',
          issues: mapped.issues,
        },
      };
    }
    const item = await this.#add(
      new Item({
        record: mapped.record,
        leadIds: [leadId],
        entryIds: [],
        priorAttempts: 0,
        firstFailedAt: undefined,
      }),
    );
    const outcome = item.outcome.then((settled) => this.#targetOutcome(settled));
    outcome.catch(() => undefined);
    return { kind: 'record', outcome };
  }

  /** Buffer a dead-letter entry to send again. Waits while `concurrency` batches are in flight. */
  async addEntry(entry: DeadLetterEntry): Promise<void> {
    this.#counts.received += 1;
    const key = normalizeCrmKey(entry.record.key, this.#ctx.target.mapping.idProperty.caseSensitive);
    await this.#add(
      new Item({
        record: { key, properties: entry.record.properties },
        leadIds: [...entry.leadIds],
        entryIds: [entry.id],
        priorAttempts: entry.attempts,
        firstFailedAt: entry.firstFailedAt,
      }),
    );
  }

  /** Send what is buffered as a batch (even a short one), then wait until a batch slot is free. */
  async flush(): Promise<void> {
    this.#throwIfFatal();
    if (this.#buffer.size > 0) {
      const items = [...this.#buffer.values()];
      this.#buffer = new Map();
      const batch: Promise<void> = this.#limit(() => this.#processBatch(items))
        .catch((error: unknown) => {
          for (const item of items) item.fail(error);
          this.#fatal ??= { error };
          this.#ctx.onFatal(error);
        })
        .finally(() => {
          this.#batches.delete(batch);
        });
      this.#batches.add(batch);
    }
    // FIFO: this no-op runs once fewer than `concurrency` batches are running.
    await this.#limit(() => undefined);
    this.#throwIfFatal();
  }

  /** Send what is buffered and wait for every batch. Rejects with the error that failed a batch, if any. */
  async finish(): Promise<void> {
    await this.flush();
    await this.#drain();
    this.#throwIfFatal();
  }

  /** After the run failed: fail buffered records with `error` and wait for batches in flight. */
  async settle(error: unknown): Promise<void> {
    for (const item of this.#buffer.values()) item.fail(error);
    this.#buffer = new Map();
    await this.#drain();
  }

  /** The report of this CRM so far. */
  report(): CrmSyncTargetReport {
    const down = this.#health.down;
    const status = down ? 'down' : this.#counts.deadLettered > 0 ? 'degraded' : 'ok';
    return {
      adapterId: this.#adapterId,
      object: this.#object,
      status,
      ...this.#counts,
      ...(down ? { error: { code: down.code, message: down.message } } : {}),
    };
  }

  async #drain(): Promise<void> {
    while (this.#batches.size > 0) await Promise.allSettled([...this.#batches]);
  }

  async #add(item: Item): Promise<Item> {
    this.#throwIfFatal();
    const existing = this.#buffer.get(item.key);
    if (existing) {
      this.#counts.merged += 1;
      existing.record = {
        key: existing.key,
        properties: mergeCrmProperties(existing.record.properties, item.record.properties),
      };
      existing.leadIds.push(...item.leadIds);
      existing.entryIds.push(...item.entryIds);
      existing.priorAttempts = Math.max(existing.priorAttempts, item.priorAttempts);
      existing.firstFailedAt ??= item.firstFailedAt;
      return existing;
    }
    this.#buffer.set(item.key, item);
    if (this.#buffer.size >= this.#ctx.target.batchSize) await this.flush();
    return item;
  }

  #targetOutcome(settled: ItemOutcome): CrmTargetOutcome {
    return { adapterId: this.#adapterId, object: this.#object, ...settled };
  }

  #emit(event: CrmSyncEvent): void {
    emitCrmEvent(this.#ctx.events, event);
  }

  #throwIfFatal(): void {
    if (this.#fatal) throw this.#fatal.error;
  }

  /** A batch already in flight when its CRM went down stops before its next call. */
  #stopIfDown(): void {
    const down = this.#health.down;
    if (down) throw new CrmDownError(down);
  }

  #limiterInstance(): ProviderLimiter {
    this.#limiter ??= this.#ctx.limiter();
    return this.#limiter;
  }

  #callOptions(limiter: ProviderLimiter): CrmCallOptions {
    return { signal: this.#ctx.signal, onRateLimit: (state) => limiter.update(state) };
  }

  /** One CRM call in a `leadpipe.crm.<operation>` span under the run's span, with the batch size. */
  #traced<T>(operation: 'get' | 'upsert', records: number, call: () => PromiseLike<T>): Promise<T> {
    return traceCall(
      {
        kind: 'crm',
        vendor: this.#adapterId,
        operation,
        parent: this.#ctx.traceParent,
        attributes: {
          [TelemetryAttributes.crmObject]: this.#object,
          [TelemetryAttributes.batchSize]: records,
        },
      },
      async () => call(),
    );
  }

  /** Tell the error hook about a call that failed for good (after the limiter and retries). */
  #report(error: unknown, recordError: CrmRecordError): void {
    let reportable: Error;
    if (LeadpipeError.isInstance(error)) reportable = error;
    else {
      // Not leadpipe's own error: only its scrubbed message goes out.
      reportable = new Error(recordError.message);
      reportable.name = 'CrmAdapterError';
    }
    this.#ctx.observer.report(reportable, {
      component: 'crm',
      code: recordError.code,
      adapterId: this.#adapterId,
    });
  }

  /** A call failed as a whole after its retries: maybe the CRM is down now. */
  #callFailed(error: CrmRecordError): void {
    if (this.#health.failed(error)) {
      this.#emit({
        type: 'crm.down',
        adapterId: this.#adapterId,
        object: this.#object,
        code: error.code,
        message: error.message,
      });
    }
  }

  async #processBatch(items: Item[]): Promise<void> {
    const { signal } = this.#ctx;
    if (signal.aborted) throw syncAbortedError(signal);
    const batch: BatchCounts = { created: 0, updated: 0, unchanged: 0, deadLettered: 0 };
    await this.#writeBatch(items, batch);
    this.#emit({ type: 'crm.batchCompleted', adapterId: this.#adapterId, object: this.#object, ...batch });
  }

  /**
   * While the CRM is suspect (the last batch failed as a whole), a batch
   * waits for those already calling: one probe at a time, so a CRM that is
   * down is not hit by batches started before the verdict.
   */
  async #startCalling(): Promise<void> {
    while (this.#health.suspect && this.#calling > 0) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    this.#calling += 1;
  }

  #stopCalling(): void {
    this.#calling -= 1;
    for (const wake of this.#waiting.splice(0)) wake();
  }

  async #writeBatch(items: Item[], batch: BatchCounts): Promise<void> {
    await this.#startCalling();
    try {
      await this.#writeBatchNow(items, batch);
    } finally {
      this.#stopCalling();
    }
  }

  async #writeBatchNow(items: Item[], batch: BatchCounts): Promise<void> {
    const { signal } = this.#ctx;
    if (signal.aborted) throw syncAbortedError(signal);
    const down = this.#health.down;
    if (down) {
      for (const item of items) await this.#deadLetter(item, down, 0, batch);
      return;
    }
    const guarded = this.#ctx.target.mapping.guardedProperties;
    let snapshots: Map<string, CrmRecordSnapshot> | undefined;
    if (Object.keys(guarded).length > 0) {
      const read = await this.#readSnapshots(items);
      if ('error' in read) {
        for (const item of items) await this.#deadLetter(item, read.error, 1, batch);
        return;
      }
      snapshots = read.snapshots;
    }
    const pending = new Map<string, Pending>();
    for (const item of items) {
      const snapshot = snapshots?.get(item.key);
      const properties = applyConflictPolicy(item.record.properties, guarded, snapshot);
      if (snapshot && Object.keys(properties).length === 0) {
        await this.#succeeded(item, 'unchanged', snapshot.id, batch);
        continue;
      }
      pending.set(item.key, { item, send: { key: item.key, properties }, attempts: 0, lastError: undefined });
    }
    if (pending.size > 0) await this.#upsertLoop(pending, batch);
  }

  /** Read what the CRM holds for the batch's keys (guarded properties only), with retries. */
  async #readSnapshots(
    items: readonly Item[],
  ): Promise<{ snapshots: Map<string, CrmRecordSnapshot> } | { error: CrmRecordError }> {
    const { signal, target, backoff } = this.#ctx;
    const { adapter, mapping } = target;
    const limiter = this.#limiterInstance();
    try {
      const found = await withRetry(
        async () => {
          this.#stopIfDown();
          return limiter.schedule(
            async () => {
              this.#stopIfDown();
              this.#counts.calls += 1;
              return this.#traced('get', items.length, () =>
                adapter.doGet(
                  {
                    object: this.#object,
                    idProperty: mapping.idProperty.to,
                    keys: items.map((item) => item.key),
                    properties: Object.keys(mapping.guardedProperties),
                  },
                  this.#callOptions(limiter),
                ),
              );
            },
            { signal },
          );
        },
        { ...backoff, signal },
      );
      this.#health.succeeded();
      return { snapshots: indexSnapshots(found, mapping.idProperty.caseSensitive) };
    } catch (error) {
      if (signal.aborted) throw syncAbortedError(signal);
      if (error instanceof CrmDownError) return { error: error.recordError };
      const recordError = toRecordError(error);
      this.#report(error, recordError);
      if (!isRateLimited(error)) this.#callFailed(recordError);
      return { error: recordError };
    }
  }

  /**
   * The retry loop: send the records still pending, apply the results, and
   * go round again (after a backoff) while some failed retryably and
   * attempts are left. A whole call that fails with a retryable error (5xx,
   * timeout, network) uses the same attempts. 429s are the limiter's: it
   * waits and sends the same call again; one that still ends `rate_limited`
   * after the limiter's re-runs uses these attempts too, and when they run
   * out its records are dead-lettered (retryable) without counting toward
   * `downAfter`: a vendor asking to wait is not a CRM failing.
   */
  async #upsertLoop(pending: Map<string, Pending>, batch: BatchCounts): Promise<void> {
    const { signal, target, backoff } = this.#ctx;
    const { adapter, mapping } = target;
    const limiter = this.#limiterInstance();
    for (let attempt = 1; ; attempt += 1) {
      try {
        this.#stopIfDown();
        for (const entry of pending.values()) entry.attempts += 1;
        if (attempt > 1) {
          this.#counts.retried += pending.size;
          this.#emit({
            type: 'crm.recordsRetrying',
            adapterId: this.#adapterId,
            object: this.#object,
            records: pending.size,
            attempt,
          });
        }
        const sent = [...pending.values()];
        const raw = await limiter.schedule(
          async () => {
            this.#stopIfDown();
            this.#counts.calls += 1;
            this.#emit({
              type: 'crm.batchSent',
              adapterId: this.#adapterId,
              object: this.#object,
              records: sent.length,
              attempt,
            });
            return this.#traced('upsert', sent.length, () =>
              adapter.doUpsert(
                {
                  object: this.#object,
                  idProperty: mapping.idProperty.to,
                  records: sent.map((e) => e.send),
                  ...(this.#required.length > 0 ? { requiredProperties: this.#required } : {}),
                },
                this.#callOptions(limiter),
              ),
            );
          },
          { signal },
        );
        const results = indexUpsertResults(this.#adapterId, raw, mapping.idProperty.caseSensitive);
        const pauseMs = await this.#applyResults(sent, results, pending, batch);
        if (pauseMs > 0) limiter.pauseUntil(this.#ctx.now() + pauseMs, 'records rate limited');
      } catch (error) {
        if (signal.aborted) throw syncAbortedError(signal);
        if (error instanceof DeadLetterWriteError) throw error;
        if (error instanceof CrmDownError) {
          await this.#deadLetterAll(pending, error.recordError, batch);
          return;
        }
        const rateLimited = isRateLimited(error);
        if ((rateLimited || isRetryableByRetry(error)) && attempt <= backoff.retries) {
          await sleep(backoffDelayMs(attempt, error, backoff, this.#ctx.random), signal);
          continue;
        }
        const recordError = toRecordError(error);
        this.#report(error, recordError);
        // The CRM refusing for now (a 429 after the limiter's re-runs) is not the CRM failing.
        if (!rateLimited) this.#callFailed(recordError);
        await this.#deadLetterAll(pending, recordError, batch);
        return;
      }
      if (pending.size === 0 || attempt > backoff.retries) {
        // The CRM answered: whatever is left failed record by record, not as a whole.
        this.#health.succeeded();
        for (const entry of pending.values()) {
          await this.#deadLetter(
            entry.item,
            entry.lastError ?? missingResult(this.#adapterId),
            entry.attempts,
            batch,
          );
        }
        return;
      }
      await sleep(backoffDelayMs(attempt, undefined, backoff, this.#ctx.random), signal);
    }
  }

  /** Settle the records the CRM answered for; returns how long a `rate_limited` answer asks to pause. */
  async #applyResults(
    sent: readonly Pending[],
    results: ReadonlyMap<string, CrmUpsertResult>,
    pending: Map<string, Pending>,
    batch: BatchCounts,
  ): Promise<number> {
    let pauseMs = 0;
    for (const entry of sent) {
      const result = results.get(entry.item.key);
      if (!result) {
        entry.lastError = missingResult(this.#adapterId);
        continue;
      }
      if (result.status !== 'failed') {
        pending.delete(entry.item.key);
        await this.#succeeded(entry.item, result.status, result.id, batch, result.warnings);
        continue;
      }
      const error = scrubRecordError(result.error);
      if (!error.retryable) {
        pending.delete(entry.item.key);
        await this.#deadLetter(entry.item, error, entry.attempts, batch);
        continue;
      }
      entry.lastError = error;
      if (error.code === 'rate_limited' && error.retryAfterMs !== undefined) {
        pauseMs = Math.max(pauseMs, error.retryAfterMs);
      }
    }
    return pauseMs;
  }

  async #deadLetterAll(
    pending: Map<string, Pending>,
    error: CrmRecordError,
    batch: BatchCounts,
  ): Promise<void> {
    for (const entry of pending.values()) await this.#deadLetter(entry.item, error, entry.attempts, batch);
  }

  async #succeeded(
    item: Item,
    status: 'created' | 'updated' | 'unchanged',
    id: string,
    batch: BatchCounts,
    warnings?: readonly ValidationIssue[],
  ): Promise<void> {
    if (item.entryIds.length > 0) {
      try {
        await this.#ctx.queue.remove(item.entryIds);
      } catch (error) {
        throw new DeadLetterWriteError(error);
      }
    }
    this.#counts[status] += 1;
    batch[status] += 1;
    if (warnings !== undefined && warnings.length > 0) {
      this.#counts.warned += 1;
      item.settle({
        status,
        id,
        warnings: warnings.map((issue) => ({ field: issue.field, reason: redactSecrets(issue.reason) })),
      });
    } else item.settle({ status, id });
  }

  async #deadLetter(item: Item, error: CrmRecordError, attempts: number, batch: BatchCounts): Promise<void> {
    const at = new Date(this.#ctx.now()).toISOString();
    const [entryId = uuidv7(), ...merged] = item.entryIds;
    const entry: DeadLetterEntry = {
      id: entryId,
      target: this.#adapterId,
      object: this.#object,
      idProperty: this.#ctx.target.mapping.idProperty.to,
      record: item.record,
      leadIds: item.leadIds,
      error: scrubRecordError(error),
      attempts: item.priorAttempts + attempts,
      firstFailedAt: item.firstFailedAt ?? at,
      lastFailedAt: at,
    };
    try {
      await this.#ctx.queue.put(entry);
      if (merged.length > 0) await this.#ctx.queue.remove(merged);
    } catch (cause) {
      throw new DeadLetterWriteError(cause);
    }
    this.#counts.failed += 1;
    this.#counts.deadLettered += 1;
    batch.deadLettered += 1;
    item.settle({ status: 'deadLettered', entryId, error: entry.error });
    this.#emit({
      type: 'crm.recordDeadLettered',
      adapterId: this.#adapterId,
      object: this.#object,
      entryId,
      leadIds: item.leadIds,
      code: entry.error.code,
      retryable: entry.error.retryable,
    });
  }
}

/** A 429 the limiter gave up re-running (`rate_limited`). */
function isRateLimited(error: unknown): boolean {
  return ApiCallError.isInstance(error) && error.code === 'rate_limited';
}

function missingResult(adapterId: string): CrmRecordError {
  return {
    code: 'missing_result',
    message: `${adapterId} returned no result for this record`,
    retryable: true,
  };
}

// The write of one batch to a CRM: one probe at a time while the CRM is suspect, dead letters at
// once when it is down, the read of guarded properties (conflict policy) with its retries, then the
// upsert of the records that still have something to write (target-upsert.ts).
import type { CrmRecordError, CrmRecordSnapshot } from '../contracts/crm-adapter.js';
import { withRetry } from '../limits/index.js';
import { indexSnapshots } from './adapter-output.js';
import { applyConflictPolicy } from './conflict-policy.js';
import { CrmDownError, syncAbortedError, toRecordError } from './record-errors.js';
import { CrmTargetCalls, isRateLimited } from './target-calls.js';
import type { Item } from './target-item.js';
import { deadLetterRecord, recordSucceeded } from './target-settle.js';
import type { BatchCounts, TargetRunState } from './target-state.js';
import { type Pending, upsertLoop } from './target-upsert.js';

/** Writes the batches of one CRM's run; every record of a batch ends written or dead-lettered. */
export class CrmBatchWriter {
  readonly #run: TargetRunState;
  readonly #calls: CrmTargetCalls;
  /** Batches between their first call and their end. */
  #calling = 0;
  /** Batches waiting for {@link #calling} to drop while the CRM is suspect. */
  #waiting: (() => void)[] = [];

  /** @param run - the state of the CRM's run. */
  constructor(run: TargetRunState) {
    this.#run = run;
    this.#calls = new CrmTargetCalls(run);
  }

  /**
   * Write one batch (unless the run was aborted) and emit `crm.batchCompleted`
   * with what it did. Rejects only when the run must end (abort, dead-letter
   * queue failure).
   */
  async processBatch(items: Item[]): Promise<void> {
    const { signal } = this.#run.ctx;
    if (signal.aborted) throw syncAbortedError(signal);
    const batch: BatchCounts = { created: 0, updated: 0, unchanged: 0, deadLettered: 0 };
    await this.#writeBatch(items, batch);
    this.#run.emit({
      type: 'crm.batchCompleted',
      adapterId: this.#run.adapterId,
      object: this.#run.object,
      ...batch,
    });
  }

  /**
   * While the CRM is suspect (the last batch failed as a whole), a batch
   * waits for those already calling: one probe at a time, so a CRM that is
   * down is not hit by batches started before the verdict.
   */
  async #startCalling(): Promise<void> {
    while (this.#run.health.suspect && this.#calling > 0) {
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
    const { signal } = this.#run.ctx;
    if (signal.aborted) throw syncAbortedError(signal);
    const down = this.#run.health.down;
    if (down) {
      for (const item of items) await deadLetterRecord(this.#run, item, down, 0, batch);
      return;
    }
    const guarded = this.#run.ctx.target.mapping.guardedProperties;
    let snapshots: Map<string, CrmRecordSnapshot> | undefined;
    if (Object.keys(guarded).length > 0) {
      const read = await this.#readSnapshots(items);
      if ('error' in read) {
        for (const item of items) await deadLetterRecord(this.#run, item, read.error, 1, batch);
        return;
      }
      snapshots = read.snapshots;
    }
    const pending = new Map<string, Pending>();
    for (const item of items) {
      const snapshot = snapshots?.get(item.key);
      const properties = applyConflictPolicy(item.record.properties, guarded, snapshot);
      if (snapshot && Object.keys(properties).length === 0) {
        await recordSucceeded(this.#run, item, 'unchanged', snapshot.id, batch);
        continue;
      }
      pending.set(item.key, { item, send: { key: item.key, properties }, attempts: 0, lastError: undefined });
    }
    if (pending.size > 0) await upsertLoop(this.#run, this.#calls, pending, batch);
  }

  /** Read what the CRM holds for the batch's keys (guarded properties only), with retries. */
  async #readSnapshots(
    items: readonly Item[],
  ): Promise<{ snapshots: Map<string, CrmRecordSnapshot> } | { error: CrmRecordError }> {
    const { signal, target, backoff } = this.#run.ctx;
    const { adapter, mapping } = target;
    const calls = this.#calls;
    const limiter = calls.limiterInstance();
    try {
      const found = await withRetry(
        async () => {
          calls.stopIfDown();
          return limiter.schedule(
            async () => {
              calls.stopIfDown();
              this.#run.counts.calls += 1;
              return calls.traced('get', items.length, () =>
                adapter.doGet(
                  {
                    object: this.#run.object,
                    idProperty: mapping.idProperty.to,
                    keys: items.map((item) => item.key),
                    properties: Object.keys(mapping.guardedProperties),
                  },
                  calls.callOptions(limiter),
                ),
              );
            },
            { signal },
          );
        },
        { ...backoff, signal },
      );
      this.#run.health.succeeded();
      return { snapshots: indexSnapshots(found, mapping.idProperty.caseSensitive) };
    } catch (error) {
      if (signal.aborted) throw syncAbortedError(signal);
      if (error instanceof CrmDownError) return { error: error.recordError };
      const recordError = toRecordError(error);
      calls.report(error, recordError);
      if (!isRateLimited(error)) calls.callFailed(recordError);
      return { error: recordError };
    }
  }
}

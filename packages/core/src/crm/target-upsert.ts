// The upsert of one batch's records to a CRM: the retry loop over the records still pending (whole
// call failures, records failed retryably, 429s after the limiter's re-runs) and the mapping of a
// partial answer to each record (written, failed for good, failed retryably, missing).
import type { CrmRecord, CrmRecordError, CrmUpsertResult } from '../contracts/crm-adapter.js';
import { isRetryableByRetry } from '../limits/index.js';
import { indexUpsertResults } from './adapter-output.js';
import {
  CrmDownError,
  DeadLetterWriteError,
  scrubRecordError,
  syncAbortedError,
  toRecordError,
} from './record-errors.js';
import { backoffDelayMs, sleep } from './retry-policy.js';
import { type CrmTargetCalls, isRateLimited } from './target-calls.js';
import type { Item } from './target-item.js';
import { deadLetterRecord, recordSucceeded } from './target-settle.js';
import type { BatchCounts, TargetRunState } from './target-state.js';

/** A record of the batch not settled yet: what is sent for it, how often, and its last error. */
export interface Pending {
  readonly item: Item;
  readonly send: CrmRecord;
  attempts: number;
  lastError: CrmRecordError | undefined;
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
export async function upsertLoop(
  run: TargetRunState,
  calls: CrmTargetCalls,
  pending: Map<string, Pending>,
  batch: BatchCounts,
): Promise<void> {
  const { signal, target, backoff } = run.ctx;
  const { adapter, mapping } = target;
  const limiter = calls.limiterInstance();
  for (let attempt = 1; ; attempt += 1) {
    try {
      calls.stopIfDown();
      for (const entry of pending.values()) entry.attempts += 1;
      if (attempt > 1) {
        run.counts.retried += pending.size;
        run.emit({
          type: 'crm.recordsRetrying',
          adapterId: run.adapterId,
          object: run.object,
          records: pending.size,
          attempt,
        });
      }
      const sent = [...pending.values()];
      const raw = await limiter.schedule(
        async () => {
          calls.stopIfDown();
          run.counts.calls += 1;
          run.emit({
            type: 'crm.batchSent',
            adapterId: run.adapterId,
            object: run.object,
            records: sent.length,
            attempt,
          });
          return calls.traced('upsert', sent.length, () =>
            adapter.doUpsert(
              {
                object: run.object,
                idProperty: mapping.idProperty.to,
                records: sent.map((e) => e.send),
                ...(run.required.length > 0 ? { requiredProperties: run.required } : {}),
              },
              calls.callOptions(limiter),
            ),
          );
        },
        { signal },
      );
      const results = indexUpsertResults(run.adapterId, raw, mapping.idProperty.caseSensitive);
      const pauseMs = await applyResults(run, sent, results, pending, batch);
      if (pauseMs > 0) limiter.pauseUntil(run.ctx.now() + pauseMs, 'records rate limited');
    } catch (error) {
      if (signal.aborted) throw syncAbortedError(signal);
      if (error instanceof DeadLetterWriteError) throw error;
      if (error instanceof CrmDownError) {
        await deadLetterAll(run, pending, error.recordError, batch);
        return;
      }
      const rateLimited = isRateLimited(error);
      if ((rateLimited || isRetryableByRetry(error)) && attempt <= backoff.retries) {
        await sleep(backoffDelayMs(attempt, error, backoff, run.ctx.random), signal);
        continue;
      }
      const recordError = toRecordError(error);
      calls.report(error, recordError);
      // The CRM refusing for now (a 429 after the limiter's re-runs) is not the CRM failing.
      if (!rateLimited) calls.callFailed(recordError);
      await deadLetterAll(run, pending, recordError, batch);
      return;
    }
    if (pending.size === 0 || attempt > backoff.retries) {
      // The CRM answered: whatever is left failed record by record, not as a whole.
      run.health.succeeded();
      for (const entry of pending.values()) {
        await deadLetterRecord(
          run,
          entry.item,
          entry.lastError ?? missingResult(run.adapterId),
          entry.attempts,
          batch,
        );
      }
      return;
    }
    await sleep(backoffDelayMs(attempt, undefined, backoff, run.ctx.random), signal);
  }
}

/** Settle the records the CRM answered for; returns how long a `rate_limited` answer asks to pause. */
async function applyResults(
  run: TargetRunState,
  sent: readonly Pending[],
  results: ReadonlyMap<string, CrmUpsertResult>,
  pending: Map<string, Pending>,
  batch: BatchCounts,
): Promise<number> {
  let pauseMs = 0;
  for (const entry of sent) {
    const result = results.get(entry.item.key);
    if (!result) {
      entry.lastError = missingResult(run.adapterId);
      continue;
    }
    if (result.status !== 'failed') {
      pending.delete(entry.item.key);
      await recordSucceeded(run, entry.item, result.status, result.id, batch, result.warnings);
      continue;
    }
    const error = scrubRecordError(result.error);
    if (!error.retryable) {
      pending.delete(entry.item.key);
      await deadLetterRecord(run, entry.item, error, entry.attempts, batch);
      continue;
    }
    entry.lastError = error;
    if (error.code === 'rate_limited' && error.retryAfterMs !== undefined) {
      pauseMs = Math.max(pauseMs, error.retryAfterMs);
    }
  }
  return pauseMs;
}

/** Dead-letter every record still pending with `error` (a whole call failed for good, or the CRM is down). */
async function deadLetterAll(
  run: TargetRunState,
  pending: Map<string, Pending>,
  error: CrmRecordError,
  batch: BatchCounts,
): Promise<void> {
  for (const entry of pending.values()) await deadLetterRecord(run, entry.item, error, entry.attempts, batch);
}

/** The error of a record the CRM's answer left out. */
function missingResult(adapterId: string): CrmRecordError {
  return {
    code: 'missing_result',
    message: `${adapterId} returned no result for this record`,
    retryable: true,
  };
}

import { LeadpipeError } from '../contracts/errors.js';
import { syncAbortedError } from './record-errors.js';

/** Resolved backoff of the upsert retry loop. */
export interface CrmBackoff {
  /** Retries after the first attempt. */
  readonly retries: number;
  /** First backoff, in ms. */
  readonly minTimeoutMs: number;
  /** Longest backoff, in ms. */
  readonly maxTimeoutMs: number;
}

/** Longest `retryAfterMs` honoured as is; longer ones fall back to the backoff (as `withRetry`). */
const MAX_HONOURED_RETRY_AFTER_MS = 60_000;

/**
 * How long to wait after failed attempt `attempt` (from 1) before the next:
 * the error's `retryAfterMs` when it has one of at most 60 s, else an
 * exponential backoff from `minTimeoutMs` capped at `maxTimeoutMs`, with
 * jitter over its upper half (the same policy as `withRetry`).
 */
export function backoffDelayMs(
  attempt: number,
  error: unknown,
  backoff: CrmBackoff,
  random: () => number = Math.random,
): number {
  const retryAfter = LeadpipeError.isInstance(error) ? error.retryAfterMs : undefined;
  if (retryAfter !== undefined && retryAfter >= 0 && retryAfter <= MAX_HONOURED_RETRY_AFTER_MS) {
    return retryAfter;
  }
  const maxTimeoutMs = Math.max(backoff.minTimeoutMs, backoff.maxTimeoutMs);
  const base = Math.min(maxTimeoutMs, backoff.minTimeoutMs * 2 ** (attempt - 1));
  return Math.round(base / 2 + (random() * base) / 2);
}

/** Wait `ms`, or reject with the run's `aborted` error as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(syncAbortedError(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(syncAbortedError(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

import type { RateLimitState } from '../contracts/rate-limit.js';

/** Longest backoff after a 429 that says neither Retry-After nor a reset, in ms. */
export const MAX_RATE_LIMIT_WAIT_MS = 60_000;

/** What a 429 said about when to come back: the error's own hint and the headers it carried. */
export interface RateLimitHint {
  /** The error's Retry-After, in ms. */
  readonly retryAfterMs?: number | undefined;
  /** The rate-limit headers of the 429 response, when parsed. */
  readonly rateLimit?: RateLimitState | undefined;
}

function valid(value: number | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/**
 * How long a limiter pauses after a 429 before the task runs again (pure):
 * the error's Retry-After, else the headers' Retry-After, else the latest
 * reset of a window the headers report exhausted (or without a remaining
 * count) that is still ahead of `now`, else `backoffMs` doubled per re-run,
 * capped at {@link MAX_RATE_LIMIT_WAIT_MS}. Whole milliseconds, rounded up.
 *
 * @param hint - the 429's Retry-After and headers.
 * @param attempt - the re-run this wait precedes, from 1.
 * @param now - the current time, epoch ms.
 * @param backoffMs - base wait when the 429 says nothing.
 */
export function rateLimitWaitMs(
  hint: RateLimitHint,
  attempt: number,
  now: number,
  backoffMs: number,
): number {
  if (valid(hint.retryAfterMs)) return Math.ceil(hint.retryAfterMs);
  const state = hint.rateLimit;
  if (state !== undefined) {
    if (valid(state.retryAfterMs)) return Math.ceil(state.retryAfterMs);
    const resets = state.windows
      .filter((window) => window.remaining === 0 || window.remaining === undefined)
      .map((window) => window.resetAt)
      .filter((resetAt): resetAt is number => valid(resetAt) && resetAt > now);
    if (resets.length > 0) return Math.ceil(Math.max(...resets) - now);
  }
  return Math.min(MAX_RATE_LIMIT_WAIT_MS, backoffMs * 2 ** (attempt - 1));
}

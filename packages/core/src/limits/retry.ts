import pRetry from 'p-retry';
import { z } from 'zod';
import { ApiCallError, LeadpipeError, ValidationError } from '../contracts/errors.js';
import { parseOptions } from '../options/parse-options.js';
import { functionSchema, numberAtLeastSchema, wholeNumberSchema } from './option-schemas.js';

/** Options of `withRetry`. */
export interface RetryOptions {
  /** Retries after the first attempt. Default 3. */
  readonly retries?: number;
  /** Backoff before the first retry, in ms (doubles each retry, with jitter). Default 1 000. */
  readonly minTimeoutMs?: number;
  /** Longest backoff, in ms. Default 30 000. */
  readonly maxTimeoutMs?: number;
  /** Stops the retries at once: rejects with `ApiCallError('aborted')`. */
  readonly signal?: AbortSignal;
  /** Observes each failed attempt (numbered from 1). Exceptions it throws are ignored. */
  readonly onFailedAttempt?: (error: unknown, attempt: number) => void;
  /** Random source in [0, 1) for the jitter. Default `Math.random`. */
  readonly random?: () => number;
}

/** Codes retried by the limiter or not at all, never by `withRetry`. */
const NOT_OURS: ReadonlySet<string> = new Set(['rate_limited', 'quota_exceeded']);

/** Longest `retryAfterMs` honoured as is; longer ones fall back to the backoff. */
const MAX_HONOURED_RETRY_AFTER_MS = 60_000;

const attemptsKey = 'attempts';

/**
 * Whether `withRetry` retries `error`: a leadpipe error with
 * `isRetryable === true` whose code is neither `rate_limited` (owned by the
 * limiter) nor `quota_exceeded` (waits for the reset).
 */
export function isRetryableByRetry(error: unknown): boolean {
  return LeadpipeError.isInstance(error) && error.isRetryable && !NOT_OURS.has(error.code);
}

/**
 * How many attempts `withRetry` made before rejecting with `error`,
 * when it did.
 */
export function retryAttempts(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const value = (error as Record<string, unknown>)[attemptsKey];
  return typeof value === 'number' ? value : undefined;
}

function attachAttempts(error: unknown, attempts: number): void {
  if (typeof error !== 'object' || error === null || !Object.isExtensible(error)) return;
  Object.defineProperty(error, attemptsKey, { value: attempts, enumerable: false, configurable: true });
}

/** The options of `withRetry`, with their defaults. */
const retryOptionsSchema = z.object(
  {
    retries: wholeNumberSchema(0).default(3),
    minTimeoutMs: numberAtLeastSchema(0).default(1000),
    maxTimeoutMs: numberAtLeastSchema(0).default(30_000),
    signal: z
      .custom<AbortSignal>((value) => typeof value === 'object' && value !== null && 'aborted' in value, {
        error: 'must be an AbortSignal',
      })
      .optional(),
    onFailedAttempt: functionSchema<(error: unknown, attempt: number) => void>().optional(),
    random: functionSchema<() => number>().default(() => Math.random),
  },
  { error: 'must be an object' },
);

function isAborted(signal: AbortSignal | undefined): signal is AbortSignal {
  return signal?.aborted === true;
}

function abortedError(signal: AbortSignal): ApiCallError {
  return new ApiCallError('aborted', { message: 'Retries were aborted', cause: signal.reason });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal === undefined) {
      setTimeout(resolve, ms);
      return;
    }
    if (signal.aborted) {
      reject(abortedError(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedError(signal));
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Runs `task`, retrying 5xx, timeouts, network errors and invalid responses
 * (errors with `isRetryable === true`) with jittered exponential backoff,
 * built on p-retry. A 429 (`rate_limited`) or `quota_exceeded` is never
 * retried here: the limiter owns it. An error's `retryAfterMs` between 0 and
 * 60 s replaces the backoff. An abort stops at once with
 * `ApiCallError('aborted')`. When it gives up, it rejects with the last error,
 * with the number of attempts attached (read it with {@link retryAttempts}).
 *
 * @example
 * ```ts
 * const result = await withRetry((attempt) => provider.doEnrich(request, { signal }), { signal });
 * ```
 */
export async function withRetry<T>(
  task: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  if (typeof task !== 'function') {
    throw new ValidationError([{ field: 'task', reason: 'must be a function' }]);
  }
  const parsed = parseOptions(retryOptionsSchema, options, { name: 'withRetry' });
  const { retries, minTimeoutMs, random, signal } = parsed;
  const maxTimeoutMs = Math.max(minTimeoutMs, parsed.maxTimeoutMs);
  if (isAborted(signal)) throw abortedError(signal);
  let attempts = 0;
  try {
    return await pRetry(
      async (attempt) => {
        attempts = attempt;
        return raceAbort(
          Promise.resolve().then(() => task(attempt)),
          signal,
        );
      },
      {
        retries,
        // p-retry counts attempts and classifies; the wait (backoff or Retry-After) is ours, in shouldRetry.
        minTimeout: 0,
        maxTimeout: 0,
        onFailedAttempt: ({ error, attemptNumber }) => {
          if (ApiCallError.isInstance(error) && error.code === 'aborted' && isAborted(signal)) return;
          try {
            parsed.onFailedAttempt?.(error, attemptNumber);
          } catch {
            // Observers never change the outcome.
          }
        },
        shouldRetry: async ({ error, attemptNumber }) => {
          if (isAborted(signal) || !isRetryableByRetry(error)) return false;
          const retryAfter = LeadpipeError.isInstance(error) ? error.retryAfterMs : undefined;
          const honoured =
            retryAfter !== undefined && retryAfter >= 0 && retryAfter <= MAX_HONOURED_RETRY_AFTER_MS;
          const base = Math.min(maxTimeoutMs, minTimeoutMs * 2 ** (attemptNumber - 1));
          const delay = honoured ? retryAfter : Math.round(base / 2 + (random() * base) / 2);
          await sleep(delay, signal);
          return true;
        },
      },
    );
  } catch (error) {
    if (isAborted(signal) && !(ApiCallError.isInstance(error) && error.code === 'aborted')) {
      const aborted = abortedError(signal);
      attachAttempts(aborted, attempts);
      throw aborted;
    }
    attachAttempts(error, attempts);
    throw error;
  }
}

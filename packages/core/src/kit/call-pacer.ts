import { z } from 'zod';
import { type Clock, systemClock } from '../contracts/clock.js';
import { ApiCallError, LeadpipeError } from '../contracts/errors.js';
import type { RateLimitPolicy } from '../contracts/rate-limit.js';
import { parseOptions } from '../options/parse-options.js';

/** Options of one {@link CallScheduler.schedule} call. */
export interface CallScheduleOptions {
  /** Aborts the wait (and is passed on by the task itself). */
  readonly signal?: AbortSignal;
}

/**
 * Runs calls under a rate-limit policy. core's `ProviderLimiter` is one; so
 * is {@link createCallPacer}. An adapter that must pace a class of its own
 * calls (HubSpot's searches) takes one of these, never a limiter module.
 */
export interface CallScheduler {
  /** Run `task` when the policy allows. Rejects when `signal` aborts the wait. */
  schedule<T>(task: () => Promise<T>, options?: CallScheduleOptions): Promise<T>;
}

/**
 * Where an adapter gets a {@link CallScheduler} for `(id, key, policy)`.
 * core's `LimiterRegistry` is one: pass a registry built with a Redis
 * connection to share the pacing across processes.
 */
export interface CallSchedulerSource {
  /** The scheduler of `(id, key)`, created on first use with `policy`. */
  get(id: string, key: string, policy: RateLimitPolicy): CallScheduler;
}

/** Options of {@link createCallPacer}. */
export interface CallPacerOptions {
  /** Starts allowed per `intervalMs`. */
  readonly limit: number;
  /** The rolling window, ms. */
  readonly intervalMs: number;
  /**
   * Extra room for arrival jitter, as a fraction of the gap between starts:
   * starts are `intervalMs / limit * (1 + safetyMargin)` apart, so no
   * `limit + 1` starts fall within `intervalMs * (1 + safetyMargin)`. Default 0.1.
   */
  readonly safetyMargin?: number;
  /** Clock, epoch ms. Default `Date.now`. */
  readonly now?: Clock;
  /** Names the pacer in errors (an adapter id). */
  readonly providerId?: string;
}

/** A zod message that echoes the value it rejects: `<reason>, got <value>`. */
function got(reason: string): { error: (issue: { input?: unknown }) => string } {
  return { error: (issue) => `${reason}, got ${String(issue.input)}` };
}

const positiveInteger = got('must be a positive integer');
const positiveNumber = got('must be a positive number');
const atLeastZero = got('must be a number of 0 or more');

/** The options of {@link createCallPacer}, checked by `parseOptions`. */
const callPacerOptionsSchema = z
  .object(
    {
      limit: z.number(positiveInteger).int(positiveInteger).positive(positiveInteger),
      intervalMs: z.number(positiveNumber).positive(positiveNumber),
      safetyMargin: z.number(atLeastZero).min(0, atLeastZero).optional(),
      now: z
        .custom<Clock>((value) => typeof value === 'function', {
          error: 'must be a function returning epoch ms',
        })
        .optional(),
      providerId: z.string({ error: 'must be a string' }).optional(),
    },
    { error: 'must be an object' },
  )
  .strict();

/** The state of an even pacer: the earliest time the next call may start. */
export interface PacerSlot {
  /** When the reserved call starts, epoch ms. */
  readonly startAt: number;
  /** The earliest start of the call after it. */
  readonly nextFreeAt: number;
}

/**
 * Reserve the next start of an even pacer (pure): a call asked for at `now`
 * starts at `max(now, nextFreeAt)`, and the one after waits `gapMs` more.
 */
export function reservePacerSlot(nextFreeAt: number, now: number, gapMs: number): PacerSlot {
  const startAt = Math.max(now, nextFreeAt);
  return { startAt, nextFreeAt: startAt + gapMs };
}

/** A {@link CallScheduler} of this process with a {@link CallPacer.close}. */
export interface CallPacer extends CallScheduler {
  /** Reject every waiting call with `limiter_closed` and clear the timers. */
  close(): void;
}

/**
 * A small in-process pacer for one class of an adapter's own calls: starts
 * are spread evenly over the window (first in, first out), so a rolling
 * window of `limit` per `intervalMs` is never exceeded. A call that fails
 * with a 429 (`rate_limited` with `retryAfterMs`) holds later starts back
 * for that long; the error itself propagates (the caller owns retries).
 *
 * @throws ConfigurationError (`invalid_configuration`, checked by `parseOptions`) naming each wrong option:
 * `limit` not a positive integer, `intervalMs` not a positive number, `safetyMargin` below 0, an unknown option.
 */
export function createCallPacer(options: CallPacerOptions): CallPacer {
  const { limit, intervalMs } = parseOptions(callPacerOptionsSchema, options, {
    name: 'createCallPacer',
    providerId: options?.providerId,
  });
  const margin = options.safetyMargin ?? 0.1;
  const now = options.now ?? systemClock;
  const gapMs = (intervalMs / limit) * (1 + margin);
  let nextFreeAt = Number.NEGATIVE_INFINITY;
  const waiting = new Set<{ timer: ReturnType<typeof setTimeout>; reject: (error: unknown) => void }>();

  const wait = (ms: number, signal: AbortSignal | undefined): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const entry = {
        timer: setTimeout(() => {
          waiting.delete(entry);
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }, ms),
        reject,
      };
      const onAbort = (): void => {
        clearTimeout(entry.timer);
        waiting.delete(entry);
        reject(
          new ApiCallError('aborted', {
            message: `${options.providerId ?? 'adapter'}: the call was aborted while waiting for its turn`,
            providerId: options.providerId,
            cause: signal?.reason,
          }),
        );
      };
      waiting.add(entry);
      signal?.addEventListener('abort', onAbort, { once: true });
    });

  return {
    async schedule<T>(task: () => Promise<T>, scheduleOptions: CallScheduleOptions = {}): Promise<T> {
      const { signal } = scheduleOptions;
      if (signal?.aborted) {
        throw new ApiCallError('aborted', {
          message: `${options.providerId ?? 'adapter'}: the call was aborted before it was sent`,
          providerId: options.providerId,
          cause: signal.reason,
        });
      }
      const slot = reservePacerSlot(nextFreeAt, now(), gapMs);
      nextFreeAt = slot.nextFreeAt;
      const delay = slot.startAt - now();
      if (delay > 0) await wait(delay, signal);
      try {
        return await task();
      } catch (error) {
        if (
          ApiCallError.isInstance(error) &&
          error.code === 'rate_limited' &&
          error.retryAfterMs !== undefined
        ) {
          nextFreeAt = Math.max(nextFreeAt, now() + error.retryAfterMs);
        }
        throw error;
      }
    },
    close() {
      for (const entry of waiting) {
        clearTimeout(entry.timer);
        entry.reject(
          new LeadpipeError('limiter_closed', {
            message: `${options.providerId ?? 'adapter'}: the pacer was closed`,
            providerId: options.providerId,
          }),
        );
      }
      waiting.clear();
    },
  };
}

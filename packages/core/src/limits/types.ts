import type Bottleneck from 'bottleneck';
import type { Clock } from '../contracts/clock.js';
import type { RateLimitPolicy, RateLimitState } from '../contracts/rate-limit.js';

/**
 * What a limiter reports as it works. Events only observe: a listener that
 * throws is ignored.
 * - `rateLimited`: a task got a 429; it runs again after `waitMs` (`attempt` is the re-run number, from 1).
 * - `paused`: nothing starts until `untilMs` (epoch ms), for `reason`.
 * - `resumed`: the pause is over.
 * - `error`: something failed in the background (such as a Redis heartbeat, or applying a 429's headers).
 */
export type LimiterEvent =
  | {
      /** A task got a 429 and will run again. */
      readonly type: 'rateLimited';
      /** Id of the provider or CRM the limiter belongs to. */
      readonly id: string;
      /** Credential key of the limiter (never the secret itself). */
      readonly key: string;
      /**
       * How long the whole limiter pauses before the task runs again, in ms:
       * the error's Retry-After, else its latest reported reset, else
       * `rateLimitBackoffMs` doubled per re-run (at most 60 s).
       */
      readonly waitMs: number;
      /** The re-run number, from 1 to `maxRateLimitRetries` (a 429 past that rejects, unreported). */
      readonly attempt: number;
    }
  | {
      /** The limiter paused: nothing starts until `untilMs`. */
      readonly type: 'paused';
      /** Id of the provider or CRM the limiter belongs to. */
      readonly id: string;
      /** Credential key of the limiter. */
      readonly key: string;
      /** End of the pause, in epoch ms (by the registry's clock). */
      readonly untilMs: number;
      /**
       * Why: `rate_limited` after a 429, `window "<name>" exhausted` when
       * response headers report a window at 0 remaining, or the reason given to
       * {@link ProviderLimiter.pauseUntil}.
       */
      readonly reason: string;
    }
  | {
      /** The pause is over. */
      readonly type: 'resumed';
      /** Id of the provider or CRM the limiter belongs to. */
      readonly id: string;
      /** Credential key of the limiter. */
      readonly key: string;
    }
  | {
      /** Something failed in the background, such as the Redis datastore or applying a 429's headers. */
      readonly type: 'error';
      /** Id of the provider or CRM the limiter belongs to. */
      readonly id: string;
      /** Credential key of the limiter. */
      readonly key: string;
      /** What was thrown: an `Error` as is; a thrown string or plain object scrubbed of secrets by the event bus. */
      readonly error: unknown;
    };

/** Options of {@link createLimiterRegistry}. */
export interface LimiterRegistryOptions {
  /**
   * Share quotas across processes through Redis. Every process whose registry
   * gets the same `(id, key)` with the same connection server shares one set
   * of windows and one concurrency cap (Bottleneck clustering; the Bottleneck
   * id is `leadpipe:<id>:<key>`, plus `:<window>` for each counted window).
   * Jobs get an `expiration` (see {@link LimiterRegistryOptions.jobExpirationMs})
   * so a crashed process cannot hold a slot. Grants are made on Redis's
   * clock, so at the moment each task starts the limiter also checks, in one
   * atomic script on Redis's clock, that the paced window's last interval
   * (rolling) still has room across every process, and holds the start back
   * until it has: a process that stalls after its grant (a GC pause, a busy
   * event loop) cannot then start next to the others' on-time starts and
   * overfill a rolling window (key `leadpipe:<id>:<key>:rolling-starts`, one
   * Redis call per start). The registry does not close the
   * connection: you created it, you disconnect it.
   *
   * @example
   * ```ts
   * import Bottleneck from 'bottleneck';
   * import Redis from 'ioredis';
   *
   * const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
   * // Pass `Redis` too: Bottleneck otherwise `require`s ioredis from its own folder.
   * const connection = new Bottleneck.IORedisConnection({ client, Redis });
   * const limiters = createLimiterRegistry({ connection });
   * // ... limiters.get('apollo', keyId, policy).schedule(() => call())
   * await limiters.disconnect();
   * await connection.disconnect();
   * ```
   */
  readonly connection?: Bottleneck.RedisConnection | Bottleneck.IORedisConnection;
  /**
   * Clock in epoch ms (the vendor's clock), for pauses, resets, aligned
   * boundaries and estimates. Default `systemClock` (`Date.now`). Pacing itself
   * (even spacing, refills of windows counted from first use) runs on the
   * timers' clock, as Bottleneck's does.
   */
  readonly now?: Clock;
  /** How many times a task that got a 429 is run again before its error propagates. Default 5. */
  readonly maxRateLimitRetries?: number;
  /** Observes the limiters. Exceptions it throws are ignored. */
  readonly onEvent?: (event: LimiterEvent) => void;
  /**
   * Extra room for arrival jitter, as a fraction of the paced window: the pace
   * is `intervalMs / limit * (1 + safetyMargin)` and no `limit + 1` starts fall
   * within `intervalMs * (1 + safetyMargin)`. Default 0.04, measured with
   * `bench/limiter.bench.ts` against a strict rolling-window server on a loaded
   * 2-core machine: 0.04 gave 0 429s at 96% of the allowed rate, 0.02 one 429
   * in 500 requests, 0 five. It absorbs up to 40 ms of delay on a 1 s window.
   */
  readonly safetyMargin?: number;
  /**
   * Windows up to this length are paced evenly (the one with the widest even
   * spacing sets the pace); longer ones are counted and may be spent in a burst
   * at that pace. Default 60 000 (one minute).
   */
  readonly paceWindowsUpToMs?: number;
  /** Base wait after a 429 that says neither Retry-After nor a reset; doubles per re-run, capped at 60 s. Default 1 000. */
  readonly rateLimitBackoffMs?: number;
  /** Clustering only: a running task stops counting against `maxConcurrent` after this long. Default 60 000. */
  readonly jobExpirationMs?: number;
}

/** Options of {@link ProviderLimiter.schedule}. */
export interface ScheduleOptions {
  /** Aborts the task while it waits: it is removed and rejects with `ApiCallError('aborted')`. */
  readonly signal?: AbortSignal;
  /** Requests of quota (and concurrency slots) the task uses. Whole number, default 1. */
  readonly weight?: number;
  /** 0 (first) to 9 (last), default 5, like Bottleneck. Equal priorities run in order. */
  readonly priority?: number;
}

/** Counters of one limiter. */
export interface LimiterStats {
  /** Tasks accepted by `schedule`. */
  readonly scheduled: number;
  /** Tasks executing now. */
  readonly running: number;
  /** Tasks waiting to start (including ones waiting to re-run after a 429). */
  readonly queued: number;
  /** Tasks finished for good, with a value or an error. */
  readonly done: number;
  /** 429s received (every one, re-run or not). */
  readonly rateLimited: number;
  /** Total time tasks spent waiting to start, in ms. */
  readonly waitedMs: number;
}

/** The limiter of one provider (or CRM) and one credential. */
export interface ProviderLimiter {
  /** The provider or CRM id. */
  readonly id: string;
  /** Identifies the credential (never the secret itself). */
  readonly key: string;
  /**
   * Runs `task` when every window, the concurrency cap and any pause allow.
   * A 429 (`ApiCallError` with code `rate_limited`) is owned here: the whole
   * limiter pauses for the error's `retryAfterMs` (or its reported reset, or a
   * backoff) and the task runs again, up to `maxRateLimitRetries` times. Any
   * other error propagates untouched.
   */
  schedule<T>(task: () => Promise<T>, options?: ScheduleOptions): Promise<T>;
  /**
   * Corrects the limiter from response headers: `remaining: 0` with a reset
   * pauses until the reset; a lower `remaining` than the limiter's own count
   * lowers it; a reported `limit` different from the current one is adopted.
   * Windows match by name, then by interval (`second`, `minute`, `10s`...).
   */
  update(state: RateLimitState): void;
  /** Quota exhausted: nothing starts until `epochMs`. An earlier time than a pause in force changes nothing. */
  pauseUntil(epochMs: number, reason: string): void;
  /** End of the pause in force (epoch ms), if any. */
  pausedUntil(): number | undefined;
  /** Estimated ms a task scheduled now would wait before starting (pause, queue, pace, windows, concurrency). */
  estimatedWaitMs(): number;
  /** Counters since creation. */
  stats(): LimiterStats;
}

/** Lazily created limiters, one per `(id, key)`. */
export interface LimiterRegistry {
  /**
   * The limiter of `(id, key)`, created on first use; the same pair always
   * returns the same instance. No timer or connection is made until its first
   * `schedule`. Throws a `ConfigurationError` when the pair exists with a
   * different policy, and for a bad policy (naming each bad field, such as `policy.perSecond`).
   */
  get(id: string, key: string, policy: RateLimitPolicy): ProviderLimiter;
  /**
   * Stops every limiter: waiting tasks reject with code `limiter_closed`,
   * timers are cleared and Bottleneck instances disconnected (a shared
   * `connection` stays open). Running tasks finish on their own.
   */
  disconnect(): Promise<void>;
}

/**
 * The limiter's events by `noun.verb` name, as carried by the registry's
 * `SafeEventBus`; each payload is the {@link LimiterEvent} of that `type`.
 */
export interface LimiterEvents {
  /** A task got a 429 and will run again. */
  readonly 'limiter.rateLimited': Extract<LimiterEvent, { type: 'rateLimited' }>;
  /** The limiter paused. */
  readonly 'limiter.paused': Extract<LimiterEvent, { type: 'paused' }>;
  /** The pause is over. */
  readonly 'limiter.resumed': Extract<LimiterEvent, { type: 'resumed' }>;
  /** Something failed in the background. */
  readonly 'limiter.error': Extract<LimiterEvent, { type: 'error' }>;
}

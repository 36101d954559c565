import Bottleneck from 'bottleneck';
import { ApiCallError, ConfigurationError, LeadpipeError, ValidationError } from '../contracts/errors.js';
import type { RateLimitPolicy, RateLimitState } from '../contracts/rate-limit.js';
import { normalizePolicy, selectPacingWindow, windowNameToIntervalMs } from './policy.js';

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
      /** What was thrown, passed on as is (not scrubbed of secrets). */
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
   * so a crashed process cannot hold a slot. The registry does not close the
   * connection: you created it, you disconnect it.
   *
   * @example
   * ```ts
   * import Bottleneck from 'bottleneck';
   * import Redis from 'ioredis';
   *
   * const client = new Redis(process.env.REDIS_URL);
   * // Pass `Redis` too: Bottleneck otherwise `require`s ioredis from its own folder.
   * const connection = new Bottleneck.IORedisConnection({ client, Redis });
   * const limiters = createLimiterRegistry({ connection });
   * // ... limiters.get('apollo', keyId, policy).schedule(() => call())
   * await limiters.disconnect();
   * await connection.disconnect();
   * ```
   */
  readonly connection?: Bottleneck.RedisConnection | Bottleneck.IORedisConnection;
  /** Clock in epoch ms, for pauses, resets and estimates. Default `Date.now`. */
  readonly now?: () => number;
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
   * different policy, a `ValidationError` for a bad policy.
   */
  get(id: string, key: string, policy: RateLimitPolicy): ProviderLimiter;
  /**
   * Stops every limiter: waiting tasks reject with code `limiter_closed`,
   * timers are cleared and Bottleneck instances disconnected (a shared
   * `connection` stays open). Running tasks finish on their own.
   */
  disconnect(): Promise<void>;
}

interface Entry {
  readonly task: () => Promise<unknown>;
  readonly weight: number;
  readonly priority: number;
  readonly sequence: number;
  readonly signal: AbortSignal | undefined;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  enqueuedAt: number;
  rateLimitRetries: number;
  onAbort: (() => void) | undefined;
}

interface WindowState {
  readonly name: string;
  readonly intervalMs: number;
  limit: number;
  /** Local mirror of the count, for estimates: requests started in the current window. */
  used: number;
  windowStart: number | undefined;
  /** Remaining reported before the engine existed; applied when it is built. */
  reportedRemaining: number | undefined;
  limiter: Bottleneck | undefined;
  /** Gives the window its limit back at the vendor's reported reset. */
  restoreTimer: ReturnType<typeof setTimeout> | undefined;
  /** Whether the window starts on clock boundaries (then refilled by `boundaryTimer`, not Bottleneck). */
  readonly aligned: boolean;
  /** Refills an aligned window at its next clock boundary. */
  boundaryTimer: ReturnType<typeof setTimeout> | undefined;
}

interface Ticket {
  readonly weight: number;
  granted: boolean;
  readonly acquired: Bottleneck[];
}

interface Engine {
  readonly pacer: Bottleneck;
  readonly counters: readonly { readonly state: WindowState; readonly limiter: Bottleneck }[];
}

interface ResolvedOptions {
  readonly connection: Bottleneck.RedisConnection | Bottleneck.IORedisConnection | undefined;
  readonly now: () => number;
  readonly maxRateLimitRetries: number;
  readonly emit: (event: LimiterEvent) => void;
  readonly safetyMargin: number;
  readonly paceWindowsUpToMs: number;
  readonly rateLimitBackoffMs: number;
  readonly jobExpirationMs: number;
}

const MAX_RATE_LIMIT_WAIT_MS = 60_000;

/** Largest paced-window limit the rolling-window guard keeps a log for. */
const MAX_GUARDED_LIMIT = 10_000;

/** Bottleneck tickets kept out ahead of the waiting tasks. */
const TICKETS_AHEAD = 2;

function noop(): void {}

/**
 * `Bottleneck#updateSettings`, working around a bug of its in-memory store
 * (2.19.5, the last release): updating settings stops the heartbeat that
 * refreshes reservoirs, so a window would never refill. The heartbeat is
 * started again afterwards. The Redis store has no such timer and needs nothing.
 */
async function updateSettings(limiter: Bottleneck, settings: Bottleneck.ConstructorOptions): Promise<void> {
  await limiter.updateSettings(settings);
  const store = (limiter as unknown as { _store?: { heartbeat?: unknown; _startHeartbeat?: () => void } })
    ._store;
  if (store !== undefined && typeof store._startHeartbeat === 'function') {
    clearInterval(store.heartbeat as ReturnType<typeof setInterval>);
    store.heartbeat = undefined;
    store._startHeartbeat();
  }
}

class ProviderLimiterImpl implements ProviderLimiter {
  readonly id: string;
  readonly key: string;
  private readonly options: ResolvedOptions;
  private readonly windows: WindowState[];
  private pacingWindow: WindowState | undefined;
  private readonly maxConcurrent: number | undefined;
  private engine: Engine | undefined;
  private readonly queue: Entry[] = [];
  private readonly tickets = new Set<Ticket>();
  private sequence = 0;
  private closed = false;
  private pausedUntilMs: number | undefined;
  private pauseTimer: ReturnType<typeof setTimeout> | undefined;
  private lastStartAt: number | undefined;
  /** Planned start times within the paced window, oldest first (the rolling-window guard). */
  private readonly recentStarts: number[] = [];
  private averageRunMs = 0;
  /** Start times (registry clock) of the latest calls, for aligned-window refills; bounded. */
  private readonly startLog: number[] = [];
  private counts = { scheduled: 0, running: 0, done: 0, rateLimited: 0, waitedMs: 0 };
  /**
   * No windows and no shared datastore: only concurrency (and pauses) to
   * enforce, done in-process without Bottleneck, whose in-memory store yields
   * a timer turn per job and caps throughput near 1,000 tasks per second.
   */
  private readonly direct: boolean;
  private runningWeight = 0;

  constructor(id: string, key: string, policy: RateLimitPolicy, options: ResolvedOptions) {
    this.id = id;
    this.key = key;
    this.options = options;
    const normalized = normalizePolicy(policy);
    this.maxConcurrent = normalized.maxConcurrent;
    this.windows = normalized.windows.map((window) => ({
      name: window.name,
      intervalMs: window.intervalMs,
      limit: window.limit,
      used: 0,
      windowStart: undefined,
      reportedRemaining: undefined,
      limiter: undefined,
      restoreTimer: undefined,
      aligned: window.aligned,
      boundaryTimer: undefined,
    }));
    this.direct = options.connection === undefined && this.windows.length === 0;
    const pacing = selectPacingWindow(normalized.windows, options.paceWindowsUpToMs);
    this.pacingWindow =
      pacing === undefined ? undefined : this.windows.find((window) => window.name === pacing.name);
  }

  schedule<T>(task: () => Promise<T>, options: ScheduleOptions = {}): Promise<T> {
    if (typeof task !== 'function') {
      return Promise.reject(new ValidationError([{ field: 'task', reason: 'must be a function' }]));
    }
    const weight = options.weight ?? 1;
    const priority = options.priority ?? 5;
    const issues = this.checkScheduleOptions(weight, priority);
    if (issues.length > 0) return Promise.reject(new ValidationError(issues));
    if (this.closed) return Promise.reject(this.closedError());
    const signal = options.signal;
    if (signal?.aborted === true) return Promise.reject(this.abortedError(signal));
    return new Promise<T>((resolve, reject) => {
      const entry: Entry = {
        task,
        weight,
        priority,
        sequence: this.sequence++,
        signal,
        resolve: resolve as (value: unknown) => void,
        reject,
        enqueuedAt: this.options.now(),
        rateLimitRetries: 0,
        onAbort: undefined,
      };
      this.counts.scheduled += 1;
      this.enqueue(entry);
      this.pump();
    });
  }

  update(state: RateLimitState): void {
    if (typeof state !== 'object' || state === null || !Array.isArray(state.windows)) {
      throw new ValidationError([{ field: 'state.windows', reason: 'must be an array of window states' }]);
    }
    const now = this.options.now();
    let pauseTo: number | undefined;
    let pauseWindow = '';
    for (const reported of state.windows) {
      const target =
        this.windows.find((window) => window.name === reported.name) ??
        this.windows.find((window) => window.intervalMs === windowNameToIntervalMs(reported.name));
      if (reported.remaining === 0) {
        const resetAt =
          reported.resetAt ?? (state.retryAfterMs === undefined ? undefined : now + state.retryAfterMs);
        if (resetAt !== undefined && Number.isFinite(resetAt) && resetAt > now && resetAt > (pauseTo ?? 0)) {
          pauseTo = resetAt;
          pauseWindow = reported.name;
        }
      }
      if (target === undefined) continue;
      if (
        typeof reported.limit === 'number' &&
        Number.isInteger(reported.limit) &&
        reported.limit >= 1 &&
        reported.limit !== target.limit
      ) {
        this.adoptLimit(target, reported.limit);
      }
      if (
        typeof reported.remaining === 'number' &&
        Number.isFinite(reported.remaining) &&
        reported.remaining >= 0
      ) {
        this.lowerRemaining(target, Math.floor(reported.remaining), now, reported.resetAt);
      }
    }
    if (pauseTo !== undefined) this.pauseUntil(pauseTo, `window "${pauseWindow}" exhausted`);
  }

  pauseUntil(epochMs: number, reason: string): void {
    if (typeof epochMs !== 'number' || !Number.isFinite(epochMs)) {
      throw new ValidationError([
        { field: 'epochMs', reason: `must be a finite epoch time in ms, got ${epochMs}` },
      ]);
    }
    if (this.closed) return;
    const now = this.options.now();
    this.refreshPause(now);
    if (epochMs <= now || (this.pausedUntilMs !== undefined && epochMs <= this.pausedUntilMs)) return;
    this.pausedUntilMs = epochMs;
    this.emit({ type: 'paused', id: this.id, key: this.key, untilMs: epochMs, reason });
    this.armPauseTimer(now);
  }

  pausedUntil(): number | undefined {
    this.refreshPause(this.options.now());
    return this.pausedUntilMs;
  }

  estimatedWaitMs(): number {
    const now = this.options.now();
    this.refreshPause(now);
    const pauseWait = this.pausedUntilMs === undefined ? 0 : this.pausedUntilMs - now;
    const ahead = this.queue.length;
    const aheadWeight = this.queue.reduce((sum, entry) => sum + entry.weight, 0);
    let wait = pauseWait;
    const paceMs = this.paceMs();
    if (paceMs > 0) {
      const nextSlot = this.lastStartAt === undefined ? 0 : Math.max(0, this.lastStartAt + paceMs - now);
      wait = Math.max(wait, nextSlot) + ahead * paceMs;
    }
    for (const window of this.windows) {
      this.rollWindow(window, now);
      if (window.windowStart === undefined) continue;
      const remaining = window.limit - window.used;
      const needed = aheadWeight + 1;
      if (needed > remaining) {
        const resetIn = window.windowStart + window.intervalMs - now;
        const extraWindows = Math.floor((needed - Math.max(remaining, 0) - 1) / window.limit);
        wait = Math.max(wait, resetIn + extraWindows * window.intervalMs);
      }
    }
    if (this.maxConcurrent !== undefined) {
      const excess = this.counts.running + ahead + 1 - this.maxConcurrent;
      if (excess > 0) {
        wait = Math.max(wait, pauseWait + Math.ceil(excess / this.maxConcurrent) * this.averageRunMs);
      }
    }
    return Math.max(0, Math.round(wait));
  }

  stats(): LimiterStats {
    return { ...this.counts, queued: this.queue.length };
  }

  /** Rejects waiting tasks, clears timers and disconnects Bottleneck. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.pauseTimer !== undefined) clearTimeout(this.pauseTimer);
    this.pauseTimer = undefined;
    for (const window of this.windows) {
      if (window.restoreTimer !== undefined) clearTimeout(window.restoreTimer);
      window.restoreTimer = undefined;
      if (window.boundaryTimer !== undefined) clearTimeout(window.boundaryTimer);
      window.boundaryTimer = undefined;
    }
    for (const entry of this.queue.splice(0)) {
      this.detach(entry);
      entry.reject(this.closedError());
    }
    const engine = this.engine;
    if (engine === undefined) return;
    const limiters = [engine.pacer, ...engine.counters.map((counter) => counter.limiter)];
    await Promise.all(
      limiters.map(async (limiter) => {
        limiter.stop({ dropWaitingJobs: true }).catch(noop);
        await limiter.disconnect();
      }),
    );
  }

  private checkScheduleOptions(weight: number, priority: number): { field: string; reason: string }[] {
    const issues: { field: string; reason: string }[] = [];
    if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 1) {
      issues.push({ field: 'weight', reason: `must be a whole number of at least 1, got ${String(weight)}` });
    } else {
      if (this.maxConcurrent !== undefined && weight > this.maxConcurrent) {
        issues.push({ field: 'weight', reason: `${weight} exceeds maxConcurrent ${this.maxConcurrent}` });
      }
      const tooSmall = this.windows.find((window) => weight > window.limit);
      if (tooSmall !== undefined) {
        issues.push({
          field: 'weight',
          reason: `${weight} exceeds the "${tooSmall.name}" window limit ${tooSmall.limit}`,
        });
      }
    }
    if (typeof priority !== 'number' || !Number.isInteger(priority) || priority < 0 || priority > 9) {
      issues.push({
        field: 'priority',
        reason: `must be a whole number from 0 to 9, got ${String(priority)}`,
      });
    }
    return issues;
  }

  private paceMs(): number {
    const window = this.pacingWindow;
    if (window === undefined) return 0;
    return (window.intervalMs / window.limit) * (1 + this.options.safetyMargin);
  }

  private emit(event: LimiterEvent): void {
    this.options.emit(event);
  }

  private closedError(): LeadpipeError {
    return new LeadpipeError('limiter_closed', {
      message: `Rate limiter for "${this.id}" was disconnected`,
      providerId: this.id,
    });
  }

  private abortedError(signal: AbortSignal): ApiCallError {
    return new ApiCallError('aborted', {
      message: `Task for "${this.id}" was aborted while waiting for the rate limiter`,
      providerId: this.id,
      cause: signal.reason,
    });
  }

  private enqueue(entry: Entry): void {
    let index = this.queue.length;
    while (index > 0) {
      const previous = this.queue[index - 1]!;
      if (previous.priority < entry.priority) break;
      if (previous.priority === entry.priority && previous.sequence < entry.sequence) break;
      index -= 1;
    }
    this.queue.splice(index, 0, entry);
    const signal = entry.signal;
    if (signal !== undefined) {
      entry.onAbort = () => {
        const position = this.queue.indexOf(entry);
        if (position < 0) return;
        this.queue.splice(position, 1);
        entry.onAbort = undefined;
        entry.reject(this.abortedError(signal));
        this.syncPauseTimerRef();
      };
      signal.addEventListener('abort', entry.onAbort, { once: true });
    }
    this.syncPauseTimerRef();
  }

  private detach(entry: Entry): void {
    if (entry.onAbort !== undefined) entry.signal?.removeEventListener('abort', entry.onAbort);
    entry.onAbort = undefined;
  }

  private refreshPause(now: number): void {
    if (this.pausedUntilMs === undefined || now < this.pausedUntilMs) return;
    this.pausedUntilMs = undefined;
    if (this.pauseTimer !== undefined) clearTimeout(this.pauseTimer);
    this.pauseTimer = undefined;
    this.emit({ type: 'resumed', id: this.id, key: this.key });
  }

  private armPauseTimer(now: number): void {
    if (this.pauseTimer !== undefined) clearTimeout(this.pauseTimer);
    this.pauseTimer = undefined;
    if (this.pausedUntilMs === undefined) return;
    this.pauseTimer = setTimeout(
      () => {
        this.pauseTimer = undefined;
        const current = this.options.now();
        this.refreshPause(current);
        if (this.pausedUntilMs === undefined) this.pump();
        else this.armPauseTimer(current);
      },
      Math.max(0, this.pausedUntilMs - now),
    );
    this.syncPauseTimerRef();
  }

  /** The pause timer keeps the process alive only while tasks wait on it. */
  /** Timers keep the process alive only while tasks wait on them. */
  private syncPauseTimerRef(): void {
    const waiting = this.queue.length > 0;
    for (const timer of [this.pauseTimer, ...this.windows.map((window) => window.boundaryTimer)]) {
      if (timer === undefined || typeof timer !== 'object') continue;
      if (waiting) timer.ref();
      else timer.unref();
    }
  }

  private rollWindow(window: WindowState, now: number): void {
    if (window.windowStart === undefined || now < window.windowStart + window.intervalMs) return;
    const elapsed = Math.floor((now - window.windowStart) / window.intervalMs);
    window.windowStart += elapsed * window.intervalMs;
    window.used = 0;
  }

  private recordStart(weight: number, now: number): void {
    this.lastStartAt = now;
    if (this.windows.some((window) => window.aligned)) {
      for (let unit = 0; unit < weight; unit += 1) this.startLog.push(now);
      if (this.startLog.length > 4096) this.startLog.splice(0, this.startLog.length - 4096);
    }
    for (const window of this.windows) {
      if (window.windowStart === undefined) {
        window.windowStart = window.aligned ? now - (now % window.intervalMs) : now;
      }
      this.rollWindow(window, now);
      window.used += weight;
    }
  }

  private adoptLimit(window: WindowState, limit: number): void {
    const delta = limit - window.limit;
    window.limit = limit;
    const limiter = window.limiter;
    if (limiter === undefined) return;
    const settings: Bottleneck.ConstructorOptions =
      window === this.pacingWindow
        ? { reservoirRefreshAmount: limit, minTime: this.paceMs() }
        : { reservoirRefreshAmount: limit };
    this.background(async () => {
      await updateSettings(limiter, settings);
      await limiter.incrementReservoir(delta);
    });
  }

  private lowerRemaining(
    window: WindowState,
    remaining: number,
    now: number,
    resetAt: number | undefined,
  ): void {
    this.rollWindow(window, now);
    const knownReset =
      resetAt !== undefined &&
      Number.isFinite(resetAt) &&
      resetAt > now &&
      resetAt <= now + window.intervalMs;
    if (knownReset) window.windowStart = resetAt - window.intervalMs;
    else if (window.windowStart === undefined) window.windowStart = now;
    const counted = window.limit - window.used;
    if (remaining >= counted) return;
    window.used = window.limit - remaining;
    if (knownReset) this.armRestore(window, resetAt, now);
    const limiter = window.limiter;
    if (limiter === undefined) {
      window.reportedRemaining = Math.min(window.reportedRemaining ?? remaining, remaining);
      return;
    }
    this.background(async () => {
      const current = await limiter.currentReservoir();
      if (current !== null && current > remaining) await limiter.incrementReservoir(remaining - current);
    });
  }

  /**
   * The vendor's window resets at `resetAt`: give the window its full limit
   * back then, rather than idling until Bottleneck's own refresh comes round.
   */
  private armRestore(window: WindowState, resetAt: number, now: number): void {
    if (window.restoreTimer !== undefined) clearTimeout(window.restoreTimer);
    window.restoreTimer = setTimeout(() => {
      window.restoreTimer = undefined;
      if (this.closed) return;
      window.used = 0;
      window.windowStart = resetAt;
      window.reportedRemaining = undefined;
      const limiter = window.limiter;
      if (limiter === undefined) return;
      this.background(async () => {
        const current = await limiter.currentReservoir();
        if (current !== null && current < window.limit)
          await limiter.incrementReservoir(window.limit - current);
      });
    }, resetAt - now);
    if (typeof window.restoreTimer === 'object') window.restoreTimer.unref();
  }

  /**
   * Refills an aligned window to its full limit at each clock boundary
   * (multiples of its interval since the epoch, on the registry's clock). The
   * refill sets the reservoir outright, so several processes sharing it
   * through Redis can all do it without overfilling.
   *
   * A timer can fire before the registry's clock shows the boundary (Node
   * rounds timer delays to whole milliseconds, and a custom `now` need not
   * tick with the timers): the refill then waits for the boundary itself.
   * Refilling early would hand out the new window's units while the vendor
   * still counts the old one, and re-arming from a clock short of the
   * boundary would refill the same window twice.
   */
  private armBoundary(window: WindowState, boundary?: number): void {
    if (this.closed) return;
    const now = this.options.now();
    const next = boundary ?? now - (now % window.intervalMs) + window.intervalMs;
    window.boundaryTimer = setTimeout(
      () => {
        window.boundaryTimer = undefined;
        if (this.closed) return;
        if (this.options.now() < next) {
          this.armBoundary(window, next);
          return;
        }
        // The vendor counts a call in the window it arrives in. Calls started after the boundary (this
        // timer can fire late) and calls started within about one call's duration before it may arrive
        // after it: the new window starts with them already spent, and with the calls still running.
        const since = next - Math.max(this.averageRunMs, 1);
        let recent = 0;
        for (let index = this.startLog.length - 1; index >= 0 && this.startLog[index]! >= since; index -= 1)
          recent += 1;
        // Tickets already holding a unit of the old window but still waiting on another window (the
        // pacer) will start in the new one: count them there too.
        let held = 0;
        for (const ticket of this.tickets) {
          if (!ticket.granted && window.limiter !== undefined && ticket.acquired.includes(window.limiter)) {
            held += ticket.weight;
          }
        }
        const straddling = Math.min(window.limit, Math.max(recent, this.counts.running) + held);
        window.used = straddling;
        window.windowStart = next;
        window.reportedRemaining = undefined;
        const limiter = window.limiter;
        if (limiter !== undefined) {
          this.background(async () => {
            await updateSettings(limiter, { reservoir: window.limit - straddling });
            this.pump();
          });
        }
        this.armBoundary(window);
      },
      Math.max(1, Math.ceil(next - now)),
    );
    this.syncPauseTimerRef();
  }

  private background(work: () => Promise<void>): void {
    work().catch((error: unknown) => this.emit({ type: 'error', id: this.id, key: this.key, error }));
  }

  private ensureEngine(): Engine {
    if (this.engine !== undefined) return this.engine;
    const connection = this.options.connection;
    const baseId = `leadpipe:${this.id}:${this.key}`;
    const shortest = this.windows[0]?.intervalMs ?? 1000;
    const longest = this.windows[this.windows.length - 1]?.intervalMs ?? 1000;
    const heartbeatInterval =
      connection === undefined
        ? Math.min(250, Math.max(10, Math.floor(shortest / 20)))
        : Math.min(5000, Math.max(50, Math.floor(shortest / 20)));
    const common: Bottleneck.ConstructorOptions =
      connection === undefined
        ? { heartbeatInterval }
        : { connection, clearDatastore: false, heartbeatInterval, timeout: Math.max(2 * longest, 300_000) };
    // Aligned windows get no Bottleneck refresh interval (it would count from creation and drift by a
    // heartbeat each period); `armBoundary` refills them on the clock's boundaries instead.
    const windowSettings = (window: WindowState): Bottleneck.ConstructorOptions => ({
      reservoir: Math.max(0, Math.min(window.limit, window.reportedRemaining ?? window.limit)),
      ...(window.aligned
        ? {}
        : { reservoirRefreshInterval: window.intervalMs, reservoirRefreshAmount: window.limit }),
    });
    const pacingWindow = this.pacingWindow;
    const pacer = new Bottleneck({
      ...common,
      id: baseId,
      maxConcurrent: this.maxConcurrent ?? null,
      minTime: this.paceMs(),
      ...(pacingWindow === undefined ? {} : windowSettings(pacingWindow)),
    });
    if (pacingWindow !== undefined) pacingWindow.limiter = pacer;
    const counters = this.windows
      .filter((window) => window !== pacingWindow)
      .reverse()
      .map((state) => {
        const limiter = new Bottleneck({
          ...common,
          id: `${baseId}:${state.name}`,
          ...windowSettings(state),
        });
        state.limiter = limiter;
        return { state, limiter };
      });
    for (const limiter of [pacer, ...counters.map((counter) => counter.limiter)]) {
      limiter.on('error', (error: unknown) =>
        this.emit({ type: 'error', id: this.id, key: this.key, error }),
      );
    }
    this.engine = { pacer, counters };
    for (const window of this.windows) if (window.aligned) this.armBoundary(window);
    return this.engine;
  }

  /**
   * Keeps up to {@link TICKETS_AHEAD} Bottleneck tickets out for the waiting
   * tasks. A ticket is a slot, not a task: when Bottleneck grants it, the
   * first waiting task of that weight (by priority) runs, so an aborted task
   * simply leaves the queue. Two tickets ahead keep Bottleneck's pacing grid
   * even when the event loop is late to hand in the next one.
   */
  private pump(): void {
    if (this.closed) return;
    const now = this.options.now();
    this.refreshPause(now);
    if (this.pausedUntilMs !== undefined) {
      if (this.pauseTimer === undefined && this.queue.length > 0) this.armPauseTimer(now);
      return;
    }
    if (this.direct) {
      this.pumpDirect(now);
      return;
    }
    while (this.tickets.size < Math.min(TICKETS_AHEAD, this.queue.length)) {
      const next = this.queue[this.tickets.size]!;
      const ticket: Ticket = { weight: next.weight, granted: false, acquired: [] };
      this.tickets.add(ticket);
      void this.acquire(ticket);
    }
  }

  /** Starts waiting tasks while the concurrency cap allows (the Bottleneck-free path). */
  private pumpDirect(now: number): void {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const cap = this.maxConcurrent;
      if (cap !== undefined && this.runningWeight > 0 && this.runningWeight + head.weight > cap) return;
      this.queue.shift();
      this.detach(head);
      this.syncPauseTimerRef();
      this.runningWeight += head.weight;
      void this.run(head, now).finally(() => {
        this.runningWeight -= head.weight;
        this.pump();
      });
    }
  }

  private async acquire(ticket: Ticket): Promise<void> {
    let engine: Engine;
    try {
      engine = this.ensureEngine();
      for (const counter of engine.counters) {
        await counter.limiter.schedule({ weight: ticket.weight }, () => Promise.resolve());
        ticket.acquired.push(counter.limiter);
        if (this.closed) return;
      }
    } catch (error) {
      this.ticketFailed(ticket, error);
      return;
    }
    const expiration = this.options.connection === undefined ? null : this.options.jobExpirationMs;
    engine.pacer
      .schedule({ weight: ticket.weight, expiration }, () => this.onGranted(ticket, engine))
      .catch((error: unknown) => {
        if (!ticket.granted) this.ticketFailed(ticket, error);
      });
  }

  private ticketFailed(ticket: Ticket, error: unknown): void {
    this.tickets.delete(ticket);
    if (this.closed) return;
    this.refund(ticket, false);
    const head = this.queue.shift();
    if (head !== undefined) {
      this.detach(head);
      this.counts.done += 1;
      head.reject(
        new LeadpipeError('limiter_failed', {
          message: `Rate limiter for "${this.id}" could not grant a slot`,
          providerId: this.id,
          cause: error,
        }),
      );
    }
    this.pump();
  }

  private refund(ticket: Ticket, includePacer: boolean): void {
    const limiters = [...ticket.acquired];
    if (includePacer && this.pacingWindow !== undefined && this.engine !== undefined) {
      limiters.push(this.engine.pacer);
    }
    for (const limiter of limiters) {
      this.background(async () => {
        await limiter.incrementReservoir(ticket.weight);
      });
    }
  }

  private onGranted(ticket: Ticket, _engine: Engine): Promise<void> {
    ticket.granted = true;
    this.tickets.delete(ticket);
    if (this.closed) return Promise.resolve();
    const now = this.options.now();
    this.refreshPause(now);
    const index =
      this.pausedUntilMs === undefined ? this.queue.findIndex((entry) => entry.weight === ticket.weight) : -1;
    const entry = index < 0 ? undefined : this.queue.splice(index, 1)[0];
    if (entry === undefined) {
      this.refund(ticket, true);
      this.pump();
      return Promise.resolve();
    }
    this.detach(entry);
    this.syncPauseTimerRef();
    const clock = Date.now();
    const startAt = this.plannedStart(clock, entry.weight);
    this.pump();
    if (startAt <= clock) return this.run(entry, now);
    return new Promise<void>((resolve) => {
      setTimeout(() => resolve(this.run(entry, this.options.now())), startAt - clock);
    });
  }

  /**
   * Rolling-window guard for the paced window. Bottleneck's timers can fire
   * late and then close together; a start is held back until the start
   * `limit` places earlier is `intervalMs * (1 + safetyMargin)` old, so no
   * rolling window of that length ever holds more than `limit` starts, while
   * a late timer may still catch up with the pace.
   */
  private plannedStart(clock: number, weight: number): number {
    const window = this.pacingWindow;
    if (window === undefined || window.limit > MAX_GUARDED_LIMIT) return clock;
    const span = window.intervalMs * (1 + this.options.safetyMargin);
    const starts = this.recentStarts;
    if (starts.length > window.limit) starts.splice(0, starts.length - window.limit);
    let startAt = clock;
    for (let unit = 0; unit < weight; unit += 1) {
      const anchor = starts.length >= window.limit ? starts[starts.length - window.limit] : undefined;
      if (anchor !== undefined) startAt = Math.max(startAt, anchor + span);
      starts.push(startAt);
    }
    if (starts.length > window.limit) starts.splice(0, starts.length - window.limit);
    return startAt;
  }

  private run(entry: Entry, startedAt: number): Promise<void> {
    this.counts.waitedMs += Math.max(0, startedAt - entry.enqueuedAt);
    this.counts.running += 1;
    this.recordStart(entry.weight, startedAt);
    let promise: Promise<unknown>;
    try {
      promise = Promise.resolve(entry.task());
    } catch (error) {
      promise = Promise.reject(error);
    }
    return promise.then(
      (value) => {
        this.finish(startedAt);
        this.counts.done += 1;
        entry.resolve(value);
      },
      (error: unknown) => {
        this.finish(startedAt);
        this.onTaskError(entry, error);
      },
    );
  }

  private finish(startedAt: number): void {
    this.counts.running -= 1;
    const duration = Math.max(0, this.options.now() - startedAt);
    this.averageRunMs = this.averageRunMs === 0 ? duration : this.averageRunMs * 0.8 + duration * 0.2;
  }

  private onTaskError(entry: Entry, error: unknown): void {
    if (!ApiCallError.isInstance(error) || error.code !== 'rate_limited' || this.closed) {
      this.counts.done += 1;
      entry.reject(error);
      return;
    }
    this.counts.rateLimited += 1;
    if (error.rateLimit !== undefined) {
      try {
        this.update(error.rateLimit);
      } catch (updateError) {
        this.emit({ type: 'error', id: this.id, key: this.key, error: updateError });
      }
    }
    if (entry.rateLimitRetries >= this.options.maxRateLimitRetries) {
      this.counts.done += 1;
      entry.reject(error);
      return;
    }
    entry.rateLimitRetries += 1;
    const now = this.options.now();
    const waitMs = this.rateLimitWaitMs(error, entry.rateLimitRetries, now);
    this.emit({ type: 'rateLimited', id: this.id, key: this.key, waitMs, attempt: entry.rateLimitRetries });
    this.pauseUntil(now + waitMs, 'rate_limited');
    if (entry.signal?.aborted === true) {
      this.counts.done += 1;
      entry.reject(this.abortedError(entry.signal));
      return;
    }
    entry.enqueuedAt = now;
    this.enqueue(entry);
    this.pump();
  }

  private rateLimitWaitMs(error: ApiCallError, attempt: number, now: number): number {
    const valid = (value: number | undefined): value is number =>
      typeof value === 'number' && Number.isFinite(value) && value >= 0;
    if (valid(error.retryAfterMs)) return Math.ceil(error.retryAfterMs);
    const state = error.rateLimit;
    if (state !== undefined) {
      if (valid(state.retryAfterMs)) return Math.ceil(state.retryAfterMs);
      const resets = state.windows
        .filter((window) => window.remaining === 0 || window.remaining === undefined)
        .map((window) => window.resetAt)
        .filter((resetAt): resetAt is number => valid(resetAt) && resetAt > now);
      if (resets.length > 0) return Math.ceil(Math.max(...resets) - now);
    }
    return Math.min(MAX_RATE_LIMIT_WAIT_MS, this.options.rateLimitBackoffMs * 2 ** (attempt - 1));
  }
}

function checkNonNegative(field: string, value: number | undefined, integer: boolean): void {
  if (value === undefined) return;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < 0 ||
    (integer && !Number.isInteger(value))
  ) {
    throw new ValidationError([
      {
        field,
        reason: `must be a ${integer ? 'whole ' : ''}number of at least 0, got ${String(value)}`,
      },
    ]);
  }
}

function checkText(field: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ValidationError([{ field, reason: 'must be a non-empty string' }]);
  }
}

/**
 * Creates a registry of rate limiters: one per provider id and credential
 * key, created lazily. The limiter owns 429s and quota (it waits and runs the
 * task again); retries of 5xx, timeouts and network errors belong to
 * {@link withRetry}, outside or inside the scheduled task but never both
 * for the same failure.
 *
 * Every window of the policy is enforced at once. The tightest window of a
 * minute or less is paced evenly (`intervalMs / limit`, plus
 * {@link LimiterRegistryOptions.safetyMargin}) so a vendor counting a rolling
 * window never sees more than its limit; longer windows are counted.
 *
 * @example
 * ```ts
 * const limiters = createLimiterRegistry({ onEvent: (event) => log(event) });
 * const apollo = limiters.get('apollo', 'key-1', { perMinute: 50, perHour: 200, perDay: 600 });
 * const person = await apollo.schedule(() => client.match(lead), { signal });
 * ```
 */
export function createLimiterRegistry(options: LimiterRegistryOptions = {}): LimiterRegistry {
  checkNonNegative('maxRateLimitRetries', options.maxRateLimitRetries, true);
  checkNonNegative('safetyMargin', options.safetyMargin, false);
  checkNonNegative('paceWindowsUpToMs', options.paceWindowsUpToMs, false);
  checkNonNegative('rateLimitBackoffMs', options.rateLimitBackoffMs, false);
  checkNonNegative('jobExpirationMs', options.jobExpirationMs, false);
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw new ValidationError([{ field: 'now', reason: 'must be a function returning epoch ms' }]);
  }
  const listener = options.onEvent;
  const resolved: ResolvedOptions = {
    connection: options.connection,
    now: options.now ?? Date.now,
    maxRateLimitRetries: options.maxRateLimitRetries ?? 5,
    emit: (event) => {
      if (listener === undefined) return;
      try {
        listener(event);
      } catch {
        // Events only observe: a failing listener never breaks scheduling.
      }
    },
    safetyMargin: options.safetyMargin ?? 0.04,
    paceWindowsUpToMs: options.paceWindowsUpToMs ?? 60_000,
    rateLimitBackoffMs: options.rateLimitBackoffMs ?? 1000,
    jobExpirationMs: options.jobExpirationMs ?? 60_000,
  };
  const limiters = new Map<string, { limiter: ProviderLimiterImpl; policy: string }>();
  let closed = false;
  return {
    get(id, key, policy) {
      checkText('id', id);
      checkText('key', key);
      if (closed) {
        throw new LeadpipeError('limiter_closed', {
          message: 'The limiter registry was disconnected',
          providerId: id,
        });
      }
      const mapKey = JSON.stringify([id, key]);
      const policyText = JSON.stringify(policy);
      const existing = limiters.get(mapKey);
      if (existing !== undefined) {
        if (existing.policy !== policyText) {
          throw new ConfigurationError('invalid_configuration', {
            message: `Limiter "${id}" for this key already exists with a different policy`,
            providerId: id,
          });
        }
        return existing.limiter;
      }
      const limiter = new ProviderLimiterImpl(id, key, policy, resolved);
      limiters.set(mapKey, { limiter, policy: policyText });
      return limiter;
    },
    async disconnect() {
      closed = true;
      const all = [...limiters.values()];
      limiters.clear();
      await Promise.all(all.map((entry) => entry.limiter.close()));
    },
  };
}

import type Bottleneck from 'bottleneck';
import type { Clock } from '../contracts/clock.js';
import { ApiCallError, LeadpipeError, ValidationError, type ValidationIssue } from '../contracts/errors.js';
import type { RateLimitState } from '../contracts/rate-limit.js';
import type { SafeEventBus } from '../events/safe-event-bus.js';
import { estimateWaitMs } from './estimate.js';
import type { NormalizedPolicy } from './policy.js';
import { AbortableTaskQueue, type QueuedTask } from './task-queue.js';
import type { LimiterEvent, LimiterEvents, LimiterStats, ProviderLimiter, ScheduleOptions } from './types.js';
import { rateLimitWaitMs } from './wait-policy.js';
import { countStart, lowerRemaining, planCorrections, type WindowState } from './windows.js';

/** The registry's settings every limiter of it shares (options after parsing, with defaults). */
export interface LimiterSettings {
  /** Redis connection for clustering, when given. */
  readonly connection: Bottleneck.RedisConnection | Bottleneck.IORedisConnection | undefined;
  /** The registry's clock. */
  readonly now: Clock;
  /** 429 re-runs of a task before its error propagates. */
  readonly maxRateLimitRetries: number;
  /** Where the limiters report. */
  readonly events: SafeEventBus<LimiterEvents>;
  /** Extra room for arrival jitter, as a fraction of the paced window. */
  readonly safetyMargin: number;
  /** Windows up to this length are paced; longer ones counted. */
  readonly paceWindowsUpToMs: number;
  /** Base wait after a 429 that says nothing. */
  readonly rateLimitBackoffMs: number;
  /** Clustering: a running task stops counting against `maxConcurrent` after this long. */
  readonly jobExpirationMs: number;
}

type Timer = ReturnType<typeof setTimeout>;

/**
 * What every limiter does the same way, whatever starts its tasks: the
 * waiting queue, pauses, running a task and owning its 429s, header
 * corrections of the local window counts, estimates and counters. A subclass
 * decides when waiting tasks start ({@link BaseLimiter.dispatch}).
 */
export abstract class BaseLimiter implements ProviderLimiter {
  /** The provider or CRM id. */
  readonly id: string;
  /** The credential key. */
  readonly key: string;
  /** The registry's settings. */
  protected readonly settings: LimiterSettings;
  /** Local counts of the policy's windows, shortest first. */
  protected readonly windows: WindowState[];
  /** The concurrency cap, when there is one. */
  protected readonly maxConcurrent: number | undefined;
  /** The waiting tasks. */
  protected readonly queue: AbortableTaskQueue;
  /** Set by `close`: nothing starts any more. */
  protected closed = false;
  /** Moving average of a task's run time, ms. */
  protected averageRunMs = 0;
  /** Counters for `stats`. */
  protected readonly counts = { scheduled: 0, running: 0, done: 0, rateLimited: 0, waitedMs: 0 };
  #sequence = 0;
  #pausedUntilMs: number | undefined;
  #pauseTimer: Timer | undefined;
  #lastStartAt: number | undefined;

  /**
   * @param id - provider or CRM id.
   * @param key - credential key.
   * @param policy - the validated policy.
   * @param windows - local counts of its windows.
   * @param settings - the registry's settings.
   */
  constructor(
    id: string,
    key: string,
    policy: NormalizedPolicy,
    windows: WindowState[],
    settings: LimiterSettings,
  ) {
    this.id = id;
    this.key = key;
    this.settings = settings;
    this.windows = windows;
    this.maxConcurrent = policy.maxConcurrent;
    this.queue = new AbortableTaskQueue((entry, signal) => {
      entry.reject(this.abortedError(signal));
      this.syncTimerRefs();
    });
  }

  /** Starts waiting tasks as the limiter allows; called when nothing is paused and the limiter is open. */
  protected abstract dispatch(now: number): void;

  /** Even spacing of starts, ms (0 when nothing is paced), for estimates. */
  protected abstract paceMs(): number;

  /** A window's limit changed by `delta` (already applied to its local count). */
  protected abstract limitAdopted(window: WindowState, delta: number): void;

  /** A window's remaining count was lowered to `remaining`; it refills fully at `restoreAt` when known. */
  protected abstract remainingLowered(
    window: WindowState,
    remaining: number,
    restoreAt: number | undefined,
  ): void;

  /** Timers besides the pause timer that should keep the process alive while tasks wait. */
  protected abstract waitTimers(): readonly (Timer | undefined)[];

  /** Releases what `dispatch` holds (timers, Bottleneck instances). */
  protected abstract release(): Promise<void>;

  schedule<T>(task: () => Promise<T>, options: ScheduleOptions = {}): Promise<T> {
    if (typeof task !== 'function') {
      return Promise.reject(new ValidationError([{ field: 'task', reason: 'must be a function' }]));
    }
    const weight = options.weight ?? 1;
    const priority = options.priority ?? 5;
    const issues = this.#checkScheduleOptions(weight, priority);
    if (issues.length > 0) return Promise.reject(new ValidationError(issues));
    if (this.closed) return Promise.reject(this.closedError());
    const signal = options.signal;
    if (signal?.aborted === true) return Promise.reject(this.abortedError(signal));
    return new Promise<T>((resolve, reject) => {
      const entry: QueuedTask = {
        task,
        weight,
        priority,
        sequence: this.#sequence++,
        signal,
        resolve: resolve as (value: unknown) => void,
        reject,
        enqueuedAt: this.settings.now(),
        rateLimitRetries: 0,
      };
      this.counts.scheduled += 1;
      this.#enqueue(entry);
      this.pump();
    });
  }

  update(state: RateLimitState): void {
    if (typeof state !== 'object' || state === null || !Array.isArray(state.windows)) {
      throw new ValidationError([{ field: 'state.windows', reason: 'must be an array of window states' }]);
    }
    const now = this.settings.now();
    const plan = planCorrections(this.windows, state, now);
    for (const correction of plan.corrections) {
      const window = correction.window;
      if (correction.kind === 'limit') {
        const delta = correction.limit - window.limit;
        if (delta === 0) continue;
        window.limit = correction.limit;
        this.limitAdopted(window, delta);
        continue;
      }
      const { lowered, restoreAt } = lowerRemaining(window, correction.remaining, now, correction.resetAt);
      if (lowered) this.remainingLowered(window, correction.remaining, restoreAt);
    }
    if (plan.pause !== undefined)
      this.pauseUntil(plan.pause.untilMs, `window "${plan.pause.window}" exhausted`);
  }

  pauseUntil(epochMs: number, reason: string): void {
    if (typeof epochMs !== 'number' || !Number.isFinite(epochMs)) {
      throw new ValidationError([
        { field: 'epochMs', reason: `must be a finite epoch time in ms, got ${epochMs}` },
      ]);
    }
    if (this.closed) return;
    const now = this.settings.now();
    this.refreshPause(now);
    if (epochMs <= now || (this.#pausedUntilMs !== undefined && epochMs <= this.#pausedUntilMs)) return;
    this.#pausedUntilMs = epochMs;
    this.emit({ type: 'paused', id: this.id, key: this.key, untilMs: epochMs, reason });
    this.#armPauseTimer(now);
  }

  pausedUntil(): number | undefined {
    this.refreshPause(this.settings.now());
    return this.#pausedUntilMs;
  }

  estimatedWaitMs(): number {
    const now = this.settings.now();
    this.refreshPause(now);
    return estimateWaitMs({
      now,
      pausedUntilMs: this.#pausedUntilMs,
      queuedWeights: this.queue.weights(),
      paceMs: this.paceMs(),
      lastStartAt: this.#lastStartAt,
      windows: this.windows,
      running: this.counts.running,
      maxConcurrent: this.maxConcurrent,
      averageRunMs: this.averageRunMs,
    });
  }

  stats(): LimiterStats {
    return { ...this.counts, queued: this.queue.length };
  }

  /** Rejects waiting tasks with `limiter_closed`, clears timers and releases the dispatcher. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.#pauseTimer !== undefined) clearTimeout(this.#pauseTimer);
    this.#pauseTimer = undefined;
    const waiting = this.queue.drain();
    const released = this.release();
    for (const entry of waiting) entry.reject(this.closedError());
    await released;
  }

  /** Starts what may start now: nothing while closed or paused (the pause timer calls back). */
  protected pump(): void {
    if (this.closed) return;
    const now = this.settings.now();
    this.refreshPause(now);
    if (this.#pausedUntilMs !== undefined) {
      if (this.#pauseTimer === undefined && this.queue.length > 0) this.#armPauseTimer(now);
      return;
    }
    this.dispatch(now);
  }

  /** Whether a pause is in force at `now` (ending it, with `resumed`, when it is over). */
  protected isPaused(now: number): boolean {
    this.refreshPause(now);
    return this.#pausedUntilMs !== undefined;
  }

  /** Runs a task taken from the queue; settles its caller, or queues it again after a 429. */
  protected run(entry: QueuedTask, startedAt: number): Promise<void> {
    this.counts.waitedMs += Math.max(0, startedAt - entry.enqueuedAt);
    this.counts.running += 1;
    this.#lastStartAt = startedAt;
    this.recordStart(entry.weight, startedAt);
    let promise: Promise<unknown>;
    try {
      promise = Promise.resolve(entry.task());
    } catch (error) {
      promise = Promise.reject(error);
    }
    return promise.then(
      (value) => {
        this.#finish(entry.weight, startedAt);
        this.counts.done += 1;
        entry.resolve(value);
      },
      (error: unknown) => {
        this.#finish(entry.weight, startedAt);
        this.#onTaskError(entry, error);
      },
    );
  }

  /** Counts a start in the local windows; a subclass may log more. */
  protected recordStart(weight: number, now: number): void {
    countStart(this.windows, weight, now);
  }

  /** A call of `weight` units that started ended (settled either way) at `now`; a subclass may log it. */
  protected recordFinish(_weight: number, _now: number): void {}

  /** Reports an event; listeners are isolated by the bus. */
  protected emit(event: LimiterEvent): void {
    const events = this.settings.events;
    switch (event.type) {
      case 'rateLimited':
        events.emit('limiter.rateLimited', event);
        return;
      case 'paused':
        events.emit('limiter.paused', event);
        return;
      case 'resumed':
        events.emit('limiter.resumed', event);
        return;
      case 'error':
        events.emit('limiter.error', event);
        return;
    }
  }

  /** Reports a background failure as an `error` event. */
  protected emitError(error: unknown): void {
    this.emit({ type: 'error', id: this.id, key: this.key, error });
  }

  /** The error of a task that meets a closed limiter. */
  protected closedError(): LeadpipeError {
    return new LeadpipeError('limiter_closed', {
      message: `Rate limiter for "${this.id}" was disconnected`,
      providerId: this.id,
    });
  }

  /** The error of a task whose signal aborted while it waited. */
  protected abortedError(signal: AbortSignal): ApiCallError {
    return new ApiCallError('aborted', {
      message: `Task for "${this.id}" was aborted while waiting for the rate limiter`,
      providerId: this.id,
      cause: signal.reason,
    });
  }

  /** Ends a pause that is over at `now`, with a `resumed` event. */
  protected refreshPause(now: number): void {
    if (this.#pausedUntilMs === undefined || now < this.#pausedUntilMs) return;
    this.#pausedUntilMs = undefined;
    if (this.#pauseTimer !== undefined) clearTimeout(this.#pauseTimer);
    this.#pauseTimer = undefined;
    this.emit({ type: 'resumed', id: this.id, key: this.key });
  }

  /** Timers keep the process alive only while tasks wait on them. */
  protected syncTimerRefs(): void {
    const waiting = this.queue.length > 0;
    for (const timer of [this.#pauseTimer, ...this.waitTimers()]) {
      if (timer === undefined || typeof timer !== 'object') continue;
      if (waiting) timer.ref();
      else timer.unref();
    }
  }

  #enqueue(entry: QueuedTask): void {
    this.queue.push(entry);
    this.syncTimerRefs();
  }

  #armPauseTimer(now: number): void {
    if (this.#pauseTimer !== undefined) clearTimeout(this.#pauseTimer);
    this.#pauseTimer = undefined;
    if (this.#pausedUntilMs === undefined) return;
    this.#pauseTimer = setTimeout(
      () => {
        this.#pauseTimer = undefined;
        const current = this.settings.now();
        this.refreshPause(current);
        if (this.#pausedUntilMs === undefined) this.pump();
        else this.#armPauseTimer(current);
      },
      Math.max(0, this.#pausedUntilMs - now),
    );
    this.syncTimerRefs();
  }

  #finish(weight: number, startedAt: number): void {
    this.counts.running -= 1;
    const now = this.settings.now();
    this.recordFinish(weight, now);
    const duration = Math.max(0, now - startedAt);
    this.averageRunMs = this.averageRunMs === 0 ? duration : this.averageRunMs * 0.8 + duration * 0.2;
  }

  #onTaskError(entry: QueuedTask, error: unknown): void {
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
        this.emitError(updateError);
      }
    }
    if (entry.rateLimitRetries >= this.settings.maxRateLimitRetries) {
      this.counts.done += 1;
      entry.reject(error);
      return;
    }
    entry.rateLimitRetries += 1;
    const now = this.settings.now();
    const waitMs = rateLimitWaitMs(error, entry.rateLimitRetries, now, this.settings.rateLimitBackoffMs);
    this.emit({ type: 'rateLimited', id: this.id, key: this.key, waitMs, attempt: entry.rateLimitRetries });
    this.pauseUntil(now + waitMs, 'rate_limited');
    if (entry.signal?.aborted === true) {
      this.counts.done += 1;
      entry.reject(this.abortedError(entry.signal));
      return;
    }
    entry.enqueuedAt = now;
    this.#enqueue(entry);
    this.pump();
  }

  #checkScheduleOptions(weight: number, priority: number): ValidationIssue[] {
    const issues: ValidationIssue[] = [];
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
}

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ApiCallError,
  ConfigurationError,
  createLimiterRegistry,
  type LimiterEvent,
  type LimiterRegistry,
  ValidationError,
} from '../src/index.js';
import { DirectLimiter } from '../src/limits/direct-limiter.js';
import { PacedLimiter } from '../src/limits/paced-limiter.js';

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);

function rateLimited(retryAfterMs?: number): ApiCallError {
  return new ApiCallError('rate_limited', { message: 'Too many requests', status: 429, retryAfterMs });
}

interface Deferred {
  promise: Promise<string>;
  resolve: (value: string) => void;
}

function deferred(): Deferred {
  let resolve: (value: string) => void = () => {};
  const promise = new Promise<string>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** Schedules `count` tasks and records when each starts, relative to T0. */
function startTimes(
  limiter: ReturnType<LimiterRegistry['get']>,
  count: number,
): { starts: number[]; results: Promise<number>[] } {
  const starts: number[] = [];
  const results = Array.from({ length: count }, (_, index) =>
    limiter.schedule(async () => {
      starts[index] = Date.now() - T0;
      return index;
    }),
  );
  return { starts, results };
}

/** Each start is at or just after (Bottleneck's event-loop yields) the expected time. */
function expectNear(actual: readonly number[], expected: readonly number[], slackMs = 10): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((value, index) => {
    expect(value).toBeGreaterThanOrEqual(expected[index]!);
    expect(value).toBeLessThanOrEqual(expected[index]! + slackMs);
  });
}

let registry: LimiterRegistry | undefined;

/** Disconnects while letting Bottleneck's zero-delay yields run under fake timers. */
async function closeRegistry(): Promise<void> {
  const closing = registry?.disconnect();
  registry = undefined;
  await vi.advanceTimersByTimeAsync(20);
  await closing;
}

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});

afterEach(async () => {
  await closeRegistry();
  vi.useRealTimers();
});

describe('limiter registry', () => {
  it('creates limiters lazily, one per (id, key), with no timer until the first schedule', async () => {
    registry = createLimiterRegistry();
    const first = registry.get('apollo', 'key-1', { perSecond: 2 });
    expect(vi.getTimerCount()).toBe(0);
    expect(registry.get('apollo', 'key-1', { perSecond: 2 })).toBe(first);
    expect(registry.get('apollo', 'key-2', { perSecond: 2 })).not.toBe(first);
    expect(first.id).toBe('apollo');
    expect(first.key).toBe('key-1');
    const result = first.schedule(async () => 'ok');
    await vi.advanceTimersByTimeAsync(10);
    await expect(result).resolves.toBe('ok');
  });

  it('rejects a different policy for an existing pair and bad policies with the field named', () => {
    registry = createLimiterRegistry();
    registry.get('apollo', 'k', { perMinute: 50 });
    expect(() => registry?.get('apollo', 'k', { perMinute: 60 })).toThrow(ConfigurationError);
    let caught: unknown;
    try {
      registry.get('clearbit', 'k', { perSecond: 0, windows: [{ name: '10s', limit: 5, intervalMs: -1 }] });
    } catch (error) {
      caught = error;
    }
    expect(ConfigurationError.isInstance(caught)).toBe(true);
    expect((caught as ConfigurationError).code).toBe('invalid_configuration');
    const fields = (caught as ConfigurationError).issues.map((issue) => issue.field);
    expect(fields).toEqual(['policy.perSecond', 'policy.windows.0.intervalMs']);
    expect(() => registry?.get('', 'k', {})).toThrow(/id/);
  });

  it('rejects bad registry options with each field named', () => {
    let caught: unknown;
    try {
      createLimiterRegistry({ safetyMargin: -1, maxRateLimitRetries: 1.5, now: 5 as never });
    } catch (error) {
      caught = error;
    }
    expect(ConfigurationError.isInstance(caught)).toBe(true);
    expect((caught as ConfigurationError).issues).toEqual([
      { field: 'now', reason: 'must be a function returning epoch ms' },
      { field: 'maxRateLimitRetries', reason: 'must be a whole number of at least 0, got 1.5' },
      { field: 'safetyMargin', reason: 'must be a number of at least 0, got -1' },
    ]);
  });

  it('runs a windowless in-memory policy on the direct limiter, anything else on the paced one', () => {
    registry = createLimiterRegistry();
    expect(registry.get('p', 'direct', { maxConcurrent: 2 })).toBeInstanceOf(DirectLimiter);
    expect(registry.get('p', 'none', {})).toBeInstanceOf(DirectLimiter);
    expect(registry.get('p', 'paced', { perDay: 5 })).toBeInstanceOf(PacedLimiter);
  });

  it('validates schedule options', async () => {
    registry = createLimiterRegistry();
    const limiter = registry.get('p', 'k', { perSecond: 2, maxConcurrent: 2 });
    await expect(limiter.schedule(async () => 1, { weight: 3 })).rejects.toMatchObject({
      code: 'validation_failed',
      issues: [
        { field: 'weight', reason: '3 exceeds maxConcurrent 2' },
        { field: 'weight', reason: '3 exceeds the "second" window limit 2' },
      ],
    });
    await expect(limiter.schedule(async () => 1, { priority: 12 })).rejects.toMatchObject({
      issues: [{ field: 'priority' }],
    });
  });
});

describe('windows', () => {
  it('paces evenly inside the window and makes the N+1th task wait for it', async () => {
    registry = createLimiterRegistry({ safetyMargin: 0 });
    const limiter = registry.get('p', 'k', { windows: [{ name: '10s', limit: 5, intervalMs: 10_000 }] });
    const { starts, results } = startTimes(limiter, 6);
    await vi.advanceTimersByTimeAsync(9_999);
    expect(starts).toHaveLength(5);
    expectNear(starts, [0, 2000, 4000, 6000, 8000]);
    await vi.advanceTimersByTimeAsync(1);
    await vi.advanceTimersByTimeAsync(10);
    await expect(Promise.all(results)).resolves.toEqual([0, 1, 2, 3, 4, 5]);
    expect(starts[5]! - starts[0]!).toBeGreaterThanOrEqual(10_000);
  });

  it('adds the safety margin to the pace', async () => {
    registry = createLimiterRegistry({ safetyMargin: 0.1 });
    const limiter = registry.get('p', 'k', { perSecond: 10 });
    const { starts, results } = startTimes(limiter, 3);
    await vi.advanceTimersByTimeAsync(1_000);
    await Promise.all(results);
    expectNear(starts, [0, 110, 220]);
  });

  it('enforces several windows at once: a counted hour window stops the burst at its limit', async () => {
    registry = createLimiterRegistry({ safetyMargin: 0 });
    const limiter = registry.get('apollo', 'k', { perSecond: 5, perHour: 8 });
    const { starts, results } = startTimes(limiter, 9);
    await vi.advanceTimersByTimeAsync(60_000);
    expectNear(starts, [0, 200, 400, 600, 800, 1000, 1200, 1400]);
    await vi.advanceTimersByTimeAsync(3_600_000 - 60_000 - 1);
    expect(starts).toHaveLength(8);
    await vi.advanceTimersByTimeAsync(500);
    await Promise.all(results);
    expect(starts[8]).toBeGreaterThanOrEqual(3_600_000);
    expect(starts[8]).toBeLessThan(3_600_500);
  });

  it('paces by the tightest short window: 15/s and 500/min paces at the minute rate', async () => {
    registry = createLimiterRegistry({ safetyMargin: 0 });
    const limiter = registry.get('hunter', 'k', { perSecond: 15, perMinute: 500 });
    const { starts, results } = startTimes(limiter, 3);
    await vi.advanceTimersByTimeAsync(1_000);
    await Promise.all(results);
    expectNear(starts, [0, 120, 240]);
  });

  it('counts but does not pace a policy with only long windows: a daily quota is spent as fast as allowed', async () => {
    registry = createLimiterRegistry({ safetyMargin: 0 });
    const limiter = registry.get('salesforce', 'k', { perDay: 3 });
    const { starts, results } = startTimes(limiter, 4);
    await vi.advanceTimersByTimeAsync(100);
    expectNear(starts.slice(0, 3), [0, 0, 0], 30);
    expect(starts).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(86_400_000);
    await Promise.all(results);
    expect(starts[3]).toBeGreaterThanOrEqual(86_400_000);
  });

  it('refills aligned windows on clock boundaries, not a full interval after first use', async () => {
    registry = createLimiterRegistry({ safetyMargin: 0 });
    vi.setSystemTime(T0 + 1_800_000); // half past the hour
    const aligned = registry.get('fixed', 'k', { perHour: 2, alignedWindows: true });
    const { starts, results } = startTimes(aligned, 3);
    await vi.advanceTimersByTimeAsync(1_800_000 - 1);
    expect(starts).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(60);
    await Promise.all(results);
    // The next whole hour (T0 + 1 h), where a window counted from first use would refill at T0 + 1.5 h.
    expect(starts[2]).toBeGreaterThanOrEqual(3_600_000);
    expect(starts[2]).toBeLessThan(3_600_000 + 60);
  });

  it('counts calls still running at an aligned boundary in the new window (they may reach the vendor after it)', async () => {
    registry = createLimiterRegistry({ safetyMargin: 0, paceWindowsUpToMs: 0 });
    vi.setSystemTime(T0 + 59_000);
    const limiter = registry.get('fixed', 'k', { perMinute: 2, alignedWindows: true });
    const slow = limiter.schedule(
      () => new Promise<string>((resolve) => setTimeout(() => resolve('slow'), 5_000)),
    );
    await vi.advanceTimersByTimeAsync(1_500); // past the boundary at T0 + 60 s, the slow call still running
    const { starts, results } = startTimes(limiter, 2);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(starts).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(60_000);
    await Promise.all([slow, ...results]);
    expect(starts[1]).toBeGreaterThanOrEqual(120_000);
  });

  it('counts a long call that ended after an aligned boundary, before a late refill, in the new window', async () => {
    // The event loop stalls across the boundary: the clock moves on, the refill timer has not run yet, and a call
    // started long before the boundary (far longer ago than the average call takes) ends in the stall. It may
    // have reached the vendor after the boundary, so the new window must start with it spent.
    registry = createLimiterRegistry({ safetyMargin: 0, paceWindowsUpToMs: 0 });
    vi.setSystemTime(T0 + 58_000);
    const limiter = registry.get('fixed', 'k', { perMinute: 5, alignedWindows: true });
    const quick = Array.from({ length: 3 }, () =>
      limiter.schedule(() => new Promise<string>((resolve) => setTimeout(() => resolve('quick'), 1))),
    );
    await vi.advanceTimersByTimeAsync(1_000); // T0 + 59 s
    await Promise.all(quick);
    const gate = deferred();
    let slowStarted = false;
    const slow = limiter.schedule(() => {
      slowStarted = true;
      return gate.promise;
    });
    await vi.advanceTimersByTimeAsync(10);
    expect(slowStarted).toBe(true);
    vi.setSystemTime(T0 + 60_010); // the stall: past the boundary, no timer has fired
    gate.resolve('slow');
    await slow;
    const { starts, results } = startTimes(limiter, 6);
    await vi.advanceTimersByTimeAsync(30_000);
    // Four, not five: the slow call may count in this minute at the vendor.
    expect(starts.filter((start) => start >= 60_000 && start < 120_000)).toHaveLength(4);
    await vi.advanceTimersByTimeAsync(60_000);
    await Promise.all(results);
  });

  it('charges the new aligned window for calls that held an old-window unit while waiting on the pace', async () => {
    registry = createLimiterRegistry({ safetyMargin: 0 });
    vi.setSystemTime(T0 + 3_600_000 - 1_000); // one second before the hour
    const limiter = registry.get('fixed', 'k', { perMinute: 1, perHour: 3, alignedWindows: true });
    const { starts, results } = startTimes(limiter, 6);
    await vi.advanceTimersByTimeAsync(4 * 3_600_000);
    await Promise.all(results);
    // However the calls straddle the boundary, no clock hour holds more than 3 starts.
    const perHour = new Map<number, number>();
    for (const start of starts)
      perHour.set(Math.floor(start / 3_600_000), (perHour.get(Math.floor(start / 3_600_000)) ?? 0) + 1);
    expect(Math.max(...perHour.values())).toBeLessThanOrEqual(3);
  });

  it('refills an aligned window only once the registry clock shows the boundary, even when timers run ahead of it', async () => {
    // The registry's clock falls 5 ms behind the timers once they are armed (an emulated clock can, and
    // Node's timers count from the event loop's cached time): the boundary timer fires while `now()`
    // still shows the old window.
    let lagMs = 0;
    const now = () => Date.now() - lagMs;
    registry = createLimiterRegistry({ safetyMargin: 0, now });
    vi.setSystemTime(T0 + 1_800_000);
    const limiter = registry.get('fixed', 'k', { perHour: 3, alignedWindows: true });
    const starts: number[] = [];
    const results = Array.from({ length: 9 }, () =>
      limiter.schedule(async () => {
        starts.push(now() - T0);
      }),
    );
    await vi.advanceTimersByTimeAsync(100);
    expect(starts).toHaveLength(3);
    lagMs = 5;
    await vi.advanceTimersByTimeAsync(3 * 3_600_000);
    await Promise.all(results);
    expect(starts).toHaveLength(9);
    // On the registry's clock (the vendor's), no hour holds more than 3 starts.
    const perHour = new Map<number, number>();
    for (const start of starts) {
      const hour = Math.floor(start / 3_600_000);
      perHour.set(hour, (perHour.get(hour) ?? 0) + 1);
    }
    expect([...perHour.entries()].sort(([a], [b]) => a - b)).toEqual([
      [0, 3],
      [1, 3],
      [2, 3],
    ]);
  });

  it('rejects a non-boolean alignedWindows with the field named', () => {
    registry = createLimiterRegistry();
    expect(() =>
      registry!.get('x', 'k', { perMinute: 1, alignedWindows: 'yes' as unknown as boolean }),
    ).toThrow(/alignedWindows: must be a boolean/);
  });

  it('caps concurrency at maxConcurrent', async () => {
    registry = createLimiterRegistry();
    const limiter = registry.get('p', 'k', { maxConcurrent: 2 });
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const started: number[] = [];
    const results = gates.map((gate, index) =>
      limiter.schedule(() => {
        started.push(index);
        return gate.promise;
      }),
    );
    await vi.advanceTimersByTimeAsync(100);
    expect(started).toEqual([0, 1]);
    expect(limiter.stats()).toMatchObject({ running: 2, queued: 2 });
    gates[1]!.resolve('b');
    await vi.advanceTimersByTimeAsync(100);
    expect(started).toEqual([0, 1, 2]);
    for (const gate of gates) gate.resolve('x');
    await vi.advanceTimersByTimeAsync(100);
    await expect(Promise.all(results)).resolves.toEqual(['x', 'b', 'x', 'x']);
    expect(limiter.stats()).toMatchObject({ scheduled: 4, running: 0, queued: 0, done: 4 });
  });

  it('runs higher priorities first', async () => {
    registry = createLimiterRegistry({ safetyMargin: 0 });
    const limiter = registry.get('p', 'k', { perSecond: 1 });
    const order: string[] = [];
    const task = (name: string) => async () => {
      order.push(name);
    };
    const firstDone = limiter.schedule(task('first'));
    await vi.advanceTimersByTimeAsync(10);
    const all = [
      firstDone,
      limiter.schedule(task('low'), { priority: 8 }),
      limiter.schedule(task('high'), { priority: 1 }),
    ];
    await vi.advanceTimersByTimeAsync(3_000);
    await Promise.all(all);
    expect(order).toEqual(['first', 'high', 'low']);
  });
});

describe('429 handling', () => {
  it('honours Retry-After exactly and pauses the whole limiter meanwhile', async () => {
    const events: LimiterEvent[] = [];
    registry = createLimiterRegistry({ onEvent: (event) => events.push(event) });
    const limiter = registry.get('clearbit', 'k', { maxConcurrent: 1 });
    const calls: number[] = [];
    const first = limiter.schedule(async () => {
      calls.push(Date.now() - T0);
      if (calls.length === 1) throw rateLimited(3_000);
      return 'done';
    });
    const otherCalls: number[] = [];
    const second = limiter.schedule(async () => {
      otherCalls.push(Date.now() - T0);
      return 'other';
    });
    await vi.advanceTimersByTimeAsync(2_999);
    expect(calls).toHaveLength(1);
    const firstCall = calls[0]!;
    expect(otherCalls).toEqual([]);
    expect(limiter.pausedUntil()).toBe(T0 + firstCall + 3_000);
    await vi.advanceTimersByTimeAsync(firstCall + 10);
    await expect(first).resolves.toBe('done');
    await expect(second).resolves.toBe('other');
    expectNear(calls, [firstCall, firstCall + 3_000]);
    expectNear(otherCalls, [firstCall + 3_000]);
    expect(events).toEqual([
      { type: 'rateLimited', id: 'clearbit', key: 'k', waitMs: 3_000, attempt: 1 },
      { type: 'paused', id: 'clearbit', key: 'k', untilMs: T0 + firstCall + 3_000, reason: 'rate_limited' },
      { type: 'resumed', id: 'clearbit', key: 'k' },
    ]);
    expect(limiter.stats()).toMatchObject({ rateLimited: 1, done: 2 });
  });

  it('waits for the reset the 429 reports when there is no Retry-After', async () => {
    registry = createLimiterRegistry();
    const limiter = registry.get('p', 'k', {});
    const calls: number[] = [];
    const result = limiter.schedule(async () => {
      calls.push(Date.now() - T0);
      if (calls.length === 1) {
        throw new ApiCallError('rate_limited', {
          message: 'slow down',
          rateLimit: { windows: [{ name: 'minute', remaining: 0, resetAt: T0 + 42_000 }] },
        });
      }
      return 'ok';
    });
    await vi.advanceTimersByTimeAsync(41_999);
    expectNear(calls, [0]);
    await vi.advanceTimersByTimeAsync(20);
    await expect(result).resolves.toBe('ok');
    expectNear(calls, [0, 42_000]);
  });

  it('re-runs up to maxRateLimitRetries, then propagates the 429 with growing backoff', async () => {
    registry = createLimiterRegistry({ maxRateLimitRetries: 2, rateLimitBackoffMs: 1_000 });
    const limiter = registry.get('p', 'k', {});
    const error = rateLimited();
    const calls: number[] = [];
    const result = limiter.schedule(async () => {
      calls.push(Date.now() - T0);
      throw error;
    });
    const outcome = result.catch((caught: unknown) => caught);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await outcome).toBe(error);
    expectNear(calls, [0, 1_000, 3_000]);
    expect(limiter.stats()).toMatchObject({ rateLimited: 3, done: 1, queued: 0 });
  });

  it('lets any other error propagate untouched, without re-running', async () => {
    registry = createLimiterRegistry();
    const limiter = registry.get('p', 'k', {});
    const error = new ApiCallError('server_error', { message: 'boom', status: 503 });
    let calls = 0;
    const outcome = limiter
      .schedule(async () => {
        calls += 1;
        throw error;
      })
      .catch((caught: unknown) => caught);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await outcome).toBe(error);
    expect(calls).toBe(1);
    expect(limiter.stats().rateLimited).toBe(0);
  });
});

describe('corrections from headers', () => {
  it('pauses until the reset when a window reports remaining 0', async () => {
    const events: LimiterEvent[] = [];
    registry = createLimiterRegistry({ onEvent: (event) => events.push(event) });
    const limiter = registry.get('p', 'k', { perMinute: 600 });
    limiter.update({ windows: [{ name: 'minute', limit: 600, remaining: 0, resetAt: T0 + 20_000 }] });
    expect(limiter.pausedUntil()).toBe(T0 + 20_000);
    expect(limiter.estimatedWaitMs()).toBe(20_000);
    const { starts, results } = startTimes(limiter, 1);
    await vi.advanceTimersByTimeAsync(19_999);
    expect(starts).toEqual([]);
    await vi.advanceTimersByTimeAsync(20);
    await Promise.all(results);
    expectNear(starts, [20_000]);
    expect(events[0]).toEqual({
      type: 'paused',
      id: 'p',
      key: 'k',
      untilMs: T0 + 20_000,
      reason: 'window "minute" exhausted',
    });
  });

  it('lowers a window when the vendor reports fewer remaining than counted (before and after first use)', async () => {
    registry = createLimiterRegistry({ safetyMargin: 0 });
    const before = registry.get('p', 'before', { perSecond: 10, perHour: 100 });
    before.update({ windows: [{ name: 'hourly', remaining: 2 }] });
    const early = startTimes(before, 3);
    const after = registry.get('p', 'after', { perSecond: 10, perHour: 100 });
    const firstAfter = after.schedule(async () => 'first');
    await vi.advanceTimersByTimeAsync(20);
    await firstAfter;
    after.update({ windows: [{ name: '1h', remaining: 1 }] });
    const late = startTimes(after, 2);
    await vi.advanceTimersByTimeAsync(60_000);
    expectNear(early.starts, [0, 100]);
    expect(late.starts).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(3_600_000);
    await Promise.all([...early.results, ...late.results]);
    expect(early.starts[2]).toBeGreaterThanOrEqual(3_600_000);
    expect(late.starts[1]).toBeGreaterThanOrEqual(3_600_000);
  });

  it('adopts a reported limit that differs from the declared one', async () => {
    registry = createLimiterRegistry({ safetyMargin: 0 });
    const limiter = registry.get('p', 'k', { perSecond: 10 });
    limiter.update({ windows: [{ name: 'second', limit: 4 }] });
    const { starts, results } = startTimes(limiter, 3);
    await vi.advanceTimersByTimeAsync(1_000);
    await Promise.all(results);
    expectNear(starts, [0, 250, 500]);
    expect(() => limiter.update({ windows: 'x' } as never)).toThrow(ValidationError);
  });
});

describe('adopted limits', () => {
  it('never lets more than the (adopted) limit start in any rolling window, whatever the grid says', async () => {
    registry = createLimiterRegistry({ safetyMargin: 0 });
    const limiter = registry.get('p', 'k', { perSecond: 10 });
    const starts: number[] = [];
    const schedule = () =>
      limiter.schedule(async () => {
        starts.push(Date.now() - T0);
      });
    const early = Array.from({ length: 5 }, schedule);
    await vi.advanceTimersByTimeAsync(450);
    expectNear(starts, [0, 100, 200, 300, 400]);
    // The vendor says the limit is 5 per second: five already started in this second.
    limiter.update({ windows: [{ name: 'second', limit: 5 }] });
    const late = Array.from({ length: 2 }, schedule);
    await vi.advanceTimersByTimeAsync(3_000);
    await Promise.all([...early, ...late]);
    expect(starts[5]! - starts[0]!).toBeGreaterThanOrEqual(1_000);
    expect(starts[6]! - starts[1]!).toBeGreaterThanOrEqual(1_000);
  });
});

describe('pauses, aborts and estimates', () => {
  it('pauseUntil holds every task until then and never shortens a pause', async () => {
    registry = createLimiterRegistry();
    const limiter = registry.get('hubspot', 'portal-1', { perSecond: 100 });
    limiter.pauseUntil(T0 + 5_000, 'quota_exceeded');
    limiter.pauseUntil(T0 + 1_000, 'rate_limited');
    expect(limiter.pausedUntil()).toBe(T0 + 5_000);
    const { starts, results } = startTimes(limiter, 2);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(starts).toEqual([]);
    expect(limiter.estimatedWaitMs()).toBeGreaterThanOrEqual(1);
    await vi.advanceTimersByTimeAsync(100);
    await Promise.all(results);
    expectNear([starts[0]!], [5_000]);
    expect(limiter.pausedUntil()).toBeUndefined();
    expect(() => limiter.pauseUntil(Number.NaN, 'x')).toThrow(/epochMs/);
  });

  it('removes an aborted queued task and rejects it with ApiCallError aborted', async () => {
    registry = createLimiterRegistry();
    const limiter = registry.get('p', 'k', { maxConcurrent: 1 });
    const gate = deferred();
    const first = limiter.schedule(() => gate.promise);
    const controller = new AbortController();
    let abortedRan = false;
    const aborted = limiter
      .schedule(
        async () => {
          abortedRan = true;
        },
        { signal: controller.signal },
      )
      .catch((error: unknown) => error);
    const third = limiter.schedule(async () => 'third');
    await vi.advanceTimersByTimeAsync(10);
    expect(limiter.stats().queued).toBe(2);
    controller.abort();
    const error = await aborted;
    expect(ApiCallError.isInstance(error) && error.code).toBe('aborted');
    expect(limiter.stats().queued).toBe(1);
    gate.resolve('first');
    await vi.advanceTimersByTimeAsync(10);
    await expect(first).resolves.toBe('first');
    await expect(third).resolves.toBe('third');
    expect(abortedRan).toBe(false);
    const already = AbortSignal.abort();
    await expect(limiter.schedule(async () => 1, { signal: already })).rejects.toMatchObject({
      code: 'aborted',
    });
  });

  it('estimates the wait from the queue and the pace', async () => {
    registry = createLimiterRegistry({ safetyMargin: 0 });
    const limiter = registry.get('p', 'k', { perSecond: 1 });
    expect(limiter.estimatedWaitMs()).toBe(0);
    const { results } = startTimes(limiter, 4);
    await vi.advanceTimersByTimeAsync(1);
    // One started at 0; three wait at 1 s spacing; a fourth would start at 4 s.
    expect(limiter.estimatedWaitMs()).toBeGreaterThanOrEqual(3_990);
    expect(limiter.estimatedWaitMs()).toBeLessThanOrEqual(4_000);
    await vi.advanceTimersByTimeAsync(5_000);
    await Promise.all(results);
    const { waitedMs } = limiter.stats();
    expect(waitedMs).toBeGreaterThanOrEqual(1_000 + 2_000 + 3_000);
    expect(waitedMs).toBeLessThanOrEqual(1_000 + 2_000 + 3_000 + 40);
  });

  it('isolates a throwing listener and rejects waiting tasks on disconnect', async () => {
    registry = createLimiterRegistry({
      onEvent: () => {
        throw new Error('listener broke');
      },
    });
    const limiter = registry.get('p', 'k', {});
    limiter.pauseUntil(T0 + 60_000, 'quota_exceeded');
    const waiting = limiter.schedule(async () => 1).catch((error: unknown) => error);
    await closeRegistry();
    expect(await waiting).toMatchObject({ code: 'limiter_closed' });
    expect(vi.getTimerCount()).toBe(0);
  });
});

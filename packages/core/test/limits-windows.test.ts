import { describe, expect, it } from 'vitest';
import { estimateWaitMs, type WaitEstimateInput } from '../src/limits/estimate.js';
import {
  countStart,
  createWindowStates,
  lowerRemaining,
  matchWindow,
  paceMs,
  planCorrections,
  rollWindow,
  type WindowState,
} from '../src/limits/windows.js';

function window(
  overrides: Partial<WindowState> & { name: string; intervalMs: number; limit: number },
): WindowState {
  return { aligned: false, used: 0, windowStart: undefined, ...overrides };
}

describe('window counts', () => {
  it('start unused, start on first use (or on the clock boundary when aligned) and roll whole intervals', () => {
    const [free, aligned] = createWindowStates([
      { name: 'second', limit: 5, intervalMs: 1_000, aligned: false },
      { name: 'minute', limit: 50, intervalMs: 60_000, aligned: true },
    ]);
    expect(free).toEqual({
      name: 'second',
      limit: 5,
      intervalMs: 1_000,
      aligned: false,
      used: 0,
      windowStart: undefined,
    });
    countStart([free!, aligned!], 2, 61_500);
    expect([free!.windowStart, free!.used]).toEqual([61_500, 2]);
    expect([aligned!.windowStart, aligned!.used]).toEqual([60_000, 2]);
    rollWindow(free!, 62_499);
    expect([free!.windowStart, free!.used]).toEqual([61_500, 2]);
    rollWindow(free!, 64_700);
    expect([free!.windowStart, free!.used]).toEqual([64_500, 0]);
  });

  it('pace evenly with the safety margin, and not at all without a paced window', () => {
    expect(paceMs(window({ name: 's', intervalMs: 1_000, limit: 50 }), 0.04)).toBeCloseTo(20.8, 10);
    expect(paceMs(undefined, 0.04)).toBe(0);
  });
});

describe('header corrections', () => {
  const windows = () => [
    window({ name: 'second', intervalMs: 1_000, limit: 10 }),
    window({ name: 'hour', intervalMs: 3_600_000, limit: 100 }),
  ];

  it('match reported windows by name, then by interval', () => {
    const list = windows();
    expect(matchWindow(list, 'hour')).toBe(list[1]);
    expect(matchWindow(list, '1h')).toBe(list[1]);
    expect(matchWindow(list, 'hourly')).toBe(list[1]);
    expect(matchWindow(list, 'day')).toBeUndefined();
  });

  it('plan a pause until the latest reset of an exhausted window, a new limit, then the remaining count', () => {
    const list = windows();
    const plan = planCorrections(
      list,
      {
        windows: [
          { name: 'second', limit: 4, remaining: 2.7 },
          { name: 'day', remaining: 0, resetAt: 50_000 },
          { name: 'hourly', remaining: 0, resetAt: 20_000 },
          { name: 'minute', remaining: 0 },
        ],
        retryAfterMs: 1_000,
      },
      10_000,
    );
    expect(plan.pause).toEqual({ untilMs: 50_000, window: 'day' });
    expect(plan.corrections).toEqual([
      { kind: 'limit', window: list[0], limit: 4 },
      { kind: 'remaining', window: list[0], remaining: 2, resetAt: undefined },
      { kind: 'remaining', window: list[1], remaining: 0, resetAt: 20_000 },
    ]);
    // A window at 0 without its own reset pauses for the report's Retry-After.
    expect(
      planCorrections(list, { windows: [{ name: 'minute', remaining: 0 }], retryAfterMs: 1_000 }, 10_000)
        .pause,
    ).toEqual({
      untilMs: 11_000,
      window: 'minute',
    });
  });

  it('ignore limits and counts that are not usable numbers, and resets in the past', () => {
    const plan = planCorrections(
      windows(),
      {
        windows: [
          { name: 'second', limit: 0, remaining: -1, resetAt: 5_000 },
          { name: 'second', limit: 2.5, remaining: Number.POSITIVE_INFINITY },
          { name: 'hour', limit: 100, remaining: 0, resetAt: 9_000 },
        ],
      },
      10_000,
    );
    expect(plan.pause).toBeUndefined();
    expect(plan.corrections).toEqual([]);
    // A count read at or after its window's reset is stale: the window it counted is over, so it lowers nothing.
    const list = windows();
    const atBoundary = planCorrections(
      list,
      { windows: [{ name: 'second', remaining: 1, resetAt: 10_000 }] },
      10_000,
    );
    expect(atBoundary.corrections).toEqual([]);
    const before = planCorrections(
      list,
      { windows: [{ name: 'second', remaining: 1, resetAt: 10_001 }] },
      10_000,
    );
    expect(before.corrections).toEqual([
      { kind: 'remaining', window: list[0], remaining: 1, resetAt: 10_001 },
    ]);
  });

  it('lower the local count only when the vendor reports fewer remaining, moving to a known reset', () => {
    const hour = window({ name: 'hour', intervalMs: 3_600_000, limit: 100, used: 10, windowStart: 0 });
    expect(lowerRemaining(hour, 95, 1_000, undefined)).toEqual({ lowered: false, restoreAt: undefined });
    expect(hour.used).toBe(10);
    expect(lowerRemaining(hour, 40, 1_000, 1_800_000)).toEqual({ lowered: true, restoreAt: 1_800_000 });
    expect([hour.used, hour.windowStart]).toEqual([60, 1_800_000 - 3_600_000]);
    // A reset further away than one interval is not the window's: no restore, the start stays.
    const unused = window({ name: 'second', intervalMs: 1_000, limit: 10 });
    expect(lowerRemaining(unused, 3, 5_000, 9_000)).toEqual({ lowered: true, restoreAt: undefined });
    expect([unused.used, unused.windowStart]).toEqual([7, 5_000]);
  });
});

describe('wait estimate', () => {
  const base: WaitEstimateInput = {
    now: 10_000,
    pausedUntilMs: undefined,
    queuedWeights: [],
    paceMs: 0,
    lastStartAt: undefined,
    windows: [],
    running: 0,
    maxConcurrent: undefined,
    averageRunMs: 0,
  };

  it('is 0 for an idle limiter and the rest of a pause when paused', () => {
    expect(estimateWaitMs(base)).toBe(0);
    expect(estimateWaitMs({ ...base, pausedUntilMs: 12_500 })).toBe(2_500);
  });

  it('adds the queue at the pace after the next slot', () => {
    expect(estimateWaitMs({ ...base, paceMs: 1_000, lastStartAt: 9_800, queuedWeights: [1, 1, 1] })).toBe(
      3_800,
    );
  });

  it('waits for the reset (and whole intervals more) of a window the queue exhausts', () => {
    const hour = window({ name: 'hour', intervalMs: 3_600, limit: 3, used: 2, windowStart: 9_000 });
    // 1 left; 4 queued + this one need 5: the reset at 12 600, then one more interval.
    expect(estimateWaitMs({ ...base, windows: [hour], queuedWeights: [1, 1, 1, 1] })).toBe(2_600 + 3_600);
  });

  it('counts whole rounds of runs ahead under a concurrency cap', () => {
    expect(
      estimateWaitMs({ ...base, maxConcurrent: 2, running: 2, queuedWeights: [1, 1], averageRunMs: 300 }),
    ).toBe(600);
    expect(estimateWaitMs({ ...base, maxConcurrent: 2, running: 1, averageRunMs: 300 })).toBe(0);
  });
});

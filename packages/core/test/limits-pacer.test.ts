import Bottleneck from 'bottleneck';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BottleneckPacer } from '../src/limits/pacer.js';
import { createWindowStates, type WindowState } from '../src/limits/windows.js';

const T0 = Date.UTC(2026, 0, 1);

function counted(limit: number, intervalMs: number): WindowState {
  return createWindowStates([{ name: 'counted', limit, intervalMs, aligned: false }])[0]!;
}

function pacerFor(window: WindowState, errors: unknown[] = []): BottleneckPacer {
  return new BottleneckPacer({
    baseId: 'test',
    connection: undefined,
    windows: [window],
    pacingWindow: undefined,
    maxConcurrent: undefined,
    paceMs: 0,
    reportedRemaining: new Map(),
    jobExpirationMs: 60_000,
    onError: (error) => errors.push(error),
  });
}

/** Start times (ms after T0) of `count` one-unit jobs through the pacer's counted window. */
function startThroughPacer(pacer: BottleneckPacer, count: number, starts: number[]): Promise<void>[] {
  return Array.from({ length: count }, async () => {
    await pacer.takeCounted(1, [], () => false);
    starts.push(Date.now() - T0);
  });
}

/** Closes under fake timers (Bottleneck yields to the event loop while stopping). */
async function close(closing: Promise<unknown>): Promise<void> {
  await vi.advanceTimersByTimeAsync(20);
  await closing;
}

/** The second (from T0) each start fell in. */
const seconds = (starts: readonly number[]) => starts.map((at) => Math.floor(at / 1_000));

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('Bottleneck pacer (in memory)', () => {
  it("refills a window counted from first use when Bottleneck's own reservoir refresh would", async () => {
    // Reference: Bottleneck's refresh, with the heartbeat the pacer would have given it (1 s / 20).
    const reference = new Bottleneck({
      reservoir: 3,
      reservoirRefreshInterval: 1_000,
      reservoirRefreshAmount: 3,
      heartbeatInterval: 50,
    });
    const expected: number[] = [];
    const referenceJobs = Array.from({ length: 8 }, () =>
      reference.schedule(async () => {
        expected.push(Date.now() - T0);
      }),
    );
    const pacer = pacerFor(counted(3, 1_000));
    const actual: number[] = [];
    const jobs = startThroughPacer(pacer, 8, actual);
    await vi.advanceTimersByTimeAsync(3_000);
    await Promise.all([...referenceJobs, ...jobs]);
    expect(seconds(expected)).toEqual([0, 0, 0, 1, 1, 1, 2, 2]);
    expect(seconds(actual)).toEqual(seconds(expected));
    // Both refill on the second, give or take Bottleneck's own yields to the event loop.
    for (const [index, at] of actual.entries()) {
      expect(Math.abs(at - expected[index]!)).toBeLessThanOrEqual(10);
    }
    await close(Promise.all([reference.disconnect(), pacer.close()]));
  });

  it('keeps refilling after a limit is adopted (Bottleneck stops its refresh after updateSettings)', async () => {
    const window = counted(2, 1_000);
    const pacer = pacerFor(window);
    const starts: number[] = [];
    const first = startThroughPacer(pacer, 2, starts);
    await vi.advanceTimersByTimeAsync(10);
    await Promise.all(first);
    window.limit = 3;
    pacer.adoptLimit(window, 1, 0);
    const rest = startThroughPacer(pacer, 7, starts);
    await vi.advanceTimersByTimeAsync(3_000);
    await Promise.all(rest);
    // One unit from the adoption at once, then 3 per refill, each second.
    expect(seconds(starts)).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2]);
    expect(starts[2]).toBeLessThan(100);
    await close(pacer.close());
  });

  it('stops refilling when closed, leaving no timer behind', async () => {
    const pacer = pacerFor(counted(1, 1_000));
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    await close(pacer.close());
    expect(vi.getTimerCount()).toBe(0);
  });
});

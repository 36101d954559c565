import { describe, expect, it } from 'vitest';
import { MAX_GUARDED_LIMIT, RollingWindowGuard } from '../src/limits/rolling-window-guard.js';

/** Most starts (one per unit) in any half-open span `[t, t + span)`. */
function maxInSpan(starts: readonly number[], span: number): number {
  return Math.max(...starts.map((from) => starts.filter((at) => at >= from && at < from + span).length));
}

describe('rolling-window guard', () => {
  it('lets starts through on time while the last `limit` fit in the widened window', () => {
    const guard = new RollingWindowGuard(0);
    const window = { limit: 3, intervalMs: 1_000 };
    expect([0, 100, 200].map((clock) => guard.plan(window, clock, 1))).toEqual([0, 100, 200]);
    // The fourth start waits until the first is a full interval old.
    expect(guard.plan(window, 300, 1)).toBe(1_000);
    // A late timer may catch up with the pace: the fifth waits only for the second.
    expect(guard.plan(window, 1_050, 1)).toBe(1_100);
  });

  it('widens the window by the safety margin', () => {
    const guard = new RollingWindowGuard(0.1);
    const window = { limit: 2, intervalMs: 1_000 };
    guard.plan(window, 0, 1);
    guard.plan(window, 10, 1);
    expect(guard.plan(window, 20, 1)).toBe(1_100);
  });

  it('holds back bunched timers so no span of the window holds more than the limit', () => {
    const guard = new RollingWindowGuard(0);
    const window = { limit: 5, intervalMs: 1_000 };
    // A timer grid of 200 ms that fires late and then in bursts.
    const wanted = [
      0, 200, 400, 600, 800, 1_300, 1_300, 1_300, 1_400, 1_600, 1_800, 2_000, 2_900, 2_900, 2_900,
    ];
    const planned = wanted.map((clock) => guard.plan(window, clock, 1));
    for (const [index, at] of planned.entries()) expect(at).toBeGreaterThanOrEqual(wanted[index]!);
    expect(maxInSpan(planned, 1_000)).toBeLessThanOrEqual(5);
  });

  it('counts a weighted start once per unit', () => {
    const guard = new RollingWindowGuard(0);
    const window = { limit: 4, intervalMs: 1_000 };
    expect(guard.plan(window, 0, 3)).toBe(0);
    // Two more units: the first fits (4th unit), the second needs the first unit a full interval old.
    expect(guard.plan(window, 10, 2)).toBe(1_000);
  });

  it('follows an adopted (lower) limit at once', () => {
    const guard = new RollingWindowGuard(0);
    for (const clock of [0, 100, 200, 300, 400]) guard.plan({ limit: 10, intervalMs: 1_000 }, clock, 1);
    // The vendor says 5 per second: the sixth start waits for the first to age out.
    expect(guard.plan({ limit: 5, intervalMs: 1_000 }, 450, 1)).toBe(1_000);
  });

  it('does nothing without a paced window or above the guarded limit', () => {
    const guard = new RollingWindowGuard(0);
    expect(guard.plan(undefined, 5, 3)).toBe(5);
    const huge = { limit: MAX_GUARDED_LIMIT + 1, intervalMs: 1 };
    expect([0, 0, 0].map((clock) => guard.plan(huge, clock, 1))).toEqual([0, 0, 0]);
  });
});

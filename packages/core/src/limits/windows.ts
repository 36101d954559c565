import type { RateLimitState } from '../contracts/rate-limit.js';
import { type NormalizedWindow, windowNameToIntervalMs } from './policy.js';

/**
 * One window of a limiter as the limiter counts it locally (for estimates
 * and header corrections). The pacer enforces the window; this is its mirror.
 */
export interface WindowState {
  /** Name, for events and for matching header reports. */
  readonly name: string;
  /** Interval length, ms. */
  readonly intervalMs: number;
  /** Whether the window starts on clock boundaries. */
  readonly aligned: boolean;
  /** Requests allowed per interval (a reported limit replaces the declared one). */
  limit: number;
  /** Requests started in the current window. */
  used: number;
  /** Start of the current window, epoch ms; `undefined` before first use. */
  windowStart: number | undefined;
}

/** Fresh, unused window states for a policy's windows (same order). */
export function createWindowStates(windows: readonly NormalizedWindow[]): WindowState[] {
  return windows.map((window) => ({
    name: window.name,
    intervalMs: window.intervalMs,
    aligned: window.aligned,
    limit: window.limit,
    used: 0,
    windowStart: undefined,
  }));
}

/** Moves `window` to the interval holding `now`, emptying its count when it moved. */
export function rollWindow(window: WindowState, now: number): void {
  if (window.windowStart === undefined || now < window.windowStart + window.intervalMs) return;
  const elapsed = Math.floor((now - window.windowStart) / window.intervalMs);
  window.windowStart += elapsed * window.intervalMs;
  window.used = 0;
}

/** Counts a start of `weight` units at `now` in every window (an unused window starts now, or on its boundary). */
export function countStart(windows: readonly WindowState[], weight: number, now: number): void {
  for (const window of windows) {
    if (window.windowStart === undefined) {
      window.windowStart = window.aligned ? now - (now % window.intervalMs) : now;
    }
    rollWindow(window, now);
    window.used += weight;
  }
}

/**
 * The even spacing of the paced window, ms: `intervalMs / limit * (1 +
 * safetyMargin)`; 0 when nothing is paced.
 */
export function paceMs(window: WindowState | undefined, safetyMargin: number): number {
  if (window === undefined) return 0;
  return (window.intervalMs / window.limit) * (1 + safetyMargin);
}

/** One correction a header report asks for, in the order to apply them. */
type WindowCorrection =
  | {
      /** The vendor reports a different limit: adopt it. */
      readonly kind: 'limit';
      /** The window to correct. */
      readonly window: WindowState;
      /** The reported limit. */
      readonly limit: number;
    }
  | {
      /** The vendor reports how many requests are left. */
      readonly kind: 'remaining';
      /** The window to correct. */
      readonly window: WindowState;
      /** Requests left, a whole number of at least 0. */
      readonly remaining: number;
      /** When the vendor's window resets, epoch ms, if reported. */
      readonly resetAt: number | undefined;
    };

/** What a header report asks of a limiter: corrections to its windows, and a pause. */
export interface CorrectionPlan {
  /** Window corrections, in report order (a limit before the remaining count of the same window). */
  readonly corrections: readonly WindowCorrection[];
  /** Pause until this epoch ms because a window reports 0 remaining, with that window's name. */
  readonly pause: { readonly untilMs: number; readonly window: string } | undefined;
}

/** The window a reported name stands for: same name, else same interval (`1h` for `hour`). */
export function matchWindow(windows: readonly WindowState[], name: string): WindowState | undefined {
  return (
    windows.find((window) => window.name === name) ??
    windows.find((window) => window.intervalMs === windowNameToIntervalMs(name))
  );
}

/**
 * Reads a header report (pure): a window at 0 remaining with a reset ahead
 * (its own, else `now + retryAfterMs`) asks for a pause until the latest
 * such reset; a reported whole limit of at least 1 that differs is adopted; a
 * reported finite remaining count of at least 0 is passed on (floored).
 * Reported windows that match none of ours only count for the pause.
 */
export function planCorrections(
  windows: readonly WindowState[],
  state: RateLimitState,
  now: number,
): CorrectionPlan {
  const corrections: WindowCorrection[] = [];
  let pause: { untilMs: number; window: string } | undefined;
  for (const reported of state.windows) {
    const target = matchWindow(windows, reported.name);
    if (reported.remaining === 0) {
      const resetAt =
        reported.resetAt ?? (state.retryAfterMs === undefined ? undefined : now + state.retryAfterMs);
      if (
        resetAt !== undefined &&
        Number.isFinite(resetAt) &&
        resetAt > now &&
        resetAt > (pause?.untilMs ?? 0)
      ) {
        pause = { untilMs: resetAt, window: reported.name };
      }
    }
    if (target === undefined) continue;
    // Adopting a limit changes `target.limit` before its remaining count is read: plan with the new one.
    if (
      typeof reported.limit === 'number' &&
      Number.isInteger(reported.limit) &&
      reported.limit >= 1 &&
      reported.limit !== target.limit
    ) {
      corrections.push({ kind: 'limit', window: target, limit: reported.limit });
    }
    // A count whose window has already reset (a response that arrived or was read after the boundary) says
    // nothing of the window now: applying it would hold the new window to the old one's last few requests.
    const stale =
      reported.resetAt !== undefined && Number.isFinite(reported.resetAt) && reported.resetAt <= now;
    if (
      !stale &&
      typeof reported.remaining === 'number' &&
      Number.isFinite(reported.remaining) &&
      reported.remaining >= 0
    ) {
      corrections.push({
        kind: 'remaining',
        window: target,
        remaining: Math.floor(reported.remaining),
        resetAt: reported.resetAt,
      });
    }
  }
  return { corrections, pause };
}

/**
 * Applies a reported remaining count to the local mirror of `window` (the
 * window moves to the reported reset when it is known and within one
 * interval). Returns whether the count was lowered, and the reset at which the
 * window should get its full limit back (when known).
 */
export function lowerRemaining(
  window: WindowState,
  remaining: number,
  now: number,
  resetAt: number | undefined,
): { readonly lowered: boolean; readonly restoreAt: number | undefined } {
  rollWindow(window, now);
  const knownReset =
    resetAt !== undefined && Number.isFinite(resetAt) && resetAt > now && resetAt <= now + window.intervalMs;
  if (knownReset) window.windowStart = resetAt - window.intervalMs;
  else if (window.windowStart === undefined) window.windowStart = now;
  const counted = window.limit - window.used;
  if (remaining >= counted) return { lowered: false, restoreAt: undefined };
  window.used = window.limit - remaining;
  return { lowered: true, restoreAt: knownReset ? resetAt : undefined };
}

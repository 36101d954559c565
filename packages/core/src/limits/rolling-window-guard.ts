/** Largest paced-window limit the rolling-window guard keeps a log for; above it, starts are not held back. */
export const MAX_GUARDED_LIMIT = 10_000;

/** The paced window as the guard sees it at one start. */
export interface GuardedWindow {
  /** Starts allowed per interval (the current, possibly adopted, limit). */
  readonly limit: number;
  /** Interval length, ms. */
  readonly intervalMs: number;
}

/**
 * The rolling-window guard of the paced window (pure: no timers, no clock of
 * its own). Timers can fire late and then close together; a start is held
 * back until the start `limit` places earlier is `intervalMs * (1 +
 * safetyMargin)` old, so no rolling window of that length ever holds more
 * than `limit` starts, while a late timer may still catch up with the pace.
 * It keeps the planned start times of the last `limit` units, oldest first.
 */
export class RollingWindowGuard {
  readonly #starts: number[] = [];
  readonly #safetyMargin: number;

  /** @param safetyMargin - extra room, as a fraction of the window's interval. */
  constructor(safetyMargin: number) {
    this.#safetyMargin = safetyMargin;
  }

  /**
   * Plans a start of `weight` units wanted at `clock` (ms): returns the time
   * it may start, `clock` or later, and records it (once per unit).
   *
   * @param window - the paced window now, or `undefined` when nothing is paced.
   * @param clock - when the start is wanted, ms.
   * @param weight - units the start uses.
   */
  plan(window: GuardedWindow | undefined, clock: number, weight: number): number {
    if (window === undefined || window.limit > MAX_GUARDED_LIMIT) return clock;
    const span = window.intervalMs * (1 + this.#safetyMargin);
    const starts = this.#starts;
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
}

import { rollWindow, type WindowState } from './windows.js';

/** What {@link estimateWaitMs} reads of a limiter at one instant. */
export interface WaitEstimateInput {
  /** The current time, epoch ms. */
  readonly now: number;
  /** End of the pause in force, epoch ms. */
  readonly pausedUntilMs: number | undefined;
  /** Weights of the tasks waiting, in queue order. */
  readonly queuedWeights: readonly number[];
  /** Even spacing of the paced window, ms (0 when nothing is paced). */
  readonly paceMs: number;
  /** When the latest task started, epoch ms. */
  readonly lastStartAt: number | undefined;
  /** The local window counts (rolled to `now` as a side effect). */
  readonly windows: readonly WindowState[];
  /** Tasks running now. */
  readonly running: number;
  /** The concurrency cap, when there is one. */
  readonly maxConcurrent: number | undefined;
  /** Moving average of a task's run time, ms. */
  readonly averageRunMs: number;
}

/**
 * Estimated ms a task scheduled now would wait before starting (pure but for
 * rolling the window counts to `now`): the pause; the queue at the pace; any
 * window the queue would exhaust (until its reset, plus whole intervals);
 * and, with a concurrency cap, the runs ahead of it.
 */
export function estimateWaitMs(input: WaitEstimateInput): number {
  const { now, paceMs } = input;
  const pauseWait = input.pausedUntilMs === undefined ? 0 : input.pausedUntilMs - now;
  const ahead = input.queuedWeights.length;
  const aheadWeight = input.queuedWeights.reduce((sum, weight) => sum + weight, 0);
  let wait = pauseWait;
  if (paceMs > 0) {
    const nextSlot = input.lastStartAt === undefined ? 0 : Math.max(0, input.lastStartAt + paceMs - now);
    wait = Math.max(wait, nextSlot) + ahead * paceMs;
  }
  for (const window of input.windows) {
    rollWindow(window, now);
    if (window.windowStart === undefined) continue;
    const remaining = window.limit - window.used;
    const needed = aheadWeight + 1;
    if (needed > remaining) {
      const resetIn = window.windowStart + window.intervalMs - now;
      const extraWindows = Math.floor((needed - Math.max(remaining, 0) - 1) / window.limit);
      wait = Math.max(wait, resetIn + extraWindows * window.intervalMs);
    }
  }
  if (input.maxConcurrent !== undefined) {
    const excess = input.running + ahead + 1 - input.maxConcurrent;
    if (excess > 0) {
      wait = Math.max(wait, pauseWait + Math.ceil(excess / input.maxConcurrent) * input.averageRunMs);
    }
  }
  return Math.max(0, Math.round(wait));
}

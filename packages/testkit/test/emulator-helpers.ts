import type { EmulatorClock } from '../src/emulator/context.js';

/** A clock the test moves by hand; `sleep` advances it instead of waiting. */
export interface ManualClock extends EmulatorClock {
  advance(ms: number): void;
}

/** Build a {@link ManualClock} starting at `start` (a fixed instant, so windows align the same way every run). */
export function manualClock(start = Date.UTC(2026, 0, 5, 12, 0, 0)): ManualClock {
  let now = start;
  return {
    timeScale: 1,
    now: () => now,
    toRealMs: () => 0,
    sleep: async (ms) => {
      now += Math.max(0, ms);
    },
    advance: (ms) => {
      now += ms;
    },
  };
}

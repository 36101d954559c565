import type { EmulatorClock } from './context.js';

/** One fixed window: at most `limit` requests per `intervalMs` (emulated). */
export interface FixedWindow {
  /** Window name, such as `minute`. */
  readonly name: string;
  /** Requests allowed per interval. */
  readonly limit: number;
  /** Interval length in emulated ms. */
  readonly intervalMs: number;
}

/** The state of one window after a hit. */
export interface WindowUsage {
  /** Window name. */
  readonly name: string;
  /** Requests allowed per interval. */
  readonly limit: number;
  /** Requests counted in the current window, this one included when allowed. */
  readonly used: number;
  /** Requests left in the current window. */
  readonly remaining: number;
  /** Emulated epoch ms at which the window resets. */
  readonly resetAt: number;
}

/** The answer of {@link FixedWindowLimiter.hit}. */
export interface LimitDecision {
  /** Whether the request was counted and may proceed. */
  readonly allowed: boolean;
  /** Every window's usage. */
  readonly windows: readonly WindowUsage[];
  /** The first exhausted window, when not allowed. */
  readonly exceeded?: WindowUsage;
}

/** Fixed-window request counting on the emulated clock, as vendors enforce it. */
export interface FixedWindowLimiter {
  /** Count one request for `key` if every window has room; report the usage either way. */
  hit(key: string, windows: readonly FixedWindow[]): LimitDecision;
  /** Forget every count. */
  reset(): void;
}

/** Create a {@link FixedWindowLimiter}. Windows align to multiples of their interval since the epoch. */
export function createFixedWindowLimiter(clock: EmulatorClock): FixedWindowLimiter {
  const counts = new Map<string, { window: number; used: number }>();
  return {
    hit: (key, windows) => {
      const now = clock.now();
      const states = windows.map((window) => {
        const index = Math.floor(now / window.intervalMs);
        const id = `${key}|${window.name}`;
        let state = counts.get(id);
        if (state === undefined || state.window !== index) {
          state = { window: index, used: 0 };
          counts.set(id, state);
        }
        return { window, state, resetAt: (index + 1) * window.intervalMs };
      });
      const full = states.find(({ window, state }) => state.used >= window.limit);
      if (full === undefined) for (const { state } of states) state.used++;
      const usage = states.map(({ window, state, resetAt }) => ({
        name: window.name,
        limit: window.limit,
        used: state.used,
        remaining: Math.max(0, window.limit - state.used),
        resetAt,
      }));
      return {
        allowed: full === undefined,
        windows: usage,
        exceeded: full === undefined ? undefined : usage[states.indexOf(full)],
      };
    },
    reset: () => counts.clear(),
  };
}

import { parseOptions } from '@leadpipe/core/adapter-kit';
import { z } from 'zod';
import type { EmulatorClock, EmulatorContext, EmulatorCounters } from './context.js';

/** How many times faster than real time the emulated clock runs: a positive number. */
export const timeScaleSchema = z
  .number({ error: (issue) => `must be a positive number, got ${String(issue.input)}` })
  .positive({ error: (issue) => `must be a positive number, got ${String(issue.input)}` });

/** Options of {@link createEmulatorContext}. */
export interface EmulatorContextOptions {
  /** Seed for every deterministic choice. Default 1. */
  readonly seed?: number;
  /** How many times faster than real time the emulated clock runs. Default 1. */
  readonly timeScale?: number;
  /** Real clock to build on (ms). Default `Date.now`; inject one for tests with fake timers. */
  readonly realNow?: () => number;
}

/**
 * Mulberry32: a small, fast, seedable PRNG. Deterministic across platforms,
 * which `Math.random` is not.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A clock running `timeScale` times faster than `realNow`, starting at the real time.
 *
 * @throws ConfigurationError naming `timeScale` when it is not a positive number.
 */
export function createEmulatorClock(timeScale = 1, realNow: () => number = Date.now): EmulatorClock {
  parseOptions(z.object({ timeScale: timeScaleSchema }), { timeScale }, { name: 'createEmulatorClock' });
  const origin = realNow();
  return {
    timeScale,
    now: () => origin + (realNow() - origin) * timeScale,
    toRealMs: (emulatedMs) => emulatedMs / timeScale,
    sleep: (emulatedMs) =>
      new Promise((resolve) => {
        setTimeout(resolve, Math.max(0, emulatedMs / timeScale));
      }),
  };
}

/** In-memory counters. */
export function createCounters(): EmulatorCounters {
  const values = new Map<string, number>();
  return {
    increment: (name, by = 1) => {
      values.set(name, (values.get(name) ?? 0) + by);
    },
    get: (name) => values.get(name) ?? 0,
    snapshot: () => Object.fromEntries([...values.entries()].sort(([a], [b]) => a.localeCompare(b))),
    reset: () => values.clear(),
  };
}

/** Build the shared context vendor emulators are created with. */
export function createEmulatorContext(options: EmulatorContextOptions = {}): EmulatorContext {
  const seed = options.seed ?? 1;
  return {
    seed,
    clock: createEmulatorClock(options.timeScale ?? 1, options.realNow),
    counters: createCounters(),
    random: seededRandom(seed),
  };
}

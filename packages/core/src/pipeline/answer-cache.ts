import type { Cache } from '../contracts/cache.js';

/**
 * The enrichment engine's cache in a pipeline: the primary cache (memory or
 * Redis), then the result log of the run's checkpoint. The engine lives as
 * long as the pipeline, a checkpoint as long as a run: each run attaches
 * its checkpoint's `results` when it opens it and detaches them when it
 * closes it.
 */
export interface RunAnswerCache {
  /** The cache to give the engine: reads the primary then the attached log, writes both. */
  readonly cache: Cache;
  /** Attach a run's result log. Returns the function that detaches it. */
  attach(results: Cache): () => void;
  /** Answers the attached log served since it was attached (paid by an earlier run, not paid again). */
  reused(): number;
}

/** A {@link RunAnswerCache} over `primary`. */
export function createRunAnswerCache(primary: Cache): RunAnswerCache {
  let secondary: Cache | undefined;
  let reused = 0;
  return {
    cache: {
      async get(key) {
        const value = await primary.get(key);
        if (value !== undefined) return value;
        const logged = await secondary?.get(key);
        if (logged !== undefined) reused += 1;
        return logged;
      },
      async set(key, value, ttlMs) {
        await primary.set(key, value, ttlMs);
        await secondary?.set(key, value, ttlMs);
      },
      async delete(key) {
        await primary.delete(key);
        await secondary?.delete(key);
      },
    },
    reused: () => reused,
    attach(results) {
      secondary = results;
      reused = 0;
      return () => {
        if (secondary === results) secondary = undefined;
      };
    },
  };
}

import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import type { Cache } from '../contracts/cache.js';
import type { Clock } from '../contracts/clock.js';
import { parseOptions } from '../options/parse-options.js';

/** Options of {@link createMemoryCache}. */
export interface MemoryCacheOptions {
  /** Most entries kept; the least recently used go first. Default 50,000. */
  readonly maxEntries?: number;
  /** The clock entries expire by. Default: the process's monotonic clock (`performance.now`). */
  readonly now?: Clock;
}

const optionsSchema = z
  .object({
    maxEntries: z.number().int().positive().optional(),
    now: z
      .custom<Clock>((value) => typeof value === 'function', { message: 'must be a function' })
      .optional(),
  })
  .optional();

/**
 * The default {@link Cache}: an in-process LRU with a TTL per entry, on
 * `lru-cache`. Memory is bounded by `maxEntries`. Not shared between
 * processes: implement `Cache` over Redis or a database for that.
 *
 * A `set` with a TTL of zero or less stores nothing and removes what `key`
 * held: the value expired as it was written.
 *
 * @throws ConfigurationError (`invalid_configuration`) naming the option when `maxEntries` or `now` is invalid.
 */
export function createMemoryCache(options: MemoryCacheOptions = {}): Cache {
  const parsed = parseOptions(optionsSchema, options, { name: 'createMemoryCache' }) ?? {};
  const clock = parsed.now;
  const lru = new LRUCache<string, { value: unknown }>({
    max: parsed.maxEntries ?? 50_000,
    ttlAutopurge: false,
    // lru-cache caches "now" for `ttlResolution` ms of real time; an injected clock is read every time.
    ...(clock === undefined ? {} : { perf: { now: clock }, ttlResolution: 0 }),
  });
  return {
    get: async (key) => lru.get(key)?.value,
    set: async (key, value, ttlMs) => {
      if (ttlMs > 0) lru.set(key, { value }, { ttl: ttlMs });
      else lru.delete(key);
    },
    delete: async (key) => {
      lru.delete(key);
    },
  };
}

import { LRUCache } from 'lru-cache';
import type { Cache } from '../contracts/cache.js';

/** Options of {@link createMemoryCache}. */
export interface MemoryCacheOptions {
  /** Most entries kept; the least recently used go first. Default 50,000. */
  readonly maxEntries?: number;
}

/**
 * The default {@link Cache}: an in-process LRU with a TTL per entry, on
 * `lru-cache`. Memory is bounded by `maxEntries`. Not shared between
 * processes: implement `Cache` over Redis or a database for that.
 */
export function createMemoryCache(options: MemoryCacheOptions = {}): Cache {
  const maxEntries = options.maxEntries ?? 50_000;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new RangeError(`maxEntries must be a positive integer, got ${maxEntries}`);
  }
  const lru = new LRUCache<string, { value: unknown }>({ max: maxEntries, ttlAutopurge: false });
  return {
    get: async (key) => lru.get(key)?.value,
    set: async (key, value, ttlMs) => {
      if (ttlMs > 0) lru.set(key, { value }, { ttl: ttlMs });
    },
    delete: async (key) => {
      lru.delete(key);
    },
  };
}

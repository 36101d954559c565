/**
 * A key-value cache for enrichment results. The default is an in-memory LRU
 * (`createMemoryCache()`); implement this for Redis or a database to share
 * results between processes. Values are JSON-serializable.
 */
export interface Cache {
  /** The value under `key`, or `undefined` when missing or expired. */
  get(key: string): Promise<unknown>;
  /** Store `value` under `key` for `ttlMs` milliseconds. */
  set(key: string, value: unknown, ttlMs: number): Promise<void>;
  /** Remove `key`. */
  delete(key: string): Promise<void>;
}

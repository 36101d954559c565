/**
 * @packageDocumentation
 * `@leadpipe/store-redis`: Redis (ioredis) for leadpipe. `createRedisCache`
 * is a `Cache` for enrichment answers shared by every process on one Redis;
 * `withRedisLeadCache` puts a read-through cache in front of any lead store
 * (`LeadStoreV1`), invalidated by the writes that go through it. Any
 * Redis-protocol service works, Upstash included (`rediss://` URLs).
 */
export type {
  RedisCacheErrorEvent,
  RedisCacheErrorListener,
  RedisConnectionOption,
} from './connection.js';
export {
  type RedisCachedLeadStore,
  type RedisLeadCacheControls,
  type RedisLeadCacheOptions,
  type RedisLeadCacheStats,
  withRedisLeadCache,
} from './lead-cache.js';
export { createRedisCache, type RedisCache, type RedisCacheOptions } from './redis-cache.js';

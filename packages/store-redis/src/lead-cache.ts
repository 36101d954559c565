import { createHash } from 'node:crypto';
import {
  emailIdentity,
  type Lead,
  type LeadEraseReport,
  type LeadStoreCount,
  type LeadStorePage,
  type LeadStoreQuery,
  type LeadStoreV1,
  parseOptions,
  traceCall,
} from '@leadpipe/core/adapter-kit';
import { z } from 'zod';
import {
  emailMatcher,
  listenerSchema,
  openRedisConnection,
  prefixSchema,
  type RedisCacheErrorListener,
  type RedisConnectionOption,
  redisOptionSchema,
  scanPrefix,
  timeoutSchema,
} from './connection.js';
import { CACHE_HIT, redisCall } from './telemetry.js';

/** Options of {@link withRedisLeadCache}. */
export interface RedisLeadCacheOptions {
  /**
   * A `redis://` or `rediss://` (TLS) URL, or an ioredis client. A URL opens
   * a client that `close()` closes; a client you give stays yours to close.
   */
  readonly redis: RedisConnectionOption;
  /**
   * How long a cached lead, page or count is served, in ms: also the bound on
   * staleness after a write that did not go through a wrapper on this Redis
   * and prefix. Default 60,000.
   */
  readonly ttlMs?: number;
  /**
   * Prefix of every key, such as `myapp:leads:`; end it with a separator.
   * Every process sharing a store must use the same one. Default `leadpipe:leads:`.
   */
  readonly prefix?: string;
  /** Longest wait for one Redis call, in ms, before the read goes to the store. Default 250. */
  readonly timeoutMs?: number;
  /** Cache `count` answers as well as pages. Default `true`. */
  readonly cacheCounts?: boolean;
  /** Told about every Redis failure the wrapper absorbed (the read went to the store, or an invalidation failed). */
  readonly onError?: RedisCacheErrorListener;
  /** Keys per `SCAN` step of `clear` and `erase`. Default 500. */
  readonly scanCount?: number;
}

/** Counters of a {@link RedisCachedLeadStore}, since it was made. */
export interface RedisLeadCacheStats {
  /** Reads answered from Redis. */
  readonly hits: number;
  /** Reads that went to the store (a miss, a stale entry or an uncacheable read). */
  readonly misses: number;
  /** Redis failures absorbed (each also told to `onError`). */
  readonly errors: number;
}

/** What {@link withRedisLeadCache} adds to the lead store it wraps. */
export interface RedisLeadCacheControls {
  /** Hit, miss and error counters of this wrapper. */
  stats(): RedisLeadCacheStats;
  /** Remove every cached lead, page and count under the prefix (by `SCAN`, never `KEYS`); resolves with the keys removed. */
  clear(): Promise<number>;
}

/** A `LeadStoreV1` with a Redis read-through cache in front, and the cache's controls. */
export type RedisCachedLeadStore = LeadStoreV1 & RedisLeadCacheControls;

const optionsSchema = z
  .object({
    redis: redisOptionSchema,
    ttlMs: z.number().int().min(1).max(2_147_483_647).optional(),
    prefix: prefixSchema.optional(),
    timeoutMs: timeoutSchema.optional(),
    cacheCounts: z.boolean().optional(),
    onError: listenerSchema.optional(),
    scanCount: z.number().int().min(1).max(100_000).optional(),
  })
  .strict();

/** The longest id cached: lead ids are UUIDs; anything much longer is not one and goes to the store. */
const MAX_CACHED_ID = 128;

/**
 * Sets a key only while the write generation is still the one read before
 * the store was asked: a write that landed in between (and bumped it) wins,
 * so a slow reader never puts back a lead that a writer just invalidated.
 */
const SET_IF_GENERATION = `if (redis.call('GET', KEYS[1]) or '0') == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`;

/** JSON with object keys sorted, so equal queries give equal text whatever the key order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return item;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(item).sort()) sorted[key] = (item as Record<string, unknown>)[key];
    return sorted;
  });
}

/** The hash keying a query's cached page, or `undefined` when the query cannot be keyed (left to the store to judge). */
function queryHash(query: unknown): string | undefined {
  try {
    const text = canonicalJson(query ?? {});
    if (text === undefined) return undefined;
    return createHash('sha256').update(text).digest('base64url');
  } catch {
    return undefined;
  }
}

/** A cached value: the generation it was read under and the value. */
interface Stamped<T> {
  readonly g: string;
  readonly v: T;
}

function parseStamped<T>(text: string | null | undefined): Stamped<T> | undefined {
  if (text === null || text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as Stamped<T>;
    return typeof parsed === 'object' && parsed !== null && typeof parsed.g === 'string' && 'v' in parsed
      ? parsed
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Put a Redis read-through cache in front of any {@link LeadStoreV1}: `get`
 * by id, `query` pages (keyed by a hash of the canonical query, cursor
 * included) and `count` answers are served from Redis for `ttlMs`, shared by
 * every process using the same Redis and prefix. Everything else goes
 * straight to the store.
 *
 * Invalidation, for writes through any wrapper on the same Redis and prefix:
 * - `upsert` deletes the cached leads of the ids it wrote;
 * - `import` and `retain` (whose ids are not reported) bump a lead
 *   generation that every cached lead is checked against;
 * - `erase` deletes the person's cached lead and every cached page and
 *   count, and reports the keys as `removed.leadCache`;
 * - every write bumps a write generation in Redis: a page or count is
 *   served only under the generation it was read in, so every process sees
 *   a write at its next read, and a lead read from the store is cached only
 *   when no write happened meanwhile.
 *
 * A write that does not go through a wrapper (another program writing to the
 * database, or a process with another prefix) is seen after at most `ttlMs`.
 *
 * When Redis fails or is slower than `timeoutMs`, reads go to the store and
 * writes still happen, and `onError` is told; a write whose invalidation
 * failed may be served stale for at most `ttlMs`. Misses (`undefined` from
 * `get`) are not cached. `close()` closes the store, and the Redis client
 * when the wrapper opened it from a URL.
 *
 * @throws ConfigurationError naming the option when an option is invalid.
 *
 * @example
 * ```ts
 * const store = await openPostgresStore({ connection: process.env.DATABASE_URL! });
 * const leads = withRedisLeadCache(store.leads, { redis: process.env.REDIS_URL!, ttlMs: 30_000 });
 * const lead = await leads.get(id); // the store the first time, Redis after
 * ```
 */
export function withRedisLeadCache(store: LeadStoreV1, options: RedisLeadCacheOptions): RedisCachedLeadStore {
  const parsed = parseOptions(
    optionsSchema.extend({
      store: z.custom<LeadStoreV1>(
        (value) =>
          typeof value === 'object' &&
          value !== null &&
          (value as LeadStoreV1).specificationVersion === 'v1' &&
          typeof (value as LeadStoreV1).get === 'function',
        'must be a LeadStoreV1',
      ),
    }),
    { ...options, store },
    { name: 'withRedisLeadCache' },
  );
  const prefix = parsed.prefix ?? 'leadpipe:leads:';
  const ttl = String(parsed.ttlMs ?? 60_000);
  const cacheCounts = parsed.cacheCounts ?? true;
  const scanCount = parsed.scanCount ?? 500;
  const connection = openRedisConnection(parsed.redis, parsed.timeoutMs ?? 250, parsed.onError);
  const writeGeneration = `${prefix}gen:write`;
  const leadGeneration = `${prefix}gen:lead`;
  const leadKey = (id: string) => `${prefix}lead:${id}`;
  const pageKey = (hash: string) => `${prefix}page:${hash}`;
  const countKey = (hash: string) => `${prefix}count:${hash}`;
  let hits = 0;
  let misses = 0;
  let errors = 0;

  const absorb = (operation: string, error: unknown) => {
    errors += 1;
    connection.report(operation, error);
  };

  /** Generations and one value, read in one round trip; `undefined` when Redis failed (reported). */
  const read = async (
    key: string,
  ): Promise<{ write: string; lead: string; text: string | null } | undefined> => {
    try {
      const replies = await connection.call('read', async (client) => {
        const results = await client.pipeline().get(writeGeneration).get(leadGeneration).get(key).exec();
        if (results === null) throw new Error('the pipeline was discarded');
        for (const [error] of results) if (error) throw error;
        return results.map(([, value]) => value as string | null);
      });
      return { write: replies[0] ?? '0', lead: replies[1] ?? '0', text: replies[2] ?? null };
    } catch (error) {
      absorb('read', error);
      return undefined;
    }
  };

  /** Store `value` under `key`, stamped, only if the write generation is still `write`. */
  const fill = async (key: string, write: string, stamp: string, value: unknown) => {
    try {
      const text = JSON.stringify({ g: stamp, v: value });
      await connection.call('set', (client) =>
        client.eval(SET_IF_GENERATION, 2, writeGeneration, key, write, text, ttl),
      );
    } catch (error) {
      absorb('set', error);
    }
  };

  /** A read through the cache: the stamped value when current, else `load` (cached when `cacheable`). */
  const through = <T>(
    operation: 'get' | 'query' | 'count',
    key: string,
    stampOf: (generations: { write: string; lead: string }) => string,
    load: () => Promise<T>,
    cacheable: (value: T) => boolean,
  ): Promise<T> =>
    traceCall(redisCall(`lead_cache_${operation}`), async (span) => {
      const found = await read(key);
      if (found !== undefined) {
        const stamp = stampOf(found);
        const entry = parseStamped<T>(found.text);
        if (entry !== undefined && entry.g === stamp) {
          hits += 1;
          span.setAttribute(CACHE_HIT, true);
          return entry.v;
        }
      }
      misses += 1;
      span.setAttribute(CACHE_HIT, false);
      const value = await load();
      if (found !== undefined && cacheable(value)) await fill(key, found.write, stampOf(found), value);
      return value;
    });

  /** After a write: delete `keys` and bump the generations named, in one transaction. */
  const invalidate = async (keys: readonly string[], bumpLeads: boolean) => {
    try {
      await connection.call('invalidate', async (client) => {
        const transaction = client.multi();
        if (keys.length > 0) transaction.del(...keys);
        transaction.incr(writeGeneration);
        if (bumpLeads) transaction.incr(leadGeneration);
        const results = await transaction.exec();
        for (const [error] of results ?? []) if (error) throw error;
      });
    } catch (error) {
      absorb('invalidate', error);
    }
  };

  /** Run a write; when it fails (it may have written part), invalidate everything before rethrowing. */
  const writing = async <T>(write: () => Promise<T>): Promise<T> => {
    try {
      return await write();
    } catch (error) {
      await invalidate([], true);
      throw error;
    }
  };

  const wrapped: RedisCachedLeadStore = {
    specificationVersion: 'v1',
    async upsert(leads) {
      const outcomes = await writing(() => store.upsert(leads));
      const ids = new Set<string>();
      for (const outcome of outcomes) if (outcome.id !== undefined) ids.add(outcome.id);
      if (Array.isArray(leads)) for (const lead of leads) if (typeof lead?.id === 'string') ids.add(lead.id);
      await invalidate([...ids].filter((id) => id.length <= MAX_CACHED_ID).map(leadKey), false);
      return outcomes;
    },
    get(id) {
      if (typeof id !== 'string' || id.length > MAX_CACHED_ID) {
        misses += 1;
        return store.get(id);
      }
      return through<Lead | undefined>(
        'get',
        leadKey(id),
        ({ lead }) => lead,
        () => store.get(id),
        (lead) => lead !== undefined,
      );
    },
    getByEmail: (email) => store.getByEmail(email),
    query(query?: LeadStoreQuery) {
      const hash = queryHash(query);
      if (hash === undefined) {
        misses += 1;
        return store.query(query);
      }
      return through<LeadStorePage>(
        'query',
        pageKey(hash),
        ({ write }) => write,
        () => store.query(query),
        () => true,
      );
    },
    count(query?: LeadStoreQuery) {
      const hash = cacheCounts ? queryHash({ where: query?.where, search: query?.search }) : undefined;
      if (hash === undefined) {
        misses += 1;
        return store.count(query);
      }
      return through<LeadStoreCount>(
        'count',
        countKey(hash),
        ({ write }) => write,
        () => store.count(query),
        () => true,
      );
    },
    export: (query) => store.export(query),
    async import(leads) {
      const report = await writing(() => store.import(leads));
      await invalidate([], true);
      return report;
    },
    async erase(email): Promise<LeadEraseReport> {
      let ids: string[] = [];
      try {
        const lead = await store.getByEmail(email);
        if (lead !== undefined) ids = [lead.id];
      } catch {
        // A bad email: the store's erase says why.
      }
      const report = await writing(() => store.erase(email));
      const matcher = emailMatcher(emailIdentity(email).slice('email:'.length));
      let removed = 0;
      try {
        if (ids.length > 0) {
          removed += await connection.call('erase', (client) => client.del(...ids.map(leadKey)));
        }
        await scanPrefix(connection, 'erase', prefix, scanCount, async (keys) => {
          const pages = keys.filter(
            (key) => key.startsWith(`${prefix}page:`) || key.startsWith(`${prefix}count:`),
          );
          const leadKeys = keys.filter((key) => key.startsWith(`${prefix}lead:`));
          const values =
            leadKeys.length === 0 ? [] : await connection.call('erase', (client) => client.mget(...leadKeys));
          const doomed = [...pages, ...leadKeys.filter((_, index) => matcher.test(values[index] ?? ''))];
          if (doomed.length > 0)
            removed += await connection.call('erase', (client) => client.unlink(...doomed));
        });
      } catch (error) {
        absorb('erase', error);
        await invalidate([], false);
        return report;
      }
      await invalidate([], false);
      return { ...report, removed: { ...report.removed, leadCache: removed } };
    },
    async retain(retention) {
      const report = await writing(() => store.retain(retention));
      await invalidate([], true);
      return report;
    },
    readOutbox: (options) => store.readOutbox(options),
    stats: () => ({ hits, misses, errors }),
    async clear() {
      let removed = 0;
      await scanPrefix(connection, 'clear', prefix, scanCount, async (keys) => {
        removed += await connection.call('clear', (client) => client.unlink(...keys));
      });
      return removed;
    },
    async close() {
      try {
        await store.close();
      } finally {
        await connection.close();
      }
    },
  };
  return wrapped;
}

import {
  type Cache,
  type Clock,
  emailIdentity,
  parseOptions,
  traceCall,
  ValidationError,
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

/** Options of {@link createRedisCache}. */
export interface RedisCacheOptions {
  /**
   * A `redis://` or `rediss://` (TLS) URL, or an ioredis client. A URL opens
   * a client that `close()` closes; a client you give stays yours to close.
   */
  readonly redis: RedisConnectionOption;
  /** Prefix of every key, such as `myapp:answers:`; end it with a separator. Default `leadpipe:cache:`. */
  readonly prefix?: string;
  /** Longest wait for one Redis call, in ms, before it counts as failed. Default 1,000. */
  readonly timeoutMs?: number;
  /**
   * When Redis fails or is too slow: `true` (the default) answers a miss for
   * `get` and skips `set` and `delete`, telling `onError`; `false` rejects
   * with an `ApiCallError` of provider `redis`.
   */
  readonly failOpen?: boolean;
  /** Told about every Redis failure (`failOpen`) and connection loss. */
  readonly onError?: RedisCacheErrorListener;
  /**
   * A clock entries also expire by, besides Redis's own `PX` expiry: for
   * tests with a fake clock. Default: none (Redis alone expires entries).
   */
  readonly now?: Clock;
  /** Keys per `SCAN` step of `clear` and `eraseEmail`. Default 500. */
  readonly scanCount?: number;
}

/** A {@link Cache} on Redis, with bounded maintenance by `SCAN`. */
export interface RedisCache extends Cache {
  /** Remove every key under the prefix (by `SCAN` and `UNLINK`, never `KEYS`); resolves with the number removed. */
  clear(): Promise<number>;
  /**
   * Remove every entry whose key or value names this email address (the
   * enrichment answers kept for the person), for an erasure request;
   * resolves with the number removed. Reads every entry under the prefix, a
   * batch at a time.
   */
  eraseEmail(email: string): Promise<number>;
  /** Close the Redis client when the cache opened it from a URL. */
  close(): Promise<void>;
}

const optionsSchema = z
  .object({
    redis: redisOptionSchema,
    prefix: prefixSchema.optional(),
    timeoutMs: timeoutSchema.optional(),
    failOpen: z.boolean().optional(),
    onError: listenerSchema.optional(),
    now: z.custom<Clock>((value) => typeof value === 'function', 'must be a function').optional(),
    scanCount: z.number().int().min(1).max(100_000).optional(),
  })
  .strict();

/** How an entry is stored: the value, and when it expires by the optional clock (`null` without one). */
interface Envelope {
  readonly e: number | null;
  readonly v: unknown;
}

/** The stored text of `value`, or a `ValidationError` naming `value` when JSON cannot hold it. */
function serializeEntry(value: unknown, expiresAt: number | null): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new ValidationError(
      [{ field: 'value', reason: `must be JSON-serializable (${(error as Error).message})` }],
      { cause: error },
    );
  }
  if (text === undefined) {
    throw new ValidationError([
      { field: 'value', reason: 'must be JSON-serializable (got undefined, a function or a symbol)' },
    ]);
  }
  return `{"e":${expiresAt === null ? 'null' : String(expiresAt)},"v":${text}}`;
}

/** The envelope stored as `text`, or `undefined` when it is not one of ours. */
function parseEntry(text: string): Envelope | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || !('v' in parsed) || !('e' in parsed))
      return undefined;
    const { e } = parsed as { e: unknown };
    if (e !== null && typeof e !== 'number') return undefined;
    return parsed as Envelope;
  } catch {
    return undefined;
  }
}

/**
 * A {@link Cache} on Redis (ioredis) for enrichment answers shared by every
 * process on the same Redis: `createLeadPipeline({ cache })` or the
 * enrichment engine's `cache`. Any Redis-protocol service works (Redis,
 * Valkey, Upstash over `rediss://`, ...).
 *
 * Entries expire in Redis itself (`SET ... PX ttl`); a TTL of zero or less
 * removes the key. Values are stored as JSON: what JSON cannot hold is
 * refused with a `ValidationError` on `value` (a `bigint`, a cycle,
 * `undefined`), and what it changes changes (a `Date` comes back as its ISO
 * text, `NaN` as `null`). Text under the prefix that is not an entry of this
 * cache reads as a miss.
 *
 * @throws ConfigurationError naming the option when an option is invalid.
 *
 * @example
 * ```ts
 * const cache = createRedisCache({ redis: process.env.REDIS_URL!, prefix: 'myapp:answers:' });
 * await cache.set('apollo:email:ada@acme.com', { status: 'matched' }, 86_400_000);
 * await cache.get('apollo:email:ada@acme.com'); // { status: 'matched' }
 * await cache.close();
 * ```
 */
export function createRedisCache(options: RedisCacheOptions): RedisCache {
  const parsed = parseOptions(optionsSchema, options, { name: 'createRedisCache' });
  const prefix = parsed.prefix ?? 'leadpipe:cache:';
  const clock = parsed.now;
  const failOpen = parsed.failOpen ?? true;
  const scanCount = parsed.scanCount ?? 500;
  const connection = openRedisConnection(parsed.redis, parsed.timeoutMs ?? 1_000, parsed.onError);

  /** Run a Redis call; on failure answer `fallback` (fail open, reported) or reject. */
  const guarded = async <T>(
    operation: string,
    work: Parameters<typeof connection.call<T>>[1],
    fallback: T,
  ) => {
    try {
      return await connection.call(operation, work);
    } catch (error) {
      if (!failOpen) throw error;
      connection.report(operation, error);
      return fallback;
    }
  };

  const readEntry = async (key: string): Promise<unknown> => {
    const text = await guarded('get', (client) => client.get(prefix + key), null);
    if (text === null) return undefined;
    const entry = parseEntry(text);
    if (entry === undefined) return undefined;
    if (clock !== undefined && entry.e !== null && entry.e <= clock()) return undefined;
    return entry.v;
  };
  const writeEntry = async (key: string, value: unknown, ttlMs: number): Promise<void> => {
    if (!(ttlMs > 0)) {
      await guarded('set', (client) => client.del(prefix + key), 0);
      return;
    }
    const px = Math.ceil(ttlMs);
    const text = serializeEntry(value, clock === undefined ? null : clock() + ttlMs);
    if (Number.isFinite(px)) {
      await guarded('set', (client) => client.set(prefix + key, text, 'PX', px), null);
    } else {
      await guarded('set', (client) => client.set(prefix + key, text), null);
    }
  };

  return {
    get: (key) =>
      traceCall(redisCall('cache_get'), async (span) => {
        const value = await readEntry(key);
        span.setAttribute(CACHE_HIT, value !== undefined);
        return value;
      }),
    set: (key, value, ttlMs) => traceCall(redisCall('cache_set'), () => writeEntry(key, value, ttlMs)),
    async delete(key) {
      await traceCall(redisCall('cache_delete'), () =>
        guarded('delete', (client) => client.del(prefix + key), 0),
      );
    },
    async clear() {
      let removed = 0;
      await scanPrefix(connection, 'clear', prefix, scanCount, async (keys) => {
        removed += await connection.call('clear', (client) => client.unlink(...keys));
      });
      return removed;
    },
    async eraseEmail(email) {
      const address = emailIdentity(email).slice('email:'.length);
      const matcher = emailMatcher(address);
      let removed = 0;
      await scanPrefix(connection, 'erase', prefix, scanCount, async (keys) => {
        const values = await connection.call('erase', (client) => client.mget(...keys));
        const doomed = keys.filter((key, index) => matcher.test(key) || matcher.test(values[index] ?? ''));
        if (doomed.length > 0)
          removed += await connection.call('erase', (client) => client.unlink(...doomed));
      });
      return removed;
    },
    close: () => connection.close(),
  };
}

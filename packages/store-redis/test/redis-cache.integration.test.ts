import { ApiCallError, ValidationError } from '@leadpipe/core/adapter-kit';
import { cacheContract } from '@leadpipe/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisCache, type RedisCache } from '../src/index.js';
import { PATIENT_MS, REDIS_URL, uniquePrefix } from './support.js';

const FILE_PREFIX = uniquePrefix('redis-cache');
/** A client of the test's own, to look at what landed in Redis. */
const redis = new Redis(REDIS_URL);
let opened = 0;
/** The prefix each cache of the contract suite was opened with, for `reopen`. */
const prefixes = new WeakMap<object, string>();

afterAll(async () => {
  const sweeper = createRedisCache({ timeoutMs: PATIENT_MS, redis, prefix: FILE_PREFIX });
  await sweeper.clear();
  await redis.quit();
});

describe('Redis cache: the Cache contract', () => {
  cacheContract(it, expect, {
    open: ({ now }) => {
      opened += 1;
      const prefix = `${FILE_PREFIX}contract${opened}:`;
      const cache = createRedisCache({ timeoutMs: PATIENT_MS, redis: REDIS_URL, prefix, now });
      prefixes.set(cache, prefix);
      return cache;
    },
    close: (cache) => (cache as RedisCache).close(),
    reopen: (cache, { now }) => {
      const prefix = prefixes.get(cache)!;
      const reopened = createRedisCache({ timeoutMs: PATIENT_MS, redis: REDIS_URL, prefix, now });
      prefixes.set(reopened, prefix);
      return reopened;
    },
  });
});

describe('Redis cache: what lands in Redis', () => {
  it('stores JSON under the prefix with a Redis expiry (PX) and lets Redis expire it', async () => {
    const prefix = `${FILE_PREFIX}px:`;
    const cache = createRedisCache({ timeoutMs: PATIENT_MS, redis, prefix });
    await cache.set('apollo:email:ada@acme.com', { status: 'matched', fields: { title: 'CTO' } }, 60_000);
    const ttl = await redis.pttl(`${prefix}apollo:email:ada@acme.com`);
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    const stored = JSON.parse((await redis.get(`${prefix}apollo:email:ada@acme.com`))!);
    expect(stored).toEqual({ e: null, v: { status: 'matched', fields: { title: 'CTO' } } });

    // Redis itself expires the entry: no clock of ours is involved.
    await cache.set('short', 'gone soon', 30);
    for (let turn = 0; turn < 200 && (await redis.exists(`${prefix}short`)) === 1; turn += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await redis.exists(`${prefix}short`)).toBe(0);
    expect(await cache.get('short')).toBe(undefined);

    await cache.set('apollo:email:ada@acme.com', 'x', 0);
    expect(await redis.exists(`${prefix}apollo:email:ada@acme.com`)).toBe(0);
  });

  it('refuses what JSON cannot hold with a ValidationError naming value, and reads foreign text as a miss', async () => {
    const prefix = `${FILE_PREFIX}values:`;
    const cache = createRedisCache({ timeoutMs: PATIENT_MS, redis, prefix });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const value of [10n, undefined, () => 1, Symbol('s'), cyclic]) {
      const failure = await cache.set('bad', value, 1_000).catch((error: unknown) => error);
      expect(ValidationError.isInstance(failure), String(value)).toBe(true);
      expect((failure as ValidationError).issues[0]?.field).toBe('value');
    }
    expect(await redis.exists(`${prefix}bad`)).toBe(0);
    for (const foreign of ['not json', '{"v":1}', '42', '{"e":"soon","v":1}']) {
      await redis.set(`${prefix}foreign`, foreign);
      expect(await cache.get('foreign'), foreign).toBe(undefined);
    }
    await cache.set('date', { at: new Date(Date.UTC(2026, 0, 2)) }, 1_000);
    expect(await cache.get('date')).toEqual({ at: '2026-01-02T00:00:00.000Z' });
  });

  it('clear removes its prefix only, with SCAN, even when the prefix holds glob characters', async () => {
    const prefix = `${FILE_PREFIX}glob*[x]?:`;
    // Unescaped, the pattern `glob*[x]?:*` would match this neighbour too.
    const neighbour = `${FILE_PREFIX}globbyx1:`;
    const cache = createRedisCache({ timeoutMs: PATIENT_MS, redis, prefix, scanCount: 7 });
    const other = createRedisCache({ timeoutMs: PATIENT_MS, redis, prefix: neighbour });
    for (let index = 0; index < 40; index += 1) await cache.set(`k${index}`, index, 60_000);
    await other.set('k1', 'kept', 60_000);
    expect(await cache.clear()).toBe(40);
    expect(await cache.get('k1')).toBe(undefined);
    expect(await other.get('k1')).toBe('kept');
    expect(await cache.clear()).toBe(0);
  });

  it('eraseEmail removes the entries whose key or value names the address, and no other', async () => {
    const prefix = `${FILE_PREFIX}erase:`;
    const cache = createRedisCache({ timeoutMs: PATIENT_MS, redis, prefix, scanCount: 3 });
    await cache.set('apollo:email:ada@acme.com', { status: 'matched' }, 60_000);
    await cache.set('clearbit:email:ADA@acme.com', { status: 'matched' }, 60_000);
    await cache.set('zoominfo:domain:acme.com', { people: [{ email: 'ada@acme.com' }] }, 60_000);
    await cache.set('apollo:email:nada@acme.com', { status: 'matched' }, 60_000);
    await cache.set('apollo:email:ada@acme.com.au', { status: 'matched' }, 60_000);
    await cache.set('apollo:email:bob@acme.com', { note: 'knows ada@acme.co' }, 60_000);
    expect(await cache.eraseEmail(' Ada@Acme.com ')).toBe(3);
    expect(await cache.get('apollo:email:ada@acme.com')).toBe(undefined);
    expect(await cache.get('clearbit:email:ADA@acme.com')).toBe(undefined);
    expect(await cache.get('zoominfo:domain:acme.com')).toBe(undefined);
    expect(await cache.get('apollo:email:nada@acme.com')).toEqual({ status: 'matched' });
    expect(await cache.get('apollo:email:ada@acme.com.au')).toEqual({ status: 'matched' });
    expect(await cache.get('apollo:email:bob@acme.com')).toEqual({ note: 'knows ada@acme.co' });
    await expect(cache.eraseEmail('not an email')).rejects.toSatisfy(ValidationError.isInstance);
  });

  it('shares entries between two caches (two processes) on the same prefix; a given client stays open', async () => {
    const prefix = `${FILE_PREFIX}shared:`;
    const first = createRedisCache({ timeoutMs: PATIENT_MS, redis: REDIS_URL, prefix });
    const second = createRedisCache({ timeoutMs: PATIENT_MS, redis, prefix });
    await first.set('hubspot:answer', { id: 7 }, 60_000);
    expect(await second.get('hubspot:answer')).toEqual({ id: 7 });
    await second.delete('hubspot:answer');
    expect(await first.get('hubspot:answer')).toBe(undefined);
    await first.close();
    await second.close();
    expect(await redis.ping()).toBe('PONG');
  });
});

describe('Redis cache: Redis answering with an error', () => {
  it('a reply error (a key of another type) is a server_error: a miss when failing open, a rejection when not', async () => {
    const prefix = `${FILE_PREFIX}wrongtype:`;
    await redis.lpush(`${prefix}listed`, 'not a string');
    const operations: string[] = [];
    const open = createRedisCache({
      timeoutMs: PATIENT_MS,
      redis,
      prefix,
      onError: (event) => operations.push(event.error.code),
    });
    const strict = createRedisCache({ timeoutMs: PATIENT_MS, redis, prefix, failOpen: false });
    expect(await open.get('listed')).toBe(undefined);
    expect(operations).toEqual(['server_error']);
    const failure = await strict.get('listed').catch((error: unknown) => error);
    expect(ApiCallError.isInstance(failure)).toBe(true);
    expect((failure as ApiCallError).code).toBe('server_error');
    expect((failure as ApiCallError).message).toContain('WRONGTYPE');
    await strict.set('listed', 'a string now', 60_000);
    expect(await strict.get('listed')).toBe('a string now');
  });
});

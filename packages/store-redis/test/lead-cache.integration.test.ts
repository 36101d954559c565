import { createLead, createMemoryLeadStore, type Lead, type LeadInput } from '@leadpipe/core';
import { leadStoreContract } from '@leadpipe/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type RedisCachedLeadStore, withRedisLeadCache } from '../src/index.js';
import { countingStore, PATIENT_MS, REDIS_URL, redisProxy, uniquePrefix } from './support.js';

const FILE_PREFIX = uniquePrefix('lead-cache');
/** A client of the test's own, shared by the wrappers of the behaviour tests (a given client is not closed by them). */
const redis = new Redis(REDIS_URL);
let opened = 0;
/** A fresh prefix per store: each `open` of the contract suite is a new, empty store. */
const nextPrefix = () => {
  opened += 1;
  return `${FILE_PREFIX}${opened}:`;
};

afterAll(async () => {
  const sweeper = withRedisLeadCache(createMemoryLeadStore(), {
    timeoutMs: PATIENT_MS,
    redis,
    prefix: FILE_PREFIX,
  });
  await sweeper.clear();
  await redis.quit();
});

describe('Redis lead cache in front of the memory store: the lead store contract', () => {
  leadStoreContract(it, expect, {
    open: (context) =>
      withRedisLeadCache(createMemoryLeadStore(context), {
        timeoutMs: PATIENT_MS,
        redis: REDIS_URL,
        prefix: nextPrefix(),
        ttlMs: 60_000,
      }),
    cleanup: async (store) => {
      // Each wrapper has closed its own client; sweep its keys with the shared one.
      const sweeper = withRedisLeadCache(createMemoryLeadStore(), {
        timeoutMs: PATIENT_MS,
        redis,
        prefix: FILE_PREFIX,
      });
      await sweeper.clear();
      void store;
    },
  });
});

const ada = () =>
  createLead({
    email: 'ada@acme.com',
    fullName: 'Ada Lovelace',
    title: 'VP of Engineering',
    company: { name: 'Acme', domain: 'acme.com', headcount: 120 },
  });
/** A lead made a minute from now: its values win under the `newest` merge policy. */
const later = (input: LeadInput) => createLead(input, { now: () => new Date(Date.now() + 60_000) });
const bob = () => createLead({ email: 'bob@acme.com', fullName: 'Bob Byte', title: 'Sales Manager' });

/** A counted memory store behind a wrapper on its own prefix. */
function setUp(ttlMs = 60_000) {
  const counted = countingStore();
  const prefix = nextPrefix();
  const leads = withRedisLeadCache(counted.store, { timeoutMs: PATIENT_MS, redis, prefix, ttlMs });
  return { ...counted, leads, prefix };
}

describe('Redis lead cache: hits', () => {
  it('a second get by id is answered by Redis: the store is not called', async () => {
    const { leads, calls, prefix } = setUp();
    const [outcome] = await leads.upsert([ada()]);
    const id = outcome!.id!;
    expect((await leads.get(id))?.email).toBe('ada@acme.com');
    expect(calls.get).toBe(1);
    expect((await leads.get(id))?.email).toBe('ada@acme.com');
    expect((await leads.get(id))?.fullName).toBe('Ada Lovelace');
    expect(calls.get, 'the store was read once').toBe(1);
    expect(leads.stats()).toMatchObject({ hits: 2, misses: 1, errors: 0 });
    const ttl = await redis.pttl(`${prefix}lead:${id}`);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('query pages and counts are cached per canonical query (key order does not matter, the cursor does)', async () => {
    const { leads, calls } = setUp();
    await leads.upsert([ada(), bob(), createLead({ email: 'cy@acme.com' })]);
    const first = await leads.query({ where: { emailDomain: 'acme.com' }, fields: ['email'], limit: 2 });
    expect(first.leads.map((lead) => lead.email)).toEqual(['ada@acme.com', 'bob@acme.com']);
    const again = await leads.query({ limit: 2, fields: ['email'], where: { emailDomain: 'acme.com' } });
    expect(again).toEqual(first);
    expect(calls.query, 'the same query in another key order is a hit').toBe(1);
    const second = await leads.query({
      where: { emailDomain: 'acme.com' },
      fields: ['email'],
      limit: 2,
      cursor: first.nextCursor!,
    });
    expect(second.leads.map((lead) => lead.email)).toEqual(['cy@acme.com']);
    expect(calls.query, 'another cursor is another page').toBe(2);
    await leads.query({ where: { emailDomain: 'acme.com' }, fields: ['email', 'title'], limit: 2 });
    expect(calls.query, 'other fields are another page').toBe(3);

    expect(await leads.count({ where: { emailDomain: 'acme.com' } })).toEqual({ count: 3, exact: true });
    expect(await leads.count({ where: { emailDomain: 'acme.com' }, limit: 5 })).toEqual({
      count: 3,
      exact: true,
    });
    expect(calls.count, 'count ignores members other than where and search').toBe(1);
  });

  it('bad queries reach the store, reject as it says, and are not cached', async () => {
    const { leads, calls } = setUp();
    await expect(leads.query({ limit: 101 })).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(leads.query({ limit: 101 })).rejects.toMatchObject({ code: 'validation_failed' });
    expect(calls.query).toBe(2);
  });

  it('a missing lead is not cached: the store is asked each time', async () => {
    const { leads, calls } = setUp();
    const missing = ada().id;
    expect(await leads.get(missing)).toBe(undefined);
    expect(await leads.get(missing)).toBe(undefined);
    expect(calls.get).toBe(2);
  });
});

describe('Redis lead cache: invalidation', () => {
  it('a write through one wrapper is seen by another wrapper (another process) at its next read', async () => {
    const shared = countingStore({ mergePolicy: 'newest' });
    const prefix = nextPrefix();
    // Two "processes": each its own Redis client and wrapper, in front of the same store.
    const one = withRedisLeadCache(shared.store, {
      timeoutMs: PATIENT_MS,
      redis: REDIS_URL,
      prefix,
      ttlMs: 60_000,
    });
    const two = withRedisLeadCache(shared.store, {
      timeoutMs: PATIENT_MS,
      redis: REDIS_URL,
      prefix,
      ttlMs: 60_000,
    });
    try {
      const lead = ada();
      await one.upsert([lead]);
      expect((await two.get(lead.id))?.title).toBe('VP of Engineering');
      expect((await one.get(lead.id))?.title, 'a hit for the other process too').toBe('VP of Engineering');
      expect(shared.calls.get).toBe(1);
      const page = await two.query({ where: { companyDomain: 'acme.com' }, fields: ['title'] });
      expect(page.leads.map((record) => record.title)).toEqual(['VP of Engineering']);
      expect(await one.query({ where: { companyDomain: 'acme.com' }, fields: ['title'] })).toEqual(page);
      expect(shared.calls.query).toBe(1);

      await one.upsert([later({ email: 'ada@acme.com', title: 'CTO', company: { domain: 'acme.com' } })]);
      expect((await two.get(lead.id))?.title, 'the lead was invalidated for the other process').toBe('CTO');
      const after = await two.query({ where: { companyDomain: 'acme.com' }, fields: ['title'] });
      expect(
        after.leads.map((record) => record.title),
        'and so were the pages',
      ).toEqual(['CTO']);
      expect(shared.calls.get).toBe(2);
      expect(shared.calls.query).toBe(2);
      expect((await two.count({ where: { companyDomain: 'acme.com' } })).count).toBe(1);
      await one.upsert([createLead({ email: 'eve@acme.com', company: { domain: 'acme.com' } })]);
      expect(
        (await two.count({ where: { companyDomain: 'acme.com' } })).count,
        'a new lead changes the count',
      ).toBe(2);
    } finally {
      await one.close();
      await two.close();
    }
  });

  it('import and retain invalidate every cached lead (their ids are not reported)', async () => {
    let time = Date.UTC(2026, 0, 1);
    const counted = countingStore({ now: () => time });
    const leads = withRedisLeadCache(counted.store, { timeoutMs: PATIENT_MS, redis, prefix: nextPrefix() });
    const lead = createLead({ email: 'ada@acme.com', title: 'Engineer' }, { now: () => new Date(time) });
    await leads.upsert([lead]);
    expect((await leads.get(lead.id))?.title).toBe('Engineer');
    time += 1_000;
    await leads.import([
      createLead({ email: 'ada@acme.com', title: 'Principal Engineer' }, { now: () => new Date(time) }),
    ]);
    expect((await leads.get(lead.id))?.title, 'after import').toBe('Principal Engineer');
    expect(await leads.get(lead.id)).toBeDefined();
    expect(counted.calls.get).toBe(2);
    time += 40 * 86_400_000;
    expect(await leads.retain({ archiveAfterDays: 30 })).toEqual({ archived: 1, purged: 0 });
    expect(await leads.get(lead.id), 'an archived lead is no longer served').toBe(undefined);
  });

  it('erase removes the person from Redis too (their lead and every cached page) and reports it', async () => {
    const { leads, prefix } = setUp();
    const person = ada();
    const other = bob();
    await leads.upsert([person, other]);
    await leads.get(person.id);
    await leads.get(other.id);
    await leads.query({ fields: ['title'] });
    await leads.count();
    const report = await leads.erase('ADA@acme.com');
    expect(report.removed.leads).toBe(1);
    expect(report.removed.leadCache, 'her lead, one page and one count').toBe(3);
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 100);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    const values = await Promise.all(keys.map((key) => redis.get(key)));
    expect(values.some((value) => value?.includes('ada@acme.com'))).toBe(false);
    expect(values.some((value) => value?.includes(person.id))).toBe(false);
    expect(keys, "bob's lead is still cached").toContain(`${prefix}lead:${other.id}`);
    expect(await leads.get(person.id)).toBe(undefined);
    expect((await leads.query({ fields: ['email'] })).leads.map((lead) => lead.email)).toEqual([
      'bob@acme.com',
    ]);
  });

  it('a reader that read the store before a write does not put the old lead back', async () => {
    const counted = countingStore({ mergePolicy: 'newest' });
    const prefix = nextPrefix();
    const reader = withRedisLeadCache(counted.store, { timeoutMs: PATIENT_MS, redis, prefix });
    const writer = withRedisLeadCache(counted.store, { timeoutMs: PATIENT_MS, redis, prefix });
    const lead = ada();
    await writer.upsert([lead]);
    const held = counted.holdNextGet();
    const slowRead = reader.get(lead.id);
    await held.reached; // the reader has the old lead in hand
    await writer.upsert([later({ email: 'ada@acme.com', title: 'CTO' })]);
    held.released();
    expect((await slowRead)?.title, 'the slow read answers what it read').toBe('VP of Engineering');
    expect((await reader.get(lead.id))?.title, 'but did not cache it').toBe('CTO');
  });

  it('a write the store refuses still invalidates (it may have written part)', async () => {
    const counted = countingStore();
    const leads = withRedisLeadCache(counted.store, { timeoutMs: PATIENT_MS, redis, prefix: nextPrefix() });
    const lead: Lead = ada();
    await leads.upsert([lead]);
    await leads.query({});
    await expect(leads.upsert('not an array' as never)).rejects.toMatchObject({ code: 'validation_failed' });
    await leads.query({});
    expect(counted.calls.query).toBe(2);
  });
});

describe('Redis lead cache: clear', () => {
  it('clear removes the prefix only', async () => {
    const { leads } = setUp();
    const neighbour = setUp();
    const lead = ada();
    await leads.upsert([lead]);
    await neighbour.leads.upsert([lead]);
    await leads.get(lead.id);
    await neighbour.leads.get(lead.id);
    expect(await (leads as RedisCachedLeadStore).clear()).toBeGreaterThanOrEqual(2);
    await neighbour.leads.get(lead.id);
    expect(neighbour.calls.get, 'the neighbour still hits').toBe(1);
    await leads.get(lead.id);
    expect(neighbour.calls.get).toBe(1);
  });
});

describe('Redis lead cache: Redis going away and coming back', () => {
  it('reads go to the store while Redis is away, and hit the cache again once it is back', async () => {
    const proxy = await redisProxy();
    const counted = countingStore();
    const errors: string[] = [];
    const leads = withRedisLeadCache(counted.store, {
      timeoutMs: PATIENT_MS,
      redis: proxy.url,
      prefix: nextPrefix(),
      onError: (event) => errors.push(event.operation),
    });
    try {
      const lead = ada();
      await leads.upsert([lead]);
      await leads.get(lead.id);
      await leads.get(lead.id);
      expect(counted.calls.get, 'a hit while Redis is there').toBe(1);

      await proxy.stop();
      expect((await leads.get(lead.id))?.email, 'served by the store').toBe('ada@acme.com');
      expect((await leads.get(lead.id))?.email).toBe('ada@acme.com');
      expect(counted.calls.get, 'both reads went to the store').toBe(3);
      expect(errors.length, 'the outage was reported').toBeGreaterThan(0);

      await proxy.start();
      // ioredis reconnects on its own, with back-off: wait (a bounded number of turns) until reads hit again.
      let hitsBefore = leads.stats().hits;
      let recovered = false;
      for (let turn = 0; turn < 200 && !recovered; turn += 1) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        await leads.get(lead.id);
        recovered = leads.stats().hits > hitsBefore;
        hitsBefore = leads.stats().hits;
      }
      expect(recovered, 'the cache serves again after Redis came back').toBe(true);
    } finally {
      await leads.close();
      await proxy.stop().catch(() => {});
    }
  });
});

describe('Redis lead cache: Redis answering with an error', () => {
  it('a broken generation key sends reads to the store and is reported, and clear repairs it', async () => {
    const counted = countingStore();
    const prefix = nextPrefix();
    const operations: string[] = [];
    const leads = withRedisLeadCache(counted.store, {
      timeoutMs: PATIENT_MS,
      redis,
      prefix,
      onError: (event) => operations.push(`${event.operation}:${event.error.code}`),
    });
    const lead = ada();
    await leads.upsert([lead]);
    await redis.del(`${prefix}gen:write`);
    await redis.lpush(`${prefix}gen:write`, 'broken');
    expect((await leads.get(lead.id))?.email).toBe('ada@acme.com');
    expect((await leads.get(lead.id))?.email).toBe('ada@acme.com');
    expect(counted.calls.get).toBe(2);
    await leads.upsert([bob()]);
    expect(operations).toEqual(['read:server_error', 'read:server_error', 'invalidate:server_error']);
    expect(leads.stats().errors).toBe(3);
    await leads.clear();
    await leads.get(lead.id);
    await leads.get(lead.id);
    expect(counted.calls.get, 'cached again after clear').toBe(3);
  });
});

import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createRedisRateLimitCounter,
  createRedisWebhookDeduper,
  createServer,
  crmWebhookReceiver,
  startServer,
} from '../src/index.js';
import { hubspotEvents, hubspotHeaders, testServer } from './support.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: false });
afterAll(async () => {
  await redis.quit();
});

describe('shared state on the real Redis', () => {
  it('counts one key across two server processes sharing Redis', async () => {
    const prefix = `lp-test:${randomUUID()}:`;
    const counter = createRedisRateLimitCounter(redis, { prefix });
    const limits = {
      perIp: { limit: 1000, windowMs: 60_000 },
      perKey: { limit: 4, windowMs: 60_000 },
      counter,
    };
    const first = await testServer({ rateLimit: limits, redis });
    // The second server trusts the first one's key store: the same keys object.
    const second = await testServer({ rateLimit: limits, redis, keys: first.keys });
    expect(first.server.rateLimitCounter).toBe('redis');
    const statuses: number[] = [];
    for (let index = 0; index < 6; index += 1) {
      const app = index % 2 === 0 ? first.server.app : second.server.app;
      statuses.push(
        (await app.request('/v1/leads', { headers: { authorization: `Bearer ${first.read}` } })).status,
      );
    }
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    const ttl = await redis.pttl(`${prefix}key:${/^lpk_([^_]+)_/.exec(first.read)![1]}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('shares an address budget and the failed sign-in lockout across two servers on the same Redis', async () => {
    const rateLimit = {
      keyPrefix: `lp-test:${randomUUID()}:`,
      perIp: { limit: 4, windowMs: 60_000 },
      failedAuth: { limit: 2, windowMs: 60_000 },
    };
    const first = await testServer({ redis, rateLimit, trustProxy: true });
    const second = await testServer({ redis, rateLimit, trustProxy: true, keys: first.keys });
    const ask = (index: number, address: string, key: string) =>
      (index % 2 === 0 ? first : second).server.app.request('/v1/leads', {
        headers: { authorization: `Bearer ${key}`, 'x-forwarded-for': address },
      });
    const statuses = [];
    for (let index = 0; index < 6; index += 1)
      statuses.push((await ask(index, '203.0.113.7', first.read)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    const address = await redis.pttl(`${rateLimit.keyPrefix}ip:203.0.113.7`);
    expect(address).toBeGreaterThan(45_000);
    expect(address).toBeLessThanOrEqual(60_000);
    // Two wrong keys, one on each server, lock the address out of both.
    const wrong = [];
    for (let index = 0; index < 3; index += 1)
      wrong.push((await ask(index, '198.51.100.9', `${first.read}x`)).status);
    expect(wrong).toEqual([401, 401, 429]);
    expect((await ask(0, '198.51.100.9', first.read)).status).toBe(429);
    expect((await ask(1, '198.51.100.9', first.read)).status).toBe(429);
    expect((await ask(1, '192.0.2.1', first.read)).status).toBe(200);
  });

  it('refuses the boundary burst on Redis as in memory', async () => {
    const clock = { now: 5_000_000 };
    const prefix = `lp-test:${randomUUID()}:`;
    const counter = createRedisRateLimitCounter(redis, { prefix, now: () => clock.now });
    const rule = { limit: 5, windowMs: 60_000 };
    const take = async (count: number) => {
      const allowed = [];
      for (let index = 0; index < count; index += 1) allowed.push((await counter.take('ip:a', rule)).allowed);
      return allowed;
    };
    expect(await take(1)).toEqual([true]);
    clock.now += 59_000;
    expect(await take(4)).toEqual([true, true, true, true]);
    clock.now += 2_000;
    expect(await take(5)).toEqual([true, false, false, false, false]);
    expect(await counter.check('ip:a', rule)).toEqual({
      allowed: false,
      remaining: 0,
      retryAfterMs: 10_000,
      resetMs: 58_000,
    });
    clock.now += 10_000;
    expect(await counter.check('ip:a', rule)).toMatchObject({ allowed: true, remaining: 0 });
    // `check` counted nothing: the token is still there for `take`.
    expect(await take(2)).toEqual([true, false]);
    // Another client of the same prefix has its own budget.
    expect((await counter.take('ip:b', rule)).remaining).toBe(4);
  });

  it('deduplicates a webhook redelivered to another server process', async () => {
    const deduper = createRedisWebhookDeduper(redis, { prefix: `lp-test:${randomUUID()}:seen:` });
    const one = await testServer();
    const two = await testServer();
    const serverA = createServer({
      keys: one.keys,
      webhooks: { receivers: [crmWebhookReceiver(one.hubspot)], bus: one.bus, deduper },
    });
    const serverB = createServer({
      keys: two.keys,
      webhooks: { receivers: [crmWebhookReceiver(two.hubspot)], bus: two.bus, deduper },
    });
    const runningA = await startServer(serverA.app, { port: 0 });
    const runningB = await startServer(serverB.app, { port: 0 });
    try {
      const body = hubspotEvents([777]);
      const urlA = `http://127.0.0.1:${runningA.port}/webhooks/hubspot`;
      const urlB = `http://127.0.0.1:${runningB.port}/webhooks/hubspot`;
      expect(
        await (await fetch(urlA, { method: 'POST', headers: hubspotHeaders(urlA, body), body })).json(),
      ).toMatchObject({ published: 1 });
      expect(
        await (await fetch(urlB, { method: 'POST', headers: hubspotHeaders(urlB, body), body })).json(),
      ).toMatchObject({ published: 0, duplicates: 1 });
      expect(one.published.map((event) => event.id)).toEqual(['hubspot:777']);
      expect(two.published).toEqual([]);
    } finally {
      await runningA.close();
      await runningB.close();
    }
  });

  it('reports Redis in /ready', async () => {
    const { server } = await testServer({ redis });
    expect(await (await server.app.request('/ready')).json()).toEqual({
      status: 'ready',
      checks: { store: 'ok', redis: 'ok' },
    });
  });
});

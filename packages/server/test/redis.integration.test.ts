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
    const counter = createRedisRateLimitCounter(redis, prefix);
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

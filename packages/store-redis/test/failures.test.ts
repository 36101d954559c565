import { createLead, createMemoryLeadStore } from '@leadpipe/core';
import { ApiCallError, ConfigurationError } from '@leadpipe/core/adapter-kit';
import { describe, expect, it } from 'vitest';
import { createRedisCache, type RedisCacheErrorEvent, withRedisLeadCache } from '../src/index.js';
import { closedPortUrl, countingStore } from './support.js';

// Redis down: a URL on a local port nothing listens on. No Redis is needed to run these.
const PASSWORD = 'hunter2-very-secret';

describe('when Redis is down', () => {
  it('the lead cache reads and writes through to the store and tells onError, without the password', async () => {
    const url = await closedPortUrl(`default:${PASSWORD}@`);
    const events: RedisCacheErrorEvent[] = [];
    const counted = countingStore();
    const leads = withRedisLeadCache(counted.store, {
      redis: url,
      prefix: 'down:',
      timeoutMs: 2_000,
      onError: (event) => events.push(event),
    });
    try {
      const lead = createLead({ email: 'ada@acme.com', title: 'CTO' });
      const [outcome] = await leads.upsert([lead]);
      expect(outcome?.status, 'the write happened').toBe('created');
      expect((await leads.get(lead.id))?.title).toBe('CTO');
      expect((await leads.get(lead.id))?.title).toBe('CTO');
      expect(counted.calls.get, 'every read went to the store').toBe(2);
      const page = await leads.query({ fields: ['email'] });
      expect(page.leads.map((record) => record.email)).toEqual(['ada@acme.com']);
      expect((await leads.count()).count).toBe(1);
      const report = await leads.erase('ada@acme.com');
      expect(report.removed.leads).toBe(1);
      expect(report.removed.leadCache, 'Redis could not be cleaned: not reported as done').toBeUndefined();

      expect(leads.stats().hits).toBe(0);
      expect(leads.stats().errors).toBeGreaterThanOrEqual(4);
      const operations = new Set(events.map((event) => event.operation));
      for (const operation of ['read', 'invalidate', 'erase']) expect(operations).toContain(operation);
      for (const event of events) {
        expect(ApiCallError.isInstance(event.error)).toBe(true);
        expect(event.error.providerId).toBe('redis');
        expect(['network_error', 'timeout']).toContain(event.error.code);
        const texts = [event.error.message, event.error.stack ?? '', JSON.stringify(event.error)];
        for (const text of texts) expect(text).not.toContain(PASSWORD);
      }
    } finally {
      await leads.close();
    }
  });

  it('a listener that throws does not break the read', async () => {
    const leads = withRedisLeadCache(createMemoryLeadStore(), {
      redis: await closedPortUrl(),
      timeoutMs: 2_000,
      onError: () => {
        throw new Error('listener failed');
      },
    });
    try {
      const lead = createLead({ email: 'bob@acme.com' });
      await leads.upsert([lead]);
      expect((await leads.get(lead.id))?.email).toBe('bob@acme.com');
    } finally {
      await leads.close();
    }
  });

  it('the Redis cache answers misses when failing open, and rejects with an ApiCallError when not', async () => {
    const url = await closedPortUrl();
    const events: RedisCacheErrorEvent[] = [];
    const open = createRedisCache({ redis: url, timeoutMs: 2_000, onError: (event) => events.push(event) });
    const closed = createRedisCache({ redis: url, timeoutMs: 2_000, failOpen: false });
    try {
      await open.set('k', 1, 1_000);
      expect(await open.get('k')).toBe(undefined);
      await open.delete('k');
      expect(events.map((event) => event.operation)).toEqual(
        expect.arrayContaining(['set', 'get', 'delete']),
      );
      for (const operation of [
        closed.get('k'),
        closed.set('k', 1, 1_000),
        closed.delete('k'),
        closed.clear(),
      ]) {
        const failure = await operation.catch((error: unknown) => error);
        expect(ApiCallError.isInstance(failure), String(failure)).toBe(true);
        expect((failure as ApiCallError).providerId).toBe('redis');
        expect((failure as ApiCallError).isRetryable).toBe(true);
      }
    } finally {
      await open.close();
      await closed.close();
    }
  });

  it('a Redis slower than timeoutMs counts as failed (timeout)', async () => {
    // A server that accepts connections and never answers.
    const { createServer } = await import('node:net');
    const sockets = new Set<import('node:net').Socket>();
    const server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const cache = createRedisCache({ redis: `redis://127.0.0.1:${port}`, timeoutMs: 50, failOpen: false });
    try {
      const failure = await cache.get('k').catch((error: unknown) => error);
      expect((failure as ApiCallError).code).toBe('timeout');
    } finally {
      await cache.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('options', () => {
  const bad: [string, unknown, string][] = [
    ['a non-Redis URL', { redis: 'http://127.0.0.1:6379' }, 'redis'],
    ['no redis', {}, 'redis'],
    ['an object that is no client', { redis: { get: 1 } }, 'redis'],
    ['an empty prefix', { redis: 'redis://127.0.0.1:1', prefix: '' }, 'prefix'],
    ['a zero timeout', { redis: 'redis://127.0.0.1:1', timeoutMs: 0 }, 'timeoutMs'],
    ['a listener that is not a function', { redis: 'redis://127.0.0.1:1', onError: 'log' }, 'onError'],
    ['an unknown option', { redis: 'redis://127.0.0.1:1', tll: 5 }, 'tll'],
  ];
  for (const [label, options, field] of bad) {
    it(`createRedisCache refuses ${label}, naming ${field}`, () => {
      const failure = (() => {
        try {
          createRedisCache(options as never);
        } catch (error) {
          return error;
        }
      })();
      expect(ConfigurationError.isInstance(failure)).toBe(true);
      expect((failure as ConfigurationError).issues.map((issue) => issue.field)).toContain(field);
    });
  }

  it('withRedisLeadCache names a bad ttlMs and a store that is no LeadStoreV1, and never echoes the URL', () => {
    const attempt = (store: unknown, options: unknown) => {
      try {
        withRedisLeadCache(store as never, options as never);
      } catch (error) {
        return error as ConfigurationError;
      }
      throw new Error('no error');
    };
    const memory = createMemoryLeadStore();
    expect(attempt(memory, { redis: 'redis://127.0.0.1:1', ttlMs: 0 }).issues[0]?.field).toBe('ttlMs');
    expect(attempt({}, { redis: 'redis://127.0.0.1:1' }).issues[0]?.field).toBe('store');
    const leaked = attempt(memory, { redis: `http://user:${PASSWORD}@127.0.0.1:1` });
    expect(leaked.issues[0]?.field).toBe('redis');
    expect(JSON.stringify(leaked)).not.toContain(PASSWORD);
    expect(leaked.message).not.toContain(PASSWORD);
  });
});

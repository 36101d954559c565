import { ConfigurationError } from '@leadpipe/core';
import { createDashboard } from '@leadpipe/dashboard';
import { describe, expect, it } from 'vitest';
import {
  createMemoryKeyStore,
  createMemoryRateLimitCounter,
  type RateLimitOptions,
  type ServerOptions,
  startServer,
} from '../src/index.js';
import { hubspotEvents, hubspotHeaders, testServer } from './support.js';

/** A server whose limits run on a memory counter with a clock the test moves. */
async function clockedServer(rateLimit: RateLimitOptions, extra: Partial<ServerOptions> = {}) {
  const clock = { now: 1_000_000 };
  const counter = createMemoryRateLimitCounter({ now: () => clock.now });
  const world = await testServer({ trustProxy: true, rateLimit: { ...rateLimit, counter }, ...extra });
  return { ...world, clock };
}

/** `count` requests to `path` from `address`, their statuses and the last Retry-After. */
async function burst(
  world: Awaited<ReturnType<typeof testServer>>,
  count: number,
  address: string,
  init: { path?: string; method?: string; headers?: Record<string, string> } = {},
) {
  const statuses: number[] = [];
  let retryAfter: string | null = null;
  for (let index = 0; index < count; index += 1) {
    const response = await world.server.app.request(init.path ?? '/v1/leads', {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${world.read}`, 'x-forwarded-for': address, ...init.headers },
    });
    statuses.push(response.status);
    if (response.status === 429) retryAfter = response.headers.get('retry-after');
  }
  return { statuses, retryAfter };
}

const PER_MINUTE_5 = { limit: 5, windowMs: 60_000 };
const OPEN = { limit: 1_000_000, windowMs: 60_000 };

describe('the per-address limit is a token bucket, not a fixed window', () => {
  it('refuses the boundary burst a fixed window lets through', async () => {
    const world = await clockedServer({ perIp: PER_MINUTE_5, perKey: OPEN });
    // A fixed window started by this request would end at +60 s ...
    expect((await burst(world, 1, '203.0.113.7')).statuses).toEqual([200]);
    // ... so the rest of its budget just before the boundary ...
    world.clock.now += 59_000;
    expect((await burst(world, 4, '203.0.113.7')).statuses).toEqual([200, 200, 200, 200]);
    // ... and a whole new budget just after it: 9 requests in 2 s. The bucket has one token back, no more.
    world.clock.now += 2_000;
    const after = await burst(world, 5, '203.0.113.7');
    expect(after.statuses).toEqual([200, 429, 429, 429, 429]);
    // One token every 12 s, and the one just sent was the last: the next is 10 s away.
    expect(after.retryAfter).toBe('10');
    world.clock.now += 9_999;
    expect((await burst(world, 1, '203.0.113.7')).statuses).toEqual([429]);
    world.clock.now += 1;
    expect((await burst(world, 2, '203.0.113.7')).statuses).toEqual([200, 429]);
    // Quiet for a whole window: the whole burst is back.
    world.clock.now += 60_000;
    expect((await burst(world, 6, '203.0.113.7')).statuses).toEqual([200, 200, 200, 200, 200, 429]);
  });

  it('takes `burst` as the most at once, with `limit` per window as the steady rate', async () => {
    const world = await clockedServer({ perIp: { limit: 60, windowMs: 60_000, burst: 3 }, perKey: OPEN });
    expect((await burst(world, 4, '203.0.113.7')).statuses).toEqual([200, 200, 200, 429]);
    world.clock.now += 1_000;
    expect((await burst(world, 2, '203.0.113.7')).statuses).toEqual([200, 429]);
  });

  it('keeps a budget per address: two addresses do not share one; an IPv6 /64 is one client', async () => {
    const world = await clockedServer({ perIp: { limit: 3, windowMs: 60_000 }, perKey: OPEN });
    expect((await burst(world, 4, '203.0.113.7')).statuses).toEqual([200, 200, 200, 429]);
    expect((await burst(world, 4, '198.51.100.9')).statuses).toEqual([200, 200, 200, 429]);
    expect((await burst(world, 2, '2001:db8:1:2::a')).statuses).toEqual([200, 200]);
    expect((await burst(world, 2, '2001:db8:1:2:ffff::b')).statuses).toEqual([200, 429]);
    expect((await burst(world, 1, '2001:db8:1:3::a')).statuses).toEqual([200]);
  });

  it('limits a key across addresses, and answers 429 problem+json that names neither key nor address', async () => {
    const world = await clockedServer({ perIp: OPEN, perKey: { limit: 2, windowMs: 60_000 } });
    const statuses = [];
    let refused: Response | undefined;
    for (const address of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) {
      const response = await world.server.app.request('/v1/leads', {
        headers: { authorization: `Bearer ${world.read}`, 'x-forwarded-for': address },
      });
      statuses.push(response.status);
      if (response.status === 429) refused = response;
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(refused?.headers.get('content-type')).toBe('application/problem+json');
    expect(refused?.headers.get('retry-after')).toBe('30');
    const body = await refused!.text();
    expect(JSON.parse(body)).toEqual({
      type: 'https://leadpipe.dev/problems/rate-limited',
      title: 'Too many requests',
      status: 429,
      detail: 'too many requests with this key; retry in 30 s',
    });
    const [, keyId, secret] = /^lpk_([^_]+)_(.+)$/.exec(world.read)!;
    const logged = world.logger.lines.join('\n');
    expect(logged).toContain('"limit":"key"');
    expect(logged).toContain(keyId);
    for (const text of [body, logged]) {
      expect(text).not.toContain(world.read);
      expect(text).not.toContain(secret);
    }
  });
});

describe('per-address limits on webhooks and unsubscribe', () => {
  it('refuses a flood of webhook deliveries from one address before reading them; others are served', async () => {
    const world = await clockedServer({ webhooks: { limit: 2, windowMs: 60_000 } });
    const url = 'http://localhost/webhooks/hubspot';
    const deliver = (address: string, id: number) => {
      const body = hubspotEvents([id]);
      return world.server.app.request(url, {
        method: 'POST',
        headers: { ...hubspotHeaders(url, body), 'x-forwarded-for': address },
        body,
      });
    };
    const statuses = [];
    for (const id of [1, 2, 3]) statuses.push((await deliver('203.0.113.7', id)).status);
    expect(statuses).toEqual([200, 200, 429]);
    const refused = await deliver('203.0.113.7', 4);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('30');
    expect(((await refused.json()) as { detail: string }).detail).toMatch(/^too many webhook deliveries/);
    expect((await deliver('198.51.100.9', 5)).status).toBe(200);
    expect(world.published.map((event) => event.id)).toEqual(['hubspot:1', 'hubspot:2', 'hubspot:5']);
    // The webhook budget is its own: the API is still served to the same address.
    expect((await burst(world, 1, '203.0.113.7')).statuses).toEqual([200]);
  });

  it('counts the unsubscribe page and the one-click POST in one budget per address', async () => {
    const world = await clockedServer({ unsubscribe: { limit: 2, windowMs: 60_000 } });
    const ask = (method: string, address: string) =>
      world.server.app.request('/unsubscribe?token=abc', {
        method,
        headers: { 'x-forwarded-for': address },
      });
    // No campaigns on this server: 404 from the route, so the limit runs before it.
    expect((await ask('GET', '203.0.113.7')).status).toBe(404);
    expect((await ask('POST', '203.0.113.7')).status).toBe(404);
    const refused = await ask('POST', '203.0.113.7');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('30');
    expect((await ask('GET', '203.0.113.7')).status).toBe(429);
    expect((await ask('GET', '198.51.100.9')).status).toBe(404);
  });
});

describe('failed sign-ins', () => {
  const WRONG = 'lpk_AAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB';

  it('locks an address out of /v1 after N wrong keys, even for a right key, and not after N right ones', async () => {
    const world = await clockedServer({
      perIp: OPEN,
      perKey: OPEN,
      failedAuth: { limit: 3, windowMs: 60_000 },
    });
    // Successes count nothing.
    expect((await burst(world, 10, '203.0.113.7')).statuses).toEqual(new Array(10).fill(200));
    // Requests without a key guess nothing and count nothing.
    const anonymous = await burst(world, 5, '203.0.113.7', { headers: { authorization: '' } });
    expect(anonymous.statuses).toEqual(new Array(5).fill(401));
    const wrong = await burst(world, 4, '203.0.113.7', { headers: { authorization: `Bearer ${WRONG}` } });
    expect(wrong.statuses).toEqual([401, 401, 401, 429]);
    expect(wrong.retryAfter).toBe('20');
    // Locked out: the right key gets the same 429 (a right guess is not told apart from a wrong one).
    const right = await world.server.app.request('/v1/leads', {
      headers: { authorization: `Bearer ${world.read}`, 'x-forwarded-for': '203.0.113.7' },
    });
    expect(right.status).toBe(429);
    expect(((await right.json()) as { detail: string }).detail).toBe(
      'too many failed sign-ins from this address; retry in 20 s',
    );
    // Another address is not locked out.
    expect((await burst(world, 1, '198.51.100.9')).statuses).toEqual([200]);
    // One more try every window / limit.
    world.clock.now += 20_000;
    expect((await burst(world, 1, '203.0.113.7')).statuses).toEqual([200]);
    const again = await burst(world, 2, '203.0.113.7', { headers: { authorization: `Bearer ${WRONG}` } });
    expect(again.statuses).toEqual([401, 429]);
    expect(world.logger.lines.join('\n')).not.toContain(WRONG);
  });

  it('locks an address out of the dashboard sign-in after N rejected keys, not after N accepted ones', async () => {
    const keys = createMemoryKeyStore();
    const { key } = await keys.create({ name: 'ops', scopes: ['read'] });
    const dashboard = createDashboard({
      sources: {},
      verifyKey: (presented) => keys.verifyKey(presented),
      sessionSecret: 'a-session-secret-for-the-tests-0123456789',
    });
    const world = await clockedServer(
      { failedAuth: { limit: 3, windowMs: 60_000 } },
      { keys, mount: [{ path: '/dashboard', app: dashboard }] },
    );
    const signIn = (presented: string, address = '203.0.113.7') =>
      world.server.app.request('/dashboard/login', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': address },
        body: new URLSearchParams({ key: presented }).toString(),
      });
    for (let index = 0; index < 5; index += 1) expect((await signIn(key)).status).toBe(303);
    const statuses = [];
    for (let index = 0; index < 4; index += 1) statuses.push((await signIn(`${key}x`)).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    const locked = await signIn(key);
    expect(locked.status).toBe(429);
    expect(locked.headers.get('retry-after')).toBe('20');
    expect(locked.headers.get('content-type')).toBe('application/problem+json');
    // The sign-in page itself (a GET) is still shown; another address still signs in.
    expect(
      (await world.server.app.request('/dashboard/login', { headers: { 'x-forwarded-for': '203.0.113.7' } }))
        .status,
    ).toBe(200);
    expect((await signIn(key, '198.51.100.9')).status).toBe(303);
    // The lockout covers /v1 too: one budget of failed sign-ins per address.
    const api = await world.server.app.request('/v1/leads', {
      headers: { authorization: `Bearer ${world.read}`, 'x-forwarded-for': '203.0.113.7' },
    });
    expect(api.status).toBe(429);
  });
});

describe('the client address', () => {
  it('ignores X-Forwarded-For by default: a client cannot change its address to get a new budget', async () => {
    const { server } = await testServer({ rateLimit: { perIp: { limit: 3, windowMs: 60_000 } } });
    const running = await startServer(server.app, { port: 0 });
    try {
      const statuses = [];
      for (let index = 0; index < 5; index += 1) {
        const response = await fetch(`http://127.0.0.1:${running.port}/v1/leads`, {
          headers: { 'x-forwarded-for': `192.0.2.${index + 1}` },
        });
        statuses.push(response.status);
        await response.body?.cancel();
      }
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
    } finally {
      await running.close();
    }
  });

  it('with trusted proxies, takes the first untrusted hop from the right, never a spoofed leftmost one', async () => {
    const { server } = await testServer({
      trustProxy: ['loopback', '10.0.0.0/8'],
      rateLimit: { perIp: { limit: 2, windowMs: 60_000 } },
    });
    const running = await startServer(server.app, { port: 0 });
    try {
      const ask = async (forwardedFor: string) => {
        const response = await fetch(`http://127.0.0.1:${running.port}/v1/leads`, {
          headers: { 'x-forwarded-for': forwardedFor },
        });
        await response.body?.cancel();
        return response.status;
      };
      // The client 203.0.113.7 writes a new made-up address first each time; the proxies append theirs.
      const statuses = [];
      for (let index = 0; index < 4; index += 1)
        statuses.push(await ask(`192.0.2.${index}, 203.0.113.7, 10.1.2.3`));
      expect(statuses).toEqual([401, 401, 429, 429]);
      // Another client behind the same proxies has its own budget.
      expect(await ask('198.51.100.9, 10.1.2.3')).toBe(401);
    } finally {
      await running.close();
    }
  });

  it('with a hop count, takes that many addresses from the right', async () => {
    const world = await clockedServer(
      { perIp: { limit: 1, windowMs: 60_000 }, perKey: OPEN },
      { trustProxy: 2 },
    );
    const ask = async (forwardedFor: string) =>
      (
        await world.server.app.request('/v1/leads', {
          headers: { authorization: `Bearer ${world.read}`, 'x-forwarded-for': forwardedFor },
        })
      ).status;
    expect(await ask('192.0.2.1, 203.0.113.7, 10.0.0.2')).toBe(200);
    expect(await ask('192.0.2.2, 203.0.113.7, 10.0.0.2')).toBe(429);
    expect(await ask('192.0.2.3, 198.51.100.9, 10.0.0.2')).toBe(200);
  });
});

describe('options', () => {
  const refusal = async (options: Partial<ServerOptions>) => {
    try {
      await testServer(options);
    } catch (error) {
      expect(ConfigurationError.isInstance(error)).toBe(true);
      return (error as ConfigurationError).issues;
    }
    throw new Error('createServer took the options');
  };

  it('refuses a wrong limit, naming the field and the reason', async () => {
    expect(await refusal({ rateLimit: { perIp: { limit: 0, windowMs: 60_000 } } })).toEqual([
      { field: 'rateLimit.perIp.limit', reason: 'must be at least 1' },
    ]);
    expect(await refusal({ rateLimit: { perKey: { limit: 1e9, windowMs: 60_000 } } })).toEqual([
      { field: 'rateLimit.perKey.limit', reason: 'must be at most 1000000 (false turns the limit off)' },
    ]);
    expect(
      await refusal({ rateLimit: { failedAuth: { limit: 5, windowMs: 1.5 } } as RateLimitOptions }),
    ).toEqual([{ field: 'rateLimit.failedAuth.windowMs', reason: 'must be a whole number' }]);
    expect(
      await refusal({ rateLimit: { perIP: { limit: 5, windowMs: 1000 } } as unknown as RateLimitOptions }),
    ).toEqual([{ field: 'rateLimit.perIP', reason: 'is not a known option' }]);
    expect(
      await refusal({ rateLimit: { webhooks: { limit: 5, window: 1000 } } as unknown as RateLimitOptions }),
    ).toEqual([
      { field: 'rateLimit.webhooks.windowMs', reason: 'must be a number' },
      { field: 'rateLimit.webhooks.window', reason: 'is not a known option' },
    ]);
    expect(await refusal({ rateLimit: { unsubscribe: true } as unknown as RateLimitOptions })).toEqual([
      { field: 'rateLimit.unsubscribe', reason: 'must be { limit, windowMs, burst? } or false' },
    ]);
    expect(
      await refusal({ rateLimit: { counter: createMemoryRateLimitCounter(), keyPrefix: 'app1:' } }),
    ).toEqual([
      { field: 'rateLimit.keyPrefix', reason: 'has no effect with counter (give your counter its prefix)' },
    ]);
  });

  it('refuses a wrong trustProxy, naming the entry', async () => {
    expect(await refusal({ trustProxy: ['10.0.0.0/8', '10.0.0.0/33', 'proxy.internal'] })).toEqual([
      { field: 'trustProxy.1', reason: '"10.0.0.0/33" has a prefix length outside 0-32' },
      {
        field: 'trustProxy.2',
        reason: '"proxy.internal" is not an IP address, a CIDR network or one of loopback, private',
      },
    ]);
    expect(await refusal({ trustProxy: -1 })).toEqual([
      { field: 'trustProxy', reason: 'a hop count must be a whole number from 0 to 32' },
    ]);
    expect(await refusal({ trustProxy: [] })).toEqual([
      {
        field: 'trustProxy',
        reason: 'must be false, true, a hop count, or a non-empty list of proxy addresses or networks',
      },
    ]);
  });
});

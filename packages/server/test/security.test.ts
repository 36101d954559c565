import { describe, expect, it } from 'vitest';
import { startServer } from '../src/index.js';
import { HUBSPOT_SECRET, hubspotEvents, hubspotHeaders, testServer } from './support.js';

/** The scope every operation of the OpenAPI document needs: the test fails when a route is missing here. */
const SCOPES: Record<string, 'read' | 'write' | 'admin'> = {
  'get /v1/leads': 'read',
  'post /v1/leads': 'write',
  'get /v1/leads/{id}': 'read',
  'post /v1/leads/erase': 'admin',
  'get /v1/runs': 'read',
  'get /v1/runs/{id}': 'read',
  'get /v1/campaigns': 'read',
  'get /v1/campaigns/{id}': 'read',
  'get /v1/dead-letters': 'read',
  'post /v1/dead-letters/redrive': 'write',
  'get /v1/keys': 'admin',
  'post /v1/keys': 'admin',
  'post /v1/keys/{id}/rotate': 'admin',
  'delete /v1/keys/{id}': 'admin',
};

function operations(document: Record<string, unknown>): { method: string; path: string }[] {
  const paths = document.paths as Record<string, Record<string, unknown>>;
  return Object.entries(paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => ({ method, path })),
  );
}

const weaker = { read: undefined, write: 'read', admin: 'write' } as const;

describe('every /v1 route checks its key and scope', () => {
  it('lists exactly the routes of the OpenAPI document', async () => {
    const { server } = await testServer();
    const listed = operations(server.openApiDocument()).map(({ method, path }) => `${method} ${path}`);
    expect(listed.sort()).toEqual(Object.keys(SCOPES).sort());
  });

  it('answers 401 problem+json without a key, with a wrong key and with a revoked key', async () => {
    // Dozens of wrong keys from one address: the failed sign-in lockout (tested in rate-limits.test.ts) is off here.
    const { server, keys, read } = await testServer({ rateLimit: { failedAuth: false } });
    const [, id] = /^lpk_([^_]+)_/.exec(read)!;
    await keys.revoke(id!);
    for (const { method, path } of operations(server.openApiDocument())) {
      const url = path.replace('{id}', 'x');
      for (const headers of <Record<string, string>[]>[
        {},
        { authorization: 'Bearer lpk_AAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' },
        { 'x-api-key': 'not-a-key' },
        { authorization: `Bearer ${read}` },
      ]) {
        const response = await server.app.request(url, { method: method.toUpperCase(), headers });
        expect(response.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(401);
        expect(response.headers.get('content-type')).toBe('application/problem+json');
        expect(((await response.json()) as { status: number }).status).toBe(401);
      }
    }
  });

  it('answers 403 to a key with a weaker scope, and lets the right scope through', async () => {
    const { server, read, write, admin } = await testServer();
    const keyOf = { read, write, admin };
    for (const { method, path } of operations(server.openApiDocument())) {
      const needed = SCOPES[`${method} ${path}`]!;
      const below = weaker[needed];
      const url = path.replace('{id}', 'x');
      if (below !== undefined) {
        const refused = await server.app.request(url, {
          method: method.toUpperCase(),
          headers: { authorization: `Bearer ${keyOf[below]}` },
        });
        expect(refused.status, `${method} ${path} with ${below}`).toBe(403);
        expect(refused.headers.get('content-type')).toBe('application/problem+json');
      }
      const passed = await server.app.request(url, {
        method: method.toUpperCase(),
        headers: { authorization: `Bearer ${keyOf[needed]}`, 'content-type': 'application/json' },
        body: method === 'get' || method === 'delete' ? undefined : '{}',
      });
      expect([401, 403], `${method} ${path} with ${needed}`).not.toContain(passed.status);
    }
  });
});

describe('rate limits', () => {
  it('answers a flood from one address 429 with Retry-After while other addresses and keys are served', async () => {
    const { server, read, write } = await testServer({
      trustProxy: true,
      rateLimit: { perIp: { limit: 5, windowMs: 60_000 }, perKey: { limit: 1000, windowMs: 60_000 } },
    });
    const running = await startServer(server.app, { port: 0 });
    try {
      const base = `http://127.0.0.1:${running.port}`;
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let index = 0; index < 12; index += 1) {
        const response = await fetch(`${base}/v1/leads`, {
          headers: { authorization: `Bearer ${read}`, 'x-forwarded-for': '203.0.113.7' },
        });
        statuses.push(response.status);
        if (response.status === 429) {
          retryAfter = response.headers.get('retry-after');
          expect(response.headers.get('content-type')).toBe('application/problem+json');
        }
        await response.body?.cancel();
      }
      expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
      expect(statuses.slice(5).every((status) => status === 429)).toBe(true);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(retryAfter)).toBeLessThanOrEqual(60);
      // Another address with another key is still served.
      const other = await fetch(`${base}/v1/leads`, {
        headers: { authorization: `Bearer ${write}`, 'x-forwarded-for': '198.51.100.9' },
      });
      expect(other.status).toBe(200);
      // Unauthenticated requests from the flooding address are cut by the address limit too.
      const anonymous = await fetch(`${base}/v1/leads`, { headers: { 'x-forwarded-for': '203.0.113.7' } });
      expect(anonymous.status).toBe(429);
    } finally {
      await running.close();
    }
  });

  it('limits a key across addresses, and other keys are still served', async () => {
    const { server, read, write } = await testServer({
      trustProxy: true,
      rateLimit: { perIp: { limit: 1000, windowMs: 60_000 }, perKey: { limit: 3, windowMs: 60_000 } },
    });
    const statuses: number[] = [];
    for (let index = 0; index < 5; index += 1) {
      const response = await server.app.request('/v1/leads', {
        headers: { authorization: `Bearer ${read}`, 'x-forwarded-for': `192.0.2.${index + 1}` },
      });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const other = await server.app.request('/v1/leads', {
      headers: { authorization: `Bearer ${write}`, 'x-forwarded-for': '192.0.2.1' },
    });
    expect(other.status).toBe(200);
  });
});

describe('forged webhooks and secrets', () => {
  it('refuses forged, unsigned and stale HubSpot deliveries before reading them, and publishes nothing', async () => {
    const { server, published } = await testServer();
    const running = await startServer(server.app, { port: 0 });
    try {
      const url = `http://127.0.0.1:${running.port}/webhooks/hubspot`;
      const body = hubspotEvents([1, 2]);
      const forged = await fetch(url, {
        method: 'POST',
        headers: hubspotHeaders(url, body, 'wrong-secret'),
        body,
      });
      expect(forged.status).toBe(401);
      expect(forged.headers.get('content-type')).toBe('application/problem+json');
      const unsigned = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(unsigned.status).toBe(401);
      const tampered = await fetch(url, {
        method: 'POST',
        headers: hubspotHeaders(url, body),
        body: body.replace('v1', 'v9'),
      });
      expect(tampered.status).toBe(401);
      const stale = hubspotHeaders(url, body);
      stale['x-hubspot-request-timestamp'] = String(Date.now() - 3_600_000);
      expect((await fetch(url, { method: 'POST', headers: stale, body })).status).toBe(401);
      expect(published).toEqual([]);
    } finally {
      await running.close();
    }
  });

  it('never writes a key, a webhook secret or a signature into the log, the metrics or an answer', async () => {
    const { server, logger, read, admin } = await testServer({ metrics: { key: 'metrics-token-123456789' } });
    const running = await startServer(server.app, { port: 0 });
    const bodies: string[] = [];
    try {
      const base = `http://127.0.0.1:${running.port}`;
      const url = `${base}/webhooks/hubspot`;
      const body = hubspotEvents([5]);
      const forgedHeaders = hubspotHeaders(url, body, 'wrong-secret');
      for (const request of [
        () => fetch(url, { method: 'POST', headers: forgedHeaders, body }),
        () => fetch(url, { method: 'POST', headers: hubspotHeaders(url, body), body }),
        () =>
          fetch(`${base}/v1/keys`, {
            method: 'POST',
            headers: { authorization: `Bearer ${read}` },
            body: '{}',
          }),
        () =>
          fetch(`${base}/v1/leads?cursor=${encodeURIComponent(admin)}`, {
            headers: { authorization: `Bearer ${admin}` },
          }),
        () => fetch(`${base}/v1/leads`, { headers: { authorization: `Bearer ${admin}x` } }),
        () => fetch(`${base}/metrics`, { headers: { authorization: 'Bearer metrics-token-123456789' } }),
      ])
        bodies.push(await (await request()).text());
      const metricsText = bodies.at(-1)!;
      expect(metricsText).toContain('leadpipe_webhooks_refused_total');
      const everything = [...logger.lines, ...bodies].join('\n');
      for (const secret of [
        read,
        admin,
        HUBSPOT_SECRET,
        forgedHeaders['x-hubspot-signature-v3']!,
        'metrics-token-123456789',
      ])
        expect(everything).not.toContain(secret);
      expect(logger.lines.some((line) => line.includes('webhook refused'))).toBe(true);
    } finally {
      await running.close();
    }
  });
});

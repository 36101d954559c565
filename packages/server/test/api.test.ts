import { createCampaignEngine, createMemoryCampaignStore, createUnsubscribeToken } from '@leadpipe/campaigns';
import { createMemoryDeadLetterQueue, createMemoryLeadStore } from '@leadpipe/core';
import { sendgridDescriptor } from '@leadpipe/email-sendgrid';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createFileKeyStore, createRunRegistry, startServer } from '../src/index.js';
import { testServer } from './support.js';

const auth = (key: string) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });

describe('/v1/leads', () => {
  it('pages through a query with the store filters and a cursor, and gets one lead', async () => {
    const { server, read } = await testServer();
    const first = await server.app.request('/v1/leads?emailDomain=acme.com&limit=1&fields=email,firstName', {
      headers: auth(read),
    });
    expect(first.status).toBe(200);
    const page1 = (await first.json()) as { leads: { id: string; email: string }[]; nextCursor?: string };
    expect(page1.leads).toHaveLength(1);
    expect(page1.nextCursor).toEqual(expect.any(String));
    const second = await server.app.request(
      `/v1/leads?emailDomain=acme.com&limit=1&fields=email,firstName&cursor=${encodeURIComponent(page1.nextCursor!)}`,
      { headers: auth(read) },
    );
    const page2 = (await second.json()) as { leads: { id: string; email: string }[]; nextCursor?: string };
    expect([...page1.leads, ...page2.leads].map((lead) => lead.email).sort()).toEqual([
      'ada@acme.com',
      'bob@acme.com',
    ]);
    const one = await server.app.request(`/v1/leads/${page1.leads[0]!.id}`, { headers: auth(read) });
    expect(((await one.json()) as { email: string }).email).toBe(page1.leads[0]!.email);
    const missing = await server.app.request('/v1/leads/no-such-id', { headers: auth(read) });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
  });

  it('answers bad query input with a 400 problem naming the field', async () => {
    const { server, read } = await testServer();
    const response = await server.app.request('/v1/leads?limit=5000&headcountMin=lots', {
      headers: auth(read),
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const body = (await response.json()) as { issues: { field: string }[] };
    expect(body.issues.map((issue) => issue.field).sort()).toEqual(['query.headcountMin', 'query.limit']);
    const badCursor = await server.app.request('/v1/leads?cursor=garbage', { headers: auth(read) });
    expect(badCursor.status).toBe(400);
    expect(((await badCursor.json()) as { detail: string }).detail).toMatch(/cursor/);
  });

  it('upserts a batch where one bad lead is rejected with its reasons and the rest are written', async () => {
    const { server, write, leads } = await testServer();
    const response = await server.app.request('/v1/leads', {
      method: 'POST',
      headers: auth(write),
      body: JSON.stringify({
        leads: [
          { email: 'new@acme.com', firstName: 'New' },
          { email: 'not-an-email' },
          { email: 'ada@acme.com', title: 'CTO' },
        ],
      }),
    });
    expect(response.status).toBe(200);
    const { outcomes } = (await response.json()) as {
      outcomes: { status: string; issues?: { field: string }[] }[];
    };
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['created', 'rejected', 'updated']);
    expect(outcomes[1]?.issues?.[0]?.field).toMatch(/^leads\.1\.email/);
    expect((await leads.getByEmail('new@acme.com'))?.firstName).toBe('New');
    expect((await leads.getByEmail('ada@acme.com'))?.title).toBe('CTO');
  });

  it('erases a person with an admin key', async () => {
    const { server, admin, leads } = await testServer();
    const response = await server.app.request('/v1/leads/erase', {
      method: 'POST',
      headers: auth(admin),
      body: JSON.stringify({ email: 'bob@acme.com' }),
    });
    expect(response.status).toBe(200);
    expect(await leads.getByEmail('bob@acme.com')).toBeUndefined();
  });
});

describe('/v1/keys', () => {
  it('creates, rotates and revokes keys; a rotated or revoked key is refused at once; only hashes are stored', async () => {
    const { server, admin } = await testServer();
    const created = await server.app.request('/v1/keys', {
      method: 'POST',
      headers: auth(admin),
      body: JSON.stringify({ name: 'job', scopes: ['read'] }),
    });
    expect(created.status).toBe(201);
    const { key, record } = (await created.json()) as { key: string; record: { id: string } };
    expect((await server.app.request('/v1/leads', { headers: auth(key) })).status).toBe(200);
    const rotated = await server.app.request(`/v1/keys/${record.id}/rotate`, {
      method: 'POST',
      headers: auth(admin),
    });
    const next = (await rotated.json()) as { key: string; record: { id: string; rotatedFrom: string } };
    expect(next.record.rotatedFrom).toBe(record.id);
    expect((await server.app.request('/v1/leads', { headers: auth(key) })).status).toBe(401);
    expect((await server.app.request('/v1/leads', { headers: auth(next.key) })).status).toBe(200);
    expect(
      (await server.app.request(`/v1/keys/${next.record.id}`, { method: 'DELETE', headers: auth(admin) }))
        .status,
    ).toBe(204);
    expect((await server.app.request('/v1/leads', { headers: auth(next.key) })).status).toBe(401);
    const list = await (await server.app.request('/v1/keys', { headers: auth(admin) })).text();
    expect(list).not.toContain(next.key.split('_')[2]!);
    expect(list).not.toContain('hash');
  });

  it('keeps keys in a file as SHA-256 hashes, readable by a second store on the same file', async () => {
    const { mkdtemp, readFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const path = join(await mkdtemp(join(tmpdir(), 'lp-keys-')), 'keys.json');
    const store = createFileKeyStore(path);
    const issued = await store.create({ name: 'ci', scopes: ['write'] });
    const text = await readFile(path, 'utf8');
    expect(text).not.toContain(issued.key.split('_')[2]!);
    expect(await createFileKeyStore(path).verifyKey(issued.key)).toEqual({
      id: issued.record.id,
      scopes: ['write'],
    });
    await createFileKeyStore(path).revoke(issued.record.id);
    expect(await store.verifyKey(issued.key)).toBeNull();
    await expect(store.create({ name: '', scopes: [] })).rejects.toMatchObject({ code: 'validation_failed' });
  });
});

describe('runs, campaigns, dead letters', () => {
  it('lists runs from a registry, and answers 501 without one', async () => {
    const runs = createRunRegistry();
    runs.report({ id: 'nightly', status: 'running', startedAt: '2026-12-06T20:00:00Z', stats: { read: 10 } });
    runs.report({
      id: 'nightly',
      status: 'done',
      startedAt: '2026-12-06T20:00:00Z',
      finishedAt: '2026-12-06T20:05:00Z',
      stats: { read: 100 },
    });
    const { server, read } = await testServer({ runs });
    const body = (await (await server.app.request('/v1/runs', { headers: auth(read) })).json()) as {
      runs: { status: string; stats: { read: number } }[];
    };
    expect(body.runs).toEqual([expect.objectContaining({ status: 'done', stats: { read: 100 } })]);
    expect((await server.app.request('/v1/runs/none', { headers: auth(read) })).status).toBe(404);
    const { server: bare, read: key } = await testServer();
    expect((await bare.app.request('/v1/runs', { headers: auth(key) })).status).toBe(501);
  });

  it('lists dead letters without their records, and refuses a redrive without a CRM sync', async () => {
    const deadLetters = createMemoryDeadLetterQueue();
    await deadLetters.put({
      id: 'dl-1',
      target: 'hubspot',
      object: 'contacts',
      idProperty: 'email',
      record: { key: 'ada@acme.com', properties: { email: 'ada@acme.com' } },
      leadIds: ['l1'],
      error: { code: 'invalid_value', message: 'bad phone', retryable: false } as never,
      attempts: 1,
      firstFailedAt: '2026-12-06T20:00:00Z',
      lastFailedAt: '2026-12-06T20:00:00Z',
    });
    const { server, read, write } = await testServer({ deadLetters });
    const list = await server.app.request('/v1/dead-letters', { headers: auth(read) });
    const body = (await list.json()) as { entries: { id: string }[]; size: number };
    expect(body.size).toBe(1);
    expect(body.entries[0]?.id).toBe('dl-1');
    expect(JSON.stringify(body)).not.toContain('ada@acme.com');
    const redrive = await server.app.request('/v1/dead-letters/redrive', {
      method: 'POST',
      headers: auth(write),
      body: '{}',
    });
    expect(redrive.status).toBe(501);
  });

  it('serves RFC 8058 one-click unsubscribe and the GET page from the campaign engine, and campaign stats', async () => {
    const secret = 'unsubscribe-secret-0123456789abcdef';
    const leads = createMemoryLeadStore();
    const engine = createCampaignEngine({
      campaigns: [],
      store: createMemoryCampaignStore(),
      leads,
      email: sendgridDescriptor.create({ apiKey: 'SG.never-used' }),
      senders: [{ email: 'sales@acme.example', postalAddress: 'Acme Inc, 1 Main St, Springfield' }],
      unsubscribe: { baseUrl: 'http://127.0.0.1/unsubscribe', secret },
    });
    const { server, read } = await testServer({ campaigns: { engine, ids: ['welcome'] } });
    const running = await startServer(server.app, { port: 0 });
    try {
      const token = createUnsubscribeToken({ email: 'ada@acme.com', campaignId: 'welcome' }, secret);
      const url = `http://127.0.0.1:${running.port}/unsubscribe?token=${encodeURIComponent(token)}`;
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<form method="post"');
      const oneClick = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      });
      expect(oneClick.status).toBe(200);
      const forged = await fetch(
        `http://127.0.0.1:${running.port}/unsubscribe?token=${encodeURIComponent(`${token.split('.')[0]}.00`)}`,
        { method: 'POST' },
      );
      expect(forged.status).toBe(400);
      const stats = (await (
        await fetch(`http://127.0.0.1:${running.port}/v1/campaigns`, { headers: auth(read) })
      ).json()) as {
        campaigns: { id: string; stats: { enrolled: number } }[];
      };
      expect(stats.campaigns).toEqual([
        expect.objectContaining({ id: 'welcome', stats: expect.objectContaining({ enrolled: 0 }) }),
      ]);
      expect(
        (await fetch(`http://127.0.0.1:${running.port}/v1/campaigns/other`, { headers: auth(read) })).status,
      ).toBe(404);
    } finally {
      await running.close();
    }
  });
});

describe('health, readiness, metrics, OpenAPI and mounted apps', () => {
  it('answers /health without a key, /ready with each check, and 503 when one fails', async () => {
    const { server } = await testServer({
      readiness: [
        {
          name: 'broker',
          check: async () => {
            throw new Error('down');
          },
        },
      ],
    });
    expect(await (await server.app.request('/health')).json()).toEqual({ status: 'ok' });
    const ready = await server.app.request('/ready');
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'not ready', checks: { store: 'ok', broker: 'failed' } });
    const { server: healthy } = await testServer();
    expect((await healthy.app.request('/ready')).status).toBe(200);
  });

  it('serves /metrics to its own key or an allowed address, and refuses others', async () => {
    const { server } = await testServer({
      metrics: { key: 'scrape-token-abcdef', allow: ['10.0.0.0/8'] },
      trustProxy: true,
    });
    await server.app.request('/health');
    expect((await server.app.request('/metrics')).status).toBe(401);
    const byKey = await server.app.request('/metrics', {
      headers: { authorization: 'Bearer scrape-token-abcdef' },
    });
    expect(byKey.status).toBe(200);
    expect(byKey.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
    expect(await byKey.text()).toContain(
      'leadpipe_http_requests_total{method="GET",route="/health",status="200"} 1',
    );
    expect(
      (await server.app.request('/metrics', { headers: { 'x-forwarded-for': '10.1.2.3' } })).status,
    ).toBe(200);
    expect(
      (await server.app.request('/metrics', { headers: { 'x-forwarded-for': '192.0.2.1' } })).status,
    ).toBe(401);
  });

  it('serves an OpenAPI 3.1 document made from the validation schemas', async () => {
    const { server } = await testServer();
    const document = (await (await server.app.request('/openapi.json')).json()) as {
      openapi: string;
      paths: Record<
        string,
        Record<string, { parameters?: { name: string; schema: { maximum?: number } }[] }>
      >;
      components: { securitySchemes: Record<string, unknown> };
    };
    expect(document.openapi).toBe('3.1.0');
    const limit = document.paths['/v1/leads']?.get?.parameters?.find(
      (parameter) => parameter.name === 'limit',
    );
    expect(limit?.schema.maximum).toBe(100);
    expect(document.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' });
  });

  it('mounts extra apps (the dashboard hook) under their path', async () => {
    const dashboard = new Hono();
    dashboard.get('/', (c) => c.text('dashboard here'));
    const { server } = await testServer({ mount: [{ path: '/dashboard', app: dashboard }] });
    expect(await (await server.app.request('/dashboard')).text()).toBe('dashboard here');
    expect((await server.app.request('/nothing')).status).toBe(404);
  });
});

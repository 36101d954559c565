import { createLead } from '@leadpipe/core';
import { type CapturedTelemetry, captureTelemetry } from '@leadpipe/testkit';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore, type PostgresStore } from '../src/index.js';
import { claimFor } from './campaign-fixtures.js';
import { storeDatabaseUrl } from './support.js';

/** A password in the connection URL (the server trusts local connections, so any password is accepted). */
const PASSWORD = 'pw-K-otel-7c1f9e';
const EMAIL = 'ada.secret@otel-k.example';
const DATABASE = 'wt_k_otel';

function serverUrl(database: string, password?: string): string {
  const url = new URL(storeDatabaseUrl());
  url.pathname = `/${database}`;
  if (password !== undefined) url.password = password;
  return url.toString();
}

/** Drop `schema` of `database` on the server. */
async function dropIn(database: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl(database) });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

let telemetry: CapturedTelemetry;
beforeAll(async () => {
  const admin = new pg.Client({ connectionString: serverUrl('postgres') });
  await admin.connect();
  try {
    const { rows } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (rows.length === 0) await admin.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await admin.end();
  }
  telemetry = captureTelemetry();
});
afterAll(() => telemetry.uninstall());

async function exercise(store: PostgresStore) {
  const before = telemetry.spans().length;
  const outcomes = await store.leads.upsert([
    createLead({ email: EMAIL, firstName: 'Ada' }),
    createLead({ email: 'grace@otel-k.example' }),
  ]);
  const id = outcomes[0]?.id as string;
  expect(await store.leads.get(id)).toMatchObject({ email: EMAIL });
  await store.leads.getByEmail(EMAIL);
  const exported = [];
  for await (const record of store.leads.export({ fields: ['email'], limit: 1 })) exported.push(record);
  expect(exported).toHaveLength(2);
  await store.leads.import([createLead({ email: 'linus@otel-k.example' })]);
  await expect(store.leads.query({ limit: 1000 })).rejects.toMatchObject({ code: 'validation_failed' });
  const claim = await store.campaigns.claimSend(claimFor(1));
  expect(claim.status).toBe('claimed');
  await store.campaigns.due(Date.parse('2026-12-07T10:00:00Z'), 10);
  await store.leads.erase(EMAIL);
  return telemetry.spans().slice(before);
}

const engines: readonly (readonly ['postgres' | 'pglite', () => string | undefined])[] = [
  ['postgres', () => serverUrl(DATABASE, PASSWORD)],
  ['pglite', () => undefined],
];

describe.each(engines)('%s store spans', (engine, connection) => {
  it('traces each store call as one client span with counts only, and no password or email anywhere', async () => {
    const url = connection();
    const schema = `k_otel_${engine}_${Date.now().toString(36)}`;
    const store =
      url === undefined
        ? await openPostgresStore({
            pglite: await (await import('@electric-sql/pglite')).PGlite.create(),
            schema,
          })
        : await openPostgresStore({ connection: url, schema });
    try {
      const spans = await exercise(store);
      const names = spans.map((span) => span.name);
      expect(names).toEqual(
        expect.arrayContaining([
          'leadpipe.store.upsert',
          'leadpipe.store.get',
          'leadpipe.store.get_by_email',
          'leadpipe.store.query',
          'leadpipe.store.import',
          'leadpipe.store.campaign_claim_send',
          'leadpipe.store.campaign_due',
          'leadpipe.store.erase',
        ]),
      );
      // The export of two leads paged one by one: a query span per page (and the empty last page), none per row.
      expect(names.filter((name) => name === 'leadpipe.store.query').length).toBeGreaterThanOrEqual(2);
      expect(names.filter((name) => name === 'leadpipe.store.query').length).toBeLessThanOrEqual(4);
      // The import upserts through the store's own upsert: one span, not one per batch.
      expect(names.filter((name) => name === 'leadpipe.store.upsert')).toHaveLength(1);

      const [upsert] = spans.filter((span) => span.name === 'leadpipe.store.upsert');
      expect(upsert?.kind).toBe(SpanKind.CLIENT);
      expect(upsert?.attributes).toEqual({
        'db.system.name': 'postgresql',
        'leadpipe.batch.size': 2,
        'leadpipe.call': 'store',
        'leadpipe.store': engine,
        'leadpipe.operation': 'upsert',
      });
      const failed = spans.find(
        (span) => span.name === 'leadpipe.store.query' && span.status.code === SpanStatusCode.ERROR,
      );
      expect(failed?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'validation_failed' });
      expect(failed?.attributes['error.type']).toBe('validation_failed');

      const everything = await telemetry.everything();
      expect(everything).toContain('"leadpipe.calls"');
      for (const secret of [
        PASSWORD,
        EMAIL,
        'ada.secret',
        'otel-k.example',
        'P1@d1.example',
        'sales@acme.com',
      ]) {
        expect(everything).not.toContain(secret);
      }
    } finally {
      await store.close();
      if (url !== undefined) await dropIn(DATABASE, schema);
    }
  }, 60_000);
});

it('names no span when no tracer provider is registered (no-op) and the store still works', async () => {
  telemetry.uninstall();
  const store = await openPostgresStore({ connection: serverUrl(DATABASE, PASSWORD), schema: 'k_otel_noop' });
  try {
    const [outcome] = await store.leads.upsert([createLead({ email: 'noop@otel-k.example' })]);
    expect(outcome?.status).toMatch(/created|updated|unchanged/);
  } finally {
    await store.close();
    await dropIn(DATABASE, 'k_otel_noop');
    telemetry = captureTelemetry();
  }
});

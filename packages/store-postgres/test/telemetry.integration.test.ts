import { createLead } from '@leadpipe/core';
import { type CapturedTelemetry, captureTelemetry } from '@leadpipe/testkit';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore, type PostgresStore } from '../src/index.js';
import { claimFor } from './campaign-fixtures.js';
import { deadLetterAbout } from './run-state-fixtures.js';
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

/** The run state a pipeline keeps in the store (cache, dead letters, checkpoint), then a backup and a restore. */
async function exerciseRunState(store: PostgresStore, target: PostgresStore) {
  const before = telemetry.spans().length;
  const [lead] = await store.leads.upsert([createLead({ email: EMAIL })]);
  await store.cache.set(`apollo:${EMAIL}`, { title: 'Engineer' }, 60_000);
  expect(await store.cache.get(`apollo:${EMAIL}`)).toEqual({ title: 'Engineer' });
  await store.cache.delete(`apollo:${EMAIL}`);
  await store.deadLetters.put(deadLetterAbout('dl-otel', EMAIL, lead?.id as string));
  expect(await store.deadLetters.size()).toBe(1);
  expect((await store.deadLetters.list()).entries).toHaveLength(1);
  expect(await store.deadLetters.remove(['dl-otel'])).toBe(1);
  const checkpoint = await store.checkpoints.open({ fingerprint: 'otel-input', resume: false });
  await checkpoint.markFinished([1, 2]);
  await checkpoint.results.set(`apollo:${EMAIL}`, { title: 'Engineer' }, 60_000);
  await checkpoint.results.get(`apollo:${EMAIL}`);
  await checkpoint.flush({ rowsRead: 2 });
  expect(await checkpoint.finishedIn({ from: 1, to: 10 })).toEqual([1, 2]);
  await checkpoint.close();
  const lines: string[] = [];
  for await (const line of store.backup()) lines.push(line);
  const restored = await target.restore(lines);
  expect(restored).toMatchObject({ lead: 1, checkpointRow: 2, checkpointResult: 1 });
  return telemetry.spans().slice(before);
}

describe.each(engines)('%s store spans', (engine, connection) => {
  it('traces the run state too: cache, dead letters, checkpoint reads and flush, its answers, backup and restore', async () => {
    const url = connection();
    const stamp = Date.now().toString(36);
    const open = async (schema: string) =>
      url === undefined
        ? openPostgresStore({ pglite: await (await import('@electric-sql/pglite')).PGlite.create(), schema })
        : openPostgresStore({ connection: url, schema });
    const store = await open(`k_otel_rs_${engine}_${stamp}`);
    const target = await open(`k_otel_rt_${engine}_${stamp}`);
    try {
      const spans = await exerciseRunState(store, target);
      const names = spans.map((span) => span.name);
      expect(names).toEqual(
        expect.arrayContaining([
          'leadpipe.store.cache_get',
          'leadpipe.store.cache_set',
          'leadpipe.store.cache_delete',
          'leadpipe.store.dead_letter_put',
          'leadpipe.store.dead_letter_size',
          'leadpipe.store.dead_letter_list',
          'leadpipe.store.dead_letter_remove',
          'leadpipe.store.checkpoint_open',
          'leadpipe.store.checkpoint_result_set',
          'leadpipe.store.checkpoint_result_get',
          'leadpipe.store.checkpoint_flush',
          'leadpipe.store.checkpoint_finished_in',
          'leadpipe.store.backup',
          'leadpipe.store.restore',
        ]),
      );
      // markFinished only buffers: no span. The backup is one span however many lines it has.
      expect(names.some((name) => name.includes('mark_finished'))).toBe(false);
      expect(names.filter((name) => name === 'leadpipe.store.backup')).toHaveLength(1);
      const remove = spans.find((span) => span.name === 'leadpipe.store.dead_letter_remove');
      expect(remove?.attributes).toMatchObject({ 'leadpipe.batch.size': 1, 'leadpipe.store': engine });
      const backup = spans.find((span) => span.name === 'leadpipe.store.backup');
      expect(backup?.attributes).toMatchObject({ 'leadpipe.operation': 'backup', 'leadpipe.store': engine });
      expect(backup?.endTime[0]).toBeGreaterThan(0);
      // Neither cache keys nor dead-letter records (they hold the address) reach a span.
      const everything = await telemetry.everything();
      for (const secret of [PASSWORD, EMAIL, 'otel-k.example']) expect(everything).not.toContain(secret);
    } finally {
      await store.close();
      await target.close();
      if (url !== undefined) {
        await dropIn(DATABASE, `k_otel_rs_${engine}_${stamp}`);
        await dropIn(DATABASE, `k_otel_rt_${engine}_${stamp}`);
      }
    }
  }, 60_000);

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

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLead } from '@leadpipe/core';
import { openPostgresStore, type PostgresStore } from '@leadpipe/store-postgres';
import { type CapturedTelemetry, captureTelemetry } from '@leadpipe/testkit';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRedisCache, withRedisLeadCache } from '../src/index.js';
import { PATIENT_MS, REDIS_URL, uniquePrefix } from './support.js';

const EMAIL = 'ada.secret@otel-redis.example';
let folder: string;
let postgres: PostgresStore;
let telemetry: CapturedTelemetry;

beforeAll(async () => {
  // An embedded store (PGlite in a folder): a miss reads through to it.
  folder = await mkdtemp(join(tmpdir(), 'k-otel-redis-'));
  postgres = await openPostgresStore({ connection: folder });
  telemetry = captureTelemetry();
}, 60_000);
afterAll(async () => {
  telemetry.uninstall();
  await postgres.close();
  await rm(folder, { recursive: true, force: true });
});

const named = (spans: readonly ReadableSpan[], name: string) => spans.filter((span) => span.name === name);
const parentOf = (span: ReadableSpan | undefined) => span?.parentSpanContext?.spanId;

it('traces cache get and set as redis store spans with the hit, never the key or value', async () => {
  const prefix = uniquePrefix('otel-cache');
  const cache = createRedisCache({ redis: REDIS_URL, prefix, timeoutMs: PATIENT_MS });
  try {
    await cache.set(`email:${EMAIL}`, { email: EMAIL, title: 'CTO' }, 60_000);
    expect(await cache.get(`email:${EMAIL}`)).toEqual({ email: EMAIL, title: 'CTO' });
    expect(await cache.get('email:nobody@otel-redis.example')).toBeUndefined();
    await cache.delete(`email:${EMAIL}`);
    const spans = telemetry.spans();
    const gets = named(spans, 'leadpipe.store.cache_get');
    expect(gets.map((span) => span.attributes['leadpipe.cache.hit'])).toEqual([true, false]);
    expect(gets[0]?.kind).toBe(SpanKind.CLIENT);
    expect(gets[0]?.attributes).toMatchObject({
      'db.system.name': 'redis',
      'leadpipe.store': 'redis',
      'leadpipe.call': 'store',
      'leadpipe.operation': 'cache_get',
    });
    expect(named(spans, 'leadpipe.store.cache_set')).toHaveLength(1);
    expect(named(spans, 'leadpipe.store.cache_delete')).toHaveLength(1);
    const everything = await telemetry.everything();
    for (const secret of [EMAIL, 'otel-redis.example', prefix, REDIS_URL])
      expect(everything).not.toContain(secret);
  } finally {
    await cache.clear();
    await cache.close();
  }
});

it('traces a lead cache read-through: a miss nests the store query under the cache span, a hit does not', async () => {
  const prefix = uniquePrefix('otel-leads');
  const store = withRedisLeadCache(postgres.leads, { redis: REDIS_URL, prefix, timeoutMs: PATIENT_MS });
  try {
    const [outcome] = await store.upsert([createLead({ email: EMAIL, title: 'CTO' })]);
    const id = outcome?.id as string;
    const before = telemetry.spans().length;
    expect(await store.get(id)).toMatchObject({ email: EMAIL });
    expect(await store.get(id)).toMatchObject({ email: EMAIL });
    await store.query({ where: { emailDomain: 'otel-redis.example' }, fields: ['email'] });
    await store.count({ where: { emailDomain: 'otel-redis.example' } });
    const spans = telemetry.spans().slice(before);

    const gets = named(spans, 'leadpipe.store.lead_cache_get');
    expect(gets.map((span) => span.attributes['leadpipe.cache.hit'])).toEqual([false, true]);
    const loads = named(spans, 'leadpipe.store.get');
    expect(loads).toHaveLength(1); // only the miss reached PostgreSQL (PGlite)
    expect(loads[0]?.attributes['leadpipe.store']).toBe('pglite');
    expect(parentOf(loads[0])).toBe(gets[0]?.spanContext().spanId);
    expect(named(spans, 'leadpipe.store.lead_cache_query')).toHaveLength(1);
    expect(named(spans, 'leadpipe.store.lead_cache_count')).toHaveLength(1);

    const everything = await telemetry.everything();
    for (const secret of [EMAIL, 'otel-redis.example', id, prefix]) expect(everything).not.toContain(secret);
  } finally {
    await store.clear();
    await store.erase(EMAIL);
  }
}, 60_000);

// Benchmark of the Redis read-through lead cache (issue 12 §5), one JSON line:
// {"bench":"store","case":"redis-cache","p50Ms":x,"uncachedP50Ms":y,"ratio":x/y}
// p50 of get-by-id through withRedisLeadCache (every read a hit) over get-by-id on the PostgreSQL store alone.
// Usage: tsx --conditions=@leadpipe/source packages/store-redis/bench/redis-cache.bench.ts
// Size: LEADPIPE_BENCH_LEADS (leads imported, default 10,000; the figure is 1,000,000) and
// LEADPIPE_BENCH_SAMPLES (gets timed per side, default 1,000). Uses DATABASE_URL (a fresh schema, dropped at the
// end) and REDIS_URL (a fresh prefix, cleared at the end).
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createLead, type Lead } from '@leadpipe/core';
import { openPostgresStore } from '@leadpipe/store-postgres';
import { Redis } from 'ioredis';
import pg from 'pg';
import { withRedisLeadCache } from '../src/index.js';

const total = Number(process.env.LEADPIPE_BENCH_LEADS ?? 10_000);
const samples = Math.min(Number(process.env.LEADPIPE_BENCH_SAMPLES ?? 1_000), total);
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SCHEMA = `lp_bench_redis_${process.pid}`;
const PREFIX = `lp-bench:${randomBytes(6).toString('hex')}:`;

if (!Number.isInteger(total) || total < 1 || !Number.isInteger(samples) || samples < 1) {
  throw new Error('LEADPIPE_BENCH_LEADS and LEADPIPE_BENCH_SAMPLES must be positive whole numbers');
}

/** Every `step`-th lead's id is kept as a sample, spread over the whole table. */
const step = Math.max(1, Math.floor(total / samples));
const sampled: string[] = [];

function* leads(): Generator<Lead> {
  for (let index = 0; index < total; index++) {
    const lead = createLead({
      email: `lead${index}@d${index % 2000}.example`,
      fullName: `Person ${index}`,
      title: ['Engineer', 'Sales Manager', 'VP of Marketing'][index % 3],
      company: {
        name: `Company ${index % 5000}`,
        domain: `co${index % 5000}.example`,
        headcount: index % 10_000,
      },
    });
    if (index % step === 0 && sampled.length < samples) sampled.push(lead.id);
    yield lead;
  }
}

/** Median of a list of times, in ms. */
function median(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Time one read of `id`, checking the lead that came back. */
async function timed(read: (id: string) => Promise<Lead | undefined>, id: string): Promise<number> {
  const started = performance.now();
  const lead = await read(id);
  const elapsed = performance.now() - started;
  if (lead?.id !== id) throw new Error(`get(${id}) returned ${lead?.id}`);
  return elapsed;
}

const store = await openPostgresStore({ connection: DATABASE_URL, schema: SCHEMA });
const redis = new Redis(REDIS_URL);
const cached = withRedisLeadCache(store.leads, { redis, prefix: PREFIX, ttlMs: 600_000 });
try {
  const report = await store.leads.import(leads());
  if (report.created !== total) throw new Error(`import created ${report.created} of ${total}`);
  // Warm both sides: PostgreSQL's buffers for the store, Redis for the cache (each sampled lead read once).
  for (const id of sampled) await store.leads.get(id);
  for (const id of sampled) await cached.get(id);
  const before = cached.stats();
  // Alternating blocks of 50 reads per side: a busy machine slows both sides alike, and each block runs warm.
  const uncachedTimes: number[] = [];
  const cachedTimes: number[] = [];
  for (let from = 0; from < sampled.length; from += 50) {
    const block = sampled.slice(from, from + 50);
    for (const id of block) uncachedTimes.push(await timed((leadId) => store.leads.get(leadId), id));
    for (const id of block) cachedTimes.push(await timed((leadId) => cached.get(leadId), id));
  }
  const uncachedP50Ms = median(uncachedTimes);
  const p50Ms = median(cachedTimes);
  const after = cached.stats();
  if (after.hits - before.hits !== sampled.length || after.errors !== 0) {
    throw new Error(`expected ${sampled.length} hits, got ${JSON.stringify({ before, after })}`);
  }
  console.log(
    JSON.stringify({
      bench: 'store',
      case: 'redis-cache',
      p50Ms: Number(p50Ms.toFixed(4)),
      uncachedP50Ms: Number(uncachedP50Ms.toFixed(4)),
      ratio: Number((p50Ms / uncachedP50Ms).toFixed(3)),
      engine: 'postgres',
      leads: total,
      samples: sampled.length,
    }),
  );
} finally {
  await cached.clear();
  await redis.quit();
  await store.close();
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
  await client.end();
}

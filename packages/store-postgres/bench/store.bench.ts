// Benchmark of the lead store (issue 12 §5), one JSON line per case: import (beside a raw COPY of the same rows on
// PostgreSQL) and re-import. Not written yet: pagination, filter/full-text and Redis cases.
// Usage: tsx --conditions=@leadpipe/source packages/store-postgres/bench/store.bench.ts [postgres|pglite] [leads]
// postgres uses DATABASE_URL (a fresh schema, dropped at the end); pglite a fresh temporary folder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createLead, type Lead } from '@leadpipe/core';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { openPostgresStore } from '../src/index.js';

const engine = process.argv[2] === 'pglite' ? 'pglite' : 'postgres';
const total = Number(process.argv[3] ?? 10_000);
const SCHEMA = `lp_bench_${process.pid}`;
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Leads per second of a raw COPY of the same rows (id, email, document) into an empty table: the baseline. */
async function copyBaseline(): Promise<number> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(`CREATE TABLE "${SCHEMA}".raw_copy (id uuid, identity text, doc jsonb)`);
    const started = performance.now();
    const lines = Readable.from(
      (function* () {
        for (const lead of leads()) {
          yield `${lead.id}\temail:${lead.email}\t${JSON.stringify(lead).replace(/\\/g, '\\\\')}\n`;
        }
      })(),
    );
    await pipeline(lines, client.query(copyFrom(`COPY "${SCHEMA}".raw_copy FROM STDIN`)));
    return total / ((performance.now() - started) / 1000);
  } finally {
    await client.end();
  }
}

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 50);

/** The leads, generated in batches so memory stays bounded. */
function* leads(): Generator<Lead> {
  for (let index = 0; index < total; index++) {
    yield createLead({
      email: `lead${index}@d${index % 2000}.example`,
      fullName: `Person ${index}`,
      title: ['Engineer', 'Sales Manager', 'VP of Marketing'][index % 3],
      company: {
        name: `Company ${index % 5000}`,
        domain: `co${index % 5000}.example`,
        headcount: index % 10_000,
      },
    });
  }
}

const folder = engine === 'pglite' ? mkdtempSync(join(tmpdir(), 'leadpipe-bench-')) : undefined;
const openedAt = performance.now();
const store = await openPostgresStore(
  engine === 'pglite' ? { connection: folder! } : { connection: DATABASE_URL, schema: SCHEMA },
);
const openMs = performance.now() - openedAt;
try {
  const started = performance.now();
  const first = await store.leads.import(leads());
  const importMs = performance.now() - started;
  const again = performance.now();
  const second = await store.leads.import(leads());
  const reimportMs = performance.now() - again;
  if (first.created !== total || second.unchanged !== total) {
    throw new Error(`import counts are wrong: ${JSON.stringify({ first, second })}`);
  }
  const count = await store.leads.count();
  const copyLeadsPerSecond = engine === 'postgres' ? await copyBaseline() : null;
  const leadsPerSecond = total / (importMs / 1000);
  console.log(
    JSON.stringify({
      bench: 'store',
      case: 'import',
      engine,
      leads: total,
      leadsPerSecond: Math.round(leadsPerSecond),
      copyLeadsPerSecond: copyLeadsPerSecond === null ? null : Math.round(copyLeadsPerSecond),
      ratioToCopy:
        copyLeadsPerSecond === null ? null : Number((leadsPerSecond / copyLeadsPerSecond).toFixed(3)),
      peakRssMb: Math.round(peakRss / 1e6),
      openMs: Math.round(openMs),
      counted: count.count,
      countExact: count.exact,
    }),
  );
  console.log(
    JSON.stringify({
      bench: 'store',
      case: 'reimport',
      engine,
      leads: total,
      ratioToFirstImport: Number((reimportMs / importMs).toFixed(3)),
      unchanged: second.unchanged,
    }),
  );
} finally {
  await store.close();
  clearInterval(sampler);
  if (folder !== undefined) rmSync(folder, { recursive: true, force: true });
  else {
    const pg = (await import('pg')).default;
    const client = new pg.Client({
      connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await client.end();
  }
}

// Benchmark of the lead store (issue 12 §5), one JSON line per case. Correctness counts only on a loaded machine.
// Usage: tsx --conditions=@leadpipe/source packages/store-postgres/bench/store.bench.ts [postgres|pglite] [leads]
// postgres uses DATABASE_URL (a fresh schema, dropped at the end); pglite a fresh temporary folder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createLead, type Lead } from '@leadpipe/core';
import { openPostgresStore } from '../src/index.js';

const engine = process.argv[2] === 'pglite' ? 'pglite' : 'postgres';
const total = Number(process.argv[3] ?? 10_000);
const SCHEMA = `lp_bench_${process.pid}`;

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
  engine === 'pglite'
    ? { connection: folder! }
    : { connection: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', schema: SCHEMA },
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
  console.log(
    JSON.stringify({
      bench: 'store',
      case: 'import',
      engine,
      leads: total,
      leadsPerSecond: Math.round(total / (importMs / 1000)),
      copyLeadsPerSecond: null,
      ratioToCopy: null,
      peakRssMb: Math.round(peakRss / 1e6),
      openMs: Math.round(openMs),
      counted: count.count,
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

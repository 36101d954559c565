// Benchmark of the lead store (issue 12 §5): one JSON line per case.
//   import      the store's bulk upsert (one transaction per batch: new leads COPY'd into the table, updated ones
//               through a temporary table) beside a raw COPY of the same rows into an empty table shaped like the
//               leads table, the rows made inside the timing on both sides (PGlite also: ratioToCopyOnly, beside
//               the COPY alone); peak RSS of the import
//   reimport    the same leads again (all unchanged), as a ratio to the first import
//   pagination  median latency of a keyset page at depth 1 and 9,000 (pages) beside OFFSET at the same depths
//   query       p50/p95 of 100 random filter queries (beside the same with the filter indexes dropped) and of 100
//               random full-text searches (beside the same words with ILIKE)
// The redis-cache case of the issue lives with the Redis cache package.
//
// Usage (full size: 1,000,000 leads on the local PostgreSQL, 100,000 on PGlite, each engine in its own process):
//   pnpm exec tsx --conditions=@leadpipe/source packages/store-postgres/bench/store.bench.ts
// Smaller or one engine: STORE_BENCH_LEADS=20000 (both engines), STORE_BENCH_POSTGRES_LEADS, STORE_BENCH_PGLITE_LEADS,
// STORE_BENCH_ENGINES=postgres|pglite|postgres,pglite. STORE_BENCH_CASES=import: only import and reimport.
// STORE_BENCH_IMPORT_BATCH: the store's importBatch (default the store's, 1,000). PostgreSQL: DATABASE_URL (a fresh schema, dropped at the end);
// PGlite: a fresh temporary folder, removed at the end.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import {
  checkLeadStoreQuery,
  createLead,
  encodeLeadCursor,
  type Lead,
  type LeadStoreQuery,
} from '@leadpipe/core/adapter-kit';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { openPostgresStore } from '../src/index.js';
import { pageSql } from '../src/query-sql.js';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const engineArg = process.argv[2];

if (engineArg !== 'postgres' && engineArg !== 'pglite') {
  // The parent: each engine in a process of its own, so one's memory does not count in the other's peak RSS.
  const engines = (process.env.STORE_BENCH_ENGINES ?? 'postgres,pglite')
    .split(',')
    .map((name) => name.trim());
  let failed = 0;
  for (const engine of engines) {
    const result = spawnSync(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), engine],
      {
        stdio: 'inherit',
        env: process.env,
      },
    );
    if (result.status !== 0) failed += 1;
  }
  process.exit(failed === 0 ? 0 : 1);
}

const engine: 'postgres' | 'pglite' = engineArg;
const total = Number(
  process.env.STORE_BENCH_LEADS ??
    (engine === 'postgres' ? process.env.STORE_BENCH_POSTGRES_LEADS : process.env.STORE_BENCH_PGLITE_LEADS) ??
    (engine === 'postgres' ? 1_000_000 : 100_000),
);
if (!Number.isInteger(total) || total < 10_000) throw new Error('the bench needs at least 10,000 leads');
const SCHEMA = `lp_bench_${process.pid}`;
const importOnly = process.env.STORE_BENCH_CASES === 'import';
const importBatch =
  process.env.STORE_BENCH_IMPORT_BATCH === undefined
    ? undefined
    : Number(process.env.STORE_BENCH_IMPORT_BATCH);
const CUSTOM = new Set(['plan']);

// ---- data: deterministic, varied enough that filters and searches select small parts ----
const FIRST = [
  'Ada',
  'Bob',
  'Cyd',
  'Dee',
  'Eve',
  'Finn',
  'Gus',
  'Hana',
  'Ivo',
  'Jun',
  'Kai',
  'Lea',
  'Mo',
  'Nia',
];
const LAST = Array.from({ length: 400 }, (_, index) => `Surname${index.toString(36)}x`);
const ROLES = [
  'Engineer',
  'Sales Manager',
  'VP Marketing',
  'Head of Data',
  'Account Executive',
  'Designer',
  'CFO',
];
const SENIORITY = [
  'owner',
  'founder',
  'c_suite',
  'vp',
  'head',
  'director',
  'manager',
  'senior',
  'entry',
] as const;
const COUNTRIES = ['DE', 'US', 'GB', 'FR', 'ES', 'IT', 'NL', 'SE', 'PL', 'BR', 'IN', 'JP', 'CA', 'AU', 'MX'];

function leadAt(index: number): Lead {
  return createLead({
    email: `lead${index}@d${index % 5000}.example`,
    fullName: `${FIRST[index % FIRST.length]} ${LAST[(index * 7) % LAST.length]}`,
    title: `${ROLES[index % ROLES.length]} team${index % 300}`,
    seniority: SENIORITY[index % SENIORITY.length],
    location: { countryCode: COUNTRIES[index % COUNTRIES.length] },
    company: {
      name: `Company${index % 20_000}`,
      domain: `co${index % 20_000}.example`,
      industry: `Industry ${index % 150}`,
      headcount: (index * 7919) % 100_000,
    },
    custom: { plan: `plan${index % 1000}` },
  });
}

/** The leads, made one at a time: the import streams them. */
function* leads(): Generator<Lead> {
  for (let index = 0; index < total; index++) {
    // Sampled here too: PGlite works synchronously and the timer below may not fire during its import.
    if (sampling && index % 500 === 0) peakRss = Math.max(peakRss, process.memoryUsage.rss());
    yield leadAt(index);
  }
}

// A seeded random sequence: the same queries every run.
let seed = 42;
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed / 2_147_483_648;
};
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

// ---- engines ----
let pglite: PGlite | undefined;
let folder: string | undefined;
let pool: pg.Pool | undefined;
if (engine === 'pglite') {
  folder = mkdtempSync(join(tmpdir(), 'leadpipe-bench-'));
} else {
  pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
}
const table = `"${SCHEMA}".leads`;

/** A statement on the same database, outside the store. */
async function raw<Row = Record<string, unknown>>(text: string, values: unknown[] = []): Promise<Row[]> {
  if (pglite !== undefined) return (await pglite.query<Row>(text, values)).rows;
  return (await pool!.query(text, values)).rows as Row[];
}

const median = (values: number[]) => quantile(values, 0.5);
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
const round = (value: number, digits = 3) => Number(value.toFixed(digits));
async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}
const print = (line: Record<string, unknown>) =>
  console.log(JSON.stringify({ bench: 'store', engine, ...line }));

// Peak RSS, sampled while the import runs (every 25 ms, and every 500 leads generated).
let peakRss = 0;
let sampling = false;
const sampler = setInterval(() => {
  if (sampling) peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 25);

const openedAt = performance.now();
// Loaded only for PGlite: its module alone adds about 45 MB of RSS, which a PostgreSQL process never loads.
if (engine === 'pglite') {
  const { PGlite } = await import('@electric-sql/pglite');
  pglite = await PGlite.create(join(folder!, 'pgdata'));
}
const store = await openPostgresStore(
  pglite !== undefined
    ? {
        pglite,
        schema: SCHEMA,
        customFields: [...CUSTOM],
        ...(importBatch === undefined ? {} : { importBatch }),
      }
    : {
        connection: DATABASE_URL,
        schema: SCHEMA,
        customFields: [...CUSTOM],
        maxConnections: 2,
        ...(importBatch === undefined ? {} : { importBatch }),
      },
);
const openMs = performance.now() - openedAt;

/**
 * Leads per second of a raw COPY of the same rows into an empty table shaped like `leads` (its indexes included),
 * the rows made (generated and serialized) inside the timing as the store's import makes its own; on PGlite also
 * the COPY alone (`copyOnly`), the rows made first.
 */
async function copyBaseline(): Promise<{ perSecond: number; copyOnlyPerSecond?: number }> {
  await raw(`CREATE TABLE "${SCHEMA}".raw_copy (LIKE ${table} INCLUDING ALL)`);
  const line = (lead: Lead) =>
    `${[lead.id, `email:${lead.email}`, JSON.stringify(lead), lead.createdAt, lead.updatedAt]
      .map((value) => value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n'))
      .join('\t')}\n`;
  const statement = `COPY "${SCHEMA}".raw_copy (id, identity, doc, created_at, updated_at) FROM`;
  let result: { perSecond: number; copyOnlyPerSecond?: number };
  if (pglite !== undefined) {
    // PGlite's COPY reads a blob: the rows are made into one (timed apart), then copied.
    let blob!: Blob;
    const makeMs = await timed(async () => {
      const parts: string[] = [];
      for (const lead of leads()) parts.push(line(lead));
      blob = new Blob([parts.join('')]);
    });
    const copyMs = await timed(() => pglite!.query(`${statement} '/dev/blob'`, [], { blob }));
    result = { perSecond: total / ((makeMs + copyMs) / 1000), copyOnlyPerSecond: total / (copyMs / 1000) };
  } else {
    const client = await pool!.connect();
    try {
      const ms = await timed(() =>
        pipeline(
          Readable.from(
            (function* () {
              for (const lead of leads()) yield line(lead);
            })(),
          ),
          client.query(copyFrom(`${statement} STDIN`)),
        ),
      );
      result = { perSecond: total / (ms / 1000) };
    } finally {
      client.release();
    }
  }
  await raw(`DROP TABLE "${SCHEMA}".raw_copy`);
  return result;
}

try {
  // ---- import and reimport ----
  const rssBeforeImport = process.memoryUsage.rss();
  sampling = true;
  let first!: Awaited<ReturnType<typeof store.leads.import>>;
  const importMs = await timed(async () => {
    first = await store.leads.import(leads());
  });
  sampling = false;
  let second!: Awaited<ReturnType<typeof store.leads.import>>;
  const reimportMs = await timed(async () => {
    second = await store.leads.import(leads());
  });
  if (first.created !== total || second.unchanged !== total) {
    throw new Error(`import counts are wrong: ${JSON.stringify({ first, second })}`);
  }
  const copy = await copyBaseline();
  const leadsPerSecond = total / (importMs / 1000);
  print({
    case: 'import',
    leads: total,
    leadsPerSecond: Math.round(leadsPerSecond),
    copyLeadsPerSecond: Math.round(copy.perSecond),
    ratioToCopy: round(leadsPerSecond / copy.perSecond),
    ...(copy.copyOnlyPerSecond === undefined
      ? {}
      : {
          copyOnlyLeadsPerSecond: Math.round(copy.copyOnlyPerSecond),
          ratioToCopyOnly: round(leadsPerSecond / copy.copyOnlyPerSecond),
        }),
    peakRssMb: Math.round(peakRss / 1e6),
    // The process after opening the store, before the import: what the import added is the difference.
    rssBeforeImportMb: Math.round(rssBeforeImport / 1e6),
    // The process's peak so far (kernel's maxrss): the open included.
    processPeakRssMb: Math.round((process.resourceUsage().maxRSS * 1024) / 1e6),
    openMs: Math.round(openMs),
    importBatch: importBatch ?? 1_000,
    copyTable: 'LIKE leads INCLUDING ALL',
  });
  print({
    case: 'reimport',
    leads: total,
    ratioToFirstImport: round(reimportMs / importMs),
    reimportLeadsPerSecond: Math.round(total / (reimportMs / 1000)),
    unchanged: second.unchanged,
  });
  if (!importOnly) await otherCases();
} finally {
  clearInterval(sampler);
  await store.close();
  if (pglite !== undefined) await pglite.close();
  if (folder !== undefined) rmSync(folder, { recursive: true, force: true });
  if (pool !== undefined) {
    await pool.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await pool.end();
  }
}

/** Pagination and query cases, on the imported leads. */
async function otherCases(): Promise<void> {
  // ---- pagination: keyset vs OFFSET, page depth 1 and 9,000 ----
  // 9,000 pages deep must exist: 100 a page from 1,000,000 leads (fewer a page when there are fewer leads).
  const pageSize = Math.max(1, Math.min(100, Math.floor(total / 10_000)));
  const base: LeadStoreQuery = { fields: ['email', 'title', 'company.name'], limit: pageSize };
  const runs = 21;
  const keysetAt = async (depth: number) => {
    // The cursor of the page before `depth`: the id of the last lead of page depth-1.
    let query = checkLeadStoreQuery(base, CUSTOM);
    if (depth > 1) {
      const [row] = await raw<{ id: string }>(
        `SELECT id::text AS id FROM ${table} ORDER BY id OFFSET ${(depth - 1) * pageSize - 1} LIMIT 1`,
      );
      query = checkLeadStoreQuery({ ...base, cursor: encodeLeadCursor(query, { id: row!.id }) }, CUSTOM);
    }
    const statement = pageSql(query, table);
    await raw(statement.text, statement.values); // warm
    const times: number[] = [];
    for (let run = 0; run < runs; run++) times.push(await timed(() => raw(statement.text, statement.values)));
    return median(times);
  };
  const offsetAt = async (depth: number) => {
    const statement = pageSql(checkLeadStoreQuery(base, CUSTOM), table);
    const text = `${statement.text} OFFSET ${(depth - 1) * pageSize}`;
    await raw(text, statement.values); // warm
    const times: number[] = [];
    for (let run = 0; run < runs; run++) times.push(await timed(() => raw(text, statement.values)));
    return median(times);
  };
  const keyset1 = await keysetAt(1);
  const keyset9000 = await keysetAt(9_000);
  const offset1 = await offsetAt(1);
  const offset9000 = await offsetAt(9_000);
  print({
    case: 'pagination',
    leads: total,
    pageSize,
    keysetDepth1Ms: round(keyset1),
    keysetDepth9000Ms: round(keyset9000),
    keysetRatio: round(keyset9000 / keyset1),
    offsetDepth1Ms: round(offset1),
    offsetDepth9000Ms: round(offset9000),
    offsetRatio: round(offset9000 / offset1),
  });

  // ---- filters and full-text: 100 random queries each, beside a baseline ----
  const filterQueries: LeadStoreQuery[] = Array.from({ length: 100 }, () => {
    const index = Math.floor(random() * total);
    const where = pick([
      { emailDomain: `d${index % 5000}.example` },
      { companyDomain: `co${index % 20_000}.example` },
      { industry: `Industry ${index % 150}`, country: pick(COUNTRIES) },
      { headcount: { min: index % 100_000, max: (index % 100_000) + 50 } },
      { custom: { plan: `plan${index % 1000}` } },
      { seniority: pick(SENIORITY), country: pick(COUNTRIES), industry: `Industry ${index % 150}` },
    ]);
    return { where, fields: ['email', 'title'], limit: 50 };
  });
  const words = [
    ...FIRST,
    ...LAST.slice(0, 50),
    ...ROLES.map((role) => role.split(' ')[0]!),
    'Company12',
    'team7',
  ];
  const searches = Array.from({ length: 100 }, () =>
    random() < 0.5 ? pick(words) : `${pick(FIRST)} ${pick(LAST.slice(0, 100))}`,
  );
  const statementsOf = (queries: LeadStoreQuery[]) =>
    queries.map((query) => pageSql(checkLeadStoreQuery(query, CUSTOM), table));
  const timeAll = async (statements: { text: string; values: unknown[] }[]) => {
    const times: number[] = [];
    for (const statement of statements) times.push(await timed(() => raw(statement.text, statement.values)));
    return times;
  };
  const filterStatements = statementsOf(filterQueries);
  await timeAll(filterStatements.slice(0, 10)); // warm
  const filterTimes = await timeAll(filterStatements);
  // Baseline: the same statements with the filter indexes dropped (inside a transaction, rolled back).
  const filterIndexes = [
    'leads_email_domain_idx',
    'leads_company_domain_idx',
    'leads_industry_idx',
    'leads_headcount_idx',
    'leads_country_idx',
    'leads_seniority_idx',
    'leads_custom_idx',
  ];
  let baselineFilterTimes: number[] = [];
  const withoutIndexes = async (run: (query: typeof raw) => Promise<void>) => {
    if (pglite !== undefined) {
      await pglite.transaction(async (tx) => {
        for (const index of filterIndexes) await tx.query(`DROP INDEX "${SCHEMA}".${index}`);
        await run(async (text, values = []) => (await tx.query(text, values)).rows as never);
        await tx.rollback();
      });
      return;
    }
    const client = await pool!.connect();
    try {
      await client.query('BEGIN');
      for (const index of filterIndexes) await client.query(`DROP INDEX "${SCHEMA}".${index}`);
      await run(async (text, values = []) => (await client.query(text, values)).rows as never);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  };
  await withoutIndexes(async (query) => {
    for (const statement of filterStatements) {
      const started = performance.now();
      await query(statement.text, statement.values);
      baselineFilterTimes.push(performance.now() - started);
    }
  });
  print({
    case: 'query',
    kind: 'filter',
    leads: total,
    queries: filterTimes.length,
    p50Ms: round(median(filterTimes)),
    p95Ms: round(quantile(filterTimes, 0.95)),
    baselineP50Ms: round(median(baselineFilterTimes)),
    baselineP95Ms: round(quantile(baselineFilterTimes, 0.95)),
    ratioToBaseline: round(median(filterTimes) / median(baselineFilterTimes)),
    baseline: 'filter indexes dropped',
  });
  baselineFilterTimes = [];

  const searchStatements = statementsOf(
    searches.map((search) => ({ search, fields: ['email', 'title'], limit: 50 })),
  );
  await timeAll(searchStatements.slice(0, 10));
  const searchTimes = await timeAll(searchStatements);
  // Baseline: every word with ILIKE over the same text (full name, title, company name), same order and page.
  const ilikeStatements = searches.map((search) => {
    const terms = search.toLowerCase().split(/\s+/);
    const text = `coalesce(l.doc->>'fullName', '') || ' ' || coalesce(l.doc->>'title', '') || ' ' || coalesce(l.doc->'company'->>'name', '')`;
    return {
      text: `SELECT l.id::text AS id, jsonb_build_object('email', l.doc->'email', 'title', l.doc->'title') AS record FROM ${table} AS l WHERE ${terms
        .map((_, index) => `(${text}) ILIKE $${index + 1}`)
        .join(' AND ')} ORDER BY l.id LIMIT 51`,
      values: terms.map((term) => `%${term}%`),
    };
  });
  await timeAll(ilikeStatements.slice(0, 3));
  const ilikeTimes = await timeAll(ilikeStatements);
  print({
    case: 'query',
    kind: 'fulltext',
    leads: total,
    queries: searchTimes.length,
    p50Ms: round(median(searchTimes)),
    p95Ms: round(quantile(searchTimes, 0.95)),
    baselineP50Ms: round(median(ilikeTimes)),
    baselineP95Ms: round(quantile(ilikeTimes, 0.95)),
    ratioToBaseline: round(median(searchTimes) / median(ilikeTimes)),
    baseline: 'ILIKE',
  });
}

import { checkLeadStoreQuery, encodeLeadCursor, type LeadStoreQuery } from '@leadpipe/core/adapter-kit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../src/index.js';
import { pageSql } from '../src/query-sql.js';
import { dropSchema, freshSchema, storeDatabaseUrl } from './support.js';

const ROWS = 100_000;
const schema = freshSchema();
const client = new pg.Client({ connectionString: storeDatabaseUrl() });

/** Every index a plan reads, from EXPLAIN's JSON. */
function indexesOf(plan: unknown): string[] {
  const found: string[] = [];
  const walk = (node: Record<string, unknown>) => {
    if (typeof node['Index Name'] === 'string') found.push(node['Index Name']);
    for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
  };
  walk((plan as [{ Plan: Record<string, unknown> }])[0].Plan);
  return found;
}

async function planOf(query: LeadStoreQuery): Promise<{ indexes: string[]; text: string }> {
  const statement = pageSql(checkLeadStoreQuery(query, new Set(['plan'])), `"${schema}".leads`);
  const { rows } = await client.query(`EXPLAIN (FORMAT JSON) ${statement.text}`, statement.values);
  const plan = rows[0]['QUERY PLAN'];
  return { indexes: indexesOf(plan), text: JSON.stringify(plan) };
}

beforeAll(async () => {
  const store = await openPostgresStore({ connection: storeDatabaseUrl(), schema, maxConnections: 1 });
  await store.close();
  await client.connect();
  // 100,000 leads in one statement: varied domains, industries, headcounts, countries, seniorities, titles.
  await client.query(`
    INSERT INTO "${schema}".leads (id, identity, doc, created_at, updated_at)
    SELECT id, 'email:' || email, jsonb_build_object(
        'id', id, 'email', email, 'fullName', 'Person ' || i,
        'title', (ARRAY['Engineer','Sales Manager','VP of Marketing','Head of Data','Account Executive','Software Developer','Chief Executive Officer'])[1 + i % 7] || ' team' || (i % 500),
        'seniority', CASE WHEN i % 100 = 0 THEN 'partner'
                          ELSE (ARRAY['owner','founder','c_suite','vp','head','director','manager','senior','entry','intern'])[1 + i % 10] END,
        'location', jsonb_build_object('countryCode', chr(65 + i % 20) || chr(65 + (i / 20) % 2)),
        'company', jsonb_build_object('name', 'Company ' || (i % 5000), 'domain', 'co' || (i % 5000) || '.example',
                                      'industry', 'Industry ' || (i % 300), 'headcount', (i * 7919) % 100000),
        'custom', jsonb_build_object('plan', 'plan' || (i % 1000)),
        'createdAt', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'updatedAt', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'provenance', '{}'::jsonb), at, at
    FROM generate_series(1, ${ROWS}) AS i,
         LATERAL (SELECT (lpad(to_hex(i), 8, '0') || '-0000-7000-8000-000000000000')::uuid AS id,
                         'user' || i || '@d' || (i % 2000) || '.example' AS email,
                         timestamptz '2026-01-01 00:00:00+00' + i * interval '1 minute' AS at) AS v`);
  // Statistics from every row, not a random sample: the planner's estimate of a custom-field filter (jsonb @>)
  // comes from the most common values, and a sampled list that misses 'plan42' would make the plan a coin toss.
  await client.query('SET default_statistics_target = 10000');
  await client.query(`ANALYZE "${schema}".leads`);
  await client.query('RESET default_statistics_target');
}, 300_000);

afterAll(async () => {
  await client.end();
  await dropSchema(schema);
});

describe(`EXPLAIN on ${ROWS.toLocaleString('en')} leads: each documented filter uses its index`, () => {
  const cases: [string, LeadStoreQuery, string][] = [
    ['emailDomain', { where: { emailDomain: 'd42.example' } }, 'leads_email_domain_idx'],
    ['companyDomain', { where: { companyDomain: 'co4242.example' } }, 'leads_company_domain_idx'],
    ['industry', { where: { industry: 'industry 42' } }, 'leads_industry_idx'],
    ['headcount range', { where: { headcount: { min: 1_000, max: 1_100 } } }, 'leads_headcount_idx'],
    ['country', { where: { country: 'CB' } }, 'leads_country_idx'],
    ['seniority (a level held by 1%)', { where: { seniority: 'partner' } }, 'leads_seniority_idx'],
    ['title words', { where: { title: 'team42' } }, 'leads_title_words_idx'],
    [
      'updatedSince, in update order',
      { where: { updatedSince: '2026-03-10T00:00:00Z' }, orderBy: 'updatedAt' },
      'leads_updated_idx',
    ],
    ['custom field', { where: { custom: { plan: 'plan42' } } }, 'leads_custom_idx'],
    ['full-text search', { search: 'person 4242' }, 'leads_search_words_idx'],
    ['order by updatedAt', { orderBy: 'updatedAt' }, 'leads_updated_idx'],
  ];
  for (const [label, query, index] of cases) {
    it(`${label} reads ${index}`, async () => {
      const plan = await planOf({ ...query, fields: ['email'] });
      expect(plan.indexes, `${label}: ${plan.text}`).toContain(index);
      expect(plan.text.includes('"Seq Scan"'), `${label} scans no table sequentially`).toBe(false);
    });
  }

  for (const orderBy of ['id', 'updatedAt'] as const) {
    const index = orderBy === 'id' ? 'leads_pkey' : 'leads_updated_idx';
    it(`a cursor deep in the table (ordered by ${orderBy}) starts the ${index} scan at the cursor`, async () => {
      // The 90,000th lead's position, as a cursor of the page before it would hold.
      const base = checkLeadStoreQuery({ fields: ['email'], orderBy }, new Set());
      const cursor = encodeLeadCursor(base, {
        id: '00015f90-0000-7000-8000-000000000000',
        updatedAt: new Date(Date.UTC(2026, 0, 1) + 90_000 * 60_000).toISOString(),
      });
      const statement = pageSql(
        checkLeadStoreQuery({ fields: ['email'], orderBy, cursor }, new Set()),
        `"${schema}".leads`,
      );
      const { rows } = await client.query(
        `EXPLAIN (ANALYZE, FORMAT JSON) ${statement.text}`,
        statement.values,
      );
      const plan = rows[0]['QUERY PLAN'];
      expect(indexesOf(plan), JSON.stringify(plan)).toContain(index);
      // The scan starts at the cursor: it reads about one page of rows, not the 90,000 before it.
      const read =
        JSON.stringify(plan)
          .match(/"Actual Rows":(\d+)/g)
          ?.map((m) => Number(m.split(':')[1])) ?? [];
      expect(Math.max(...read), `rows read: ${read.join(', ')}`).toBeLessThanOrEqual(52);
      const page = await client.query(statement.text, statement.values);
      expect(page.rows[0].id, 'the page starts right after the cursor').toBe(
        '00015f91-0000-7000-8000-000000000000',
      );
    });
  }
});

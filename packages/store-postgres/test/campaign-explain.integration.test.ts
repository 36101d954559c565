// The campaign store's hot reads plan onto their indexes on a table of 100,000 enrollments (5% due), 100,000
// events and 100,000 ledger rows: the scheduler's due query, the exit check's events-since, the review list.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dueSql, eventsSinceSql, listSendsSql } from '../src/campaign-queries.js';
import { openPostgresStore } from '../src/index.js';
import { dropSchema, freshSchema, storeDatabaseUrl } from './support.js';

const ROWS = 100_000;
const T0 = 1_796_634_000_000;
const schema = freshSchema();
const quoted = `"${schema}"`;
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

async function planOf(text: string, values: unknown[]): Promise<{ indexes: string[]; text: string }> {
  const { rows } = await client.query(`EXPLAIN (FORMAT JSON) ${text}`, values);
  const plan = rows[0]['QUERY PLAN'];
  return { indexes: indexesOf(plan), text: JSON.stringify(plan) };
}

beforeAll(async () => {
  const store = await openPostgresStore({ connection: storeDatabaseUrl(), schema, maxConnections: 1 });
  await store.close();
  await client.connect();
  await client.query(`
    INSERT INTO ${quoted}.campaign_enrollments (id, campaign_id, campaign_version, lead_id, status, step_id, version,
      next_run_at, enrolled_at, attempts, trigger)
    SELECT 'e' || i, 'c' || (i % 20), 1, 'lead-' || i,
      CASE WHEN i % 20 = 0 THEN 'active' ELSE 'completed' END, 'first', 1,
      CASE WHEN i % 20 = 0 THEN ${T0} + i ELSE NULL END, ${T0}, 0, 'lead.created'
    FROM generate_series(1, ${ROWS}) AS i`);
  await client.query(`
    INSERT INTO ${quoted}.campaign_events (id, type, lead_id, at, ledger_key)
    SELECT 'v' || i, (ARRAY['email.opened', 'email.replied', 'email.delivered'])[1 + i % 3], 'lead-' || (i % 20000),
      ${T0} + i, 'enr-e' || i || '-sfirst'
    FROM generate_series(1, ${ROWS}) AS i`);
  await client.query(`
    INSERT INTO ${quoted}.campaign_sends (ledger_key, enrollment_id, campaign_id, step_id, lead_id, email, mailbox,
      status, attempts, claimed_at)
    SELECT 'enr-e' || i || '-sfirst', 'e' || i, 'c' || (i % 20), 'first', 'lead-' || i, 'p' || i || '@x.example',
      'sales@x.example', CASE WHEN i % 1000 = 0 THEN 'claimed' ELSE 'sent' END, 1, ${T0} + i
    FROM generate_series(1, ${ROWS}) AS i`);
  for (const table of ['campaign_enrollments', 'campaign_events', 'campaign_sends']) {
    await client.query(`ANALYZE ${quoted}.${table}`);
  }
}, 300_000);

afterAll(async () => {
  await client.end();
  await dropSchema(schema);
});

describe(`EXPLAIN on ${ROWS.toLocaleString('en')} rows per campaign table`, () => {
  it('the due query reads the partial next-run index, in its order (no sort, no table scan)', async () => {
    const plan = await planOf(dueSql(quoted), [T0 + 50_000, 100]);
    expect(plan.indexes, plan.text).toContain('campaign_enrollments_due_idx');
    expect(plan.text.includes('"Seq Scan"'), 'no sequential scan').toBe(false);
    expect(plan.text.includes('"Node Type":"Sort"'), 'no sort').toBe(false);
  });

  it('events since a time, of a lead, read the (lead, at) index', async () => {
    const plan = await planOf(eventsSinceSql(quoted), ['lead-42', T0, JSON.stringify(['email.replied'])]);
    expect(plan.indexes, plan.text).toContain('campaign_events_lead_idx');
    expect(plan.text.includes('"Seq Scan"'), 'no sequential scan').toBe(false);
  });

  it('the review list of stale claims reads the (status, claimed_at) index', async () => {
    const plan = await planOf(listSendsSql(quoted), ['claimed', T0 + 50_000, null, 100]);
    expect(plan.indexes, plan.text).toContain('campaign_sends_status_idx');
    expect(plan.text.includes('"Seq Scan"'), 'no sequential scan').toBe(false);
  });
});

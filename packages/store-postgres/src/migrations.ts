import type { SqlDatabase } from './sql-client.js';

/** One versioned schema change: SQL with `{schema}` where the schema name goes. */
interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/**
 * The schema, in order. A migration is never edited once released: a change
 * is a new one. `{schema}` is the store's schema, checked against
 * {@link SCHEMA_NAME} before it reaches SQL.
 */
const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'leads, archive, outbox',
    sql: `
CREATE TABLE {schema}.leads (
  id uuid PRIMARY KEY,
  identity text NOT NULL UNIQUE,
  doc jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  email text GENERATED ALWAYS AS (doc->>'email') STORED,
  email_domain text GENERATED ALWAYS AS (lower(split_part(doc->>'email', '@', 2))) STORED,
  company_domain text GENERATED ALWAYS AS (doc->'company'->>'domain') STORED,
  industry text GENERATED ALWAYS AS (lower(doc->'company'->>'industry')) STORED,
  headcount integer GENERATED ALWAYS AS ((doc->'company'->>'headcount')::integer) STORED,
  country text GENERATED ALWAYS AS (doc->'location'->>'countryCode') STORED,
  seniority text GENERATED ALWAYS AS (doc->>'seniority') STORED,
  custom jsonb GENERATED ALWAYS AS (doc->'custom') STORED,
  title_words tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, coalesce(doc->>'title', ''))) STORED,
  search_words tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig,
    coalesce(doc->>'fullName', '') || ' ' || coalesce(doc->>'title', '') || ' ' || coalesce(doc->'company'->>'name', ''))) STORED
);
CREATE UNIQUE INDEX leads_email_key ON {schema}.leads (email) WHERE email IS NOT NULL;
CREATE INDEX leads_email_domain_idx ON {schema}.leads (email_domain, id) WHERE email_domain IS NOT NULL;
CREATE INDEX leads_company_domain_idx ON {schema}.leads (company_domain, id) WHERE company_domain IS NOT NULL;
CREATE INDEX leads_industry_idx ON {schema}.leads (industry, id) WHERE industry IS NOT NULL;
CREATE INDEX leads_headcount_idx ON {schema}.leads (headcount) WHERE headcount IS NOT NULL;
CREATE INDEX leads_country_idx ON {schema}.leads (country, id) WHERE country IS NOT NULL;
CREATE INDEX leads_seniority_idx ON {schema}.leads (seniority, id) WHERE seniority IS NOT NULL;
CREATE INDEX leads_updated_idx ON {schema}.leads (updated_at, id);
CREATE INDEX leads_custom_idx ON {schema}.leads USING gin (custom jsonb_path_ops);
CREATE INDEX leads_title_words_idx ON {schema}.leads USING gin (title_words);
CREATE INDEX leads_search_words_idx ON {schema}.leads USING gin (search_words);
CREATE TABLE {schema}.leads_archive (
  id uuid PRIMARY KEY,
  identity text NOT NULL,
  doc jsonb NOT NULL,
  updated_at timestamptz NOT NULL,
  archived_at timestamptz NOT NULL
);
CREATE INDEX leads_archive_identity_idx ON {schema}.leads_archive (identity);
CREATE INDEX leads_archive_updated_idx ON {schema}.leads_archive (updated_at);
CREATE TABLE {schema}.lead_outbox (
  position bigserial PRIMARY KEY,
  type text NOT NULL,
  lead_id uuid NOT NULL,
  at timestamptz NOT NULL
);
CREATE INDEX lead_outbox_lead_idx ON {schema}.lead_outbox (lead_id);
`,
  },
  {
    version: 2,
    name: 'cache, dead letters, checkpoints',
    sql: `
CREATE TABLE {schema}.cache_entries (
  key text PRIMARY KEY,
  value json NOT NULL,
  expires_at double precision NOT NULL
);
CREATE TABLE {schema}.dead_letters (
  position bigserial PRIMARY KEY,
  id text NOT NULL UNIQUE,
  entry json NOT NULL
);
CREATE TABLE {schema}.checkpoint_runs (
  name text PRIMARY KEY,
  fingerprint text NOT NULL
);
CREATE TABLE {schema}.checkpoint_rows (
  name text NOT NULL,
  row_number bigint NOT NULL,
  PRIMARY KEY (name, row_number)
);
CREATE TABLE {schema}.checkpoint_results (
  name text NOT NULL,
  key text NOT NULL,
  value json NOT NULL,
  expires_at double precision NOT NULL,
  PRIMARY KEY (name, key)
);
`,
  },
  {
    version: 3,
    name: 'checkpoint state',
    sql: `
ALTER TABLE {schema}.checkpoint_runs ADD COLUMN state jsonb;
`,
  },
  {
    version: 4,
    name: 'campaign state',
    // Times are epoch milliseconds (bigint), as the campaign contract has them. Keys sort in "C" (byte) order, as
    // JavaScript compares strings. Suppressions keep a SHA-256 of the lower-cased address, not the address: an erased
    // person who unsubscribed stays suppressed without the store keeping their address.
    sql: `
CREATE TABLE {schema}.campaign_enrollments (
  id text COLLATE "C" PRIMARY KEY,
  campaign_id text COLLATE "C" NOT NULL,
  campaign_version integer NOT NULL,
  lead_id text COLLATE "C" NOT NULL,
  status text NOT NULL CHECK (status IN ('active', 'completed', 'exited', 'failed')),
  step_id text NOT NULL,
  version integer NOT NULL,
  next_run_at bigint,
  enrolled_at bigint NOT NULL,
  step_started_at bigint,
  attempts integer NOT NULL,
  reason text,
  trigger text NOT NULL,
  data jsonb,
  UNIQUE (campaign_id, lead_id)
);
CREATE INDEX campaign_enrollments_due_idx ON {schema}.campaign_enrollments (next_run_at, id) WHERE status = 'active' AND next_run_at IS NOT NULL;
CREATE INDEX campaign_enrollments_lead_idx ON {schema}.campaign_enrollments (lead_id);
CREATE TABLE {schema}.campaign_sends (
  ledger_key text COLLATE "C" PRIMARY KEY,
  enrollment_id text COLLATE "C" NOT NULL,
  campaign_id text COLLATE "C" NOT NULL,
  step_id text COLLATE "C" NOT NULL,
  lead_id text COLLATE "C" NOT NULL,
  email text NOT NULL,
  mailbox text NOT NULL,
  variant text,
  status text NOT NULL CHECK (status IN ('claimed', 'sent', 'retry', 'failed', 'not_sent')),
  attempts integer NOT NULL,
  claimed_at bigint NOT NULL,
  sent_at bigint,
  message_id text,
  error_code text,
  error_message text,
  UNIQUE (enrollment_id, step_id)
);
CREATE INDEX campaign_sends_status_idx ON {schema}.campaign_sends (status, claimed_at, ledger_key);
CREATE INDEX campaign_sends_campaign_idx ON {schema}.campaign_sends (campaign_id, step_id);
CREATE INDEX campaign_sends_lead_idx ON {schema}.campaign_sends (lead_id);
CREATE INDEX campaign_sends_email_idx ON {schema}.campaign_sends (email);
CREATE TABLE {schema}.campaign_mailbox_days (
  mailbox text COLLATE "C" NOT NULL,
  day text COLLATE "C" NOT NULL,
  sent integer NOT NULL,
  PRIMARY KEY (mailbox, day)
);
CREATE TABLE {schema}.campaign_mailboxes (
  mailbox text COLLATE "C" PRIMARY KEY,
  last_sent_at bigint NOT NULL
);
CREATE TABLE {schema}.campaign_suppressions (
  email_sha256 text COLLATE "C" PRIMARY KEY,
  reason text NOT NULL CHECK (reason IN ('unsubscribed', 'bounced', 'complained', 'do_not_contact')),
  source text NOT NULL,
  at bigint NOT NULL
);
CREATE TABLE {schema}.campaign_events (
  position bigserial PRIMARY KEY,
  id text COLLATE "C" NOT NULL UNIQUE,
  type text COLLATE "C" NOT NULL,
  lead_id text COLLATE "C" NOT NULL,
  at bigint NOT NULL,
  ledger_key text COLLATE "C",
  data jsonb
);
CREATE INDEX campaign_events_lead_idx ON {schema}.campaign_events (lead_id, at, position);
CREATE INDEX campaign_events_ledger_idx ON {schema}.campaign_events (ledger_key, type) WHERE ledger_key IS NOT NULL;
CREATE TABLE {schema}.campaign_dead_letters (
  id text COLLATE "C" PRIMARY KEY,
  enrollment_id text COLLATE "C" NOT NULL,
  campaign_id text COLLATE "C" NOT NULL,
  step_id text NOT NULL,
  code text NOT NULL,
  message text NOT NULL,
  attempts integer NOT NULL,
  at bigint NOT NULL
);
CREATE INDEX campaign_dead_letters_at_idx ON {schema}.campaign_dead_letters (at, id);
CREATE TABLE {schema}.campaign_timers (
  key text COLLATE "C" PRIMARY KEY,
  run_at bigint NOT NULL
);
CREATE INDEX campaign_timers_run_at_idx ON {schema}.campaign_timers (run_at, key);
`,
  },
  {
    version: 5,
    name: 'outbox changes',
    // What a lead.updated changed: [{ field, before? }], only the changed fields. Nullable without a default, so the
    // column is added without rewriting the table; rows written before it (and lead.created) keep NULL.
    sql: `
ALTER TABLE {schema}.lead_outbox ADD COLUMN changes jsonb;
`,
  },
];

/** A schema name the stores accept: lower-case letters, digits and `_`, not starting with a digit, at most 63. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Bring `schema` to the newest version: create it when missing, then apply
 * every migration not applied yet, in order, each in the same transaction as
 * its row in `{schema}.schema_migrations`. A transaction-level advisory lock
 * on the schema's name makes processes that open the same database at once
 * take turns: the second finds the work done. Resolves with the versions
 * applied now.
 */
export async function migrate(database: SqlDatabase, schema: string): Promise<number[]> {
  if (!SCHEMA_NAME.test(schema)) throw new Error('migrate: invalid schema name');
  const quoted = `"${schema}"`;
  return database.transaction(async (session) => {
    await session.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`leadpipe.migrate.${schema}`]);
    await session.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
    await session.query(
      `CREATE TABLE IF NOT EXISTS ${quoted}.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await session.query<{ version: number }>(
      `SELECT version FROM ${quoted}.schema_migrations`,
    );
    const done = new Set(rows.map((row) => Number(row.version)));
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      for (const statement of migration.sql.replaceAll('{schema}', quoted).split(/;\s*\n/)) {
        if (statement.trim() !== '') await session.query(statement);
      }
      await session.query(`INSERT INTO ${quoted}.schema_migrations (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
      applied.push(migration.version);
    }
    return applied;
  });
}

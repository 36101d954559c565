import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * The database the store's integration tests use: `leadpipe_store_test` on DATABASE_URL's server (made by
 * scripts/integration-setup.ts, which also drops the `lp_t_*` schemas killed runs left there, see
 * {@link freshSchema}), or `LEADPIPE_STORE_TEST_DATABASE` when set (an existing database, never cleaned).
 */
export function storeDatabaseUrl(): string {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
  url.pathname = `/${process.env.LEADPIPE_STORE_TEST_DATABASE ?? 'leadpipe_store_test'}`;
  return url.toString();
}

/**
 * A fresh schema name for one check: `lp_t_<creation time, ms in base 36>_<random hex>`. The integration setup
 * (scripts/integration-setup.ts) drops such schemas once they are hours old (left by a killed run), never a
 * younger one that a concurrent run may be using.
 */
export function freshSchema(): string {
  return `lp_t_${Date.now().toString(36)}_${randomBytes(6).toString('hex')}`;
}

/** Drop a schema the tests made, on the server. */
export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: storeDatabaseUrl() });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

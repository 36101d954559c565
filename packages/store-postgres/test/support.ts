import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The database the store's integration tests use: `leadpipe_store_test` on DATABASE_URL's server (made by scripts/integration-setup.ts). */
export function storeDatabaseUrl(): string {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
  url.pathname = '/leadpipe_store_test';
  return url.toString();
}

/** A fresh schema name for one check: `lp_t_` and random hex (scripts/integration-setup.ts drops leftovers). */
export function freshSchema(): string {
  return `lp_t_${randomBytes(6).toString('hex')}`;
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

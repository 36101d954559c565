// Global setup of the integration project: the services must answer, or the run fails with the reason.
// It also makes the store's test database (`leadpipe_store_test` on DATABASE_URL's server) and drops the
// `lp_t_*` schemas a killed run left in it.
import { createRequire } from 'node:module';
import { defaults, probe } from './services.mjs';

export default async function setup(): Promise<void> {
  const redisUrl = process.env.REDIS_URL ?? defaults.REDIS_URL;
  if (!(await probe(redisUrl))) {
    throw new Error(`integration suite: Redis did not answer at ${redisUrl} (set REDIS_URL)`);
  }
  const databaseUrl = process.env.DATABASE_URL ?? defaults.DATABASE_URL;
  if (!(await probe(databaseUrl))) {
    throw new Error(`integration suite: PostgreSQL did not answer at ${databaseUrl} (set DATABASE_URL)`);
  }
  await prepareStoreDatabase(databaseUrl);
}

/** Create `leadpipe_store_test` when missing, and drop test schemas left by a run that was killed. */
async function prepareStoreDatabase(databaseUrl: string): Promise<void> {
  // pg is a dependency of the store package, not of the workspace root.
  const require = createRequire(new URL('../packages/store-postgres/package.json', import.meta.url));
  const pg = require('pg') as typeof import('pg');
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    const { rows } = await admin.query("SELECT 1 FROM pg_database WHERE datname = 'leadpipe_store_test'");
    if (rows.length === 0) {
      await admin.query('CREATE DATABASE leadpipe_store_test').catch((error: { code?: string }) => {
        if (error.code !== '42P04') throw error; // made by a concurrent run
      });
    }
  } finally {
    await admin.end();
  }
  const url = new URL(databaseUrl);
  url.pathname = '/leadpipe_store_test';
  const store = new pg.Client({ connectionString: url.toString() });
  await store.connect();
  try {
    const { rows } = await store.query<{ name: string }>(
      "SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE 'lp\\_t\\_%'",
    );
    for (const { name } of rows) await store.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
  } finally {
    await store.end();
  }
}

// Global setup of the integration project: the services must answer, or the run fails with the reason.
// It also makes the store's test database (`leadpipe_store_test` on DATABASE_URL's server) and drops the
// `lp_t_*` schemas a killed run left in it: only those hours old, never those of a run still going beside it.
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

/** What this setup uses of a node-postgres client (pg's own types resolve from the store package only). */
interface SqlClient {
  connect(): Promise<unknown>;
  query<Row = Record<string, unknown>>(text: string): Promise<{ rows: Row[] }>;
  end(): Promise<void>;
}

/** Create `leadpipe_store_test` when missing, and drop stale test schemas (see {@link isStaleTestSchema}). */
async function prepareStoreDatabase(databaseUrl: string): Promise<void> {
  // pg is a dependency of the store package, not of the workspace root.
  const require = createRequire(new URL('../packages/store-postgres/package.json', import.meta.url));
  const pg = require('pg') as { Client: new (config: { connectionString: string }) => SqlClient };
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
    for (const { name } of rows) {
      if (!isStaleTestSchema(name, Date.now())) continue;
      // Another run's setup may be dropping the same leftover right now: its error is not this run's failure.
      await store.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`).catch(() => undefined);
    }
  } finally {
    await store.end();
  }
}

/** A test schema younger than this may belong to a run still going (a whole integration run takes minutes). */
const STALE_AFTER_MS = 6 * 3_600_000;

/**
 * Whether an `lp_t_*` schema was left by a run that is over: tests name them `lp_t_<creation time, ms in base
 * 36>_<random hex>` (packages/store-postgres/test/support.ts `freshSchema`), and one made more than
 * {@link STALE_AFTER_MS} ago is stale. A name without the time is from before that naming: stale too.
 */
export function isStaleTestSchema(name: string, now: number): boolean {
  const made = /^lp_t_([0-9a-z]{1,11})_[0-9a-f]+$/.exec(name);
  if (made === null) return true;
  return Number.parseInt(made[1]!, 36) < now - STALE_AFTER_MS;
}

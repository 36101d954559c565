import { randomBytes } from 'node:crypto';
import { type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe } from 'vitest';
import { emulatorOptions } from '../src/index.js';
import { ageLeadsSql, leadsCommandSuite } from './leads-suite.js';

/**
 * `leadpipe leads` and `enrich --store` on the real PostgreSQL: the command
 * opens the store from its URL each time, in two schemas of this file's own
 * (`?schema=lp_t_...`, dropped after; the integration setup drops leftovers hours old).
 */

function databaseUrl(): string {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
  url.pathname = '/leadpipe_store_test';
  return url.toString();
}

// `lp_t_<creation time in base 36>_<hex>`: the integration setup drops such a schema only once it is hours old.
const freshSchema = () => `lp_t_${Date.now().toString(36)}_${randomBytes(6).toString('hex')}`;
const schemas = [freshSchema(), freshSchema()] as const;
const url = (schema: string) => `${databaseUrl()}?schema=${schema}`;
let running: RunningEmulators;

beforeAll(async () => {
  running = await startEmulators(emulatorOptions());
});

afterAll(async () => {
  await running?.close();
  const client = new pg.Client({ connectionString: databaseUrl() });
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
});

describe('leadpipe leads on PostgreSQL', () => {
  leadsCommandSuite({
    emulators: () => running,
    a: () => ({ arg: url(schemas[0]) }),
    b: () => ({ arg: url(schemas[1]) }),
    ageB: async (days) => {
      const client = new pg.Client({ connectionString: databaseUrl() });
      await client.connect();
      try {
        await client.query(ageLeadsSql(schemas[1], days));
      } finally {
        await client.end();
      }
    },
  });
});

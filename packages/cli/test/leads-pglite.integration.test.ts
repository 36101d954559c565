import { PGlite } from '@electric-sql/pglite';
import { openPostgresStore, type PostgresStore } from '@leadpipe/store-postgres';
import { type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import { afterAll, beforeAll, describe } from 'vitest';
import { emulatorOptions } from '../src/index.js';
import { ageLeadsSql, leadsCommandSuite } from './leads-suite.js';
import { tempDir } from './support.js';

/**
 * `leadpipe leads` and `enrich --store` on an embedded PGlite store: one
 * PGlite for the file (it costs seconds to start), two schemas on it for
 * the stores A and B, handed to the command as an open store.
 */

let running: RunningEmulators;
let pglite: PGlite;
let a: PostgresStore;
let b: PostgresStore;
const folder = tempDir();

beforeAll(async () => {
  running = await startEmulators(emulatorOptions());
  pglite = await PGlite.create(folder);
  a = await openPostgresStore({ pglite, schema: 'store_a' });
  b = await openPostgresStore({ pglite, schema: 'store_b' });
}, 120_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  await pglite?.close();
  await running?.close();
});

describe('leadpipe leads on PGlite', () => {
  leadsCommandSuite({
    emulators: () => running,
    a: () => ({ arg: folder, open: a }),
    b: () => ({ arg: folder, open: b }),
    ageB: async (days) => {
      await pglite.exec(ageLeadsSql('store_b', days));
    },
  });
});

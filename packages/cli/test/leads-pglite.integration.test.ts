import { PGlite } from '@electric-sql/pglite';
import { openPostgresStore, type PostgresStore } from '@leadpipe/store-postgres';
import { type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emulatorOptions, runCli } from '../src/index.js';
import { ageLeadsSql, leadsCommandSuite } from './leads-suite.js';
import { capture, tempDir } from './support.js';

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
  b = await openPostgresStore({ pglite, schema: 'store_b', customFields: ['plan'] });
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

describe('a store opened with a custom-field whitelist (a host app sharing its store)', () => {
  it('a custom field outside the whitelist is a usage error naming --where', async () => {
    const stderr = capture();
    const code = await runCli(['leads', 'query', '--store', folder, '--where', 'custom.tier=gold'], {
      env: {},
      cwd: folder,
      store: b,
      stdout: capture(),
      stderr,
    });
    expect(code).toBe(2);
    expect(stderr.text()).toContain('--where: names a custom field the store does not allow');
  });
});

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { ConfigurationError, createLead, type LeadStoreV1 } from '@leadpipe/core/adapter-kit';
import {
  cacheContract,
  checkpointStoreContract,
  deadLetterQueueContract,
  leadStoreContract,
} from '@leadpipe/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore, type PostgresStore } from '../src/index.js';
import { freshSchema } from './support.js';

// One PGlite instance for the contract suites of this file (a new one costs seconds and hundreds of MB).
let pglite: PGlite;
beforeAll(async () => {
  pglite = await PGlite.create();
});
afterAll(async () => {
  await pglite.close();
});

const opened = new WeakMap<object, { store: PostgresStore; schema: string }>();
const dropSchema = (schema: string) => pglite.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);

async function openOn(schema: string, options: Parameters<typeof openPostgresStore>[0] = {}) {
  const store = await openPostgresStore({ pglite, schema, ...options });
  return store;
}

describe('PGlite lead store', () => {
  leadStoreContract(it, expect, {
    open: async (context) => {
      const schema = freshSchema();
      const store = await openOn(schema, context);
      expect(store.engine).toBe('pglite');
      opened.set(store.leads, { store, schema });
      return store.leads;
    },
    reopen: async (leads, context) => {
      const { schema } = opened.get(leads)!;
      const store = await openOn(schema, context);
      opened.set(store.leads, { store, schema });
      return store.leads;
    },
    cleanup: async (leads: LeadStoreV1) => {
      await dropSchema(opened.get(leads)!.schema);
    },
  });
});

describe('PGlite cache, dead letters and checkpoints', () => {
  cacheContract(it, expect, {
    name: 'PGlite cache contract',
    open: async ({ now }) => {
      const schema = freshSchema();
      const store = await openOn(schema, { now });
      opened.set(store.cache, { store, schema });
      return store.cache;
    },
    reopen: async (cache, { now }) => {
      const { schema } = opened.get(cache)!;
      const store = await openOn(schema, { now });
      opened.set(store.cache, { store, schema });
      return store.cache;
    },
  });
  deadLetterQueueContract(it, expect, {
    name: 'PGlite dead-letter queue contract',
    open: async () => {
      const schema = freshSchema();
      const store = await openOn(schema);
      opened.set(store.deadLetters, { store, schema });
      return store.deadLetters;
    },
    reopen: async (queue) => {
      const { schema } = opened.get(queue)!;
      const store = await openOn(schema);
      opened.set(store.deadLetters, { store, schema });
      return store.deadLetters;
    },
  });
  checkpointStoreContract(it, expect, {
    name: 'PGlite CheckpointStore contract',
    setup: () => {
      const schema = freshSchema();
      return {
        store: (now) => ({
          open: async (request) => (await openOn(schema, { now })).checkpoints.open(request),
        }),
        cleanup: async () => {
          await dropSchema(schema);
        },
      };
    },
  });
});

describe('PGlite on a data folder', () => {
  const folders: string[] = [];
  afterAll(() => Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true }))));

  it('keeps leads on disk across a close and reopen, and a second opener is refused while one process holds the folder', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'leadpipe-pglite-'));
    folders.push(folder);
    const first = await openPostgresStore({ connection: folder });
    expect(first.engine, 'a folder opens PGlite').toBe('pglite');
    const lead = createLead({ email: 'ada@acme.com', title: 'CTO' });
    expect((await first.leads.upsert([lead]))[0]?.status).toBe('created');
    expect(await readFile(join(folder, 'leadpipe.lock'), 'utf8'), 'the lock names this process').toBe(
      String(process.pid),
    );
    let refused: unknown;
    try {
      await openPostgresStore({ connection: folder });
    } catch (error) {
      refused = error;
    }
    expect(ConfigurationError.isInstance(refused), 'a second open of the folder is refused').toBe(true);
    expect((refused as ConfigurationError).issues.map((issue) => issue.field)).toEqual(['connection']);
    await first.close();
    const again = await openPostgresStore({ connection: folder });
    try {
      expect((await again.leads.getByEmail('ada@acme.com'))?.title, 'the lead after a reopen').toBe('CTO');
    } finally {
      await again.close();
    }
  }, 120_000);

  it('a folder held by a live child process is refused; once the child is killed, its stale lock is taken over', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'leadpipe-pglite-'));
    folders.push(folder);
    const child = spawn(
      process.execPath,
      [
        '--conditions=@leadpipe/source',
        '--import',
        'tsx',
        join(import.meta.dirname, 'fixtures', 'hold-folder.ts'),
        folder,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('open')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`the child exited early with ${code}`)));
      });
      let refused: unknown;
      try {
        await openPostgresStore({ connection: folder });
      } catch (error) {
        refused = error;
      }
      expect(ConfigurationError.isInstance(refused), 'refused while the child holds the folder').toBe(true);
      expect(String((refused as Error).message)).toContain(String(child.pid));
    } finally {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    // The child died without releasing its lock: the next opener takes it over.
    const store = await openPostgresStore({ connection: folder });
    try {
      expect(store.engine).toBe('pglite');
      expect(await readFile(join(folder, 'leadpipe.lock'), 'utf8')).toBe(String(process.pid));
    } finally {
      await store.close();
    }
  }, 180_000);
});

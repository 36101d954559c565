// The store with a real streaming read replica: a second PostgreSQL cluster copied from the primary with
// `pg_basebackup -R` (scripts/start-replica.sh, run here when no replica answers). Replay on the replica is paused
// and resumed by these tests: no other test file uses the replica.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { createLead, type LeadStoreV1 } from '@leadpipe/core/adapter-kit';
import { leadStoreContract } from '@leadpipe/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore, type PostgresStore } from '../src/index.js';
import { dropSchema, freshSchema, storeDatabaseUrl } from './support.js';

const primaryUrl = storeDatabaseUrl();
/** The replica of the store's test database: DATABASE_REPLICA_URL's server, or the primary's host on port 5433. */
const replicaUrl = (() => {
  const url = new URL(process.env.DATABASE_REPLICA_URL ?? primaryUrl);
  if (process.env.DATABASE_REPLICA_URL === undefined) url.port = '5433';
  url.pathname = new URL(primaryUrl).pathname; // the same database as the primary's
  return url.toString();
})();

const replica = new pg.Client({ connectionString: replicaUrl });

async function inRecovery(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
    return rows[0]?.r === true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Poll `check` every 20 ms until it holds, for up to `ms`. A check that throws has not held yet: a replica that has
 * not replayed a new schema's migrations answers "relation does not exist" until it has.
 */
async function eventually(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}${last instanceof Error ? ` (last error: ${last.message})` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeAll(async () => {
  if (!(await inRecovery(replicaUrl))) {
    // The setup: a replica on port 5433 of the local server (idempotent; .ci/run runs it too).
    const primaryPort = new URL(primaryUrl).port || '5432';
    execFileSync('bash', [join(import.meta.dirname, '../../../scripts/start-replica.sh')], {
      env: {
        ...process.env,
        LEADPIPE_PRIMARY_PORT: primaryPort,
        LEADPIPE_REPLICA_PORT: new URL(replicaUrl).port,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  }
  // The test database is made by the integration setup on the primary: wait for it to reach the replica.
  await eventually(() => inRecovery(replicaUrl), `a replica at ${replicaUrl}`);
  await replica.connect();
  await replica.query('SELECT pg_wal_replay_resume()');
}, 120_000);

afterAll(async () => {
  await replica.query('SELECT pg_wal_replay_resume()').catch(() => undefined);
  await replica.end();
});

/** Pause WAL replay on the replica until it says it is paused: writes on the primary then stay invisible there. */
async function pauseReplay(): Promise<void> {
  await replica.query('SELECT pg_wal_replay_pause()');
  await eventually(
    async () =>
      (await replica.query<{ s: string }>('SELECT pg_get_wal_replay_pause_state() AS s')).rows[0]?.s ===
      'paused',
    'replay to pause',
  );
}

describe('read replicas', () => {
  it('the connection the test reads is a replica in recovery, and the primary is not', async () => {
    expect((await replica.query('SELECT pg_is_in_recovery() AS r')).rows[0].r).toBe(true);
    expect(await inRecovery(primaryUrl)).toBe(false);
  });

  it('queries, counts and exports read the replica; gets read the primary (a write held back by paused replay)', async () => {
    const schema = freshSchema();
    const store = await openPostgresStore({ connection: primaryUrl, schema, readReplicas: [replicaUrl] });
    try {
      const first = createLead({ email: 'ada@replica.example', title: 'CTO' });
      await store.leads.upsert([first]);
      await eventually(
        async () =>
          (await store.leads.query({ where: { emailDomain: 'replica.example' } })).leads.length === 1,
        'the first lead on the replica',
      );
      await pauseReplay();
      try {
        const second = createLead({ email: 'bob@replica.example', title: 'CFO' });
        expect((await store.leads.upsert([second]))[0]?.status).toBe('created');
        expect((await store.leads.get(second.id))?.email, 'get reads the primary').toBe(
          'bob@replica.example',
        );
        expect(
          (await store.leads.getByEmail('bob@replica.example'))?.id,
          'getByEmail reads the primary',
        ).toBe(second.id);
        const page = await store.leads.query({
          where: { emailDomain: 'replica.example' },
          fields: ['email'],
        });
        expect(page.leads, 'the query read the replica, which has not replayed the second lead').toEqual([
          { id: first.id, email: 'ada@replica.example' },
        ]);
        expect(await store.leads.count({ where: { emailDomain: 'replica.example' } })).toEqual({
          count: 1,
          exact: true,
        });
        const exported: string[] = [];
        for await (const record of store.leads.export({ fields: ['email'] })) exported.push(record.email!);
        expect(exported, 'the export read the replica').toEqual(['ada@replica.example']);
      } finally {
        await replica.query('SELECT pg_wal_replay_resume()');
      }
      await eventually(
        async () => (await store.leads.count({ where: { emailDomain: 'replica.example' } })).count === 2,
        'the second lead on the replica once replay resumes',
      );
    } finally {
      await store.close();
      await dropSchema(schema);
    }
  });

  it('with replicaCatchUpMs, a read waits for the replica to replay the store’s last write, else reads the primary', async () => {
    const schema = freshSchema();
    const store = await openPostgresStore({
      connection: primaryUrl,
      schema,
      readReplicas: [replicaUrl],
      replicaCatchUpMs: 5_000,
    });
    const impatient = await openPostgresStore({
      connection: primaryUrl,
      schema,
      readReplicas: [replicaUrl],
      replicaCatchUpMs: 200,
      migrate: false,
    });
    try {
      const ada = createLead({ email: 'ada@catchup.example' });
      await store.leads.upsert([ada]);
      // No polling: the read itself waits for the replica.
      expect((await store.leads.query({ fields: ['email'] })).leads).toEqual([
        { id: ada.id, email: 'ada@catchup.example' },
      ]);
      await pauseReplay();
      try {
        const bob = createLead({ email: 'bob@catchup.example' });
        await impatient.leads.upsert([bob]);
        const started = performance.now();
        const page = await impatient.leads.query({ fields: ['email'] });
        expect(performance.now() - started, 'it waited for the replica first').toBeGreaterThanOrEqual(190);
        expect(
          page.leads.map((lead) => lead.email),
          'the replica lagged past 200 ms: read from the primary',
        ).toEqual(['ada@catchup.example', 'bob@catchup.example']);
      } finally {
        await replica.query('SELECT pg_wal_replay_resume()');
      }
    } finally {
      await impatient.close();
      await store.close();
      await dropSchema(schema);
    }
  });
});

describe('PostgreSQL lead store with a read replica', () => {
  const opened = new WeakMap<object, string>();
  const open = async (
    context: Parameters<Parameters<typeof leadStoreContract>[2]['open']>[0],
    schema: string,
  ) => {
    const store: PostgresStore = await openPostgresStore({
      connection: primaryUrl,
      schema,
      readReplicas: [replicaUrl],
      replicaCatchUpMs: 10_000,
      maxConnections: 2,
      ...context,
    });
    opened.set(store.leads, schema);
    return store.leads;
  };
  leadStoreContract(it, expect, {
    name: 'lead store contract (primary + replica)',
    open: (context) => open(context, freshSchema()),
    reopen: (leads, context) => open(context, opened.get(leads)!),
    cleanup: (leads: LeadStoreV1) => dropSchema(opened.get(leads)!),
  });
});

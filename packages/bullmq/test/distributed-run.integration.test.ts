import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  ConfigurationError,
  createMemoryCache,
  createMemoryDeadLetterQueue,
  createMemoryLeadStore,
  type DeadLetterQueue,
  type LeadStoreV1,
  type RejectedRow,
  type SinkEntry,
  ValidationError,
} from '@leadpipe/core';
import { hubspotDescriptor } from '@leadpipe/crm-hubspot';
import { apolloDescriptor } from '@leadpipe/provider-apollo';
import { createRedisCache, type RedisCache } from '@leadpipe/store-redis';
import { type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDistributedRun,
  createWorker,
  type DistributedRunProducer,
  type DistributedRunProgress,
  type DistributedWorker,
  type DistributedWorkerOptions,
} from '../src/index.js';
import {
  apolloPaidKeys,
  emulatorSpec,
  peopleRows,
  REDIS_URL,
  removeKeys,
  repeated,
  startWorker,
  until,
} from './support.js';

/**
 * Distributed runs against the local Redis and the testkit's emulators over
 * HTTP: a producer here, workers in child processes (enrichment, limiters
 * shared through Redis, HubSpot) or in this process (the lead store and
 * dead-letter paths). The crash tests are in worker-crash.integration.test.ts.
 */

const prefix = `dr-${randomUUID().slice(0, 8)}`;
const LIMITS = { apollo: { perMinute: 60_000, perHour: 600_000, perDay: 6_000_000 } };
let running: RunningEmulators;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  running = await startEmulators({
    vendors: ['apollo', 'hubspot'],
    seed: 1,
    limits: LIMITS,
    // A key of its own: the limiters' state on Redis is per vendor and key, so runs never share it.
    vendorOptions: { apollo: { apiKey: `apl_${randomUUID().replaceAll('-', '')}` } },
  });
});

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  await running?.close();
  await removeKeys(prefix);
});

function connection(vendor: 'apollo' | 'hubspot') {
  const urls = running.urls[vendor];
  const credentials = running.credentials[vendor];
  if (urls === undefined || credentials === undefined) throw new Error(`${vendor} is not running`);
  return { urls, credentials, ...(vendor === 'apollo' ? { limits: LIMITS.apollo } : {}) };
}

function openWorker(
  queueName: string,
  overrides: Partial<DistributedWorkerOptions['pipeline']> = {},
): { worker: DistributedWorker; cache: RedisCache } {
  const apollo = apolloDescriptor.create(apolloDescriptor.emulatorSettings(connection('apollo')));
  const hubspot = hubspotDescriptor.create(hubspotDescriptor.emulatorSettings(connection('hubspot')));
  const cache = createRedisCache({ redis: REDIS_URL, prefix: `${prefix}:answers:` });
  const worker = createWorker({
    connection: REDIS_URL,
    prefix,
    queueName,
    cache,
    pipeline: {
      enrichment: { providers: [apollo], fields: ['title', 'company.name'] },
      crms: [{ adapter: hubspot, mapping: hubspotDescriptor.defaultMapping }],
      batchSize: 100,
      ...overrides,
    },
  });
  closers.push(
    () => cache.close(),
    () => worker.close(),
  );
  return { worker, cache };
}

function openProducer(queueName: string, batchSize = 50, attempts = 3): DistributedRunProducer {
  const producer = createDistributedRun({
    connection: REDIS_URL,
    prefix,
    queueName,
    batchSize,
    attempts,
    backoffMs: 50,
  });
  closers.push(() => producer.close());
  return producer;
}

describe('distributed runs on BullMQ (local Redis, emulators over HTTP)', () => {
  it('a producer and two workers: every row ends once, output in input order, each lead paid once, one CRM record per lead; the same input again enqueues nothing', async () => {
    const queueName = `q-${randomUUID().slice(0, 8)}`;
    running.emulators.apollo?.requests.clear();
    running.emulators.hubspot?.emulator.reset();
    const people = peopleRows(running, 230);
    const bad = [{ Email: 'not an email', 'First Name': '', 'Last Name': '', Company: '' }];
    // Bad rows at 3 places, so they fall in different batches.
    const rows = [
      ...people.slice(0, 40),
      ...bad,
      ...people.slice(40, 120),
      ...bad,
      ...people.slice(120),
      ...bad,
    ];
    // Two worker processes, the emulators in this one.
    const env = {
      LP_PREFIX: prefix,
      LP_QUEUE: queueName,
      LP_EMULATORS: JSON.stringify(emulatorSpec(running, LIMITS)),
    };
    const first = startWorker(env);
    const second = startWorker(env);
    closers.push(async () => {
      for (const child of [first, second]) child.process.kill('SIGKILL');
    });
    await Promise.all([first.ready, second.ready]);
    const producer = openProducer(queueName);

    const submitted = await producer.submit(rows, { runId: 'run-a' });
    expect(submitted).toEqual({ runId: 'run-a', batches: 5, rows: 233, enqueued: 5, alreadySubmitted: 0 });
    const seen: DistributedRunProgress[] = [];
    const final = await producer.wait('run-a', {
      onProgress: (progress) => seen.push(progress),
      pollMs: 200,
    });
    expect(final).toMatchObject({
      batches: 5,
      rows: 233,
      batchesRecorded: 5,
      batchesFailed: 0,
      done: 230,
      rejected: 3,
      deadLettered: 0,
      complete: true,
    });
    expect(seen.at(-1)?.complete).toBe(true);
    // Both workers closed cleanly on SIGTERM, and between them finished the 5 batches.
    first.process.kill('SIGTERM');
    second.process.kill('SIGTERM');
    expect([await first.exit, await second.exit]).toEqual([0, 0]);
    const finished = [first, second].map((child) => Number(/closed (\d+)/.exec(child.output())?.[1]));
    expect(finished[0]! + finished[1]!).toBe(5);

    const written: SinkEntry[] = [];
    const rejected: RejectedRow[] = [];
    const outcome = await producer.writeResults('run-a', {
      output: { write: (entry) => void written.push(entry) },
      rejects: (row) => void rejected.push(row),
    });
    expect(outcome).toEqual({ written: 230, rejects: 3, deadLettered: 0, missingBatches: [] });
    // Row numbers are the input's; the output is in input order with each row's own values.
    expect(written.map((entry) => entry.rowNumber)).toEqual(
      [...rows.keys()].map((index) => index + 1).filter((number) => rows[number - 1] !== bad[0]),
    );
    for (const entry of written) expect(entry.values).toEqual(rows[entry.rowNumber - 1]);
    expect(written.filter((entry) => entry.lead.title !== undefined).length).toBeGreaterThan(150);
    expect(rejected.map((row) => row.rowNumber)).toEqual([41, 122, 233]);
    expect(rejected[0]?.issues.map((issue) => issue.field)).toContain('email');
    const results = [];
    for await (const result of producer.results('run-a')) results.push(result.rowNumber);
    expect(results).toEqual([...rows.keys()].map((index) => index + 1));

    // Each lead paid once; one HubSpot contact per lead.
    const paid = apolloPaidKeys(running.emulators.apollo?.requests.all() ?? []);
    expect(repeated(paid)).toEqual([]);
    expect(new Set(paid)).toEqual(new Set(people.map((row) => row.Email.toLowerCase())));
    const contacts = (running.emulators.hubspot?.emulator.contacts() ?? []).map((contact) =>
      String(contact.properties.email).toLowerCase(),
    );
    expect(contacts).toHaveLength(230);
    expect(new Set(contacts).size).toBe(230);

    // The same input again: nothing enqueued, nothing paid, the results as they were.
    const again = await producer.submit(rows, { runId: 'run-a' });
    expect(again).toMatchObject({ batches: 5, enqueued: 0, alreadySubmitted: 5 });
    expect((await producer.progress('run-a')).done).toBe(230);
    expect(apolloPaidKeys(running.emulators.apollo?.requests.all() ?? [])).toHaveLength(paid.length);
    // Other rows under the same run id are refused, naming runId.
    const other = [...rows];
    other[60] = { Email: 'someone-else@example.com', 'First Name': '', 'Last Name': '', Company: '' };
    const refused = await producer.submit(other, { runId: 'run-a' }).catch((error: unknown) => error);
    expect(ConfigurationError.isInstance(refused)).toBe(true);
    expect((refused as ConfigurationError).issues[0]?.field).toBe('runId');
  }, 120_000);

  it('a batch whose job fails every attempt is dead-lettered, listed without secrets, and redriven once the fault is fixed', async () => {
    const queueName = `q-${randomUUID().slice(0, 8)}`;
    let broken = true;
    const memoryStore = createMemoryLeadStore();
    // A lead store and a dead-letter queue that are both down: the batch cannot end, its job throws.
    const store: LeadStoreV1 = {
      ...memoryStore,
      upsert: async (leads) => {
        if (broken) throw new Error('store down (password=hunter2)');
        return memoryStore.upsert(leads);
      },
    };
    const memoryDeadLetters = createMemoryDeadLetterQueue();
    const deadLetters: DeadLetterQueue = {
      ...memoryDeadLetters,
      put: async (entry) => {
        if (broken) throw new Error('dead-letter queue down');
        return memoryDeadLetters.put(entry);
      },
    };
    const { worker } = openWorker(queueName, {
      enrichment: undefined,
      crms: [],
      store,
      deadLetters,
      batchSize: 100,
    });
    await worker.ready();
    const producer = openProducer(queueName, 20, 2);
    await producer.submit(peopleRows(running, 30, 300), { runId: 'run-b' });
    const stuck = await producer.wait('run-b', { pollMs: 200 });
    expect(stuck).toMatchObject({ batches: 2, batchesRecorded: 0, batchesFailed: 2, complete: true });
    const dead = await producer.deadLetters('run-b');
    expect(dead.map((batch) => batch.index).sort()).toEqual([0, 1]);
    expect(dead.map((batch) => batch.rows).sort()).toEqual([10, 20]);
    for (const batch of dead) {
      expect(batch.attempts).toBe(2);
      expect(batch.error).not.toContain('hunter2');
    }
    const nothing = await producer.writeResults('run-b', {});
    expect(nothing.missingBatches).toEqual([0, 1]);

    broken = false;
    expect(await producer.redrive('run-b')).toBe(2);
    const done = await producer.wait('run-b', { pollMs: 200 });
    expect(done).toMatchObject({ batchesRecorded: 2, batchesFailed: 0, done: 30, complete: true });
    expect(await producer.deadLetters('run-b')).toEqual([]);
    expect((await memoryStore.query({})).leads ?? []).toHaveLength(30);
  }, 120_000);

  it('producer and worker refuse a Redis that may evict, with the policy in the message', async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const server = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'].concat([
        '--maxmemory-policy',
        'allkeys-lru',
      ]),
      { stdio: 'ignore' },
    );
    try {
      const url = `redis://127.0.0.1:${port}`;
      await until(async () => {
        const probe = new Redis(url, {
          lazyConnect: true,
          maxRetriesPerRequest: 0,
          retryStrategy: () => null,
        });
        probe.on('error', () => undefined);
        const pong = await probe.ping().catch(() => '');
        probe.disconnect();
        return pong === 'PONG';
      }, 20_000);
      const producer = createDistributedRun({ connection: url });
      await expect(producer.submit([], { runId: 'r' })).rejects.toThrow(/maxmemory-policy is "allkeys-lru"/);
      await producer.close();
      const worker = createWorker({ connection: url, cache: createMemoryCache(), pipeline: {} });
      await expect(worker.ready()).rejects.toThrow(/noeviction/);
      await worker.close();
    } finally {
      server.kill('SIGKILL');
    }
  });

  it('refuses bad options and run ids, naming the field', async () => {
    expect(() =>
      createWorker({ connection: REDIS_URL, pipeline: {} } as unknown as DistributedWorkerOptions),
    ).toThrow(/cache/);
    const producer = openProducer(`q-${randomUUID().slice(0, 8)}`);
    const error = await producer.submit([], { runId: 'a:b' }).catch((caught: unknown) => caught);
    expect(ValidationError.isInstance(error)).toBe(true);
    expect((error as ValidationError).issues[0]?.field).toBe('runId');
    expect(() => createDistributedRun({ batchSize: 0 })).toThrow(/batchSize/);
  });
});

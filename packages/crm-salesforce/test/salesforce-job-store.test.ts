import { mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError, type CrmRecord, LeadpipeError, ValidationError } from '@leadpipe/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createFileBulkJobStore,
  createMemoryBulkJobStore,
  createSalesforce,
  type SalesforceBulkJobRecord,
  type SalesforceBulkJobStore,
  type SalesforceSettings,
} from '../src/index.js';
import { leadProperties, type SalesforceFixture, startSalesforce } from './support.js';

// `rename` passes through, except where a test makes it fail to see what a failed write leaves.
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return { ...actual, rename: vi.fn(actual.rename) };
});

let dir: string;
const fixtures: SalesforceFixture[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'leadpipe-sf-jobs-'));
});
afterEach(async () => {
  for (const fixture of fixtures.splice(0)) await fixture.close();
  await rm(dir, { recursive: true, force: true });
});

function job(n: number): SalesforceBulkJobRecord {
  return {
    jobId: `7505g00000Job${String(n).padStart(5, '0')}`,
    object: 'Lead',
    externalIdField: 'Lead_Key__c',
    records: 2000 + n,
    createdAt: Date.UTC(2026, 0, 1) + n,
  };
}

async function readJson(path: string): Promise<{ v: number; jobs: Record<string, SalesforceBulkJobRecord> }> {
  return JSON.parse(await readFile(path, 'utf8'));
}

describe('createFileBulkJobStore', () => {
  it('refuses a path that is not a non-empty string, naming it', () => {
    for (const path of ['', '   ', 42 as unknown as string]) {
      expect(() => createFileBulkJobStore(path)).toThrow(
        /^createFileBulkJobStore: path: must be a non-empty file path$/,
      );
    }
  });

  it('records, reads and forgets jobs, and the file holds exactly what the store does', async () => {
    const path = join(dir, 'jobs.json');
    const store = createFileBulkJobStore(path);
    expect(await store.get('batch-a')).toBeUndefined();
    await store.set('batch-a', job(1));
    await store.set('batch-b', job(2));
    expect(await store.get('batch-a')).toEqual(job(1));
    expect(store.size).toBe(2);
    expect(await readJson(path)).toEqual({ v: 1, jobs: { 'batch-a': job(1), 'batch-b': job(2) } });
    await store.set('batch-a', job(3));
    expect(await store.get('batch-a')).toEqual(job(3));
    await store.delete('batch-a');
    await store.delete('never-recorded');
    expect(await store.get('batch-a')).toBeUndefined();
    expect(store.size).toBe(1);
    expect(await readJson(path)).toEqual({ v: 1, jobs: { 'batch-b': job(2) } });
    await store.delete('batch-b');
    expect(await readJson(path)).toEqual({ v: 1, jobs: {} });
  });

  it('survives a reopen: a new store on the same path reads what the first one wrote', async () => {
    const path = join(dir, 'jobs.json');
    const first = createFileBulkJobStore(path);
    await first.set('batch-a', job(1));
    await first.set('batch-b', job(2));
    await first.delete('batch-a');

    const second = createFileBulkJobStore(path);
    expect(second.size).toBe(0); // nothing read before the first call
    expect(await second.get('batch-a')).toBeUndefined();
    expect(await second.get('batch-b')).toEqual(job(2));
    expect(second.size).toBe(1);
    await second.set('batch-c', job(3));

    const third = createFileBulkJobStore(path);
    expect(await third.get('batch-b')).toEqual(job(2));
    expect(await third.get('batch-c')).toEqual(job(3));
    expect(third.size).toBe(2);
  });

  it('drops no record on the way, whatever its batch id (even `__proto__`)', async () => {
    const path = join(dir, 'jobs.json');
    await createFileBulkJobStore(path).set('__proto__', job(1));
    await createFileBulkJobStore(path).set('constructor', job(2));
    expect(await readFile(path, 'utf8')).toContain('"__proto__"');
    const reopened = createFileBulkJobStore(path);
    expect(await reopened.get('__proto__')).toEqual(job(1));
    expect(await reopened.get('constructor')).toEqual(job(2));
    expect(await reopened.get('toString')).toBeUndefined();
    expect(reopened.size).toBe(2);
  });

  it('keeps every one of many concurrent sets and deletes, and leaves no temp file behind', async () => {
    const path = join(dir, 'jobs.json');
    const store = createFileBulkJobStore(path);
    await store.set('doomed-0', job(0));
    const calls: Promise<void>[] = [];
    for (let n = 1; n <= 40; n++) {
      calls.push(Promise.resolve(store.set(`batch-${n}`, job(n))));
      if (n % 10 === 0) calls.push(Promise.resolve(store.delete(`batch-${n}`)));
    }
    calls.push(Promise.resolve(store.delete('doomed-0')));
    await Promise.all(calls);
    const expected = Object.fromEntries(
      Array.from({ length: 40 }, (_, index) => index + 1)
        .filter((n) => n % 10 !== 0)
        .map((n) => [`batch-${n}`, job(n)]),
    );
    expect(store.size).toBe(36);
    expect((await readJson(path)).jobs).toEqual(expected);
    const reopened = createFileBulkJobStore(path);
    expect(await reopened.get('batch-39')).toEqual(job(39));
    expect(await reopened.get('batch-40')).toBeUndefined();
    expect(reopened.size).toBe(36);
    expect(await readdir(dir)).toEqual(['jobs.json']);
  });

  it('a write that fails leaves the file and the store as they were, and no temp file', async () => {
    const path = join(dir, 'jobs.json');
    const store = createFileBulkJobStore(path);
    await store.set('batch-a', job(1));
    const before = await readFile(path, 'utf8');
    vi.mocked(rename).mockRejectedValueOnce(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
    await expect(store.set('batch-b', job(2))).rejects.toMatchObject({ code: 'EIO' });
    expect(await readFile(path, 'utf8')).toBe(before);
    expect(await readdir(dir)).toEqual(['jobs.json']);
    expect(await store.get('batch-b')).toBeUndefined();
    expect(store.size).toBe(1);
    // The next call works again.
    await store.set('batch-b', job(2));
    expect(Object.keys((await readJson(path)).jobs)).toEqual(['batch-a', 'batch-b']);
  });

  it('creates missing parent folders on the first write, and reads a missing file as empty without creating it', async () => {
    const path = join(dir, 'state', 'salesforce', 'jobs.json');
    const store = createFileBulkJobStore(path);
    expect(await store.get('batch-a')).toBeUndefined();
    await store.delete('batch-a');
    expect(await readdir(dir)).toEqual([]);
    await store.set('batch-a', job(1));
    expect(await readJson(path)).toEqual({ v: 1, jobs: { 'batch-a': job(1) } });
  });

  const foreign: readonly (readonly [string, string, RegExp])[] = [
    ['not JSON', 'SECRET-MARKER token=abc\n', /is not JSON/],
    ['an empty file', '', /is not JSON/],
    ['a JSON array', '["SECRET-MARKER"]', /not a JSON object/],
    [
      'another tool’s JSON',
      '{"name":"SECRET-MARKER","version":"1.0.0"}',
      /not a JSON object with `v` and `jobs`/,
    ],
    ['another version', '{"v":2,"jobs":{}}', /version `v` is not 1/],
    ['extra top-level fields', '{"v":1,"jobs":{},"token":"SECRET-MARKER"}', /fields besides `v` and `jobs`/],
    [
      'one bad record among good ones',
      JSON.stringify({
        v: 1,
        jobs: { good: job(1), 'SECRET-MARKER': { ...job(2), records: 'SECRET-MARKER' } },
      }),
      /job record 2 of 2: `records` is missing or not a number/,
    ],
    [
      'a record missing a field',
      JSON.stringify({ v: 1, jobs: { 'SECRET-MARKER': { jobId: '750x', object: 'Lead' } } }),
      /job record 1 of 1: `externalIdField` is missing/,
    ],
    [
      'a record with an unknown field',
      JSON.stringify({ v: 1, jobs: { a: { ...job(1), accessToken: 'SECRET-MARKER' } } }),
      /job record 1 of 1 has fields this version does not write/,
    ],
  ];

  it.each(foreign)(
    'refuses %s with job_store_corrupt naming the path, never the contents, and leaves the file as it is',
    async (_, contents, reason) => {
      const path = join(dir, 'jobs.json');
      await writeFile(path, contents);
      const before = await stat(path);
      const store = createFileBulkJobStore(path);
      const error = await Promise.resolve(store.get('good')).catch((caught: unknown) => caught);
      expect(LeadpipeError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ code: 'job_store_corrupt', providerId: 'salesforce' });
      const { message } = error as LeadpipeError;
      expect(message).toContain(path);
      expect(message).toMatch(reason);
      expect(message).not.toContain('SECRET-MARKER');
      expect(JSON.stringify((error as LeadpipeError).toJSON())).not.toContain('SECRET-MARKER');
      // Later calls, writes included, keep refusing instead of overwriting the file.
      await expect(store.set('batch-a', job(1))).rejects.toMatchObject({ code: 'job_store_corrupt' });
      await expect(store.delete('good')).rejects.toMatchObject({ code: 'job_store_corrupt' });
      expect(await readFile(path, 'utf8')).toBe(contents);
      expect((await stat(path)).mtimeMs).toBe(before.mtimeMs);
      expect(await readdir(dir)).toEqual(['jobs.json']);
    },
  );

  it('refuses an empty path as a configuration error, and a malformed record or batch id without writing', async () => {
    for (const path of ['', '   ', undefined as unknown as string]) {
      let error: unknown;
      try {
        createFileBulkJobStore(path);
      } catch (caught) {
        error = caught;
      }
      expect(ConfigurationError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ code: 'invalid_configuration', message: expect.stringMatching(/path/) });
    }
    const path = join(dir, 'jobs.json');
    const store = createFileBulkJobStore(path);
    const badJob = { ...job(1), records: -1 } as SalesforceBulkJobRecord;
    const error = await Promise.resolve(store.set('batch-a', badJob)).catch((caught: unknown) => caught);
    expect(ValidationError.isInstance(error)).toBe(true);
    expect((error as ValidationError).issues).toEqual([
      { field: 'job.records', reason: 'is empty or too small' },
    ]);
    await expect(store.set('', job(1))).rejects.toMatchObject({ code: 'validation_failed' });
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('createFileBulkJobStore with the adapter, against the Salesforce emulator over HTTP', () => {
  async function start(...args: Parameters<typeof startSalesforce>): Promise<SalesforceFixture> {
    const fixture = await startSalesforce(...args);
    fixtures.push(fixture);
    return fixture;
  }

  const upsert = (adapter: ReturnType<typeof createSalesforce>, batch: readonly CrmRecord[]) =>
    adapter.doUpsert({ object: 'Lead', idProperty: 'Lead_Key__c', records: batch }, {});

  const records = (count: number, prefix: string): CrmRecord[] =>
    Array.from({ length: count }, (_, index) => ({
      key: `${prefix}-${index}`,
      properties: leadProperties(index),
    }));

  /**
   * A run that stops while its Bulk job is still in progress, then a new
   * adapter with a new store (a restarted process) upserting the same
   * records. The emulator's clock only moves when the test says so: with a
   * 60 s start delay, a 20 ms poll timeout always gives up first.
   */
  async function restart(storeForB: (path: string) => SalesforceBulkJobStore & { readonly size: number }) {
    const sf = await start({ bulkStartDelayMs: 60_000 });
    const path = join(dir, 'state', 'salesforce-jobs.json');
    // Every token the emulator hands out, to check none reaches the file.
    const issued: string[] = [];
    const fetchAndKeepTokens: typeof globalThis.fetch = async (input, init) => {
      const request = new Request(input, init);
      const response = await fetch(request);
      if (new URL(request.url).pathname.endsWith('/oauth2/token')) {
        const body = (await response.clone().json()) as Record<string, string>;
        for (const name of ['access_token', 'refresh_token', 'signature'])
          if (body[name]) issued.push(body[name]);
      }
      return response;
    };
    const settings = (jobStore: SalesforceBulkJobStore): SalesforceSettings => ({
      refreshToken: sf.emulator.credentials.refreshToken,
      clientId: sf.emulator.credentials.clientId,
      clientSecret: sf.emulator.credentials.clientSecret,
      loginUrl: sf.url,
      bulkThreshold: 10,
      bulkPollIntervalMs: 1,
      bulkPollTimeoutMs: 20,
      fetch: fetchAndKeepTokens,
      jobStore,
    });
    const secrets = () => [
      ...issued,
      sf.emulator.credentials.refreshToken,
      sf.emulator.credentials.clientSecret,
      sf.emulator.credentials.accessToken,
    ];
    const batch = records(30, 'restart');

    // Process A: uploads the batch, gives up polling, leaves the job in the file.
    const adapterA = createSalesforce(settings(createFileBulkJobStore(path)));
    const first = await upsert(adapterA, batch);
    for (const result of first) {
      expect(result.status === 'failed' && result.error).toMatchObject({
        code: 'timeout',
        vendorCode: 'BULK_JOB_PENDING',
      });
    }
    const [jobA] = sf.emulator.jobs();
    expect(sf.emulator.jobs()).toHaveLength(1);
    expect(jobA?.state).toBe('UploadComplete');
    const left = await readJson(path);
    expect(Object.values(left.jobs)).toEqual([
      {
        jobId: jobA?.id,
        object: 'Lead',
        externalIdField: 'Lead_Key__c',
        records: 30,
        createdAt: expect.any(Number),
      },
    ]);
    expect(issued.length).toBeGreaterThan(0);
    const fileAfterA = await readFile(path, 'utf8');
    for (const secret of secrets()) expect(fileAfterA).not.toContain(secret);

    // The org finishes the job while nothing runs.
    sf.advance(120_000);
    expect(sf.emulator.jobs()[0]?.state).toBe('JobComplete');

    // Process B: a new adapter and a new store object, same records in another order.
    const storeB = storeForB(path);
    const adapterB = createSalesforce(settings(storeB));
    const second = await upsert(adapterB, [...batch].reverse());
    const count = (suffix: string, method: string) =>
      sf.calls().filter((call) => call.startsWith(`${method} `) && call.endsWith(suffix)).length;
    return {
      sf,
      path,
      storeB,
      adapterB,
      batch,
      second,
      secrets,
      ingestJobsCreated: () => count('/jobs/ingest', 'POST'),
      uploads: () => count('/batches', 'PUT'),
    };
  }

  it('a restarted process reads the results of the job the previous one left in the file: no second job, no second upload', async () => {
    const run = await restart((path) => createFileBulkJobStore(path));
    expect(run.ingestJobsCreated()).toBe(1);
    expect(run.uploads()).toBe(1);
    expect(run.sf.emulator.jobs()).toHaveLength(1);
    expect(run.second.every((result) => result.status === 'created')).toBe(true);
    expect(run.second.map((result) => result.key)).toEqual(
      [...run.batch].reverse().map((record) => record.key),
    );
    expect(run.sf.emulator.leads()).toHaveLength(30);
    // Read and forgotten, in memory and in the file.
    expect(run.storeB.size).toBe(0);
    expect(await readJson(run.path)).toEqual({ v: 1, jobs: {} });
    const fileAfterB = await readFile(run.path, 'utf8');
    for (const secret of run.secrets()) expect(fileAfterB).not.toContain(secret);
  });

  it('with an in-memory store instead, the restarted process uploads the batch again as a second job', async () => {
    const run = await restart(() => createMemoryBulkJobStore());
    // B knows nothing of A's job: it creates its own, which is still in progress when B's poll gives up.
    for (const result of run.second) {
      expect(result.status === 'failed' && result.error).toMatchObject({ vendorCode: 'BULK_JOB_PENDING' });
    }
    expect(run.sf.emulator.jobs()).toHaveLength(2);
    expect(run.ingestJobsCreated()).toBe(2);
    expect(run.uploads()).toBe(2);
    // Idempotent all the same: B's job only updates the records A's job created.
    run.sf.advance(120_000);
    const third = await upsert(run.adapterB, run.batch);
    expect(third.every((result) => result.status === 'updated')).toBe(true);
    expect(run.uploads()).toBe(2);
    expect(run.sf.emulator.leads()).toHaveLength(30);
    // A's entry is still in the file: nothing read it.
    expect(Object.keys((await readJson(run.path)).jobs)).toHaveLength(1);
  });
});

import { appendFile, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import {
  createCsvWriter,
  createFileCheckpointStore,
  createLeadPipeline,
  defineFieldMapping,
  defineProvider,
  type EnrichRequest,
  LeadpipeError,
  PipelineAbortedError,
  type PipelineReport,
  ValidationError,
} from '../src/index.js';
import { Hash64Map, hash64 } from '../src/stores/hash-map.js';
import { compressRows, RowRanges } from '../src/stores/row-ranges.js';
import { FakeCrm } from './crm-fixtures.js';

const tempDir = () => mkdtemp(join(tmpdir(), 'leadpipe-checkpoint-'));

describe('RowRanges', () => {
  it('keeps a watermark and few ranges whatever the order rows finish in', () => {
    const ranges = new RowRanges();
    const order = [3, 1, 2, 7, 5, 6, 10, 4, 9];
    for (const row of order) ranges.add(row);
    expect(ranges.watermark).toBe(7);
    expect(ranges.toRanges()).toEqual([
      [1, 7],
      [9, 10],
    ]);
    expect(ranges.has(8)).toBe(false);
    expect(ranges.has(9)).toBe(true);
    expect(ranges.count).toBe(9);
    ranges.addRange(8, 20);
    expect(ranges.toRanges()).toEqual([[1, 20]]);
    expect(ranges.count).toBe(20);
    ranges.addRange(30, 40);
    ranges.addRange(25, 35);
    expect(ranges.toRanges()).toEqual([
      [1, 20],
      [25, 40],
    ]);
    expect(ranges.count).toBe(36);
  });

  it('stays small over a long shuffled run', () => {
    const ranges = new RowRanges();
    let maxRanges = 0;
    for (let base = 0; base < 100_000; base += 16) {
      for (const offset of [5, 2, 0, 9, 15, 1, 3, 4, 6, 7, 8, 10, 12, 11, 14, 13])
        ranges.add(base + offset + 1);
      maxRanges = Math.max(maxRanges, ranges.rangeCount);
    }
    expect(ranges.watermark).toBe(100_000);
    expect(maxRanges).toBeLessThanOrEqual(4);
  });

  it('compresses rows to ranges', () => {
    expect(compressRows([5, 1, 2, 3, 9, 8])).toEqual([
      [1, 3],
      [5, 5],
      [8, 9],
    ]);
  });
});

describe('Hash64Map', () => {
  it('stores values by 64-bit hash and grows past its first capacity', () => {
    const map = new Hash64Map();
    for (let index = 0; index < 5_000; index++) map.set(hash64(`key${index}`), index);
    expect(map.size).toBe(5_000);
    expect(map.get(hash64('key4321'))).toBe(4321);
    expect(map.get(hash64('missing'))).toBeUndefined();
    expect(map.setIfAbsent(hash64('key7'), 99)).toBe(7);
    expect(map.setIfAbsent(hash64('new'), 99)).toBeUndefined();
    expect(map.byteLength).toBe(8192 * 16);
  });
});

describe('createFileCheckpointStore', () => {
  it('records finished rows and results durably, and loads them on resume', async () => {
    const path = join(await tempDir(), 'nested', 'run.checkpoint');
    let clock = 1_000;
    const store = createFileCheckpointStore(path, { now: () => clock });
    const first = await store.open({ fingerprint: 'f1', resume: true });
    expect(first.resumed).toBe(false);
    await first.markFinished([1, 2, 3, 5]);
    await first.results.set('k1', { status: 'matched', n: 1 }, 10_000);
    await first.results.set('short', 'x', 10);
    await first.results.set('gone', 'y', 10_000);
    await first.results.delete('gone');
    expect(await first.results.get('k1')).toEqual({ status: 'matched', n: 1 });
    await first.close();

    clock = 2_000;
    const second = await createFileCheckpointStore(path, { now: () => clock }).open({
      fingerprint: 'f1',
      resume: true,
    });
    expect(second.resumed).toBe(true);
    expect(second.finishedBefore).toBe(4);
    expect(await second.finishedIn({ from: 1, to: 5 })).toEqual([1, 2, 3, 5]);
    expect(await second.finishedIn({ from: 4, to: 4 })).toEqual([]);
    await expect(second.finishedIn({ from: 3, to: 2 })).rejects.toThrow(/window/);
    expect(await second.results.get('k1')).toEqual({ status: 'matched', n: 1 });
    expect(await second.results.get('short')).toBeUndefined();
    expect(await second.results.get('nope')).toBeUndefined();
    await second.close();
  });

  it('finds every result again on resume when its index spills to disk: newest value wins, deleted stays deleted', async () => {
    const folder = await tempDir();
    const path = join(folder, 'run.checkpoint');
    const indexFolder = join(folder, 'index');
    await mkdir(indexFolder);
    const options = { index: { maxMemoryEntries: 1024, directory: indexFolder } };
    const first = await createFileCheckpointStore(path, options).open({ fingerprint: 'f1', resume: true });
    for (let key = 0; key < 3000; key++) await first.results.set(`k${key}`, { n: key }, 60_000);
    // Keys written again after their first copy was spilled: the newer value must win.
    for (let key = 0; key < 100; key++) await first.results.set(`k${key}`, { n: key + 100_000 }, 60_000);
    expect(await first.results.get('k5')).toEqual({ n: 100_005 });
    // A deleted answer stays deleted after a restart.
    await first.results.delete('k2999');
    expect(await first.results.get('k2999')).toBeUndefined();
    await first.close();
    expect(await readdir(indexFolder)).toEqual([]);

    const second = await createFileCheckpointStore(path, options).open({ fingerprint: 'f1', resume: true });
    for (let key = 0; key < 2999; key++) {
      expect(await second.results.get(`k${key}`)).toEqual({ n: key < 100 ? key + 100_000 : key });
    }
    expect(await second.results.get('k2999')).toBeUndefined();
    expect(await second.results.get('k3000')).toBeUndefined();
    expect((await readdir(indexFolder)).length).toBe(1);
    await second.close();
    expect(await readdir(indexFolder)).toEqual([]);
  });

  it('ignores a torn last line left by a crash, in both files', async () => {
    const path = join(await tempDir(), 'run.checkpoint');
    const store = createFileCheckpointStore(path);
    const first = await store.open({ fingerprint: 'f1', resume: false });
    await first.markFinished([1, 2]);
    await first.results.set('k1', 'v1', 60_000);
    await first.close();
    await appendFile(path, '{"f":[3,');
    await appendFile(`${path}.results`, '{"k":"k2","v":');
    const second = await store.open({ fingerprint: 'f1', resume: true });
    expect(await second.finishedIn({ from: 2, to: 3 })).toEqual([2]);
    expect(await second.results.get('k1')).toBe('v1');
    await second.markFinished([3]);
    await second.results.set('k2', 'v2', 60_000);
    await second.close();
    const third = await store.open({ fingerprint: 'f1', resume: true });
    expect(await third.finishedIn({ from: 3, to: 3 })).toEqual([3]);
    expect(await third.results.get('k2')).toBe('v2');
    await third.close();
  });

  it('refuses to resume a checkpoint of another input, and starts over without resume', async () => {
    const path = join(await tempDir(), 'run.checkpoint');
    const store = createFileCheckpointStore(path);
    const first = await store.open({ fingerprint: 'f1', resume: false });
    await first.markFinished([1]);
    await first.close();
    const error = await store.open({ fingerprint: 'other', resume: true }).catch((caught: unknown) => caught);
    expect(ValidationError.isInstance(error)).toBe(true);
    expect((error as ValidationError).issues[0]?.field).toBe('fingerprint');
    const fresh = await store.open({ fingerprint: 'other', resume: false });
    expect(await fresh.finishedIn({ from: 1, to: 1 })).toEqual([]);
    await fresh.close();
  });

  it('says a damaged checkpoint is corrupt', async () => {
    const path = join(await tempDir(), 'run.checkpoint');
    await writeFile(path, '{"v":1,"fingerprint":"f1"}\nnot json\n{"f":[1,1]}\n');
    const error = await createFileCheckpointStore(path)
      .open({ fingerprint: 'f1', resume: true })
      .catch((caught: unknown) => caught);
    expect(LeadpipeError.isInstance(error) && error.code).toBe('checkpoint_corrupt');
    expect(() => createFileCheckpointStore('')).toThrow(/path: must be a non-empty file path/);
  });
});

describe('resume', () => {
  const contacts = defineFieldMapping({
    object: 'contacts',
    idProperty: { from: 'email', to: 'email' },
    fields: [{ from: 'title', to: 'jobtitle' }],
  });
  const UNIQUE = 150;
  // Every 10th row repeats an earlier email.
  const source = Array.from({ length: 165 }, (_, index) => ({
    Email: index % 11 === 10 ? `p${index - 10}@acme.com` : `p${index}@acme.com`,
    Plan: `plan-${index}`,
  }));

  function countingProvider(calls: Map<string, number>, onCall?: (email: string) => void) {
    const provider = defineProvider({
      id: 'people',
      lookups: [{ requires: ['email'], supplies: ['title'] }],
      rateLimits: { maxConcurrent: 8 },
      enrich: async ({ input }: EnrichRequest) => {
        const email = input.email ?? '';
        calls.set(email, (calls.get(email) ?? 0) + 1);
        onCall?.(email);
        return { fields: { title: `Title of ${email}` } };
      },
    });
    return provider;
  }

  it('skips finished rows, pays no provider twice and creates nothing twice in the CRM', async () => {
    const dir = await tempDir();
    const checkpointPath = join(dir, 'run.checkpoint');
    const outputPath = join(dir, 'out.csv');
    const calls = new Map<string, number>();
    const crm = new FakeCrm('crm', { maxBatchSize: 10 });
    const controller = new AbortController();
    let seen = 0;
    const first = createLeadPipeline({
      enrichment: {
        providers: [
          countingProvider(calls, () => {
            seen += 1;
            if (seen === 70) controller.abort(new Error('stop'));
          }),
        ],
        fields: ['title'],
      },
      crms: [{ adapter: crm, mapping: contacts }],
      checkpoints: createFileCheckpointStore(checkpointPath),
      concurrency: 8,
      checkpointEvery: 7,
    });
    const error = await first
      .run(source, { output: createCsvWriter(outputPath), signal: controller.signal })
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    if (!PipelineAbortedError.isInstance(error)) throw error;
    const stopped = (error as PipelineAbortedError<PipelineReport>).report;
    expect(stopped.counts.unfinished).toBeGreaterThan(0);
    const finishedFirst = stopped.counts.done + stopped.counts.rejected + stopped.counts.deadLettered;
    expect(finishedFirst).toBeGreaterThan(0);
    await first.close();

    // A new pipeline (as in a new process): only the checkpoint files carry over.
    const second = createLeadPipeline({
      enrichment: { providers: [countingProvider(calls)], fields: ['title'] },
      crms: [{ adapter: crm, mapping: contacts }],
      checkpoints: createFileCheckpointStore(checkpointPath),
      concurrency: 8,
    });
    const report = await second.run(source, {
      resume: true,
      output: createCsvWriter(outputPath, { append: true }),
    });
    expect(report.resumed).toBe(true);
    expect(report.counts.skipped).toBe(finishedFirst);
    expect(report.counts.read).toBe(source.length);
    expect(report.counts.done + report.counts.skipped).toBe(source.length);
    // Rows that were enriched but not finished at the stop were served from the checkpoint's result log.
    expect(report.providers.people?.cacheHits).toBeGreaterThan(0);

    expect(calls.size).toBe(UNIQUE);
    expect([...calls].filter(([, count]) => count !== 1)).toEqual([]);
    expect(crm.records.size).toBe(UNIQUE);
    const created = crm.upsertCalls().flatMap((call) => call.keys);
    expect(new Set(created).size).toBe(UNIQUE);

    const rows = parse(await readFile(outputPath, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(UNIQUE);
    expect(new Set(rows.map((row) => row.Email)).size).toBe(UNIQUE);
    expect(rows[0]?.title).toMatch(/^Title of p\d+@acme\.com$/);
    await second.close();

    // A third run with resume has nothing left to do.
    const third = createLeadPipeline({
      checkpoints: createFileCheckpointStore(checkpointPath),
      crms: [{ adapter: crm, mapping: contacts }],
    });
    const again = await third.run(source, { resume: true });
    expect(again.counts).toMatchObject({ skipped: source.length, done: 0 });
  });

  it('refuses to resume with a different input', async () => {
    const checkpointPath = join(await tempDir(), 'run.checkpoint');
    const pipeline = createLeadPipeline({ checkpoints: createFileCheckpointStore(checkpointPath) });
    await pipeline.run([{ email: 'a@acme.com' }]);
    const error = await pipeline.run([{ email: 'b@acme.com' }], { resume: true }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(ValidationError.isInstance(error)).toBe(true);
    expect((error as ValidationError).issues[0]).toMatchObject({ field: 'fingerprint' });
    // An explicit fingerprint (say, a hash the host computed of the file) is compared as given.
    await pipeline.run([{ email: 'a@acme.com' }], { fingerprint: 'file-v1' });
    const report = await pipeline.run([{ email: 'b@acme.com' }], { resume: true, fingerprint: 'file-v1' });
    expect(report.counts).toMatchObject({ skipped: 1, done: 0 });
  });
});

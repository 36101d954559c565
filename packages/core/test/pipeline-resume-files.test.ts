import { appendFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import {
  compactResultLog,
  createCsvWriter,
  createDuplicatesWriter,
  createFileCheckpointStore,
  createLeadPipeline,
  createRejectsWriter,
  defineProvider,
  type EnrichRequest,
  ValidationError,
} from '../src/index.js';

const tempDir = () => mkdtemp(join(tmpdir(), 'leadpipe-resume-files-'));

function countingProvider(calls: Map<string, number>) {
  return defineProvider({
    id: 'people',
    lookups: [{ requires: ['email'], supplies: ['title'] }],
    enrich: async ({ input }: EnrichRequest) => {
      const email = input.email ?? '';
      calls.set(email, (calls.get(email) ?? 0) + 1);
      return { fields: { title: `Title of ${email}` } };
    },
  });
}

// 30 rows: every 7th repeats the row before it, every 10th is not an email.
const source = Array.from({ length: 30 }, (_, index) => ({
  Email: index % 10 === 9 ? 'nope' : index % 7 === 6 ? `p${index - 1}@acme.com` : `p${index}@acme.com`,
}));

describe('resume cuts the files back to the checkpoint', () => {
  it('rows written after the last flush (a crash) are cut off the output, rejects and duplicates files, and every file names each row once', async () => {
    const dir = await tempDir();
    const paths = {
      checkpoint: join(dir, 'run.checkpoint'),
      output: join(dir, 'out.csv'),
      rejects: join(dir, 'rejects.csv'),
      duplicates: join(dir, 'duplicates.csv'),
    };
    const calls = new Map<string, number>();
    const run = async (resume: boolean) => {
      const rejects = createRejectsWriter(paths.rejects, { append: resume });
      const duplicates = createDuplicatesWriter(paths.duplicates, { append: resume });
      const pipeline = createLeadPipeline({
        enrichment: { providers: [countingProvider(calls)], fields: ['title'] },
        checkpoints: createFileCheckpointStore(paths.checkpoint),
        rejects,
        duplicates,
        checkpointEvery: 4,
      });
      try {
        return await pipeline.run(source, {
          resume,
          output: createCsvWriter(paths.output, { append: resume, rowNumbers: true }),
        });
      } finally {
        await rejects.close();
        await duplicates.close();
        await pipeline.close();
      }
    };
    const first = await run(false);
    const clean = {
      output: await readFile(paths.output, 'utf8'),
      rejects: await readFile(paths.rejects, 'utf8'),
      duplicates: await readFile(paths.duplicates, 'utf8'),
    };
    // What a process killed after the last flush leaves: rows in each file the checkpoint does not cover.
    await appendFile(paths.output, 'p99@acme.com,written after the flush,,,9\n');
    await appendFile(paths.rejects, 'nope,99,,read,written after the flush,\n');
    await appendFile(paths.duplicates, '99,98,p98@acme.com\n');

    const resumed = await run(true);
    expect(resumed.counts.skipped).toBe(source.length);
    expect(await readFile(paths.output, 'utf8')).toBe(clean.output);
    expect(await readFile(paths.rejects, 'utf8')).toBe(clean.rejects);
    expect(await readFile(paths.duplicates, 'utf8')).toBe(clean.duplicates);
    // The resumed run's report and exit figures include the first run's rows.
    expect(resumed.total).toEqual({
      done: first.counts.done,
      duplicates: first.counts.duplicates,
      rejected: first.counts.rejected,
      deadLettered: 0,
    });
    expect(resumed.total.rejected).toBe(3);

    const rows = parse(clean.output, { columns: true }) as Record<string, string>[];
    for (const row of rows) expect(source[Number(row.leadpipe_row) - 1]?.Email).toBe(row.Email);
    const merged = parse(clean.duplicates, { columns: true }) as Record<string, string>[];
    expect(merged.map((row) => [Number(row.leadpipe_row), Number(row.leadpipe_duplicate_of)])).toEqual([
      [7, 6],
      [14, 13],
      // Row 21 repeats row 20, which was rejected: it is a lead of its own.
      [28, 27],
    ]);
    expect([...calls.values()].every((count) => count === 1)).toBe(true);
  });

  it('refuses to resume onto an output file shorter than the checkpoint covers', async () => {
    const dir = await tempDir();
    const output = join(dir, 'out.csv');
    const pipeline = () =>
      createLeadPipeline({ checkpoints: createFileCheckpointStore(join(dir, 'run.checkpoint')) });
    await pipeline().run(source, { output: createCsvWriter(output) });
    // The checkpoint has finished rows and its flush says where the output ended: a replaced file is not cut.
    await writeFile(output, 'Email\n');
    const error = await pipeline()
      .run(source, { resume: true, output: createCsvWriter(output, { append: true }) })
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(ValidationError.isInstance(error)).toBe(true);
    expect((error as ValidationError).issues[0]?.field).toBe('output');
    expect((error as ValidationError).issues[0]?.reason).toContain('fewer than the');
    expect(await readFile(output, 'utf8')).toBe('Email\n');
  });

  it('a run started over without resume reuses the answers the checkpoint holds and says how many', async () => {
    const dir = await tempDir();
    const calls = new Map<string, number>();
    const make = () =>
      createLeadPipeline({
        enrichment: { providers: [countingProvider(calls)], fields: ['title'] },
        checkpoints: createFileCheckpointStore(join(dir, 'run.checkpoint')),
      });
    await make().run(source);
    const paid = [...calls.values()].reduce((sum, count) => sum + count, 0);
    const again = await make().run(source);
    expect(again.resumed).toBe(false);
    expect(again.reusedAnswers).toBe(paid);
    expect([...calls.values()].every((count) => count === 1)).toBe(true);
    const fresh = await make().run(source, { fresh: true });
    expect(fresh.reusedAnswers).toBe(0);
    expect([...calls.values()].every((count) => count === 2)).toBe(true);
  });
});

describe('compactResultLog', () => {
  it('keeps the latest live answer of each key, drops overwritten, expired and deleted ones', async () => {
    const dir = await tempDir();
    const path = join(dir, 'run.checkpoint');
    let now = 1_000;
    const store = () => createFileCheckpointStore(path, { now: () => now });
    const checkpoint = await store().open({ fingerprint: 'f', resume: false });
    await checkpoint.results.set('kept', 'old', 60_000);
    await checkpoint.results.set('kept', 'new', 60_000);
    await checkpoint.results.set('deleted', 'x', 60_000);
    await checkpoint.results.delete('deleted');
    await checkpoint.results.set('expires', 'y', 10);
    await checkpoint.close();
    now += 1_000;
    const compaction = await compactResultLog(`${path}.results`, { now: () => now });
    expect(compaction.answers).toBe(1);
    expect(compaction.bytesAfter).toBeLessThan(compaction.bytesBefore);
    const text = await readFile(`${path}.results`, 'utf8');
    expect(text.trim().split('\n')).toHaveLength(1);
    const reopened = await store().open({ fingerprint: 'f', resume: true });
    expect(await reopened.results.get('kept')).toBe('new');
    expect(await reopened.results.get('deleted')).toBe(undefined);
    await reopened.close();
    expect(await compactResultLog(join(dir, 'missing.results'))).toEqual({
      bytesBefore: 0,
      bytesAfter: 0,
      answers: 0,
    });
  });
});

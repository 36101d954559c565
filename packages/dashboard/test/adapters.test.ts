import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryCampaignStore } from '@leadpipe/campaigns';
import { createLeadPipeline, createMemoryDeadLetterQueue, type PipelineReport } from '@leadpipe/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  campaignsFromStore,
  createRunTracker,
  deadLettersFrom,
  runFromReport,
  runsFromReportFiles,
} from '../src/index.js';
import { get, hostApp, signIn } from './support.js';

let folder: string;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'leadpipe-dashboard-'));
});
afterAll(() => rm(folder, { recursive: true, force: true }));

/** A real report: a pipeline run over three leads, one of them bad. */
async function realReport(): Promise<PipelineReport> {
  const pipeline = createLeadPipeline({});
  const report = await pipeline.run([
    { email: 'ada@example.com' },
    { email: 'not-an-email' },
    { email: 'bo@example.com' },
  ]);
  await pipeline.close();
  return report;
}

describe('runFromReport', () => {
  it('takes the counts, the error and the provider figures of a report; credit budgets win over request windows', () => {
    const report = {
      status: 'failed',
      resumed: false,
      dryRun: false,
      counts: {
        read: 10,
        skipped: 2,
        validated: 8,
        duplicates: 0,
        enriched: 5,
        synced: 0,
        done: 6,
        rejected: 1,
        deadLettered: 1,
        unfinished: 0,
      },
      total: { done: 6, duplicates: 0, rejected: 1, deadLettered: 1 },
      providers: {
        apollo: {
          calls: 8,
          requests: 8,
          cacheHits: 0,
          matches: 5,
          misses: 3,
          pending: 0,
          errors: 0,
          rateLimited: 2,
          authRetries: 0,
          budgetSkips: 0,
          credits: 5,
          latency: { count: 8, meanMs: 1, p50Ms: 1, p95Ms: 1, p99Ms: 1, maxMs: 1 },
        },
        clearbit: {
          calls: 3,
          requests: 3,
          cacheHits: 0,
          matches: 1,
          misses: 2,
          pending: 0,
          errors: 0,
          rateLimited: 0,
          authRetries: 0,
          budgetSkips: 0,
          credits: 1,
          latency: { count: 3, meanMs: 1, p50Ms: 1, p95Ms: 1, p99Ms: 1, maxMs: 1 },
        },
      },
      credits: 6,
      reusedAnswers: 0,
      crms: [],
      durationMs: 10,
      leadsPerSecond: 800,
      rejects: [],
      deadLetters: [],
      startedAt: '2026-12-06T10:00:00.000Z',
      finishedAt: '2026-12-06T10:00:01.000Z',
      error: { code: 'server_error', message: 'the source failed' },
    } as unknown as PipelineReport;
    const run = runFromReport(
      report,
      { id: 'r1' },
      {
        providers: [
          { providerId: 'apollo', capabilities: { rateLimits: { perMinute: 50, perHour: 200 } } },
          { providerId: 'clearbit', capabilities: { rateLimits: { perDay: 1000 } } },
        ],
        creditBudgets: { clearbit: 4 },
      },
    );
    expect(run).toMatchObject({
      id: 'r1',
      status: 'failed',
      counts: { read: 10, done: 6, rejected: 1, deadLettered: 1, skipped: 2 },
      error: { code: 'server_error', message: 'the source failed' },
    });
    expect(run.label).toBeUndefined();
    expect(run.providers.map((use) => [use.provider, use.quota])).toEqual([
      ['apollo', { unit: 'calls/hour', used: 8, limit: 200 }],
      ['clearbit', { unit: 'credits (budget)', used: 1, limit: 4 }],
    ]);
  });
});

describe('createRunTracker', () => {
  it('lists newest first and keeps only the last finished runs', async () => {
    const tracker = createRunTracker({ keepFinished: 2 });
    for (const id of ['a', 'b', 'c']) {
      const pipeline = createLeadPipeline({});
      const run = pipeline.run([{ email: `${id}@example.com` }]);
      expect(tracker.track(pipeline, run, { id })).toBe(id);
      await run;
      await pipeline.close();
    }
    const runs = await tracker.list();
    expect(runs.map((run) => [run.id, run.status, run.counts.done])).toEqual([
      ['c', 'completed', 1],
      ['b', 'completed', 1],
    ]);
    const pipeline = createLeadPipeline({});
    const id = tracker.track(pipeline, pipeline.run([]));
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await tracker.list())[0]).toMatchObject({ id, status: 'running' });
    await pipeline.close();
  });
});

describe('runsFromReportFiles', () => {
  it('reads the reports of a folder, newest first, and leaves out what is not a report', async () => {
    const reports = join(folder, 'reports');
    await mkdir(reports);
    const report = await realReport();
    const older = { ...report, startedAt: '2026-01-01T00:00:00.000Z' };
    await writeFile(join(reports, 'monday.json'), JSON.stringify(older));
    await writeFile(join(reports, 'tuesday.json'), JSON.stringify(report));
    await writeFile(join(reports, 'broken.json'), '{"status": "completed", ');
    await writeFile(join(reports, 'settings.json'), '{"theme": "dark"}');
    await writeFile(join(reports, 'notes.txt'), 'not json at all');
    await mkdir(join(reports, 'folder.json'));
    const skipped: [string, string][] = [];
    const source = runsFromReportFiles(reports, { onSkip: (file, reason) => skipped.push([file, reason]) });
    const runs = await source.list();
    expect(runs.map((run) => [run.id, run.label, run.status])).toEqual([
      ['tuesday', 'tuesday', 'completed'],
      ['monday', 'monday', 'completed'],
    ]);
    expect(runs[0]!.counts).toMatchObject({ read: 3, done: 2, rejected: 1 });
    expect(skipped.sort()).toEqual([
      [join(reports, 'broken.json'), 'is not valid JSON'],
      [join(reports, 'settings.json'), 'is not a pipeline report'],
    ]);
    expect(await runsFromReportFiles(reports, { limit: 1 }).list()).toHaveLength(1);
  });

  it('a missing folder fails the runs page with a 503, not the process', async () => {
    const app = hostApp({ runs: runsFromReportFiles(join(folder, 'nope')) });
    const session = await signIn(app, 'lp_read_3f1c9a');
    const response = await get(app, '/dashboard/runs', session);
    expect(response.status).toBe(503);
    expect(await response.text()).toContain('Could not load: Error (details in the server');
  });
});

describe('campaignsFromStore', () => {
  it('names campaigns by id or through a function; steps without a definition follow in the store order', async () => {
    const store = createMemoryCampaignStore();
    const source = campaignsFromStore(store, async () => ['quiet', { id: 'empty' }]);
    const campaigns = await source.list();
    expect(campaigns).toEqual([
      { id: 'quiet', enrolled: 0, byStatus: { active: 0, completed: 0, exited: 0, failed: 0 }, steps: [] },
      { id: 'empty', enrolled: 0, byStatus: { active: 0, completed: 0, exited: 0, failed: 0 }, steps: [] },
    ]);
    const app = hostApp({ campaigns: source });
    const session = await signIn(app, 'lp_read_3f1c9a');
    expect(await (await get(app, '/dashboard/campaigns', session)).text()).toContain(
      'No send step has stats yet.',
    );
    await store.close();
  });
});

describe('deadLettersFrom', () => {
  it('without a CRM sync, redrive skips every entry and leaves the queue as it is', async () => {
    const queue = createMemoryDeadLetterQueue();
    await queue.put({
      id: 'd1',
      target: 'hubspot',
      object: 'contacts',
      idProperty: 'email',
      record: { key: 'a@example.com', properties: {} },
      leadIds: ['l1'],
      error: { code: 'server_error', message: 'down', retryable: true },
      attempts: 1,
      firstFailedAt: '2026-12-06T10:00:00.000Z',
      lastFailedAt: '2026-12-06T10:00:00.000Z',
    });
    const source = deadLettersFrom(queue, undefined, { scanPageSize: 1 });
    expect(await source.redrive(['d1', 'd2'])).toEqual({ requested: 2, delivered: 0, failed: 0, skipped: 2 });
    expect(await queue.size()).toBe(1);
  });
});

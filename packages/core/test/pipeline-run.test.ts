import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import {
  ApiCallError,
  ConfigurationError,
  createLeadPipeline,
  createNdjsonWriter,
  defineFieldMapping,
  defineProvider,
  type EnrichmentEngine,
  type EnrichRequest,
  formatReport,
  type Lead,
  type LeadSink,
  PipelineAbortedError,
  type PipelineEvents,
  type PipelineReport,
  type PipelineResult,
  type RejectedRow,
  type SinkEntry,
} from '../src/index.js';
import { createLeadPipelineAround } from '../src/pipeline/pipeline.js';
import { FAST_RETRY, FakeCrm } from './crm-fixtures.js';

const contacts = defineFieldMapping({
  object: 'contacts',
  idProperty: { from: 'email', to: 'email' },
  fields: [
    { from: 'title', to: 'jobtitle' },
    { from: 'company.name', to: 'company' },
  ],
});

/** An instant in-process provider that counts its calls per email. */
function countingProvider(options: { fail?: (email: string) => boolean } = {}) {
  const calls = new Map<string, number>();
  const provider = defineProvider({
    id: 'people',
    lookups: [{ requires: ['email'], supplies: ['title', 'company.name'] }],
    rateLimits: { maxConcurrent: 64 },
    cost: { perRequest: 1, perMatch: 0, chargesMisses: false },
    enrich: async ({ input }: EnrichRequest) => {
      const email = input.email ?? '';
      calls.set(email, (calls.get(email) ?? 0) + 1);
      if (options.fail?.(email)) throw new ApiCallError('invalid_request', { message: 'bad lead' });
      if (email.startsWith('nobody')) return null;
      return { fields: { title: 'Engineer', 'company.name': 'Acme' }, confidence: 0.9 };
    },
  });
  return { provider, calls, total: () => [...calls.values()].reduce((sum, count) => sum + count, 0) };
}

/** An engine double that hands each lead to `enrich` (for tests about the pipeline, not the waterfall). */
function fakeEngine(enrich: (lead: Lead) => Promise<Lead>): EnrichmentEngine {
  return {
    enrich: async (lead) => ({
      lead: await enrich(lead),
      status: 'unchanged',
      filled: [],
      missing: [],
      credits: 0,
      attempts: [],
      warnings: [],
      durationMs: 0,
    }),
    enrichMany: () => {
      throw new Error('not used by the pipeline');
    },
    handleWebhook: async () => ({ status: 404, body: '' }),
    on: () => () => undefined,
    stats: () => ({
      providers: {},
      leads: { enriched: 0, partial: 0, unchanged: 0, skipped: 0 },
      credits: 0,
      budgetSkips: 0,
    }),
    close: async () => undefined,
  };
}

/** A sink that keeps what it was given. */
function memorySink(): LeadSink & { entries: SinkEntry[]; closed: boolean } {
  const sink = {
    entries: [] as SinkEntry[],
    closed: false,
    write(entry: SinkEntry) {
      sink.entries.push(entry);
    },
    async close() {
      sink.closed = true;
    },
  };
  return sink;
}

const rows = [
  { Email: 'ada@acme.com', 'First Name': 'Ada' },
  { Email: 'not an email', 'First Name': 'Bad' },
  { 'E-mail': 'ADA@acme.com ', 'First Name': 'Ada again' },
  { Email: 'nobody@firm.io' },
  { Website: 'https://www.globex.com' },
  { Company: 'Globex', Domain: 'globex.com' },
  { Email: 'grace@hopper.dev', 'Job Title': 'Admiral' },
];

describe('createLeadPipeline: terminal states', () => {
  it('ends every row in exactly one state, with rejects by row number and duplicates folded', async () => {
    const { provider, calls } = countingProvider();
    const crm = new FakeCrm('crm');
    const rejected: RejectedRow[] = [];
    const output = memorySink();
    const pipeline = createLeadPipeline({
      enrichment: { providers: [provider], fields: ['title', 'company.name'] },
      crms: [{ adapter: crm, mapping: contacts }],
      crmOptions: { retry: FAST_RETRY },
      rejects: (row) => {
        rejected.push(row);
      },
    });
    const report = await pipeline.run(rows, { output });

    // Row 2: bad email. Row 5: company-only, so the mapping (keyed by email) rejects it; row 6 is the
    // same company (globex.com) and is folded into row 5.
    expect(rejected.map((row) => [row.rowNumber, row.stage])).toEqual([
      [2, 'validate'],
      [5, 'crm'],
    ]);
    expect(rejected[0]?.issues[0]?.field).toBe('email');
    expect(rejected[0]?.values).toEqual(rows[1]);
    expect(rejected[1]?.issues[0]?.field).toBe('crm.crm.email');
    expect(report.counts).toMatchObject({
      read: 7,
      validated: 6,
      duplicates: 2,
      rejected: 2,
      deadLettered: 0,
      skipped: 0,
      unfinished: 0,
    });
    expect(report.counts.done + report.counts.rejected + report.counts.deadLettered).toBe(report.counts.read);
    // The duplicate (row 3) was not enriched again and not written out.
    expect(calls.get('ada@acme.com')).toBe(1);
    expect(output.entries.map((entry) => entry.rowNumber).sort()).toEqual([1, 4, 7]);
    expect(output.closed).toBe(true);
    expect([...crm.records.keys()].sort()).toEqual(['ada@acme.com', 'grace@hopper.dev', 'nobody@firm.io']);
    expect(crm.records.get('ada@acme.com')?.properties).toMatchObject({
      jobtitle: 'Engineer',
      company: 'Acme',
    });
    // Input title wins over the provider's: the waterfall only fills what is missing.
    expect(crm.records.get('grace@hopper.dev')?.properties.jobtitle).toBe('Admiral');
    expect(report.providers.people?.calls).toBe(3);
    expect(report.credits).toBe(3);
    expect(report.crms[0]).toMatchObject({ adapterId: 'crm', created: 3, rejected: 1 });
    expect(report.status).toBe('completed');
  });

  it('streams results as an async iterable, naming the first row of a duplicate', async () => {
    const pipeline = createLeadPipeline({});
    const results: PipelineResult[] = [];
    const run = pipeline.run(rows);
    for await (const result of run) results.push(result);
    const report = await run;
    expect(results).toHaveLength(7);
    const duplicate = results.find((result) => result.rowNumber === 3);
    expect(duplicate).toMatchObject({ status: 'done', duplicateOf: 1 });
    // Company-only rows dedupe by domain: row 6 (globex.com) folds into row 5 (website globex.com).
    expect(results.find((result) => result.rowNumber === 6)).toMatchObject({
      status: 'done',
      duplicateOf: 5,
    });
    expect(report.counts).toMatchObject({ read: 7, done: 6, rejected: 1, duplicates: 2 });
  });

  it('folds duplicates whose first row was spilled to disk by a small dedupe table, and cleans up after', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'leadpipe-dedupe-test-'));
    try {
      const pipeline = createLeadPipeline({ dedupe: { maxMemoryEntries: 1024, directory } });
      // 5,000 people, then every 10th of them again: the first rows are long spilled when the repeats come.
      const source = [
        ...Array.from({ length: 5000 }, (_, index) => ({ email: `p${index}@acme.com` })),
        ...Array.from({ length: 500 }, (_, index) => ({ email: `P${index * 10}@ACME.com` })),
      ];
      const results: PipelineResult[] = [];
      const run = pipeline.run(source);
      let spilledDuringRun = 0;
      for await (const result of run) {
        results.push(result);
        spilledDuringRun = Math.max(spilledDuringRun, readdirSync(directory).length);
      }
      const report = await run;
      expect(spilledDuringRun).toBe(1);
      expect(report.counts).toMatchObject({ read: 5500, done: 5500, duplicates: 500 });
      for (let repeat = 0; repeat < 500; repeat++) {
        expect(results.find((result) => result.rowNumber === 5001 + repeat)).toMatchObject({
          duplicateOf: repeat * 10 + 1,
        });
      }
      expect(readdirSync(directory)).toEqual([]);
      await pipeline.close();
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('refuses a dedupe table smaller than 1,024 entries, naming the option', () => {
    expect(() => createLeadPipeline({ dedupe: { maxMemoryEntries: 10 } })).toThrow(
      /dedupe\.maxMemoryEntries/,
    );
  });

  it('dead-letters leads a CRM refuses for good, and counts them', async () => {
    const crm = new FakeCrm('crm', {
      faults: {
        record: (key) =>
          key.startsWith('grace')
            ? { code: 'validation_failed', message: 'no', retryable: false }
            : undefined,
      },
    });
    const pipeline = createLeadPipeline({
      crms: [{ adapter: crm, mapping: contacts }],
      crmOptions: { retry: FAST_RETRY },
    });
    const events: PipelineEvents['row.deadLettered'][] = [];
    pipeline.on('row.deadLettered', (event) => events.push(event));
    const report = await pipeline.run([{ email: 'ada@acme.com' }, { email: 'grace@hopper.dev' }]);
    expect(report.counts).toMatchObject({ done: 1, deadLettered: 1, synced: 1 });
    expect(report.deadLetters).toEqual([
      expect.objectContaining({
        rowNumber: 2,
        stage: 'crm',
        errors: [expect.objectContaining({ target: 'crm', code: 'validation_failed' })],
      }),
    ]);
    expect(events.map((event) => event.rowNumber)).toEqual([2]);
    expect(await pipeline.deadLetters.size()).toBe(1);
  });

  it('ends a lead whose enrichment throws as an enrichment dead letter: its error in the report, nothing on the CRM queue', async () => {
    const crm = new FakeCrm('crm');
    const pipeline = createLeadPipelineAround(
      fakeEngine(async (lead) => {
        if (lead.email === 'boom@acme.com') throw new Error('engine exploded');
        return lead;
      }),
      { crms: [{ adapter: crm, mapping: contacts }] },
    );
    const events: PipelineEvents['row.deadLettered'][] = [];
    pipeline.on('row.deadLettered', (event) => events.push(event));
    const results: PipelineResult[] = [];
    const run = pipeline.run([{ email: 'ok@acme.com' }, { email: 'boom@acme.com' }]);
    for await (const result of run) results.push(result);
    const report = await run;
    expect(report.counts).toMatchObject({ done: 1, deadLettered: 1, synced: 1 });
    const expected = {
      rowNumber: 2,
      leadId: expect.any(String),
      stage: 'enrich',
      error: { code: 'adapter_error', message: 'engine exploded', retryable: false },
    };
    expect(report.deadLetters).toEqual([expected]);
    expect(events).toEqual([expected]);
    expect(results.find((result) => result.rowNumber === 2)).toMatchObject({
      status: 'deadLettered',
      ...expected,
      lead: { email: 'boom@acme.com' },
    });
    // No forged CRM dead letter: the CRM queue holds CRM records only, and the lead was never sent.
    expect(await pipeline.deadLetters.size()).toBe(0);
    expect(crm.upsertCalls().flatMap((call) => call.keys)).toEqual(['ok@acme.com']);
    expect(formatReport(report)).toContain('row 2: enrichment: adapter_error: engine exploded');
  });

  it("reproduces issue 10's experiment: a CRM that is down costs at most 6 upserts and one crm.down for the run", async () => {
    const crm = new FakeCrm('crm', {
      maxBatchSize: 10,
      faults: { wholeCall: () => new ApiCallError('server_error', { message: 'CRM unavailable' }) },
    });
    const pipeline = createLeadPipeline({
      crms: [{ adapter: crm, mapping: contacts }],
      crmOptions: { retry: FAST_RETRY, downAfter: 2 },
      batchSize: 10,
    });
    const downs: PipelineEvents['crm.down'][] = [];
    pipeline.on('crm.down', (event) => downs.push(event));
    const source = Array.from({ length: 100 }, (_, index) => ({ email: `p${index}@acme.com` }));
    const report = await pipeline.run(source);
    // Two batches of 3 attempts (1 + 2 retries) take it down for the run; later batches never call it.
    expect(crm.upsertCalls().length).toBeLessThanOrEqual(6);
    expect(downs).toHaveLength(1);
    expect(downs[0]).toMatchObject({ type: 'crm.down', adapterId: 'crm' });
    // Nothing is dropped: every row is dead-lettered by the CRM, retryable, with its entry on the queue.
    expect(report.counts).toMatchObject({ read: 100, deadLettered: 100, done: 0, unfinished: 0 });
    expect(await pipeline.deadLetters.size()).toBe(100);
    expect(report.deadLetters.every((entry) => entry.stage === 'crm' && entry.errors[0]?.retryable)).toBe(
      true,
    );
    expect(report.crms).toEqual([
      expect.objectContaining({ adapterId: 'crm', status: 'down', received: 100, deadLettered: 100 }),
    ]);
    await pipeline.close();
  });

  it("takes each row's CRM outcome from the session, whatever an event listener does", async () => {
    const crm = new FakeCrm('crm', {
      faults: {
        record: (key) =>
          key === 'bad@acme.com'
            ? { code: 'validation_failed', message: 'bad', retryable: false }
            : undefined,
      },
    });
    const pipeline = createLeadPipeline({
      crms: [{ adapter: crm, mapping: contacts }],
      crmOptions: { retry: FAST_RETRY },
    });
    pipeline.on('crm.recordDeadLettered', () => {
      throw new Error('a listener bug');
    });
    const report = await pipeline.run([{ email: 'ok@acme.com' }, { email: 'bad@acme.com' }]);
    expect(report.counts).toMatchObject({ done: 1, synced: 1, deadLettered: 1 });
    expect(report.deadLetters).toEqual([
      expect.objectContaining({
        rowNumber: 2,
        stage: 'crm',
        errors: [expect.objectContaining({ target: 'crm' })],
      }),
    ]);
  });

  it('writes nothing to CRMs on a dry run', async () => {
    const crm = new FakeCrm('crm');
    const pipeline = createLeadPipeline({ crms: [{ adapter: crm, mapping: contacts }], dryRun: true });
    const report = await pipeline.run([{ email: 'ada@acme.com' }]);
    expect(report.counts.done).toBe(1);
    expect(crm.calls).toHaveLength(0);
    expect(report.dryRun).toBe(true);
  });

  it('rejects rows that are not objects and rows whose columns conflict', async () => {
    const pipeline = createLeadPipeline({});
    const report = await pipeline.run([
      'just text' as unknown as Record<string, unknown>,
      { Email: 'a@acme.com', 'E-mail': 'b@acme.com' },
    ]);
    expect(report.rejects).toEqual([
      {
        rowNumber: 1,
        stage: 'read',
        issues: [{ field: 'row', reason: 'must be an object of column values' }],
      },
      {
        rowNumber: 2,
        stage: 'validate',
        issues: [
          { field: 'email', reason: 'columns "Email" and "E-mail" give different values; keep one of them' },
        ],
      },
    ]);
  });

  it('refuses bad options with a typed error naming the option', () => {
    expect(() => createLeadPipeline({ concurrency: 0 })).toThrow(/concurrency: must be a positive integer/);
    expect(() => createLeadPipeline({ columns: { Email: 'mail.address' } })).toThrow(/columns\.Email/);
    expect(() => createLeadPipeline({}).run([], { resume: true })).toThrow(
      /resume needs the pipeline option checkpoints/,
    );
    let caught: unknown;
    try {
      createLeadPipeline({ batchLingerMs: -1, fields: ['nope' as 'title'], rejects: 'file.csv' as never });
    } catch (error) {
      caught = error;
    }
    expect(ConfigurationError.isInstance(caught)).toBe(true);
    expect((caught as ConfigurationError).issues).toEqual([
      { field: 'fields.0', reason: '"nope" is not a Lead field' },
      { field: 'batchLingerMs', reason: 'must be a non-negative integer, got -1' },
      { field: 'rejects', reason: 'must be a function or a rejects writer (createRejectsWriter)' },
    ]);
  });

  it('takes engine options only: an engine built elsewhere is refused, since resume could not reach its cache', () => {
    const engine = fakeEngine(async (lead) => lead);
    let caught: unknown;
    try {
      createLeadPipeline({ enrichment: engine as never });
    } catch (error) {
      caught = error;
    }
    expect(ConfigurationError.isInstance(caught)).toBe(true);
    expect((caught as ConfigurationError).issues).toEqual([
      { field: 'enrichment', reason: expect.stringMatching(/must be the engine options .*not an engine/) },
    ]);
    const { provider } = countingProvider();
    expect(createLeadPipeline({ enrichment: { providers: [provider] } }).enrichment).toBeDefined();
  });

  it('refuses a second run while one is under way, whether the second is awaited or iterated', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    async function* gated() {
      await gate;
      yield { Email: 'first@example.com' };
    }
    const pipeline = createLeadPipeline({});
    const first = pipeline.run(gated());
    const firstReport = first.then((report) => report);
    await expect(pipeline.run([{ Email: 'second@example.com' }])).rejects.toThrow(/already running/);
    // Iterated, the refused run ends its results with the same error instead of never yielding.
    const iterated = (async () => {
      for await (const _result of pipeline.run([{ Email: 'third@example.com' }])) {
        // No result: the run never started.
      }
      return 'ended without an error';
    })();
    const outcome = await Promise.race([
      iterated.catch((error: unknown) => error),
      new Promise((resolve) => setTimeout(() => resolve('still waiting after 2 s'), 2_000)),
    ]);
    expect(outcome).toBeInstanceOf(ConfigurationError);
    expect((outcome as Error).message).toMatch(/already running/);
    release();
    expect((await firstReport).counts).toMatchObject({ read: 1, done: 1 });
  });
});

describe('createLeadPipeline: backpressure', () => {
  it('reads no further ahead than concurrency and batch sizes need', async () => {
    let read = 0;
    let maxAhead = 0;
    let finished = 0;
    const total = 600;
    async function* source() {
      for (let index = 0; index < total; index++) {
        read += 1;
        maxAhead = Math.max(maxAhead, read - finished);
        yield { email: `person${index}@firm${index % 50}.com` };
      }
    }
    const crm = new FakeCrm('crm', { maxBatchSize: 10 });
    let enrichingNow = 0;
    let maxEnriching = 0;
    const pipeline = createLeadPipelineAround(
      fakeEngine(async (lead) => {
        enrichingNow += 1;
        maxEnriching = Math.max(maxEnriching, enrichingNow);
        await new Promise((resolve) => setImmediate(resolve));
        enrichingNow -= 1;
        return lead;
      }),
      {
        crms: [{ adapter: crm, mapping: contacts }],
        concurrency: 4,
        crmOptions: { concurrency: 1 },
      },
    );
    pipeline.on('row.done', () => {
      finished += 1;
    });
    const report = await pipeline.run(source());
    expect(report.counts.done).toBe(total);
    // concurrency + batchSize × (crmOptions.concurrency + 1) = 4 + 10 × 2, plus the row being read.
    expect(maxAhead).toBeLessThanOrEqual(25);
    expect(maxAhead).toBeGreaterThan(4);
    expect(maxEnriching).toBe(4);
  });

  it('waits for a slow consumer of the results', async () => {
    let read = 0;
    function* source() {
      for (let index = 0; index < 500; index++) {
        read += 1;
        yield { email: `p${index}@acme.com` };
      }
    }
    const pipeline = createLeadPipeline({ concurrency: 2 });
    const run = pipeline.run(source());
    const iterator = run[Symbol.asyncIterator]();
    await iterator.next();
    await new Promise((resolve) => setImmediate(resolve));
    // The consumer took one result: the run stopped after filling its small buffer.
    expect(read).toBeLessThan(30);
    let count = 1;
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      count += 1;
    }
    expect(count).toBe(500);
  });

  it('sends a partial CRM batch after batchLingerMs while the source is slow', async () => {
    let release: (() => void) | undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    async function* source() {
      yield { email: 'a@acme.com' };
      yield { email: 'b@acme.com' };
      await gate;
      yield { email: 'c@acme.com' };
    }
    const crm = new FakeCrm('crm');
    const run = createLeadPipeline({ crms: [{ adapter: crm, mapping: contacts }], batchLingerMs: 5 }).run(
      source(),
    );
    const report = run.then((value) => value);
    await vi.waitFor(() => expect(crm.records.size).toBe(2), { timeout: 10_000 });
    release?.();
    expect((await report).counts).toMatchObject({ synced: 3, done: 3 });
  });

  it('reads object-mode Node streams', async () => {
    const stream = new PassThrough({ objectMode: true });
    stream.write({ email: 'ada@acme.com' });
    stream.end({ email: 'grace@hopper.dev' });
    const report = await createLeadPipeline({}).run(stream);
    expect(report.counts.done).toBe(2);
  });
});

describe('createLeadPipeline: abort, events and report', () => {
  it('stops on abort with a partial report whose counts still add up', async () => {
    const controller = new AbortController();
    let released: (() => void) | undefined;
    const gate = new Promise<void>((resolve) => {
      released = resolve;
    });
    const provider = defineProvider({
      id: 'slow',
      lookups: [{ requires: ['email'], supplies: ['title'] }],
      enrich: async ({ input }) => {
        if (input.email === 'p5@acme.com') {
          controller.abort(new Error('user pressed Ctrl-C'));
        }
        if ((input.email ?? '') >= 'p5') await gate;
        return { fields: { title: 'T' } };
      },
    });
    const pipeline = createLeadPipeline({ enrichment: { providers: [provider] }, concurrency: 2 });
    const source = Array.from({ length: 50 }, (_, index) => ({ email: `p${index}@acme.com` }));
    let enrichedAfterAbort = 0;
    const run = pipeline.run(source, { signal: controller.signal });
    controller.signal.addEventListener('abort', () => {
      // Enrichments in flight are let finish after the abort; they are not synced or written.
      setImmediate(() => released?.());
    });
    pipeline.on('row.done', () => {
      if (controller.signal.aborted) enrichedAfterAbort += 1;
    });
    const error = await run.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(enrichedAfterAbort).toBe(0);
    expect(PipelineAbortedError.isInstance(error)).toBe(true);
    const report = (error as PipelineAbortedError<PipelineReport>).report;
    expect(report.status).toBe('aborted');
    expect(report.counts.read).toBeLessThan(50);
    expect(report.counts.unfinished).toBeGreaterThan(0);
    expect(
      report.counts.done + report.counts.rejected + report.counts.deadLettered + report.counts.unfinished,
    ).toBe(report.counts.read);
  });

  it('keeps the CRM figures of an aborted run: the report says what reached the CRM before the stop', async () => {
    const controller = new AbortController();
    const crm = new FakeCrm('crm', { maxBatchSize: 5 });
    let finishedRows = 0;
    const provider = defineProvider({
      id: 'people',
      lookups: [{ requires: ['email'], supplies: ['title'] }],
      rateLimits: { maxConcurrent: 64 },
      enrich: async () => ({ fields: { title: 'T' } }),
    });
    const pipeline = createLeadPipeline({
      enrichment: { providers: [provider], fields: ['title'] },
      crms: [{ adapter: crm, mapping: contacts }],
      crmOptions: { retry: FAST_RETRY },
      batchSize: 5,
      batchLingerMs: 0,
      concurrency: 2,
    });
    pipeline.on('row.done', () => {
      finishedRows += 1;
      if (finishedRows === 10) controller.abort(new Error('Ctrl-C'));
    });
    const source = Array.from({ length: 200 }, (_, index) => ({ email: `p${index}@acme.com` }));
    const error = await pipeline.run(source, { signal: controller.signal }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(PipelineAbortedError.isInstance(error)).toBe(true);
    const report = (error as PipelineAbortedError<PipelineReport>).report;
    expect(report.status).toBe('aborted');
    expect(crm.records.size).toBeGreaterThanOrEqual(10);
    expect(report.crms).toHaveLength(1);
    expect(report.crms[0]).toMatchObject({ adapterId: 'crm', object: 'contacts' });
    expect(report.crms[0]?.created).toBe(crm.records.size);
  });

  it('runs many leads in flight on one signal without a max-listeners warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const provider = defineProvider({
        id: 'slow',
        lookups: [{ requires: ['email'], supplies: ['title'] }],
        rateLimits: { maxConcurrent: 4 },
        enrich: async () => {
          await new Promise((resolve) => setTimeout(resolve, 2));
          return { fields: { title: 'T' } };
        },
      });
      const crm = new FakeCrm('crm');
      const pipeline = createLeadPipeline({
        enrichment: { providers: [provider], fields: ['title'] },
        crms: [{ adapter: crm, mapping: contacts }],
        crmOptions: { retry: FAST_RETRY },
        concurrency: 64,
      });
      const source = Array.from({ length: 120 }, (_, index) => ({ email: `p${index}@acme.com` }));
      const report = await pipeline.run(source, { signal: new AbortController().signal });
      await new Promise((resolve) => setImmediate(resolve));
      expect(report.counts.done).toBe(120);
      expect(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning')).toEqual([]);
      await pipeline.close();
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('finishes the rows already read when the source fails, then rejects with its error', async () => {
    async function* source() {
      yield { email: 'a@acme.com' };
      yield { email: 'b@acme.com' };
      throw new Error('disk gone');
    }
    const output = memorySink();
    const run = createLeadPipeline({}).run(source(), { output });
    await expect(run).rejects.toThrow('disk gone');
    expect(run.snapshot()).toMatchObject({
      status: 'failed',
      counts: { read: 2, done: 2, unfinished: 0 },
      error: { code: 'adapter_error', message: 'disk gone' },
    });
    expect(output.entries).toHaveLength(2);
    expect(output.closed).toBe(true);
  });

  it('fails the run when the rejects sink fails, leaving the rest unfinished rather than lost', async () => {
    const run = createLeadPipeline({
      rejects: () => {
        throw new Error('rejects file not writable');
      },
    }).run([{ email: 'ok@acme.com' }, { email: 'bad' }, { email: 'later@acme.com' }]);
    await expect(run).rejects.toThrow('rejects file not writable');
    const { counts } = run.snapshot();
    expect(counts.rejected).toBe(0);
    expect(counts.done + counts.rejected + counts.deadLettered + counts.unfinished).toBe(counts.read);
  });

  it('aborts enrichments that never answer once the grace is over, counting their rows unfinished', async () => {
    const started: string[] = [];
    const hanging = defineProvider({
      id: 'hanging',
      lookups: [{ requires: ['email'], supplies: ['title'] }],
      rateLimits: { maxConcurrent: 64 },
      // Never answers, and ignores its signal: only the pipeline's abort can end the wait.
      enrich: ({ input }: EnrichRequest) => {
        started.push(input.email ?? '');
        return new Promise<never>(() => undefined);
      },
    });
    const pipeline = createLeadPipeline({
      enrichment: { providers: [hanging], fields: ['title'], retry: { retries: 0 } },
      concurrency: 4,
      abortGraceMs: 20,
    });
    const controller = new AbortController();
    const source = Array.from({ length: 10 }, (_, index) => ({ email: `p${index}@acme.com` }));
    const run = pipeline.run(source, { signal: controller.signal });
    const outcome = run.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    await vi.waitFor(() => expect(started).toHaveLength(4));
    controller.abort(new Error('Ctrl-C'));
    const error = await outcome;
    expect(PipelineAbortedError.isInstance(error)).toBe(true);
    const report = (error as PipelineAbortedError<PipelineReport>).report;
    expect(report.status).toBe('aborted');
    expect(report.counts).toMatchObject({ read: 4, unfinished: 4, done: 0, deadLettered: 0, enriched: 0 });
    await pipeline.close();
  });

  it('re-emits CRM and engine events under their own names', async () => {
    const crm = new FakeCrm('crm', { maxBatchSize: 10 });
    const { provider } = countingProvider();
    const pipeline = createLeadPipeline({
      enrichment: { providers: [provider], fields: ['title'] },
      crms: [{ adapter: crm, mapping: contacts }],
    });
    const seen: string[] = [];
    const batches: PipelineEvents['crm.batchCompleted'][] = [];
    pipeline.on('crm.batchSent', (event) => seen.push(`${event.type} ${event.records}`));
    pipeline.on('crm.batchCompleted', (event) => batches.push(event));
    pipeline.on('enrichment.finished', (event) => seen.push(`enrichment.finished ${event.status}`));
    pipeline.on('provider.matched', (event) => seen.push(`provider.matched ${event.providerId}`));
    const report = await pipeline.run([{ email: 'a@acme.com' }, { email: 'b@acme.com' }]);
    expect(report.counts.done).toBe(2);
    expect(seen.filter((name) => name === 'crm.batchSent 2')).toHaveLength(1);
    expect(seen.filter((name) => name === 'enrichment.finished enriched')).toHaveLength(2);
    expect(seen.filter((name) => name === 'provider.matched people')).toHaveLength(2);
    expect(batches).toEqual([
      {
        type: 'crm.batchCompleted',
        adapterId: 'crm',
        object: 'contacts',
        created: 2,
        updated: 0,
        unchanged: 0,
        deadLettered: 0,
      },
    ]);
    await pipeline.close();
  });

  it('emits progress and never lets a throwing listener break the run', async () => {
    let clock = 0;
    const pipeline = createLeadPipeline({ now: () => clock, progressIntervalMs: 10 });
    const progress: PipelineEvents['pipeline.progress'][] = [];
    pipeline.on('row.done', () => {
      clock += 4;
      throw new Error('listener bug');
    });
    pipeline.on('pipeline.progress', (event) => progress.push(event));
    const report = await pipeline.run(
      Array.from({ length: 10 }, (_, index) => ({ email: `p${index}@acme.com` })),
    );
    expect(report.counts.done).toBe(10);
    // 40 ms of clock over 10 rows, an event at most every 10 ms, plus the final one.
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress.length).toBeLessThanOrEqual(5);
    expect(progress.at(-1)).toMatchObject({ read: 10, done: 10, elapsedMs: 40, ratePerSecond: 250 });
  });

  it('renders the report as JSON and as a readable summary', async () => {
    const { provider } = countingProvider();
    const crm = new FakeCrm('hubspot');
    const pipeline = createLeadPipeline({
      enrichment: { providers: [provider] },
      crms: [{ adapter: crm, mapping: contacts }],
    });
    const report = await pipeline.run(rows);
    const json = JSON.parse(JSON.stringify(report)) as typeof report;
    expect(json.counts).toEqual(report.counts);
    const text = formatReport(report);
    expect(text).toContain('Pipeline run: completed');
    expect(text).toContain('7 read, 5 done (2 duplicates), 2 rejected, 0 dead-lettered');
    expect(text).toContain('people: 3 calls, 2 matches, 1 misses');
    expect(text).toContain('hubspot/contacts [ok]: 3 created');
    expect(text).toContain('row 2: email:');
    expect(text).not.toContain('written without some fields');
    const warned = formatReport({ ...report, crms: report.crms.map((crm) => ({ ...crm, warned: 2 })) });
    expect(warned).toContain('1 rejected, 2 written without some fields (warnings in their outcomes)');
  });

  it('writes NDJSON output with provenance', async () => {
    const { provider } = countingProvider();
    const stream = new PassThrough();
    const chunks: string[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
    const pipeline = createLeadPipeline({ enrichment: { providers: [provider], fields: ['title'] } });
    await pipeline.run([{ Email: 'ada@acme.com', Plan: 'pro' }], { output: createNdjsonWriter(stream) });
    expect(JSON.parse(chunks.join(''))).toEqual({
      Email: 'ada@acme.com',
      Plan: 'pro',
      title: 'Engineer',
      title__source: 'people',
      title__confidence: 0.9,
    });
  });

  it('gives its clock to the engine, so provenance and the lead share one time', async () => {
    const { provider } = countingProvider();
    const instant = Date.UTC(2030, 0, 2, 3, 4, 5);
    const pipeline = createLeadPipeline({
      now: () => instant,
      enrichment: { providers: [provider], fields: ['title'] },
    });
    const results: PipelineResult[] = [];
    for await (const result of pipeline.run([{ Email: 'ada@acme.com' }])) results.push(result);
    const [result] = results;
    if (result?.status !== 'done') throw new Error(`expected a done row, got ${result?.status}`);
    expect(result.lead.provenance.title?.at).toBe(new Date(instant).toISOString());
    expect(result.lead.updatedAt).toBe(new Date(instant).toISOString());
  });
});

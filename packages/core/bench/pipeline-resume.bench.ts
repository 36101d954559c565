/**
 * Pipeline resume benchmark. Prints one JSON line.
 *
 * Generates N leads into a CSV file (default 100,000; about 2% repeat an
 * earlier email, 1% have a broken email), runs the pipeline with a file
 * checkpoint and the full waterfall engine over an instant in-process
 * provider, aborts the run once about half the rows are done, then resumes
 * it with a new pipeline (new engine, new caches: only the checkpoint files
 * carry over, as after a restart). Counts provider calls per unique lead
 * (goal: exactly one each) and CRM records (goal: no duplicates, nothing
 * created twice), and checks the output file has each lead once.
 *
 * Run: pnpm exec tsx --conditions=@leadpipe/source packages/core/bench/pipeline-resume.bench.ts
 * Env: BENCH_LEADS (default 100000).
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  type CrmUpsertResult,
  createCsvWriter,
  createFileCheckpointStore,
  createLeadPipeline,
  defineProvider,
  type EnrichRequest,
  type LeadField,
  PipelineAbortedError,
  type PipelineReport,
  readCsv,
} from '../src/index.js';
import { contacts, generateCsv } from './pipeline-scale.bench.js';

const LEADS = Number(process.env.BENCH_LEADS ?? 100_000);
const FIELDS: readonly LeadField[] = ['title', 'company.industry'];

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'leadpipe-resume-bench-'));
  const input = join(dir, 'in.csv');
  const output = join(dir, 'out.csv');
  const checkpointPath = join(dir, 'run.checkpoint');
  try {
    await generateCsv(input, LEADS);
    const providerCalls = new Map<string, number>();
    const provider = defineProvider({
      id: 'instant',
      lookups: [{ requires: ['email'], supplies: [...FIELDS] }],
      rateLimits: { maxConcurrent: 256 },
      cost: { perRequest: 1, perMatch: 0, chargesMisses: false },
      enrich: async ({ input: lead }: EnrichRequest) => {
        const email = lead.email ?? '';
        providerCalls.set(email, (providerCalls.get(email) ?? 0) + 1);
        return { fields: { title: 'Engineer', 'company.industry': 'Software' }, confidence: 0.9 };
      },
    });
    const crmRecords = new Map<string, number>();
    let crmCreated = 0;
    const crm = {
      specificationVersion: 'v1' as const,
      adapterId: 'memory-crm',
      capabilities: {
        maxBatchSize: 100,
        objects: ['contacts'],
        rateLimits: { maxConcurrent: 8 },
        webhooks: false,
      },
      async doUpsert(request: { records: readonly { key: string }[] }): Promise<CrmUpsertResult[]> {
        return request.records.map((record) => {
          const writes = crmRecords.get(record.key);
          crmRecords.set(record.key, (writes ?? 0) + 1);
          if (writes === undefined) crmCreated += 1;
          return { key: record.key, status: writes === undefined ? 'created' : 'updated', id: record.key };
        });
      },
      async doGet() {
        return [];
      },
    };
    const makePipeline = () =>
      createLeadPipeline({
        enrichment: { providers: [provider], fields: FIELDS },
        crms: [{ adapter: crm, mapping: contacts }],
        checkpoints: createFileCheckpointStore(checkpointPath),
        concurrency: 64,
      });

    const controller = new AbortController();
    const first = makePipeline();
    let done = 0;
    first.on('row.done', () => {
      done += 1;
      if (done === Math.floor(LEADS / 2)) controller.abort(new Error('stopped at half'));
    });
    const started = performance.now();
    let stopped: PipelineReport;
    try {
      stopped = await first.run(readCsv(input), {
        signal: controller.signal,
        output: createCsvWriter(output),
      });
    } catch (error) {
      if (!PipelineAbortedError.isInstance<PipelineReport>(error)) throw error;
      stopped = error.report;
    }
    await first.close();
    const callsBeforeResume = [...providerCalls.values()].reduce((sum, count) => sum + count, 0);

    const second = makePipeline();
    const resumed = await second.run(readCsv(input), {
      resume: true,
      output: createCsvWriter(output, { append: true }),
    });
    await second.close();
    const seconds = (performance.now() - started) / 1000;

    const outputEmails = new Map<string, number>();
    let header = true;
    for await (const line of createInterface({ input: createReadStream(output) })) {
      if (header) {
        header = false;
        continue;
      }
      const email = line.slice(0, line.indexOf(','));
      outputEmails.set(email, (outputEmails.get(email) ?? 0) + 1);
    }
    const calls = [...providerCalls.values()];
    const uniqueLeads = providerCalls.size;
    console.log(
      JSON.stringify({
        bench: 'pipeline-resume',
        leads: LEADS,
        seconds: Math.round(seconds * 10) / 10,
        firstRun: { status: stopped.status, counts: stopped.counts },
        resumedRun: {
          status: resumed.status,
          counts: resumed.counts,
          cacheHits: resumed.providers.instant?.cacheHits,
        },
        uniqueLeads,
        providerCalls: calls.reduce((sum, count) => sum + count, 0),
        providerCallsBeforeResume: callsBeforeResume,
        leadsCalledMoreThanOnce: calls.filter((count) => count > 1).length,
        goalOneCallPerUniqueLead: calls.every((count) => count === 1),
        crmRecords: crmRecords.size,
        crmCreated,
        crmRecordsWrittenTwice: [...crmRecords.values()].filter((count) => count > 1).length,
        outputRows: [...outputEmails.values()].reduce((sum, count) => sum + count, 0),
        outputDuplicates: [...outputEmails.values()].filter((count) => count > 1).length,
        node: process.version,
      }),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();

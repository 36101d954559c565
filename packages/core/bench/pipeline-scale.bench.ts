/**
 * Pipeline scale benchmark. Prints one JSON line per case.
 *
 * Each case generates N leads into a CSV file (about 2% repeat an earlier
 * email, 1% have a broken email), then runs CSV in -> validate (rejects to
 * a rejects file, as the CLI does) -> dedupe -> enrich with an instant
 * in-process provider -> sync to an in-process CRM adapter -> CSV out, in a child process of its own so that peak RSS
 * (`resourceUsage().maxRSS`) is per case. Goal: peak RSS under 300 MB at a
 * million leads, and about the same at 100,000 (memory does not grow with
 * the input).
 *
 * Two enrichment engines:
 * - `direct`: an in-process engine that calls the provider directly and
 *   merges with `applyLeadFields` (no limiter): the pipeline's own cost.
 * - `waterfall`: `createEnrichmentEngine` with the same provider: the cost
 *   of the full engine (limiter, retry, breaker, cache) on top.
 *
 * Heap cap. Each child runs with `--max-old-space-size=BENCH_HEAP_MB` (default 128) and
 * `--max-semi-space-size=8`. The pipeline's live heap is small (a heap snapshot halfway through 100,000
 * leads holds 29 MB), but with Node's default heap V8 lets garbage pile up before a major collection, so
 * peak RSS then measures the collector's slack more than the pipeline: about 250 MB at 100,000 leads and
 * 320 MB at a million. A capped heap is what a memory-bound deployment sets, and it shows that the run
 * fits: were the heap growing with the input, a million leads would run out of it. The dedupe table
 * and the in-process CRM's key store are `SpillingHash64Index`es: 8 MB of keys in memory each, the rest
 * in sorted files on disk behind a fixed 8 MB Bloom filter. `BENCH_HEAP_MB=0` runs with Node's defaults.
 * Each line prints `heapCapMb`.
 *
 * Run: pnpm exec tsx --conditions=@leadpipe/source packages/core/bench/pipeline-scale.bench.ts
 * Env: BENCH_CRM_KEYS=0 makes the in-process CRM keep no keys (the pipeline's memory alone);
 * BENCH_HEAP_MB (see above).
 * BENCH_CASES (engine:leads, comma-separated), default
 * "waterfall:1000000,waterfall:100000,direct:1000000,direct:100000".
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type CrmAdapterV1,
  type CrmUpsertResult,
  createCsvWriter,
  createLeadPipeline,
  createRejectsWriter,
  defineFieldMapping,
  defineProvider,
  type EnrichmentEngine,
  type EnrichmentProviderV1,
  type EnrichRequest,
  flattenLead,
  type Lead,
  type LeadField,
  readCsv,
} from '../src/index.js';
import { applyLeadFields } from '../src/lead/paths.js';
import { createLeadPipelineAround } from '../src/pipeline/pipeline.js';
import { hash64 } from '../src/stores/hash-map.js';
import { SpillingHash64Index } from '../src/stores/spilling-index.js';

/** Old-space cap of each child, MB (0: Node's default). */
const HEAP_MB = Number(process.env.BENCH_HEAP_MB ?? 128);
if (!(Number.isInteger(HEAP_MB) && HEAP_MB >= 0))
  throw new RangeError('BENCH_HEAP_MB must be a whole number');

const FIELDS: readonly LeadField[] = ['title', 'company.industry', 'company.headcount'];

/** An instant provider: answers from the email, in-process. */
export function instantProvider(): EnrichmentProviderV1 {
  return defineProvider({
    id: 'instant',
    lookups: [{ requires: ['email'], supplies: [...FIELDS] }],
    rateLimits: { maxConcurrent: 256 },
    cost: { perRequest: 1, perMatch: 0, chargesMisses: false },
    enrich: async ({ input }: EnrichRequest) =>
      (input.email?.length ?? 0) % 7 === 0
        ? null
        : {
            fields: { title: 'Engineer', 'company.industry': 'Software', 'company.headcount': 120 },
            confidence: 0.9,
          },
  });
}

/**
 * An in-process CRM: keyed upsert, remembers keys as 64-bit hashes in a
 * {@link SpillingHash64Index} (the pipeline's dedupe table: 8 MB in memory,
 * the rest on disk, exact), counts created and updated. With
 * `rememberKeys: false` it keeps nothing and answers `created`.
 */
export function inProcessCrm(
  rememberKeys = true,
): CrmAdapterV1 & { created: number; updated: number; close(): Promise<void> } {
  const keys = new SpillingHash64Index();
  let nextId = 1;
  const crm = {
    specificationVersion: 'v1' as const,
    adapterId: 'memory-crm',
    capabilities: {
      maxBatchSize: 100,
      objects: ['contacts'],
      rateLimits: { maxConcurrent: 8 },
      webhooks: false,
    },
    created: 0,
    updated: 0,
    async doUpsert(request: { records: readonly { key: string }[] }): Promise<CrmUpsertResult[]> {
      return request.records.map((record) => {
        const existing = rememberKeys ? keys.setIfAbsent(hash64(record.key), nextId) : undefined;
        if (existing === undefined) {
          crm.created += 1;
          return { key: record.key, status: 'created' as const, id: String(nextId++) };
        }
        crm.updated += 1;
        return { key: record.key, status: 'updated' as const, id: String(existing) };
      });
    },
    async doGet() {
      return [];
    },
    close: async () => keys.close(),
  };
  return crm;
}

export const contacts = defineFieldMapping({
  object: 'contacts',
  idProperty: { from: 'email', to: 'email' },
  fields: [
    { from: 'firstName', to: 'firstname' },
    { from: 'title', to: 'jobtitle' },
    { from: 'company.name', to: 'company' },
  ],
});

/** An enrichment engine that calls one provider directly (no limiter, retry or cache): the pipeline's own cost. */
function directEngine(provider: EnrichmentProviderV1): EnrichmentEngine {
  let calls = 0;
  let matches = 0;
  const latency = { count: 0, p50: 0, p95: 0, p99: 0, max: 0 };
  return {
    async enrich(lead: Lead, options) {
      const wanted = options?.fields ?? FIELDS;
      const result = await provider.doEnrich(
        { leadId: lead.id, input: flattenLead(lead), fields: wanted },
        {},
      );
      calls += 1;
      let enriched = lead;
      const filled: LeadField[] = [];
      if (result.status === 'matched') {
        matches += 1;
        const at = new Date().toISOString();
        const patch: Record<string, unknown> = {};
        const provenance: Record<
          string,
          { providerId: string; confidence: number; at: string; credits: number }
        > = {};
        const known = flattenLead(lead);
        for (const [field, value] of Object.entries(result.fields)) {
          if (known[field as LeadField] !== undefined) continue;
          patch[field] = value;
          provenance[field] = {
            providerId: provider.providerId,
            confidence: result.confidence,
            at,
            credits: 0,
          };
          filled.push(field as LeadField);
        }
        enriched = applyLeadFields(lead, patch, provenance, new Date());
      }
      return {
        lead: enriched,
        status: filled.length > 0 ? 'enriched' : 'unchanged',
        filled,
        missing: [],
        credits: 1,
        attempts: [],
        warnings: [],
        durationMs: 0,
      };
    },
    enrichMany: () => {
      throw new Error('not used');
    },
    handleWebhook: async () => ({ status: 404, body: '' }),
    on: () => () => undefined,
    stats: () => ({
      providers: {
        [provider.providerId]: {
          calls,
          requests: calls,
          cacheHits: 0,
          matches,
          misses: calls - matches,
          pending: 0,
          errors: 0,
          rateLimited: 0,
          authRetries: 0,
          budgetSkips: 0,
          credits: calls,
          latency,
        },
      },
      leads: { enriched: matches, partial: 0, unchanged: calls - matches, skipped: 0 },
      credits: calls,
      budgetSkips: 0,
    }),
    close: async () => undefined,
  };
}

/** Write `count` generated leads to a CSV file, streaming. */
export async function generateCsv(path: string, count: number): Promise<void> {
  const out = createWriteStream(path);
  const write = (text: string) =>
    new Promise<void>((resolve) => {
      if (out.write(text)) resolve();
      else out.once('drain', resolve);
    });
  await write('Email,First Name,Last Name,Company,Job Title,Website\r\n');
  let chunk = '';
  for (let index = 0; index < count; index++) {
    const person = index % 50 === 49 ? index - 17 : index;
    const email =
      index % 100 === 42 ? `broken-${index}-at-nowhere` : `person${person}@company${person % 5000}.com`;
    const title = index % 3 === 0 ? 'Head of Growth' : '';
    chunk += `${email},First${person},Last${person},"Company ${person % 5000}, Inc.",${title},https://company${person % 5000}.com\r\n`;
    if (chunk.length > 65_536) {
      await write(chunk);
      chunk = '';
    }
  }
  await write(chunk);
  await new Promise<void>((resolve) => out.end(resolve));
}

interface Case {
  readonly engine: 'direct' | 'waterfall';
  readonly leads: number;
}

async function child(benchCase: Case): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'leadpipe-bench-'));
  const input = join(dir, 'in.csv');
  const output = join(dir, 'out.csv');
  try {
    await generateCsv(input, benchCase.leads);
    const provider = instantProvider();
    const crm = inProcessCrm(process.env.BENCH_CRM_KEYS !== '0');
    const rejects = createRejectsWriter(join(dir, 'rejects.csv'));
    const pipelineOptions = {
      fields: FIELDS,
      crms: [{ adapter: crm, mapping: contacts }],
      rejects: rejects.write,
      concurrency: 64,
    };
    // The direct case measures the pipeline without a waterfall: an engine built here, through the internal
    // entry (the public option takes engine options only).
    const pipeline =
      benchCase.engine === 'direct'
        ? createLeadPipelineAround(directEngine(provider), pipelineOptions)
        : createLeadPipeline({ ...pipelineOptions, enrichment: { providers: [provider], fields: FIELDS } });
    let peakRss = 0;
    let peakHeap = 0;
    const sample = () => {
      const usage = process.memoryUsage();
      peakRss = Math.max(peakRss, usage.rss);
      peakHeap = Math.max(peakHeap, usage.heapUsed);
    };
    const timer = setInterval(sample, 250);
    const started = performance.now();
    const report = await pipeline.run(readCsv(input), { output: createCsvWriter(output) });
    const seconds = (performance.now() - started) / 1000;
    clearInterval(timer);
    sample();
    await pipeline.close();
    await rejects.close();
    await crm.close();
    console.log(
      JSON.stringify({
        bench: 'pipeline-scale',
        engine: benchCase.engine,
        crmKeepsKeys: process.env.BENCH_CRM_KEYS !== '0',
        leads: benchCase.leads,
        seconds: Math.round(seconds * 10) / 10,
        leadsPerSecond: Math.round(benchCase.leads / seconds),
        peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
        sampledPeakRssMb: Math.round(peakRss / 2 ** 20),
        sampledPeakHeapMb: Math.round(peakHeap / 2 ** 20),
        goalRssMb: 300,
        heapCapMb: HEAP_MB === 0 ? null : HEAP_MB,
        counts: report.counts,
        providerCalls: report.providers.instant?.calls,
        crmCreated: crm.created,
        crmUpdated: crm.updated,
        rejectsWritten: rejects.written,
        outputMb: Math.round((await stat(output)).size / 2 ** 20),
        node: process.version,
      }),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const own = process.env.BENCH_CHILD;
  if (own !== undefined) {
    await child(JSON.parse(own) as Case);
    return;
  }
  const cases: Case[] = (
    process.env.BENCH_CASES ?? 'waterfall:1000000,waterfall:100000,direct:1000000,direct:100000'
  )
    .split(',')
    .map((spec) => {
      const [engine, leads] = spec.split(':');
      return { engine: engine === 'waterfall' ? 'waterfall' : 'direct', leads: Number(leads) };
    });
  for (const benchCase of cases) {
    const code = await new Promise<number | null>((resolve) => {
      const heap = HEAP_MB === 0 ? [] : [`--max-old-space-size=${HEAP_MB}`, '--max-semi-space-size=8'];
      const proc = spawn(process.execPath, [...process.execArgv, ...heap, fileURLToPath(import.meta.url)], {
        env: { ...process.env, BENCH_CHILD: JSON.stringify(benchCase) },
        stdio: 'inherit',
      });
      proc.on('exit', resolve);
    });
    if (code !== 0) process.exitCode = 1;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();

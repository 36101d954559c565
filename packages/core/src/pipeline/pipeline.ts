// createLeadPipeline: builds a pipeline from its options (the engine, its parts) and hands each
// `run` to run.ts. The public types are in types.ts; the parts a pipeline is made of in parts.ts;
// a run's lifecycle in run.ts, its scheduler loop in scheduler.ts, the flow of each row in
// row-flow.ts and the CRM and store batches in batch-write.ts.
import type { EnrichmentEngine, EnrichmentEventName, EnrichmentEvents } from '../enrich/index.js';
import type { SpillingHash64Index } from '../stores/spilling-index.js';
import type { RunAnswerCache } from './answer-cache.js';
import { createPipelineEngine } from './enrichment-stage.js';
import type { PipelineEventName, PipelineEvents, PipelineRunEvents } from './events.js';
import { type PipelineSettings, parsePipelineOptions } from './options.js';
import { createPipelineParts } from './parts.js';
import { startRun } from './run.js';
import type {
  LeadPipeline,
  LeadPipelineOptions,
  PipelineRun,
  PipelineRunOptions,
  PipelineSource,
} from './types.js';

/**
 * Create the streaming lead pipeline: rows in (CSV, NDJSON, arrays, async
 * iterables, streams), each one validated and normalized (`createLead`),
 * deduped by identity, enriched (waterfall), synced to CRMs in batches, and
 * written out, with a checkpoint as rows finish and a report at the end.
 *
 * Every row read ends in exactly one terminal state, counted in the report:
 * - `done`: synced to every CRM (or enriched, when there is none or on a dry
 *   run). A duplicate (same normalized email, or same domain for a
 *   company-only row, as `leadIdentityKey` says) is `done` at once, folded
 *   into the first row with that identity: it is neither enriched nor
 *   synced again, nor written to the output, and its result names the first
 *   row (`duplicateOf`).
 * - `rejected`: the row could not be read or validated, or a CRM mapping
 *   refused the lead; with every reason, to the `rejects` sink.
 * - `deadLettered`: it failed for good. `stage: 'crm'` (or `'store'`): a CRM (or the lead store's upsert) failed it
 *   (the record is on the dead-letter queue with the vendor's error; when
 *   one of several CRMs dead-letters a lead it is dead-lettered even if
 *   the others took it; a CRM dead letter wins over a CRM reject).
 *   `stage: 'enrich'`: the engine threw; nothing goes on the CRM queue, the
 *   error is in the result, the report and the `row.deadLettered` event,
 *   and the checkpoint leaves the row unfinished so a resume enriches it
 *   again.
 *
 * Backpressure: the source is pulled one row at a time, only while fewer
 * than `concurrency` leads are enriching and fewer than `concurrency +
 * batchSize × (crmOptions.concurrency + 1)` rows are in flight; sinks are awaited.
 * Memory is that window plus the dedupe table, which keeps up to
 * `dedupe.maxMemoryEntries` identities (64-bit hashes) in memory and writes
 * the rest to sorted files on disk with a fixed 8 MB Bloom filter in front
 * (see `SpillingHash64Index`): flat however many rows come. Two identities
 * with the same 64-bit hash (about 3 in 10^8 for a million) are taken for
 * one.
 *
 * CRM writes go through one session of `createCrmSync` for the whole run,
 * a batch (`batchSize` leads, or fewer after `batchLingerMs`) per write;
 * each lead's terminal state is the write's outcome for it. A CRM that is
 * down (`crmOptions.downAfter`) is found out once for the run: later
 * batches are dead-lettered (retryable) without calling it.
 *
 * Modules: options (`options.ts`), row admission (`admission.ts`), the
 * enrichment stage, the CRM stage, the store stage, the serial terminal
 * writer, the run ledger (report and progress arithmetic), the result
 * channel; a run's lifecycle (`run.ts`), its scheduler loop
 * (`scheduler.ts`), the flow of each row (`row-flow.ts`) and the batch
 * writes (`batch-write.ts`) move rows between them.
 *
 * Resume: with `checkpoints`, finished rows are recorded as they finish
 * (after the output has them) and the checkpoint's result log is wired as
 * a second-level cache of the engine, so `run(source, { resume: true })`
 * skips finished rows, pays no provider again for rows that were in flight,
 * and, CRM writes being keyed upserts, creates nothing twice. The order
 * holds under a crash at any point: an answer is in the result log before
 * its row is written; each checkpoint flush follows the flush of the output,
 * rejects and duplicates files and records where they ended; a resumed run
 * cuts them back there before writing (file writers opened with `append`),
 * so no row is in any of them twice. Without `resume`, the answers earlier
 * runs paid for are reused (the report's `reusedAnswers`) unless `fresh`.
 *
 * @example
 * ```ts
 * const pipeline = createLeadPipeline({
 *   enrichment: { providers: [apollo, clearbit], fields: ['title', 'company.headcount'] },
 *   crms: [{ adapter: hubspot, mapping: contacts }],
 *   checkpoints: createFileCheckpointStore('.leadpipe/leads.checkpoint'),
 * });
 * const report = await pipeline.run(readCsv('leads.csv'), {
 *   resume: true,
 *   output: createCsvWriter('leads.enriched.csv', { append: true }),
 * });
 * console.log(formatReport(report));
 * ```
 */
export function createLeadPipeline(options: LeadPipelineOptions = {}): LeadPipeline {
  const { settings, dedupe } = parsePipelineOptions(options);
  const built =
    settings.enrichment === undefined
      ? undefined
      : createPipelineEngine(
          // One clock, logger and error hook for the run: the engine's own options may name others.
          {
            ...settings.enrichment,
            now: settings.enrichment.now ?? settings.now,
            logger: settings.enrichment.logger ?? options.logger,
            onError: settings.enrichment.onError ?? options.onError,
          },
          options.cache,
        );
  return assemblePipeline(options, settings, dedupe, {
    engine: built?.engine,
    answers: built?.answers,
    ownEngine: true,
  });
}

/**
 * A pipeline around an engine built elsewhere: for tests of the pipeline
 * itself and benchmarks without a waterfall. Not on the package's entry:
 * such an engine's cache cannot take a checkpoint's result log, so a resume
 * would pay its providers again (the reason `enrichment` takes options only).
 * The engine is not closed by `close()`.
 */
export function createLeadPipelineAround(
  engine: EnrichmentEngine,
  options: Omit<LeadPipelineOptions, 'enrichment'> = {},
): LeadPipeline {
  const { settings, dedupe } = parsePipelineOptions(options);
  return assemblePipeline(options, settings, dedupe, { engine, answers: undefined, ownEngine: false });
}

const RUN_EVENTS: ReadonlySet<string> = new Set<keyof PipelineRunEvents>([
  'pipeline.started',
  'pipeline.progress',
  'row.done',
  'row.rejected',
  'row.deadLettered',
  'pipeline.finished',
]);

function assemblePipeline(
  options: LeadPipelineOptions,
  settings: PipelineSettings,
  dedupe: SpillingHash64Index,
  parts: {
    readonly engine: EnrichmentEngine | undefined;
    readonly answers: RunAnswerCache | undefined;
    readonly ownEngine: boolean;
  },
): LeadPipeline {
  const { engine } = parts;
  const pipeline = createPipelineParts(options, settings, dedupe, parts);
  const { bus, deadLetters, crm } = pipeline;

  function run(source: PipelineSource, runOptions: PipelineRunOptions = {}): PipelineRun {
    return startRun(pipeline, source, runOptions);
  }

  function on<E extends PipelineEventName>(
    event: E,
    listener: (payload: PipelineEvents[E]) => void,
  ): () => void {
    // The engine's events are its own bus's: listen there, under the same name.
    if (engine && !RUN_EVENTS.has(event) && !event.startsWith('crm.')) {
      return engine.on(
        event as EnrichmentEventName,
        listener as (payload: EnrichmentEvents[EnrichmentEventName]) => void,
      );
    }
    return bus.on(event, listener);
  }

  return {
    run,
    on,
    deadLetters,
    crmSync: crm?.sync,
    enrichment: engine,
    async close() {
      if (parts.ownEngine) await engine?.close();
      await crm?.sync.close();
    },
  };
}

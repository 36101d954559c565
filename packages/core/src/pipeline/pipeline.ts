import type { Cache } from '../contracts/cache.js';
import type { Checkpoint, CheckpointStore } from '../contracts/checkpoint-store.js';
import type { Clock } from '../contracts/clock.js';
import type { DeadLetterQueue } from '../contracts/dead-letter-queue.js';
import { ConfigurationError, PipelineAbortedError } from '../contracts/errors.js';
import type { LeadField } from '../contracts/fields.js';
import type { Lead } from '../contracts/lead.js';
import type { LeadStoreV1 } from '../contracts/lead-store.js';
import type { CrmSync, CrmSyncEvent, CrmSyncOptions } from '../crm/index.js';
import type {
  EnrichmentEngine,
  EnrichmentEngineOptions,
  EnrichmentEventName,
  EnrichmentEvents,
  EnrichmentStats,
  EnrichmentStatus,
} from '../enrich/index.js';
import { type EventLogTable, logEvents } from '../events/log-events.js';
import { SafeEventBus } from '../events/safe-event-bus.js';
import type { CountryCode } from '../lead/index.js';
import { hash64 } from '../stores/hash-map.js';
import { createMemoryDeadLetterQueue } from '../stores/memory-dead-letter-queue.js';
import type { SpillingHash64Index, SpillingHash64IndexOptions } from '../stores/spilling-index.js';
import {
  createObserver,
  errorTypeOf,
  markSpanFailed,
  type ObservabilityOptions,
  startRunSpan,
  TelemetryAttributes,
  withSpan,
} from '../telemetry/index.js';
import { admitRow, type Row, toRow } from './admission.js';
import type { RunAnswerCache } from './answer-cache.js';
import { cutBackSinks, NO_ROWS_FINISHED } from './checkpoint-state.js';
import { type ColumnMapping, createColumnResolver } from './columns.js';
import { CrmBatchBuffer, type CrmStage, type CrmStageSession, createCrmStage } from './crm-stage.js';
import type { DuplicateSink, DuplicatesWriter } from './duplicates-writer.js';
import { createPipelineEngine, enrichLead, enrichmentSignal } from './enrichment-stage.js';
import type { PipelineEventName, PipelineEvents, PipelineRunEvents } from './events.js';
import { FinishedRows } from './finished-rows.js';
import { RunLedger, subtractStats } from './ledger.js';
import { type PipelineSettings, parsePipelineOptions } from './options.js';
import type {
  PipelineDeadLetterError,
  PipelineFinishedCounts,
  PipelineReport,
  PipelineResult,
  RejectSink,
} from './report.js';
import { ResultChannel } from './result-channel.js';
import { fingerprintOf, iteratorOf } from './run-source.js';
import type { LeadSink, RejectsWriter } from './sinks.js';
import type { SourceRow } from './source.js';
import { createStoreStage, type StoreStage, type StoreStageOutcome } from './store-stage.js';
import { TerminalWriter } from './terminal-writer.js';

/**
 * What a pipeline reads: plain row objects (`{ Email: ..., Company: ... }`
 * or `LeadInput`-shaped objects), {@link SourceRow}s from `readCsv` /
 * `readNdjson`, as an array, an iterable, an async iterable or an
 * object-mode Node stream.
 */
export type PipelineSource =
  | Iterable<Record<string, unknown> | SourceRow>
  | AsyncIterable<Record<string, unknown> | SourceRow>
  | NodeJS.ReadableStream;

/** Options of {@link createLeadPipeline}. */
export interface LeadPipelineOptions extends ObservabilityOptions {
  /**
   * The enrichment engine's options: the pipeline builds the engine (see
   * `pipeline.enrichment`) and wires its cache and each run's checkpoint
   * result log into it, so a resume pays no provider twice. An engine built
   * elsewhere is refused: its cache could not take the checkpoint's result
   * log. Omit to only validate and sync.
   */
  readonly enrichment?: EnrichmentEngineOptions;
  /** Fields to fill. Default: the engine's `fields`, else every field. */
  readonly fields?: readonly LeadField[];
  /** CRMs to sync into, each with its mapping. Omit to only validate and enrich. */
  readonly crms?: CrmSyncOptions['crms'];
  /**
   * A lead store (`LeadStoreV1`, such as `openPostgresStore(...).leads`) to
   * upsert every done lead into, as a terminal step beside the CRMs: one
   * `upsert` per batch (`batchSize`), keyed by identity, so a resumed run
   * that writes a lead again merges it into the same stored lead. Each row's
   * result says what the store did (`store`), the report counts it
   * (`report.store`); a lead the store refuses is rejected (`store.<field>`
   * issues), a failed upsert dead-letters the batch's leads (target
   * `leadStore`). Skipped on a `dryRun`.
   */
  readonly store?: LeadStoreV1;
  /** Other settings of the CRM sync engine (retries, limits, batches in flight per CRM, clock). */
  readonly crmOptions?: Omit<CrmSyncOptions, 'crms' | 'deadLetters' | 'onEvent'>;
  /** Where dead-lettered records go. Default: an in-memory queue (see `pipeline.deadLetters`). */
  readonly deadLetters?: DeadLetterQueue;
  /** Where checkpoints go, for `resume` (such as `createFileCheckpointStore(path)`). */
  readonly checkpoints?: CheckpointStore;
  /**
   * The enrichment result cache (when `enrichment` has no `cache` of its
   * own). Default: an in-memory LRU of 10,000 entries,
   * smaller than the engine's own default (50,000, about 95 MB) because the
   * pipeline already enriches each identity once per run; pass a larger or
   * shared cache (Redis) so later runs of other inputs do not pay again. With
   * checkpoints, the checkpoint's result log is consulted after it and
   * written with it.
   */
  readonly cache?: Cache;
  /** Leads enriched at once. Default 16. */
  readonly concurrency?: number;
  /** Leads per CRM and store batch. Default: the largest `maxBatchSize` of the CRMs; at least 100 with a `store`. */
  readonly batchSize?: number;
  /** How long a partial CRM batch waits for more leads, in ms. Default 100. */
  readonly batchLingerMs?: number;
  /** Explicit header to lead-path mapping; other headers are recognised (see `recogniseColumn`). */
  readonly columns?: ColumnMapping;
  /** Columns neither mapped nor recognised: kept as `custom.<header>` (default) or ignored. */
  readonly unmappedColumns?: 'custom' | 'ignore';
  /**
   * Where rejected rows go, with their input values: a function, or a
   * rejects file (`createRejectsWriter(path)`), which a resumed run cuts
   * back to what the checkpoint covers, so no reject is in it twice.
   * Default: only counted and kept in the report (first N).
   */
  readonly rejects?: RejectSink | RejectsWriter;
  /**
   * Where the rows merged as duplicates are named, every one of them: a
   * function, or a duplicates file (`createDuplicatesWriter(path)`), which a
   * resumed run cuts back like the rejects file. Default: only counted.
   */
  readonly duplicates?: DuplicateSink | DuplicatesWriter;
  /** Validate and enrich, but write nothing to any CRM or to the `store`. */
  readonly dryRun?: boolean;
  /** Country for phone numbers written without a country code. */
  readonly defaultCountry?: CountryCode;
  /** How many rejects and dead letters the report lists. Default 100. */
  readonly maxReportedRows?: number;
  /**
   * When a run is aborted, how long enrichments in flight may still answer,
   * in ms: their answers reach the cache and the checkpoint's result log
   * (a resume does not pay for them again), then whatever still waits on a
   * provider is aborted and its row counted unfinished. Default 2,000; 0
   * aborts them at once.
   */
  readonly abortGraceMs?: number;
  /** Rows finished between two checkpoint flushes. Default 1,000. */
  readonly checkpointEvery?: number;
  /**
   * The dedupe table. Up to `maxMemoryEntries` unique identities (default
   * 262,144, an 8 MB table) are kept in memory; beyond that they are
   * written to sorted files in `directory` (default: the OS temp folder),
   * removed when the run ends, so memory stays flat however many rows come.
   */
  readonly dedupe?: SpillingHash64IndexOptions;
  /** Shortest time between two `pipeline.progress` events, in ms. Default 1,000. */
  readonly progressIntervalMs?: number;
  /** Rows hashed into the input fingerprint when no `fingerprint` is given to `run`. Default 100. */
  readonly fingerprintRows?: number;
  /** Clock in epoch ms. Default `Date.now`. */
  readonly now?: Clock;
  /** Told when an event listener throws. Default: ignored. */
  readonly onListenerError?: (error: unknown, event: string) => void;
}

/** Options of {@link LeadPipeline.run}. */
export interface PipelineRunOptions {
  /**
   * Stops the run: reading stops at once, CRM calls in flight are aborted,
   * enrichments in flight get `abortGraceMs` to answer (their answers are
   * kept in the cache and the checkpoint, and not paid again on resume) and
   * are then aborted, rows in flight are counted `unfinished`, and the run
   * rejects with a {@link PipelineAbortedError}.
   */
  readonly signal?: AbortSignal;
  /**
   * Skip the rows a checkpoint says an earlier run of the same input
   * finished. Needs `checkpoints`. The output and a rejects file, when they
   * can be (file writers opened with `append`), are first cut back to where
   * they ended at the checkpoint's last flush, so the rows done again are
   * not written twice.
   */
  readonly resume?: boolean;
  /**
   * Without `resume`: also discard the provider answers an earlier run
   * recorded in the checkpoint. By default a run that starts over keeps
   * them (within their TTL) and pays no provider again for them.
   */
  readonly fresh?: boolean;
  /** Where done leads go (`createCsvWriter`, `createNdjsonWriter`, your own). Closed when the run ends. */
  readonly output?: LeadSink;
  /**
   * The input's fingerprint (say, a hash of the file). Default: a SHA-256 of
   * the first `fingerprintRows` rows, read before anything else is done.
   */
  readonly fingerprint?: string;
}

/**
 * A run in progress. Await it for the report; iterate it (`for await`) to
 * get every row's result as it finishes. Iteration must start before the
 * run is awaited; a slow consumer slows the run down (bounded buffer).
 * Breaking out of the loop aborts the run.
 */
export interface PipelineRun extends PromiseLike<PipelineReport>, AsyncIterable<PipelineResult> {
  /** The report so far (the final one once the run ended). */
  snapshot(): PipelineReport;
}

/** The streaming lead pipeline. Build it with {@link createLeadPipeline}. */
export interface LeadPipeline {
  /** Run the pipeline over a source. One run at a time per pipeline. */
  run(source: PipelineSource, options?: PipelineRunOptions): PipelineRun;
  /**
   * Listen to an event: the pipeline's own, the CRM sync's (`crm.batchSent`,
   * `crm.down`...) or the engine's (`enrichment.finished`,
   * `provider.rateLimited`...). Returns a function that removes the listener.
   */
  on<E extends PipelineEventName>(event: E, listener: (payload: PipelineEvents[E]) => void): () => void;
  /** Where dead-lettered records went (for inspection and `redrive`). */
  readonly deadLetters: DeadLetterQueue;
  /** The CRM sync engine, when CRMs are configured (for `redrive`). */
  readonly crmSync: CrmSync | undefined;
  /** The enrichment engine the pipeline built, when `enrichment` is configured. */
  readonly enrichment: EnrichmentEngine | undefined;
  /** Release what the pipeline created (its engine's limiters, its CRM sync's registry). */
  close(): Promise<void>;
}

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
 * enrichment stage, the CRM stage, the serial terminal writer, the run
 * ledger (report and progress arithmetic), the result channel; this file
 * holds the scheduler loop that moves rows between them.
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

/** How pipeline events are logged when a `logger` is given (CRM and engine events are logged by those). */
const PIPELINE_LOG_TABLE: EventLogTable<PipelineEvents> = {
  'pipeline.started': ['info', 'pipeline run started'],
  'pipeline.finished': ['info', 'pipeline run finished'],
  'row.rejected': ['debug', 'row rejected', ['issues', 'row']],
  'row.deadLettered': ['warn', 'row dead-lettered'],
};

const RUN_EVENTS: ReadonlySet<string> = new Set<keyof PipelineRunEvents>([
  'pipeline.started',
  'pipeline.progress',
  'row.done',
  'row.rejected',
  'row.deadLettered',
  'pipeline.finished',
]);

/** A lead on its way through the stages, with the row it came from. */
interface Task {
  readonly row: Row;
  readonly lead: Lead;
  readonly enrichment?: EnrichmentStatus;
}

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
  const { engine, answers } = parts;
  const resolver = createColumnResolver({
    ...(options.columns ? { columns: options.columns } : {}),
    ...(options.unmappedColumns ? { unmapped: options.unmappedColumns } : {}),
  });
  const { now, concurrency, batchSize, batchConcurrency, fields } = settings;
  const rejectsFile = typeof options.rejects === 'object' ? options.rejects : undefined;
  const rejectSink: RejectSink | undefined =
    typeof options.rejects === 'function' ? options.rejects : rejectsFile?.write;
  const duplicatesFile = typeof options.duplicates === 'object' ? options.duplicates : undefined;
  const duplicateSink: DuplicateSink | undefined =
    typeof options.duplicates === 'function' ? options.duplicates : duplicatesFile?.write;
  const bus = new SafeEventBus<PipelineEvents>(options.onListenerError);
  const observer = createObserver(options);
  logEvents(bus, observer, PIPELINE_LOG_TABLE);
  const deadLetters = settings.deadLetters ?? createMemoryDeadLetterQueue();
  const crm: CrmStage | undefined =
    settings.crms.length === 0
      ? undefined
      : createCrmStage({
          crms: settings.crms,
          crmOptions: { logger: options.logger, onError: options.onError, ...settings.crmOptions },
          deadLetters,
          onEvent: (event: CrmSyncEvent) => {
            // Each CRM event under its own name, its payload the event.
            if (bus.hasListeners(event.type)) bus.emit(event.type, event as never);
          },
        });
  const storeStage: StoreStage | undefined =
    settings.store === undefined ? undefined : createStoreStage({ store: settings.store, deadLetters, now });
  let running = false;

  function run(source: PipelineSource, runOptions: PipelineRunOptions = {}): PipelineRun {
    if (runOptions.resume === true && settings.checkpoints === undefined) {
      throw new ConfigurationError('invalid_configuration', {
        issues: [
          {
            field: 'resume',
            reason: 'needs the pipeline option checkpoints (such as createFileCheckpointStore(path))',
          },
        ],
        message:
          'run: resume needs the pipeline option checkpoints (such as createFileCheckpointStore(path))',
      });
    }
    const iterator = iteratorOf(source);
    const controller = new AbortController();
    const userSignal = runOptions.signal;
    const output = runOptions.output;
    const ledger = new RunLedger({
      startedAt: now(),
      maxReportedRows: settings.maxReportedRows,
      dryRun: settings.dryRun,
      progressIntervalMs: settings.progressIntervalMs,
    });
    let statsBefore: EnrichmentStats | undefined;
    let finalReport: PipelineReport | undefined;
    let status: PipelineReport['status'] = 'completed';
    let failure: unknown;
    let sourceError: unknown;
    let stoppedByCaller = false;
    let resumed = false;
    let channel: ResultChannel | undefined;
    let started: Promise<PipelineReport> | undefined;

    const fail = (error: unknown): void => {
      failure ??= error;
      controller.abort(error);
    };

    function snapshot(): PipelineReport {
      if (finalReport) return finalReport;
      return ledger.report({
        now: now(),
        status,
        resumed,
        providers: engine ? subtractStats(engine.stats(), statsBefore) : {},
        reusedAnswers: answers?.reused() ?? 0,
        error: failure ?? sourceError,
      });
    }

    /** The run inside a `leadpipe.pipeline.run` span (the engine's and CRM sync's spans nest under it). */
    async function traced(): Promise<PipelineReport> {
      const span = startRunSpan('leadpipe.pipeline.run');
      try {
        const report = await withSpan(span, execute);
        span.setAttribute(TelemetryAttributes.outcome, report.status);
        return report;
      } catch (error) {
        const type = markSpanFailed(span, error);
        if (!PipelineAbortedError.isInstance(error)) {
          observer.report(
            error instanceof Error ? error : new Error(`pipeline run failed (${errorTypeOf(error)})`),
            { component: 'pipeline', code: type },
          );
        }
        throw error;
      } finally {
        span.end();
      }
    }

    async function execute(): Promise<PipelineReport> {
      if (running) {
        throw new ConfigurationError('invalid_configuration', {
          message:
            'run: this pipeline is already running; wait for the run to end or create another pipeline',
        });
      }
      running = true;
      const onAbort = (): void => {
        stoppedByCaller = true;
        controller.abort(userSignal?.reason);
      };
      if (userSignal?.aborted) onAbort();
      userSignal?.addEventListener('abort', onAbort, { once: true });
      let checkpoint: Checkpoint | undefined;
      let detachResults: (() => void) | undefined;
      let finishedBefore: PipelineFinishedCounts = NO_ROWS_FINISHED;
      try {
        statsBefore = engine?.stats();
        const preRead: unknown[] = [];
        if (settings.checkpoints) {
          let fingerprint = runOptions.fingerprint;
          if (fingerprint === undefined) {
            while (preRead.length < settings.fingerprintRows) {
              const item = await iterator.next();
              if (item.done) break;
              preRead.push(item.value);
            }
            fingerprint = fingerprintOf(preRead);
          }
          checkpoint = await settings.checkpoints.open({
            fingerprint,
            resume: runOptions.resume === true,
            fresh: runOptions.fresh === true,
          });
          resumed = checkpoint.resumed;
          detachResults = answers?.attach(checkpoint.results);
          if (runOptions.resume === true) {
            // Before anything is written: rows past the last flush are done again, so they must not stay.
            finishedBefore = await cutBackSinks(checkpoint, {
              output,
              rejects: rejectsFile,
              duplicates: duplicatesFile,
            });
            ledger.carry(finishedBefore);
          }
        }
        bus.emit('pipeline.started', { resumed, finishedBefore: checkpoint?.finishedBefore ?? 0 });
        await drive(preRead, checkpoint, finishedBefore);
      } catch (error) {
        failure ??= error;
      } finally {
        userSignal?.removeEventListener('abort', onAbort);
        try {
          await output?.close?.();
        } catch (error) {
          failure ??= error;
        }
        try {
          await checkpoint?.close();
        } catch (error) {
          failure ??= error;
        }
        try {
          dedupe.close();
        } catch (error) {
          failure ??= error;
        }
        detachResults?.();
        running = false;
      }
      failure ??= sourceError;
      if (stoppedByCaller) status = 'aborted';
      else if (failure !== undefined) status = 'failed';
      const report = snapshot();
      finalReport = report;
      bus.emit('pipeline.progress', ledger.progress(now()));
      bus.emit('pipeline.finished', { status: report.status, counts: report.counts });
      if (status === 'aborted') {
        const error = new PipelineAbortedError(report, userSignal?.reason ?? controller.signal.reason);
        channel?.end(error);
        throw error;
      }
      if (failure !== undefined) {
        channel?.end(failure);
        throw failure;
      }
      channel?.end();
      return report;
    }

    /** The scheduler loop: reads rows while there is room, and moves each one through the stages. */
    async function drive(
      preRead: unknown[],
      checkpoint: Checkpoint | undefined,
      finishedBefore: PipelineFinishedCounts,
    ): Promise<void> {
      const signal = controller.signal;
      const maxInFlight = concurrency + batchSize * (batchConcurrency + 1);
      let inFlight = 0;
      let enriching = 0;
      let syncing = 0;
      let reading = false;
      let sourceDone = false;
      let position = 0;
      let wakeUp: (() => void) | undefined;
      let woken = false;

      const wake = (): void => {
        woken = true;
        const resolve = wakeUp;
        wakeUp = undefined;
        resolve?.();
      };
      const sleep = async (): Promise<void> => {
        if (!woken) await new Promise<void>((resolve) => (wakeUp = resolve));
        woken = false;
      };
      signal.addEventListener('abort', wake, { once: true });

      const finishedRows = checkpoint ? new FinishedRows(checkpoint) : undefined;
      const engineSignal = enrichmentSignal(signal, settings.abortGraceMs);
      const writer = new TerminalWriter({
        output,
        rejects: rejectSink,
        duplicates: duplicateSink,
        files: { output, rejects: rejectsFile, duplicates: duplicatesFile },
        finishedBefore,
        fields,
        ledger,
        bus,
        channel,
        checkpoint,
        checkpointEvery: settings.checkpointEvery,
        now,
        failed: () => failure !== undefined,
        onFailure: fail,
        onSettled: () => {
          inFlight -= 1;
          wake();
        },
      });
      // One CRM session for the run: a CRM found down stays down for every later batch.
      const session = crm && !settings.dryRun ? crm.open(signal) : undefined;
      const storeWrites = settings.dryRun ? undefined : storeStage;
      if (storeWrites) ledger.expectStore();
      const batches =
        session || storeWrites ? new CrmBatchBuffer<Task>(settings.batchLingerMs, wake) : undefined;

      function done(task: Task, stored?: StoreStageOutcome): void {
        writer.finish(
          {
            status: 'done',
            rowNumber: task.row.rowNumber,
            lead: task.lead,
            ...(task.enrichment === undefined ? {} : { enrichment: task.enrichment }),
            ...(stored?.kind === 'stored' ? { store: { status: stored.status, id: stored.id } } : {}),
          },
          task.row,
        );
      }

      function toCrm(task: Task): void {
        if (batches) batches.add(task);
        else done(task);
      }

      /** Write a batch to the CRMs and the store at once; each lead ends in one state from both outcomes. */
      function startBatch(
        tasks: Task[],
        crmSession: CrmStageSession | undefined,
        storeSession: StoreStage | undefined,
      ): void {
        syncing += 1;
        const leads = tasks.map((task) => task.lead);
        Promise.all([crmSession?.write(leads), storeSession?.write(leads)])
          .then(
            ([crmOutcomes, storeOutcomes]) => {
              tasks.forEach((task, index) => {
                const outcome = crmOutcomes?.[index] ?? { kind: 'written' };
                const stored = storeOutcomes?.[index];
                if (stored !== undefined) {
                  ledger.stored(
                    stored.kind === 'stored'
                      ? stored.status
                      : stored.kind === 'rejected'
                        ? 'rejected'
                        : 'failed',
                  );
                }
                const { row } = task;
                if (outcome.kind === 'deadLettered' || stored?.kind === 'deadLettered') {
                  const errors: PipelineDeadLetterError[] = [
                    ...(outcome.kind === 'deadLettered' ? outcome.errors : []),
                    ...(stored?.kind === 'deadLettered' ? [stored.error] : []),
                  ];
                  writer.finish(
                    {
                      status: 'deadLettered',
                      rowNumber: row.rowNumber,
                      leadId: task.lead.id,
                      lead: task.lead,
                      stage: outcome.kind === 'deadLettered' ? 'crm' : 'store',
                      errors,
                    },
                    row,
                  );
                } else if (outcome.kind === 'rejected' || stored?.kind === 'rejected') {
                  writer.finish(
                    {
                      status: 'rejected',
                      rowNumber: row.rowNumber,
                      ...(row.line === undefined ? {} : { line: row.line }),
                      stage: outcome.kind === 'rejected' ? 'crm' : 'store',
                      issues: [
                        ...(outcome.kind === 'rejected' ? outcome.issues : []),
                        ...(stored?.kind === 'rejected' ? stored.issues : []),
                      ],
                    },
                    row,
                  );
                } else {
                  if (crmSession) ledger.synced();
                  done(task, stored);
                }
              });
            },
            (error: unknown) => {
              if (!signal.aborted) fail(error);
              for (const _task of tasks) writer.unfinished();
            },
          )
          .finally(() => {
            syncing -= 1;
            wake();
          });
      }

      function enrich(task: Task, enrichmentEngine: EnrichmentEngine): void {
        enriching += 1;
        enrichLead(enrichmentEngine, task.lead, { fields, signal: engineSignal.signal })
          .then((outcome) => {
            // "Enriched" means the lead gained a field; a lead no provider knew is only done.
            if (
              outcome.kind === 'enriched' &&
              (outcome.status === 'enriched' || outcome.status === 'partial')
            )
              ledger.enriched();
            if (signal.aborted || outcome.kind === 'aborted') {
              writer.unfinished();
            } else if (outcome.kind === 'enriched') {
              toCrm({ row: task.row, lead: outcome.lead, enrichment: outcome.status });
            } else {
              writer.finish(
                {
                  status: 'deadLettered',
                  rowNumber: task.row.rowNumber,
                  leadId: task.lead.id,
                  lead: task.lead,
                  stage: 'enrich',
                  error: outcome.error,
                },
                task.row,
              );
            }
          })
          .finally(() => {
            enriching -= 1;
            wake();
          });
      }

      function accept(row: Row, finished: boolean): void {
        inFlight += 1;
        ledger.read();
        const admission = admitRow(row, {
          resolver,
          defaultCountry: settings.defaultCountry,
          now: new Date(now()),
          finished,
          firstRowOf: (identity, rowNumber) => dedupe.setIfAbsent(hash64(identity), rowNumber),
        });
        switch (admission.kind) {
          case 'rejected':
            writer.finish(
              {
                status: 'rejected',
                rowNumber: row.rowNumber,
                ...(row.line === undefined ? {} : { line: row.line }),
                stage: admission.stage,
                issues: admission.issues,
              },
              row,
            );
            return;
          case 'skipped':
            writer.finish({ status: 'skipped', rowNumber: row.rowNumber }, row);
            return;
          case 'duplicate':
            ledger.validated();
            writer.finish(
              {
                status: 'done',
                rowNumber: row.rowNumber,
                lead: admission.lead,
                duplicateOf: admission.duplicateOf,
              },
              row,
            );
            return;
          case 'task': {
            ledger.validated();
            const task: Task = { row, lead: admission.lead };
            if (engine) enrich(task, engine);
            else toCrm(task);
          }
        }
      }

      /** Number a value read from the source, ask the checkpoint whether it was finished, admit it. */
      async function take(value: unknown): Promise<void> {
        try {
          position += 1;
          const row = toRow(value, position);
          const finished = finishedRows ? await finishedRows.has(row.rowNumber) : false;
          accept(row, finished);
        } catch (error) {
          fail(error);
        }
      }

      for (const value of preRead) await take(value);

      for (;;) {
        const stopping = signal.aborted || failure !== undefined;
        if (!stopping && !sourceDone && !reading && enriching < concurrency && inFlight < maxInFlight) {
          reading = true;
          Promise.resolve(iterator.next())
            .then(
              async (item) => {
                if (item.done) sourceDone = true;
                else if (!signal.aborted) await take(item.value);
              },
              (error: unknown) => {
                // Rows already read still finish; the run then fails with the source's error.
                sourceDone = true;
                sourceError ??= error;
              },
            )
            .finally(() => {
              reading = false;
              wake();
            });
        }
        if (batches) {
          if (stopping) {
            for (const _task of batches.clear()) writer.unfinished();
          } else {
            while (batches.length >= batchSize && syncing < batchConcurrency) {
              startBatch(batches.take(batchSize), session, storeWrites);
            }
            const cannotFill =
              enriching === 0 && (sourceDone || inFlight >= maxInFlight || batches.lingerExpired);
            if (batches.length > 0 && syncing < batchConcurrency && (cannotFill || batches.lingerExpired)) {
              startBatch(batches.take(batchSize), session, storeWrites);
            }
          }
        }
        if ((sourceDone || stopping) && !reading && inFlight === 0 && syncing === 0 && enriching === 0) break;
        await sleep();
      }
      batches?.clear();
      engineSignal.dispose();
      if (session) {
        try {
          ledger.crmReports(await session.close());
        } catch (error) {
          // A session that was aborted or failed rejects with that cause, which the run already has;
          // its report still says what reached each CRM before it stopped.
          ledger.crmReports(session.report());
          if (!signal.aborted) fail(error);
        }
      }
      await writer.idle();
      if (!sourceDone) {
        try {
          await iterator.return?.();
        } catch {
          // The source failed to close after the run stopped; nothing more to do with it.
        }
      }
      if (checkpoint && failure === undefined) {
        await writer.flushCheckpoint();
      } else if (checkpoint) {
        // Keep what finished before the failure, so a resume does not do it again.
        try {
          await writer.flushCheckpoint();
        } catch {
          // The original failure is the one to report.
        }
      }
    }

    function start(): Promise<PipelineReport> {
      if (!started) {
        started = traced();
        started.catch(() => undefined);
      }
      return started;
    }

    return {
      // biome-ignore lint/suspicious/noThenProperty: a run is deliberately thenable (PromiseLike<PipelineReport>).
      then(onFulfilled, onRejected) {
        return start().then(onFulfilled, onRejected);
      },
      [Symbol.asyncIterator]() {
        if (started && !channel) {
          throw new ConfigurationError('invalid_configuration', {
            message: 'run: iterate the run before awaiting it; its results were not kept',
          });
        }
        channel ??= new ResultChannel(concurrency);
        const results = channel;
        start();
        return {
          next: () => results.next(),
          return: async () => {
            results.cancel();
            if (!finalReport) {
              stoppedByCaller = true;
              controller.abort(new Error('iteration stopped'));
            }
            try {
              await started;
            } catch {
              // The run's outcome is reported by awaiting it.
            }
            return { value: undefined, done: true };
          },
        };
      },
      snapshot,
    };
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

// The pipeline's public types: what it reads (PipelineSource), its options (LeadPipelineOptions),
// a run's options (PipelineRunOptions), a run in progress (PipelineRun) and the pipeline itself
// (LeadPipeline). createLeadPipeline (pipeline.ts) builds one.
import type { Cache } from '../contracts/cache.js';
import type { CheckpointStore } from '../contracts/checkpoint-store.js';
import type { Clock } from '../contracts/clock.js';
import type { DeadLetterQueue } from '../contracts/dead-letter-queue.js';
import type { LeadField } from '../contracts/fields.js';
import type { LeadStoreV1 } from '../contracts/lead-store.js';
import type { CrmSync, CrmSyncOptions } from '../crm/index.js';
import type { EnrichmentEngine, EnrichmentEngineOptions } from '../enrich/index.js';
import type { CountryCode } from '../lead/index.js';
import type { SpillingHash64IndexOptions } from '../stores/spilling-index.js';
import type { ObservabilityOptions } from '../telemetry/index.js';
import type { ColumnMapping } from './columns.js';
import type { DuplicateSink, DuplicatesWriter } from './duplicates-writer.js';
import type { PipelineEventName, PipelineEvents } from './events.js';
import type { PipelineReport, PipelineResult, RejectSink } from './report.js';
import type { LeadSink, RejectsWriter } from './sinks.js';
import type { SourceRow } from './source.js';

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

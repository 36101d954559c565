import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { v7 as uuidv7 } from 'uuid';
import type { Cache } from '../contracts/cache.js';
import type { Checkpoint, CheckpointStore } from '../contracts/checkpoint-store.js';
import type { CrmProperties, CrmRecordErrorCode } from '../contracts/crm-adapter.js';
import type { DeadLetterQueue } from '../contracts/dead-letter-queue.js';
import {
  ConfigurationError,
  LeadpipeError,
  ValidationError,
  type ValidationIssue,
} from '../contracts/errors.js';
import { LEAD_FIELDS, type LeadField } from '../contracts/fields.js';
import type { Lead } from '../contracts/lead.js';
import { redactSecrets } from '../contracts/secrets.js';
import {
  type CrmSync,
  type CrmSyncEvent,
  type CrmSyncOptions,
  type CrmSyncTargetReport,
  createCrmSync,
} from '../crm/index.js';
import {
  createEnrichmentEngine,
  type EnrichmentEngine,
  type EnrichmentEngineOptions,
  type EnrichmentStats,
  type EnrichmentStatus,
  type ProviderStats,
} from '../enrich/index.js';
import { SafeEventBus } from '../events/safe-event-bus.js';
import { type CountryCode, flattenLead, leadIdentityKey, safeCreateLead } from '../lead/index.js';
import { hash64 } from '../stores/hash-map.js';
import { createMemoryCache } from '../stores/memory-cache.js';
import { createMemoryDeadLetterQueue } from '../stores/memory-dead-letter-queue.js';
import { SpillingHash64Index, type SpillingHash64IndexOptions } from '../stores/spilling-index.js';
import { type ColumnMapping, createColumnResolver } from './columns.js';
import type { PipelineEventName, PipelineEvents, PipelineProgress } from './events.js';
import type {
  PipelineCounts,
  PipelineDeadLetter,
  PipelineDeadLetterError,
  PipelineReject,
  PipelineReport,
  PipelineResult,
  PipelineStage,
  RejectedRow,
  RejectSink,
} from './report.js';
import type { LeadSink } from './sinks.js';
import { isSourceRow, type SourceRow } from './source.js';

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
export interface LeadPipelineOptions {
  /**
   * The enrichment engine, or its options (then the pipeline creates it and
   * wires the cache and the checkpoint's result log into it: pass options,
   * not an engine, for resumes that pay no provider twice). Omit to only
   * validate and sync.
   */
  readonly enrichment?: EnrichmentEngine | EnrichmentEngineOptions;
  /** Fields to fill. Default: the engine's `fields` (when given as options), else every field. */
  readonly fields?: readonly LeadField[];
  /** CRMs to sync into, each with its mapping. Omit to only validate and enrich. */
  readonly crms?: CrmSyncOptions['crms'];
  /** Other settings of the CRM sync engine (retries, limits, batches in flight per CRM, clock). */
  readonly crmOptions?: Omit<CrmSyncOptions, 'crms' | 'deadLetters' | 'onEvent'>;
  /** Where dead-lettered records go. Default: an in-memory queue (see `pipeline.deadLetters`). */
  readonly deadLetters?: DeadLetterQueue;
  /** Where checkpoints go, for `resume` (such as `createFileCheckpointStore(path)`). */
  readonly checkpoints?: CheckpointStore;
  /**
   * The enrichment result cache (when `enrichment` is given as options and
   * has no `cache` of its own). Default: an in-memory LRU of 10,000 entries,
   * smaller than the engine's own default (50,000, about 95 MB) because the
   * pipeline already enriches each identity once per run; pass a larger or
   * shared cache (Redis) so later runs of other inputs do not pay again. With
   * checkpoints, the checkpoint's result log is consulted after it and
   * written with it.
   */
  readonly cache?: Cache;
  /** Leads enriched at once. Default 16. */
  readonly concurrency?: number;
  /** Leads per CRM batch. Default: the largest `maxBatchSize` of the CRMs. */
  readonly batchSize?: number;
  /** CRM batches in flight at once. Default 2. */
  readonly batchConcurrency?: number;
  /** How long a partial CRM batch waits for more leads, in ms. Default 100. */
  readonly batchLingerMs?: number;
  /** Explicit header to lead-path mapping; other headers are recognised (see `recogniseColumn`). */
  readonly columns?: ColumnMapping;
  /** Columns neither mapped nor recognised: kept as `custom.<header>` (default) or ignored. */
  readonly unmappedColumns?: 'custom' | 'ignore';
  /** Where rejected rows go, with their input values. Default: only counted and kept in the report (first N). */
  readonly rejects?: RejectSink;
  /** Validate and enrich, but write nothing to any CRM. */
  readonly dryRun?: boolean;
  /** Country for phone numbers written without a country code. */
  readonly defaultCountry?: CountryCode;
  /** How many rejects and dead letters the report lists. Default 100. */
  readonly maxReportedRows?: number;
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
  readonly now?: () => number;
  /** Told when an event listener throws. Default: ignored. */
  readonly onListenerError?: (error: unknown, event: string) => void;
}

/** Options of {@link LeadPipeline.run}. */
export interface PipelineRunOptions {
  /**
   * Stops the run: reading stops at once, CRM calls in flight are aborted,
   * enrichments in flight are let finish (so the answers paid for are kept
   * in the cache and the checkpoint, and not paid again on resume), and the
   * run rejects with a {@link PipelineAbortedError}.
   */
  readonly signal?: AbortSignal;
  /** Skip the rows a checkpoint says an earlier run of the same input finished. Needs `checkpoints`. */
  readonly resume?: boolean;
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
  /** Listen to an event. Returns a function that removes the listener. */
  on<E extends PipelineEventName>(event: E, listener: (payload: PipelineEvents[E]) => void): () => void;
  /** Where dead-lettered records went (for inspection and `redrive`). */
  readonly deadLetters: DeadLetterQueue;
  /** The CRM sync engine, when CRMs are configured (for `redrive`). */
  readonly crmSync: CrmSync | undefined;
  /** The enrichment engine, when one is configured. */
  readonly enrichment: EnrichmentEngine | undefined;
  /** Release what the pipeline created (its engine's limiters, its CRM sync's registry). */
  close(): Promise<void>;
}

const abortedMarker = Symbol.for('leadpipe.error.PipelineAbortedError');

/** A pipeline run was aborted by its signal (or by breaking out of iteration). Carries the partial report. */
export class PipelineAbortedError extends LeadpipeError {
  /** The report at the time the run stopped; rows in flight are counted `unfinished`. */
  readonly report: PipelineReport;

  /** @param report - the partial report; @param cause - the abort reason. */
  constructor(report: PipelineReport, cause?: unknown) {
    super('aborted', { message: 'The pipeline run was aborted', cause, isRetryable: false });
    this.name = 'PipelineAbortedError';
    Object.defineProperty(this, abortedMarker, { value: true, enumerable: false });
    this.report = report;
  }

  /** Whether `error` is a {@link PipelineAbortedError}. */
  static override isInstance(error: unknown): error is PipelineAbortedError {
    return (
      typeof error === 'object' &&
      error !== null &&
      (error as Record<symbol, unknown>)[abortedMarker] === true
    );
  }
}

const PIPELINE_TARGET = 'leadpipe.pipeline';

interface Row {
  readonly rowNumber: number;
  readonly line: number | undefined;
  readonly values: Readonly<Record<string, unknown>>;
  readonly columns: readonly string[];
  readonly readIssues: readonly ValidationIssue[] | undefined;
}

interface Task {
  readonly row: Row;
  lead: Lead;
  enrichment?: EnrichmentStatus;
  readonly crmErrors: PipelineDeadLetterError[];
  readonly crmIssues: ValidationIssue[];
}

function isEngine(value: EnrichmentEngine | EnrichmentEngineOptions): value is EnrichmentEngine {
  return typeof (value as EnrichmentEngine).enrich === 'function';
}

function positiveInteger(value: number | undefined, name: string, problems: string[]): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
    problems.push(`${name}: must be a positive integer, got ${String(value)}`);
  }
}

/** A cache that reads `primary` then `secondary`, and writes both. */
function layeredCache(primary: Cache, secondary: () => Cache | undefined): Cache {
  return {
    async get(key) {
      const value = await primary.get(key);
      if (value !== undefined) return value;
      return secondary()?.get(key);
    },
    async set(key, value, ttlMs) {
      await primary.set(key, value, ttlMs);
      await secondary()?.set(key, value, ttlMs);
    },
    async delete(key) {
      await primary.delete(key);
      await secondary()?.delete(key);
    },
  };
}

function subtractStats(
  after: EnrichmentStats,
  before: EnrichmentStats | undefined,
): Record<string, ProviderStats> {
  const out: Record<string, ProviderStats> = {};
  for (const [id, stats] of Object.entries(after.providers)) {
    const earlier = before?.providers[id];
    out[id] = earlier
      ? {
          ...stats,
          calls: stats.calls - earlier.calls,
          requests: stats.requests - earlier.requests,
          cacheHits: stats.cacheHits - earlier.cacheHits,
          matches: stats.matches - earlier.matches,
          misses: stats.misses - earlier.misses,
          pending: stats.pending - earlier.pending,
          errors: stats.errors - earlier.errors,
          rateLimited: stats.rateLimited - earlier.rateLimited,
          budgetSkips: stats.budgetSkips - earlier.budgetSkips,
          credits: Math.round((stats.credits - earlier.credits) * 1e6) / 1e6,
        }
      : stats;
  }
  return out;
}

function mergeCrmReport(into: Map<string, CrmSyncTargetReport>, report: CrmSyncTargetReport): void {
  const id = `${report.adapterId}\u0000${report.object}`;
  const earlier = into.get(id);
  if (!earlier) {
    into.set(id, { ...report });
    return;
  }
  const rank = { ok: 0, degraded: 1, down: 2 } as const;
  const error = report.error ?? earlier.error;
  into.set(id, {
    adapterId: report.adapterId,
    object: report.object,
    status: rank[report.status] > rank[earlier.status] ? report.status : earlier.status,
    received: earlier.received + report.received,
    rejected: earlier.rejected + report.rejected,
    merged: earlier.merged + report.merged,
    created: earlier.created + report.created,
    updated: earlier.updated + report.updated,
    unchanged: earlier.unchanged + report.unchanged,
    failed: earlier.failed + report.failed,
    deadLettered: earlier.deadLettered + report.deadLettered,
    retried: earlier.retried + report.retried,
    calls: earlier.calls + report.calls,
    ...(error ? { error } : {}),
  });
}

function scalarProperties(lead: Lead): CrmProperties {
  const out: Record<string, string | number | boolean> = {};
  for (const [field, value] of Object.entries(flattenLead(lead))) {
    if (typeof value === 'string' || typeof value === 'number') out[field] = value;
    else if (Array.isArray(value)) out[field] = value.join(', ');
    else if (value !== undefined) out[field] = JSON.stringify(value);
  }
  return out;
}

function errorInfo(error: unknown): { code: string; message: string; retryable: boolean } {
  if (LeadpipeError.isInstance(error)) {
    return { code: error.code, message: error.message, retryable: error.isRetryable };
  }
  return {
    code: 'adapter_error',
    message: redactSecrets(error instanceof Error ? error.message : String(error)),
    retryable: false,
  };
}

/** A bounded hand-over of results to an iterating caller. */
class ResultChannel {
  readonly #items: PipelineResult[] = [];
  readonly #capacity: number;
  #takers: ((value: IteratorResult<PipelineResult>) => void)[] = [];
  #failers: ((error: unknown) => void)[] = [];
  #spaceWaiters: (() => void)[] = [];
  #ended: { error?: unknown } | undefined;
  #cancelled = false;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get cancelled(): boolean {
    return this.#cancelled;
  }

  async push(item: PipelineResult): Promise<void> {
    if (this.#cancelled) return;
    const taker = this.#takers.shift();
    if (taker) {
      this.#failers.shift();
      taker({ value: item, done: false });
      return;
    }
    this.#items.push(item);
    while (this.#items.length >= this.#capacity && !this.#cancelled) {
      await new Promise<void>((resolve) => this.#spaceWaiters.push(resolve));
    }
  }

  end(error?: unknown): void {
    this.#ended = error === undefined ? {} : { error };
    for (const [index, taker] of this.#takers.entries()) {
      if (error === undefined) taker({ value: undefined, done: true });
      else this.#failers[index]?.(error);
    }
    this.#takers = [];
    this.#failers = [];
  }

  cancel(): void {
    this.#cancelled = true;
    this.#items.length = 0;
    for (const waiter of this.#spaceWaiters.splice(0)) waiter();
  }

  next(): Promise<IteratorResult<PipelineResult>> {
    const item = this.#items.shift();
    if (item !== undefined) {
      this.#spaceWaiters.shift()?.();
      return Promise.resolve({ value: item, done: false });
    }
    if (this.#ended) {
      return this.#ended.error === undefined
        ? Promise.resolve({ value: undefined, done: true })
        : Promise.reject(this.#ended.error);
    }
    return new Promise((resolve, reject) => {
      this.#takers.push(resolve);
      this.#failers.push(reject);
    });
  }
}

function iteratorOf(source: PipelineSource): AsyncIterator<unknown> | Iterator<unknown> {
  if (typeof source !== 'object' || source === null) {
    throw new ConfigurationError('invalid_configuration', {
      message: 'run: source must be an array, an iterable, an async iterable or a readable stream of rows',
    });
  }
  if (Symbol.asyncIterator in source) return (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  if (Symbol.iterator in source) return (source as Iterable<unknown>)[Symbol.iterator]();
  if (typeof (source as NodeJS.ReadableStream).pipe === 'function') {
    return new Readable({ objectMode: true }).wrap(source as NodeJS.ReadableStream)[Symbol.asyncIterator]();
  }
  throw new ConfigurationError('invalid_configuration', {
    message: 'run: source must be an array, an iterable, an async iterable or a readable stream of rows',
  });
}

function fingerprintOf(rows: readonly unknown[]): string {
  const hash = createHash('sha256');
  for (const row of rows) {
    const values = isSourceRow(row) ? row.values : row;
    let text: string;
    try {
      text = JSON.stringify(values) ?? String(values);
    } catch {
      text = String(values);
    }
    hash.update(text);
    hash.update('\n');
  }
  return `rows-sha256:${hash.digest('hex')}`;
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
 * - `deadLettered`: a CRM failed it for good (the record is on the
 *   dead-letter queue with the vendor's error), or the engine threw. When
 *   one of several CRMs dead-letters a lead it is dead-lettered even if
 *   the others took it; a CRM dead letter wins over a CRM reject.
 *
 * Backpressure: the source is pulled one row at a time, only while fewer
 * than `concurrency` leads are enriching and fewer than `concurrency +
 * batchSize × (batchConcurrency + 1)` rows are in flight; sinks are awaited.
 * Memory is that window plus the dedupe table, which keeps up to
 * `dedupe.maxMemoryEntries` identities (64-bit hashes) in memory and writes
 * the rest to sorted files on disk with a fixed 8 MB Bloom filter in front
 * (see `SpillingHash64Index`): flat however many rows come. Two identities
 * with the same 64-bit hash (about 3 in 10^8 for a million) are taken for
 * one.
 *
 * CRM writes go through `createCrmSync` one batch at a time so that every
 * lead's outcome is known when its batch ends; the trade-off is that a CRM
 * that is down is tried (with retries) once per batch rather than once per
 * run.
 *
 * Resume: with `checkpoints`, finished rows are recorded as they finish
 * (after the output has them) and the checkpoint's result log is wired as
 * a second-level cache of the engine, so `run(source, { resume: true })`
 * skips finished rows, pays no provider again for rows that were in flight,
 * and, CRM writes being keyed upserts, creates nothing twice.
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
  const problems: string[] = [];
  positiveInteger(options.concurrency, 'concurrency', problems);
  positiveInteger(options.batchSize, 'batchSize', problems);
  positiveInteger(options.batchConcurrency, 'batchConcurrency', problems);
  positiveInteger(options.checkpointEvery, 'checkpointEvery', problems);
  positiveInteger(options.fingerprintRows, 'fingerprintRows', problems);
  for (const [name, value] of [
    ['batchLingerMs', options.batchLingerMs],
    ['progressIntervalMs', options.progressIntervalMs],
    ['maxReportedRows', options.maxReportedRows],
  ] as const) {
    if (value !== undefined && !(Number.isInteger(value) && value >= 0)) {
      problems.push(`${name}: must be a non-negative integer, got ${String(value)}`);
    }
  }
  for (const field of options.fields ?? []) {
    if (!LEAD_FIELDS.includes(field)) problems.push(`fields: "${String(field)}" is not a Lead field`);
  }
  if (options.rejects !== undefined && typeof options.rejects !== 'function') {
    problems.push('rejects: must be a function');
  }
  let dedupeTable: SpillingHash64Index | undefined;
  try {
    dedupeTable = new SpillingHash64Index(options.dedupe);
  } catch (error) {
    if (!ValidationError.isInstance(error)) throw error;
    for (const issue of error.issues) problems.push(`dedupe.${issue.field}: ${issue.reason}`);
  }
  if (problems.length > 0) {
    throw new ConfigurationError('invalid_configuration', {
      message: `createLeadPipeline: ${problems.join('; ')}`,
    });
  }
  const resolver = createColumnResolver({
    ...(options.columns ? { columns: options.columns } : {}),
    ...(options.unmappedColumns ? { unmapped: options.unmappedColumns } : {}),
  });
  const now = options.now ?? Date.now;
  const concurrency = options.concurrency ?? 16;
  const batchConcurrency = options.batchConcurrency ?? 2;
  const batchLingerMs = options.batchLingerMs ?? 100;
  const maxReported = options.maxReportedRows ?? 100;
  const checkpointEvery = options.checkpointEvery ?? 1_000;
  const progressIntervalMs = options.progressIntervalMs ?? 1_000;
  const fingerprintRows = options.fingerprintRows ?? 100;
  const bus = new SafeEventBus<PipelineEvents>(options.onListenerError);
  const deadLetters = options.deadLetters ?? createMemoryDeadLetterQueue();

  let runResults: Cache | undefined;
  let engine: EnrichmentEngine | undefined;
  let ownEngine = false;
  let fields: readonly LeadField[] = options.fields ?? LEAD_FIELDS;
  if (options.enrichment !== undefined) {
    if (isEngine(options.enrichment)) engine = options.enrichment;
    else {
      const engineOptions = options.enrichment;
      const primary =
        engineOptions.cache === false
          ? undefined
          : (engineOptions.cache ?? options.cache ?? createMemoryCache({ maxEntries: 10_000 }));
      engine = createEnrichmentEngine({
        ...engineOptions,
        cache: primary === undefined ? false : layeredCache(primary, () => runResults),
      });
      ownEngine = true;
      fields = options.fields ?? engineOptions.fields ?? fields;
    }
  }

  // Events of the CRM sync are routed to the row of each lead id.
  const rowsByLeadId = new Map<string, Task>();
  const crmSync =
    options.crms === undefined || options.crms.length === 0
      ? undefined
      : createCrmSync({
          ...options.crmOptions,
          crms: options.crms,
          deadLetters,
          onEvent: (event: CrmSyncEvent) => {
            if (event.type === 'crm.recordDeadLettered') {
              for (const leadId of event.leadIds) {
                rowsByLeadId.get(leadId)?.crmErrors.push({
                  target: event.adapterId,
                  code: event.code,
                  message: `${event.adapterId}/${event.object}: record dead-lettered (entry ${event.entryId})`,
                  retryable: event.retryable,
                });
              }
            } else if (event.type === 'crm.recordRejected') {
              const task = rowsByLeadId.get(event.leadId);
              for (const issue of event.issues) {
                task?.crmIssues.push({
                  field: `crm.${event.adapterId}.${issue.field}`,
                  reason: issue.reason,
                });
              }
            }
            if (bus.hasListeners('crm.event')) bus.emit('crm.event', event);
          },
        });
  const batchSize =
    options.batchSize ??
    Math.max(1, ...(options.crms ?? []).map((target) => target.adapter?.capabilities?.maxBatchSize ?? 1));
  const dedupe = dedupeTable!;
  let running = false;

  function run(source: PipelineSource, runOptions: PipelineRunOptions = {}): PipelineRun {
    if (runOptions.resume === true && options.checkpoints === undefined) {
      throw new ConfigurationError('invalid_configuration', {
        message:
          'run: resume needs the pipeline option checkpoints (such as createFileCheckpointStore(path))',
      });
    }
    const iterator = iteratorOf(source);
    const controller = new AbortController();
    const userSignal = runOptions.signal;
    const output = runOptions.output;
    const startedAt = now();
    const counts = {
      read: 0,
      skipped: 0,
      validated: 0,
      duplicates: 0,
      enriched: 0,
      synced: 0,
      done: 0,
      rejected: 0,
      deadLettered: 0,
      unfinished: 0,
    } satisfies PipelineCounts;
    const rejects: PipelineReject[] = [];
    const deadLetterRows: PipelineDeadLetter[] = [];
    const crmReports = new Map<string, CrmSyncTargetReport>();
    let statsBefore: EnrichmentStats | undefined;
    let finalReport: PipelineReport | undefined;
    let status: PipelineReport['status'] = 'completed';
    let failure: unknown;
    let sourceError: unknown;
    let stoppedByCaller = false;
    let resumed = false;
    let lastProgress = startedAt;
    let channel: ResultChannel | undefined;
    let started: Promise<PipelineReport> | undefined;

    function snapshot(): PipelineReport {
      if (finalReport) return finalReport;
      const durationMs = Math.max(0, now() - startedAt);
      const processed = counts.read - counts.skipped;
      const problem = failure ?? sourceError;
      const error = problem === undefined ? undefined : errorInfo(problem);
      const providers = engine ? subtractStats(engine.stats(), statsBefore) : {};
      return {
        status,
        resumed,
        dryRun: options.dryRun === true,
        counts: { ...counts },
        providers,
        credits:
          Math.round(Object.values(providers).reduce((sum, stats) => sum + stats.credits, 0) * 1e6) / 1e6,
        crms: [...crmReports.values()],
        durationMs,
        leadsPerSecond: durationMs === 0 ? 0 : Math.round((processed / durationMs) * 1000 * 100) / 100,
        rejects: [...rejects],
        deadLetters: [...deadLetterRows],
        startedAt: new Date(startedAt).toISOString(),
        finishedAt: new Date(startedAt + durationMs).toISOString(),
        ...(error ? { error: { code: error.code, message: error.message } } : {}),
      };
    }

    function progress(): PipelineProgress {
      const elapsedMs = Math.max(0, now() - startedAt);
      const finished = counts.done + counts.rejected + counts.deadLettered;
      return {
        read: counts.read,
        skipped: counts.skipped,
        validated: counts.validated,
        rejected: counts.rejected,
        duplicates: counts.duplicates,
        enriched: counts.enriched,
        synced: counts.synced,
        deadLettered: counts.deadLettered,
        done: counts.done,
        ratePerSecond: elapsedMs === 0 ? 0 : Math.round((finished / elapsedMs) * 1000 * 100) / 100,
        elapsedMs,
      };
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
      try {
        statsBefore = engine?.stats();
        const preRead: unknown[] = [];
        if (options.checkpoints) {
          let fingerprint = runOptions.fingerprint;
          if (fingerprint === undefined) {
            while (preRead.length < fingerprintRows) {
              const item = await iterator.next();
              if (item.done) break;
              preRead.push(item.value);
            }
            fingerprint = fingerprintOf(preRead);
          }
          checkpoint = await options.checkpoints.open({ fingerprint, resume: runOptions.resume === true });
          resumed = checkpoint.resumed;
          runResults = checkpoint.results;
        }
        bus.emit('pipeline.started', { resumed, finishedBefore: checkpoint?.finishedBefore ?? 0 });
        await drive(preRead, checkpoint);
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
        runResults = undefined;
        running = false;
      }
      failure ??= sourceError;
      if (stoppedByCaller) status = 'aborted';
      else if (failure !== undefined) status = 'failed';
      const report = snapshot();
      finalReport = report;
      bus.emit('pipeline.progress', progress());
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

    async function drive(preRead: unknown[], checkpoint: Checkpoint | undefined): Promise<void> {
      const signal = controller.signal;
      const maxInFlight = concurrency + batchSize * (batchConcurrency + 1);
      let inFlight = 0;
      let enriching = 0;
      let syncing = 0;
      let reading = false;
      let sourceDone = false;
      let position = 0;
      let sinceCheckpoint = 0;
      let buffer: Task[] = [];
      let lingerTimer: ReturnType<typeof setTimeout> | undefined;
      let lingerExpired = false;
      let finishing: Promise<void> = Promise.resolve();
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

      /** Finish a row: sinks, events, results, checkpoint, counts, one at a time. */
      function finish(result: PipelineResult, task: Task | undefined, row: Row): void {
        // Whether the row was counted in a state; a sink failing before that leaves it unfinished.
        let counted = false;
        finishing = finishing
          .then(async () => {
            if (failure !== undefined) {
              counts.unfinished += 1;
              counted = true;
              return;
            }
            switch (result.status) {
              case 'done':
                if (result.duplicateOf === undefined && output) {
                  await output.write({
                    rowNumber: row.rowNumber,
                    values: row.values,
                    columns: row.columns,
                    lead: result.lead,
                    fields,
                  });
                }
                counts.done += 1;
                counted = true;
                if (bus.hasListeners('row.done')) {
                  bus.emit('row.done', {
                    rowNumber: row.rowNumber,
                    leadId: result.lead.id,
                    ...(result.duplicateOf === undefined ? {} : { duplicateOf: result.duplicateOf }),
                  });
                }
                break;
              case 'rejected': {
                const reject: PipelineReject = {
                  rowNumber: result.rowNumber,
                  ...(result.line === undefined ? {} : { line: result.line }),
                  stage: result.stage,
                  issues: result.issues,
                };
                if (options.rejects) {
                  const rejected: RejectedRow = { ...reject, values: row.values, columns: row.columns };
                  await options.rejects(rejected);
                }
                counts.rejected += 1;
                counted = true;
                if (rejects.length < maxReported) rejects.push(reject);
                bus.emit('row.rejected', {
                  rowNumber: reject.rowNumber,
                  stage: reject.stage,
                  issues: reject.issues,
                });
                break;
              }
              case 'deadLettered': {
                const entry: PipelineDeadLetter = {
                  rowNumber: result.rowNumber,
                  leadId: result.leadId,
                  stage: result.stage,
                  errors: result.errors,
                };
                counts.deadLettered += 1;
                counted = true;
                if (deadLetterRows.length < maxReported) deadLetterRows.push(entry);
                bus.emit('row.deadLettered', { ...entry });
                break;
              }
              case 'skipped':
                counts.skipped += 1;
                counted = true;
                break;
            }
            if (task) rowsByLeadId.delete(task.lead.id);
            if (channel) await channel.push(result);
            if (checkpoint && result.status !== 'skipped') {
              await checkpoint.markFinished([row.rowNumber]);
              sinceCheckpoint += 1;
              if (sinceCheckpoint >= checkpointEvery) {
                sinceCheckpoint = 0;
                await output?.flush?.();
                await checkpoint.flush();
              }
            }
            if (bus.hasListeners('pipeline.progress') && now() - lastProgress >= progressIntervalMs) {
              lastProgress = now();
              bus.emit('pipeline.progress', progress());
            }
          })
          .catch((error: unknown) => {
            if (!counted) counts.unfinished += 1;
            failure ??= error;
            controller.abort(error);
          })
          .finally(() => {
            inFlight -= 1;
            wake();
          });
      }

      function unfinished(task: Task): void {
        rowsByLeadId.delete(task.lead.id);
        finishing = finishing.finally(() => {
          counts.unfinished += 1;
          inFlight -= 1;
          wake();
        });
      }

      function deadLetterTask(task: Task, stage: PipelineStage, errors: PipelineDeadLetterError[]): void {
        finish(
          {
            status: 'deadLettered',
            rowNumber: task.row.rowNumber,
            leadId: task.lead.id,
            lead: task.lead,
            stage,
            errors,
          },
          task,
          task.row,
        );
      }

      function toCrm(task: Task): void {
        if (!crmSync || options.dryRun === true) {
          finish(
            {
              status: 'done',
              rowNumber: task.row.rowNumber,
              lead: task.lead,
              ...(task.enrichment === undefined ? {} : { enrichment: task.enrichment }),
            },
            task,
            task.row,
          );
          return;
        }
        buffer.push(task);
        if (lingerTimer === undefined && batchLingerMs > 0) {
          lingerTimer = setTimeout(() => {
            lingerTimer = undefined;
            lingerExpired = true;
            wake();
          }, batchLingerMs);
          lingerTimer.unref?.();
        }
      }

      function startSync(tasks: Task[], sync: CrmSync): void {
        syncing += 1;
        for (const task of tasks) rowsByLeadId.set(task.lead.id, task);
        sync
          .sync(
            tasks.map((task) => task.lead),
            { signal },
          )
          .then(
            (report) => {
              for (const crm of report.crms) mergeCrmReport(crmReports, crm);
              for (const task of tasks) {
                if (task.crmErrors.length > 0) deadLetterTask(task, 'crm', task.crmErrors);
                else if (task.crmIssues.length > 0) {
                  finish(
                    {
                      status: 'rejected',
                      rowNumber: task.row.rowNumber,
                      ...(task.row.line === undefined ? {} : { line: task.row.line }),
                      stage: 'crm',
                      issues: task.crmIssues,
                    },
                    task,
                    task.row,
                  );
                } else {
                  counts.synced += 1;
                  finish(
                    {
                      status: 'done',
                      rowNumber: task.row.rowNumber,
                      lead: task.lead,
                      ...(task.enrichment === undefined ? {} : { enrichment: task.enrichment }),
                    },
                    task,
                    task.row,
                  );
                }
              }
            },
            (error: unknown) => {
              if (!signal.aborted) {
                failure ??= error;
                controller.abort(error);
              }
              for (const task of tasks) unfinished(task);
            },
          )
          .finally(() => {
            syncing -= 1;
            wake();
          });
      }

      function enrich(task: Task, enrichmentEngine: EnrichmentEngine): void {
        enriching += 1;
        // No signal: an enrichment in flight when the run is aborted is let finish (each call is bounded by
        // its provider's timeout), so that what was paid for reaches the cache and the checkpoint's result log.
        enrichmentEngine
          .enrich(task.lead, { fields })
          .then(
            (outcome) => {
              task.lead = outcome.lead;
              task.enrichment = outcome.status;
              counts.enriched += 1;
              if (signal.aborted) unfinished(task);
              else toCrm(task);
            },
            async (error: unknown) => {
              if (signal.aborted) {
                unfinished(task);
                return;
              }
              const info = errorInfo(error);
              const code: CrmRecordErrorCode = 'adapter_error';
              try {
                await deadLetters.put({
                  id: uuidv7(),
                  target: PIPELINE_TARGET,
                  object: 'enrichment',
                  idProperty: 'identity',
                  record: {
                    key: leadIdentityKey(task.lead) ?? `row:${task.row.rowNumber}`,
                    properties: scalarProperties(task.lead),
                  },
                  leadIds: [task.lead.id],
                  error: { code, message: `${info.code}: ${info.message}`, retryable: info.retryable },
                  attempts: 1,
                  firstFailedAt: new Date(now()).toISOString(),
                  lastFailedAt: new Date(now()).toISOString(),
                });
              } catch (queueError) {
                failure ??= queueError;
                controller.abort(queueError);
                unfinished(task);
                return;
              }
              deadLetterTask(task, 'enrich', [{ target: PIPELINE_TARGET, ...info }]);
            },
          )
          .finally(() => {
            enriching -= 1;
            wake();
          });
      }

      function reject(row: Row, stage: PipelineStage, issues: readonly ValidationIssue[]): void {
        finish(
          {
            status: 'rejected',
            rowNumber: row.rowNumber,
            ...(row.line === undefined ? {} : { line: row.line }),
            stage,
            issues,
          },
          undefined,
          row,
        );
      }

      function accept(value: unknown): void {
        position += 1;
        inFlight += 1;
        counts.read += 1;
        let row: Row;
        if (isSourceRow(value)) {
          row = {
            rowNumber: value.rowNumber,
            line: value.line,
            values: value.values,
            columns: value.columns,
            readIssues: value.issues,
          };
        } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
          const values = value as Record<string, unknown>;
          row = {
            rowNumber: position,
            line: undefined,
            values,
            columns: Object.keys(values),
            readIssues: undefined,
          };
        } else {
          row = {
            rowNumber: position,
            line: undefined,
            values: {},
            columns: [],
            readIssues: [{ field: 'row', reason: 'must be an object of column values' }],
          };
        }
        const skip = checkpoint?.isFinished(row.rowNumber) === true;
        if (row.readIssues && row.readIssues.length > 0) {
          if (skip) finish({ status: 'skipped', rowNumber: row.rowNumber }, undefined, row);
          else reject(row, 'read', row.readIssues);
          return;
        }
        const mapped = resolver.toLeadInput(row.values);
        if (mapped.issues) {
          if (skip) finish({ status: 'skipped', rowNumber: row.rowNumber }, undefined, row);
          else reject(row, 'validate', mapped.issues);
          return;
        }
        const created = safeCreateLead(mapped.input, {
          ...(options.defaultCountry ? { defaultCountry: options.defaultCountry } : {}),
          now: () => new Date(now()),
        });
        if (!created.success) {
          if (skip) finish({ status: 'skipped', rowNumber: row.rowNumber }, undefined, row);
          else reject(row, 'validate', created.error.issues);
          return;
        }
        const lead = created.lead;
        const identity = leadIdentityKey(lead);
        const first =
          identity === undefined ? undefined : dedupe.setIfAbsent(hash64(identity), row.rowNumber);
        if (skip) {
          // Finished earlier: only its identity is remembered, so later duplicates of it are still folded.
          finish({ status: 'skipped', rowNumber: row.rowNumber }, undefined, row);
          return;
        }
        counts.validated += 1;
        if (first !== undefined) {
          counts.duplicates += 1;
          finish({ status: 'done', rowNumber: row.rowNumber, lead, duplicateOf: first }, undefined, row);
          return;
        }
        const task: Task = { row, lead, crmErrors: [], crmIssues: [] };
        if (engine) enrich(task, engine);
        else toCrm(task);
      }

      const take = (value: unknown): void => {
        try {
          accept(value);
        } catch (error) {
          failure ??= error;
          controller.abort(error);
        }
      };
      for (const value of preRead) take(value);

      for (;;) {
        const stopping = signal.aborted || failure !== undefined;
        if (!stopping && !sourceDone && !reading && enriching < concurrency && inFlight < maxInFlight) {
          reading = true;
          Promise.resolve(iterator.next())
            .then(
              (item) => {
                if (item.done) sourceDone = true;
                else if (!signal.aborted) take(item.value);
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
        if (stopping && buffer.length > 0) {
          for (const task of buffer) unfinished(task);
          buffer = [];
        }
        if (crmSync && !stopping) {
          while (buffer.length >= batchSize && syncing < batchConcurrency) {
            startSync(buffer.splice(0, batchSize), crmSync);
          }
          const cannotFill = enriching === 0 && (sourceDone || inFlight >= maxInFlight || lingerExpired);
          if (buffer.length > 0 && syncing < batchConcurrency && (cannotFill || lingerExpired)) {
            startSync(buffer.splice(0, batchSize), crmSync);
          }
          if (buffer.length === 0) {
            lingerExpired = false;
            if (lingerTimer !== undefined) clearTimeout(lingerTimer);
            lingerTimer = undefined;
          }
        }
        if ((sourceDone || stopping) && !reading && inFlight === 0 && syncing === 0 && enriching === 0) break;
        await sleep();
      }
      if (lingerTimer !== undefined) clearTimeout(lingerTimer);
      await finishing;
      if (!sourceDone) {
        try {
          await iterator.return?.();
        } catch {
          // The source failed to close after the run stopped; nothing more to do with it.
        }
      }
      if (checkpoint && failure === undefined) {
        await output?.flush?.();
        await checkpoint.flush();
      } else if (checkpoint) {
        // Keep what finished before the failure, so a resume does not do it again.
        try {
          await output?.flush?.();
          await checkpoint.flush();
        } catch {
          // The original failure is the one to report.
        }
      }
    }

    function start(): Promise<PipelineReport> {
      if (!started) {
        started = execute();
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

  return {
    run,
    on: (event, listener) => bus.on(event, listener),
    deadLetters,
    crmSync,
    enrichment: engine,
    async close() {
      if (ownEngine) await engine?.close();
      await crmSync?.close();
    },
  };
}

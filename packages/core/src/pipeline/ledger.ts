import { LeadpipeError } from '../contracts/errors.js';
import { redactSecrets } from '../contracts/secrets.js';
import type { CrmSyncTargetReport } from '../crm/index.js';
import type { EnrichmentStats, ProviderStats } from '../enrich/index.js';
import type { PipelineProgress } from './events.js';
import type {
  PipelineCounts,
  PipelineDeadLetter,
  PipelineEnrichmentError,
  PipelineFinishedCounts,
  PipelineReject,
  PipelineReport,
  PipelineStoreReport,
} from './report.js';

type MutableCounts = { -readonly [Key in keyof PipelineCounts]: PipelineCounts[Key] };

/** An error as the report and the result of a row hold it: code, message scrubbed of secrets, retryable. */
export function errorInfo(error: unknown): PipelineEnrichmentError {
  if (LeadpipeError.isInstance(error)) {
    return { code: error.code, message: error.message, retryable: error.isRetryable };
  }
  return {
    code: 'adapter_error',
    message: redactSecrets(error instanceof Error ? error.message : String(error)),
    retryable: false,
  };
}

/** Per provider, what `after` counted beyond `before` (the engine's stats are cumulative across runs). */
export function subtractStats(
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
          authRetries: stats.authRetries - earlier.authRetries,
          budgetSkips: stats.budgetSkips - earlier.budgetSkips,
          credits: Math.round((stats.credits - earlier.credits) * 1e6) / 1e6,
        }
      : stats;
  }
  return out;
}

/** Options of a {@link RunLedger}. */
export interface RunLedgerOptions {
  /** When the run started, epoch ms. */
  readonly startedAt: number;
  /** How many rejects and dead letters the report lists. */
  readonly maxReportedRows: number;
  /** Whether CRM writes are skipped (reported as such). */
  readonly dryRun: boolean;
  /** Shortest time between two progress figures handed out by {@link RunLedger.progressDue}, in ms. */
  readonly progressIntervalMs: number;
}

/** What the ledger needs from the run to build a report, besides its own counts. */
export interface RunReportInputs {
  /** The time of the report, epoch ms. */
  readonly now: number;
  /** How the run stands. */
  readonly status: PipelineReport['status'];
  /** Whether the run resumed from a checkpoint. */
  readonly resumed: boolean;
  /** Per provider, this run's figures (see {@link subtractStats}). */
  readonly providers: Readonly<Record<string, ProviderStats>>;
  /** Answers the checkpoint's result log served: paid by an earlier run. Default 0. */
  readonly reusedAnswers?: number;
  /** Why the run did not complete, if it did not. */
  readonly error?: unknown;
}

/**
 * The run's books: counts per state, the first rejects and dead letters, the
 * CRM session's report; and from them, the report and progress
 * figures. Pure arithmetic, no clock of its own: times are passed in.
 */
export class RunLedger {
  readonly #options: RunLedgerOptions;
  readonly #counts: MutableCounts = {
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
  };
  readonly #rejects: PipelineReject[] = [];
  readonly #deadLetters: PipelineDeadLetter[] = [];
  #crms: readonly CrmSyncTargetReport[] = [];
  #store: { -readonly [Key in keyof PipelineStoreReport]: number } | undefined;
  #earlier: PipelineFinishedCounts = { done: 0, duplicates: 0, rejected: 0, deadLettered: 0 };
  #lastProgress: number;

  constructor(options: RunLedgerOptions) {
    this.#options = options;
    this.#lastProgress = options.startedAt;
  }

  /** The counts so far (a copy). */
  get counts(): PipelineCounts {
    return { ...this.#counts };
  }

  /** What earlier runs of the input finished (a resumed run's checkpoint says), for the report's `total`. */
  carry(earlier: PipelineFinishedCounts): void {
    this.#earlier = { ...earlier };
  }

  /** A row was taken from the source. */
  read(): void {
    this.#counts.read += 1;
  }

  /** A row passed validation. */
  validated(): void {
    this.#counts.validated += 1;
  }

  /** A lead went through the enrichment engine. */
  enriched(): void {
    this.#counts.enriched += 1;
  }

  /** A lead was written to every CRM. */
  synced(): void {
    this.#counts.synced += 1;
  }

  /** A row an earlier run finished was skipped. */
  skipped(): void {
    this.#counts.skipped += 1;
  }

  /** A row ended done; `duplicate` when it was folded into an earlier row. */
  done(duplicate: boolean): void {
    this.#counts.done += 1;
    if (duplicate) this.#counts.duplicates += 1;
  }

  /** A row ended rejected. */
  rejected(reject: PipelineReject): void {
    this.#counts.rejected += 1;
    if (this.#rejects.length < this.#options.maxReportedRows) this.#rejects.push(reject);
  }

  /** A row failed for good. */
  deadLettered(entry: PipelineDeadLetter): void {
    this.#counts.deadLettered += 1;
    if (this.#deadLetters.length < this.#options.maxReportedRows) this.#deadLetters.push(entry);
  }

  /** A row read will reach no terminal state (the run stopped). */
  unfinished(): void {
    this.#counts.unfinished += 1;
  }

  /** A lead went through the store stage: how it ended there (counted in the report's `store`). */
  stored(status: keyof PipelineStoreReport): void {
    this.#store ??= { created: 0, updated: 0, unchanged: 0, rejected: 0, failed: 0 };
    this.#store[status] += 1;
  }

  /** The run has a store stage: the report has `store` counts even when no lead reached it. */
  expectStore(): void {
    this.#store ??= { created: 0, updated: 0, unchanged: 0, rejected: 0, failed: 0 };
  }

  /** The CRM session's report, per CRM and object (known when the session closes). */
  crmReports(reports: readonly CrmSyncTargetReport[]): void {
    this.#crms = [...reports];
  }

  /** The report as of `inputs.now`. */
  report(inputs: RunReportInputs): PipelineReport {
    const { startedAt } = this.#options;
    const counts = this.counts;
    const durationMs = Math.max(0, inputs.now - startedAt);
    const processed = counts.read - counts.skipped;
    const error = inputs.error === undefined ? undefined : errorInfo(inputs.error);
    const credits = Object.values(inputs.providers).reduce((sum, stats) => sum + stats.credits, 0);
    return {
      status: inputs.status,
      resumed: inputs.resumed,
      dryRun: this.#options.dryRun,
      counts,
      total: {
        done: this.#earlier.done + counts.done,
        duplicates: this.#earlier.duplicates + counts.duplicates,
        rejected: this.#earlier.rejected + counts.rejected,
        deadLettered: this.#earlier.deadLettered + counts.deadLettered,
      },
      providers: inputs.providers,
      reusedAnswers: inputs.reusedAnswers ?? 0,
      credits: Math.round(credits * 1e6) / 1e6,
      crms: [...this.#crms],
      ...(this.#store === undefined ? {} : { store: { ...this.#store } }),
      durationMs,
      leadsPerSecond: durationMs === 0 ? 0 : Math.round((processed / durationMs) * 1000 * 100) / 100,
      rejects: [...this.#rejects],
      deadLetters: [...this.#deadLetters],
      startedAt: new Date(startedAt).toISOString(),
      finishedAt: new Date(startedAt + durationMs).toISOString(),
      ...(error ? { error: { code: error.code, message: error.message } } : {}),
    };
  }

  /** The progress figures as of `now`. */
  progress(now: number): PipelineProgress {
    const counts = this.#counts;
    const elapsedMs = Math.max(0, now - this.#options.startedAt);
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

  /**
   * The progress figures when at least `progressIntervalMs` passed since the
   * last ones handed out (or since the start), else `undefined`.
   */
  progressDue(now: number): PipelineProgress | undefined {
    if (now - this.#lastProgress < this.#options.progressIntervalMs) return undefined;
    this.#lastProgress = now;
    return this.progress(now);
  }
}

import type { ValidationIssue } from '../contracts/errors.js';
import type { Lead } from '../contracts/lead.js';
import type { CrmSyncTargetReport } from '../crm/index.js';
import type { EnrichmentStatus, ProviderStats } from '../enrich/index.js';

/** Where in the pipeline a row stopped. */
export type PipelineStage = 'read' | 'validate' | 'enrich' | 'crm' | 'store';

/** A row that was rejected, with every reason. */
export interface PipelineReject {
  /** The row's 1-based number in the input. */
  readonly rowNumber: number;
  /** The file line the row ended on, when read from a file. */
  readonly line?: number;
  /** `read`: the row could not be read; `validate`: bad values; `crm`: a CRM mapping refused the lead; `store`: the lead store refused it. */
  readonly stage: PipelineStage;
  /** Every reason, naming the field (CRM reasons are named `crm.<adapterId>.<property>`, the store's `store.<field>`). */
  readonly issues: readonly ValidationIssue[];
}

/** A rejected row as the rejects sink receives it: the reject and the row's input values. */
export interface RejectedRow extends PipelineReject {
  /** The input row's values, by column. */
  readonly values: Readonly<Record<string, unknown>>;
  /** The input's columns, in order. */
  readonly columns: readonly string[];
}

/** Where rejected rows go (a file writer, a queue). Awaited, so it can apply backpressure. */
export type RejectSink = (row: RejectedRow) => void | Promise<void>;

/** Why a row was dead-lettered by a CRM or the lead store, per target. */
export interface PipelineDeadLetterError {
  /** The CRM adapter id whose dead-letter entry holds the record, or `leadStore` when the store's upsert failed. */
  readonly target: string;
  /** Stable error code. */
  readonly code: string;
  /** Message, scrubbed of secrets. */
  readonly message: string;
  /** Whether a redrive may succeed. */
  readonly retryable: boolean;
}

/** Why the enrichment engine failed a lead (it threw, for a reason other than the run's abort). */
export interface PipelineEnrichmentError {
  /** Stable error code (`adapter_error` for an error that is not a leadpipe error). */
  readonly code: string;
  /** Message, scrubbed of secrets. */
  readonly message: string;
  /** Whether running the row again may succeed. */
  readonly retryable: boolean;
}

/**
 * A row a CRM or the lead store failed for good: each failing CRM put the
 * record on the dead-letter queue (`redrive` sends it again); a failed
 * store upsert put the lead there with target `leadStore`.
 */
export interface PipelineCrmDeadLetter {
  /** The row's 1-based number in the input. */
  readonly rowNumber: number;
  /** The lead's id (the dead-letter entries list it in `leadIds`). */
  readonly leadId: string;
  /** `crm`: a CRM failed it (the store may have too); `store`: only the lead store's upsert failed. */
  readonly stage: 'crm' | 'store';
  /** One error per target that failed (CRM adapter id, or `leadStore`). */
  readonly errors: readonly PipelineDeadLetterError[];
}

/**
 * A row whose enrichment failed. Nothing goes on the CRM dead-letter queue
 * (there is no CRM record to redrive): the row's record is this entry, its
 * `row.deadLettered` event and its result, and the checkpoint leaves the row
 * unfinished, so a run with `resume` enriches it again (the way to redrive
 * it).
 */
export interface PipelineEnrichmentDeadLetter {
  /** The row's 1-based number in the input. */
  readonly rowNumber: number;
  /** The lead's id. */
  readonly leadId: string;
  /** The enrichment stage failed. */
  readonly stage: 'enrich';
  /** What the engine threw. */
  readonly error: PipelineEnrichmentError;
}

/** A row that failed for good: by a CRM ({@link PipelineCrmDeadLetter}) or in enrichment ({@link PipelineEnrichmentDeadLetter}). */
export type PipelineDeadLetter = PipelineCrmDeadLetter | PipelineEnrichmentDeadLetter;

/**
 * What happened to one row: each row read ends in exactly one of these.
 * `skipped` only happens on resume, for rows an earlier run finished.
 */
export type PipelineResult =
  | {
      /** The row ended done: synced to every CRM, or not sent (no CRM, `dryRun`, or a duplicate). */
      readonly status: 'done';
      /** The row's 1-based number in the input. */
      readonly rowNumber: number;
      /** The lead as enriched (for a duplicate: as validated, not enriched). */
      readonly lead: Lead;
      /** For a duplicate: the row it was folded into (the first row with the same identity). */
      readonly duplicateOf?: number;
      /** How enrichment went, when the row was enriched. */
      readonly enrichment?: EnrichmentStatus;
      /** What the lead store did with the lead, when the pipeline has a `store` (not for a duplicate). */
      readonly store?: PipelineStoreOutcome;
    }
  | ({
      /** The row was rejected; see {@link PipelineReject}. */
      readonly status: 'rejected';
    } & PipelineReject)
  | ({
      /** The row failed for good, by a CRM or in enrichment; see {@link PipelineDeadLetter}. */
      readonly status: 'deadLettered';
      /** The lead as far as it got: as validated when enrichment failed, as enriched when a CRM failed. */
      readonly lead: Lead;
    } & PipelineDeadLetter)
  | {
      /** An earlier run finished the row (resume); it was not processed again. */
      readonly status: 'skipped';
      /** The row's 1-based number in the input. */
      readonly rowNumber: number;
    };

/** What the lead store did with one lead. */
export interface PipelineStoreOutcome {
  /** `created`, `updated` (merged into a stored lead) or `unchanged` (stored already as it is). */
  readonly status: 'created' | 'updated' | 'unchanged';
  /** Id of the stored lead (the stored one's when it merged into an existing lead). */
  readonly id: string;
}

/** What the lead store stage did in a run, per lead. */
export interface PipelineStoreReport {
  /** Leads the store did not hold before. */
  readonly created: number;
  /** Leads merged into a stored lead, which changed. */
  readonly updated: number;
  /** Leads the store held already as they are (such as the rows a resumed run did again). */
  readonly unchanged: number;
  /** Leads the store refused (bad input): the row is rejected with `store.<field>` issues. */
  readonly rejected: number;
  /** Leads whose upsert failed: dead-lettered with target `leadStore`. */
  readonly failed: number;
}

/** Counts of a run. `read = skipped + done + rejected + deadLettered + unfinished`. */
export interface PipelineCounts {
  /** Rows taken from the source. */
  readonly read: number;
  /** Rows an earlier run finished (resume), not processed again. */
  readonly skipped: number;
  /** Rows that passed validation. */
  readonly validated: number;
  /** Rows folded into an earlier row with the same identity (counted in `done` too). */
  readonly duplicates: number;
  /** Rows whose lead gained at least one field from enrichment (a lead no provider knew is not counted). */
  readonly enriched: number;
  /** Rows written to every CRM. */
  readonly synced: number;
  /** Rows that ended done (duplicates included). */
  readonly done: number;
  /** Rows that ended rejected. */
  readonly rejected: number;
  /** Rows that failed for good: dead-lettered by a CRM, or failed in enrichment. */
  readonly deadLettered: number;
  /** Rows read but in no terminal state: only when a run was aborted or failed. */
  readonly unfinished: number;
}

/**
 * Rows of an input that reached a terminal state, over every run of it: a
 * resumed run adds its own to what the earlier runs' checkpoint recorded.
 */
export interface PipelineFinishedCounts {
  /** Rows that ended done (duplicates included). */
  readonly done: number;
  /** Of those, rows folded into an earlier row with the same identity. */
  readonly duplicates: number;
  /** Rows that ended rejected. */
  readonly rejected: number;
  /** Rows that failed for good. */
  readonly deadLettered: number;
}

/** The report of a run, JSON-serializable. */
export interface PipelineReport {
  /** `completed`; `aborted` (the signal fired); `failed` (the source, a sink or the dead-letter queue failed). */
  readonly status: 'completed' | 'aborted' | 'failed';
  /** Whether the run resumed from a checkpoint. */
  readonly resumed: boolean;
  /** Whether CRM writes were skipped (`dryRun`). */
  readonly dryRun: boolean;
  /** Counts per state, of this run (rows an earlier run finished are only `skipped`). */
  readonly counts: PipelineCounts;
  /**
   * The input's rows in each terminal state over every run of it: this
   * run's, plus, on a resumed run, those the earlier runs finished (as their
   * checkpoint recorded them). What an exit code should be decided on.
   */
  readonly total: PipelineFinishedCounts;
  /** Per provider, for this run: calls, matches, credits... */
  readonly providers: Readonly<Record<string, ProviderStats>>;
  /** Credits spent in this run. */
  readonly credits: number;
  /**
   * Provider answers this run took from the checkpoint's result log instead
   * of paying for them again: answers an earlier, interrupted or restarted,
   * run of the input (or a run sharing the result log as a cache) paid for.
   */
  readonly reusedAnswers: number;
  /** Per CRM and object, summed over the run's batches. */
  readonly crms: readonly CrmSyncTargetReport[];
  /** What the lead store stage did, when the pipeline has a `store`. */
  readonly store?: PipelineStoreReport;
  /** Wall time of the run, in ms. */
  readonly durationMs: number;
  /** Rows processed (read minus skipped) per second. */
  readonly leadsPerSecond: number;
  /** The first rejected rows (up to `maxReportedRows`); `counts.rejected` has the total. */
  readonly rejects: readonly PipelineReject[];
  /** The first dead-lettered rows (up to `maxReportedRows`); `counts.deadLettered` has the total. */
  readonly deadLetters: readonly PipelineDeadLetter[];
  /** ISO 8601 start time. */
  readonly startedAt: string;
  /** ISO 8601 end time (the time of the snapshot while running). */
  readonly finishedAt: string;
  /** Why the run did not complete. Absent when it completed, and when it was aborted with nothing failing. */
  readonly error?: {
    /** The error's stable code (`adapter_error` for an error that is not a leadpipe error). */
    readonly code: string;
    /** The error's message, scrubbed of secrets. */
    readonly message: string;
  };
}

function number(value: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

/** A readable, multi-line summary of a {@link PipelineReport}, for terminals and logs. */
export function formatReport(report: PipelineReport): string {
  const { counts } = report;
  const lines: string[] = [];
  const title = report.dryRun ? 'Pipeline run (dry run)' : 'Pipeline run';
  lines.push(
    `${title}: ${report.status}${report.resumed ? ' (resumed)' : ''} in ${number(report.durationMs / 1000)} s, ${number(report.leadsPerSecond)} leads/s`,
  );
  if (report.error) lines.push(`  error: ${report.error.code}: ${report.error.message}`);
  // A provider out of the run leaves rows "done" with little enriched: say so before any count.
  for (const [id, stats] of Object.entries(report.providers)) {
    if (stats.disabled === undefined) continue;
    lines.push(
      `  !! provider ${id} was TAKEN OUT of the run after ${number(stats.disabled.afterCalls)} calls (${stats.disabled.code}): ${stats.disabled.message}; every later lead skipped it`,
    );
  }
  const { total } = report;
  if (
    report.resumed &&
    (total.done !== counts.done ||
      total.rejected !== counts.rejected ||
      total.deadLettered !== counts.deadLettered)
  ) {
    lines.push(
      `  with earlier runs: ${number(total.done)} done (${number(total.duplicates)} duplicates), ${number(total.rejected)} rejected, ${number(total.deadLettered)} dead-lettered`,
    );
  }
  lines.push(
    `  rows: ${number(counts.read)} read, ${number(counts.done)} done (${number(counts.duplicates)} duplicates), ${number(counts.rejected)} rejected, ${number(counts.deadLettered)} dead-lettered${counts.skipped > 0 ? `, ${number(counts.skipped)} skipped (finished earlier)` : ''}${counts.unfinished > 0 ? `, ${number(counts.unfinished)} unfinished` : ''}`,
  );
  lines.push(
    `  stages: ${number(counts.validated)} validated, ${number(counts.enriched)} enriched, ${number(counts.synced)} synced`,
  );
  const providers = Object.entries(report.providers);
  if (providers.length > 0) {
    lines.push(
      `  providers (${number(report.credits)} credits${report.reusedAnswers > 0 ? `; ${number(report.reusedAnswers)} answers paid by earlier runs reused` : ''}):`,
    );
    for (const [id, stats] of providers) {
      lines.push(
        `    ${id}: ${number(stats.calls)} calls, ${number(stats.matches)} matches, ${number(stats.misses)} misses, ${number(stats.cacheHits)} cache hits, ${number(stats.errors)} errors${stats.authRetries > 0 ? ` (${number(stats.authRetries)} 401s asked again)` : ''}, ${number(stats.credits)} credits${stats.disabled === undefined ? '' : ' [taken out of the run]'}`,
      );
    }
  }
  if (report.crms.length > 0) {
    lines.push('  CRMs:');
    for (const crm of report.crms) {
      lines.push(
        `    ${crm.adapterId}/${crm.object} [${crm.status}]: ${number(crm.created)} created, ${number(crm.updated)} updated, ${number(crm.unchanged)} unchanged, ${number(crm.failed)} failed, ${number(crm.rejected)} rejected${crm.warned > 0 ? `, ${number(crm.warned)} written without some fields (warnings in their outcomes)` : ''}`,
      );
    }
  }
  if (report.store !== undefined) {
    const store = report.store;
    lines.push(
      `  lead store: ${number(store.created)} created, ${number(store.updated)} updated, ${number(store.unchanged)} unchanged, ${number(store.failed)} failed, ${number(store.rejected)} rejected`,
    );
  }
  if (report.rejects.length > 0) {
    lines.push(`  first rejects:`);
    for (const reject of report.rejects.slice(0, 10)) {
      lines.push(
        `    row ${reject.rowNumber}: ${reject.issues.map((issue) => `${issue.field}: ${issue.reason}`).join('; ')}`,
      );
    }
  }
  if (report.deadLetters.length > 0) {
    lines.push(`  first dead letters:`);
    for (const entry of report.deadLetters.slice(0, 10)) {
      const reasons =
        entry.stage === 'enrich'
          ? `enrichment: ${entry.error.code}: ${entry.error.message}`
          : entry.errors.map((error) => `${error.target}: ${error.code}: ${error.message}`).join('; ');
      lines.push(`    row ${entry.rowNumber}: ${reasons}`);
    }
  }
  return lines.join('\n');
}

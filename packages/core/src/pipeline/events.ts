import type { ValidationIssue } from '../contracts/errors.js';
import type { CrmSyncEvent } from '../crm/index.js';
import type { EnrichmentEvents } from '../enrich/index.js';
import type { PipelineCounts, PipelineDeadLetter, PipelineStage } from './report.js';

/** The figures of a `pipeline.progress` event: the run's counts so far (see {@link PipelineCounts}). */
export interface PipelineProgress {
  /** Rows taken from the source so far. */
  readonly read: number;
  /** Rows an earlier run finished (resume), not processed again. */
  readonly skipped: number;
  /** Rows that passed validation. */
  readonly validated: number;
  /** Rows that ended rejected. */
  readonly rejected: number;
  /** Rows folded into an earlier row with the same identity (counted in `done` too). */
  readonly duplicates: number;
  /** Rows whose lead gained at least one field from enrichment. */
  readonly enriched: number;
  /** Rows written to every CRM. */
  readonly synced: number;
  /** Rows that ended on the dead-letter queue. */
  readonly deadLettered: number;
  /** Rows that ended done (duplicates included). */
  readonly done: number;
  /** Rows finished (done, rejected or dead-lettered; not skipped) per second since the run started. */
  readonly ratePerSecond: number;
  /** Time since the run started, in ms. */
  readonly elapsedMs: number;
}

/**
 * The pipeline's own events, with their payloads. Payloads carry row
 * numbers, lead ids, counts and reasons, never lead values or secrets.
 */
export interface PipelineRunEvents {
  /** A run started (after its checkpoint, if any, was opened). */
  'pipeline.started': {
    /** Whether the checkpoint store loaded the state of an earlier run of the same input. */
    readonly resumed: boolean;
    /** Rows earlier runs finished, which this run skips (0 unless resumed). */
    readonly finishedBefore: number;
  };
  /** Figures so far; at most once per `progressIntervalMs`, and once at the end. */
  'pipeline.progress': PipelineProgress;
  /** A row ended done. */
  'row.done': {
    /** The row's 1-based number in the input. */
    readonly rowNumber: number;
    /** Id of the row's lead. */
    readonly leadId: string;
    /** For a duplicate: the number of the first row with the same identity. Absent otherwise. */
    readonly duplicateOf?: number;
  };
  /** A row was rejected. */
  'row.rejected': {
    /** The row's 1-based number in the input. */
    readonly rowNumber: number;
    /** Where it was rejected: `read`, `validate` or `crm` (a CRM mapping refused the lead). */
    readonly stage: PipelineStage;
    /** Every reason, naming the field (CRM reasons are named `crm.<adapterId>.<property>`). */
    readonly issues: readonly ValidationIssue[];
  };
  /**
   * A row failed for good: a CRM dead-lettered it (`stage: 'crm'`, one error
   * per CRM) or its enrichment failed (`stage: 'enrich'`, the engine's error).
   */
  'row.deadLettered': PipelineDeadLetter;
  /** A run ended, however it ended (emitted before an aborted or failed run rejects). */
  'pipeline.finished': {
    /** How the run ended, as in the report's `status`. */
    readonly status: 'completed' | 'aborted' | 'failed';
    /** The run's final counts, as in the report. */
    readonly counts: PipelineCounts;
  };
}

/**
 * The CRM sync's events, each under its own name (`crm.batchSent`,
 * `crm.recordDeadLettered`, `crm.down`...), its payload the event itself.
 */
export type PipelineCrmEvents = { [Event in CrmSyncEvent as Event['type']]: Event };

/**
 * Every event a pipeline emits, with its payload: its own
 * ({@link PipelineRunEvents}), the CRM sync's ({@link PipelineCrmEvents}) and
 * the enrichment engine's (`enrichment.finished`, `provider.rateLimited`...,
 * see {@link EnrichmentEvents}), each under its own name. Listeners only
 * observe: one that throws never breaks a run.
 */
export interface PipelineEvents extends PipelineRunEvents, PipelineCrmEvents, EnrichmentEvents {}

/** Name of a pipeline event. */
export type PipelineEventName = keyof PipelineEvents;

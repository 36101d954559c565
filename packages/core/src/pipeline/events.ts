import type { CrmSyncEvent } from '../crm/index.js';
import type { ValidationIssue } from '../spec/errors.js';
import type { PipelineCounts, PipelineDeadLetterError, PipelineStage } from './report.js';

/** The figures of a `pipeline.progress` event. */
export interface PipelineProgress {
  readonly read: number;
  readonly skipped: number;
  readonly validated: number;
  readonly rejected: number;
  readonly duplicates: number;
  readonly enriched: number;
  readonly synced: number;
  readonly deadLettered: number;
  readonly done: number;
  /** Rows finished per second since the run started. */
  readonly ratePerSecond: number;
  /** Time since the run started, in ms. */
  readonly elapsedMs: number;
}

/**
 * Every event a pipeline emits, with its payload. Payloads carry row
 * numbers, lead ids, counts and reasons, never lead values or secrets.
 * Listeners only observe: one that throws never breaks a run.
 */
export interface PipelineEvents {
  /** A run started (after its checkpoint, if any, was opened). */
  'pipeline.started': { readonly resumed: boolean; readonly finishedBefore: number };
  /** Figures so far; at most once per `progressIntervalMs`, and once at the end. */
  'pipeline.progress': PipelineProgress;
  /** A row ended done. */
  'row.done': { readonly rowNumber: number; readonly leadId: string; readonly duplicateOf?: number };
  /** A row was rejected. */
  'row.rejected': {
    readonly rowNumber: number;
    readonly stage: PipelineStage;
    readonly issues: readonly ValidationIssue[];
  };
  /** A row ended on the dead-letter queue. */
  'row.deadLettered': {
    readonly rowNumber: number;
    readonly leadId: string;
    readonly stage: PipelineStage;
    readonly errors: readonly PipelineDeadLetterError[];
  };
  /** A CRM sync event, passed through. */
  'crm.event': CrmSyncEvent;
  /** A run ended. */
  'pipeline.finished': {
    readonly status: 'completed' | 'aborted' | 'failed';
    readonly counts: PipelineCounts;
  };
}

/** Name of a pipeline event. */
export type PipelineEventName = keyof PipelineEvents;

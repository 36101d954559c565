import type { Checkpoint } from '../contracts/checkpoint-store.js';
import type { LeadField } from '../contracts/fields.js';
import type { SafeEventBus } from '../events/safe-event-bus.js';
import type { Row } from './admission.js';
import { type CheckpointedSinks, flushCheckpoint } from './checkpoint-state.js';
import type { DuplicateSink } from './duplicates-writer.js';
import type { PipelineEvents } from './events.js';
import type { RunLedger } from './ledger.js';
import type {
  PipelineDeadLetter,
  PipelineFinishedCounts,
  PipelineReject,
  PipelineResult,
  RejectSink,
} from './report.js';
import type { ResultChannel } from './result-channel.js';
import type { LeadSink } from './sinks.js';

/** What a {@link TerminalWriter} writes to and counts in. */
export interface TerminalWriterOptions {
  /** Where done leads go. */
  readonly output: LeadSink | undefined;
  /** Where rejected rows go. */
  readonly rejects: RejectSink | undefined;
  /** Where the rows merged as duplicates are named. */
  readonly duplicates: DuplicateSink | undefined;
  /** The file sinks whose positions each checkpoint flush records (output, rejects and duplicates files). */
  readonly files: CheckpointedSinks;
  /** Rows earlier runs finished (a resumed checkpoint's state): the counts each flush records start there. */
  readonly finishedBefore: PipelineFinishedCounts;
  /** Fields the output writes. */
  readonly fields: readonly LeadField[];
  /** The run's books. */
  readonly ledger: RunLedger;
  /** Where row events go. */
  readonly bus: SafeEventBus<PipelineEvents>;
  /** The iterating caller's channel, when the run is iterated. */
  readonly channel: ResultChannel | undefined;
  /** The run's checkpoint, when there is one. */
  readonly checkpoint: Checkpoint | undefined;
  /** Rows finished between two checkpoint flushes. */
  readonly checkpointEvery: number;
  /** The clock (for progress events). */
  readonly now: () => number;
  /** Whether the run failed: rows finishing after that are counted unfinished, not written. */
  readonly failed: () => boolean;
  /** Told when writing a row failed: the run must stop with this error. */
  readonly onFailure: (error: unknown) => void;
  /** Told after each row, written or not. */
  readonly onSettled: () => void;
}

/**
 * The serial terminal writer: each row's end (sinks, events, results,
 * checkpoint, counts) is written one at a time, in the order rows finish,
 * so the output, the checkpoint and the report agree. A row is marked
 * finished in the checkpoint only after the output has it; an enrichment
 * dead letter is not marked (a resume runs it again).
 */
export class TerminalWriter {
  readonly #options: TerminalWriterOptions;
  #tail: Promise<void> = Promise.resolve();
  #sinceCheckpoint = 0;
  /** Rows marked finished in the checkpoint, by state, over every run. */
  readonly #finished: { done: number; duplicates: number; rejected: number; deadLettered: number };

  constructor(options: TerminalWriterOptions) {
    this.#options = options;
    this.#finished = { ...options.finishedBefore };
  }

  /**
   * Flush the sinks, then the checkpoint with where each file ended and the
   * finished counts. Call it between rows (from the queue, or once idle).
   */
  async flushCheckpoint(): Promise<void> {
    const { checkpoint, files } = this.#options;
    if (checkpoint) await flushCheckpoint(checkpoint, files, this.#finished);
    else await files.output?.flush?.();
  }

  /** Queue a row's end. */
  finish(result: PipelineResult, row: Row): void {
    // Whether the row was counted in a state; a sink failing before that leaves it unfinished.
    let counted = false;
    const options = this.#options;
    this.#tail = this.#tail
      .then(async () => {
        if (options.failed()) {
          options.ledger.unfinished();
          counted = true;
          return;
        }
        counted = await this.#write(result, row);
        if (options.channel) await options.channel.push(result);
        const keep =
          result.status !== 'skipped' && !(result.status === 'deadLettered' && result.stage === 'enrich');
        if (options.checkpoint && keep) {
          await options.checkpoint.markFinished([row.rowNumber]);
          this.#count(result);
          this.#sinceCheckpoint += 1;
          if (this.#sinceCheckpoint >= options.checkpointEvery) {
            this.#sinceCheckpoint = 0;
            await this.flushCheckpoint();
          }
        }
        if (options.bus.hasListeners('pipeline.progress')) {
          const progress = options.ledger.progressDue(options.now());
          if (progress) options.bus.emit('pipeline.progress', progress);
        }
      })
      .catch((error: unknown) => {
        if (!counted) options.ledger.unfinished();
        options.onFailure(error);
      })
      .finally(() => options.onSettled());
  }

  /** Count a row marked finished under its state. */
  #count(result: PipelineResult): void {
    if (result.status === 'done') {
      this.#finished.done += 1;
      if (result.duplicateOf !== undefined) this.#finished.duplicates += 1;
    } else if (result.status === 'rejected') this.#finished.rejected += 1;
    else if (result.status === 'deadLettered') this.#finished.deadLettered += 1;
  }

  /** Queue a row that will reach no terminal state (the run stopped). */
  unfinished(): void {
    this.#tail = this.#tail.finally(() => {
      this.#options.ledger.unfinished();
      this.#options.onSettled();
    });
  }

  /** Resolves once every queued row is written. */
  idle(): Promise<void> {
    return this.#tail;
  }

  /** Write one row's end to its sink and books; resolves `true` once it is counted. */
  async #write(result: PipelineResult, row: Row): Promise<boolean> {
    const { ledger, bus, output, rejects, duplicates } = this.#options;
    switch (result.status) {
      case 'done':
        if (result.duplicateOf === undefined && output) {
          await output.write({
            rowNumber: row.rowNumber,
            values: row.values,
            columns: row.columns,
            lead: result.lead,
            fields: this.#options.fields,
          });
        }
        if (result.duplicateOf !== undefined && duplicates) {
          await duplicates({
            rowNumber: row.rowNumber,
            duplicateOf: result.duplicateOf,
            values: row.values,
            columns: row.columns,
          });
        }
        ledger.done(result.duplicateOf !== undefined);
        if (bus.hasListeners('row.done')) {
          bus.emit('row.done', {
            rowNumber: row.rowNumber,
            leadId: result.lead.id,
            ...(result.duplicateOf === undefined ? {} : { duplicateOf: result.duplicateOf }),
          });
        }
        return true;
      case 'rejected': {
        const reject: PipelineReject = {
          rowNumber: result.rowNumber,
          ...(result.line === undefined ? {} : { line: result.line }),
          stage: result.stage,
          issues: result.issues,
        };
        if (rejects) await rejects({ ...reject, values: row.values, columns: row.columns });
        ledger.rejected(reject);
        bus.emit('row.rejected', { rowNumber: reject.rowNumber, stage: reject.stage, issues: reject.issues });
        return true;
      }
      case 'deadLettered': {
        const entry: PipelineDeadLetter =
          result.stage === 'enrich'
            ? { rowNumber: result.rowNumber, leadId: result.leadId, stage: 'enrich', error: result.error }
            : {
                rowNumber: result.rowNumber,
                leadId: result.leadId,
                stage: result.stage,
                errors: result.errors,
              };
        ledger.deadLettered(entry);
        bus.emit('row.deadLettered', { ...entry });
        return true;
      }
      case 'skipped':
        ledger.skipped();
        return true;
    }
  }
}

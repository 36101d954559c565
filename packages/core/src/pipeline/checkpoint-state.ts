import type { Checkpoint, CheckpointState } from '../contracts/checkpoint-store.js';
import type { PipelineFinishedCounts } from './report.js';

/** A file sink a resumed run can cut back: see `LeadSink.position` and `LeadSink.resumeAt`. */
interface PositionedSink {
  /** Make everything written reach the file. */
  flush?(): Promise<void>;
  /** Where the file ends once flushed, in bytes. */
  position?(): number;
  /** Cut the file back to `position` bytes before anything is written. */
  resumeAt?(position: number): Promise<void>;
}

/** The sinks whose positions the pipeline records with each checkpoint flush, by name. */
export interface CheckpointedSinks {
  /** Where done leads go. */
  readonly output: PositionedSink | undefined;
  /** Where rejected rows go. */
  readonly rejects: PositionedSink | undefined;
  /** Where the rows merged as duplicates are named. */
  readonly duplicates: PositionedSink | undefined;
}

/** What the pipeline records with each flush. */
interface PipelineState {
  /** Where each file sink ended at the flush, in bytes. */
  readonly sinks: Readonly<Record<string, number>>;
  /** The rows finished (checkpointed) up to the flush, by terminal state, over every run of the input. */
  readonly finished: PipelineFinishedCounts;
}

/** No row finished yet. */
export const NO_ROWS_FINISHED: PipelineFinishedCounts = {
  done: 0,
  duplicates: 0,
  rejected: 0,
  deadLettered: 0,
};

function count(value: unknown): number | undefined {
  return Number.isInteger(value) && (value as number) >= 0 ? (value as number) : undefined;
}

/**
 * The pipeline's state in an earlier run's checkpoint, when it recorded one
 * (`undefined` for a checkpoint an older version wrote, or another writer's).
 */
function readPipelineState(state: CheckpointState | undefined): PipelineState | undefined {
  if (state === undefined) return undefined;
  const sinks = state.sinks as Record<string, unknown> | undefined;
  const finished = state.finished as Record<string, unknown> | undefined;
  if (typeof sinks !== 'object' || sinks === null || typeof finished !== 'object' || finished === null) {
    return undefined;
  }
  const positions: Record<string, number> = {};
  for (const [name, value] of Object.entries(sinks)) {
    const position = count(value);
    if (position !== undefined) positions[name] = position;
  }
  const done = count(finished.done);
  const duplicates = count(finished.duplicates);
  const rejected = count(finished.rejected);
  const deadLettered = count(finished.deadLettered);
  if (
    done === undefined ||
    duplicates === undefined ||
    rejected === undefined ||
    deadLettered === undefined
  ) {
    return undefined;
  }
  return { sinks: positions, finished: { done, duplicates, rejected, deadLettered } };
}

/**
 * Before a resumed run writes anything: cut each file sink back to where
 * it ended at the earlier run's last checkpoint flush, so the rows written
 * after that flush (which the resumed run does again) are not there twice.
 * A checkpoint with no finished row covers nothing: its files are cut to
 * empty. A checkpoint that finished rows but recorded no position (an
 * older version's) is left as it is. Returns the earlier runs' finished
 * counts.
 */
export async function cutBackSinks(
  checkpoint: Checkpoint,
  sinks: CheckpointedSinks,
): Promise<PipelineFinishedCounts> {
  const state = readPipelineState(checkpoint.state);
  for (const [name, sink] of Object.entries(sinks) as [string, PositionedSink | undefined][]) {
    if (sink?.resumeAt === undefined) continue;
    const position = state?.sinks[name] ?? (checkpoint.finishedBefore === 0 ? 0 : undefined);
    if (position !== undefined) await sink.resumeAt(position);
  }
  return state?.finished ?? NO_ROWS_FINISHED;
}

/**
 * Flush a checkpoint in the order that keeps a crash harmless: the sinks
 * first (every row marked finished is then in its file), then the
 * checkpoint, with where each file ended and the finished counts, so a
 * resume cuts the files back to exactly the rows it skips.
 */
export async function flushCheckpoint(
  checkpoint: Checkpoint,
  sinks: CheckpointedSinks,
  finished: PipelineFinishedCounts,
): Promise<void> {
  const positions: Record<string, number> = {};
  for (const [name, sink] of Object.entries(sinks) as [string, PositionedSink | undefined][]) {
    await sink?.flush?.();
    const position = sink?.position?.();
    if (position !== undefined) positions[name] = position;
  }
  const state: PipelineState = { sinks: positions, finished: { ...finished } };
  await checkpoint.flush(state as unknown as CheckpointState);
}

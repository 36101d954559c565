import type { PipelineResult, RejectedRow, SinkEntry } from '@leadpipe/core';

/** A batch's results as recorded in Redis (JSON), with row numbers counted from the start of the run. */
export interface StoredBatch {
  /** The batch's number in the run. */
  readonly index: number;
  /** Set when the batch has no results (dead-lettered or not finished). */
  readonly missing?: true;
  /** Every row's result. */
  readonly results?: readonly PipelineResult[];
  /** The done leads the output gets, in row order (duplicates folded into their first row are not here). */
  readonly entries?: readonly SinkEntry[];
  /** The rejected rows with their values, in row order. */
  readonly rejects?: readonly RejectedRow[];
}

import type { Cache } from './cache.js';

/** What the pipeline asks a {@link CheckpointStore} for when a run starts. */
export interface CheckpointOpenRequest {
  /**
   * A fingerprint of the input (a hash of its first rows, or one the host
   * computed). A resumed checkpoint must have been written for the same one.
   */
  readonly fingerprint: string;
  /**
   * `true`: load what an earlier run of the same input recorded (start
   * fresh when there is nothing). `false`: discard the earlier run's
   * finished rows and state; its provider answers ({@link Checkpoint.results})
   * are kept, within their TTL, unless `fresh` is set, so starting over
   * pays no provider again for what was already paid.
   */
  readonly resume: boolean;
  /**
   * With `resume: false`, also discard the provider answers earlier runs
   * recorded: a truly fresh start. Ignored with `resume: true`. Default `false`.
   */
  readonly fresh?: boolean;
}

/**
 * A small JSON object the pipeline records with a flush (where its output
 * files ended, the counts of the finished rows) and gets back on resume.
 */
export type CheckpointState = Readonly<Record<string, unknown>>;

/** A closed range of row numbers, `from` to `to` inclusive (`from <= to`). */
export interface RowWindow {
  /** The first row number of the window (1-based). */
  readonly from: number;
  /** The last row number of the window, included. */
  readonly to: number;
}

/**
 * The checkpoint of one run, open for reading and writing. Rows are named by
 * their 1-based row number in the input.
 *
 * Nothing forces an implementation to hold every finished row in memory:
 * the pipeline asks about finished rows one window at a time
 * ({@link Checkpoint.finishedIn}), just before it reads them, so a database
 * answers each window with one range query; a file store may keep the rows
 * compactly in memory (ranges, a watermark and the few rows finished out of
 * order) and answer at once.
 */
export interface Checkpoint {
  /** Whether state from an earlier run of the same input was loaded. */
  readonly resumed: boolean;
  /** How many rows earlier runs finished. */
  readonly finishedBefore: number;
  /**
   * The state the earlier run recorded with its last flush
   * ({@link Checkpoint.flush}), when resumed and it recorded one; it
   * describes exactly the rows then finished.
   */
  readonly state: CheckpointState | undefined;
  /**
   * The rows of `window` that an earlier run finished, in ascending order
   * (empty when none). The pipeline asks once per window of rows it is about
   * to read (a few thousand rows), never once per row. Rows marked finished
   * in this run may or may not be listed: the pipeline does not ask about
   * them. Rejects with a `ValidationError` when the window is not two
   * positive integers with `from <= to`.
   */
  finishedIn(window: RowWindow): Promise<readonly number[]>;
  /**
   * Record rows that reached a terminal state (done, rejected or
   * dead-lettered). May be buffered; durable once {@link flush} resolves.
   */
  markFinished(rowNumbers: readonly number[]): Promise<void>;
  /**
   * Provider results kept across runs: a {@link Cache} the enrichment engine
   * writes every answer to, so rows in flight when a run stopped are not paid
   * again when it resumes. Entries expire with their TTL like any cache entry.
   * `set` resolves once the answer would survive the process being killed
   * (it reached the file or database, synced or not): the pipeline writes a
   * row that needed an answer only after that, so a crash never leaves an
   * output row whose answer is lost.
   */
  readonly results: Cache;
  /**
   * Make everything recorded so far durable (written and synced), with
   * `state` recorded atomically with the finished rows: a resume gets the
   * last state together with exactly the rows finished when it was recorded.
   */
  flush(state?: CheckpointState): Promise<void>;
  /** Flush and release files or connections. The checkpoint stays for a later resume. */
  close(): Promise<void>;
}

/**
 * Where pipeline checkpoints live: the contract behind `resume`. The default
 * is a pair of append-only files (`createFileCheckpointStore(path)`);
 * implement this on a database to resume on another machine.
 *
 * `open` rejects with a `ValidationError` on the field `fingerprint` when
 * `resume` is set and the stored checkpoint was written for another input,
 * and with a `LeadpipeError` of code `checkpoint_corrupt` when stored state
 * cannot be read (a torn last record, left by a crash, is not corruption: it
 * is ignored).
 */
export interface CheckpointStore {
  /** Open the checkpoint of a run. */
  open(request: CheckpointOpenRequest): Promise<Checkpoint>;
}

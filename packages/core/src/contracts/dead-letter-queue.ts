import type { CrmRecord, CrmRecordError } from './crm-adapter.js';

/**
 * A record that could not be written to a CRM: either the CRM rejected it
 * permanently, or it kept failing until retries ran out (then
 * `error.retryable` is true and a redrive later may succeed). Entries are
 * JSON-serializable and scrubbed of secrets.
 */
export interface DeadLetterEntry {
  /** Unique id of the entry (UUIDv7). A redrive that fails again keeps it. */
  readonly id: string;
  /** Id of the CRM adapter the record was meant for. */
  readonly target: string;
  /** CRM object type. */
  readonly object: string;
  /** The unique property `record.key` is a value of. */
  readonly idProperty: string;
  /** The record as mapped, before any conflict policy dropped properties. */
  readonly record: CrmRecord;
  /** Ids of the leads merged into this record. */
  readonly leadIds: readonly string[];
  /** The last error, with the vendor's raw error. */
  readonly error: CrmRecordError;
  /** How many times the record was sent (or tried to be sent), over every run. */
  readonly attempts: number;
  /** ISO 8601 time of the first failure. */
  readonly firstFailedAt: string;
  /** ISO 8601 time of the last failure. */
  readonly lastFailedAt: string;
}

/** Options of {@link DeadLetterQueue.list}. */
export interface DeadLetterListOptions {
  /** `nextCursor` of the previous page; omitted for the first page. */
  readonly cursor?: string;
  /** Most entries in the page. Default chosen by the implementation (100 for the in-memory queue). */
  readonly limit?: number;
}

/** One page of dead letters, oldest first. */
export interface DeadLetterPage {
  /** The entries. */
  readonly entries: readonly DeadLetterEntry[];
  /** Cursor of the next page; absent on the last page. */
  readonly nextCursor?: string;
}

/**
 * Where permanently failed records are kept for inspection and redrive. The
 * default is in memory (`createMemoryDeadLetterQueue()`);
 * `createFileDeadLetterQueue(path)` keeps them in a file across restarts, for
 * one process at a time; implement this on a database or a queue to share
 * them between processes.
 */
export interface DeadLetterQueue {
  /**
   * Store an entry. An entry with the same id replaces the stored one and
   * keeps its place in the listing order.
   */
  put(entry: DeadLetterEntry): Promise<void>;
  /**
   * List entries, oldest first, a page at a time. Entries put or removed
   * while paging do not make a listing skip or repeat the others.
   */
  list(options?: DeadLetterListOptions): Promise<DeadLetterPage>;
  /** Remove entries by id; unknown ids are ignored. Resolves with how many were removed. */
  remove(ids: readonly string[]): Promise<number>;
  /** How many entries are stored. */
  size(): Promise<number>;
}

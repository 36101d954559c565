import type {
  DeadLetterEntry,
  DeadLetterListOptions,
  DeadLetterPage,
  DeadLetterQueue,
} from '../contracts/dead-letter-queue.js';
import { ValidationError } from '../contracts/errors.js';
import { redactValue } from '../contracts/secrets.js';

const DEFAULT_PAGE = 100;

/** A `list` page size: `limit`, or the default of 100; a `ValidationError` on `limit` unless a positive integer. */
export function checkDeadLetterLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new ValidationError([{ field: 'limit', reason: 'must be a positive integer' }]);
  }
  return limit;
}

function checkCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  if (!/^\d+$/.test(cursor)) {
    throw new ValidationError([{ field: 'cursor', reason: 'is not a cursor this queue returned' }]);
  }
  return Number(cursor);
}

/**
 * A {@link DeadLetterQueue} in memory: the default of `createCrmSync()`.
 * Entries are lost when the process exits; use a persistent implementation
 * when they must survive restarts. Entries are stored as deep, scrubbed
 * copies, so later changes to a caller's object do not leak in.
 */
export function createMemoryDeadLetterQueue(): DeadLetterQueue {
  /** Entries by id, with the sequence number that orders them. */
  const entries = new Map<string, { readonly seq: number; entry: DeadLetterEntry }>();
  let nextSeq = 1;

  return {
    async put(entry) {
      if (typeof entry?.id !== 'string' || entry.id === '') {
        throw new ValidationError([{ field: 'id', reason: 'must be a non-empty string' }]);
      }
      const copy = redactValue(structuredClone(entry));
      const existing = entries.get(entry.id);
      if (existing) {
        existing.entry = copy;
      } else {
        entries.set(entry.id, { seq: nextSeq, entry: copy });
        nextSeq += 1;
      }
    },
    async list(options: DeadLetterListOptions = {}): Promise<DeadLetterPage> {
      const limit = checkDeadLetterLimit(options.limit);
      const after = checkCursor(options.cursor);
      const page: DeadLetterEntry[] = [];
      let lastSeq = after;
      let more = false;
      // Map iteration follows insertion order, which is sequence order.
      for (const { seq, entry } of entries.values()) {
        if (seq <= after) continue;
        if (page.length === limit) {
          more = true;
          break;
        }
        page.push(structuredClone(entry));
        lastSeq = seq;
      }
      return more ? { entries: page, nextCursor: String(lastSeq) } : { entries: page };
    },
    async remove(ids) {
      let removed = 0;
      for (const id of ids) if (entries.delete(id)) removed += 1;
      return removed;
    },
    async size() {
      return entries.size;
    },
  };
}

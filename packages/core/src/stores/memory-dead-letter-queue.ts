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

/**
 * The JSON a dead-letter queue stores for `entry`: a deep copy scrubbed of
 * secrets (`redactValue`), its `id` kept as given so it can be removed by it.
 * A `ValidationError` on `id` unless a non-empty string, on `entry` unless
 * JSON-serializable.
 */
export function storedDeadLetterJson(entry: DeadLetterEntry): string {
  if (typeof entry?.id !== 'string' || entry.id === '') {
    throw new ValidationError([{ field: 'id', reason: 'must be a non-empty string' }]);
  }
  try {
    return JSON.stringify({ ...redactValue(structuredClone(entry)), id: entry.id });
  } catch (error) {
    throw new ValidationError([{ field: 'entry', reason: 'must be JSON-serializable' }], { cause: error });
  }
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
 * copies (their `id` kept as given), so later changes to a caller's object do
 * not leak in; an entry that is not JSON-serializable is refused, as a
 * persistent queue would refuse it.
 */
export function createMemoryDeadLetterQueue(): DeadLetterQueue {
  /** Entries by id, with the sequence number that orders them. */
  const entries = new Map<string, { readonly seq: number; entry: DeadLetterEntry }>();
  let nextSeq = 1;

  return {
    async put(entry) {
      const copy = JSON.parse(storedDeadLetterJson(entry)) as DeadLetterEntry;
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

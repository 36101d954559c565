import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type {
  DeadLetterEntry,
  DeadLetterListOptions,
  DeadLetterPage,
  DeadLetterQueue,
} from '../contracts/dead-letter-queue.js';
import { LeadpipeError, ValidationError } from '../contracts/errors.js';
import { readLineAt, readLines, Serial } from './file-lines.js';
import { hash64 } from './hash-map.js';
import { checkDeadLetterLimit, storedDeadLetterJson } from './memory-dead-letter-queue.js';
import { SpillingHash64Index, type SpillingHash64IndexOptions } from './spilling-index.js';

/** Options of {@link createFileDeadLetterQueue}. */
export interface FileDeadLetterQueueOptions {
  /**
   * The index from entry id to its latest line: entries kept in memory
   * before spilling to disk, and where (see `SpillingHash64Index`).
   */
  readonly index?: SpillingHash64IndexOptions;
  /**
   * Start empty: truncate an existing file instead of loading it. Default
   * `false`: what the file holds is loaded, so dead letters survive restarts.
   */
  readonly fresh?: boolean;
}

/** A {@link DeadLetterQueue} kept in a file, from {@link createFileDeadLetterQueue}. */
export interface FileDeadLetterQueue extends DeadLetterQueue {
  /** `fdatasync` the file: what was put or removed so far survives a power loss. */
  flush(): Promise<void>;
  /**
   * Flush, then close the file and the index (removing its spill folder).
   * Idempotent; any other call afterwards rejects with a `LeadpipeError` of
   * code `dead_letters_closed`.
   */
  close(): Promise<void>;
}

const HEADER = Buffer.from(`${JSON.stringify({ v: 1, kind: 'leadpipe.dead-letters' })}\n`);

/** A put line: the scrubbed entry and the byte offset of the line that holds its place in the listing. */
interface PutRecord {
  readonly p: DeadLetterEntry;
  readonly at: number;
}

function badCursor(): ValidationError {
  return new ValidationError([{ field: 'cursor', reason: 'is not a cursor this queue returned' }]);
}

function checkCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  if (!/^\d+$/.test(cursor)) throw badCursor();
  return Number(cursor);
}

function corrupt(path: string, reason: string): LeadpipeError {
  return new LeadpipeError('dead_letters_corrupt', {
    message: `Dead-letter file ${path} cannot be read: ${reason}. Move it aside (or open it with \`fresh: true\`) to start over.`,
  });
}

/** A put (`{p, at}`), a removal (`{r}`), or `undefined` for anything else. */
function parseRecord(text: string, offset: number): PutRecord | { readonly r: string } | undefined {
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof record !== 'object' || record === null) return undefined;
  const { p, at, r } = record as { p?: unknown; at?: unknown; r?: unknown };
  if (typeof r === 'string' && r !== '') return { r };
  const id = typeof p === 'object' && p !== null ? (p as { id?: unknown }).id : undefined;
  if (typeof id !== 'string' || id === '') return undefined;
  if (!Number.isSafeInteger(at) || (at as number) < HEADER.length || (at as number) > offset)
    return undefined;
  return record as PutRecord;
}

function isPut(record: PutRecord | { readonly r: string } | undefined): record is PutRecord {
  return record !== undefined && 'p' in record;
}

/**
 * A {@link DeadLetterQueue} in one append-only NDJSON file, so dead letters
 * survive restarts: a header line, then a line per `put`
 * (`{"p": entry, "at": offset}`, `at` being the byte offset of the line that
 * holds the entry's place in the listing: its own for a new entry, its first
 * version's for a replacement) and per removed entry (`{"r": id}`). Entries
 * are stored scrubbed of secrets (`redactValue`); their `id` is kept as given.
 *
 * The file is opened and read on the first call (creation only validates), its
 * parent folder created if needed. It is indexed by a
 * `SpillingHash64Index` (64-bit hash of the id to the offset of its latest
 * line, or -1 once removed): 8 MB in memory by default, the rest in sorted
 * files in the OS temp folder, removed on `close()`. Memory stays at the index
 * and one page, however many entries the file holds; a listing reads the file
 * 64 KB at a time from its cursor (a byte offset), plus one line per entry
 * replaced since it was first put. Two ids with the same 64-bit hash (about 3
 * in 10^8 for a million ids) are taken for one: the newer hides the older.
 *
 * Durability: every `put` and `remove` is written to the file, without
 * syncing, before it resolves, so a crash of the process loses nothing; a
 * power loss may lose what was not yet synced by `flush()` or `close()`. A
 * torn last line left by a crash is cut off when the file is opened. A file
 * that is not a dead-letter file, or a complete line that cannot be read, is
 * refused with a `LeadpipeError` of code `dead_letters_corrupt` naming the
 * path and the line (never its contents), and is left as it is.
 *
 * One queue per file at a time: the file is not locked, and two queues (or
 * processes) appending to it would corrupt each other's index.
 *
 * Trade-off: the file is never compacted. It grows with every `put` and
 * `remove` (an entry's size per put, a few dozen bytes per removal), and a page
 * read after many removals or replacements scans past their lines; start a new
 * file (`fresh: true`) once the queue has been drained.
 *
 * @param path - the file; created if missing, loaded if present.
 * @throws ValidationError when `path` is not a non-empty string or the options are invalid.
 */
export function createFileDeadLetterQueue(
  path: string,
  options: FileDeadLetterQueueOptions = {},
): FileDeadLetterQueue {
  if (typeof path !== 'string' || path.trim() === '') {
    throw new ValidationError([{ field: 'path', reason: 'must be a non-empty file path' }]);
  }
  if (options.fresh !== undefined && typeof options.fresh !== 'boolean') {
    throw new ValidationError([{ field: 'fresh', reason: 'must be a boolean' }]);
  }
  const index = new SpillingHash64Index(options.index);
  const serial = new Serial();
  let file: FileHandle | undefined;
  let ready: Promise<FileHandle> | undefined;
  /** Byte offset just past the last complete line: where the next line goes. */
  let end = 0;
  let count = 0;
  let closing: Promise<void> | undefined;

  /** Open the file and index it; runs once, inside the first serial task. */
  async function load(): Promise<FileHandle> {
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(path, 'a+');
    try {
      if (options.fresh) await handle.truncate(0);
      const { size } = await handle.stat();
      const head = Buffer.alloc(Math.min(size, HEADER.length));
      if (head.length > 0) await handle.read(head, 0, head.length, 0);
      if (!head.equals(HEADER.subarray(0, head.length))) {
        throw corrupt(path, 'line 1 is not a version 1 dead-letter header');
      }
      if (head.length < HEADER.length) {
        // Empty, or a header torn by a crash: start the file over.
        await handle.truncate(0);
        await writeAll(handle, HEADER);
        end = HEADER.length;
        return handle;
      }
      end = HEADER.length;
      let lineNumber = 1;
      for await (const line of readLines(handle, HEADER.length, size)) {
        lineNumber += 1;
        const record = parseRecord(line.text, line.offset);
        if (record === undefined) throw corrupt(path, `line ${lineNumber} is not a dead-letter record`);
        const key = hash64(isPut(record) ? record.p.id : record.r);
        const latest = index.get(key);
        const present = latest !== undefined && latest >= 0;
        if (isPut(record)) {
          if (!present) count += 1;
          index.set(key, line.offset);
        } else if (present) {
          count -= 1;
          index.set(key, -1);
        }
        end = line.next;
      }
      // A last line without its newline was torn by a crash before its call resolved.
      if (end < size) await handle.truncate(end);
      return handle;
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  function closedError(): LeadpipeError {
    return new LeadpipeError('dead_letters_closed', {
      message: `The dead-letter queue in ${path} is closed`,
    });
  }

  /** Run `task` with the open file, after every call made before it. */
  function run<T>(task: (handle: FileHandle) => Promise<T>): Promise<T> {
    if (closing) return Promise.reject(closedError());
    return serial.run(async () => {
      ready ??= load();
      file = await ready;
      return task(file);
    });
  }

  /** Append `bytes` at the end; on failure, cut the file back so no partial line stays. */
  async function append(handle: FileHandle, bytes: Buffer): Promise<void> {
    try {
      await writeAll(handle, bytes);
    } catch (error) {
      await handle.truncate(end).catch(() => undefined);
      throw error;
    }
    end += bytes.length;
  }

  /** The put line at `offset`, when it holds `id`. */
  async function putAt(handle: FileHandle, offset: number, id: string): Promise<PutRecord | undefined> {
    const text = await readLineAt(handle, offset);
    const record = text === undefined ? undefined : parseRecord(text, offset);
    // Another id there means a 64-bit hash collision: `id` itself is not stored.
    return isPut(record) && record.p.id === id ? record : undefined;
  }

  /** The latest line of `id`, when `id` is stored. */
  async function latestOf(handle: FileHandle, id: string): Promise<PutRecord | undefined> {
    const offset = index.get(hash64(id));
    if (offset === undefined || offset < 0) return undefined;
    return putAt(handle, offset, id);
  }

  return {
    async put(entry) {
      const json = storedDeadLetterJson(entry);
      await run(async (handle) => {
        const key = hash64(entry.id);
        const previous = await latestOf(handle, entry.id);
        const offset = end;
        // A replacement keeps the place of the entry's first version.
        const at = previous?.at ?? offset;
        await append(handle, Buffer.from(`{"p":${json},"at":${at}}\n`));
        const latest = index.get(key);
        if (latest === undefined || latest < 0) count += 1;
        index.set(key, offset);
      });
    },

    async list(listOptions: DeadLetterListOptions = {}): Promise<DeadLetterPage> {
      const limit = checkDeadLetterLimit(listOptions.limit);
      const from = checkCursor(listOptions.cursor);
      return run(async (handle) => {
        if (from >= end) return { entries: [] };
        if (from > 0) {
          // A cursor is the offset of a line: the byte before it is a newline.
          const before = Buffer.alloc(1);
          await handle.read(before, 0, 1, from - 1);
          if (before[0] !== 10) throw badCursor();
        }
        const entries: DeadLetterEntry[] = [];
        for await (const line of readLines(handle, Math.max(from, HEADER.length), end)) {
          const record = parseRecord(line.text, line.offset);
          if (record === undefined)
            throw corrupt(path, `the line at byte ${line.offset} is not a dead-letter record`);
          // Only the line holding an entry's place lists it, as its latest version.
          if (!isPut(record) || record.at !== line.offset) continue;
          const offset = index.get(hash64(record.p.id));
          if (offset === undefined || offset < 0) continue;
          const latest = offset === line.offset ? record : await putAt(handle, offset, record.p.id);
          // Removed and put again: the entry has a newer place further on.
          if (latest?.at !== line.offset) continue;
          if (entries.length === limit) return { entries, nextCursor: String(line.offset) };
          entries.push(latest.p);
        }
        return { entries };
      });
    },

    async remove(ids) {
      return run(async (handle) => {
        const removed = new Set<string>();
        for (const id of ids) {
          if (typeof id !== 'string' || removed.has(id)) continue;
          if ((await latestOf(handle, id)) !== undefined) removed.add(id);
        }
        if (removed.size === 0) return 0;
        const tombstones = [...removed].map((id) => `${JSON.stringify({ r: id })}\n`).join('');
        await append(handle, Buffer.from(tombstones));
        for (const id of removed) index.set(hash64(id), -1);
        count -= removed.size;
        return removed.size;
      });
    },

    async size() {
      return run(async () => count);
    },

    async flush() {
      await run((handle) => handle.datasync());
    },

    close() {
      closing ??= serial.run(async () => {
        const handle = file;
        file = undefined;
        try {
          if (handle !== undefined) {
            try {
              await handle.datasync();
            } finally {
              await handle.close();
            }
          }
        } finally {
          index.close();
        }
      });
      return closing;
    },
  };
}

/** Write all of `bytes` at the end of `handle` (opened for appending). */
async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    const result = await handle.write(bytes, written, bytes.length - written);
    written += result.bytesWritten;
  }
}

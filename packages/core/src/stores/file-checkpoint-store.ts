import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readFile, rename, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Cache } from '../contracts/cache.js';
import type {
  Checkpoint,
  CheckpointOpenRequest,
  CheckpointState,
  CheckpointStore,
} from '../contracts/checkpoint-store.js';
import { LeadpipeError, ValidationError } from '../contracts/errors.js';
import { readLineAt, readLines, Serial } from './file-lines.js';
import { hash64 } from './hash-map.js';
import { compressRows, RowRanges } from './row-ranges.js';
import { SpillingHash64Index, type SpillingHash64IndexOptions } from './spilling-index.js';

/** Options of {@link createFileCheckpointStore}. */
export interface FileCheckpointStoreOptions {
  /** Clock, in epoch ms, for result expiry. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * Where the provider answers go. Default `<path>.results`. Name another
   * file to keep the answers apart from the run (a cache shared by runs of
   * several inputs, one run at a time).
   */
  readonly resultsPath?: string;
  /** The result log's index: entries kept in memory before spilling to disk, and where (see `SpillingHash64Index`). */
  readonly index?: SpillingHash64IndexOptions;
}

const FORMAT_VERSION = 1;

function corrupt(path: string, reason: string): LeadpipeError {
  return new LeadpipeError('checkpoint_corrupt', {
    message: `Checkpoint ${path} cannot be read: ${reason}. Delete it (or run without resume) to start over.`,
  });
}

async function readOrEmpty(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

interface LoadedRows {
  readonly fingerprint: string;
  readonly rows: RowRanges;
  readonly state: CheckpointState | undefined;
}

function isState(value: unknown): value is CheckpointState {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Read the row log; a torn last line is cut off the file. */
async function loadRows(path: string): Promise<LoadedRows | undefined> {
  const text = await readOrEmpty(path);
  if (text === undefined || text === '') return undefined;
  const lines = text.split('\n');
  const torn = lines.pop() ?? '';
  if (torn !== '') await truncate(path, Buffer.byteLength(text) - Buffer.byteLength(torn));
  let fingerprint: string | undefined;
  let state: CheckpointState | undefined;
  const rows = new RowRanges();
  lines.forEach((line, index) => {
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      throw corrupt(path, `line ${index + 1} is not JSON`);
    }
    const value = record as { v?: unknown; fingerprint?: unknown; f?: unknown; s?: unknown };
    if (index === 0) {
      if (value.v !== FORMAT_VERSION || typeof value.fingerprint !== 'string') {
        throw corrupt(path, `line 1 is not a version ${FORMAT_VERSION} checkpoint header`);
      }
      fingerprint = value.fingerprint;
      return;
    }
    const pairs = value.f;
    if (
      !Array.isArray(pairs) ||
      pairs.length % 2 !== 0 ||
      !pairs.every((row) => Number.isInteger(row) && row > 0)
    ) {
      throw corrupt(path, `line ${index + 1} is not a list of finished row ranges`);
    }
    if (value.s !== undefined) {
      if (!isState(value.s)) throw corrupt(path, `line ${index + 1} has a state that is not an object`);
      state = value.s;
    }
    for (let pair = 0; pair < pairs.length; pair += 2)
      rows.addRange(pairs[pair] as number, pairs[pair + 1] as number);
  });
  if (fingerprint === undefined) return undefined;
  return { fingerprint, rows, state };
}

/** Index the result log: key hash to byte offset. A torn last line is cut off. */
async function indexResults(path: string, index: SpillingHash64Index): Promise<number> {
  let offset = 0;
  let carry = Buffer.alloc(0);
  try {
    for await (const chunk of createReadStream(path)) {
      let buffer = carry.length > 0 ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
      let start = 0;
      for (;;) {
        const end = buffer.indexOf(10, start);
        if (end < 0) break;
        try {
          const record = JSON.parse(buffer.toString('utf8', start, end)) as { k?: unknown; d?: unknown };
          // A tombstone (`d`) hides the key's earlier lines, as `delete` did before the restart.
          if (typeof record.k === 'string') index.set(hash64(record.k), record.d === 1 ? -1 : offset + start);
        } catch {
          // An unreadable result line only costs a cache miss.
        }
        start = end + 1;
      }
      offset += start;
      buffer = buffer.subarray(start);
      carry = Buffer.from(buffer);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  if (carry.length > 0) await truncate(path, offset);
  return offset;
}

/**
 * The default {@link CheckpointStore}: two append-only files. Finished rows
 * are held in memory as ranges, so `finishedIn` answers without reading the
 * file.
 *
 * - `<path>`: a header line with the input's fingerprint, then one line per
 *   flush listing the rows finished since, as `[from, to]` ranges, with the
 *   pipeline's state at that flush (where its output files ended, the counts
 *   of finished rows). Loaded into a watermark plus the few ranges above it
 *   (`RowRanges`), so memory stays small however many rows the input has.
 * - `<path>.results` (or `resultsPath`): every provider answer the
 *   enrichment engine cached (`{"k": key, "v": value, "x": expiresAt}` per
 *   line), served back as a {@link Cache}. It is indexed by a
 *   `SpillingHash64Index` (64-bit key hash to file offset): 8 MB in memory,
 *   the rest in sorted files in the OS temp folder, removed on `close()`; a
 *   hit reads its line from the file.
 *
 * Durability order: an answer is written to the results file (the
 * operating system has it; a killed process loses nothing) before `set`
 * resolves, so before the row that needed it can reach the output; finished
 * rows and the state are written and both files `fdatasync`ed on `flush()`
 * (the pipeline flushes every `checkpointEvery` rows and at the end), after
 * the output files were flushed. A crash loses at most the rows finished
 * since the last flush: a resume cuts the output files back to where that
 * flush's state says they ended and does those rows again, paying no
 * provider again. A torn last line left by a crash is ignored and cut off.
 *
 * Opening without `resume` starts the rows over but keeps the answers of
 * earlier runs (within their TTL); `fresh` discards them too. The result
 * log grows with every answer (about 200-400 bytes each): compact it with
 * {@link compactResultLog}, or delete it, once a run is complete.
 */
export function createFileCheckpointStore(
  path: string,
  options: FileCheckpointStoreOptions = {},
): CheckpointStore {
  if (typeof path !== 'string' || path.trim() === '') {
    throw new ValidationError([{ field: 'path', reason: 'must be a non-empty file path' }]);
  }
  const now = options.now ?? Date.now;
  const resultsPath = options.resultsPath ?? `${path}.results`;

  return {
    async open(request: CheckpointOpenRequest): Promise<Checkpoint> {
      if (typeof request?.fingerprint !== 'string' || request.fingerprint === '') {
        throw new ValidationError([{ field: 'fingerprint', reason: 'must be a non-empty string' }]);
      }
      await mkdir(dirname(path), { recursive: true });
      await mkdir(dirname(resultsPath), { recursive: true });
      let loaded = request.resume ? await loadRows(path) : undefined;
      if (loaded !== undefined && loaded.fingerprint !== request.fingerprint) {
        throw new ValidationError([
          {
            field: 'fingerprint',
            reason: `the checkpoint at ${path} was written for a different input; run without resume to start over`,
          },
        ]);
      }
      const index = new SpillingHash64Index(options.index);
      const keepResults = request.resume || request.fresh !== true;
      const resultsSize = keepResults ? await indexResults(resultsPath, index) : 0;
      loaded ??= { fingerprint: request.fingerprint, rows: new RowRanges(), state: undefined };
      const rowsFile: FileHandle = await open(path, loaded.rows.count > 0 || request.resume ? 'a' : 'w');
      let resultsFile: FileHandle;
      try {
        resultsFile = await open(resultsPath, resultsSize > 0 ? 'a+' : 'w+');
      } catch (error) {
        await rowsFile.close();
        throw error;
      }
      const serial = new Serial();
      const resumed = request.resume && (loaded.rows.count > 0 || resultsSize > 0);
      if (!request.resume || loaded.rows.count === 0 || (await rowsFile.stat()).size === 0) {
        await rowsFile.truncate(0);
        await rowsFile.write(
          `${JSON.stringify({ v: FORMAT_VERSION, fingerprint: request.fingerprint, createdAt: new Date(now()).toISOString() })}\n`,
        );
      }
      const finished = loaded.rows;
      const finishedBefore = finished.count;
      const state = request.resume ? loaded.state : undefined;
      let pendingRows: number[] = [];
      let pendingResults: string[] = [];
      let pendingBytes = 0;
      let size = resultsSize;
      const pendingByKey = new Map<string, { value: unknown; expiresAt: number }>();
      let closed = false;

      /** Write every answer waiting; several `set`s in a row share one write. */
      async function writeResults(): Promise<void> {
        if (pendingResults.length === 0) return;
        const text = pendingResults.join('');
        pendingResults = [];
        await resultsFile.write(text, size);
        size += Buffer.byteLength(text);
        pendingBytes = 0;
        pendingByKey.clear();
      }

      function append(line: string): void {
        pendingResults.push(line);
        pendingBytes += Buffer.byteLength(line);
      }

      const results: Cache = {
        async get(key) {
          const buffered = pendingByKey.get(key);
          if (buffered !== undefined) return buffered.expiresAt > now() ? buffered.value : undefined;
          const offset = index.get(hash64(key));
          // A deleted entry has offset -1.
          if (offset === undefined || offset < 0) return undefined;
          const line = await serial.run(() => readLineAt(resultsFile, offset));
          if (line === undefined) return undefined;
          try {
            const record = JSON.parse(line) as { k: unknown; v: unknown; x: unknown };
            if (record.k !== key || typeof record.x !== 'number' || record.x <= now()) return undefined;
            return record.v;
          } catch {
            return undefined;
          }
        },
        async set(key, value, ttlMs) {
          if (!(ttlMs > 0) || closed) return;
          const expiresAt = now() + ttlMs;
          const line = `${JSON.stringify({ k: key, v: value, x: expiresAt })}\n`;
          index.set(hash64(key), size + pendingBytes);
          append(line);
          pendingByKey.set(key, { value, expiresAt });
          // Written through: the answer is in the file before the row that needed it can be written out.
          await serial.run(writeResults);
        },
        async delete(key) {
          pendingByKey.delete(key);
          // Earlier lines stay in the file: a tombstone line hides them on resume too, and a later `set`
          // of the key points the index at its new line.
          const hashed = hash64(key);
          if (index.get(hashed) === undefined || closed) return;
          index.set(hashed, -1);
          append(`${JSON.stringify({ k: key, d: 1 })}\n`);
          await serial.run(writeResults);
        },
      };

      async function flush(flushState?: CheckpointState): Promise<void> {
        if (flushState !== undefined && !isState(flushState)) {
          throw new ValidationError([{ field: 'state', reason: 'must be a JSON object' }]);
        }
        await serial.run(async () => {
          await writeResults();
          // The answers are synced before the rows that needed them are recorded finished.
          await resultsFile.datasync();
          if (pendingRows.length > 0 || flushState !== undefined) {
            const pairs = compressRows(pendingRows).flat();
            pendingRows = [];
            await rowsFile.write(
              `${JSON.stringify(flushState === undefined ? { f: pairs } : { f: pairs, s: flushState })}\n`,
            );
          }
          await rowsFile.datasync();
        });
      }

      return {
        resumed,
        finishedBefore,
        state,
        async finishedIn(window) {
          const { from, to } = window ?? {};
          if (!Number.isInteger(from) || !Number.isInteger(to) || from < 1 || to < from) {
            throw new ValidationError([
              { field: 'window', reason: `must be positive integers with from <= to, got ${from}..${to}` },
            ]);
          }
          // Answered from the ranges in memory: below the watermark every row is finished.
          const rows: number[] = [];
          for (let row = from; row <= to; row++) if (finished.has(row)) rows.push(row);
          return rows;
        },
        async markFinished(rows) {
          for (const row of rows) {
            if (!Number.isInteger(row) || row < 1) {
              throw new ValidationError([
                { field: 'rowNumbers', reason: `must be positive integers, got ${row}` },
              ]);
            }
            finished.add(row);
            pendingRows.push(row);
          }
        },
        results,
        flush,
        async close() {
          if (closed) return;
          await flush();
          closed = true;
          index.close();
          await rowsFile.close();
          await resultsFile.close();
        },
      };
    },
  };
}

/** What {@link compactResultLog} did. */
export interface ResultLogCompaction {
  /** Size of the log before, in bytes. */
  readonly bytesBefore: number;
  /** Size of the log after, in bytes. */
  readonly bytesAfter: number;
  /** Answers kept (the latest of each key, not expired, not deleted). */
  readonly answers: number;
}

/**
 * Compact a file checkpoint's result log (`<path>.results`, or the
 * `resultsPath` it was given): keep the latest answer of each key that has
 * not expired and was not deleted, drop overwritten and expired lines and
 * tombstones. Written to a temporary file beside it, synced, then renamed
 * over it, so a crash leaves either log whole. Memory stays bounded (the
 * key index spills to disk as the store's does). Run it when no run has the
 * log open. A log that does not exist is left alone (all figures 0).
 */
export async function compactResultLog(
  resultsPath: string,
  options: Pick<FileCheckpointStoreOptions, 'now' | 'index'> = {},
): Promise<ResultLogCompaction> {
  const now = options.now ?? Date.now;
  const index = new SpillingHash64Index(options.index);
  try {
    const bytesBefore = await indexResults(resultsPath, index);
    if (bytesBefore === 0) return { bytesBefore: 0, bytesAfter: 0, answers: 0 };
    const temporary = `${resultsPath}.compacting`;
    const source = await open(resultsPath, 'r');
    const target = await open(temporary, 'w');
    let bytesAfter = 0;
    let answers = 0;
    try {
      let batch: string[] = [];
      const writeBatch = async (): Promise<void> => {
        if (batch.length === 0) return;
        const text = batch.join('');
        batch = [];
        await target.write(text);
        bytesAfter += Buffer.byteLength(text);
      };
      for await (const line of readLines(source, 0, bytesBefore)) {
        let record: { k?: unknown; x?: unknown; d?: unknown };
        try {
          record = JSON.parse(line.text) as typeof record;
        } catch {
          continue;
        }
        if (typeof record.k !== 'string' || record.d === 1) continue;
        if (typeof record.x !== 'number' || record.x <= now()) continue;
        if (index.get(hash64(record.k)) !== line.offset) continue;
        batch.push(`${line.text}\n`);
        answers += 1;
        if (batch.length >= 1_024) await writeBatch();
      }
      await writeBatch();
      await target.datasync();
    } finally {
      await source.close();
      await target.close();
    }
    await rename(temporary, resultsPath);
    return { bytesBefore, bytesAfter, answers };
  } finally {
    index.close();
  }
}

import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readFile, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Cache } from '../contracts/cache.js';
import type { Checkpoint, CheckpointOpenRequest, CheckpointStore } from '../contracts/checkpoint-store.js';
import { LeadpipeError, ValidationError } from '../contracts/errors.js';
import { readLineAt, Serial } from './file-lines.js';
import { hash64 } from './hash-map.js';
import { compressRows, RowRanges } from './row-ranges.js';
import { SpillingHash64Index, type SpillingHash64IndexOptions } from './spilling-index.js';

/** Options of {@link createFileCheckpointStore}. */
export interface FileCheckpointStoreOptions {
  /** Clock, in epoch ms, for result expiry. Default `Date.now`. */
  readonly now?: () => number;
  /** Write buffered results to the file (without syncing) once this many bytes wait. Default 1 MiB. */
  readonly resultBufferBytes?: number;
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
}

/** Read the row log; a torn last line is cut off the file. */
async function loadRows(path: string): Promise<LoadedRows | undefined> {
  const text = await readOrEmpty(path);
  if (text === undefined || text === '') return undefined;
  const lines = text.split('\n');
  const torn = lines.pop() ?? '';
  if (torn !== '') await truncate(path, Buffer.byteLength(text) - Buffer.byteLength(torn));
  let fingerprint: string | undefined;
  const rows = new RowRanges();
  lines.forEach((line, index) => {
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      throw corrupt(path, `line ${index + 1} is not JSON`);
    }
    const value = record as { v?: unknown; fingerprint?: unknown; f?: unknown };
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
    for (let pair = 0; pair < pairs.length; pair += 2)
      rows.addRange(pairs[pair] as number, pairs[pair + 1] as number);
  });
  if (fingerprint === undefined) return undefined;
  return { fingerprint, rows };
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
 *   flush listing the rows finished since, as `[from, to]` ranges. Loaded
 *   into a watermark plus the few ranges above it (`RowRanges`), so
 *   memory stays small however many rows the input has.
 * - `<path>.results`: every provider answer the enrichment engine cached
 *   (`{"k": key, "v": value, "x": expiresAt}` per line), served back as a
 *   {@link Cache}. It is indexed by a `SpillingHash64Index` (64-bit
 *   key hash to file offset): 8 MB in memory, the rest in sorted files in
 *   the OS temp folder, removed on `close()`; a hit reads its line from the
 *   file.
 *
 * Writes are buffered and both files are written and `fdatasync`ed on
 * `flush()` (the pipeline flushes every `checkpointEvery` rows and at the
 * end). A crash loses at most what was recorded since the last flush: those
 * rows are done again on resume, and their provider answers, if they reached
 * the file, are not paid again. A torn last line left by a crash is ignored
 * and cut off.
 *
 * Trade-off: the result log grows with every answer (about 200-400 bytes
 * each) and is never compacted; delete both files once a run is complete
 * and its output is safe, when it is not needed for later resumes.
 */
export function createFileCheckpointStore(
  path: string,
  options: FileCheckpointStoreOptions = {},
): CheckpointStore {
  if (typeof path !== 'string' || path.trim() === '') {
    throw new ValidationError([{ field: 'path', reason: 'must be a non-empty file path' }]);
  }
  const now = options.now ?? Date.now;
  const resultBufferBytes = options.resultBufferBytes ?? 1 << 20;
  const resultsPath = `${path}.results`;

  return {
    async open(request: CheckpointOpenRequest): Promise<Checkpoint> {
      if (typeof request?.fingerprint !== 'string' || request.fingerprint === '') {
        throw new ValidationError([{ field: 'fingerprint', reason: 'must be a non-empty string' }]);
      }
      await mkdir(dirname(path), { recursive: true });
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
      let resultsSize = 0;
      if (loaded !== undefined) resultsSize = await indexResults(resultsPath, index);
      else loaded = { fingerprint: request.fingerprint, rows: new RowRanges() };
      const rowsFile: FileHandle = await open(path, loaded.rows.count > 0 || request.resume ? 'a' : 'w');
      const resultsFile: FileHandle = await open(resultsPath, resultsSize > 0 ? 'a+' : 'w+');
      const serial = new Serial();
      const resumed = request.resume && (loaded.rows.count > 0 || resultsSize > 0);
      if (!resumed || (await rowsFile.stat()).size === 0) {
        await rowsFile.truncate(0);
        await rowsFile.write(
          `${JSON.stringify({ v: FORMAT_VERSION, fingerprint: request.fingerprint, createdAt: new Date(now()).toISOString() })}\n`,
        );
      }
      const finished = loaded.rows;
      const finishedBefore = finished.count;
      let pendingRows: number[] = [];
      let pendingResults: string[] = [];
      let pendingBytes = 0;
      const pendingByKey = new Map<string, { value: unknown; expiresAt: number }>();
      let closed = false;

      async function writeResults(): Promise<void> {
        if (pendingResults.length === 0) return;
        const text = pendingResults.join('');
        pendingResults = [];
        await resultsFile.write(text, resultsSize);
        resultsSize += Buffer.byteLength(text);
        pendingBytes = 0;
        pendingByKey.clear();
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
          index.set(hash64(key), resultsSize + pendingBytes);
          pendingResults.push(line);
          pendingBytes += Buffer.byteLength(line);
          pendingByKey.set(key, { value, expiresAt });
          if (pendingBytes >= resultBufferBytes) await serial.run(writeResults);
        },
        async delete(key) {
          pendingByKey.delete(key);
          // Earlier lines stay in the file: a tombstone line hides them on resume too, and a later `set`
          // of the key points the index at its new line.
          const hashed = hash64(key);
          if (index.get(hashed) === undefined || closed) return;
          index.set(hashed, -1);
          const line = `${JSON.stringify({ k: key, d: 1 })}\n`;
          pendingResults.push(line);
          pendingBytes += Buffer.byteLength(line);
          if (pendingBytes >= resultBufferBytes) await serial.run(writeResults);
        },
      };

      async function flush(): Promise<void> {
        await serial.run(async () => {
          await writeResults();
          if (pendingRows.length > 0) {
            const pairs = compressRows(pendingRows).flat();
            pendingRows = [];
            await rowsFile.write(`${JSON.stringify({ f: pairs })}\n`);
          }
          await resultsFile.datasync();
          await rowsFile.datasync();
        });
      }

      return {
        resumed,
        finishedBefore,
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

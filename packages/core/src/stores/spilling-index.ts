import { closeSync, mkdtempSync, openSync, readSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '../contracts/errors.js';
import { type Hash64, Hash64Map } from './hash-map.js';

/** Options of the spilling hash index behind deduplication, checkpoints and file dead-letter queues: how many keys stay in memory before a run spills to disk, and where. */
export interface SpillingHash64IndexOptions {
  /**
   * Keys kept in memory before they are written to disk as a sorted run.
   * Default 262,144 (an 8 MB table). At least 1,024.
   */
  readonly maxMemoryEntries?: number;
  /** Where runs are written, in a folder of their own removed by `close`. Default: the OS temp folder. */
  readonly directory?: string;
}

/** Bytes per entry in a run file: the two hash halves and the value, big-endian. */
const ENTRY_BYTES = 16;
/** Entries per block: one fence key in memory per block, one block read per lookup in a run. */
const BLOCK_ENTRIES = 256;
/** Bloom filter over every spilled key: 2^26 bits (8 MB), allocated at the first spill. */
const BLOOM_BITS = 2 ** 26;
const BLOOM_HASHES = 5;
const MAX_LOAD = 0.7;

interface Run {
  readonly path: string;
  readonly fd: number;
  readonly count: number;
  /** The first key of each block. */
  readonly fenceHigh: Uint32Array;
  readonly fenceLow: Uint32Array;
  /** 0 for a spilled table; two runs of level n merge into one of level n + 1. */
  readonly level: number;
}

/** Entries read or written per system call while merging runs (64 KB). */
const MERGE_CHUNK_ENTRIES = 4096;

/** Read `bytes` bytes at `position` of `fd` into the start of `buffer`. */
function readFully(fd: number, buffer: Buffer, bytes: number, position: number): void {
  let read = 0;
  while (read < bytes) {
    const got = readSync(fd, buffer, read, bytes - read, position + read);
    if (got === 0) throw new Error(`run file ended ${bytes - read} bytes early`);
    read += got;
  }
}

/** Write the first `bytes` bytes of `buffer` at `position` of `fd`. */
function writeFully(fd: number, buffer: Buffer, bytes: number, position: number): void {
  let written = 0;
  while (written < bytes) written += writeSync(fd, buffer, written, bytes - written, position + written);
}

/** Reads a run from start to end, a chunk at a time. */
class RunReader {
  readonly #run: Run;
  readonly #buffer = Buffer.alloc(MERGE_CHUNK_ENTRIES * ENTRY_BYTES);
  #loaded = 0;
  #position = 0;
  #next = 0;
  high = 0;
  low = 0;
  value = 0;
  done = false;

  constructor(run: Run) {
    this.#run = run;
    this.advance();
  }

  /** Move to the next entry; `done` once past the last. */
  advance(): void {
    if (this.#next >= this.#run.count) {
      this.done = true;
      return;
    }
    if (this.#position >= this.#loaded) {
      const entries = Math.min(MERGE_CHUNK_ENTRIES, this.#run.count - this.#next);
      readFully(this.#run.fd, this.#buffer, entries * ENTRY_BYTES, this.#next * ENTRY_BYTES);
      this.#loaded = entries;
      this.#position = 0;
    }
    const offset = this.#position * ENTRY_BYTES;
    this.high = this.#buffer.readUInt32BE(offset);
    this.low = this.#buffer.readUInt32BE(offset + 4);
    this.value = this.#buffer.readDoubleBE(offset + 8);
    this.#position += 1;
    this.#next += 1;
  }
}

/** Writes sorted entries to a new run file, keeping its fences. */
class RunWriter {
  readonly #fd: number;
  readonly #path: string;
  readonly #buffer = Buffer.alloc(MERGE_CHUNK_ENTRIES * ENTRY_BYTES);
  readonly #fenceHigh: number[] = [];
  readonly #fenceLow: number[] = [];
  #buffered = 0;
  #count = 0;

  constructor(path: string) {
    this.#path = path;
    this.#fd = openSync(path, 'w+');
  }

  /** Append one entry (entries come in sorted order). */
  add(high: number, low: number, value: number): void {
    if (this.#count % BLOCK_ENTRIES === 0) {
      this.#fenceHigh.push(high);
      this.#fenceLow.push(low);
    }
    const offset = this.#buffered * ENTRY_BYTES;
    this.#buffer.writeUInt32BE(high, offset);
    this.#buffer.writeUInt32BE(low, offset + 4);
    this.#buffer.writeDoubleBE(value, offset + 8);
    this.#buffered += 1;
    this.#count += 1;
    if (this.#buffered === MERGE_CHUNK_ENTRIES) this.#flush();
  }

  /** Write what is buffered and describe the finished run. */
  finish(level: number): Run {
    this.#flush();
    return {
      path: this.#path,
      fd: this.#fd,
      count: this.#count,
      fenceHigh: Uint32Array.from(this.#fenceHigh),
      fenceLow: Uint32Array.from(this.#fenceLow),
      level,
    };
  }

  #flush(): void {
    writeFully(
      this.#fd,
      this.#buffer,
      this.#buffered * ENTRY_BYTES,
      (this.#count - this.#buffered) * ENTRY_BYTES,
    );
    this.#buffered = 0;
  }
}

/** -1, 0 or 1 as (aHigh, aLow) sorts before, with or after (bHigh, bLow). */
function compare(aHigh: number, aLow: number, bHigh: number, bLow: number): number {
  if (aHigh !== bHigh) return aHigh < bHigh ? -1 : 1;
  if (aLow !== bLow) return aLow < bLow ? -1 : 1;
  return 0;
}

/**
 * A map from 64-bit key hashes to numbers whose memory does not grow with
 * the number of keys: up to `maxMemoryEntries` keys live in a
 * {@link Hash64Map}; when it is full they are written to disk as a sorted
 * run, remembered by one fence key per 256 entries and a fixed-size Bloom
 * filter (8 MB for every run together). Two runs of the same size merge into
 * one, so there are about log2(spills) of them. A key not in memory is looked
 * for on disk only when the filter says it may be there, one 4 KB block read
 * per run, newest first. Answers are exact: the filter only saves reads.
 *
 * Memory: the table (8 MB by default), the filter once anything is spilled,
 * and 8 bytes per 256 spilled keys. Disk: 16 bytes per spilled key.
 *
 * The pipeline dedupes with it (`setIfAbsent`); the file checkpoint store
 * indexes its result log with it (`set`, `get`: the newest value wins).
 * Keys are never removed. A process that dies before `close` leaves its
 * folder (`leadpipe-dedupe-*`) behind. Reads and writes are synchronous and small;
 * a lookup that reaches the disk is served from the OS page cache when the
 * runs fit in it.
 */
export class SpillingHash64Index {
  readonly #maxMemoryEntries: number;
  readonly #baseDirectory: string;
  #memory = new Hash64Map();
  #directory: string | undefined;
  readonly #runs: Run[] = [];
  #bloom: Uint32Array | undefined;
  #size = 0;
  #diskReads = 0;
  #files = 0;
  readonly #block = Buffer.alloc(BLOCK_ENTRIES * ENTRY_BYTES);

  /** @throws ValidationError when `maxMemoryEntries` is not a whole number of at least 1,024. */
  constructor(options: SpillingHash64IndexOptions = {}) {
    const max = options.maxMemoryEntries ?? 262_144;
    if (!Number.isInteger(max) || max < 1024) {
      throw new ValidationError([
        {
          field: 'maxMemoryEntries',
          reason: `must be a whole number of at least 1,024, got ${String(options.maxMemoryEntries)}`,
        },
      ]);
    }
    if (
      options.directory !== undefined &&
      (typeof options.directory !== 'string' || options.directory === '')
    ) {
      throw new ValidationError([{ field: 'directory', reason: 'must be a non-empty path' }]);
    }
    this.#maxMemoryEntries = max;
    this.#baseDirectory = options.directory ?? tmpdir();
  }

  /** How many keys are stored, in memory and on disk. */
  get size(): number {
    return this.#size;
  }

  /** How many sorted runs are on disk (runs of the same size are merged). */
  get runs(): number {
    return this.#runs.length;
  }

  /** How many block reads lookups have made (the filter's misses cost none). */
  get diskReads(): number {
    return this.#diskReads;
  }

  /** The value stored for `key` (the latest `set` wins), or `undefined`. */
  get(key: Hash64): number | undefined {
    return this.#memory.get(key) ?? this.#onDisk(key);
  }

  /**
   * Store `value` for `key`, replacing any earlier value: a copy spilled
   * earlier stays on disk, shadowed by the newer one.
   */
  set(key: Hash64, value: number): void {
    if (this.#memory.get(key) === undefined && this.#onDisk(key) === undefined) this.#size += 1;
    this.#store(key, value);
  }

  /**
   * Store `value` for `key` unless the key is there already. Returns the
   * value already stored, or `undefined` when `value` was stored.
   */
  setIfAbsent(key: Hash64, value: number): number | undefined {
    const existing = this.get(key);
    if (existing !== undefined) return existing;
    this.#size += 1;
    this.#store(key, value);
    return undefined;
  }

  /** Close the run files and remove their folder. The index is empty afterwards and can be used again. */
  close(): void {
    for (const run of this.#runs.splice(0)) closeSync(run.fd);
    if (this.#directory !== undefined) rmSync(this.#directory, { recursive: true, force: true });
    this.#directory = undefined;
    this.#files = 0;
    this.#bloom = undefined;
    this.#memory = new Hash64Map();
    this.#size = 0;
  }

  #store(key: Hash64, value: number): void {
    const fresh = this.#memory.get(key) === undefined;
    this.#memory.set(key, value);
    if (fresh && this.#memory.size >= this.#maxMemoryEntries) this.#spill();
  }

  /** The newest value of `key` in the runs on disk, when the filter lets it through. */
  #onDisk(key: Hash64): number | undefined {
    if (this.#bloom === undefined || !this.#mayHave(key)) return undefined;
    for (let index = this.#runs.length - 1; index >= 0; index -= 1) {
      const found = this.#find(this.#runs[index]!, key);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  #bloomSlots(key: Hash64, visit: (word: number, bit: number) => boolean): boolean {
    const step = key.low | 1;
    for (let round = 0; round < BLOOM_HASHES; round += 1) {
      const position = (key.high + Math.imul(round, step)) & (BLOOM_BITS - 1);
      if (!visit(position >>> 5, 1 << (position & 31))) return false;
    }
    return true;
  }

  #mayHave(key: Hash64): boolean {
    const bloom = this.#bloom!;
    return this.#bloomSlots(key, (word, bit) => (bloom[word]! & bit) !== 0);
  }

  #spill(): void {
    const count = this.#memory.size;
    const high = new Uint32Array(count);
    const low = new Uint32Array(count);
    const values = new Float64Array(count);
    let filled = 0;
    this.#memory.forEach((key, value) => {
      high[filled] = key.high;
      low[filled] = key.low;
      values[filled] = value;
      filled += 1;
    });
    const order = new Uint32Array(count);
    for (let index = 0; index < count; index += 1) order[index] = index;
    order.sort((a, b) => compare(high[a]!, low[a]!, high[b]!, low[b]!));

    this.#bloom ??= new Uint32Array(BLOOM_BITS / 32);
    const bloom = this.#bloom;
    const writer = new RunWriter(this.#nextPath());
    for (let rank = 0; rank < count; rank += 1) {
      const index = order[rank]!;
      writer.add(high[index]!, low[index]!, values[index]!);
      this.#bloomSlots({ high: high[index]!, low: low[index]! }, (word, bit) => {
        bloom[word] = bloom[word]! | bit;
        return true;
      });
    }
    this.#runs.push(writer.finish(0));
    this.#memory = new Hash64Map(Math.ceil(this.#maxMemoryEntries / MAX_LOAD));
    // Like a binary counter: two runs of one level merge into one of the next, so a million spilled
    // tables leave about 20 runs to search, and every entry is rewritten about log2(runs) times.
    while (this.#runs.length >= 2 && this.#runs.at(-1)!.level === this.#runs.at(-2)!.level) {
      const newer = this.#runs.pop()!;
      const older = this.#runs.pop()!;
      this.#runs.push(this.#merge(older, newer));
    }
  }

  #nextPath(): string {
    this.#directory ??= mkdtempSync(join(this.#baseDirectory, 'leadpipe-dedupe-'));
    const path = join(this.#directory, `run-${this.#files}.bin`);
    this.#files += 1;
    return path;
  }

  /** One sorted run from two; where both hold a key, the newer run's value wins. */
  #merge(older: Run, newer: Run): Run {
    const writer = new RunWriter(this.#nextPath());
    const a = new RunReader(older);
    const b = new RunReader(newer);
    while (!a.done || !b.done) {
      const order = a.done ? 1 : b.done ? -1 : compare(a.high, a.low, b.high, b.low);
      if (order < 0) {
        writer.add(a.high, a.low, a.value);
        a.advance();
      } else {
        writer.add(b.high, b.low, b.value);
        if (order === 0) a.advance();
        b.advance();
      }
    }
    const merged = writer.finish(Math.max(older.level, newer.level) + 1);
    for (const run of [older, newer]) {
      closeSync(run.fd);
      unlinkSync(run.path);
    }
    return merged;
  }

  #find(run: Run, key: Hash64): number | undefined {
    // The last block whose first key is at or before `key`.
    let lowest = 0;
    let highest = run.fenceHigh.length - 1;
    let block = -1;
    while (lowest <= highest) {
      const middle = (lowest + highest) >>> 1;
      if (compare(run.fenceHigh[middle]!, run.fenceLow[middle]!, key.high, key.low) <= 0) {
        block = middle;
        lowest = middle + 1;
      } else {
        highest = middle - 1;
      }
    }
    if (block < 0) return undefined;
    const first = block * BLOCK_ENTRIES;
    const entries = Math.min(BLOCK_ENTRIES, run.count - first);
    readFully(run.fd, this.#block, entries * ENTRY_BYTES, first * ENTRY_BYTES);
    this.#diskReads += 1;
    lowest = 0;
    highest = entries - 1;
    while (lowest <= highest) {
      const middle = (lowest + highest) >>> 1;
      const offset = middle * ENTRY_BYTES;
      const order = compare(
        this.#block.readUInt32BE(offset),
        this.#block.readUInt32BE(offset + 4),
        key.high,
        key.low,
      );
      if (order === 0) return this.#block.readDoubleBE(offset + 8);
      if (order < 0) lowest = middle + 1;
      else highest = middle - 1;
    }
    return undefined;
  }
}

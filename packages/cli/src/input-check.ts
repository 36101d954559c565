import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';

/**
 * What a run records about its input beside the checkpoint, so that a
 * `--resume` can tell whether the input changed since: its size and
 * modification time (the quick check), a SHA-256 of the whole file, and a
 * 32-bit hash of each line (in `<checkpoint>.input.lines`, 4 bytes a line),
 * to name the first line that changed.
 */
interface InputRecord {
  readonly size: number;
  readonly mtimeMs: number;
  readonly sha256: string;
  readonly lines: number;
}

/** What {@link checkInput} found. */
export type InputCheck =
  | {
      /** The input is the one the checkpoint was written for. */
      readonly kind: 'same';
      /** The input's SHA-256: the fingerprint to give the pipeline. */
      readonly fingerprint: string;
    }
  | {
      /** The input changed since the checkpoint was written. */
      readonly kind: 'changed';
      /** The first line (1-based, the header is line 1) that differs. */
      readonly line: number;
    }
  | {
      /** Nothing was recorded (a checkpoint of an older version): the pipeline's own fingerprint decides. */
      readonly kind: 'unknown';
    };

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

interface Scan extends InputRecord {
  /** The first line whose hash differs from `expected`'s, when one was given. */
  readonly firstChanged: number | undefined;
  /** Each line's hash, when asked to keep them. */
  readonly hashes: Buffer | undefined;
}

/**
 * Read the file once: its SHA-256 and a FNV-1a hash per line, compared as it
 * streams with `expected` (the recorded hashes) or kept to be written.
 */
async function scan(path: string, expected: Buffer | undefined, keep: boolean): Promise<Scan> {
  const info = await stat(path);
  const sha = createHash('sha256');
  const kept: Buffer[] = [];
  let block = Buffer.alloc(4 * 16_384);
  let inBlock = 0;
  let lines = 0;
  let hash = FNV_OFFSET;
  let open = false;
  let firstChanged: number | undefined;
  const endLine = (): void => {
    lines += 1;
    const value = hash >>> 0;
    if (firstChanged === undefined && expected !== undefined) {
      const offset = (lines - 1) * 4;
      if (offset + 4 > expected.length || expected.readUInt32LE(offset) !== value) firstChanged = lines;
    }
    if (keep) {
      block.writeUInt32LE(value, inBlock * 4);
      inBlock += 1;
      if (inBlock * 4 === block.length) {
        kept.push(block);
        block = Buffer.alloc(block.length);
        inBlock = 0;
      }
    }
    hash = FNV_OFFSET;
    open = false;
  };
  for await (const chunk of createReadStream(path)) {
    const bytes = chunk as Buffer;
    sha.update(bytes);
    for (let index = 0; index < bytes.length; index++) {
      const byte = bytes[index] as number;
      if (byte === 10) {
        endLine();
        continue;
      }
      open = true;
      hash = Math.imul(hash ^ byte, FNV_PRIME);
    }
  }
  if (open) endLine();
  if (keep && inBlock > 0) kept.push(block.subarray(0, inBlock * 4));
  if (firstChanged === undefined && expected !== undefined && expected.length > lines * 4) {
    firstChanged = lines + 1;
  }
  return {
    size: info.size,
    mtimeMs: info.mtimeMs,
    sha256: sha.digest('hex'),
    lines,
    firstChanged,
    hashes: keep ? Buffer.concat(kept) : undefined,
  };
}

function recordPath(checkpoint: string): string {
  return `${checkpoint}.input`;
}

function linesPath(checkpoint: string): string {
  return `${checkpoint}.input.lines`;
}

/**
 * Record the input of a run that starts from the first row, beside its
 * checkpoint; returns its SHA-256, the fingerprint to give the pipeline.
 * One pass over the file's bytes (no CSV parsing).
 */
export async function recordInput(input: string, checkpoint: string): Promise<string> {
  const result = await scan(input, undefined, true);
  await writeFile(linesPath(checkpoint), result.hashes ?? Buffer.alloc(0));
  const record: InputRecord = {
    size: result.size,
    mtimeMs: result.mtimeMs,
    sha256: result.sha256,
    lines: result.lines,
  };
  await writeFile(recordPath(checkpoint), `${JSON.stringify(record)}\n`);
  return result.sha256;
}

/**
 * Whether `input` is still the file the checkpoint's run read: the same
 * size and modification time, or else the same SHA-256 over every byte
 * (a file touched but not changed). When it changed, the first line that
 * differs (a change anywhere is found, not only in the first rows).
 */
export async function checkInput(input: string, checkpoint: string): Promise<InputCheck> {
  let record: InputRecord;
  try {
    record = JSON.parse(await readFile(recordPath(checkpoint), 'utf8')) as InputRecord;
  } catch {
    return { kind: 'unknown' };
  }
  if (typeof record.sha256 !== 'string' || typeof record.size !== 'number') return { kind: 'unknown' };
  const info = await stat(input);
  if (info.size === record.size && info.mtimeMs === record.mtimeMs) {
    return { kind: 'same', fingerprint: record.sha256 };
  }
  let expected: Buffer | undefined;
  try {
    expected = await readFile(linesPath(checkpoint));
  } catch {
    expected = undefined;
  }
  const result = await scan(input, expected, false);
  if (result.sha256 === record.sha256) return { kind: 'same', fingerprint: record.sha256 };
  return { kind: 'changed', line: result.firstChanged ?? 1 };
}

/** Remove what {@link recordInput} wrote. */
export async function forgetInput(checkpoint: string): Promise<void> {
  await rm(recordPath(checkpoint), { force: true });
  await rm(linesPath(checkpoint), { force: true });
}

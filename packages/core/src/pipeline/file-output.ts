/** Files and streams the pipeline's writers write to: opening, drain-aware text writes, positions, cut-back. */
import { createWriteStream, statSync, truncateSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { ValidationError } from '../contracts/errors.js';

/** A file a resumed run cuts back to where the checkpoint says it ended (see `LeadSink.resumeAt`). */
export interface ResumableFile {
  position(): number;
  resumeAt(position: number): Promise<void>;
}

function isWritable(value: unknown): value is Writable {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Writable).write === 'function' &&
    typeof (value as Writable).end === 'function'
  );
}

/** An output opened for writing. */
export interface Output {
  readonly stream: Writable;
  readonly owned: boolean;
  readonly empty: boolean;
  /** The file's path, when the output is a file this sink opened. */
  readonly path: string | undefined;
  /** Its size when opened. */
  readonly size: number;
}

/** Open a file (replacing it, or appending with `append`) or take a writable stream. */
export function openOutput(output: string | Writable, append: boolean): Output {
  if (typeof output === 'string') {
    let size = 0;
    if (append) {
      try {
        size = statSync(output).size;
      } catch {
        size = 0;
      }
    }
    return {
      stream: createWriteStream(output, { flags: append ? 'a' : 'w' }),
      owned: true,
      empty: size === 0,
      path: output,
      size,
    };
  }
  if (isWritable(output)) return { stream: output, owned: false, empty: true, path: undefined, size: 0 };
  throw new ValidationError([{ field: 'output', reason: 'must be a file path or a writable stream' }]);
}

/** Writes text to a stream, waiting for `drain`, and tells when everything is written. */
export class TextWriter {
  readonly #stream: Writable;
  #last: Promise<void> = Promise.resolve();
  #failure: unknown;
  /** Bytes handed to the stream. */
  written = 0;

  constructor(stream: Writable) {
    this.#stream = stream;
    stream.on('error', (error) => {
      this.#failure ??= error;
    });
  }

  async write(text: string): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure;
    if (text === '') return;
    this.written += Buffer.byteLength(text);
    this.#last = new Promise<void>((resolve, reject) => {
      this.#stream.write(text, (error) => (error ? reject(error) : resolve()));
    });
    this.#last.catch(() => undefined);
    if (this.#stream.writableNeedDrain) {
      await new Promise<void>((resolve) => this.#stream.once('drain', resolve));
    }
  }

  async settle(): Promise<void> {
    await this.#last;
    if (this.#failure !== undefined) throw this.#failure;
  }

  async end(owned: boolean): Promise<void> {
    await this.settle();
    if (!owned) return;
    await new Promise<void>((resolve, reject) => {
      this.#stream.once('error', reject);
      this.#stream.end(() => resolve());
    });
  }
}

/**
 * Position and cut-back of a file output (see `LeadSink.resumeAt`):
 * `undefined` for a stream. `onCut` is told the new size.
 */
export function resumableFile(
  opened: Output,
  writer: TextWriter,
  onCut: (size: number) => void,
): ResumableFile | undefined {
  const path = opened.path;
  if (path === undefined) return undefined;
  let base = opened.size;
  return {
    position: () => base + writer.written,
    async resumeAt(position) {
      if (!Number.isInteger(position) || position < 0) {
        throw new ValidationError([
          { field: 'position', reason: `must be a whole number of bytes, got ${position}` },
        ]);
      }
      if (writer.written > 0) {
        throw new ValidationError([
          { field: 'output', reason: 'cannot be cut back after rows were written' },
        ]);
      }
      let size = 0;
      try {
        size = statSync(path).size;
      } catch {
        size = 0;
      }
      if (size < position) {
        throw new ValidationError([
          {
            field: 'output',
            reason: `${path} has ${size} bytes, fewer than the ${position} the checkpoint covers: it was changed or replaced since; run without resume to start over`,
          },
        ]);
      }
      if (size > position) truncateSync(path, position);
      base = position;
      onCut(position);
    },
  };
}

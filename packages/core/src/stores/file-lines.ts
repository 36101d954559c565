import type { FileHandle } from 'node:fs/promises';

/** Runs file operations one at a time, in the order they were queued. */
export class Serial {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(task, task);
    this.#tail = next.catch(() => undefined);
    return next;
  }
}

/** One complete line of a file, without its newline. */
export interface FileLine {
  /** Byte offset of the line's first byte. */
  readonly offset: number;
  /** Byte offset just past the line's newline: where the next line starts. */
  readonly next: number;
  /** The line, decoded as UTF-8. */
  readonly text: string;
}

/**
 * The complete (newline-terminated) lines of `file` from byte `start`, which
 * must be the start of a line, up to byte `end`, read `chunkBytes` at a time.
 * A last line without its newline (torn, or still being written) is not
 * yielded. Only the line being assembled is held in memory; it is decoded
 * once whole, so characters split between chunks survive.
 */
export async function* readLines(
  file: FileHandle,
  start: number,
  end = Number.POSITIVE_INFINITY,
  chunkBytes = 65_536,
): AsyncGenerator<FileLine> {
  const chunk = Buffer.alloc(chunkBytes);
  let pending: Buffer[] = [];
  let lineStart = start;
  let position = start;
  while (position < end) {
    const { bytesRead } = await file.read(chunk, 0, Math.min(chunkBytes, end - position), position);
    if (bytesRead === 0) return;
    const view = chunk.subarray(0, bytesRead);
    let from = 0;
    for (let newline = view.indexOf(10); newline >= 0; newline = view.indexOf(10, from)) {
      const piece = view.subarray(from, newline);
      const bytes = pending.length > 0 ? Buffer.concat([...pending, piece]) : piece;
      pending = [];
      const next = position + newline + 1;
      yield { offset: lineStart, next, text: bytes.toString('utf8') };
      lineStart = next;
      from = newline + 1;
    }
    // `chunk` is read into again: keep a copy of the unfinished line.
    if (from < bytesRead) pending.push(Buffer.from(view.subarray(from)));
    position += bytesRead;
  }
}

/** The line of `file` starting at byte `offset`, or `undefined` when the file ends before its newline. */
export async function readLineAt(file: FileHandle, offset: number): Promise<string | undefined> {
  for await (const line of readLines(file, offset, Number.POSITIVE_INFINITY, 4096)) return line.text;
  return undefined;
}

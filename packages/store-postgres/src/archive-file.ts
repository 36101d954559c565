import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Lead } from '@leadpipe/core/adapter-kit';

/**
 * One line of an NDJSON archive file: a lead `retain` moved out of the
 * store, with its identity, its last update and when it was archived.
 */
export interface ArchivedLeadLine {
  /** Id of the lead. */
  readonly id: string;
  /** Its identity key (`email:…`, `domain:…`). */
  readonly identity: string;
  /** ISO 8601 time of its last update (what `purgeAfterDays` measures). */
  readonly updatedAt: string;
  /** ISO 8601 time it was archived. */
  readonly archivedAt: string;
  /** The whole lead, provenance and custom fields included. */
  readonly lead: Lead;
}

/** Append lines to the archive file and flush them to disk before resolving. */
export async function appendArchiveLines(path: string, entries: readonly ArchivedLeadLine[]): Promise<void> {
  if (entries.length === 0) return;
  const handle = await open(path, 'a', 0o600);
  try {
    await handle.appendFile(entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** Every entry of the archive file, in file order; nothing when the file does not exist. */
export async function* readArchiveFile(path: string): AsyncGenerator<ArchivedLeadLine> {
  const input = createReadStream(path, { encoding: 'utf8' });
  const missing = await new Promise<boolean>((resolve) => {
    input.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ENOENT'));
    input.once('readable', () => resolve(false));
  });
  if (missing) return;
  for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    if (line.trim() !== '') yield JSON.parse(line) as ArchivedLeadLine;
  }
}

/**
 * Rewrite the archive file without the entries `drop` selects: written to a
 * temporary file beside it, flushed, then renamed over it (a crash leaves
 * the old file or the new one, never half of one). Resolves with the number
 * of entries dropped.
 */
export async function dropFromArchiveFile(
  path: string,
  drop: (entry: ArchivedLeadLine) => boolean,
): Promise<number> {
  const temporary = `${path}.${process.pid}.tmp`;
  const output = createWriteStream(temporary, { mode: 0o600 });
  let dropped = 0;
  try {
    for await (const entry of readArchiveFile(path)) {
      if (drop(entry)) {
        dropped += 1;
        continue;
      }
      if (!output.write(`${JSON.stringify(entry)}\n`)) await once(output, 'drain');
    }
    output.end();
    await once(output, 'finish');
    if (dropped === 0) {
      await rm(temporary, { force: true });
      return 0;
    }
    const handle = await open(temporary, 'r');
    await handle.datasync();
    await handle.close();
    await rename(temporary, path);
    return dropped;
  } catch (error) {
    output.destroy();
    await rm(temporary, { force: true });
    throw error;
  }
}

import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ConfigurationError } from '../contracts/errors.js';
import { isSourceRow } from './source.js';
import type { PipelineSource } from './types.js';

function notASource(): ConfigurationError {
  return new ConfigurationError('invalid_configuration', {
    issues: [
      {
        field: 'source',
        reason: 'must be an array, an iterable, an async iterable or a readable stream of rows',
      },
    ],
    message: 'run: source must be an array, an iterable, an async iterable or a readable stream of rows',
  });
}

/** An iterator over any {@link PipelineSource}; a `ConfigurationError` for anything else. */
export function iteratorOf(source: PipelineSource): AsyncIterator<unknown> | Iterator<unknown> {
  if (typeof source !== 'object' || source === null) {
    throw notASource();
  }
  if (Symbol.asyncIterator in source) return (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  if (Symbol.iterator in source) return (source as Iterable<unknown>)[Symbol.iterator]();
  if (typeof (source as NodeJS.ReadableStream).pipe === 'function') {
    return new Readable({ objectMode: true }).wrap(source as NodeJS.ReadableStream)[Symbol.asyncIterator]();
  }
  throw notASource();
}

/** The default input fingerprint: a SHA-256 of the given first rows' values. */
export function fingerprintOf(rows: readonly unknown[]): string {
  const hash = createHash('sha256');
  for (const row of rows) {
    const values = isSourceRow(row) ? row.values : row;
    let text: string;
    try {
      text = JSON.stringify(values) ?? String(values);
    } catch {
      text = String(values);
    }
    hash.update(text);
    hash.update('\n');
  }
  return `rows-sha256:${hash.digest('hex')}`;
}

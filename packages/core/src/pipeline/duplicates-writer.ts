import type { Writable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import { ValidationError } from '../contracts/errors.js';
import { openOutput, resumableFile, TextWriter } from './file-output.js';
import type { RowFileWriter } from './sinks.js';

/** A row folded into an earlier row with the same identity, as the duplicates sink receives it. */
export interface MergedRow {
  /** The duplicate row's 1-based number in the input. */
  readonly rowNumber: number;
  /** The row it was folded into: the first row with the same identity. */
  readonly duplicateOf: number;
  /** The duplicate row's input values, by column. */
  readonly values: Readonly<Record<string, unknown>>;
  /** The input's columns, in order. */
  readonly columns: readonly string[];
}

/** Where the pipeline says which rows it merged as duplicates. Awaited, so it can apply backpressure. */
export type DuplicateSink = (row: MergedRow) => void | Promise<void>;

/** Options of {@link createDuplicatesWriter}. */
export interface DuplicatesWriterOptions {
  /** `csv` (default) or `ndjson`. */
  readonly format?: 'csv' | 'ndjson';
  /** Append to an existing file (a resumed run). A CSV header is written only when the file is new or empty. Paths only. */
  readonly append?: boolean;
  /** CSV field delimiter. Default `,`. */
  readonly delimiter?: string;
  /** Neutralise spreadsheet formulas in CSV cells, as the CSV writers do. Default `true`. */
  readonly escapeFormulas?: boolean;
}

/** A file of the rows merged as duplicates; pass `write` (a {@link DuplicateSink}) as the pipeline's `duplicates` option. */
export type DuplicatesWriter = RowFileWriter<DuplicateSink>;

const MERGE_COLUMNS = ['leadpipe_row', 'leadpipe_duplicate_of'] as const;

function cell(value: unknown): string | number | boolean {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return JSON.stringify(value);
}

/**
 * A file naming every row the pipeline merged as a duplicate, all of them
 * (the report lists none): `leadpipe_row` (the duplicate) and
 * `leadpipe_duplicate_of` (the first row with the same identity, the one
 * enriched, synced and written out), then the duplicate's input values. In
 * CSV the input columns are those of the first merged row (NDJSON keeps
 * every key). Passed to the pipeline as `duplicates`, a resumed run cuts
 * it back to what the checkpoint covers, so no row is in it twice.
 *
 * @example
 * ```ts
 * const duplicates = createDuplicatesWriter('leads.duplicates.csv');
 * const pipeline = createLeadPipeline({ enrichment, duplicates });
 * try {
 *   await pipeline.run(readCsv('leads.csv'));
 * } finally {
 *   await duplicates.close();
 * }
 * ```
 */
export function createDuplicatesWriter(
  output: string | Writable,
  options: DuplicatesWriterOptions = {},
): DuplicatesWriter {
  const format = options.format ?? 'csv';
  if (format !== 'csv' && format !== 'ndjson') {
    throw new ValidationError([{ field: 'format', reason: 'must be "csv" or "ndjson"' }]);
  }
  const opened = openOutput(output, options.append === true);
  const writer = new TextWriter(opened.stream);
  let empty = opened.empty;
  const file = resumableFile(opened, writer, (size) => {
    empty = size === 0;
  });
  const stringifyOptions = {
    delimiter: options.delimiter ?? ',',
    escape_formulas: options.escapeFormulas ?? true,
  };
  const merged: ReadonlySet<string> = new Set(MERGE_COLUMNS);
  let input: readonly string[] | undefined;
  let written = 0;
  let closed = false;

  function csvLine(row: MergedRow): string {
    let text = '';
    if (input === undefined) {
      input = row.columns.filter((column) => !merged.has(column));
      if (empty) text += stringify([[...MERGE_COLUMNS, ...input]], stringifyOptions);
    }
    const cells = [
      row.rowNumber,
      row.duplicateOf,
      ...input.map((column) => cell(Object.hasOwn(row.values, column) ? row.values[column] : undefined)),
    ];
    return text + stringify([cells], stringifyOptions);
  }

  function ndjsonLine(row: MergedRow): string {
    const object: Record<string, unknown> = Object.create(null);
    object.leadpipe_row = row.rowNumber;
    object.leadpipe_duplicate_of = row.duplicateOf;
    for (const [column, value] of Object.entries(row.values)) if (!merged.has(column)) object[column] = value;
    return `${JSON.stringify(object)}\n`;
  }

  return {
    write: async (row) => {
      if (closed) throw new ValidationError([{ field: 'duplicates', reason: 'is closed' }]);
      await writer.write(format === 'csv' ? csvLine(row) : ndjsonLine(row));
      written += 1;
    },
    get written() {
      return written;
    },
    flush: () => writer.settle(),
    async close() {
      if (closed) return;
      closed = true;
      await writer.end(opened.owned);
    },
    ...file,
  };
}

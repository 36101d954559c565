import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { ValidationError, type ValidationIssue } from '../contracts/errors.js';

const sourceRowMarker = Symbol.for('leadpipe.pipeline.SourceRow');

/**
 * One row read from a file, with where it came from. The readers
 * ({@link readCsv}, {@link readNdjson}) yield these; plain objects given to
 * the pipeline are numbered in order instead.
 */
export interface SourceRow {
  /** 1-based number of the data row (the CSV header is not counted). */
  readonly rowNumber: number;
  /**
   * Line of the file the row ends on, as the parser counts (rows with quoted
   * line breaks span several; csv-parse counts a CRLF inside quotes as two).
   */
  readonly line: number;
  /** Values by column, in the input's column order. */
  readonly values: Readonly<Record<string, unknown>>;
  /** The input's columns, in order (shared by every row of a CSV file). */
  readonly columns: readonly string[];
  /** Why the row could not be read (wrong number of fields, invalid JSON); such a row is rejected. */
  readonly issues?: readonly ValidationIssue[];
}

/** Make a {@link SourceRow} (marked, so the pipeline can tell it from a plain row object). */
export function createSourceRow(row: SourceRow): SourceRow {
  const marked = { ...row };
  Object.defineProperty(marked, sourceRowMarker, { value: true, enumerable: false });
  return marked;
}

/** Whether `value` was made by {@link createSourceRow}. */
export function isSourceRow(value: unknown): value is SourceRow {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[sourceRowMarker] === true
  );
}

/** Options of {@link readCsv}. */
export interface ReadCsvOptions {
  /** Field delimiter. Default: `,`. */
  readonly delimiter?: string;
  /** Text encoding of the file. Default `utf8` (a BOM is removed). */
  readonly encoding?: BufferEncoding;
}

function openInput(input: string | NodeJS.ReadableStream, encoding: BufferEncoding): NodeJS.ReadableStream {
  if (typeof input === 'string') return createReadStream(input, { encoding });
  if (typeof input === 'object' && input !== null && typeof input.pipe === 'function') return input;
  throw new ValidationError([{ field: 'input', reason: 'must be a file path or a readable stream' }]);
}

function headerNames(record: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return record.map((raw, index) => {
    const base = raw.trim() === '' ? `column_${index + 1}` : raw.trim();
    const count = (seen.get(base) ?? 0) + 1;
    seen.set(base, count);
    return count === 1 ? base : `${base}_${count}`;
  });
}

/**
 * Read a CSV file (or stream) row by row with csv-parse, streaming: the file
 * is read only as fast as rows are taken. The first record is the header
 * (names trimmed; blank names become `column_<n>`, repeated ones get `_2`,
 * `_3`). Handles a UTF-8 BOM, CRLF or LF line ends, quoted fields with
 * delimiters, quotes and line breaks inside, and blank lines (skipped).
 *
 * A row with more or fewer fields than the header is yielded with `issues`
 * (the pipeline rejects it with its row number and goes on). Text that
 * cannot be parsed at all (an unclosed quote at the end of the file) makes
 * iteration throw a `ValidationError` on the field `input` naming the line.
 */
export async function* readCsv(
  input: string | NodeJS.ReadableStream,
  options: ReadCsvOptions = {},
): AsyncGenerator<SourceRow, void, undefined> {
  const stream = openInput(input, options.encoding ?? 'utf8');
  const parser = parse({
    bom: true,
    delimiter: options.delimiter ?? ',',
    skip_empty_lines: true,
    relax_column_count: true,
    relax_quotes: true,
    info: true,
  });
  const source = stream as Readable;
  source.on('error', (error) => parser.destroy(error));
  source.pipe(parser);
  let columns: string[] | undefined;
  let rowNumber = 0;
  try {
    for await (const chunk of parser) {
      const { record, info } = chunk as { record: string[]; info: { lines: number } };
      if (columns === undefined) {
        columns = headerNames(record);
        continue;
      }
      rowNumber += 1;
      const values: Record<string, unknown> = {};
      const count = Math.min(record.length, columns.length);
      for (let index = 0; index < count; index++) values[columns[index] as string] = record[index];
      const issues =
        record.length === columns.length
          ? undefined
          : [
              {
                field: 'row',
                reason: `has ${record.length} fields but the header has ${columns.length}`,
              },
            ];
      yield createSourceRow({ rowNumber, line: info.lines, values, columns, ...(issues ? { issues } : {}) });
    }
  } catch (error) {
    if (ValidationError.isInstance(error)) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new ValidationError([{ field: 'input', reason: `is not readable CSV: ${message}` }], {
      cause: error,
    });
  } finally {
    source.unpipe(parser);
    parser.destroy();
    if (typeof input === 'string') source.destroy();
  }
}

/** Options of {@link readNdjson}. */
export interface ReadNdjsonOptions {
  /** Text encoding of the file. Default `utf8` (a BOM is removed). */
  readonly encoding?: BufferEncoding;
}

/**
 * Read newline-delimited JSON (one object per line), streaming. CRLF line
 * ends and a BOM are accepted; blank lines are skipped. A line that is not a
 * JSON object is yielded with `issues` (the pipeline rejects it with its row
 * number and goes on). Columns are the keys of each object.
 */
export async function* readNdjson(
  input: string | NodeJS.ReadableStream,
  options: ReadNdjsonOptions = {},
): AsyncGenerator<SourceRow, void, undefined> {
  const stream = openInput(input, options.encoding ?? 'utf8');
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  let rowNumber = 0;
  try {
    for await (const raw of lines) {
      line += 1;
      const text = (line === 1 ? raw.replace(/^\uFEFF/, '') : raw).trim();
      if (text === '') continue;
      rowNumber += 1;
      let parsed: unknown;
      let reason: string | undefined;
      try {
        parsed = JSON.parse(text);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
          reason = 'is not a JSON object';
        }
      } catch (error) {
        reason = `is not valid JSON: ${error instanceof Error ? error.message : String(error)}`;
      }
      if (reason !== undefined) {
        yield createSourceRow({
          rowNumber,
          line,
          values: {},
          columns: [],
          issues: [{ field: 'row', reason }],
        });
        continue;
      }
      const values = parsed as Record<string, unknown>;
      yield createSourceRow({ rowNumber, line, values, columns: Object.keys(values) });
    }
  } finally {
    lines.close();
    if (typeof input === 'string') (stream as Readable).destroy();
  }
}

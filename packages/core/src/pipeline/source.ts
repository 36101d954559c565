import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { ConfigurationError, ValidationError, type ValidationIssue } from '../contracts/errors.js';
import { parseOptions } from '../options/parse-options.js';
import {
  type CsvRecord,
  CsvRecordSplitter,
  DEFAULT_MAX_RECORD_SIZE,
  detectDelimiter,
  headerNames,
} from './csv-records.js';
import { decodeText } from './text-decoding.js';

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
   * 1-based line of the file the row ends on (a row with quoted line breaks
   * spans several; LF, CRLF and CR each end a line). A row that could not be
   * read is on the line it starts on.
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

/** Options of {@link readCsv} and {@link readCsvHeader}. */
export interface ReadCsvOptions {
  /**
   * Field delimiter, one character. Default: found from the header line,
   * the most frequent of comma, tab and semicolon (a comma if none).
   */
  readonly delimiter?: string;
  /**
   * Text encoding of a file without a byte order mark. Default `utf8`. A
   * byte order mark always wins: UTF-8, UTF-16 LE and UTF-16 BE are decoded
   * (and the mark removed), UTF-32 is refused.
   */
  readonly encoding?: BufferEncoding;
  /**
   * Longest record, in characters. Default 1,048,576 (1 MiB of ASCII). A
   * longer record (an unclosed quote, most likely) is rejected on the line it
   * starts on, and reading goes on at the next line, so memory stays bounded.
   */
  readonly maxRecordSize?: number;
}

/** The header of a CSV file, as {@link readCsvHeader} reads it. */
export interface CsvHeader {
  /** Column names, as rows of {@link readCsv} have them (trimmed, blank and repeated names made unique). */
  readonly columns: readonly string[];
  /** The field delimiter: the one given, or the one found from the header line. */
  readonly delimiter: string;
  /** 1-based line the header ends on. */
  readonly line: number;
}

const readCsvOptionsSchema = z
  .object({
    delimiter: z
      .string()
      .length(1, 'must be one character')
      .refine((value) => !/["\r\n]/.test(value), 'must not be a quote or a line break')
      .optional(),
    encoding: z
      .string()
      .refine(
        (value) => Buffer.isEncoding(value),
        'must be a Node.js buffer encoding (utf8, utf16le, latin1...)',
      )
      .optional(),
    maxRecordSize: z.number().int('must be a whole number').positive('must be positive').optional(),
  })
  .strict();

function openInput(input: string | NodeJS.ReadableStream, encoding: BufferEncoding): NodeJS.ReadableStream {
  if (typeof input === 'string') return createReadStream(input, { encoding });
  if (typeof input === 'object' && input !== null && typeof input.pipe === 'function') return input;
  throw new ValidationError([{ field: 'input', reason: 'must be a file path or a readable stream' }]);
}

function openBytes(input: string | NodeJS.ReadableStream): {
  readonly stream: Readable;
  readonly owned: boolean;
} {
  if (typeof input === 'string') return { stream: createReadStream(input), owned: true };
  if (input instanceof Readable) return { stream: input, owned: false };
  if (typeof input === 'object' && input !== null && typeof input.pipe === 'function') {
    return { stream: new Readable({ objectMode: true }).wrap(input), owned: false };
  }
  throw new ValidationError([{ field: 'input', reason: 'must be a file path or a readable stream' }]);
}

/** A file system error in words, without the path (the caller knows it). */
function unreadable(error: unknown): ValidationError {
  const code = (error as { code?: unknown } | null)?.code;
  const reason =
    code === 'EISDIR'
      ? 'is a directory, not a file'
      : code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES' || code === 'EPERM'
          ? 'cannot be read: permission denied'
          : `is not readable CSV: ${error instanceof Error ? error.message : String(error)}`;
  return new ValidationError([{ field: 'input', reason }], { cause: error });
}

type CsvEvent = ({ readonly kind: 'header' } & CsvHeader) | CsvRecord;

/** Text before the first line, for delimiter detection: a BOM and blank lines are not a header. */
const LEADING_BLANK = /^\uFEFF?[\r\n]*/;

/** The header, then every record or malformed line of a CSV input. */
async function* csvEvents(
  input: string | NodeJS.ReadableStream,
  options: ReadCsvOptions,
): AsyncGenerator<CsvEvent, void, undefined> {
  const checked = parseOptions(readCsvOptionsSchema, options, { name: 'readCsv' });
  const maxRecordSize = checked.maxRecordSize ?? DEFAULT_MAX_RECORD_SIZE;
  const { stream, owned } = openBytes(input);
  const chunks = stream.iterator({ destroyOnReturn: owned }) as AsyncIterable<Buffer | string>;
  let splitter: CsvRecordSplitter | undefined;
  let delimiter = ',';
  let held = '';
  let header = false;

  function open(text: string): CsvRecordSplitter {
    delimiter = checked.delimiter ?? detectDelimiter(text.replace(LEADING_BLANK, ''));
    return new CsvRecordSplitter({ delimiter, maxRecordSize });
  }

  function* take(records: CsvRecord[]): Generator<CsvEvent, void, undefined> {
    for (const record of records) {
      if (header) {
        yield record;
        continue;
      }
      if (record.kind === 'malformed') {
        throw new ValidationError([
          {
            field: 'input',
            reason: `has a header (line ${record.line}) that cannot be read: ${record.reason}`,
          },
        ]);
      }
      header = true;
      const columns = headerNames(record.fields);
      yield { kind: 'header', columns, delimiter, line: record.line };
    }
  }

  try {
    for await (const text of decodeText(chunks, checked.encoding as BufferEncoding | undefined)) {
      if (splitter === undefined) {
        // Hold text until the first line is complete, to find the delimiter from it.
        held += text;
        const body = held.replace(LEADING_BLANK, '');
        if (!/[\r\n]/.test(body) && held.length < maxRecordSize) continue;
        splitter = open(held);
        const first = held;
        held = '';
        yield* take(splitter.push(first));
        continue;
      }
      yield* take(splitter.push(text));
    }
    if (splitter === undefined) {
      splitter = open(held);
      yield* take(splitter.push(held));
    }
    yield* take(splitter.end());
  } catch (error) {
    if (ValidationError.isInstance(error) || ConfigurationError.isInstance(error)) throw error;
    throw unreadable(error);
  } finally {
    if (owned) stream.destroy();
  }
}

/**
 * Read a CSV file (or stream) row by row, streaming: the file is read only
 * as fast as rows are taken, and memory is bounded by the longest record
 * (see {@link ReadCsvOptions.maxRecordSize}). The first record is the header
 * (names trimmed; a blank name becomes `column_<n>`, a repeated one `_2`,
 * `_3`..., never a name the header already has). The delimiter is found from
 * the header line (comma, tab or semicolon) unless given. Handles a byte order
 * mark (UTF-8, UTF-16 LE/BE), CRLF, LF or CR line ends, quoted fields with
 * delimiters, quotes and line breaks inside, and blank lines (skipped).
 * `values` of each row is an object without a prototype, so headers such as
 * `constructor` or `__proto__` are ordinary columns.
 *
 * Quotes are read strictly and nothing is guessed: a line that cannot be read
 * (a closing quote followed by other text, a quote never closed, a record
 * longer than `maxRecordSize`, a quoted field running over several lines
 * into a record with the wrong number of fields) is yielded as a row with
 * `issues` and no values, on the line it starts on, and reading goes on at
 * the next line: the lines a stray quote would have swallowed are read as
 * rows of their own. A row with more or fewer fields than the header is
 * yielded with `issues` too. The pipeline rejects such rows with their row
 * and line numbers and goes on. Row numbers count every row read or
 * rejected, consecutively.
 *
 * Iteration throws a `ValidationError` on the field `input` when the file
 * cannot be read at all: it does not exist or is a directory, its header
 * cannot be read, or its encoding is not one read here (UTF-32, or NUL bytes
 * in a file without a byte order mark). Invalid options throw a
 * `ConfigurationError`.
 */
export async function* readCsv(
  input: string | NodeJS.ReadableStream,
  options: ReadCsvOptions = {},
): AsyncGenerator<SourceRow, void, undefined> {
  let columns: readonly string[] = [];
  let rowNumber = 0;
  for await (const event of csvEvents(input, options)) {
    if (event.kind === 'header') {
      columns = event.columns;
      continue;
    }
    rowNumber += 1;
    const values: Record<string, unknown> = Object.create(null);
    if (event.kind === 'malformed') {
      yield createSourceRow({
        rowNumber,
        line: event.line,
        values,
        columns,
        issues: [{ field: 'row', reason: `cannot be read: ${event.reason}` }],
      });
      continue;
    }
    const record = event.fields;
    const count = Math.min(record.length, columns.length);
    for (let index = 0; index < count; index++) values[columns[index] as string] = record[index];
    const issues =
      record.length === columns.length
        ? undefined
        : [{ field: 'row', reason: `has ${record.length} fields but the header has ${columns.length}` }];
    yield createSourceRow({ rowNumber, line: event.line, values, columns, ...(issues ? { issues } : {}) });
  }
}

/**
 * Read only the header of a CSV file (or stream): its columns as
 * {@link readCsv} names them, and the delimiter. `undefined` when the file
 * holds no record at all (empty, or blank lines only). Throws as `readCsv`
 * does. Useful to check a file before a run writes anything (see
 * `checkIdentityColumns`), or to write an output header for a file with no
 * rows.
 */
export async function readCsvHeader(
  input: string | NodeJS.ReadableStream,
  options: ReadCsvOptions = {},
): Promise<CsvHeader | undefined> {
  for await (const event of csvEvents(input, options)) {
    if (event.kind === 'header')
      return { columns: event.columns, delimiter: event.delimiter, line: event.line };
  }
  return undefined;
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

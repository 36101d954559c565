import type { Writable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import { ValidationError } from '../contracts/errors.js';
import { isLeadField, type LeadField } from '../contracts/fields.js';
import type { Lead } from '../contracts/lead.js';
import { getLeadField } from '../lead/index.js';
import { type ColumnMapping, createColumnResolver } from './columns.js';
import { openOutput, resumableFile, TextWriter } from './file-output.js';
import type { RejectedRow, RejectSink } from './report.js';

/** One finished lead, as the pipeline hands it to a {@link LeadSink}. */
export interface SinkEntry {
  /** The row's 1-based number in the input. */
  readonly rowNumber: number;
  /** The input row's values, by column. */
  readonly values: Readonly<Record<string, unknown>>;
  /** The input's columns, in order. */
  readonly columns: readonly string[];
  /** The validated, normalized and enriched lead. */
  readonly lead: Lead;
  /** The fields the pipeline was asked to fill (the enriched columns to write). */
  readonly fields: readonly LeadField[];
}

/**
 * Where finished leads go, one call per lead that ends `done` (duplicates
 * excepted: they are folded into their first row). The pipeline awaits
 * every `write` (that is its backpressure), calls `flush` before it records
 * a checkpoint (so a checkpointed row is in the output), and `close` once
 * when the run ends, whether it completed or not.
 */
export interface LeadSink {
  /** Write one lead. */
  write(entry: SinkEntry): void | Promise<void>;
  /** Make everything written so far reach the underlying file or stream. */
  flush?(): Promise<void>;
  /** Flush and release the file or stream. */
  close?(): Promise<void>;
  /**
   * Where the file ends once everything written so far is flushed, in
   * bytes. With {@link LeadSink.resumeAt}, it lets a resumed run cut the file
   * back to what the checkpoint covers: the pipeline records it with each
   * checkpoint flush. File writers have it; a stream cannot be cut back.
   */
  position?(): number;
  /**
   * Cut the file back to `position` bytes (where it ended at the last
   * checkpoint flush), before anything is written: the rows written after
   * that flush are done again by the resumed run, so they must not stay.
   * Rejects with a `ValidationError` on `output` when the file is shorter
   * than that (it was changed or replaced since).
   */
  resumeAt?(position: number): Promise<void>;
}

/** Options of {@link createCsvWriter} and {@link createNdjsonWriter}. */
export interface LeadWriterOptions {
  /** Enriched fields to add as columns. Default: the fields the pipeline fills. */
  readonly fields?: readonly LeadField[];
  /** Add `<field>__source` and `<field>__confidence` columns. Default `true`. */
  readonly provenance?: boolean;
  /**
   * Append to an existing file instead of replacing it (for a resumed run).
   * A CSV header is written only when the file is new or empty. Paths only.
   */
  readonly append?: boolean;
  /**
   * Add the row's 1-based number in the input as `leadpipe_row` (the last
   * CSV column; an input column of that name is filled instead), so every
   * output row can be traced to its input row: rows are written in the
   * order they finish, not the input's. Default `false` (the `leadpipe`
   * command turns it on).
   */
  readonly rowNumbers?: boolean;
}

/** The column (CSV) or key (NDJSON) holding an output row's number in the input. */
const ROW_COLUMN = 'leadpipe_row';

/** Options of {@link createCsvWriter}. */
export interface CsvWriterOptions extends LeadWriterOptions {
  /**
   * Input columns to write, in order. Default: the columns of the first lead
   * written. When given, a run that writes no lead still leaves a file with
   * its header (the input columns, then those of `fields`).
   */
  readonly inputColumns?: readonly string[];
  /** Field delimiter. Default `,`. */
  readonly delimiter?: string;
  /**
   * The run's column mapping (the pipeline's `columns`), to know which input
   * column holds which lead field. Default: headers recognised as the
   * pipeline recognises them. An input column holding a lead field is
   * written with the lead's value when that value is the cell's own, cleaned
   * (it differs only in spacing, control characters or case: `\tAda@Acme.com`
   * is written `ada@acme.com`); otherwise with the cell as it came.
   */
  readonly columns?: ColumnMapping;
  /**
   * Neutralise spreadsheet formulas (CSV injection), as OWASP advises: a text
   * cell beginning with `=`, `+`, `-`, `@`, a tab or a carriage return is
   * written with a single quote in front (`'=HYPERLINK(...)`, `'+1 555 0100`),
   * so a spreadsheet shows it as text instead of running it. Numbers are
   * written as they are (`-42` from a number, not from text). Default `true`;
   * set `false` for a file only programs read (they then get the values
   * unchanged). NDJSON is never altered.
   */
  readonly escapeFormulas?: boolean;
}

/** Rows buffered before they are turned into text and written in one go. */
const CHUNK_ROWS = 256;

/** `record[key]` when `record` has it as its own key: `constructor` or `__proto__` are columns, not inherited. */
function own(record: Readonly<Record<string, unknown>>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Input targets that are a lead field under another name. */
const FIELD_OF_TARGET: Readonly<Record<string, LeadField>> = {
  name: 'fullName',
  company: 'company.name',
  companyName: 'company.name',
  companyDomain: 'company.domain',
};

/** Text compared without spacing, control characters or case. */
function loose(text: string): string {
  return text
    .normalize('NFC')
    .replace(/[\s\p{Cc}]+/gu, ' ')
    .trim()
    .toLowerCase();
}

/** The lead's value for an input cell when it is the cell's own value, cleaned; otherwise the cell. */
function cleanedCell(raw: unknown, field: LeadField | undefined, lead: Lead): unknown {
  if (field === undefined || typeof raw !== 'string') return raw;
  const value = getLeadField(lead, field);
  if (typeof value !== 'string' || value === raw || lead.provenance[field]?.providerId !== 'input')
    return raw;
  return loose(value) === loose(raw) ? value : raw;
}

function cellOf(value: unknown): string | number | boolean {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map((item) => String(item)).join(', ');
  if (typeof value === 'object') {
    const location = value as Record<string, unknown>;
    const parts = [location.city, location.region, location.country].filter(
      (part): part is string => typeof part === 'string',
    );
    if (parts.length > 0) return parts.join(', ');
    if (typeof location.countryCode === 'string') return location.countryCode;
    return JSON.stringify(value);
  }
  return String(value);
}

/** The enriched values of a lead, flat: `<field>` and, with provenance, `<field>__source` and `<field>__confidence`. */
function enrichedValues(
  lead: Lead,
  fields: readonly LeadField[],
  provenance: boolean,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    const value = getLeadField(lead, field);
    out[field] = value;
    if (provenance) {
      const origin = value === undefined ? undefined : lead.provenance[field];
      out[`${field}__source`] = origin?.providerId;
      out[`${field}__confidence`] = origin?.confidence;
    }
  }
  return out;
}

/**
 * A {@link LeadSink} writing CSV with csv-stringify (quoting as needed):
 * the input's columns first, as they came in, then one column per enriched
 * field (`title`, `company.domain`) with its provenance (`title__source`: the
 * provider id, or `input` for values the row had; `title__confidence`), then
 * with `rowNumbers`, `leadpipe_row`: the row's number in the input. An
 * input column named exactly like a field path is updated in place with the
 * lead's (normalized or enriched) value instead of being repeated. Another
 * input column holding a lead field (`E-mail`) is written with the lead's
 * value when that is the cell's own value cleaned of spacing, control
 * characters or case (see {@link CsvWriterOptions.columns}).
 * Locations are written as `City, Region, Country`, lists comma-separated.
 *
 * The header is fixed by the first lead written (or `inputColumns`): keys
 * that only later rows have (possible with NDJSON input) are not written;
 * use {@link createNdjsonWriter} for such input. Writes wait for the stream
 * to drain, so memory stays bounded.
 *
 * Text that a spreadsheet would run as a formula (beginning with `=`, `+`,
 * `-`, `@`, a tab or a carriage return) is written with a `'` in front unless
 * `escapeFormulas` is `false`: see {@link CsvWriterOptions.escapeFormulas}.
 */
export function createCsvWriter(output: string | Writable, options: CsvWriterOptions = {}): LeadSink {
  const opened = openOutput(output, options.append === true);
  const writer = new TextWriter(opened.stream);
  let empty = opened.empty;
  const file = resumableFile(opened, writer, (size) => {
    empty = size === 0;
  });
  const provenance = options.provenance ?? true;
  const delimiter = options.delimiter ?? ',';
  const escapeFormulas = options.escapeFormulas ?? true;
  const rowNumbers = options.rowNumbers === true;
  const resolver = createColumnResolver({
    ...(options.columns ? { columns: options.columns } : {}),
    unmapped: 'ignore',
  });
  const fieldOfColumn = new Map<string, LeadField | undefined>();
  function fieldOf(column: string): LeadField | undefined {
    if (fieldOfColumn.has(column)) return fieldOfColumn.get(column);
    const target = resolver.targetOf(column);
    const field =
      target === null ? undefined : Object.hasOwn(FIELD_OF_TARGET, target) ? FIELD_OF_TARGET[target] : target;
    const known = field !== undefined && isLeadField(field) ? field : undefined;
    fieldOfColumn.set(column, known);
    return known;
  }
  let header:
    | { input: readonly string[]; enriched: readonly string[]; fields: readonly LeadField[] }
    | undefined;
  let pending: (string | number | boolean)[][] = [];
  let closed = false;

  function headerFor(entry: SinkEntry | undefined): NonNullable<typeof header> {
    const input = options.inputColumns ?? entry?.columns ?? [];
    const fields = options.fields ?? entry?.fields ?? [];
    const inputSet = new Set(input);
    const enriched: string[] = [];
    for (const field of fields) {
      if (!inputSet.has(field)) enriched.push(field);
      if (provenance) enriched.push(`${field}__source`, `${field}__confidence`);
    }
    const extra = enriched.filter((name) => !inputSet.has(name));
    if (rowNumbers && !inputSet.has(ROW_COLUMN)) extra.push(ROW_COLUMN);
    return { input, enriched: extra, fields };
  }

  async function writePending(): Promise<void> {
    if (pending.length === 0) return;
    const rows = pending;
    pending = [];
    await writer.write(
      stringify(rows, {
        delimiter,
        record_delimiter: 'unix',
        escape_formulas: escapeFormulas,
        // csv-stringify quotes a field with a line feed, but not one with a lone carriage return, which readers
        // (ours included) take for a line end: quote those too, so a cell never splits its record.
        quoted_match: /\r/,
        cast: { boolean: (value) => String(value) },
      }),
    );
  }

  return {
    async write(entry) {
      if (closed) throw new ValidationError([{ field: 'output', reason: 'is closed' }]);
      if (header === undefined) {
        header = headerFor(entry);
        if (empty) pending.push([...header.input, ...header.enriched]);
      }
      const values = enrichedValues(entry.lead, header.fields, provenance);
      if (rowNumbers) values[ROW_COLUMN] = entry.rowNumber;
      const row: (string | number | boolean)[] = [];
      for (const column of header.input) {
        row.push(
          cellOf(
            Object.hasOwn(values, column)
              ? values[column]
              : cleanedCell(own(entry.values, column), fieldOf(column), entry.lead),
          ),
        );
      }
      for (const column of header.enriched) row.push(cellOf(values[column]));
      pending.push(row);
      if (pending.length >= CHUNK_ROWS) await writePending();
    },
    async flush() {
      await writePending();
      await writer.settle();
    },
    async close() {
      if (closed) return;
      closed = true;
      if (header === undefined && options.inputColumns !== undefined && empty) {
        // No lead was written: the file still gets its header.
        header = headerFor(undefined);
        pending.push([...header.input, ...header.enriched]);
      }
      await writePending();
      await writer.end(opened.owned);
    },
    ...file,
  };
}

/**
 * A {@link LeadSink} writing one JSON object per line: the input row's
 * values, then each enriched field that has a value under its path
 * (`company.headcount`) with native types (numbers, lists, location
 * objects), and with provenance `<field>__source` / `<field>__confidence`,
 * and with `rowNumbers`, `leadpipe_row`: the row's number in the input.
 */
export function createNdjsonWriter(output: string | Writable, options: LeadWriterOptions = {}): LeadSink {
  const opened = openOutput(output, options.append === true);
  const writer = new TextWriter(opened.stream);
  const file = resumableFile(opened, writer, () => undefined);
  const provenance = options.provenance ?? true;
  let pending: string[] = [];
  let closed = false;

  async function writePending(): Promise<void> {
    if (pending.length === 0) return;
    const text = `${pending.join('\n')}\n`;
    pending = [];
    await writer.write(text);
  }

  return {
    async write(entry) {
      if (closed) throw new ValidationError([{ field: 'output', reason: 'is closed' }]);
      const object: Record<string, unknown> = { ...entry.values };
      const values = enrichedValues(entry.lead, options.fields ?? entry.fields, provenance);
      for (const [key, value] of Object.entries(values)) if (value !== undefined) object[key] = value;
      if (options.rowNumbers === true) object[ROW_COLUMN] = entry.rowNumber;
      pending.push(JSON.stringify(object));
      if (pending.length >= CHUNK_ROWS) await writePending();
    },
    async flush() {
      await writePending();
      await writer.settle();
    },
    async close() {
      if (closed) return;
      closed = true;
      await writePending();
      await writer.end(opened.owned);
    },
    ...file,
  };
}

/**
 * Columns a rejects file adds after the input's own (CSV also adds
 * `leadpipe_extra`). Input columns of these names, from a rejects file run
 * again, are replaced.
 */
const REJECT_COLUMNS = [
  'leadpipe_row',
  'leadpipe_line',
  'leadpipe_stage',
  'leadpipe_reasons',
  'leadpipe_extra',
] as const;

const REJECT_COLUMN_SET: ReadonlySet<string> = new Set(REJECT_COLUMNS);

/** Options of {@link createRejectsWriter}. */
export interface RejectsWriterOptions {
  /** `csv` (default) or `ndjson`: write rejects in the input's format so they can be fixed and fed back. */
  readonly format?: 'csv' | 'ndjson';
  /**
   * Append to an existing file instead of replacing it (for a resumed run).
   * A CSV header is written only when the file is new or empty. Paths only.
   */
  readonly append?: boolean;
  /** CSV field delimiter. Default `,`. */
  readonly delimiter?: string;
  /**
   * Neutralise spreadsheet formulas in a CSV rejects file, as
   * {@link CsvWriterOptions.escapeFormulas} does (default `true`). NDJSON is
   * never altered.
   */
  readonly escapeFormulas?: boolean;
}

/**
 * A file of rows the pipeline hands over one at a time (rejects, merged
 * duplicates): `write` is the sink to pass to the pipeline.
 */
export interface RowFileWriter<Sink> {
  /** The sink: writes one row, resolving once it is handed to the file. */
  readonly write: Sink;
  /** Rows written by this writer. */
  readonly written: number;
  /** Resolves once everything written has reached the file or stream. */
  flush(): Promise<void>;
  /** Flush and release the file (a stream passed in is left open). */
  close(): Promise<void>;
  /** Where the file ends once flushed, in bytes; a stream passed in has none. See {@link LeadSink.position}. */
  position?(): number;
  /** Cut the file back to `position` bytes before a resumed run writes; see {@link LeadSink.resumeAt}. */
  resumeAt?(position: number): Promise<void>;
}

/** A file of rejected rows; pass `write` (a {@link RejectSink}) as the pipeline's `rejects` option. */
export type RejectsWriter = RowFileWriter<RejectSink>;

function reasonsOf(row: RejectedRow): string {
  return row.issues.map((issue) => `${issue.field}: ${issue.reason}`).join('; ');
}

/**
 * A rejects file: every rejected row with its input values, as they came
 * in, so it can be fixed and run again, and why it was rejected.
 *
 * - CSV: the input's columns, then `leadpipe_row` (1-based row number),
 *   `leadpipe_line` (file line, when known), `leadpipe_stage` (`read`,
 *   `validate` or `crm`), `leadpipe_reasons` (`field: reason; ...`) and
 *   `leadpipe_extra`. The header is fixed by the first rejected row: values
 *   under columns it did not have (possible with NDJSON input) go to
 *   `leadpipe_extra` as a JSON object, so nothing is dropped.
 * - NDJSON: one object per row, the input's values and the same keys but
 *   `leadpipe_extra`.
 *
 * In CSV, text that a spreadsheet would run as a formula is written with a
 * `'` in front unless `escapeFormulas` is `false` (see
 * {@link CsvWriterOptions.escapeFormulas}); NDJSON is written unchanged.
 *
 * Each row is handed to the file before the pipeline goes on (and so before
 * it is checkpointed): a crash of the process loses no reject. Rejected
 * rows are not buffered, so memory does not grow with their number. Pass
 * the writer itself as the pipeline's `rejects` (not only its `write`): the
 * pipeline then records where the file ended at each checkpoint flush, and
 * a resumed run (with `append`) cuts it back to that point first, so a row
 * rejected after the last flush, and rejected again on resume, is in the
 * file once.
 *
 * @example
 * ```ts
 * const rejects = createRejectsWriter('leads.rejects.csv');
 * const pipeline = createLeadPipeline({ enrichment, rejects });
 * try {
 *   await pipeline.run(readCsv('leads.csv'), { output: createCsvWriter('leads.enriched.csv') });
 * } finally {
 *   await rejects.close();
 * }
 * ```
 */
export function createRejectsWriter(
  output: string | Writable,
  options: RejectsWriterOptions = {},
): RejectsWriter {
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
  const delimiter = options.delimiter ?? ',';
  const stringifyOptions = { delimiter, escape_formulas: options.escapeFormulas ?? true, quoted_match: /\r/ };
  let header: { readonly input: readonly string[]; readonly known: ReadonlySet<string> } | undefined;
  let written = 0;
  let closed = false;

  function csvLine(row: RejectedRow): string {
    let text = '';
    if (header === undefined) {
      const input = row.columns.filter((column) => !REJECT_COLUMN_SET.has(column));
      header = { input, known: new Set(input) };
      if (empty) text += stringify([[...input, ...REJECT_COLUMNS]], stringifyOptions);
    }
    // Values under columns the header lacks (later NDJSON rows can have other keys) are kept as JSON.
    const extra: Record<string, unknown> = Object.create(null);
    for (const [column, value] of Object.entries(row.values)) {
      if (header.known.has(column) || REJECT_COLUMN_SET.has(column)) continue;
      if (value !== undefined && value !== null && value !== '') extra[column] = value;
    }
    const cells = header.input.map((column) => cellOf(own(row.values, column)));
    cells.push(
      row.rowNumber,
      row.line ?? '',
      row.stage,
      reasonsOf(row),
      Object.keys(extra).length > 0 ? JSON.stringify(extra) : '',
    );
    return text + stringify([cells], stringifyOptions);
  }

  function ndjsonLine(row: RejectedRow): string {
    const values: Record<string, unknown> = Object.create(null);
    for (const [column, value] of Object.entries(row.values)) {
      if (!REJECT_COLUMN_SET.has(column)) values[column] = value;
    }
    return `${JSON.stringify({
      ...values,
      leadpipe_row: row.rowNumber,
      ...(row.line === undefined ? {} : { leadpipe_line: row.line }),
      leadpipe_stage: row.stage,
      leadpipe_reasons: reasonsOf(row),
    })}\n`;
  }

  return {
    write: async (row) => {
      if (closed) throw new ValidationError([{ field: 'rejects', reason: 'is closed' }]);
      await writer.write(format === 'csv' ? csvLine(row) : ndjsonLine(row));
      await writer.settle();
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

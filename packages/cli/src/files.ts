import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import {
  checkIdentityColumns,
  createCsvWriter,
  createDuplicatesWriter,
  createNdjsonWriter,
  createRejectsWriter,
  type DuplicatesWriter,
  type LeadSink,
  type RejectsWriter,
  readCsv,
  readCsvHeader,
  readNdjson,
  type SourceRow,
  ValidationError,
} from '@leadpipe/core';
import type { EnrichCommandOptions, FileFormat } from './args.js';

/** What reading the input needs of a command's options (`enrich`, `submit`). */
type InputOptions = Pick<EnrichCommandOptions, 'input' | 'inputFormat' | 'columns'>;
/** What writing the output needs of a command's options. */
type OutputOptions = InputOptions & Pick<EnrichCommandOptions, 'out' | 'outFormat' | 'fields'>;

/** The field delimiter of a delimited format; `undefined` for NDJSON. */
function delimiterOf(format: FileFormat): string | undefined {
  return format === 'tsv' ? '\t' : format === 'csv' ? ',' : undefined;
}

/** The rows of the input file, in its format (`.tsv` is read tab-separated; `.csv` finds its delimiter). */
export function readInput(path: string, format: FileFormat): AsyncGenerator<SourceRow, void, undefined> {
  if (format === 'ndjson') return readNdjson(path);
  return format === 'tsv' ? readCsv(path, { delimiter: '\t' }) : readCsv(path);
}

/** The columns of a CSV or TSV input's header; `undefined` for NDJSON or a file with no record. */
async function headerOf(options: InputOptions): Promise<readonly string[] | undefined> {
  if (options.inputFormat === 'ndjson') return undefined;
  const header = await readCsvHeader(options.input, options.inputFormat === 'tsv' ? { delimiter: '\t' } : {});
  return header?.columns;
}

/**
 * The output file's sink: CSV or TSV with the input's columns in their order
 * (so a header-only input still gets an output with its header) and the
 * `--map` mapping (mapped columns keep their names), or NDJSON.
 */
export async function openOutput(options: OutputOptions, append: boolean): Promise<LeadSink> {
  // Rows are written as they finish, not in input order: each carries its input row number.
  if (options.outFormat === 'ndjson') return createNdjsonWriter(options.out, { append, rowNumbers: true });
  const inputColumns = await headerOf(options).catch(() => undefined);
  return createCsvWriter(options.out, {
    append,
    rowNumbers: true,
    fields: options.fields,
    delimiter: delimiterOf(options.outFormat) ?? ',',
    ...(inputColumns === undefined ? {} : { inputColumns }),
    ...(options.columns === undefined ? {} : { columns: options.columns }),
  });
}

/** The rejects file, in its format (TSV written tab-separated). */
export function openRejects(
  options: Pick<EnrichCommandOptions, 'rejects' | 'rejectsFormat'>,
  append: boolean,
): RejectsWriter {
  return createRejectsWriter(options.rejects, {
    format: options.rejectsFormat === 'ndjson' ? 'ndjson' : 'csv',
    delimiter: delimiterOf(options.rejectsFormat) ?? ',',
    append,
  });
}

/** The file of the rows merged into an earlier row with the same identity, in the input's format. */
export function openDuplicates(options: EnrichCommandOptions, append: boolean): DuplicatesWriter {
  return createDuplicatesWriter(options.duplicates, {
    format: options.inputFormat === 'ndjson' ? 'ndjson' : 'csv',
    delimiter: delimiterOf(options.inputFormat) ?? ',',
    append,
  });
}

/**
 * Why the input cannot be run, before anything is written: it does not
 * exist, cannot be read, is a directory, its header cannot be read, a
 * `--map` header is not one of its columns, or no column identifies a lead
 * (email, domain or website, LinkedIn URL, or a name with a company). The
 * lines to print; empty when the run can go ahead. An empty file can: it
 * has no rows.
 */
export async function inputProblems(options: InputOptions): Promise<string[]> {
  const { input } = options;
  try {
    await access(input, constants.R_OK);
  } catch {
    return [`leadpipe: <file>: ${input} does not exist or cannot be read`];
  }
  if ((await stat(input)).isDirectory()) {
    return [`leadpipe: <file>: ${input} is a directory; give a .csv, .tsv or .ndjson file`];
  }
  let columns: readonly string[] | undefined;
  try {
    columns = await headerOf(options);
  } catch (error) {
    const reason = ValidationError.isInstance(error)
      ? error.issues.map((issue) => issue.reason).join('; ')
      : String(error);
    return [`leadpipe: <file>: ${input} cannot be read: ${reason}`];
  }
  if (columns === undefined) return [];
  const present = new Set(columns);
  const unknown = Object.keys(options.columns ?? {}).filter((header) => !present.has(header));
  const listed = columns.map((column) => JSON.stringify(column)).join(', ');
  if (unknown.length > 0) {
    return [
      ...unknown.map((header) => `leadpipe: --map: "${header}" is not a column of ${input}`),
      `leadpipe: its columns are ${listed}`,
    ];
  }
  const issue = checkIdentityColumns(
    columns,
    options.columns === undefined ? {} : { columns: options.columns },
  );
  if (issue === undefined) return [];
  return [
    `leadpipe: <file>: ${input} ${issue.reason}`,
    `leadpipe: say which column holds what with --map, such as --map "Work Email=email" or --map "Org=company.name,Person=fullName"`,
  ];
}

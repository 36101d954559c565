import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import {
  createCsvWriter,
  createLeadPipeline,
  createNdjsonWriter,
  getLeadField,
  isLeadField,
  LEAD_FIELDS,
  type Lead,
  type LeadField,
  type LeadSink,
  type LeadStoreFieldName,
  type LeadStoreQuery,
  type LeadStoreRecord,
  type LeadStoreV1,
  type SourceRow,
  ValidationError,
} from '@leadpipe/core';
import { readInput } from './files.js';
import { type CliIo, EXIT_CODES, type ExitCode } from './io.js';
import type { LeadsCommand, LeadsQueryOptions } from './leads-args.js';
import { checkEraseFiles, erasePerson } from './leads-erase.js';
import { openStore } from './store.js';

/** The store's field names in a bad query, as the command's flags. */
function flagOf(field: string): string {
  if (field === 'where' || field.startsWith('where.')) return '--where';
  if (field === 'fields' || field.startsWith('fields.')) return '--fields';
  if (field === 'limit' || field === 'cursor' || field === 'search' || field === 'email') return `--${field}`;
  if (field === 'orderBy') return '--order';
  return field;
}

/** Run a store call; its `ValidationError` names the command's flag instead of the query member. */
async function asFlags<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!ValidationError.isInstance(error)) throw error;
    const issues = error.issues.map((issue) => ({ field: flagOf(issue.field), reason: issue.reason }));
    throw new ValidationError(issues, {
      message: issues.map((issue) => `${issue.field}: ${issue.reason}`).join('\n'),
    });
  }
}

function storeQuery(
  query: LeadsQueryOptions,
  fields: readonly LeadStoreFieldName[] | undefined,
): LeadStoreQuery {
  return {
    ...(Object.keys(query.where).length === 0 ? {} : { where: query.where }),
    ...(query.search === undefined ? {} : { search: query.search }),
    ...(fields === undefined ? {} : { fields }),
    orderBy: query.orderBy,
  };
}

/** The columns a query table shows when `--fields` is not given. */
const TABLE_FIELDS: readonly LeadStoreFieldName[] = [
  'email',
  'fullName',
  'title',
  'company.name',
  'company.industry',
  'company.headcount',
  'location',
];

/** A record's value for a column, as text. */
function cell(record: LeadStoreRecord, field: string): string {
  let value: unknown;
  if (
    field === 'id' ||
    field === 'createdAt' ||
    field === 'updatedAt' ||
    field === 'custom' ||
    field === 'provenance'
  ) {
    value = (record as unknown as Record<string, unknown>)[field];
  } else if (isLeadField(field)) value = getLeadField(record as Lead, field);
  if (value === undefined || value === null) return '';
  if (field === 'location' && typeof value === 'object') {
    const place = value as { city?: string; region?: string; countryCode?: string; country?: string };
    return [place.city, place.region, place.countryCode ?? place.country].filter(Boolean).join(', ');
  }
  if (Array.isArray(value)) return value.join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function table(records: readonly LeadStoreRecord[], fields: readonly string[]): string {
  const columns = ['id', ...fields.filter((field) => field !== 'id')];
  const clip = (text: string) => (text.length > 40 ? `${text.slice(0, 39)}…` : text);
  const rows = records.map((record) =>
    columns.map((column) => clip(cell(record, column).replace(/\s+/g, ' '))),
  );
  const widths = columns.map((column, index) =>
    Math.max(column.length, ...rows.map((row) => row[index]!.length)),
  );
  const line = (values: readonly string[]) =>
    values
      .map((value, index) => value.padEnd(widths[index]!))
      .join('  ')
      .trimEnd();
  return [line(columns), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

async function query(
  command: Extract<LeadsCommand, { kind: 'query' }>,
  store: LeadStoreV1,
  io: CliIo,
): Promise<ExitCode> {
  const format = command.format ?? (io.stdout.isTTY === true ? 'table' : 'ndjson');
  const fields = command.query.fields ?? (format === 'table' ? TABLE_FIELDS : undefined);
  const request: LeadStoreQuery = {
    ...storeQuery(command.query, fields),
    ...(command.limit === undefined ? {} : { limit: command.limit }),
    ...(command.cursor === undefined ? {} : { cursor: command.cursor }),
  };
  const page = await asFlags(() => store.query(request));
  if (format === 'ndjson') {
    for (const record of page.leads) io.stdout.write(`${JSON.stringify(record)}\n`);
    if (page.nextCursor !== undefined) io.stderr.write(`leadpipe: next page: --cursor ${page.nextCursor}\n`);
    return EXIT_CODES.done;
  }
  const count = await asFlags(() => store.count(request));
  io.stdout.write(`${table(page.leads, fields ?? TABLE_FIELDS)}\n`);
  const of = `${count.exact ? '' : 'about '}${count.count.toLocaleString('en-US')}`;
  io.stdout.write(`${page.leads.length} ${page.leads.length === 1 ? 'lead' : 'leads'} of ${of} matching\n`);
  if (page.nextCursor !== undefined) io.stdout.write(`next page: --cursor ${page.nextCursor}\n`);
  return EXIT_CODES.done;
}

/** A stored record as a `Lead` for the pipeline's writers: the fields it lacks are absent. */
function asLead(record: LeadStoreRecord): Lead {
  return { provenance: {}, custom: {}, ...record } as Lead;
}

/** Write text to a stream, waiting when it is full. */
async function writeText(stream: Writable, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}

async function exportLeads(
  command: Extract<LeadsCommand, { kind: 'export' }>,
  store: LeadStoreV1,
  io: CliIo,
): Promise<ExitCode> {
  const leadFields: LeadField[] =
    command.query.fields === undefined
      ? [...LEAD_FIELDS]
      : command.query.fields.filter((field): field is LeadField => isLeadField(field));
  if (command.out !== undefined) await mkdir(dirname(command.out), { recursive: true });
  // Standard output as a stream the writers take (they do not end a stream they did not open).
  const stdout = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      io.stdout.write(chunk.toString());
      callback();
    },
  });
  let exported = 0;
  await asFlags(async () => {
    if (command.format === 'leads') {
      const target = command.out === undefined ? stdout : createWriteStream(command.out);
      try {
        for await (const record of store.export(storeQuery(command.query, command.query.fields))) {
          await writeText(target, `${JSON.stringify(record)}\n`);
          exported += 1;
        }
      } finally {
        target.end();
        await once(target, 'finish');
      }
      return;
    }
    const fields: LeadStoreFieldName[] = ['id', ...leadFields, 'provenance'];
    const output = command.out ?? stdout;
    const sink: LeadSink =
      command.format === 'csv'
        ? createCsvWriter(output, { fields: leadFields, inputColumns: ['id'] })
        : createNdjsonWriter(output, { fields: leadFields });
    try {
      for await (const record of store.export(storeQuery(command.query, fields))) {
        exported += 1;
        await sink.write({
          rowNumber: exported,
          values: { id: record.id },
          columns: ['id'],
          lead: asLead(record),
          fields: leadFields,
        });
      }
    } finally {
      await sink.close?.();
    }
  });
  if (command.out !== undefined) {
    io.stderr.write(
      `leadpipe: exported ${exported} ${exported === 1 ? 'lead' : 'leads'} to ${command.out}\n`,
    );
  }
  return EXIT_CODES.done;
}

/** Whether a parsed NDJSON line is a stored lead (`leads export --format leads`): an id and a provenance object. */
function isStoredLead(value: unknown): value is Lead {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { id?: unknown }).id === 'string' &&
    typeof (value as { provenance?: unknown }).provenance === 'object'
  );
}

async function firstLine(path: string): Promise<string | undefined> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of lines) if (line.trim() !== '') return line;
    return undefined;
  } finally {
    lines.close();
  }
}

/** The lines of a stored-leads file that are not handed to the store: blank ones, and lines that are not JSON. */
interface SkippedLines {
  /** Per line skipped, how many leads had been handed on before it: maps a lead's position back to its line. */
  readonly before: number[];
  /** Lines that are not JSON (1-based). */
  readonly unreadable: number[];
}

async function* storedLeads(path: string, skipped: SkippedLines): AsyncGenerator<Lead> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  let handed = 0;
  let number = 0;
  for await (const line of lines) {
    number += 1;
    let value: unknown;
    try {
      value = line.trim() === '' ? undefined : JSON.parse(line);
    } catch {
      skipped.unreadable.push(number);
    }
    if (value === undefined) {
      skipped.before.push(handed);
      continue;
    }
    // A line that is not a lead is handed on all the same: the store rejects it with its reasons.
    handed += 1;
    yield value as Lead;
  }
}

/** The file line (1-based) of the lead at `index` of the stream. */
function lineOf(index: number, skipped: SkippedLines): number {
  return index + 1 + skipped.before.filter((handed) => handed <= index).length;
}

/** Columns of an enrich output or an export that are not lead values. */
const NOT_VALUES = /(__source|__confidence)$|^(id|leadpipe_row)$/;

async function* rowValues(
  path: string,
  format: 'csv' | 'tsv' | 'ndjson',
): AsyncGenerator<Record<string, unknown>> {
  for await (const row of readInput(path, format) as AsyncGenerator<SourceRow>) {
    const values: Record<string, unknown> = {};
    for (const [column, value] of Object.entries(row.values)) {
      if (!NOT_VALUES.test(column)) values[column] = value;
    }
    yield values;
  }
}

async function importLeads(
  command: Extract<LeadsCommand, { kind: 'import' }>,
  store: LeadStoreV1,
  io: CliIo,
): Promise<ExitCode> {
  let first: string | undefined;
  try {
    first = await firstLine(command.input);
  } catch {
    throw new ValidationError([
      { field: '<file>', reason: `${command.input} does not exist or cannot be read` },
    ]);
  }
  let stored = false;
  if (command.format === 'ndjson' && first !== undefined) {
    try {
      stored = isStoredLead(JSON.parse(first));
    } catch {
      stored = false;
    }
  }
  if (stored) {
    const skipped: SkippedLines = { before: [], unreadable: [] };
    const report = await store.import(storedLeads(command.input, skipped));
    const problems = [
      ...skipped.unreadable.map((line) => ({ line, text: 'is not JSON' })),
      ...report.rejected.map((rejection) => ({
        line: lineOf(rejection.index, skipped),
        text: rejection.issues.map((issue) => `${issue.field}: ${issue.reason}`).join('; '),
      })),
    ].sort((a, b) => a.line - b.line);
    io.stdout.write(
      `Imported ${command.input} (stored leads): ${report.read + skipped.unreadable.length} read, ${report.created} created, ${report.updated} updated, ${report.unchanged} unchanged, ${problems.length} rejected\n`,
    );
    for (const problem of problems.slice(0, 10)) io.stdout.write(`  line ${problem.line}: ${problem.text}\n`);
    if (problems.length > 10) io.stdout.write(`  and ${problems.length - 10} more\n`);
    return problems.length > 0 ? EXIT_CODES.finishedWithProblems : EXIT_CODES.done;
  }
  const pipeline = createLeadPipeline({ store, batchSize: 500 });
  try {
    const report = await pipeline.run(rowValues(command.input, command.format));
    const counts = report.store ?? { created: 0, updated: 0, unchanged: 0, rejected: 0, failed: 0 };
    io.stdout.write(
      `Imported ${command.input}: ${report.counts.read} read, ${counts.created} created, ${counts.updated} updated, ${counts.unchanged} unchanged, ${report.counts.duplicates} duplicates merged, ${report.counts.rejected} rejected, ${counts.failed} failed\n`,
    );
    for (const reject of report.rejects.slice(0, 10)) {
      io.stdout.write(
        `  row ${reject.rowNumber}: ${reject.issues.map((issue) => `${issue.field}: ${issue.reason}`).join('; ')}\n`,
      );
    }
    if (report.status !== 'completed') return EXIT_CODES.failed;
    return report.counts.rejected > 0 || report.counts.deadLettered > 0
      ? EXIT_CODES.finishedWithProblems
      : EXIT_CODES.done;
  } finally {
    await pipeline.close();
  }
}

async function erase(
  command: Extract<LeadsCommand, { kind: 'erase' }>,
  store: LeadStoreV1 | undefined,
  io: CliIo,
): Promise<ExitCode> {
  // Every file named must be there before anything is erased.
  await checkEraseFiles(command.files, command.runs, io.cwd);
  for (const email of command.emails) {
    const report = await asFlags(() => erasePerson(email, store, command.files, io.cwd));
    const places = Object.entries(report.removed);
    const found = places.filter(([, count]) => count > 0);
    const none = places.filter(([, count]) => count === 0).map(([place]) => place);
    io.stdout.write(
      found.length === 0
        ? `${report.email}: not found anywhere (looked in ${none.join(', ')})\n`
        : `${report.email}: erased from ${found.map(([place, count]) => `${place} (${count})`).join(', ')}${none.length > 0 ? `; nothing in ${none.join(', ')}` : ''}\n`,
    );
  }
  return EXIT_CODES.done;
}

async function retain(
  command: Extract<LeadsCommand, { kind: 'retain' }>,
  store: LeadStoreV1,
  io: CliIo,
): Promise<ExitCode> {
  let written = 0;
  if (command.archiveFile !== undefined && command.archiveAfterDays !== undefined) {
    // The leads retain is about to archive: least recently updated first, up to the cut-off.
    const cutoff = Date.now() - command.archiveAfterDays * 86_400_000;
    await mkdir(dirname(command.archiveFile), { recursive: true });
    const file = createWriteStream(command.archiveFile, { flags: 'a' });
    try {
      for await (const record of store.export({ orderBy: 'updatedAt' })) {
        const updated = Date.parse(String((record as { updatedAt?: unknown }).updatedAt ?? ''));
        if (!(updated < cutoff)) break;
        await writeText(file, `${JSON.stringify(record)}\n`);
        written += 1;
      }
    } finally {
      file.end();
      await once(file, 'close');
    }
  }
  const report = await store.retain({
    ...(command.archiveAfterDays === undefined ? {} : { archiveAfterDays: command.archiveAfterDays }),
    ...(command.purgeAfterDays === undefined ? {} : { purgeAfterDays: command.purgeAfterDays }),
  });
  const lines: string[] = [];
  if (command.archiveAfterDays !== undefined) {
    lines.push(
      `archived ${report.archived} ${report.archived === 1 ? 'lead' : 'leads'} not updated for ${command.archiveAfterDays} days${command.archiveFile === undefined ? '' : ` (${written} written to ${command.archiveFile})`}`,
    );
  }
  if (command.purgeAfterDays !== undefined) {
    lines.push(
      `purged ${report.purged} archived ${report.purged === 1 ? 'lead' : 'leads'} not updated for ${command.purgeAfterDays} days`,
    );
  }
  io.stdout.write(`${lines.join('\n')}\n`);
  return EXIT_CODES.done;
}

/** Run a `leadpipe leads` command against its store, closing the store after. */
export async function runLeads(command: LeadsCommand, io: CliIo): Promise<ExitCode> {
  if (command.kind === 'erase' && command.store === undefined) return await erase(command, undefined, io);
  const customFields =
    command.kind === 'query' || command.kind === 'export' ? command.query.customFields : [];
  const opened = io.store ?? (await openStore(command.store!, customFields));
  try {
    const leads = opened.leads;
    if (command.kind === 'query') return await query(command, leads, io);
    if (command.kind === 'export') return await exportLeads(command, leads, io);
    if (command.kind === 'import') return await importLeads(command, leads, io);
    if (command.kind === 'erase') return await erase(command, leads, io);
    return await retain(command, leads, io);
  } finally {
    if (opened !== io.store) await opened.close();
  }
}

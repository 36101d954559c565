import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import type { SalesforceRecordError } from './errors.js';
import { bulkErrorText, httpFailure } from './errors.js';
import { normalizeId } from './ids.js';
import type { FieldValue, LeadSchema, SalesforceFieldDefinition } from './schema.js';
import { coerceValue, formatDatetime } from './schema.js';
import type { LeadStore, SaveOutcome } from './store.js';

/** Operations of a Bulk API 2.0 ingest job the emulator runs. */
export type IngestOperation = 'insert' | 'update' | 'upsert' | 'delete';

/** States of a Bulk API 2.0 ingest job. */
export type IngestJobState = 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';

/** Column delimiters Bulk API 2.0 accepts, by name. */
const COLUMN_DELIMITERS = {
  COMMA: ',',
  TAB: '\t',
  PIPE: '|',
  SEMICOLON: ';',
  CARET: '^',
  BACKQUOTE: '`',
} as const;

/** The result of one processed row. */
export type RowResult =
  | { readonly kind: 'success'; readonly row: number; readonly id: string; readonly created: boolean }
  | { readonly kind: 'failed'; readonly row: number; readonly id: string; readonly error: string };

/** An ingest job as the emulator keeps it. */
export interface IngestJob {
  readonly id: string;
  readonly object: 'Lead';
  readonly operation: IngestOperation;
  readonly externalIdFieldName: string | undefined;
  readonly lineEnding: 'LF' | 'CRLF';
  readonly columnDelimiter: keyof typeof COLUMN_DELIMITERS;
  readonly apiVersion: number;
  readonly createdDate: number;
  readonly createdById: string;
  state: IngestJobState;
  systemModstamp: number;
  /** The uploaded CSV, verbatim. */
  data: string | undefined;
  header: string[];
  rows: string[][];
  /** Emulated time processing starts (UploadComplete + start delay). */
  processingStartsAt: number | undefined;
  processed: number;
  results: RowResult[];
  errorMessage: string | undefined;
  completedAt: number | undefined;
}

/** What bulk processing needs from the emulator. */
export interface BulkDependencies {
  readonly schema: LeadSchema;
  readonly store: LeadStore;
  readonly now: () => number;
  readonly userId: string;
  readonly newJobId: () => string;
  /** Emulated ms between UploadComplete and InProgress. */
  readonly startDelayMs: () => number;
  /** Rows processed per emulated second. */
  readonly recordsPerSecond: () => number;
  /** Whether this row hits an injected fault (partial failure). */
  readonly injectFault: () => boolean;
  /** Whether result files come back shuffled (Salesforce does not keep order). */
  readonly shuffle: (<T>(items: T[]) => T[]) | undefined;
  readonly onSaved: (outcome: SaveOutcome) => void;
}

const OPERATIONS: readonly string[] = ['insert', 'update', 'upsert', 'delete'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function lockError(id: string): SalesforceRecordError {
  return {
    statusCode: 'UNABLE_TO_LOCK_ROW',
    message: `unable to obtain exclusive access to this record or 1 records: ${id}`,
    fields: [],
  };
}

/** Bulk API 2.0 ingest jobs with their state machine, progressing on the emulated clock. */
export class BulkJobs {
  private readonly jobs = new Map<string, IngestJob>();
  private readonly deps: BulkDependencies;

  /** @param deps - store, clock and processing settings. */
  constructor(deps: BulkDependencies) {
    this.deps = deps;
  }

  /** Every job in creation order. */
  all(): IngestJob[] {
    return [...this.jobs.values()];
  }

  /** Forget every job. */
  clear(): void {
    this.jobs.clear();
  }

  /** The job `id`, or a 404 failure. */
  get(id: string): IngestJob {
    const job = this.jobs.get(id);
    if (job === undefined) {
      throw httpFailure(404, 'NOT_FOUND', 'The requested resource does not exist');
    }
    return job;
  }

  /** `POST jobs/ingest`: validate the body and open a job. */
  create(body: unknown, apiVersion: number): IngestJob {
    if (!isRecord(body))
      throw httpFailure(400, 'JSON_PARSER_ERROR', 'The request body must be a JSON object');
    const { object, operation, externalIdFieldName, contentType, lineEnding, columnDelimiter } = body;
    if (typeof object !== 'string' || object.length === 0) {
      throw httpFailure(400, 'INVALIDJOB', 'InvalidJob : Object is required');
    }
    if (object.toLowerCase() !== 'lead') {
      throw httpFailure(400, 'INVALIDJOB', `InvalidJob : Unable to find object: ${object}`);
    }
    if (typeof operation !== 'string' || !OPERATIONS.includes(operation)) {
      throw httpFailure(400, 'INVALIDJOB', `InvalidJob : Invalid operation: ${String(operation)}`);
    }
    if (contentType !== undefined && contentType !== 'CSV') {
      throw httpFailure(400, 'INVALIDJOB', `InvalidJob : Invalid content type: ${String(contentType)}`);
    }
    if (lineEnding !== undefined && lineEnding !== 'LF' && lineEnding !== 'CRLF') {
      throw httpFailure(400, 'INVALIDJOB', `InvalidJob : Invalid line ending: ${String(lineEnding)}`);
    }
    if (
      columnDelimiter !== undefined &&
      (typeof columnDelimiter !== 'string' || !(columnDelimiter in COLUMN_DELIMITERS))
    ) {
      throw httpFailure(
        400,
        'INVALIDJOB',
        `InvalidJob : Invalid column delimiter: ${String(columnDelimiter)}`,
      );
    }
    let externalField: string | undefined;
    if (operation === 'upsert') {
      if (typeof externalIdFieldName !== 'string' || externalIdFieldName.length === 0) {
        throw httpFailure(
          400,
          'INVALIDJOB',
          'InvalidJob : External ID was blank for Lead. An External ID must be specified for upsert.',
        );
      }
      const field = this.deps.schema.field(externalIdFieldName);
      if (field === undefined || (field.externalId !== true && field.type !== 'id')) {
        throw httpFailure(
          400,
          'INVALIDJOB',
          `InvalidJob : Field name provided, ${externalIdFieldName} does not match an External ID, Salesforce Id, or indexed field for Lead`,
        );
      }
      externalField = field.name;
    }
    const now = this.deps.now();
    const job: IngestJob = {
      id: this.deps.newJobId(),
      object: 'Lead',
      operation: operation as IngestOperation,
      externalIdFieldName: externalField,
      lineEnding: lineEnding ?? 'LF',
      columnDelimiter: (columnDelimiter as keyof typeof COLUMN_DELIMITERS | undefined) ?? 'COMMA',
      apiVersion,
      createdDate: now,
      createdById: this.deps.userId,
      state: 'Open',
      systemModstamp: now,
      data: undefined,
      header: [],
      rows: [],
      processingStartsAt: undefined,
      processed: 0,
      results: [],
      errorMessage: undefined,
      completedAt: undefined,
    };
    this.jobs.set(job.id, job);
    return job;
  }

  /** `PUT jobs/ingest/{id}/batches`: take the job's one CSV upload. */
  upload(id: string, csv: string): void {
    const job = this.get(id);
    if (job.state !== 'Open') {
      throw httpFailure(
        409,
        'INVALIDJOBSTATE',
        `Job ${id} is not Open; data can only be uploaded to an Open job`,
      );
    }
    if (job.data !== undefined) {
      throw httpFailure(
        400,
        'INVALIDJOBSTATE',
        `Found multiple contents for job: <${id}>, please 'Close' / 'Abort' / 'Delete' the current Job then create a new Job and make sure you only do 'PUT' once on a given Job.`,
      );
    }
    if (csv.trim().length === 0)
      throw httpFailure(400, 'INVALIDBATCH', 'InvalidBatch : The CSV data is empty');
    job.data = csv;
    job.systemModstamp = this.deps.now();
  }

  /** `PATCH jobs/ingest/{id}`: move to UploadComplete or Aborted. */
  changeState(id: string, body: unknown): IngestJob {
    const job = this.get(id);
    const state = isRecord(body) ? body.state : undefined;
    if (state === 'UploadComplete') {
      if (job.state !== 'Open') {
        throw httpFailure(
          409,
          'INVALIDJOBSTATE',
          `Job ${id} is ${job.state}; only an Open job can be closed`,
        );
      }
      job.state = 'UploadComplete';
      job.systemModstamp = this.deps.now();
      job.processingStartsAt = job.systemModstamp + this.deps.startDelayMs();
      return job;
    }
    if (state === 'Aborted') {
      if (job.state !== 'Open' && job.state !== 'UploadComplete' && job.state !== 'InProgress') {
        throw httpFailure(409, 'INVALIDJOBSTATE', `Job ${id} is ${job.state}; it can no longer be aborted`);
      }
      this.finish(job, 'Aborted');
      return job;
    }
    throw httpFailure(
      400,
      'INVALIDJOBSTATE',
      `Invalid state: ${String(state)}; use UploadComplete or Aborted`,
    );
  }

  /** `DELETE jobs/ingest/{id}`: only jobs no longer Open or running can go. */
  delete(id: string): void {
    const job = this.get(id);
    if (job.state === 'Open' || job.state === 'InProgress') {
      throw httpFailure(
        409,
        'INVALIDJOBSTATE',
        `Job ${id} is ${job.state}; close or abort it before deleting it`,
      );
    }
    this.jobs.delete(id);
  }

  private finish(job: IngestJob, state: 'JobComplete' | 'Failed' | 'Aborted', errorMessage?: string): void {
    job.state = state;
    job.errorMessage = errorMessage;
    job.completedAt = this.deps.now();
    job.systemModstamp = job.completedAt;
  }

  /** Move every job forward to where the emulated clock says it is, applying the rows processed meanwhile. */
  advance(): void {
    const now = this.deps.now();
    for (const job of this.jobs.values()) {
      if (
        job.state === 'UploadComplete' &&
        job.processingStartsAt !== undefined &&
        now >= job.processingStartsAt
      ) {
        const problem = this.prepare(job);
        if (problem !== undefined) {
          this.finish(job, 'Failed', problem);
          continue;
        }
        job.state = 'InProgress';
        job.systemModstamp = job.processingStartsAt;
      }
      if (job.state === 'InProgress' && job.processingStartsAt !== undefined) {
        const elapsed = now - job.processingStartsAt;
        const due = Math.min(job.rows.length, Math.floor((elapsed * this.deps.recordsPerSecond()) / 1000));
        while (job.processed < due) {
          const row = job.rows[job.processed] ?? [];
          job.results.push(this.processRow(job, row, job.processed));
          job.processed += 1;
        }
        job.systemModstamp = now;
        if (job.processed >= job.rows.length) this.finish(job, 'JobComplete');
      }
    }
  }

  private prepare(job: IngestJob): string | undefined {
    const data = job.data ?? '';
    if (data.length === 0) {
      job.header = [];
      job.rows = [];
      return undefined;
    }
    if (job.lineEnding === 'LF' && data.includes('\r\n')) {
      return 'ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF';
    }
    if (job.lineEnding === 'CRLF' && /(^|[^\r])\n/.test(data)) {
      return 'ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is CRLF';
    }
    let parsed: string[][];
    try {
      parsed = parse(data, {
        delimiter: COLUMN_DELIMITERS[job.columnDelimiter],
        bom: true,
        relax_column_count: true,
        skip_empty_lines: true,
      }) as string[][];
    } catch (error) {
      return `ClientInputError : Unable to parse CSV: ${(error as Error).message}`;
    }
    const [header = [], ...rows] = parsed;
    const seen = new Set<string>();
    for (const column of header) {
      const field = this.deps.schema.field(column);
      if (field === undefined) return `InvalidBatch : Field name not found : ${column}`;
      if (seen.has(field.name)) return `InvalidBatch : Duplicate field name: ${column}`;
      seen.add(field.name);
    }
    job.header = header;
    job.rows = rows;
    return undefined;
  }

  private processRow(job: IngestJob, row: readonly string[], index: number): RowResult {
    const { schema, store } = this.deps;
    const values = new Map<string, FieldValue>();
    const errors: SalesforceRecordError[] = [];
    let rawId = '';
    let externalValue = '';
    job.header.forEach((column, position) => {
      const field = schema.field(column) as SalesforceFieldDefinition;
      const cell = row[position] ?? '';
      if (field.name === 'Id') {
        rawId = cell;
        return;
      }
      if (field.name === job.externalIdFieldName) {
        externalValue = cell;
        return;
      }
      const coerced = coerceValue(field, cell, 'csv');
      if (coerced.kind === 'error') errors.push(coerced.error);
      else if (coerced.kind === 'value') values.set(field.name, coerced.value);
    });
    const fail = (id: string, failure: readonly SalesforceRecordError[]): RowResult => {
      this.deps.onSaved({ ok: false, errors: failure });
      return { kind: 'failed', row: index, id, error: bulkErrorText(failure) };
    };
    if (errors.length > 0) return fail('', errors);
    const id = rawId === '' ? undefined : normalizeId(rawId, '00Q');
    if (rawId !== '' && id === undefined) {
      return fail('', [
        {
          statusCode: 'MALFORMED_ID',
          message: `Lead ID: id value of incorrect type: ${rawId}`,
          fields: ['Id'],
        },
      ]);
    }
    if (this.deps.injectFault()) return fail(id ?? '', [lockError(id ?? rawId)]);
    let outcome: SaveOutcome;
    switch (job.operation) {
      case 'insert':
        outcome =
          rawId === ''
            ? store.create(values)
            : {
                ok: false,
                errors: [
                  {
                    statusCode: 'INVALID_FIELD_FOR_INSERT_UPDATE',
                    message: 'cannot specify Id in an insert call',
                    fields: ['Id'],
                  },
                ],
              };
        break;
      case 'update':
        outcome =
          id === undefined
            ? {
                ok: false,
                errors: [
                  {
                    statusCode: 'MISSING_ARGUMENT',
                    message: 'Id not specified in an update call',
                    fields: [],
                  },
                ],
              }
            : store.update(id, values);
        break;
      case 'delete':
        outcome =
          id === undefined
            ? {
                ok: false,
                errors: [
                  {
                    statusCode: 'MISSING_ARGUMENT',
                    message: 'Id not specified in a delete call',
                    fields: [],
                  },
                ],
              }
            : store.delete(id)
              ? { ok: true, id, created: false }
              : {
                  ok: false,
                  errors: [{ statusCode: 'ENTITY_IS_DELETED', message: 'entity is deleted', fields: [] }],
                };
        break;
      case 'upsert': {
        const externalField = schema.field(job.externalIdFieldName ?? 'Id') as SalesforceFieldDefinition;
        if (externalField.name === 'Id') {
          outcome = id === undefined ? store.create(values) : store.update(id, values);
        } else if (externalValue === '' || externalValue === '#N/A') {
          outcome = {
            ok: false,
            errors: [
              { statusCode: 'MISSING_ARGUMENT', message: `${externalField.name} not specified`, fields: [] },
            ],
          };
        } else {
          outcome = store.upsert(externalField, externalValue, values);
        }
        break;
      }
    }
    if (!outcome.ok) return fail(id ?? '', outcome.errors);
    this.deps.onSaved(outcome);
    return { kind: 'success', row: index, id: outcome.id, created: outcome.created };
  }

  /** The job info body Salesforce answers `GET jobs/ingest/{id}` with. */
  info(job: IngestJob): Record<string, unknown> {
    const version = job.apiVersion.toFixed(1);
    const failed = job.results.filter((result) => result.kind === 'failed').length;
    const processingMs =
      job.processingStartsAt === undefined
        ? 0
        : Math.max(0, (job.completedAt ?? this.deps.now()) - job.processingStartsAt);
    return {
      id: job.id,
      operation: job.operation,
      object: job.object,
      createdById: job.createdById,
      createdDate: formatDatetime(job.createdDate),
      systemModstamp: formatDatetime(job.systemModstamp),
      state: job.state,
      ...(job.externalIdFieldName === undefined ? {} : { externalIdFieldName: job.externalIdFieldName }),
      concurrencyMode: 'Parallel',
      contentType: 'CSV',
      apiVersion: job.apiVersion,
      jobType: 'V2Ingest',
      contentUrl: `services/data/v${version}/jobs/ingest/${job.id}/batches`,
      lineEnding: job.lineEnding,
      columnDelimiter: job.columnDelimiter,
      numberRecordsProcessed: job.processed,
      numberRecordsFailed: failed,
      retries: 0,
      totalProcessingTime: Math.round(processingMs),
      apiActiveProcessingTime: Math.round(processingMs),
      apexProcessingTime: 0,
      ...(job.errorMessage === undefined ? {} : { errorMessage: job.errorMessage }),
    };
  }

  private requireFinished(job: IngestJob): void {
    if (job.state !== 'JobComplete' && job.state !== 'Failed' && job.state !== 'Aborted') {
      throw httpFailure(
        409,
        'INVALIDJOBSTATE',
        `Job ${job.id} is ${job.state}; results are available once it is JobComplete, Failed or Aborted`,
      );
    }
  }

  private csv(job: IngestJob, prefix: readonly string[], rows: readonly (readonly string[])[]): string {
    const delimiter = COLUMN_DELIMITERS[job.columnDelimiter];
    const recordDelimiter = job.lineEnding === 'CRLF' ? 'windows' : 'unix';
    const header = stringify([[...prefix, ...job.header]], {
      delimiter,
      record_delimiter: recordDelimiter,
      quoted_match: /^sf__/,
    });
    if (rows.length === 0) return header;
    return (
      header +
      stringify(
        rows.map((row) => [...row]),
        { delimiter, record_delimiter: recordDelimiter, quoted: true, quoted_empty: true },
      )
    );
  }

  private ordered<T>(items: T[]): T[] {
    return this.deps.shuffle === undefined ? items : this.deps.shuffle(items);
  }

  private originalRow(job: IngestJob, row: number): string[] {
    const cells = job.rows[row] ?? [];
    return job.header.map((_, position) => cells[position] ?? '');
  }

  /** `successfulResults/`: `"sf__Id","sf__Created"` then the uploaded columns. */
  successfulResults(job: IngestJob): string {
    this.requireFinished(job);
    const rows = job.results
      .filter((result) => result.kind === 'success')
      .map((result) => [result.id, String(result.created), ...this.originalRow(job, result.row)]);
    return this.csv(job, ['sf__Id', 'sf__Created'], this.ordered(rows));
  }

  /** `failedResults/`: `"sf__Id","sf__Error"` (v53+; `"sf__Error"` alone before) then the uploaded columns. */
  failedResults(job: IngestJob): string {
    this.requireFinished(job);
    const withId = job.apiVersion >= 53;
    const rows = job.results
      .filter((result) => result.kind === 'failed')
      .map((result) => [...(withId ? [result.id] : []), result.error, ...this.originalRow(job, result.row)]);
    return this.csv(job, withId ? ['sf__Id', 'sf__Error'] : ['sf__Error'], this.ordered(rows));
  }

  /** `unprocessedrecords/`: the uploaded columns of rows never processed (aborted or failed jobs). */
  unprocessedRecords(job: IngestJob): string {
    this.requireFinished(job);
    if (job.data === undefined) return '';
    if (job.header.length === 0) {
      // The job failed before its CSV was read: everything uploaded is unprocessed, verbatim.
      return job.data;
    }
    const rows: string[][] = [];
    for (let row = job.processed; row < job.rows.length; row += 1) rows.push(this.originalRow(job, row));
    return this.csv(job, [], rows);
  }
}

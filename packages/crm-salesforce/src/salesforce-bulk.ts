import { createHash } from 'node:crypto';
import {
  ApiCallError,
  type CrmRecordError,
  type CrmUpsertResult,
  type RateLimitState,
} from '@leadpipe/core/adapter-kit';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { z } from 'zod';
import type { SalesforceApi } from './salesforce-api.js';
import { SALESFORCE_PROVIDER_ID } from './salesforce-auth.js';
import { recordErrorFromStatusCode } from './salesforce-results.js';

/** A Bulk API 2.0 ingest job the adapter started and has not read the results of yet. */
export interface SalesforceBulkJobRecord {
  /** The job id (`750…`). */
  readonly jobId: string;
  /** The sObject. */
  readonly object: string;
  /** The External ID field of the upsert. */
  readonly externalIdField: string;
  /** How many rows were uploaded. */
  readonly records: number;
  /** Epoch ms the job was created. */
  readonly createdAt: number;
}

/**
 * Where in-flight Bulk jobs are remembered between `doUpsert` calls, keyed
 * by a hash of the records sent (keys and values, never secrets). A poll that
 * runs out of time leaves its job here; the next upsert of the same records
 * reads that job's results instead of uploading them again. The default
 * keeps them in memory; implement it on Redis or a database to resume across
 * processes and restarts.
 */
export interface SalesforceBulkJobStore {
  /** The job recorded for `batchId`, if any. */
  get(batchId: string): SalesforceBulkJobRecord | undefined | Promise<SalesforceBulkJobRecord | undefined>;
  /** Record `job` for `batchId`. */
  set(batchId: string, job: SalesforceBulkJobRecord): void | Promise<void>;
  /** Forget `batchId` once its results are read. */
  delete(batchId: string): void | Promise<void>;
}

/** An in-memory {@link SalesforceBulkJobStore}: lost when the process ends. */
export function createMemoryBulkJobStore(): SalesforceBulkJobStore & {
  /** How many jobs are remembered now (jobs whose results were read are gone). */
  readonly size: number;
} {
  const jobs = new Map<string, SalesforceBulkJobRecord>();
  return {
    get size() {
      return jobs.size;
    },
    get: (batchId) => jobs.get(batchId),
    set: (batchId, job) => {
      jobs.set(batchId, job);
    },
    delete: (batchId) => {
      jobs.delete(batchId);
    },
  };
}

/** How the adapter polls a Bulk job. */
export interface SalesforceBulkPolling {
  /** First wait between polls, ms. */
  readonly intervalMs: number;
  /** Longest wait between polls (the wait grows by half each poll), ms. */
  readonly maxIntervalMs: number;
  /** How long one `doUpsert` polls before handing the job over to the next call, ms. */
  readonly timeoutMs: number;
}

const jobInfoSchema = z.object({
  id: z.string(),
  state: z.enum(['Open', 'UploadComplete', 'InProgress', 'JobComplete', 'Failed', 'Aborted']),
  errorMessage: z.string().nullish(),
});

type JobInfo = z.infer<typeof jobInfoSchema>;

/** One row to upload: the key and the converted values. */
export interface BulkRow {
  /** The record key (External ID value). */
  readonly key: string;
  /** Field values by API name. */
  readonly values: Readonly<Record<string, string | number | boolean>>;
}

/** A stable id of a set of rows: same keys and values, same id, whatever the order. */
function bulkBatchId(object: string, externalIdField: string, rows: readonly BulkRow[]): string {
  const hash = createHash('sha256').update(`${object}\u0000${externalIdField}\u0000`);
  const sorted = [...rows].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const row of sorted) {
    const entries = Object.entries(row.values).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    hash.update(`${row.key.toLowerCase()}\u0000${JSON.stringify(entries)}\u0001`);
  }
  return hash.digest('hex');
}

/** The CSV Bulk API 2.0 takes: the key column first, every field used by any row; empty cells leave a field unchanged. */
function toCsv(externalIdField: string, rows: readonly BulkRow[]): string {
  const columns = new Set<string>();
  for (const row of rows) for (const name of Object.keys(row.values)) columns.add(name);
  const header = [externalIdField, ...[...columns].sort()];
  const records = rows.map((row) =>
    header.map((name, index) => {
      if (index === 0) return row.key;
      const value = row.values[name];
      return value === undefined ? '' : String(value);
    }),
  );
  return stringify([header, ...records], { record_delimiter: 'unix', quoted_match: /[",\n\r]/ });
}

function parseCsv(text: string): Record<string, string>[] {
  if (text.trim() === '') return [];
  return parse(text, { columns: true, skip_empty_lines: true, relax_column_count: true, bom: true });
}

/** Read a Bulk `sf__Error` cell (`STATUS_CODE:message:fields --`) into a record error. */
function bulkRecordError(text: string): CrmRecordError {
  const first = text.split(' -- ')[0] ?? text;
  const match = /^([A-Z_]+):(.*?)(?::([^:]*))?(?:\s*--)?$/s.exec(first.trim());
  const statusCode = match?.[1] ?? 'UNKNOWN_EXCEPTION';
  const message = (match?.[2] ?? text).trim();
  const fields = (match?.[3] ?? '').split(',').filter((item) => item.trim() !== '');
  return recordErrorFromStatusCode({ statusCode, message, fields });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(aborted(signal));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(aborted(signal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function aborted(signal: AbortSignal | undefined): ApiCallError {
  return new ApiCallError('aborted', {
    message:
      'salesforce: the Bulk job poll was aborted; the job keeps running and the next upsert of these records resumes it',
    providerId: SALESFORCE_PROVIDER_ID,
    cause: signal?.reason,
  });
}

/** What a Bulk upsert needs. */
export interface BulkUpsertOptions {
  /** The REST client. */
  readonly api: SalesforceApi;
  /** Where in-flight jobs are recorded. */
  readonly store: SalesforceBulkJobStore;
  /** How the job is polled. */
  readonly polling: SalesforceBulkPolling;
  /** The clock, epoch ms (the poll timeout). */
  readonly now: () => number;
  /** The sObject. */
  readonly object: string;
  /** The External ID field the rows are keyed by. */
  readonly externalIdField: string;
  /** The rows, already checked and converted. */
  readonly rows: readonly BulkRow[];
  /** Aborts the calls and the polling (the job stays recorded). */
  readonly signal: AbortSignal | undefined;
  /** Told what `Sforce-Limit-Info` said. */
  readonly onRateLimit: ((state: RateLimitState) => void) | undefined;
  /** Told the job id when a job is created or resumed. */
  readonly onJob?: (jobId: string, resumed: boolean) => void;
}

/**
 * Upsert rows through one Bulk API 2.0 ingest job: create it, upload the CSV,
 * mark it `UploadComplete`, poll with a growing wait, then read the
 * successful, failed and unprocessed rows and join them to the input by key
 * (Bulk results are unordered). A job already recorded for the same rows is
 * resumed instead. When polling runs out of time, every row fails with the
 * retryable code `timeout` and vendor code `BULK_JOB_PENDING`: the job keeps
 * running in Salesforce and stays recorded, so the retry reads its results.
 */
export async function bulkUpsert(options: BulkUpsertOptions): Promise<CrmUpsertResult[]> {
  const { api, store, object, externalIdField, rows, signal, onRateLimit } = options;
  const batchId = bulkBatchId(object, externalIdField, rows);
  const call = <T>(request: Parameters<SalesforceApi['call']>[0] & { schema?: z.ZodType<T> }) =>
    api.call<T>({ ...request, onRateLimit, ...(signal === undefined ? {} : { signal }) });

  const deadline = options.now() + options.polling.timeoutMs;
  let wait = options.polling.intervalMs;
  const readJob = async (id: string) =>
    (await call({ path: `jobs/ingest/${id}`, schema: jobInfoSchema })).data;
  /**
   * Run `step` again after a transient failure (5xx, timeout, network, limit) until it works or the
   * poll time is up (`undefined`). Only for steps that may be repeated: once a job is closed, its
   * rows are the org's to write, so a lost answer must not end this call as failed while the job
   * goes on writing them.
   */
  const whileTransient = async <T>(step: () => Promise<T>): Promise<T | undefined> => {
    for (;;) {
      try {
        return await step();
      } catch (error) {
        if (!isTransient(error)) throw error;
        const left = deadline - options.now();
        if (left <= 0) return undefined;
        const retryAfter = ApiCallError.isInstance(error) ? error.retryAfterMs : undefined;
        await sleep(Math.min(retryAfter ?? wait, left), signal);
        wait = Math.min(options.polling.maxIntervalMs, Math.ceil(wait * 1.5));
      }
    }
  };
  /**
   * Mark the uploaded job `UploadComplete`. When the answer is lost (the PATCH may have reached
   * Salesforce or not), read the job: still `Open`, close it again; closed, go on with it.
   */
  const closeJob = async (id: string): Promise<JobInfo> => {
    let current: JobInfo | undefined;
    for (;;) {
      try {
        return (
          await call({
            method: 'PATCH',
            path: `jobs/ingest/${id}`,
            json: { state: 'UploadComplete' },
            schema: jobInfoSchema,
          })
        ).data;
      } catch (error) {
        // A conflict: an earlier PATCH whose answer was lost closed it meanwhile.
        const conflict = ApiCallError.isInstance(error) && (error.status === 409 || error.status === 400);
        if (!isTransient(error) && !conflict) throw error;
        current = await whileTransient(() => readJob(id));
        if (current === undefined) throw error;
        if (current.state !== 'Open') return current;
        if (deadline - options.now() <= 0) throw error;
        await sleep(Math.min(wait, Math.max(0, deadline - options.now())), signal);
      }
    }
  };

  let job: JobInfo | undefined;
  const recorded = await store.get(batchId);
  if (recorded !== undefined) {
    try {
      job = (await call({ path: `jobs/ingest/${recorded.jobId}`, schema: jobInfoSchema })).data;
    } catch (error) {
      if (!(ApiCallError.isInstance(error) && error.code === 'not_found')) throw error;
      job = undefined;
    }
    if (job?.state === 'Open') {
      // The upload may not have finished: abort the job and start again.
      await call({
        method: 'PATCH',
        path: `jobs/ingest/${job.id}`,
        json: { state: 'Aborted' },
        responseType: 'none',
      });
      job = undefined;
    }
    if (job === undefined) await store.delete(batchId);
    else options.onJob?.(job.id, true);
  }
  if (job === undefined) {
    const created = await call({
      method: 'POST',
      path: 'jobs/ingest',
      json: {
        object,
        operation: 'upsert',
        externalIdFieldName: externalIdField,
        contentType: 'CSV',
        lineEnding: 'LF',
      },
      schema: jobInfoSchema,
    });
    job = created.data;
    await store.set(batchId, {
      jobId: job.id,
      object,
      externalIdField,
      records: rows.length,
      createdAt: options.now(),
    });
    options.onJob?.(job.id, false);
    await call({
      method: 'PUT',
      path: `jobs/ingest/${job.id}/batches`,
      body: toCsv(externalIdField, rows),
      headers: { 'content-type': 'text/csv' },
      responseType: 'none',
    });
    job = await closeJob(job.id);
  }
  return finishJob(job);

  async function finishJob(started: JobInfo): Promise<CrmUpsertResult[]> {
    let job: JobInfo = started;
    while (job.state === 'UploadComplete' || job.state === 'InProgress') {
      const left = deadline - options.now();
      if (left <= 0) return pending(rows, job);
      await sleep(Math.min(wait, left), signal);
      wait = Math.min(options.polling.maxIntervalMs, Math.ceil(wait * 1.5));
      const id = job.id;
      const polled = await whileTransient(() => readJob(id));
      if (polled === undefined) return pending(rows, job);
      job = polled;
    }

    const jobId = job.id;
    const text = (kind: string) =>
      whileTransient(
        async () =>
          (
            await call<string>({
              path: `jobs/ingest/${jobId}/${kind}`,
              responseType: 'text',
              headers: { accept: 'text/csv' },
            })
          ).data,
      );
    const texts: string[] = [];
    for (const kind of ['successfulResults', 'failedResults', 'unprocessedrecords']) {
      const read = await text(kind);
      // Out of time: the job stays recorded, and the next upsert of these rows reads its results.
      if (read === undefined) return pending(rows, job);
      texts.push(read);
    }
    const [successful, failed, unprocessed] = texts.map(parseCsv) as [
      Record<string, string>[],
      Record<string, string>[],
      Record<string, string>[],
    ];

    const byKey = new Map<string, CrmUpsertResult>();
    const keyOf = (row: Record<string, string>) => (row[externalIdField] ?? '').toLowerCase();
    for (const row of successful) {
      const key = keyOf(row);
      byKey.set(key, {
        key,
        status: /^true$/i.test(row.sf__Created ?? '') ? 'created' : 'updated',
        id: row.sf__Id ?? '',
      });
    }
    for (const row of failed) {
      const key = keyOf(row);
      byKey.set(key, { key, status: 'failed', error: bulkRecordError(row.sf__Error ?? '') });
    }
    for (const row of unprocessed) {
      const key = keyOf(row);
      byKey.set(key, {
        key,
        status: 'failed',
        error: {
          code: 'server_error',
          message: `Bulk job ${job.id} ended ${job.state} before processing this row${job.errorMessage ? `: ${job.errorMessage}` : ''}`,
          retryable: true,
          vendorCode: 'BULK_ROW_UNPROCESSED',
          raw: { jobId: job.id, state: job.state },
        },
      });
    }
    await store.delete(batchId);
    const finalJob = job;
    return rows.map((row): CrmUpsertResult => {
      const result = byKey.get(row.key.toLowerCase());
      if (result === undefined) {
        return {
          key: row.key,
          status: 'failed',
          error: {
            code: 'missing_result',
            message: `Bulk job ${finalJob.id} (${finalJob.state}) returned no result for this row${
              finalJob.errorMessage ? `: ${finalJob.errorMessage}` : ''
            }`,
            retryable: true,
            vendorCode:
              finalJob.state === 'JobComplete'
                ? 'BULK_ROW_MISSING'
                : `BULK_JOB_${finalJob.state.toUpperCase()}`,
            raw: { jobId: finalJob.id, state: finalJob.state },
          },
        };
      }
      return { ...result, key: row.key };
    });
  }
}

/** A failure worth repeating an idempotent step for: retryable (5xx, timeout, network, malformed answer, limit). */
function isTransient(error: unknown): boolean {
  return ApiCallError.isInstance(error) && error.isRetryable && error.code !== 'unauthorized';
}

function pending(rows: readonly BulkRow[], job: JobInfo): CrmUpsertResult[] {
  const error: CrmRecordError = {
    code: 'timeout',
    message: `Bulk job ${job.id} is still ${job.state}; it keeps running in Salesforce, and the next upsert of these records reads its results instead of uploading them again`,
    retryable: true,
    vendorCode: 'BULK_JOB_PENDING',
    raw: { jobId: job.id, state: job.state },
  };
  return rows.map((row) => ({ key: row.key, status: 'failed', error }));
}

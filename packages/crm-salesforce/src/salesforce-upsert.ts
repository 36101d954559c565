import {
  ApiCallError,
  type CrmCallOptions,
  type CrmUpsertRequest,
  type CrmUpsertResult,
  recordErrorFromError,
} from '@leadpipe/core/adapter-kit';
import type { SalesforceApi } from './salesforce-api.js';
import {
  type BulkRow,
  bulkUpsert,
  type SalesforceBulkJobStore,
  type SalesforceBulkPolling,
} from './salesforce-bulk.js';
import type { SalesforceDescriptions } from './salesforce-describe.js';
import { idFieldOf } from './salesforce-describe.js';
import {
  missingRequiredFailure,
  type PreparedRecord,
  prepareRecord,
  type SalesforceField,
  type SalesforceValues,
} from './salesforce-fields.js';
import type { PicklistSynonyms } from './salesforce-picklists.js';
import { chunk, findByKeys } from './salesforce-query.js';
import { collectionResultsSchema, recordErrorFromStatusCode } from './salesforce-results.js';

/** Records per sObject Collections call (Salesforce's maximum). */
export const SALESFORCE_COLLECTION_SIZE = 200;

/** A record ready to send: its key and converted values. */
interface ReadyRecord {
  readonly key: string;
  readonly values: SalesforceValues;
}

/**
 * Upsert through sObject Collections, 200 records a call, all calls at once
 * (the API client caps requests in flight). A call that fails fails its
 * records with the error (retryable when it is); only when every call
 * failed, or one was aborted, does the whole upsert reject.
 */
async function collectionsUpsert(
  api: SalesforceApi,
  object: string,
  idField: SalesforceField,
  records: readonly ReadyRecord[],
  options: CrmCallOptions,
): Promise<CrmUpsertResult[]> {
  const chunks = chunk(records, SALESFORCE_COLLECTION_SIZE);
  const outcomes = await Promise.allSettled(
    chunks.map(async (group) => {
      const response = await api.call({
        method: 'PATCH',
        path: `composite/sobjects/${object}/${idField.name}`,
        json: {
          allOrNone: false,
          records: group.map((record) => ({
            attributes: { type: object },
            ...record.values,
            [idField.name]: record.key,
          })),
        },
        schema: collectionResultsSchema,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        onRateLimit: options.onRateLimit,
      });
      return group.map((record, index): CrmUpsertResult => {
        const result = response.data[index];
        if (result === undefined) {
          return {
            key: record.key,
            status: 'failed',
            error: {
              code: 'missing_result',
              message: 'Salesforce returned no result for this record',
              retryable: true,
            },
          };
        }
        if (result.success) {
          return {
            key: record.key,
            status: result.created === true ? 'created' : 'updated',
            id: result.id ?? '',
          };
        }
        const first = result.errors?.[0];
        return {
          key: record.key,
          status: 'failed',
          error: recordErrorFromStatusCode({
            statusCode: first?.statusCode ?? 'UNKNOWN_EXCEPTION',
            message: first?.message ?? 'the record was not saved',
            fields: first?.fields ?? [],
          }),
        };
      });
    }),
  );
  const failures = outcomes.filter((outcome) => outcome.status === 'rejected');
  if (failures.length === outcomes.length && failures[0] !== undefined) throw failures[0].reason;
  const aborted = failures.find(
    (outcome) => ApiCallError.isInstance(outcome.reason) && outcome.reason.code === 'aborted',
  );
  if (aborted !== undefined) throw aborted.reason;
  return outcomes.flatMap((outcome, index) => {
    if (outcome.status === 'fulfilled') return outcome.value;
    const error = recordErrorFromError(outcome.reason);
    return (chunks[index] ?? []).map(
      (record): CrmUpsertResult => ({ key: record.key, status: 'failed', error }),
    );
  });
}

/** What {@link upsertRecords} needs beside the request. */
export interface SalesforceUpsertContext {
  /** The REST client. */
  readonly api: SalesforceApi;
  /** Object descriptions. */
  readonly descriptions: SalesforceDescriptions;
  /** Where Bulk jobs are remembered. */
  readonly jobStore: SalesforceBulkJobStore;
  /** How Bulk jobs are polled. */
  readonly polling: SalesforceBulkPolling;
  /** From this many ready records, one Bulk API 2.0 job. */
  readonly bulkThreshold: number;
  /** The clock, epoch ms. */
  readonly now: () => number;
  /** Enriched values and the picklist values they stand for. */
  readonly synonyms: PicklistSynonyms;
}

/**
 * Upsert a checked request by External ID: values are checked and converted
 * against the object's description (a bad value fails its record); records
 * without the fields required on create are kept only when their key
 * already exists (they can only update); the rest go through Collections,
 * or one Bulk job from `bulkThreshold` records. Results come back keyed, in
 * no particular order.
 */
export async function upsertRecords(
  context: SalesforceUpsertContext,
  request: CrmUpsertRequest,
  options: CrmCallOptions,
): Promise<CrmUpsertResult[]> {
  const { api, descriptions, jobStore, polling, bulkThreshold, now, synonyms } = context;
  const { object } = request;
  api.checkBeforeCall(options.signal);
  await api.session(options.signal);
  const description = await descriptions.describe(object, options);
  const idField = idFieldOf(description, request.idProperty);

  const results: CrmUpsertResult[] = [];
  const ready: ReadyRecord[] = [];
  const needsExisting: Extract<PreparedRecord, { ok: true }>[] = [];
  const rules = {
    synonyms,
    required: new Set((request.requiredProperties ?? []).map((name) => name.toLowerCase())),
  };
  const warnings = new Map<string, Extract<PreparedRecord, { ok: true }>['warnings']>();
  for (const record of request.records) {
    const prepared = prepareRecord(record, idField, description, rules);
    if (prepared.ok && prepared.warnings.length > 0) warnings.set(prepared.key, prepared.warnings);
    if (!prepared.ok) results.push({ key: record.key, status: 'failed', error: prepared.error });
    else if (prepared.missingRequired.length > 0) needsExisting.push(prepared);
    else ready.push({ key: prepared.key, values: prepared.values });
  }
  if (needsExisting.length > 0) {
    // Records without LastName/Company can only update: keep those whose key exists.
    const existing = await findByKeys(
      api,
      object,
      idField,
      needsExisting.map((record) => record.key),
      [],
      options,
    );
    for (const record of needsExisting) {
      if (existing.has(record.key.toLowerCase())) ready.push({ key: record.key, values: record.values });
      else {
        const failure = missingRequiredFailure(record.key, object, record.missingRequired);
        if (!failure.ok) results.push({ key: record.key, status: 'failed', error: failure.error });
      }
    }
  }
  if (ready.length > 0) {
    const written =
      ready.length >= bulkThreshold
        ? await bulkUpsert({
            api,
            store: jobStore,
            polling,
            now,
            object,
            externalIdField: idField.name,
            rows: ready as BulkRow[],
            signal: options.signal,
            onRateLimit: options.onRateLimit,
          })
        : await collectionsUpsert(api, object, idField, ready, options);
    results.push(...written);
  }
  if (warnings.size === 0) return results;
  // A record written without a field says which, and why.
  return results.map((result) => {
    const left = result.status === 'failed' ? undefined : warnings.get(result.key);
    return left === undefined ? result : { ...result, warnings: left };
  });
}

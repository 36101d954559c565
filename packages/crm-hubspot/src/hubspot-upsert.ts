import {
  type CrmCallOptions,
  type CrmPropertyValue,
  type CrmRecordError,
  type CrmRecordErrorCode,
  type CrmUpsertRequest,
  type CrmUpsertResult,
  redactSecrets,
  redactValue,
} from '@leadpipe/core/adapter-kit';
import type { HubspotClient } from './hubspot-client.js';
import { batchResponseSchema, type HubspotBatchError } from './hubspot-schemas.js';

const PERMANENT_CATEGORIES: Readonly<Record<string, CrmRecordErrorCode>> = {
  VALIDATION_ERROR: 'validation_failed',
  INVALID_EMAIL: 'validation_failed',
  PROPERTY_DOESNT_EXIST: 'validation_failed',
  CONFLICT: 'duplicate_key',
  OBJECT_ALREADY_EXISTS: 'duplicate_key',
  OBJECT_NOT_FOUND: 'not_found',
  BAD_REQUEST: 'invalid_request',
  INVALID_AUTHENTICATION: 'unauthorized',
  MISSING_SCOPES: 'forbidden',
};

/**
 * A HubSpot per-record error as a record error: validation, conflict and
 * auth categories are permanent; `RATE_LIMITS` is `rate_limited`; anything
 * else is a retryable `server_error`.
 */
function recordErrorOf(error: HubspotBatchError, adapterId: string): CrmRecordError {
  const category = error.category ?? 'UNKNOWN';
  const permanent = PERMANENT_CATEGORIES[category];
  const code: CrmRecordErrorCode =
    permanent ?? (category === 'RATE_LIMITS' ? 'rate_limited' : 'server_error');
  return {
    code,
    message: redactSecrets(`${adapterId}: ${error.message ?? `HubSpot reported ${category}`}`).slice(0, 1000),
    retryable: permanent === undefined,
    vendorCode: category,
    raw: redactValue(error),
  };
}

/** The form HubSpot compares keys of `idProperty` in (emails are case-insensitive). */
export function normalizeKey(idProperty: string, key: string): string {
  return idProperty === 'email' ? key.trim().toLowerCase() : key;
}

function stringValue(value: CrmPropertyValue): string {
  return typeof value === 'string' ? value : String(value);
}

/** What one batch upsert produced: results in request order, and the records written with their ids. */
export interface HubspotUpsertOutcome {
  /** One result per record of the request, in its order. */
  readonly results: CrmUpsertResult[];
  /** Indexes of written records with HubSpot's ids, for company association. */
  readonly written: readonly { readonly index: number; readonly id: string }[];
}

/**
 * One batch upsert (`/batch/upsert`, 200 or 207) of a checked request: keys
 * that repeat (by HubSpot's comparison) fail as `duplicate_key` without
 * being sent; results and errors are joined back through
 * `objectWriteTraceId`, else by key; an error HubSpot did not attribute is
 * given, retryable, to every record left without a result.
 */
export async function upsertBatch(
  client: HubspotClient,
  request: CrmUpsertRequest,
  callOptions: CrmCallOptions,
  adapterId: string,
): Promise<HubspotUpsertOutcome> {
  const { object, idProperty, records } = request;
  const results = new Map<number, CrmUpsertResult>();
  const firstIndexOf = new Map<string, number>();
  const sendIndexes: number[] = [];
  records.forEach((record, index) => {
    const normalized = normalizeKey(idProperty, record.key);
    const first = firstIndexOf.get(normalized);
    if (first !== undefined) {
      results.set(index, {
        key: record.key,
        status: 'failed',
        error: {
          code: 'duplicate_key',
          message: `${adapterId}: the key appears twice in one batch (as records[${first}] too); HubSpot rejects such batches`,
          retryable: false,
        },
      });
      return;
    }
    firstIndexOf.set(normalized, index);
    sendIndexes.push(index);
  });

  const inputs = sendIndexes.map((index) => {
    const record = records[index]!;
    const properties: Record<string, string> = {};
    for (const [name, value] of Object.entries(record.properties)) {
      if (value !== undefined && value !== null) properties[name] = stringValue(value);
    }
    properties[idProperty] = record.key;
    return { id: record.key, idProperty, properties, objectWriteTraceId: String(index) };
  });
  const response = await client.call(
    {
      method: 'POST',
      path: `/crm/v3/objects/${object}/batch/upsert`,
      json: { inputs },
      acceptStatus: [207],
      schema: batchResponseSchema,
    },
    callOptions,
  );

  const byKey = new Map<string, number>();
  for (const index of sendIndexes) byKey.set(normalizeKey(idProperty, records[index]!.key), index);
  const sent = new Set(sendIndexes);
  const indexOfTrace = (trace: string | undefined): number | undefined => {
    if (trace === undefined || !/^\d+$/.test(trace)) return undefined;
    const index = Number(trace);
    return sent.has(index) ? index : undefined;
  };
  const written: { index: number; id: string }[] = [];
  for (const result of response.data.results) {
    const keyValue = result.properties?.[idProperty];
    const index =
      indexOfTrace(result.objectWriteTraceId) ??
      (typeof keyValue === 'string' ? byKey.get(normalizeKey(idProperty, keyValue)) : undefined);
    if (index === undefined || results.has(index)) continue;
    results.set(index, {
      key: records[index]!.key,
      status: result.new === true ? 'created' : 'updated',
      id: result.id,
    });
    written.push({ index, id: result.id });
  }
  const unassigned: HubspotBatchError[] = [];
  for (const error of response.data.errors) {
    const targets = new Set<number>();
    for (const trace of error.context?.objectWriteTraceId ?? []) {
      const index = indexOfTrace(trace);
      if (index !== undefined) targets.add(index);
    }
    if (targets.size === 0) {
      for (const id of error.context?.ids ?? []) {
        const index = byKey.get(normalizeKey(idProperty, id));
        if (index !== undefined) targets.add(index);
      }
    }
    if (targets.size === 0) unassigned.push(error);
    for (const index of targets) {
      if (results.has(index)) continue;
      results.set(index, {
        key: records[index]!.key,
        status: 'failed',
        error: recordErrorOf(error, adapterId),
      });
    }
  }
  for (const index of sendIndexes) {
    if (results.has(index)) continue;
    const first = unassigned[0];
    const error: CrmRecordError =
      first === undefined
        ? {
            code: 'missing_result',
            message: `${adapterId}: HubSpot returned neither a result nor an error for this record`,
            retryable: true,
          }
        : {
            // HubSpot did not say which record the error was about: sending this one again is safe (keyed upsert).
            ...recordErrorOf(first, adapterId),
            retryable: true,
          };
    results.set(index, { key: records[index]!.key, status: 'failed', error });
  }
  return { results: records.map((_record, index) => results.get(index)!), written };
}

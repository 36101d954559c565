import type { CrmGetRequest, CrmListChangesRequest, CrmUpsertRequest } from '../contracts/crm-adapter.js';
import { ValidationError, type ValidationIssue } from '../contracts/errors.js';

/** What the request checks of one adapter know: see {@link checkUpsertRequest}. */
export interface CrmRequestRules {
  /** Adapter id, named in errors. */
  readonly adapterId: string;
  /** Objects the adapter writes and reads. */
  readonly objects: readonly string[];
  /** Most records (or keys) per call. */
  readonly maxBatchSize: number;
  /** What a property name of this CRM looks like, and how to say so in an error. */
  readonly propertyName: {
    /** Matches a valid property name. */
    readonly pattern: RegExp;
    /** Completes "must be …", such as `a HubSpot property name`. */
    readonly description: string;
  };
}

function fail(issues: readonly ValidationIssue[], rules: CrmRequestRules): never {
  throw new ValidationError(issues, { providerId: rules.adapterId });
}

function checkObject(object: unknown, rules: CrmRequestRules): string {
  if (typeof object !== 'string' || !rules.objects.includes(object)) {
    fail(
      [
        {
          field: 'object',
          reason: `must be one of ${rules.objects.join(', ')}, got ${JSON.stringify(object)}`,
        },
      ],
      rules,
    );
  }
  return object;
}

function checkPropertyName(value: unknown, field: string, rules: CrmRequestRules): void {
  if (typeof value !== 'string' || !rules.propertyName.pattern.test(value)) {
    fail(
      [{ field, reason: `must be ${rules.propertyName.description}, got ${JSON.stringify(value)}` }],
      rules,
    );
  }
}

function checkList(value: unknown, field: string, rules: CrmRequestRules): readonly unknown[] {
  if (!Array.isArray(value)) fail([{ field, reason: 'must be an array' }], rules);
  if (value.length > rules.maxBatchSize) {
    fail([{ field, reason: `at most ${rules.maxBatchSize} fit in one call, got ${value.length}` }], rules);
  }
  return value;
}

function checkPropertyNames(value: unknown, rules: CrmRequestRules): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) fail([{ field: 'properties', reason: 'must be an array' }], rules);
  value.forEach((name, index) => {
    checkPropertyName(name, `properties[${index}]`, rules);
  });
}

/**
 * Check a `doUpsert` request before anything is sent: `object` is one of the
 * adapter's, `idProperty` a property name, `records` an array of at most
 * `maxBatchSize` records each with a non-empty string `key` and an object
 * of `properties`.
 *
 * @throws ValidationError naming every wrong field.
 */
export function checkUpsertRequest(request: CrmUpsertRequest, rules: CrmRequestRules): void {
  if (typeof request !== 'object' || request === null)
    fail([{ field: 'request', reason: 'must be an object' }], rules);
  checkObject(request.object, rules);
  checkPropertyName(request.idProperty, 'idProperty', rules);
  const records = checkList(request.records, 'records', rules);
  const issues: ValidationIssue[] = [];
  records.forEach((record, index) => {
    const candidate = record as Partial<CrmUpsertRequest['records'][number]> | null;
    if (typeof candidate?.key !== 'string' || candidate.key.trim() === '') {
      issues.push({ field: `records[${index}].key`, reason: 'must be a non-empty string' });
    }
    if (typeof candidate?.properties !== 'object' || candidate.properties === null) {
      issues.push({ field: `records[${index}].properties`, reason: 'must be an object' });
    }
  });
  if (issues.length > 0) fail(issues, rules);
}

/**
 * Check a `doGet` request: `object`, `idProperty`, `keys` (an array of at
 * most `maxBatchSize` strings) and `properties` (property names).
 *
 * @throws ValidationError naming the wrong field.
 */
export function checkGetRequest(request: CrmGetRequest, rules: CrmRequestRules): void {
  if (typeof request !== 'object' || request === null)
    fail([{ field: 'request', reason: 'must be an object' }], rules);
  checkObject(request.object, rules);
  checkPropertyName(request.idProperty, 'idProperty', rules);
  const keys = checkList(request.keys, 'keys', rules);
  const bad = keys.findIndex((key) => typeof key !== 'string');
  if (bad >= 0) fail([{ field: `keys[${bad}]`, reason: 'must be a string' }], rules);
  if (!Array.isArray(request.properties)) fail([{ field: 'properties', reason: 'must be an array' }], rules);
  checkPropertyNames(request.properties, rules);
}

/** A `doListChanges` request after the kit's checks: cursor decoded, `since` parsed, properties defaulted. */
export interface CheckedListChangesRequest<Cursor> {
  /** CRM object type, one of the adapter's. */
  readonly object: string;
  /** The decoded cursor, when the request carried one. */
  readonly cursor?: Cursor;
  /** Where to start without a cursor, epoch ms. */
  readonly since?: number;
  /** Properties to return (checked names; empty when none were asked for). */
  readonly properties: readonly string[];
  /** Most records in the page, when the caller said. */
  readonly limit?: number;
}

/** Rules for listing changes, beside {@link CrmRequestRules}. */
export interface ListChangesRules<Cursor> extends CrmRequestRules {
  /** Reads a cursor string back; throws a `ValidationError` naming `cursor` for a foreign one. */
  readonly decodeCursor: (text: string) => Cursor;
  /** Largest `limit` accepted. Default: no upper bound. */
  readonly maxLimit?: number;
}

/** An ISO 8601 time (also Salesforce's `+0000` offsets) as epoch ms, or undefined. */
export function parseIsoTime(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Check a `doListChanges` request and decode its cursor: `object`,
 * `properties` (property names), `limit` (an integer from 1 to `maxLimit`),
 * `cursor` (one this adapter issued) or else `since` (an ISO 8601 time).
 *
 * @throws ValidationError naming the wrong field.
 */
export function checkListChangesRequest<Cursor>(
  request: CrmListChangesRequest,
  rules: ListChangesRules<Cursor>,
): CheckedListChangesRequest<Cursor> {
  if (typeof request !== 'object' || request === null)
    fail([{ field: 'request', reason: 'must be an object' }], rules);
  const object = checkObject(request.object, rules);
  checkPropertyNames(request.properties, rules);
  const { limit } = request;
  const maxLimit = rules.maxLimit ?? Number.MAX_SAFE_INTEGER;
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= maxLimit)) {
    const range =
      rules.maxLimit === undefined ? 'a positive integer' : `an integer from 1 to ${rules.maxLimit}`;
    fail([{ field: 'limit', reason: `must be ${range}, got ${String(limit)}` }], rules);
  }
  const base = { object, properties: request.properties ?? [], ...(limit === undefined ? {} : { limit }) };
  if (request.cursor !== undefined) return { ...base, cursor: rules.decodeCursor(request.cursor) };
  if (request.since === undefined) return base;
  const since = parseIsoTime(request.since);
  if (since === undefined) fail([{ field: 'since', reason: 'must be an ISO 8601 date-time' }], rules);
  return { ...base, since };
}

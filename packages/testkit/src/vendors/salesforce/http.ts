import type { Context, Hono } from 'hono';
import type { EmulatorContext } from '../../emulator/context.js';
import type { BulkJobs } from './bulk.js';
import { httpFailure, notFound, type SalesforceHttpFailure } from './errors.js';
import { hasIdShape, ID_PREFIX, normalizeId } from './ids.js';
import type { ApiUsage, InFlightRequests } from './limits.js';
import type { TokenStore } from './oauth.js';
import { coerceValue, type FieldValue, type LeadSchema, type SalesforceFieldDefinition } from './schema.js';
import type { SalesforceSettings } from './settings.js';
import type { SalesforceState } from './state.js';
import type { LeadRecord, LeadStore, SaveOutcome } from './store.js';
import type { SalesforceLead } from './types.js';

/** Everything route handlers share. */
export interface RouteDeps {
  /** The app routes are added to. */
  readonly app: Hono;
  /** Clock and counters. */
  readonly context: EmulatorContext;
  /** The emulated clock, ms. */
  readonly now: () => number;
  /** The checked options. */
  readonly settings: SalesforceSettings;
  /** Limits, sequences, randomness, cursors and Outbound Messages as they are now. */
  readonly state: SalesforceState;
  /** Lead's fields. */
  readonly schema: LeadSchema;
  /** The Leads. */
  readonly store: LeadStore;
  /** Bulk API 2.0 ingest jobs. */
  readonly bulk: BulkJobs;
  /** Sessions and OAuth. */
  readonly tokens: TokenStore;
  /** Daily API request usage. */
  readonly usage: ApiUsage;
  /** Requests running now, for the concurrent long-running limit. */
  readonly inFlight: InFlightRequests;
  /** Add `by` (default 1) to counter `salesforce.<name>`. */
  count(name: string, by?: number): void;
  /** Count a save's outcome (created, updated or failed) and queue its Outbound Message. */
  countOutcome(outcome: SaveOutcome): void;
  /** A Lead as the API shows it: `fields` (default all), datetimes formatted. */
  present(record: LeadRecord, fields?: readonly SalesforceFieldDefinition[]): SalesforceLead;
  /** {@link RouteDeps.present} with the record's `attributes` for API `version`. */
  withAttributes(
    record: LeadRecord,
    version: string,
    fields?: readonly SalesforceFieldDefinition[],
  ): Record<string, unknown>;
  /** The instance URL to hand out for a request (and remember as the last origin). */
  instanceUrlOf(c: Context): string;
}

/** The path prefix of every versioned API route. */
export const V = '/services/data/:version';
/** Most records in one sObject Collections call. */
export const MAX_COLLECTION = 200;

/** A plain JSON object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The API version of a request, such as `62.0`. */
export const versionOf = (c: Context): string => c.req.param('version')?.slice(1) ?? '62.0';

/** The major API version of a request, such as 62. */
export const majorOf = (c: Context): number => Number.parseInt(versionOf(c), 10);

/** A Salesforce error response, counted by status. */
export function errorResponse(deps: Pick<RouteDeps, 'count'>, c: Context, failure: SalesforceHttpFailure) {
  deps.count(`status.${failure.status}`);
  return c.json(failure.errors, failure.status as 400);
}

/** The request body as JSON; `JSON_PARSER_ERROR` when empty or malformed. */
export async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '')
    throw httpFailure(400, 'JSON_PARSER_ERROR', 'No content to map due to end-of-input');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw httpFailure(400, 'JSON_PARSER_ERROR', `Unexpected character: ${(error as Error).message}`);
  }
}

/** `NOT_FOUND` unless the route's `:object` is Lead (the only object emulated). */
export function requireLead(c: Context): void {
  if (c.req.param('object')?.toLowerCase() !== 'lead') throw notFound();
}

/** Turn a JSON record into canonical field values; unknown fields and wrong JSON types fail the request. */
export function deserialize(schema: LeadSchema, body: unknown): Map<string, FieldValue> {
  if (!isRecord(body)) {
    throw httpFailure(400, 'JSON_PARSER_ERROR', 'Cannot deserialize instance of Lead from non-object value');
  }
  const values = new Map<string, FieldValue>();
  for (const [name, raw] of Object.entries(body)) {
    if (name === 'attributes') continue;
    const field = schema.field(name);
    if (field === undefined) {
      throw httpFailure(400, 'INVALID_FIELD', `No such column '${name}' on sobject of type Lead`);
    }
    const coerced = coerceValue(field, raw, 'json');
    if (coerced.kind === 'value') values.set(field.name, coerced.value);
  }
  return values;
}

/** A Lead id from a path, as 18 characters; `NOT_FOUND` or `MALFORMED_ID` when it is not one. */
export function resolveId(raw: string): string {
  const id = normalizeId(raw, ID_PREFIX.lead);
  if (id !== undefined) return id;
  if (!hasIdShape(raw)) {
    throw httpFailure(
      404,
      'NOT_FOUND',
      `Provided external ID field does not exist or is not accessible: ${raw}`,
    );
  }
  throw httpFailure(400, 'MALFORMED_ID', `Lead ID: id value of incorrect type: ${raw}`, ['Id']);
}

/** The Lead with `id`; `NOT_FOUND` when missing or deleted. */
export function liveLead(store: LeadStore, id: string): LeadRecord {
  const record = store.get(id);
  if (record === undefined || record.IsDeleted === true) throw notFound();
  return record;
}

/** The fields of the `fields` query parameter, or `undefined` for all; `INVALID_FIELD` for an unknown one. */
export function selectedFields(schema: LeadSchema, c: Context): SalesforceFieldDefinition[] | undefined {
  const fields = c.req.query('fields');
  if (fields === undefined) return undefined;
  return fields.split(',').map((name) => {
    const field = schema.field(name.trim());
    if (field === undefined)
      throw httpFailure(400, 'INVALID_FIELD', `No such column '${name.trim()}' on entity 'Lead'`);
    return field;
  });
}

/** The External ID field (or `Id`) named in a path; `NOT_FOUND` for any other. */
export function externalField(schema: LeadSchema, name: string): SalesforceFieldDefinition {
  const field = schema.field(name);
  if (field === undefined || (field.externalId !== true && field.type !== 'id')) {
    throw httpFailure(
      404,
      'NOT_FOUND',
      `Provided external ID field does not exist or is not accessible: ${name}`,
    );
  }
  return field;
}

/** A handler answering `METHOD_NOT_ALLOWED` (405), naming the `allowed` methods. */
export const methodNotAllowed = (allowed: string) => (c: Context) => {
  throw httpFailure(
    405,
    'METHOD_NOT_ALLOWED',
    `HTTP Method '${c.req.method}' not allowed. Allowed are ${allowed}`,
  );
};

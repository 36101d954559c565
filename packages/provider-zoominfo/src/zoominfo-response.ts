import type { ZoomInfoApi } from './zoominfo-limits.js';
import type { ZoomInfoRecord } from './zoominfo-mapping.js';

/** One input's answer, whichever API it came from. */
export interface ZoomInfoAnswer {
  /** ZoomInfo's `matchStatus`, when it sent one. */
  readonly matchStatus?: string;
  /** The record, when one came back. */
  readonly record?: ZoomInfoRecord;
}

function object(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function legacyEntry(entry: unknown): ZoomInfoAnswer | undefined {
  const item = object(entry);
  if (item === undefined) return undefined;
  const data = Array.isArray(item.data) ? item.data : item.data === undefined ? [] : [item.data];
  const record = object(data[0]);
  // A record carrying only an error message (seen in the wild) is no record.
  const usable = record !== undefined && !(Object.keys(record).length === 1 && 'errorMessage' in record);
  return {
    ...(typeof item.matchStatus === 'string' ? { matchStatus: item.matchStatus } : {}),
    ...(usable ? { record } : {}),
  };
}

function gtmEntry(entry: unknown): ZoomInfoAnswer | undefined {
  const item = object(entry);
  if (item === undefined) return undefined;
  const meta = object(item.meta);
  const attributes = object(item.attributes);
  const matchStatus = typeof meta?.matchStatus === 'string' ? meta.matchStatus : undefined;
  if (item.type === 'NoMatch' || attributes === undefined)
    return matchStatus === undefined ? {} : { matchStatus };
  return {
    ...(matchStatus === undefined ? {} : { matchStatus }),
    record: { ...attributes, ...(item.id === undefined ? {} : { id: item.id }) },
  };
}

/**
 * The answers of an enrich response, one per input in input order, or
 * `undefined` when the body is neither API's envelope. Legacy:
 * `{success, data: {outputFields, result: [{input, data: [record], matchStatus}]}}`;
 * GTM (JSON:API): `{data: [{type: "Contact"|"Company"|"NoMatch", id, attributes, meta: {input, matchStatus}}]}`.
 * Either is read whatever the API asked, as integrators have seen both.
 */
export function readEnrichAnswers(api: ZoomInfoApi, json: unknown): ZoomInfoAnswer[] | undefined {
  const body = object(json);
  if (body === undefined) return undefined;
  const legacyResult = object(body.data)?.result;
  const readers: (() => ZoomInfoAnswer[] | undefined)[] = [
    () => (Array.isArray(legacyResult) ? list(legacyResult, legacyEntry) : undefined),
    () => (Array.isArray(body.data) ? list(body.data, gtmEntry) : undefined),
  ];
  if (api === 'gtm') readers.reverse();
  for (const read of readers) {
    const answers = read();
    if (answers !== undefined) return answers;
  }
  return undefined;
}

function list(items: readonly unknown[], read: (entry: unknown) => ZoomInfoAnswer | undefined) {
  const out: ZoomInfoAnswer[] = [];
  for (const item of items) {
    const answer = read(item);
    if (answer === undefined) return undefined;
    out.push(answer);
  }
  return out;
}

/**
 * The output fields the account may ask for, from the lookup endpoint:
 * legacy `[{fieldName, accessGranted: "true"}]`, GTM
 * `{data: [{attributes: {fieldName, accessGranted: true}}]}`. Names are
 * lower-cased; `undefined` when the body is neither shape.
 */
export function readEntitlements(json: unknown): Set<string> | undefined {
  const rows = Array.isArray(json)
    ? json
    : Array.isArray(object(json)?.data)
      ? (object(json)!.data as unknown[])
      : undefined;
  if (rows === undefined) return undefined;
  const granted = new Set<string>();
  for (const row of rows) {
    const item = object(row);
    const fields = object(item?.attributes) ?? item;
    if (fields === undefined || typeof fields.fieldName !== 'string') return undefined;
    const access = fields.accessGranted;
    if (access === true || access === 'true') granted.add(fields.fieldName.toLowerCase());
  }
  return granted;
}

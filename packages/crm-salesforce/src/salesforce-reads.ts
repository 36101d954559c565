import {
  ApiCallError,
  type CheckedListChangesRequest,
  type CrmCallOptions,
  type CrmGetRequest,
  type CrmPropertyValue,
  type CrmRecordSnapshot,
  type CursorCodec,
  createCursorCodec,
  type DefinedChangesPage,
  ValidationError,
} from '@leadpipe/core/adapter-kit';
import { z } from 'zod';
import type { SalesforceApi } from './salesforce-api.js';
import { SALESFORCE_PROVIDER_ID } from './salesforce-auth.js';
import { idFieldOf, type SalesforceDescriptions } from './salesforce-describe.js';
import { soqlString } from './salesforce-fields.js';
import { findByKeys, isoOf, type QueryPage, queryPageSchema, snapshotValue } from './salesforce-query.js';

const cursorSchema = z.object({
  v: z.literal(1),
  // Written into SOQL unquoted: only a plain ISO 8601 time may pass.
  since: z.iso.datetime().optional(),
  afterId: z
    .string()
    .regex(/^[A-Za-z0-9]{15,18}$/)
    .optional(),
  next: z
    .string()
    .regex(/^\/services\/data\//)
    .optional(),
});

/** Where a listing of changes stands: after `(since, afterId)` in `SystemModstamp, Id` order, or at a query locator. */
export type SalesforceChangesCursor = z.infer<typeof cursorSchema>;

/** The codec of change cursors; decoding lets only a plain ISO time and a record id reach SOQL. */
export const salesforceCursorCodec: CursorCodec<SalesforceChangesCursor> = createCursorCodec(
  cursorSchema,
  SALESFORCE_PROVIDER_ID,
  'Salesforce',
);

/**
 * Read records by External ID through SOQL (200 keys a query), with the
 * asked properties under the names the request spelled them.
 *
 * @throws ValidationError naming `properties` when one is not a field of the object.
 */
export async function readByKeys(
  api: SalesforceApi,
  descriptions: SalesforceDescriptions,
  request: CrmGetRequest,
  options: CrmCallOptions,
): Promise<CrmRecordSnapshot[]> {
  const { object } = request;
  api.checkBeforeCall(options.signal);
  await api.session(options.signal);
  const description = await descriptions.describe(object, options);
  const idField = idFieldOf(description, request.idProperty);
  const unknown = request.properties.find((name) => !description.fields.has(name.toLowerCase()));
  if (unknown !== undefined) {
    throw new ValidationError([{ field: 'properties', reason: `${unknown}: no such field on ${object}` }], {
      providerId: SALESFORCE_PROVIDER_ID,
    });
  }
  const found = await findByKeys(api, object, idField, request.keys, request.properties, options);
  const snapshots: CrmRecordSnapshot[] = [];
  for (const key of request.keys) {
    const row = found.get(key.toLowerCase());
    if (row === undefined) continue;
    const properties: Record<string, CrmPropertyValue | null> = {};
    for (const name of request.properties) {
      const field = description.fields.get(name.toLowerCase());
      properties[name] = snapshotValue(row[field?.name ?? name]);
    }
    const updatedAt = isoOf(row.SystemModstamp);
    snapshots.push({
      key,
      id: String(row.Id),
      properties,
      ...(updatedAt === undefined ? {} : { updatedAt }),
    });
  }
  return snapshots;
}

/** What {@link listChanges} needs beside the request. */
export interface SalesforceChangesContext {
  /** The REST client. */
  readonly api: SalesforceApi;
  /** The External ID field whose value keys the records; their Id when undefined. */
  readonly keyField: string | undefined;
  /** Records per SOQL page (`Sforce-Query-Options: batchSize`). */
  readonly queryBatchSize: number;
}

/**
 * One page of changes through SOQL ordered by `SystemModstamp, Id`: a query
 * locator continues a query (restarting from the last record once it has
 * expired); a page cut short by `limit` restarts from its last record.
 */
export async function listChanges(
  context: SalesforceChangesContext,
  request: CheckedListChangesRequest<SalesforceChangesCursor>,
  options: CrmCallOptions,
): Promise<DefinedChangesPage<SalesforceChangesCursor>> {
  const { api, keyField } = context;
  const { object, properties } = request;
  const cursor: SalesforceChangesCursor = request.cursor ?? {
    v: 1,
    ...(request.since === undefined ? {} : { since: new Date(request.since).toISOString() }),
  };
  api.checkBeforeCall(options.signal);
  const select = [
    ...new Set(['Id', 'SystemModstamp', ...(keyField === undefined ? [] : [keyField]), ...properties]),
  ];
  const call = (path: string, searchParams?: Record<string, string>) =>
    api.call({
      path,
      ...(searchParams === undefined ? {} : { searchParams }),
      schema: queryPageSchema,
      headers: { 'sforce-query-options': `batchSize=${context.queryBatchSize}` },
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      onRateLimit: options.onRateLimit,
    });
  let page: QueryPage | undefined;
  if (cursor.next !== undefined) {
    try {
      page = (await call(cursor.next)).data;
    } catch (error) {
      // Query locators expire after 15 minutes: start again from the last SystemModstamp.
      if (!(ApiCallError.isInstance(error) && error.vendorCode === 'INVALID_QUERY_LOCATOR')) throw error;
    }
  }
  if (page === undefined) {
    const where =
      cursor.since === undefined
        ? ''
        : cursor.afterId === undefined
          ? ` WHERE SystemModstamp >= ${cursor.since}`
          : ` WHERE SystemModstamp > ${cursor.since} OR (SystemModstamp = ${cursor.since} AND Id > ${soqlString(cursor.afterId)})`;
    const soql = `SELECT ${select.join(', ')} FROM ${object}${where} ORDER BY SystemModstamp ASC, Id ASC`;
    page = (await call('query', { q: soql })).data;
  }
  const records: CrmRecordSnapshot[] = [];
  let since = cursor.since;
  let afterId = cursor.afterId;
  const limit = request.limit;
  let cut = false;
  for (const row of page.records) {
    if (limit !== undefined && records.length >= limit) {
      cut = true;
      break;
    }
    const id = String(row.Id);
    const updatedAt = isoOf(row.SystemModstamp);
    const props: Record<string, CrmPropertyValue | null> = {};
    for (const name of properties) props[name] = snapshotValue(row[name]);
    const keyValue = keyField === undefined ? undefined : row[keyField];
    records.push({
      key: typeof keyValue === 'string' && keyValue !== '' ? keyValue : id,
      id,
      properties: props,
      ...(updatedAt === undefined ? {} : { updatedAt }),
    });
    if (updatedAt !== undefined) {
      since = updatedAt;
      afterId = id;
    }
  }
  const morePages = !page.done && typeof page.nextRecordsUrl === 'string' && page.nextRecordsUrl !== '';
  // A page cut short by `limit` restarts from the last record (keyset), not from the locator.
  const next: SalesforceChangesCursor = {
    v: 1,
    ...(since === undefined ? {} : { since }),
    ...(afterId === undefined ? {} : { afterId }),
    ...(morePages && !cut && page.nextRecordsUrl ? { next: page.nextRecordsUrl } : {}),
  };
  return { records, cursor: next, hasMore: morePages || cut };
}

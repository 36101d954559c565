import type {
  CheckedListChangesRequest,
  CrmCallOptions,
  CrmGetRequest,
  CrmPropertyValue,
  CrmRecordSnapshot,
  DefinedChangesPage,
} from '@leadpipe/core/adapter-kit';
import {
  type ChangesCursor,
  changesSearchBody,
  nextChangesPage,
  parseHubspotTime,
} from './hubspot-changes.js';
import type { HubspotClient } from './hubspot-client.js';
import { batchResponseSchema, searchResponseSchema } from './hubspot-schemas.js';
import { normalizeKey } from './hubspot-upsert.js';

/** Default number of records in a page of changes. */
const HUBSPOT_DEFAULT_CHANGES_LIMIT = 100;
/** Most records in a page of changes (HubSpot's search page). */
export const HUBSPOT_MAX_CHANGES_LIMIT = 200;

function snapshotProperties(
  values: Readonly<Record<string, CrmPropertyValue | null>> | undefined,
): Record<string, CrmPropertyValue | null> {
  const properties: Record<string, CrmPropertyValue | null> = {};
  for (const [name, item] of Object.entries(values ?? {})) properties[name] = item ?? null;
  return properties;
}

/**
 * Read records by key (`/batch/read`, 200 or 207): blank keys are skipped;
 * each record comes back under the key as the request spelled it (emails
 * compared case-insensitively); keys with no record are left out.
 */
export async function readByKeys(
  client: HubspotClient,
  request: CrmGetRequest,
  callOptions: CrmCallOptions,
): Promise<CrmRecordSnapshot[]> {
  const { object, idProperty } = request;
  const keys = request.keys.filter((key) => typeof key === 'string' && key.trim() !== '');
  if (keys.length === 0) return [];
  const requestKey = new Map(keys.map((key) => [normalizeKey(idProperty, key), key]));
  const wanted = [...new Set([...(request.properties ?? []), idProperty])];
  const response = await client.call(
    {
      method: 'POST',
      path: `/crm/v3/objects/${object}/batch/read`,
      json: {
        inputs: [...requestKey.values()].map((id) => ({ id })),
        idProperty: idProperty === 'hs_object_id' ? undefined : idProperty,
        properties: wanted,
        propertiesWithHistory: [],
      },
      acceptStatus: [207],
      schema: batchResponseSchema,
    },
    callOptions,
  );
  return response.data.results.map((result) => {
    const value = idProperty === 'hs_object_id' ? result.id : result.properties?.[idProperty];
    const raw = value === undefined || value === null ? result.id : String(value);
    return {
      key: requestKey.get(normalizeKey(idProperty, raw)) ?? raw,
      id: result.id,
      properties: snapshotProperties(result.properties),
      ...(result.updatedAt === undefined ? {} : { updatedAt: result.updatedAt }),
    };
  });
}

/**
 * One page of changes through search on the last-modified date: one time
 * window per query (never paging with `after`), so no query reaches the
 * 10 000-result cap. Searches pass the search scheduler.
 *
 * @param keyProperties - the property whose value is a record's key, per object.
 */
export async function listChanges(
  client: HubspotClient,
  request: CheckedListChangesRequest<ChangesCursor>,
  callOptions: CrmCallOptions,
  keyProperties: Readonly<Record<string, string>> | undefined,
): Promise<DefinedChangesPage<ChangesCursor>> {
  const { object } = request;
  const limit = request.limit ?? HUBSPOT_DEFAULT_CHANGES_LIMIT;
  const cursor: ChangesCursor = request.cursor ?? {
    mode: 'time',
    t: Math.max(0, request.since ?? 0),
    ids: [],
  };
  const modifiedProperty = object === 'contacts' ? 'lastmodifieddate' : 'hs_lastmodifieddate';
  const keyProperty = keyProperties?.[object] ?? (object === 'contacts' ? 'email' : 'hs_object_id');
  const wanted = [...new Set([...request.properties, modifiedProperty, keyProperty])];
  const response = await client.call(
    {
      method: 'POST',
      path: `/crm/v3/objects/${object}/search`,
      json: changesSearchBody(cursor, modifiedProperty, wanted, limit),
      schema: searchResponseSchema,
    },
    callOptions,
    'search',
  );
  const rows = response.data.results.map((result) => ({
    id: result.id,
    at: parseHubspotTime(result.properties?.[modifiedProperty] ?? result.updatedAt) ?? cursor.t,
    result,
  }));
  const page = nextChangesPage(cursor, rows, limit, response.data.paging?.next !== undefined);
  return {
    records: page.records.map(({ result, at }) => {
      const keyValue = keyProperty === 'hs_object_id' ? result.id : result.properties?.[keyProperty];
      return {
        key: keyValue === undefined || keyValue === null || keyValue === '' ? result.id : String(keyValue),
        id: result.id,
        properties: snapshotProperties(result.properties),
        updatedAt: new Date(at).toISOString(),
      };
    }),
    cursor: page.cursor,
    hasMore: page.hasMore,
  };
}

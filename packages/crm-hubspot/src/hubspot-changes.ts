import { type CursorCodec, createCursorCodec } from '@leadpipe/core/adapter-kit';
import { z } from 'zod';

/**
 * Where a listing of changes stands. `time`: every record modified at or
 * after `t` not listed in `ids` (the ones already returned at exactly `t`).
 * `tie`: more records share the millisecond `t` than a page holds, so they
 * are paged by id after `afterId`.
 */
export type ChangesCursor =
  | { readonly mode: 'time'; readonly t: number; readonly ids: readonly string[] }
  | { readonly mode: 'tie'; readonly t: number; readonly afterId: string };

const cursorSchema = z.union([
  z.object({ v: z.literal(1), t: z.number().int().nonnegative(), ids: z.array(z.string()).max(1000) }),
  z.object({ v: z.literal(1), t: z.number().int().nonnegative(), tie: z.string().regex(/^\d+$/) }),
]);

/** Most ids of records sharing one millisecond kept in a cursor before switching to paging by id. */
const MAX_TIED_IDS = 100;

function toWire(cursor: ChangesCursor): z.input<typeof cursorSchema> {
  return cursor.mode === 'time'
    ? { v: 1, t: cursor.t, ids: [...cursor.ids] }
    : { v: 1, t: cursor.t, tie: cursor.afterId };
}

function fromWire(value: z.output<typeof cursorSchema>): ChangesCursor {
  return 'tie' in value
    ? { mode: 'tie', t: value.t, afterId: value.tie }
    : { mode: 'time', t: value.t, ids: value.ids };
}

/** The codec of change cursors: opaque, URL-safe strings checked on the way back in. */
export function changesCursorCodec(adapterId: string): CursorCodec<ChangesCursor> {
  const wire = createCursorCodec(cursorSchema, adapterId, 'HubSpot');
  return {
    encode: (cursor) => wire.encode(toWire(cursor)),
    decode: (text) => fromWire(wire.decode(text)),
  };
}

/** Encode a cursor as an opaque, URL-safe string. */
export function encodeChangesCursor(cursor: ChangesCursor): string {
  return changesCursorCodec('hubspot').encode(cursor);
}

/**
 * Decode a cursor from {@link encodeChangesCursor}.
 *
 * @throws ValidationError naming `cursor` when it was not made by this adapter.
 */
export function decodeChangesCursor(text: string, providerId: string): ChangesCursor {
  return changesCursorCodec(providerId).decode(text);
}

/** The search body for one page of changes. */
export function changesSearchBody(
  cursor: ChangesCursor,
  modifiedProperty: string,
  properties: readonly string[],
  limit: number,
): Record<string, unknown> {
  if (cursor.mode === 'tie') {
    return {
      filterGroups: [
        {
          filters: [
            { propertyName: modifiedProperty, operator: 'EQ', value: String(cursor.t) },
            { propertyName: 'hs_object_id', operator: 'GT', value: cursor.afterId },
          ],
        },
      ],
      sorts: [{ propertyName: 'hs_object_id', direction: 'ASCENDING' }],
      properties,
      limit,
    };
  }
  return {
    filterGroups: [
      { filters: [{ propertyName: modifiedProperty, operator: 'GTE', value: String(cursor.t) }] },
    ],
    sorts: [{ propertyName: modifiedProperty, direction: 'ASCENDING' }],
    properties,
    // Over-fetch by the records already returned at `t`: they come first and are dropped.
    limit: Math.min(200, limit + cursor.ids.length),
  };
}

/** A HubSpot datetime property value (ISO 8601 or epoch ms) as epoch ms. */
export function parseHubspotTime(value: string | number | boolean | null | undefined): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string' || value === '') return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? undefined : parsed;
}

/** A record of a changes page: id and modification time. */
export interface ChangedRecord {
  /** Record id. */
  readonly id: string;
  /** Modification time, epoch ms. */
  readonly at: number;
}

/**
 * The records of a search answer to keep, and the cursor and `hasMore` that
 * follow. Queries never page with `after`, so no query reaches the 10 000
 * results search can return: each page starts a new query (a new time
 * window) at the last modification time seen.
 */
export function nextChangesPage<R extends ChangedRecord>(
  cursor: ChangesCursor,
  results: readonly R[],
  limit: number,
  moreOnServer: boolean,
): { records: R[]; cursor: ChangesCursor; hasMore: boolean } {
  if (cursor.mode === 'tie') {
    const records = results.slice(0, limit);
    const last = records.at(-1);
    const full = records.length >= limit || moreOnServer;
    if (last !== undefined && full)
      return { records, cursor: { ...cursor, afterId: last.id }, hasMore: true };
    // The millisecond is done; carry on after it.
    return { records, cursor: { mode: 'time', t: cursor.t + 1, ids: [] }, hasMore: true };
  }
  const seen = new Set(cursor.ids);
  const fresh = results.filter((record) => !(record.at === cursor.t && seen.has(record.id)));
  const records = fresh.slice(0, limit);
  const hasMore = moreOnServer || fresh.length > records.length;
  const last = records.at(-1);
  if (last === undefined) return { records, cursor, hasMore: false };
  const tied = records.filter((record) => record.at === last.at).map((record) => record.id);
  const ids = last.at === cursor.t ? [...cursor.ids, ...tied] : tied;
  if (ids.length > MAX_TIED_IDS) {
    // Too many records in one millisecond to skip by id: page through that millisecond by id
    // (records of it already returned may come again: delivery is at least once).
    return { records, cursor: { mode: 'tie', t: last.at, afterId: '0' }, hasMore: true };
  }
  return { records, cursor: { mode: 'time', t: last.at, ids }, hasMore };
}

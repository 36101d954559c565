import type { Context } from 'hono';
import { httpFailure } from './errors.js';
import { type RouteDeps, V, versionOf } from './http.js';
import { ID_PREFIX, salesforceId } from './ids.js';
import { parseSoql, runSoql } from './soql.js';
import { QUERY_LOCATOR_TTL_MS, type QueryCursor } from './state.js';

/**
 * Register SOQL: `query` and `queryAll` (deleted rows too), paged by
 * `nextRecordsUrl` locators that expire after 15 idle minutes, the page size
 * taken from the `Sforce-Query-Options: batchSize=` header (200 to 2,000).
 */
export function registerQueryRoutes(deps: RouteDeps): void {
  const { app, count, now, schema, settings, state, store, withAttributes } = deps;

  const page = (c: Context, locator: string, cursor: QueryCursor, offset: number) => {
    const rows = cursor.rows.slice(offset, offset + cursor.batchSize);
    const nextOffset = offset + rows.length;
    const done = nextOffset >= cursor.rows.length;
    if (done) state.cursors.delete(locator);
    else cursor.expiresAt = now() + QUERY_LOCATOR_TTL_MS;
    return c.json({
      totalSize: cursor.totalSize,
      done,
      ...(done ? {} : { nextRecordsUrl: `/services/data/v${versionOf(c)}/query/${locator}-${nextOffset}` }),
      records: rows,
    });
  };

  const runQuery = (c: Context, includeDeleted: boolean) => {
    const soql = c.req.query('q');
    if (soql === undefined || soql.trim() === '') {
      throw httpFailure(400, 'MALFORMED_QUERY', 'A query string has to be specified');
    }
    const query = parseSoql(soql, schema, now);
    const records = store.all().filter((record) => includeDeleted || record.IsDeleted !== true);
    const result = runSoql(query, records);
    if (query.count) return c.json({ totalSize: result.length, done: true, records: [] });
    const rows = result.map((record) => withAttributes(record, versionOf(c), query.fields));
    const header = c.req.header('sforce-query-options') ?? '';
    const requested = /batchSize\s*=\s*(\d+)/i.exec(header)?.[1];
    const batchSize =
      requested === undefined
        ? settings.defaultBatchSize
        : Math.min(2000, Math.max(200, Number.parseInt(requested, 10)));
    state.locatorSequence += 1;
    const locator = salesforceId(ID_PREFIX.queryLocator, state.locatorSequence);
    const cursor: QueryCursor = {
      rows,
      batchSize,
      totalSize: rows.length,
      expiresAt: now() + QUERY_LOCATOR_TTL_MS,
    };
    state.cursors.set(locator, cursor);
    return page(c, locator, cursor, 0);
  };

  const queryMore = (c: Context) => {
    const match = /^(.+)-(\d+)$/.exec(c.req.param('locator') ?? '');
    const cursor = match === null ? undefined : state.cursors.get(match[1] ?? '');
    if (match === null || cursor === undefined || cursor.expiresAt <= now()) {
      if (match !== null) state.cursors.delete(match[1] ?? '');
      throw httpFailure(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
    }
    return page(c, match[1] ?? '', cursor, Number(match[2]));
  };

  app.get(`${V}/query`, (c) => {
    count('requests.query');
    return runQuery(c, false);
  });
  app.get(`${V}/queryAll`, (c) => {
    count('requests.queryAll');
    return runQuery(c, true);
  });
  app.get(`${V}/query/:locator`, (c) => {
    count('requests.query.more');
    return queryMore(c);
  });
  app.get(`${V}/queryAll/:locator`, (c) => {
    count('requests.query.more');
    return queryMore(c);
  });
}

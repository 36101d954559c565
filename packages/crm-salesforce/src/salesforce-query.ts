import type { CrmCallOptions, CrmPropertyValue } from '@leadpipe/core/adapter-kit';
import { z } from 'zod';
import type { SalesforceApi } from './salesforce-api.js';
import { type SalesforceField, soqlString } from './salesforce-fields.js';

/** One page of a SOQL query answer. */
export const queryPageSchema = z.object({
  totalSize: z.number().optional(),
  done: z.boolean(),
  nextRecordsUrl: z.string().nullish(),
  records: z.array(z.record(z.string(), z.unknown())),
});

/** A page of a SOQL query answer. */
export type QueryPage = z.infer<typeof queryPageSchema>;

/** Salesforce datetimes (`2026-01-01T00:00:00.000+0000`) as ISO 8601. */
export function isoOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** A field value as a snapshot holds it (anything but a string, number or boolean is `null`). */
export function snapshotValue(value: unknown): CrmPropertyValue | null {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return null;
}

/** `items` in groups of `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}

/** Run a SOQL query and every `nextRecordsUrl` page after it. */
async function queryAll(
  api: SalesforceApi,
  soql: string,
  options: CrmCallOptions,
): Promise<Record<string, unknown>[]> {
  const call = (path: string, searchParams?: Record<string, string>) =>
    api.call({
      path,
      ...(searchParams === undefined ? {} : { searchParams }),
      schema: queryPageSchema,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      onRateLimit: options.onRateLimit,
    });
  const rows: Record<string, unknown>[] = [];
  let page = (await call('query', { q: soql })).data;
  rows.push(...page.records);
  while (!page.done && page.nextRecordsUrl) {
    page = (await call(page.nextRecordsUrl)).data;
    rows.push(...page.records);
  }
  return rows;
}

/** Records with these keys that exist, by lower-cased key (SOQL `IN`, 200 keys a query). */
export async function findByKeys(
  api: SalesforceApi,
  object: string,
  idField: SalesforceField,
  keys: readonly string[],
  fields: readonly string[],
  options: CrmCallOptions,
): Promise<Map<string, Record<string, unknown>>> {
  const found = new Map<string, Record<string, unknown>>();
  const select = [...new Set(['Id', idField.name, 'SystemModstamp', ...fields])];
  for (const group of chunk(keys, 200)) {
    const soql = `SELECT ${select.join(', ')} FROM ${object} WHERE ${idField.name} IN (${group.map(soqlString).join(', ')})`;
    for (const row of await queryAll(api, soql, options)) {
      const key = row[idField.name];
      if (typeof key === 'string') found.set(key.toLowerCase(), row);
    }
  }
  return found;
}

import { z } from 'zod';
import { SEARCHABLE_PROPERTIES } from './properties.js';
import type { StoredObject } from './store.js';
import type { HubspotObjectType, HubspotPropertyDefinition } from './types.js';

/** Operators of CRM search filters. */
const SEARCH_OPERATORS = [
  'EQ',
  'NEQ',
  'LT',
  'LTE',
  'GT',
  'GTE',
  'BETWEEN',
  'IN',
  'NOT_IN',
  'HAS_PROPERTY',
  'NOT_HAS_PROPERTY',
  'CONTAINS_TOKEN',
  'NOT_CONTAINS_TOKEN',
] as const;

const scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String);

const filterSchema = z.object({
  propertyName: z.string().min(1),
  operator: z.enum(SEARCH_OPERATORS),
  value: scalar.optional(),
  highValue: scalar.optional(),
  values: z.array(scalar).optional(),
});

/** The body of `POST /crm/v3/objects/{type}/search`. */
export const searchBodySchema = z.object({
  filterGroups: z
    .array(z.object({ filters: z.array(filterSchema).max(6) }))
    .max(5)
    .optional(),
  sorts: z
    .array(
      z.union([
        z.object({
          propertyName: z.string().min(1),
          direction: z.enum(['ASCENDING', 'DESCENDING']).optional(),
        }),
        z.string().min(1),
      ]),
    )
    .optional(),
  query: z.string().optional(),
  properties: z.array(z.string()).optional(),
  limit: z.number().int().min(0).max(200).optional(),
  after: z.union([z.string(), z.number()]).transform(String).optional(),
});

/** A parsed search body. */
export type SearchBody = z.infer<typeof searchBodySchema>;
type Filter = z.infer<typeof filterSchema>;

/** A problem with filters that HubSpot reports as a 400. */
export interface SearchProblem {
  /** What is wrong with the filters. */
  readonly message: string;
}

function comparable(definition: HubspotPropertyDefinition | undefined, value: string): number | string {
  if (definition === undefined) return value.toLowerCase();
  if (definition.type === 'number') {
    const number = Number(value);
    return Number.isFinite(number) ? number : value;
  }
  if (definition.type === 'datetime' || definition.type === 'date') {
    const number = /^-?\d+$/.test(value) ? Number(value) : Date.parse(value);
    return Number.isFinite(number) ? number : value;
  }
  return value.toLowerCase();
}

function compare(left: number | string, right: number | string): number {
  if (typeof left === 'number' && typeof right === 'number') return left - right;
  return String(left).localeCompare(String(right));
}

function matches(
  record: StoredObject,
  filter: Filter,
  definition: HubspotPropertyDefinition | undefined,
): boolean {
  const stored = record.properties[filter.propertyName];
  switch (filter.operator) {
    case 'HAS_PROPERTY':
      return stored !== undefined && stored !== '';
    case 'NOT_HAS_PROPERTY':
      return stored === undefined || stored === '';
    case 'IN':
    case 'NOT_IN': {
      const inList =
        stored !== undefined &&
        (filter.values ?? []).some(
          (value) => compare(comparable(definition, stored), comparable(definition, value)) === 0,
        );
      return filter.operator === 'IN' ? inList : !inList;
    }
    case 'CONTAINS_TOKEN':
    case 'NOT_CONTAINS_TOKEN': {
      const token = (filter.value ?? '').toLowerCase().replaceAll('*', '');
      const has = stored?.toLowerCase().includes(token) ?? false;
      return filter.operator === 'CONTAINS_TOKEN' ? has : !has;
    }
    default:
      break;
  }
  if (stored === undefined) return filter.operator === 'NEQ';
  const left = comparable(definition, stored);
  const right = comparable(definition, filter.value ?? '');
  switch (filter.operator) {
    case 'EQ':
      return compare(left, right) === 0;
    case 'NEQ':
      return compare(left, right) !== 0;
    case 'LT':
      return compare(left, right) < 0;
    case 'LTE':
      return compare(left, right) <= 0;
    case 'GT':
      return compare(left, right) > 0;
    case 'GTE':
      return compare(left, right) >= 0;
    case 'BETWEEN':
      return compare(left, right) >= 0 && compare(left, comparable(definition, filter.highValue ?? '')) <= 0;
    default:
      return false;
  }
}

/** Check operator arguments the way HubSpot does (value, highValue, values required by the operator). */
export function checkFilters(body: SearchBody): SearchProblem | undefined {
  for (const group of body.filterGroups ?? []) {
    for (const filter of group.filters) {
      const needsValue = !['HAS_PROPERTY', 'NOT_HAS_PROPERTY', 'IN', 'NOT_IN'].includes(filter.operator);
      if (needsValue && filter.value === undefined) {
        return { message: `filter on ${filter.propertyName}: operator ${filter.operator} requires a value` };
      }
      if (filter.operator === 'BETWEEN' && filter.highValue === undefined) {
        return { message: `filter on ${filter.propertyName}: operator BETWEEN requires a highValue` };
      }
      if ((filter.operator === 'IN' || filter.operator === 'NOT_IN') && (filter.values ?? []).length === 0) {
        return { message: `filter on ${filter.propertyName}: operator ${filter.operator} requires values` };
      }
    }
  }
  const total = (body.filterGroups ?? []).reduce((sum, group) => sum + group.filters.length, 0);
  if (total > 18) return { message: `A search may have at most 18 filters in total, got ${total}` };
  return undefined;
}

/** Records matching a search body, sorted as asked (default by id ascending). */
export function runSearch(
  objectType: HubspotObjectType,
  records: readonly StoredObject[],
  body: SearchBody,
  definitionOf: (name: string) => HubspotPropertyDefinition | undefined,
): StoredObject[] {
  const groups = body.filterGroups ?? [];
  const query = body.query?.trim().toLowerCase();
  const matched = records.filter((record) => {
    const groupOk =
      groups.length === 0 ||
      groups.some((group) =>
        group.filters.every((filter) => matches(record, filter, definitionOf(filter.propertyName))),
      );
    if (!groupOk) return false;
    if (query === undefined || query === '') return true;
    return SEARCHABLE_PROPERTIES[objectType].some((name) =>
      record.properties[name]?.toLowerCase().includes(query),
    );
  });
  const sorts = (body.sorts ?? []).map((sort) =>
    typeof sort === 'string'
      ? { propertyName: sort.replace(/^-/, ''), descending: sort.startsWith('-') }
      : { propertyName: sort.propertyName, descending: sort.direction === 'DESCENDING' },
  );
  return matched.sort((left, right) => {
    for (const sort of sorts) {
      const definition = definitionOf(sort.propertyName);
      const a = left.properties[sort.propertyName];
      const b = right.properties[sort.propertyName];
      if (a === b) continue;
      if (a === undefined) return 1;
      if (b === undefined) return -1;
      const order = compare(comparable(definition, a), comparable(definition, b));
      if (order !== 0) return sort.descending ? -order : order;
    }
    return Number(left.id) - Number(right.id);
  });
}

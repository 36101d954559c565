import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ValidationError, type ValidationIssue } from '../contracts/errors.js';
import { isLeadField, LEAD_FIELDS, SENIORITY_LEVELS, type Seniority } from '../contracts/fields.js';
import {
  LEAD_STORE_DEFAULT_PAGE,
  LEAD_STORE_MAX_PAGE,
  type LeadStoreFieldName,
  type LeadStoreQuery,
} from '../contracts/lead-store.js';
import { createCursorCodec } from './cursor-codec.js';

/** Fields of a lead a query may return besides the lead field paths. */
const RECORD_FIELDS = new Set(['id', 'createdAt', 'updatedAt', 'custom', 'provenance']);

/** A custom field name a store may whitelist: a letter or `_`, then letters, digits or `_`, at most 63. */
export const CUSTOM_FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** The filters of a {@link CheckedLeadQuery}, normalized (lower-case domains, upper-case country, words). */
export interface CheckedLeadFilter {
  /** Lower-cased email domain. */
  readonly emailDomain?: string;
  /** Lower-cased company domain. */
  readonly companyDomain?: string;
  /** Lower-cased industry. */
  readonly industry?: string;
  /** Smallest headcount included. */
  readonly headcountMin?: number;
  /** Largest headcount included. */
  readonly headcountMax?: number;
  /** Upper-case ISO country code. */
  readonly country?: string;
  /** Seniority levels, any of which matches. */
  readonly seniority?: readonly Seniority[];
  /** Lower-case words that must all be in the title. */
  readonly titleWords?: readonly string[];
  /** ISO time: updated at or after. */
  readonly updatedSince?: string;
  /** Whitelisted custom fields and the values they must equal. */
  readonly custom?: readonly (readonly [string, string | number | boolean])[];
}

/** Where the previous page of a query ended. */
export interface LeadQueryPosition {
  /** Id of the last lead of the previous page. */
  readonly id: string;
  /** `updatedAt` of that lead (ordering by `updatedAt` only). */
  readonly updatedAt?: string;
}

/** A lead query checked and normalized by {@link checkLeadStoreQuery}: what a store turns into its query language. */
export interface CheckedLeadQuery {
  /** The filters. */
  readonly where: CheckedLeadFilter;
  /** Lower-case words of the full-text search, each matched as a prefix. */
  readonly searchWords: readonly string[];
  /** Fields to return, `id` first. */
  readonly fields: readonly LeadStoreFieldName[];
  /** The order. */
  readonly orderBy: 'id' | 'updatedAt';
  /** Page size. */
  readonly limit: number;
  /** Where the previous page ended, from the cursor. */
  readonly after?: LeadQueryPosition;
  /** Identifies the query's filters, search and order: a cursor of another query is refused. */
  readonly fingerprint: string;
}

const cursorSchema = z
  .object({
    v: z.literal(1),
    q: z.string().regex(/^[0-9a-f]{16}$/),
    id: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
    u: z.string().datetime({ offset: true }).optional(),
  })
  .strict();
const codec = createCursorCodec(cursorSchema, 'lead-store', 'lead store');

/** Lower-case words of a text: runs of letters and digits. */
export function textWords(text: string): string[] {
  return text
    .toLowerCase()
    .normalize('NFC')
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word.length > 0);
}

function text(value: unknown, field: string, issues: ValidationIssue[]): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') {
    issues.push({ field, reason: 'must be a non-empty string' });
    return undefined;
  }
  return value.trim();
}

function checkFilter(
  where: unknown,
  customFields: ReadonlySet<string>,
  issues: ValidationIssue[],
): CheckedLeadFilter {
  if (where === undefined) return {};
  if (typeof where !== 'object' || where === null || Array.isArray(where)) {
    issues.push({ field: 'where', reason: 'must be an object of filters' });
    return {};
  }
  const known = new Set([
    'emailDomain',
    'companyDomain',
    'industry',
    'headcount',
    'country',
    'seniority',
    'title',
    'updatedSince',
    'custom',
  ]);
  for (const key of Object.keys(where)) {
    if (!known.has(key)) issues.push({ field: `where.${key}`, reason: 'is not a filter of the lead store' });
  }
  const filter = where as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const emailDomain = text(filter.emailDomain, 'where.emailDomain', issues);
  if (emailDomain !== undefined) out.emailDomain = emailDomain.toLowerCase();
  const companyDomain = text(filter.companyDomain, 'where.companyDomain', issues);
  if (companyDomain !== undefined) out.companyDomain = companyDomain.toLowerCase();
  const industry = text(filter.industry, 'where.industry', issues);
  if (industry !== undefined) out.industry = industry.toLowerCase();
  if (filter.headcount !== undefined) {
    const range = filter.headcount as { min?: unknown; max?: unknown };
    const bound = (value: unknown, name: string): number | undefined => {
      if (value === undefined) return undefined;
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
        issues.push({ field: `where.headcount.${name}`, reason: 'must be a non-negative integer' });
        return undefined;
      }
      return value;
    };
    if (typeof range !== 'object' || range === null) {
      issues.push({ field: 'where.headcount', reason: 'must be an object with min and/or max' });
    } else {
      const min = bound(range.min, 'min');
      const max = bound(range.max, 'max');
      if (min !== undefined && max !== undefined && min > max) {
        issues.push({ field: 'where.headcount', reason: 'min must not be above max' });
      }
      if (min !== undefined) out.headcountMin = min;
      if (max !== undefined) out.headcountMax = max;
    }
  }
  const country = text(filter.country, 'where.country', issues);
  if (country !== undefined) {
    if (/^[A-Za-z]{2}$/.test(country)) out.country = country.toUpperCase();
    else issues.push({ field: 'where.country', reason: 'must be an ISO 3166-1 alpha-2 code such as DE' });
  }
  if (filter.seniority !== undefined) {
    const levels = Array.isArray(filter.seniority) ? filter.seniority : [filter.seniority];
    const allowed = new Set<string>(SENIORITY_LEVELS);
    if (levels.length === 0 || levels.some((level) => typeof level !== 'string' || !allowed.has(level))) {
      issues.push({
        field: 'where.seniority',
        reason: `must be one or more of ${SENIORITY_LEVELS.join(', ')}`,
      });
    } else out.seniority = [...new Set(levels as Seniority[])];
  }
  const title = text(filter.title, 'where.title', issues);
  if (title !== undefined) {
    const words = textWords(title);
    if (words.length === 0) issues.push({ field: 'where.title', reason: 'must hold at least one word' });
    else out.titleWords = words;
  }
  const since = text(filter.updatedSince, 'where.updatedSince', issues);
  if (since !== undefined) {
    if (z.string().datetime({ offset: true }).safeParse(since).success) {
      out.updatedSince = new Date(since).toISOString();
    } else issues.push({ field: 'where.updatedSince', reason: 'must be an ISO 8601 time' });
  }
  if (filter.custom !== undefined) {
    if (typeof filter.custom !== 'object' || filter.custom === null || Array.isArray(filter.custom)) {
      issues.push({ field: 'where.custom', reason: 'must be an object of custom field values' });
    } else {
      const pairs: [string, string | number | boolean][] = [];
      for (const [name, value] of Object.entries(filter.custom)) {
        if (!customFields.has(name)) {
          issues.push({ field: 'where.custom', reason: 'names a custom field the store does not allow' });
        } else if (!['string', 'number', 'boolean'].includes(typeof value)) {
          issues.push({ field: `where.custom.${name}`, reason: 'must be a string, number or boolean' });
        } else pairs.push([name, value as string | number | boolean]);
      }
      if (pairs.length > 0) out.custom = pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    }
  }
  return out as CheckedLeadFilter;
}

function checkFields(fields: unknown, issues: ValidationIssue[]): LeadStoreFieldName[] {
  if (fields === undefined) {
    return ['id', 'createdAt', 'updatedAt', ...LEAD_FIELDS, 'custom', 'provenance'];
  }
  if (!Array.isArray(fields) || fields.length === 0) {
    issues.push({ field: 'fields', reason: 'must be a non-empty array of field names' });
    return ['id'];
  }
  const out: LeadStoreFieldName[] = ['id'];
  for (const [index, field] of fields.entries()) {
    if (typeof field !== 'string' || !(isLeadField(field) || RECORD_FIELDS.has(field))) {
      issues.push({ field: `fields.${index}`, reason: 'is not a field of a stored lead' });
    } else if (!out.includes(field as LeadStoreFieldName)) out.push(field as LeadStoreFieldName);
  }
  return out;
}

/**
 * Check and normalize a lead query for a store: known filters with valid
 * values, custom fields in `customFields`, known field names, a page size of
 * 1 to 100 (default 50), and a cursor this query's earlier page returned.
 *
 * @throws ValidationError naming every bad field (`where.<filter>`, `fields.<n>`, `limit`, `cursor`, `orderBy`, `search`).
 */
export function checkLeadStoreQuery(
  query: LeadStoreQuery | undefined,
  customFields: ReadonlySet<string>,
): CheckedLeadQuery {
  const issues: ValidationIssue[] = [];
  const input = (query ?? {}) as Record<string, unknown>;
  if (typeof input !== 'object' || input === null) {
    throw new ValidationError([{ field: 'query', reason: 'must be an object' }]);
  }
  const where = checkFilter(input.where, customFields, issues);
  let searchWords: string[] = [];
  if (input.search !== undefined) {
    if (typeof input.search !== 'string') issues.push({ field: 'search', reason: 'must be a string' });
    else {
      searchWords = textWords(input.search);
      if (searchWords.length === 0) issues.push({ field: 'search', reason: 'must hold at least one word' });
    }
  }
  const fields = checkFields(input.fields, issues);
  const orderBy = input.orderBy ?? 'id';
  if (orderBy !== 'id' && orderBy !== 'updatedAt') {
    issues.push({ field: 'orderBy', reason: 'must be id or updatedAt' });
  }
  const limit = input.limit ?? LEAD_STORE_DEFAULT_PAGE;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > LEAD_STORE_MAX_PAGE) {
    issues.push({ field: 'limit', reason: `must be an integer from 1 to ${LEAD_STORE_MAX_PAGE}` });
  }
  const fingerprint = createHash('sha256')
    .update(JSON.stringify([where, searchWords, orderBy]))
    .digest('hex')
    .slice(0, 16);
  let after: LeadQueryPosition | undefined;
  if (input.cursor !== undefined) {
    try {
      const cursor = codec.decode(String(input.cursor));
      if (cursor.q !== fingerprint) {
        issues.push({ field: 'cursor', reason: 'belongs to another query (other filters, search or order)' });
      } else if (orderBy === 'updatedAt' && cursor.u === undefined) {
        issues.push({ field: 'cursor', reason: 'is not a cursor of a query ordered by updatedAt' });
      } else after = cursor.u === undefined ? { id: cursor.id } : { id: cursor.id, updatedAt: cursor.u };
    } catch (error) {
      if (!ValidationError.isInstance(error)) throw error;
      issues.push(...error.issues);
    }
  }
  if (issues.length > 0) throw new ValidationError(issues);
  return {
    where,
    searchWords,
    fields,
    orderBy: orderBy as 'id' | 'updatedAt',
    limit: limit as number,
    ...(after === undefined ? {} : { after }),
    fingerprint,
  };
}

/** The opaque cursor of the page after `last`, for the query `query`. */
export function encodeLeadCursor(query: CheckedLeadQuery, last: LeadQueryPosition): string {
  return codec.encode({
    v: 1,
    q: query.fingerprint,
    id: last.id,
    ...(query.orderBy === 'updatedAt' && last.updatedAt !== undefined
      ? { u: new Date(last.updatedAt).toISOString() }
      : {}),
  });
}

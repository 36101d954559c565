import type { CheckedLeadQuery, LeadStoreFieldName } from '@leadpipe/core/adapter-kit';

/** A statement and its parameters. */
export interface Statement {
  /** SQL with `$n` placeholders. */
  readonly text: string;
  /** The parameters. */
  readonly values: unknown[];
}

/** The JSON path of a returned field inside the stored document. */
function pathOf(field: LeadStoreFieldName): string[] {
  return field.split('.');
}

/**
 * The WHERE clause of a checked query. Every value is a parameter; the only
 * text that reaches SQL is fixed here, never taken from the caller.
 */
export function whereSql(query: CheckedLeadQuery, values: unknown[]): string {
  const where = query.where;
  const conditions: string[] = [];
  const param = (value: unknown): string => {
    values.push(value);
    return `$${values.length}`;
  };
  if (where.emailDomain !== undefined) conditions.push(`email_domain = ${param(where.emailDomain)}`);
  if (where.companyDomain !== undefined) conditions.push(`company_domain = ${param(where.companyDomain)}`);
  if (where.industry !== undefined) conditions.push(`industry = ${param(where.industry)}`);
  if (where.headcountMin !== undefined) conditions.push(`headcount >= ${param(where.headcountMin)}::integer`);
  if (where.headcountMax !== undefined) conditions.push(`headcount <= ${param(where.headcountMax)}::integer`);
  if (where.country !== undefined) conditions.push(`country = ${param(where.country)}`);
  if (where.seniority !== undefined) {
    conditions.push(
      where.seniority.length === 1
        ? `seniority = ${param(where.seniority[0])}`
        : `seniority IN (SELECT jsonb_array_elements_text(${param(JSON.stringify(where.seniority))}::jsonb))`,
    );
  }
  if (where.titleWords !== undefined) {
    conditions.push(`title_words @@ to_tsquery('simple', ${param(where.titleWords.join(' & '))})`);
  }
  if (where.updatedSince !== undefined) {
    conditions.push(`updated_at >= ${param(where.updatedSince)}::timestamptz`);
  }
  if (where.custom !== undefined) {
    conditions.push(`custom @> ${param(JSON.stringify(Object.fromEntries(where.custom)))}::jsonb`);
  }
  if (query.searchWords.length > 0) {
    const tsquery = query.searchWords.map((word) => `${word}:*`).join(' & ');
    conditions.push(`search_words @@ to_tsquery('simple', ${param(tsquery)})`);
  }
  return conditions.length === 0 ? 'TRUE' : conditions.join(' AND ');
}

/**
 * The page statement of a checked query: only the asked fields, built by
 * `jsonb_build_object` from parameterized paths (no `SELECT *`), keyset
 * after the cursor, one row more than the page to know whether another
 * follows.
 */
export function pageSql(query: CheckedLeadQuery, table: string): Statement {
  const values: unknown[] = [];
  const param = (value: unknown): string => {
    values.push(value);
    return `$${values.length}`;
  };
  const pairs = query.fields
    .filter((field) => field !== 'id')
    .map((field) => `${param(field)}::text, doc #> ${param(pathOf(field))}::text[]`);
  // jsonb_build_object takes at most 100 arguments: build in chunks and concatenate.
  const chunks: string[] = [];
  for (let index = 0; index < pairs.length; index += 40) {
    chunks.push(`jsonb_build_object(${pairs.slice(index, index + 40).join(', ')})`);
  }
  const record = chunks.length === 0 ? `'{}'::jsonb` : chunks.join(' || ');
  const conditions = [whereSql(query, values)];
  if (query.after !== undefined) {
    if (query.orderBy === 'updatedAt') {
      conditions.push(
        `(updated_at, id) > (${param(query.after.updatedAt)}::timestamptz, ${param(query.after.id)}::uuid)`,
      );
    } else conditions.push(`id > ${param(query.after.id)}::uuid`);
  }
  // Qualified: a bare `id` would name the output column (id::text) and force a sort.
  const order = query.orderBy === 'updatedAt' ? 'l.updated_at, l.id' : 'l.id';
  return {
    text: `SELECT l.id::text AS id, l.doc->>'updatedAt' AS updated, ${record} AS record FROM ${table} AS l WHERE ${conditions.join(' AND ')} ORDER BY ${order} LIMIT ${param(query.limit + 1)}::integer`,
    values,
  };
}

/** Turn the flat record of {@link pageSql} (`company.domain` keys) into a nested lead record. */
export function nestRecord(id: string, flat: Record<string, unknown>): Record<string, unknown> {
  const record: Record<string, unknown> = { id };
  for (const [key, value] of Object.entries(flat)) {
    if (value === null || value === undefined) continue;
    if (key.startsWith('company.')) {
      record.company ??= {};
      (record.company as Record<string, unknown>)[key.slice('company.'.length)] = value;
    } else record[key] = value;
  }
  return record;
}

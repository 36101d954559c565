import { resolve } from 'node:path';
import { ValidationError, type ValidationIssue } from '@leadpipe/core';
import { openPostgresStore, type PostgresStore } from '@leadpipe/store-postgres';
import type { Environment } from './connections.js';

/** The environment variable `--store` falls back to. */
export const STORE_VARIABLE = 'LEADPIPE_STORE';

/** Where a command keeps its leads, as `--store` (or `LEADPIPE_STORE`) named it, checked. */
export interface StoreLocation {
  /** `postgres`: a server URL; `pglite`: a folder, embedded. */
  readonly engine: 'postgres' | 'pglite';
  /** The URL without the `schema` parameter, or the folder (absolute). */
  readonly connection: string;
  /** The schema, from the URL's `?schema=` (default `leadpipe`). */
  readonly schema: string | undefined;
  /** What to show: the folder, or the URL without its password. */
  readonly display: string;
}

const URL_PATTERN = /^postgres(ql)?:\/\//i;
const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Check a `--store` value: a `postgres://` URL (an optional `?schema=name`
 * picks the schema) or a folder (resolved against `cwd`) for an embedded
 * PGlite store. Issues are pushed under `flag`.
 */
export function parseStoreLocation(
  value: string,
  cwd: string,
  flag: string,
  issues: ValidationIssue[],
): StoreLocation | undefined {
  if (value.trim() === '') {
    issues.push({ field: flag, reason: 'must be a postgres:// URL or a folder' });
    return undefined;
  }
  if (!URL_PATTERN.test(value)) {
    const folder = resolve(cwd, value);
    return { engine: 'pglite', connection: folder, schema: undefined, display: folder };
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    issues.push({ field: flag, reason: 'is not a valid postgres:// URL' });
    return undefined;
  }
  const schema = url.searchParams.get('schema') ?? undefined;
  if (schema !== undefined && !SCHEMA_PATTERN.test(schema)) {
    issues.push({
      field: flag,
      reason: `schema "${schema}" must be lower-case letters, digits and _, not starting with a digit`,
    });
    return undefined;
  }
  url.searchParams.delete('schema');
  const display = new URL(url.href);
  if (display.password !== '') display.password = '***';
  return {
    engine: 'postgres',
    connection: url.href,
    schema,
    display: `${display.href}${schema === undefined ? '' : ` (schema ${schema})`}`,
  };
}

/** `--store`, else `LEADPIPE_STORE`; a usage issue when a command needs one and neither is set. */
export function storeOption(
  value: string | undefined,
  env: Environment,
  cwd: string,
  issues: ValidationIssue[],
  required: boolean,
): StoreLocation | undefined {
  const given = value ?? env[STORE_VARIABLE];
  if (given === undefined) {
    if (required) {
      issues.push({
        field: '--store',
        reason: `is required: a postgres:// URL or a folder for an embedded store (or set ${STORE_VARIABLE})`,
      });
    }
    return undefined;
  }
  return parseStoreLocation(given, cwd, value === undefined ? STORE_VARIABLE : '--store', issues);
}

/**
 * Open the store at `location`: the one place the command opens a store.
 * `customFields` are the custom field names queries may filter on.
 */
export async function openStore(
  location: StoreLocation,
  customFields: readonly string[] = [],
): Promise<PostgresStore> {
  try {
    return await openPostgresStore({
      connection: location.connection,
      ...(location.schema === undefined ? {} : { schema: location.schema }),
      customFields,
    });
  } catch (error) {
    // The folder is locked by another process, or the option is bad: the --store flag's problem.
    if (ValidationError.isInstance(error)) throw error;
    if (error instanceof Error && 'issues' in error && Array.isArray(error.issues)) {
      throw new ValidationError(
        (error.issues as ValidationIssue[]).map((issue) => ({ field: '--store', reason: issue.reason })),
      );
    }
    throw error;
  }
}

import { z } from 'zod';
import type { CrmChangesPage, CrmRecordSnapshot, CrmUpsertResult } from '../contracts/crm-adapter.js';
import { ApiCallError } from '../contracts/errors.js';
import { normalizeCrmKey } from './mapping.js';

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const upsertResultSchema = z.union([
  z.object({
    key: z.string(),
    status: z.enum(['created', 'updated', 'unchanged']),
    id: z.string(),
    warnings: z.array(z.object({ field: z.string(), reason: z.string() })).optional(),
  }),
  z.object({
    key: z.string(),
    status: z.literal('failed'),
    error: z.object({
      code: z.string(),
      message: z.string(),
      retryable: z.boolean(),
      vendorCode: z.string().optional(),
      retryAfterMs: z.number().nonnegative().optional(),
      raw: z.unknown().optional(),
    }),
  }),
]);
const snapshotSchema = z.object({
  key: z.string(),
  id: z.string(),
  properties: z.record(z.string(), scalar.nullable()),
  updatedAt: z.string().optional(),
});
const changesPageSchema = z.object({
  records: z.array(snapshotSchema),
  nextCursor: z.string(),
  hasMore: z.boolean(),
});

/**
 * Check what `doUpsert` resolved with and index the valid results by
 * normalised key (the first result of a key wins). Invalid entries are left
 * out, so their records count as having no result. Throws a retryable
 * `invalid_response` when the value is not an array at all.
 */
export function indexUpsertResults(
  adapterId: string,
  results: unknown,
  caseSensitive: boolean | undefined,
): Map<string, CrmUpsertResult> {
  if (!Array.isArray(results)) {
    throw new ApiCallError('invalid_response', {
      message: `${adapterId}: doUpsert must resolve with an array of results`,
      providerId: adapterId,
    });
  }
  const byKey = new Map<string, CrmUpsertResult>();
  for (const candidate of results) {
    const parsed = upsertResultSchema.safeParse(candidate);
    if (!parsed.success) continue;
    const key = normalizeCrmKey(parsed.data.key, caseSensitive);
    if (!byKey.has(key)) byKey.set(key, parsed.data as CrmUpsertResult);
  }
  return byKey;
}

/** Check what `doGet` resolved with and index the valid snapshots by normalised key. */
export function indexSnapshots(
  found: unknown,
  caseSensitive: boolean | undefined,
): Map<string, CrmRecordSnapshot> {
  const snapshots = new Map<string, CrmRecordSnapshot>();
  for (const candidate of Array.isArray(found) ? found : []) {
    const parsed = snapshotSchema.safeParse(candidate);
    if (parsed.success) snapshots.set(normalizeCrmKey(parsed.data.key, caseSensitive), parsed.data);
  }
  return snapshots;
}

/** Check a page of `doListChanges`; throws a retryable `invalid_response` naming the first problem. */
export function parseChangesPage(adapterId: string, raw: unknown): CrmChangesPage {
  const parsed = changesPageSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ApiCallError('invalid_response', {
      message: `${adapterId}: doListChanges returned an invalid page (${issue?.path.join('.') || 'page'}: ${issue?.message})`,
      providerId: adapterId,
    });
  }
  return parsed.data as CrmChangesPage;
}

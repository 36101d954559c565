import { z } from 'zod';
import type { EnrichMatched, EnrichNotFound, EnrichResult } from '../contracts/enrichment-provider.js';
import { ApiCallError, type ValidationIssue } from '../contracts/errors.js';
import { isLeadField, type LeadField, type LeadFieldPatch, leadFieldSchemas } from '../contracts/fields.js';

const credits = z.number().finite().nonnegative();
const confidence = z.number().min(0).max(1);

const resultSchema = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('matched'),
    fields: z.record(z.string(), z.unknown()),
    confidence,
    fieldConfidence: z.record(z.string(), confidence).optional(),
    credits,
    raw: z.unknown().optional(),
  }),
  z.object({ status: z.literal('not_found'), credits, raw: z.unknown().optional() }),
  z.object({
    status: z.literal('pending'),
    correlationId: z.string().min(1),
    credits,
    raw: z.unknown().optional(),
  }),
]);

/** A provider result after validation, with the field values that were dropped. */
export interface ValidatedResult<R extends EnrichResult = EnrichResult> {
  /** The result, holding only valid field values. */
  readonly result: R;
  /** Field values that failed validation and were dropped. */
  readonly issues: readonly ValidationIssue[];
}

/**
 * Validate what a provider returned. A malformed envelope (unknown status,
 * confidence out of range, negative credits) is an `invalid_response`
 * error; individual field values that fail their schema are dropped and
 * listed in `issues`, so one bad value never costs the others.
 */
export function validateEnrichResult(providerId: string, value: unknown): ValidatedResult {
  const parsed = resultSchema.safeParse(value);
  if (!parsed.success) {
    const detail = parsed.error.issues
      .map((issue) => `${issue.path.join('.') || '(result)'}: ${issue.message}`)
      .join('; ');
    throw new ApiCallError('invalid_response', {
      message: `Provider "${providerId}" returned a malformed result: ${detail}`,
      providerId,
      isRetryable: false,
    });
  }
  const result = parsed.data;
  if (result.status !== 'matched') return { result: result as EnrichNotFound, issues: [] };

  const fields: Record<string, unknown> = {};
  const issues: ValidationIssue[] = [];
  for (const [key, fieldValue] of Object.entries(result.fields)) {
    if (fieldValue === undefined || fieldValue === null) continue;
    if (!isLeadField(key)) {
      issues.push({ field: key, reason: 'is not a Lead field' });
      continue;
    }
    const check = leadFieldSchemas[key].safeParse(fieldValue);
    if (check.success) fields[key] = check.data;
    else issues.push({ field: key, reason: check.error.issues.map((issue) => issue.message).join('; ') });
  }
  const fieldConfidence: Partial<Record<LeadField, number>> = {};
  for (const [key, value] of Object.entries(result.fieldConfidence ?? {})) {
    if (isLeadField(key)) fieldConfidence[key] = value;
  }
  const matched: EnrichMatched = {
    status: 'matched',
    fields: fields as LeadFieldPatch,
    confidence: result.confidence,
    fieldConfidence,
    credits: result.credits,
    raw: result.raw,
  };
  return { result: matched, issues };
}

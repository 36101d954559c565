import type { EnrichMatched } from '../contracts/enrichment-provider.js';
import { ValidationError, type ValidationIssue } from '../contracts/errors.js';
import { isLeadField, LEAD_FIELDS, type LeadField, type LeadFieldPatch } from '../contracts/fields.js';
import type { FieldProvenance, Lead } from '../contracts/lead.js';
import { applyLeadFields, getLeadField } from '../lead/index.js';
import type { MergePolicy } from './options.js';

/**
 * Whether `lead` has `field` filled: a value whose confidence (1 when its
 * provenance does not say) reaches `minConfidence`.
 */
export function isFilled(lead: Lead, field: LeadField, minConfidence: number): boolean {
  if (getLeadField(lead, field) === undefined) return false;
  return (lead.provenance[field]?.confidence ?? 1) >= minConfidence;
}

/** The fields of `wanted` that `lead` does not have filled, in `wanted`'s order. */
export function missingFields(lead: Lead, wanted: readonly LeadField[], minConfidence: number): LeadField[] {
  return wanted.filter((field) => !isFilled(lead, field, minConfidence));
}

/** What {@link takesValue} weighs for one field. */
export interface FieldChoice {
  /** Whether the lead already has a value for the field. */
  readonly present: boolean;
  /** Confidence of the present value (1 when its provenance does not say); ignored when absent. */
  readonly existingConfidence: number;
  /** Confidence of the new value. */
  readonly confidence: number;
  /** Whether the field is wanted in this call. */
  readonly wanted: boolean;
  /** The merge policy. */
  readonly mergePolicy: MergePolicy;
  /** The engine's confidence threshold. */
  readonly minConfidence: number;
}

/**
 * Whether a provider's value for one field replaces what the lead has. An
 * empty field always takes it; a field not wanted in this call is never
 * overwritten. Otherwise `highestConfidence` takes a more confident value,
 * and `first` takes one only over a value below `minConfidence`, and only if
 * it is more confident.
 */
export function takesValue(choice: FieldChoice): boolean {
  if (!choice.present) return true;
  if (!choice.wanted) return false;
  if (choice.mergePolicy === 'highestConfidence') return choice.confidence > choice.existingConfidence;
  return choice.existingConfidence < choice.minConfidence && choice.confidence > choice.existingConfidence;
}

/** Where a provider's answer came from and how to weigh it, for {@link mergeAnswer}. */
export interface MergeContext {
  /** The provider that answered. */
  readonly providerId: string;
  /** Credits the answer cost, recorded in each field's provenance. */
  readonly credits: number;
  /** Fields wanted in this call. */
  readonly wanted: ReadonlySet<LeadField>;
  /** The merge policy. */
  readonly mergePolicy: MergePolicy;
  /** The engine's confidence threshold. */
  readonly minConfidence: number;
  /** When the values were merged, recorded in provenance. */
  readonly at: Date;
}

/** What {@link mergeAnswer} did. */
export interface MergeResult {
  /** The lead with the values taken (the same object when none was). */
  readonly lead: Lead;
  /** Fields whose values were taken. */
  readonly filled: LeadField[];
  /** Values the lead model refused; they were dropped. */
  readonly issues: ValidationIssue[];
}

/**
 * Merge one provider's matched answer into a lead, field by field
 * ({@link takesValue}), with provenance. Values the lead model refuses
 * (phone plans, free-mail domains, headcount ranges that contradict the
 * headcount) are dropped with an issue, so one bad value never costs the
 * others, nor the lead.
 */
export function mergeAnswer(lead: Lead, result: EnrichMatched, context: MergeContext): MergeResult {
  const patch: Record<string, unknown> = {};
  const provenance: Partial<Record<LeadField, FieldProvenance>> = {};
  const at = context.at.toISOString();
  for (const [key, value] of Object.entries(result.fields)) {
    if (!isLeadField(key) || value === undefined) continue;
    const confidence = result.fieldConfidence?.[key] ?? result.confidence;
    const present = getLeadField(lead, key) !== undefined;
    const taken = takesValue({
      present,
      existingConfidence: present ? (lead.provenance[key]?.confidence ?? 1) : -1,
      confidence,
      wanted: context.wanted.has(key),
      mergePolicy: context.mergePolicy,
      minConfidence: context.minConfidence,
    });
    if (!taken) continue;
    patch[key] = value;
    provenance[key] = { providerId: context.providerId, confidence, at, credits: context.credits };
  }
  const issues: ValidationIssue[] = [];
  for (let round = 0; round < 3; round++) {
    const filled = Object.keys(patch) as LeadField[];
    if (filled.length === 0) return { lead, filled, issues };
    try {
      return {
        lead: applyLeadFields(lead, patch as LeadFieldPatch, provenance, context.at),
        filled,
        issues,
      };
    } catch (error) {
      if (!ValidationError.isInstance(error)) throw error;
      let dropped = false;
      for (const issue of error.issues) {
        const field = LEAD_FIELDS.find((name) => issue.field === name || issue.field.startsWith(`${name}.`));
        if (field !== undefined && field in patch) {
          delete patch[field];
          delete provenance[field];
          dropped = true;
        }
        issues.push(issue);
      }
      if (!dropped) break;
    }
  }
  return { lead, filled: [], issues };
}

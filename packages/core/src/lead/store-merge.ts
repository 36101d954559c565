import { ValidationError } from '../contracts/errors.js';
import { LEAD_FIELDS, type LeadField } from '../contracts/fields.js';
import type { FieldProvenance, Lead } from '../contracts/lead.js';
import type { LeadFieldChange, LeadStoreMergePolicy } from '../contracts/lead-store.js';
import { applyLeadFields, getLeadField } from './paths.js';
import { stableJson } from './stable-json.js';

/** What {@link mergeStoredLead} did. */
export interface StoredLeadMerge {
  /** The merged lead: the stored one's id and `createdAt`, `updatedAt` moved to `now` when anything changed. */
  readonly lead: Lead;
  /** Whether any field or custom value changed (a value equal to the stored one, whatever its provenance, is no change). */
  readonly changed: boolean;
  /**
   * The fields whose value differs between the stored lead and the merged one
   * (lead fields in `LEAD_FIELDS` order, then `custom.<name>` by name), each
   * with its stored value: what a store's outbox `lead.updated` records. Empty
   * when nothing changed.
   */
  readonly changes: readonly LeadFieldChange[];
}

/** An input value that carries nothing: never stored over a value. */
function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.values(value).every(isEmpty);
  return false;
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** One change: the path, and the value before when there was one (copied, so the record never aliases the lead). */
const changeOf = (field: string, before: unknown): LeadFieldChange =>
  before === undefined ? { field } : { field, before: structuredClone(before) };

/** The fields (and custom fields, as `custom.<name>`) whose value differs between two versions of a lead. */
function leadFieldChanges(before: Lead, after: Lead): LeadFieldChange[] {
  const changes: LeadFieldChange[] = [];
  for (const field of LEAD_FIELDS) {
    const old = getLeadField(before, field);
    if (stableJson(old) !== stableJson(getLeadField(after, field))) changes.push(changeOf(field, old));
  }
  const oldCustom: Record<string, unknown> = before.custom ?? {};
  const newCustom: Record<string, unknown> = after.custom ?? {};
  for (const name of [...new Set([...Object.keys(oldCustom), ...Object.keys(newCustom)])].sort()) {
    const old = Object.hasOwn(oldCustom, name) ? oldCustom[name] : undefined;
    const next = Object.hasOwn(newCustom, name) ? newCustom[name] : undefined;
    if (stableJson(old) !== stableJson(next)) changes.push(changeOf(`custom.${name}`, old));
  }
  return changes;
}

/** Whether the incoming field value (with its provenance) wins over the stored one under `policy`. */
function incomingWins(
  stored: FieldProvenance | undefined,
  incoming: FieldProvenance | undefined,
  policy: LeadStoreMergePolicy,
): boolean {
  const storedAt = Date.parse(stored?.at ?? '') || 0;
  const incomingAt = Date.parse(incoming?.at ?? '') || 0;
  if (policy === 'newest') return incomingAt >= storedAt;
  const storedConfidence = stored?.confidence ?? 1;
  const incomingConfidence = incoming?.confidence ?? 1;
  return (
    incomingConfidence > storedConfidence ||
    (incomingConfidence === storedConfidence && incomingAt > storedAt)
  );
}

/**
 * Merge an incoming lead into the stored lead with the same identity, field
 * by field with provenance, as a lead store's upsert does: an empty incoming
 * value never overwrites a stored one; a field the stored lead lacks is
 * taken; otherwise `policy` decides ({@link LeadStoreMergePolicy}). Custom
 * fields are merged key by key, a non-empty incoming value replacing the
 * stored one. A value the lead model refuses next to the stored ones (a
 * headcount range that contradicts the stored headcount) is dropped, so one
 * bad value never costs the others.
 */
export function mergeStoredLead(
  stored: Lead,
  incoming: Lead,
  policy: LeadStoreMergePolicy,
  now: Date,
): StoredLeadMerge {
  const patch: Record<string, unknown> = {};
  const provenance: Partial<Record<LeadField, FieldProvenance>> = {};
  for (const field of LEAD_FIELDS) {
    const value = getLeadField(incoming, field);
    if (isEmpty(value)) continue;
    const current = getLeadField(stored, field);
    // The same value is no change, whatever its provenance says: a re-import changes nothing.
    if (sameJson(current, value)) continue;
    const origin = incoming.provenance[field] ?? {
      providerId: 'input',
      confidence: 1,
      at: incoming.updatedAt,
      credits: 0,
    };
    const take = current === undefined || incomingWins(stored.provenance[field], origin, policy);
    if (!take) continue;
    patch[field] = value;
    provenance[field] = origin;
  }
  const custom: Record<string, unknown> = { ...(stored.custom ?? {}) };
  let customChanged = false;
  for (const [key, value] of Object.entries(incoming.custom ?? {})) {
    if (isEmpty(value) || sameJson(custom[key], value)) continue;
    custom[key] = value;
    customChanged = true;
  }
  if (Object.keys(patch).length === 0 && !customChanged) return { lead: stored, changed: false, changes: [] };

  let merged = stored;
  for (let round = 0; round < 3 && Object.keys(patch).length > 0; round++) {
    try {
      merged = applyLeadFields(stored, patch, provenance, now);
      break;
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
      }
      if (!dropped) throw error;
    }
  }
  if (Object.keys(patch).length === 0 && !customChanged) return { lead: stored, changed: false, changes: [] };
  const lead: Lead = {
    ...merged,
    updatedAt: now.toISOString(),
    ...(Object.keys(custom).length > 0 ? { custom } : {}),
  };
  return { lead, changed: true, changes: leadFieldChanges(stored, lead) };
}

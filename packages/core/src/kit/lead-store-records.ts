import { ValidationError } from '../contracts/errors.js';
import { type Lead, leadSchema } from '../contracts/lead.js';
import type { LeadStoreFieldName, LeadStoreRecord, LeadUpsertOutcome } from '../contracts/lead-store.js';
import { normalizeEmail } from '../lead/email.js';
import { leadIdentityKey } from '../lead/identity.js';

/**
 * The lead with only `fields` (`id` always): lead field paths such as
 * `company.domain` land nested (`{ company: { domain } }`); fields the lead
 * lacks are absent.
 */
export function projectLead(lead: Lead, fields: readonly LeadStoreFieldName[]): LeadStoreRecord {
  const record: Record<string, unknown> = { id: lead.id };
  for (const field of fields) {
    if (field.startsWith('company.')) {
      const key = field.slice('company.'.length);
      const value = (lead.company as Record<string, unknown> | undefined)?.[key];
      if (value === undefined) continue;
      record.company = { ...((record.company as object | undefined) ?? {}), [key]: structuredClone(value) };
    } else {
      const value = (lead as Record<string, unknown>)[field];
      if (value !== undefined) record[field] = structuredClone(value);
    }
  }
  return record as unknown as LeadStoreRecord;
}

/** A lead accepted for a store: its checked copy and its identity key. */
export interface AcceptedLead {
  /** The lead as checked by the lead schema (a copy). */
  readonly lead: Lead;
  /** `email:…`, `domain:…` or `linkedin:…`. */
  readonly identity: string;
}

/**
 * Check one lead before a store upserts it: the lead schema, an identity
 * (`leadIdentityKey`). Returns the
 * outcome of a rejected lead instead of throwing, so one bad lead never
 * stops the others.
 */
export function acceptLeadForStore(lead: unknown): AcceptedLead | LeadUpsertOutcome {
  const parsed = leadSchema.safeParse(lead);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => ({
      field: issue.path.map(String).join('.') || 'lead',
      reason: issue.message,
    }));
    return { status: 'rejected', issues };
  }
  const identity = leadIdentityKey(parsed.data);
  if (identity === undefined) {
    return {
      status: 'rejected',
      issues: [
        {
          field: 'email',
          reason: 'the lead has no identity: no valid email, and not a company-only lead with a domain',
        },
      ],
    };
  }
  return { lead: parsed.data, identity };
}

/** The identity key of the person with this email (`email:<normalized>`); a `ValidationError` on `email` when it is not an address. */
export function emailIdentity(email: string): string {
  try {
    return `email:${normalizeEmail(email)}`;
  } catch (error) {
    if (ValidationError.isInstance(error)) throw error;
    throw new ValidationError([{ field: 'email', reason: 'must be an email address' }]);
  }
}

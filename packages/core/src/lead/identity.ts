import type { LeadFieldPatch } from '../contracts/fields.js';
import type { Lead } from '../contracts/lead.js';
import { normalizeDomain } from './domain.js';
import { normalizeEmail } from './email.js';
import { isLinkedinProfileUrl, normalizeLinkedinUrl } from './linkedin.js';
import { flattenLead } from './paths.js';

/** Fields that show a lead is about a person, not only a company. */
const PERSON_FIELDS = [
  'firstName',
  'lastName',
  'fullName',
  'phone',
  'title',
  'seniority',
  'department',
  'location',
] as const;

function attempt(normalize: () => string): string | undefined {
  try {
    return normalize();
  } catch {
    return undefined;
  }
}

function isLead(value: Lead | LeadFieldPatch): value is Lead {
  return typeof value === 'object' && value !== null && 'provenance' in value && 'id' in value;
}

/**
 * The key that identifies a lead for dedupe and caching:
 * - `email:<normalized email>` when it has a valid email;
 * - else `domain:<company domain>` for a company-only lead (no name, phone,
 *   title, seniority, department, location or profile URL);
 * - else `linkedin:<canonical URL>` when it has a LinkedIn URL;
 * - else `undefined`: the lead cannot be matched safely.
 *
 * Accepts a lead or a flat field patch (as providers return). Never throws;
 * values that do not normalize are skipped.
 */
export function leadIdentityKey(lead: Lead | LeadFieldPatch): string | undefined {
  if (typeof lead !== 'object' || lead === null) return undefined;
  try {
    return identityOf(isLead(lead) ? flattenLead(lead) : lead);
  } catch {
    return undefined;
  }
}

function identityOf(patch: LeadFieldPatch): string | undefined {
  const email = typeof patch.email === 'string' ? attempt(() => normalizeEmail(patch.email!)) : undefined;
  if (email !== undefined) return `email:${email}`;
  const linkedin =
    typeof patch.linkedinUrl === 'string'
      ? attempt(() => normalizeLinkedinUrl(patch.linkedinUrl!))
      : undefined;
  const isPerson =
    PERSON_FIELDS.some((field) => patch[field] !== undefined) ||
    (linkedin !== undefined && isLinkedinProfileUrl(linkedin));
  const rawDomain = patch['company.domain'];
  const domain = typeof rawDomain === 'string' ? attempt(() => normalizeDomain(rawDomain)) : undefined;
  if (!isPerson && domain !== undefined) return `domain:${domain}`;
  if (linkedin !== undefined) return `linkedin:${linkedin}`;
  return undefined;
}

import type { LeadField } from '../contracts/fields.js';
import { normalizeDomain } from './domain.js';
import { normalizeEmail } from './email.js';
import { isFreeMailDomain } from './free-mail-domains.js';
import { invalid, normalizeShortText } from './issues.js';
import { normalizeLinkedinUrl } from './linkedin.js';
import { type LocationInput, normalizeLocation } from './location.js';
import { normalizePersonName } from './names.js';
import { normalizePhone } from './phone.js';
import { normalizeTechnologies } from './technologies.js';

/**
 * Normalize a company domain and refuse free-mail domains. Throws
 * `ValidationError` (field `company.domain`).
 */
export function normalizeCompanyDomain(value: string): string {
  const domain = normalizeDomain(value);
  if (isFreeMailDomain(domain)) invalid('company.domain', 'is a free-mail domain, not a company domain');
  return domain;
}

/**
 * Canonicalize a value that already passed its `leadFieldSchemas` check, with
 * the same rules `createLead` applies (trimmed text, lower-case email,
 * canonical LinkedIn URL, bare company domain, cleaned location). Throws
 * `ValidationError` with issues under `field`. Internal to the lead module.
 */
export function canonicalFieldValue(field: LeadField, value: unknown): unknown {
  switch (field) {
    case 'email':
      return normalizeEmail(value as string);
    case 'firstName':
    case 'lastName':
    case 'fullName':
      return normalizePersonName(value, field);
    case 'linkedinUrl':
      return normalizeLinkedinUrl(value as string);
    case 'phone':
      return normalizePhone(value as string);
    case 'title':
    case 'department':
    case 'company.name':
    case 'company.industry':
      return normalizeShortText(value, field);
    case 'location':
    case 'company.location':
      return normalizeLocation(value as LocationInput, field);
    case 'company.domain':
      return normalizeCompanyDomain(value as string);
    case 'company.technologies':
      return normalizeTechnologies(value as string[]);
    default:
      return value;
  }
}

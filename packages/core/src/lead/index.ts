export {
  headcountToRange,
  isHeadcountInRange,
  normalizeHeadcountRange,
  type ParsedHeadcount,
  parseHeadcount,
  parseRevenue,
} from './company-size.js';
export { type CreateLeadOptions, createLead, type SafeCreateLeadResult, safeCreateLead } from './create.js';
export { domainFromUrl, normalizeDomain } from './domain.js';
export { domainFromEmail, normalizeEmail } from './email.js';
export { normalizeCompanyDomain } from './field-values.js';
export { FREE_MAIL_BRANDS, FREE_MAIL_DOMAINS, isFreeMailDomain } from './free-mail-domains.js';
export { leadIdentityKey } from './identity.js';
export {
  type CompanyInput,
  companyInputSchema,
  type LeadInput,
  leadInputSchema,
  locationInputSchema,
} from './input.js';
export { isLinkedinProfileUrl, normalizeLinkedinUrl } from './linkedin.js';
export {
  countryCodeFromName,
  countryNameFromCode,
  type LocationInput,
  normalizeCountryCode,
  normalizeLocation,
} from './location.js';
export { joinName, type NameParts, splitFullName } from './names.js';
export { applyLeadFields, flattenLead, getLeadField, missingFields } from './paths.js';
export { type CountryCode, isPhoneCountry, type NormalizePhoneOptions, normalizePhone } from './phone.js';
export { normalizeSeniority } from './seniority.js';
export { mergeStoredLead, type StoredLeadMerge } from './store-merge.js';
export { normalizeTechnologies } from './technologies.js';

/**
 * @packageDocumentation
 * `@leadpipe/provider-clearbit`: Clearbit (now part of HubSpot) as a leadpipe
 * enrichment provider. Combined person + company lookups by email, company
 * lookups by domain, queued (202) lookups handled by polling, streaming or
 * signed webhooks. Clearbit no longer issues API keys to new accounts: this
 * adapter serves existing key holders.
 */

export { clearbitErrorType, clearbitRateLimitHeaders, mapClearbitError } from './clearbit-errors.js';
export {
  CLEARBIT_COMPANY_FIELDS,
  CLEARBIT_PERSON_FIELDS,
  type ClearbitCompany,
  type ClearbitPerson,
  COARSE_SENIORITY_CONFIDENCE,
  COMPANY_CONFIDENCE,
  clearbitCompanySchema,
  clearbitPersonSchema,
  FUZZY_PERSON_CONFIDENCE,
  type MappedRecord,
  mapCompany,
  mapEmployeesRange,
  mapPerson,
  mapRole,
  mapSeniority,
  PERSON_CONFIDENCE,
} from './clearbit-mapping.js';
export {
  CLEARBIT_API_KEY_ENV,
  CLEARBIT_CREDITS_PER_LOOKUP,
  CLEARBIT_HOSTS,
  type ClearbitMode,
  type ClearbitProvider,
  type ClearbitProviderSettings,
  clearbit,
  createClearbit,
} from './clearbit-provider.js';
export {
  CLEARBIT_SIGNATURE_HEADER,
  clearbitSigningSecret,
  computeClearbitSignature,
  parseClearbitWebhook,
  verifyClearbitWebhook,
} from './clearbit-webhook.js';
export { clearbitDescriptor } from './descriptor.js';

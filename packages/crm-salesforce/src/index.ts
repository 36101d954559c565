/**
 * @packageDocumentation
 * `@leadpipe/crm-salesforce`: the Salesforce CRM adapter for leadpipe. Keyed
 * upserts by External ID (sObject Collections of 200 below a threshold, one
 * resumable Bulk API 2.0 job above it), fields checked and converted before
 * sending, OAuth refresh-token and JWT bearer flows with a single-flight
 * refresh, `Sforce-Limit-Info` and `REQUEST_LIMIT_EXCEEDED` handling,
 * incremental changes through SOQL on `SystemModstamp`, Outbound Messages
 * and HMAC-signed Apex/Flow callouts.
 */

export { salesforceDescriptor } from './descriptor.js';
export {
  createSalesforce,
  SALESFORCE_COLLECTION_SIZE,
  SALESFORCE_DEFAULT_API_VERSION,
  SALESFORCE_DEFAULT_BULK_THRESHOLD,
  SALESFORCE_DEFAULT_MAX_BATCH_SIZE,
  type SalesforceAdapter,
  type SalesforceSettings,
  salesforce,
} from './salesforce-adapter.js';
export {
  createSalesforceJwtAssertion,
  SALESFORCE_LOGIN_URL,
  SALESFORCE_PROVIDER_ID,
  type SalesforceAuthSettings,
  type SalesforceJwtSettings,
  type SalesforceTokens,
} from './salesforce-auth.js';
export {
  type BulkRow,
  bulkBatchId,
  createMemoryBulkJobStore,
  type SalesforceBulkJobRecord,
  type SalesforceBulkJobStore,
} from './salesforce-bulk.js';
export { convertValue, type SalesforceField } from './salesforce-fields.js';
export { createFileBulkJobStore } from './salesforce-job-store.js';
export {
  mapSalesforceError,
  parseSforceLimitInfo,
  type SalesforceLimitWaits,
  salesforceRateLimitHeaders,
} from './salesforce-limits.js';
export { recordErrorFromStatusCode, type SalesforceRecordErrorBody } from './salesforce-results.js';
export {
  type ParseSalesforceWebhookOptions,
  parseOutboundMessage,
  parseSalesforceWebhook,
  parseSignedCallout,
  SALESFORCE_OUTBOUND_ACK,
  SALESFORCE_SIGNATURE_HEADER,
  SALESFORCE_TIMESTAMP_HEADER,
  salesforceOutboundResponse,
} from './salesforce-webhooks.js';

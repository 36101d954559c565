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
  type SalesforceAdapter,
  type SalesforceSettings,
  salesforce,
} from './salesforce-adapter.js';
export type { SalesforceAuthSettings, SalesforceJwtSettings, SalesforceTokens } from './salesforce-auth.js';
export {
  createMemoryBulkJobStore,
  type SalesforceBulkJobRecord,
  type SalesforceBulkJobStore,
} from './salesforce-bulk.js';
export { createFileBulkJobStore } from './salesforce-job-store.js';
export { salesforceOutboundResponse } from './salesforce-webhooks.js';

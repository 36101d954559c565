/**
 * @packageDocumentation
 * `@leadpipe/crm-hubspot`: the HubSpot CRM adapter for leadpipe. Keyed batch
 * upserts of contacts (100 per call, 200 and 207 answers read per record),
 * private-app tokens or OAuth with a single-flight refresh, HubSpot's
 * 10-second and daily limits (a DAILY 429 stops calls until the reset),
 * incremental changes through search in time windows under the 10 000-result
 * cap, and v3-signed webhooks.
 */

export { hubspotDescriptor } from './descriptor.js';
export {
  createHubspot,
  type HubspotAdapter,
  type HubspotCompanyAssociationSettings,
  type HubspotProperty,
  type HubspotSettings,
  hubspot,
} from './hubspot-adapter.js';
export type { HubspotOAuthSettings, HubspotOAuthTokens } from './hubspot-auth.js';
export type { HubspotRateLimits, HubspotTier } from './hubspot-limits.js';

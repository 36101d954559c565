/**
 * @packageDocumentation
 * `@leadpipe/provider-zoominfo`: the ZoomInfo enrichment provider for
 * leadpipe, over the GTM API (OAuth2 client credentials or rotating refresh
 * tokens) or the legacy Enterprise API (a JWT from a password or a PKI key).
 * Contacts by email, LinkedIn URL or name at a company; companies by domain
 * or name; batches of 25; output fields limited to the account's
 * entitlements; credits reported as ZoomInfo charges them.
 */

export { zoominfoDescriptor } from './descriptor.js';
export type { ZoomInfoTokens } from './zoominfo-auth.js';
export type { ZoomInfoApi, ZoomInfoRateLimits } from './zoominfo-limits.js';
export {
  createZoomInfo,
  type ZoomInfoProvider,
  type ZoomInfoProviderSettings,
  zoominfo,
} from './zoominfo-provider.js';

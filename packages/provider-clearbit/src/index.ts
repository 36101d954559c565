/**
 * @packageDocumentation
 * `@leadpipe/provider-clearbit`: Clearbit (now part of HubSpot) as a leadpipe
 * enrichment provider. Combined person + company lookups by email, company
 * lookups by domain, queued (202) lookups handled by polling, streaming or
 * signed webhooks. Clearbit no longer issues API keys to new accounts: this
 * adapter serves existing key holders.
 */

export {
  type ClearbitMode,
  type ClearbitProvider,
  type ClearbitProviderSettings,
  clearbit,
  createClearbit,
} from './clearbit-provider.js';
export { clearbitDescriptor } from './descriptor.js';

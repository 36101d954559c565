/**
 * @packageDocumentation
 * `@leadpipe/core`: the contracts every leadpipe adapter implements (the Lead
 * model, `EnrichmentProvider`, errors) and the orchestration that runs them
 * (the waterfall enrichment engine, limits, retries, caching).
 */

export * from './contracts/index.js';
export * from './crm/index.js';
export * from './enrich/index.js';
export * from './http/index.js';
export { type CursorCodec, createCursorCodec } from './kit/cursor-codec.js';
export {
  type CrmChangesSettings,
  type DefineCrmAdapterSettings,
  type DefinedChangesPage,
  type DefinedCrmAdapter,
  type DefinedCrmAdapterOf,
  type DefinedCrmChanges,
  type DefinedCrmWebhooks,
  defineCrmAdapter,
} from './kit/define-crm-adapter.js';
export type { CheckedListChangesRequest } from './kit/request-checks.js';
export * from './lead/index.js';
export * from './limits/index.js';
export * from './pipeline/index.js';
export * from './stores/index.js';
export * from './webhooks/index.js';

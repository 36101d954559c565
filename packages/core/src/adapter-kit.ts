/**
 * @packageDocumentation
 * `@leadpipe/core/adapter-kit`: what an adapter author needs and nothing of
 * the orchestration. The contracts (Lead, `EnrichmentProviderV1`,
 * `CrmAdapterV1`, stores, errors), the HTTP client with status-to-error
 * mapping, rate-limit header parsing, webhook verification, lazy settings
 * (`loadApiKey`), the option checker (`parseOptions`), `defineProvider`, and the lead normalisers adapters use to
 * map vendor records. Importing it never loads the engine, the limiter, CRM
 * sync or the pipeline.
 */

export * from './contracts/index.js';
export {
  type CrmFieldMapping,
  defineFieldMapping,
  type MapLeadResult,
  mapLead,
} from './crm/mapping.js';
export {
  type CrmEventDeduperOptions,
  createCrmEventDeduper,
  type ParseCrmWebhookOptions,
  parseCrmWebhook,
} from './crm/webhooks.js';
export {
  type DefinedEnrichAnswer,
  type DefineProviderSettings,
  defineProvider,
} from './enrich/define-provider.js';
export { type ValidatedResult, validateEnrichResult } from './enrich/validate-result.js';
export * from './http/index.js';
export {
  type CheckedBusSubscription,
  checkBusEvents,
  checkBusSubscription,
  DEFAULT_BUS_CONCURRENCY,
  DEFAULT_BUS_MAX_DELIVERIES,
  topicMatches,
} from './kit/bus-events.js';
export {
  type CallPacer,
  type CallPacerOptions,
  type CallScheduleOptions,
  type CallScheduler,
  type CallSchedulerSource,
  createCallPacer,
} from './kit/call-pacer.js';
export { correlateUpsertResults } from './kit/correlate-results.js';
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
export {
  type CheckedLeadFilter,
  type CheckedLeadQuery,
  CUSTOM_FIELD_NAME,
  checkLeadStoreQuery,
  encodeLeadCursor,
  type LeadQueryPosition,
  textWords,
} from './kit/lead-store-query.js';
export {
  type AcceptedLead,
  acceptLeadForStore,
  emailIdentity,
  projectLead,
} from './kit/lead-store-records.js';
export { exportLeadPages, importLeadBatches } from './kit/lead-store-streams.js';
export { recordErrorFromError } from './kit/record-error.js';
export { type CheckedListChangesRequest, parseIsoTime } from './kit/request-checks.js';
export * from './lead/index.js';
export { type ParseOptionsContext, parseOptions } from './options/parse-options.js';
export * from './telemetry/index.js';
export * from './webhooks/index.js';

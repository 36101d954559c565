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
  type DefinedEnrichAnswer,
  type DefineProviderSettings,
  defineProvider,
} from './enrich/define-provider.js';
export { type ValidatedResult, validateEnrichResult } from './enrich/validate-result.js';
export * from './http/index.js';
export * from './lead/index.js';
export { type ParseOptionsContext, parseOptions } from './options/parse-options.js';
export * from './webhooks/index.js';

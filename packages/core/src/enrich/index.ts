export { type DefinedEnrichAnswer, type DefineProviderSettings, defineProvider } from './define-provider.js';
export {
  createEnrichmentEngine,
  type EnrichmentAttempt,
  type EnrichmentEngine,
  type EnrichmentEngineOptions,
  type EnrichmentOutcome,
  type EnrichmentStats,
  type EnrichOptions,
  type MergePolicy,
} from './engine.js';
export type {
  EnrichmentEventName,
  EnrichmentEvents,
  EnrichmentListener,
  EnrichmentStatus,
  ProviderSkipReason,
} from './events.js';
export { LatencyHistogram, type LatencySummary, type ProviderStats } from './stats.js';
export { type ValidatedResult, validateEnrichResult } from './validate-result.js';

export { type DefinedEnrichAnswer, type DefineProviderSettings, defineProvider } from './define-provider.js';
export { createEnrichmentEngine, type EnrichmentEngine } from './engine.js';
export type {
  EnrichmentEventName,
  EnrichmentEvents,
  EnrichmentListener,
  EnrichmentStatus,
  ProviderSkipReason,
} from './events.js';
export type { EnrichManyOptions, EnrichmentEngineOptions, EnrichOptions, MergePolicy } from './options.js';
export type { EnrichmentAttempt, EnrichmentOutcome, EnrichmentStats } from './outcome.js';
export type { LatencySummary, ProviderDisabled, ProviderStats } from './stats.js';
export type { WaterfallStrategy } from './strategy.js';

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
export * from './lead/index.js';
export * from './limits/index.js';
export * from './pipeline/index.js';
export * from './stores/index.js';
export * from './webhooks/index.js';

export * from './cache.js';
export * from './enrichment-provider.js';
export * from './errors.js';
export * from './fields.js';
export * from './lead.js';
export * from './rate-limit.js';
export * from './secrets.js';
export * from './webhook.js';

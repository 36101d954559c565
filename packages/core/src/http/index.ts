/**
 * Helpers for adapter authors: credentials and settings read lazily from
 * the environment, `Retry-After` and rate-limit header parsing into one
 * shape, and a small ky-based HTTP client that maps every failure to an
 * `ApiCallError`.
 */
export * from './client.js';
export * from './load-settings.js';
export * from './rate-limit-headers.js';
export * from './retry-after.js';

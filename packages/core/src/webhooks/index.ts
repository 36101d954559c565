/**
 * Helpers for verifying inbound webhooks: header lookup, raw bodies,
 * timing-safe HMAC signatures and timestamp freshness. Vendor formats are
 * built from these in the adapters.
 */
export * from './headers.js';
export * from './hmac.js';
export * from './raw-body.js';
export * from './timestamp.js';

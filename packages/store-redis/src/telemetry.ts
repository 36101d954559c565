import type { TracedCall } from '@leadpipe/core/adapter-kit';

/** Span attribute: whether a cache read found a current value. */
export const CACHE_HIT = 'leadpipe.cache.hit';

/**
 * The `traceCall` description of one Redis call of this package: span
 * `leadpipe.store.<operation>`, `leadpipe.store` = `redis`, and
 * `db.system.name` = `redis`. Keys, values and the connection URL are never
 * attributes.
 */
export function redisCall(operation: string): TracedCall {
  return { kind: 'store', vendor: 'redis', operation, attributes: { 'db.system.name': 'redis' } };
}

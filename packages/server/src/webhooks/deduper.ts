import type { Redis } from 'ioredis';

/**
 * Remembers webhook event ids so a redelivery is not published twice. An id
 * is claimed before its event is published and released when publishing
 * fails, so a failed delivery can be delivered again.
 */
export interface WebhookDeduper {
  /** `memory` or `redis`. */
  readonly kind: 'redis' | 'memory';
  /** True when `id` was not claimed yet (and now is); false for a duplicate. */
  claim(id: string): Promise<boolean>;
  /** Forget a claim (its event could not be published). */
  release(id: string): Promise<void>;
}

/** How long an event id is remembered by default: 72 hours, the longest vendor redelivery window. */
const DEFAULT_DEDUPE_TTL_MS = 72 * 60 * 60 * 1000;

/** Ids remembered in this process's memory, at most `max` (oldest forgotten first). */
export function createMemoryWebhookDeduper(
  options: { readonly max?: number; readonly ttlMs?: number; readonly now?: () => number } = {},
): WebhookDeduper {
  const max = options.max ?? 100_000;
  const ttl = options.ttlMs ?? DEFAULT_DEDUPE_TTL_MS;
  const now = options.now ?? Date.now;
  const seen = new Map<string, number>();
  return {
    kind: 'memory',
    async claim(id) {
      const at = now();
      const until = seen.get(id);
      if (until !== undefined && until > at) return false;
      seen.delete(id);
      seen.set(id, at + ttl);
      while (seen.size > max) {
        const oldest = seen.keys().next().value as string;
        seen.delete(oldest);
      }
      return true;
    },
    async release(id) {
      seen.delete(id);
    },
  };
}

/** Ids remembered on Redis (`SET NX PX`), shared by every server process on it. */
export function createRedisWebhookDeduper(
  redis: Redis,
  options: { readonly prefix?: string; readonly ttlMs?: number } = {},
): WebhookDeduper {
  const prefix = options.prefix ?? 'leadpipe:webhook-seen:';
  const ttl = options.ttlMs ?? DEFAULT_DEDUPE_TTL_MS;
  return {
    kind: 'redis',
    async claim(id) {
      return (await redis.set(`${prefix}${id}`, '1', 'PX', ttl, 'NX')) === 'OK';
    },
    async release(id) {
      await redis.del(`${prefix}${id}`);
    },
  };
}

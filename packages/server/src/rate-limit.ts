import type { Redis } from 'ioredis';

/** One counted hit: how many in the current window, and when it ends. */
export interface RateLimitHit {
  /** Hits in the current window, this one included. */
  readonly count: number;
  /** Milliseconds until the window ends and the count starts again. */
  readonly resetMs: number;
}

/**
 * A shared counter of hits per key in fixed windows. The Redis one is
 * shared by every server process on that Redis; the memory one counts this
 * process only.
 */
export interface RateLimitCounter {
  /** `redis` or `memory`. */
  readonly kind: 'redis' | 'memory';
  /** Count one hit of `key` in a window of `windowMs`. */
  hit(key: string, windowMs: number): Promise<RateLimitHit>;
}

/** A counter in this process's memory. Windows are dropped once over. */
export function createMemoryRateLimitCounter(now: () => number = Date.now): RateLimitCounter {
  const windows = new Map<string, { count: number; endsAt: number }>();
  let sweepAt = 0;
  return {
    kind: 'memory',
    async hit(key, windowMs) {
      const at = now();
      if (at >= sweepAt) {
        for (const [name, window] of windows) if (window.endsAt <= at) windows.delete(name);
        sweepAt = at + windowMs;
      }
      let window = windows.get(key);
      if (window === undefined || window.endsAt <= at) {
        window = { count: 0, endsAt: at + windowMs };
        windows.set(key, window);
      }
      window.count += 1;
      return { count: window.count, resetMs: window.endsAt - at };
    },
  };
}

// INCR, and start the window's expiry on the first hit; answers the count and the time left.
const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return { count, ttl }
`;

/**
 * A counter on Redis, shared by every process using the same Redis and
 * prefix: one `INCR` + `PEXPIRE` script per hit (atomic, one round trip).
 */
export function createRedisRateLimitCounter(redis: Redis, prefix = 'leadpipe:ratelimit:'): RateLimitCounter {
  return {
    kind: 'redis',
    async hit(key, windowMs) {
      const [count, ttl] = (await redis.eval(HIT_SCRIPT, 1, `${prefix}${key}`, String(windowMs))) as [
        number,
        number,
      ];
      return { count, resetMs: ttl };
    },
  };
}

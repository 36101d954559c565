import type { Redis } from 'ioredis';

/**
 * A request budget: `limit` requests per `windowMs` as a steady rate, of
 * which at most `burst` (default `limit`) may come at once. It is a token
 * bucket (counted as GCRA: one timestamp per client): a client that was quiet
 * may send `burst` requests at once, then one every `windowMs / limit`.
 * There are no window boundaries, so the fixed window's double burst (the
 * whole limit just before a boundary and again just after) cannot happen.
 */
export interface RateLimitRule {
  /** Requests per window, the steady rate. A whole number from 1. */
  readonly limit: number;
  /** The window, in milliseconds. */
  readonly windowMs: number;
  /** Requests a quiet client may send at once. Default `limit`. */
  readonly burst?: number;
}

/** What a counter answers for one request. */
export interface RateLimitDecision {
  /** Whether the request fits the budget (for `take`, it was counted). */
  readonly allowed: boolean;
  /** Requests that would still pass right now, after this one. */
  readonly remaining: number;
  /** Milliseconds until one more request would pass; 0 when one would pass now. */
  readonly retryAfterMs: number;
  /** Milliseconds until the whole burst is available again. */
  readonly resetMs: number;
}

/**
 * Budgets of clients (addresses, keys) under {@link RateLimitRule}s. The
 * Redis one is shared by every server process on that Redis; the memory one
 * counts this process only.
 */
export interface RateLimitCounter {
  /** `redis` or `memory`. */
  readonly kind: 'redis' | 'memory';
  /** Count one request of `key` under `rule` when it fits; a refused request is not counted. */
  take(key: string, rule: RateLimitRule): Promise<RateLimitDecision>;
  /** Whether one more request of `key` would fit, counting nothing. */
  check(key: string, rule: RateLimitRule): Promise<RateLimitDecision>;
}

/** The emission interval and tolerance of a rule, in ms. */
function shape(rule: RateLimitRule): { interval: number; burst: number } {
  return { interval: rule.windowMs / rule.limit, burst: rule.burst ?? rule.limit };
}

/**
 * GCRA over one stored "theoretical arrival time" (`tat`, epoch ms): the
 * pure decision both counters share. `stored` is undefined for a new client.
 */
function decide(
  stored: number | undefined,
  now: number,
  rule: RateLimitRule,
): RateLimitDecision & { readonly tat: number } {
  const { interval, burst } = shape(rule);
  const tat = Math.max(stored ?? now, now);
  const next = tat + interval;
  const allowAt = next - interval * burst;
  if (allowAt > now) {
    return { allowed: false, remaining: 0, retryAfterMs: allowAt - now, resetMs: tat - now, tat };
  }
  return {
    allowed: true,
    remaining: Math.floor((now - allowAt) / interval),
    retryAfterMs: 0,
    resetMs: next - now,
    tat: next,
  };
}

/** Options of {@link createMemoryRateLimitCounter}. */
export interface MemoryRateLimitCounterOptions {
  /** The clock, epoch ms. Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * A counter in this process's memory: one number per client, dropped once
 * its whole burst is available again.
 */
export function createMemoryRateLimitCounter(options: MemoryRateLimitCounterOptions = {}): RateLimitCounter {
  const now = options.now ?? Date.now;
  const arrivals = new Map<string, number>();
  let sweepAt = 0;
  const sweep = (at: number) => {
    if (at < sweepAt) return;
    for (const [key, tat] of arrivals) if (tat <= at) arrivals.delete(key);
    sweepAt = at + 10_000;
  };
  return {
    kind: 'memory',
    async take(key, rule) {
      const at = now();
      sweep(at);
      const { tat, ...decision } = decide(arrivals.get(key), at, rule);
      if (decision.allowed) arrivals.set(key, tat);
      return decision;
    },
    async check(key, rule) {
      const { tat: _tat, ...decision } = decide(arrivals.get(key), now(), rule);
      return decision;
    },
  };
}

// GCRA in one atomic step. ARGV: now (epoch ms, or '' for the Redis server's clock), interval ms, burst,
// commit ('1' to count). Answers { allowed, remaining, retryAfterMs, resetMs } as whole ms (rounded up).
const GCRA_SCRIPT = `
local now
if ARGV[1] == '' then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
else
  now = tonumber(ARGV[1])
end
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '') or now
if tat < now then tat = now end
local nextTat = tat + interval
local allowAt = nextTat - interval * burst
if allowAt > now then
  return { 0, 0, math.ceil(allowAt - now), math.ceil(tat - now) }
end
if ARGV[4] == '1' then
  redis.call('SET', KEYS[1], string.format('%.3f', nextTat), 'PX', math.max(1, math.ceil(nextTat - now)))
end
return { 1, math.floor((now - allowAt) / interval), 0, math.ceil(nextTat - now) }
`;

/** Options of {@link createRedisRateLimitCounter}. */
export interface RedisRateLimitCounterOptions {
  /** Prefix of every key. Default `leadpipe:ratelimit:`. */
  readonly prefix?: string;
  /**
   * The clock, epoch ms. Default: the Redis server's own (`TIME`), so every
   * process agrees whatever its machine's clock says.
   */
  readonly now?: () => number;
}

/**
 * A counter on Redis, shared by every process using the same Redis and
 * prefix: one Lua script per request (atomic, one round trip), one key per
 * client holding one number, expiring once the client's whole burst is back.
 */
export function createRedisRateLimitCounter(
  redis: Redis,
  options: RedisRateLimitCounterOptions = {},
): RateLimitCounter {
  const prefix = options.prefix ?? 'leadpipe:ratelimit:';
  const run = async (key: string, rule: RateLimitRule, commit: boolean): Promise<RateLimitDecision> => {
    const { interval, burst } = shape(rule);
    const [allowed, remaining, retryAfterMs, resetMs] = (await redis.eval(
      GCRA_SCRIPT,
      1,
      `${prefix}${key}`,
      options.now === undefined ? '' : String(options.now()),
      String(interval),
      String(burst),
      commit ? '1' : '0',
    )) as [number, number, number, number];
    return { allowed: allowed === 1, remaining, retryAfterMs, resetMs };
  };
  return {
    kind: 'redis',
    take: (key, rule) => run(key, rule, true),
    check: (key, rule) => run(key, rule, false),
  };
}

import { parseOptions } from '@leadpipe/core/adapter-kit';
import { z } from 'zod';
import { networkIssue, type TrustProxy } from './client-address.js';
import type { ServerRateLimits } from './limits.js';
import type { RateLimitCounter, RateLimitRule } from './rate-limit.js';

/** The `rateLimit` option of `createServer`. Each limit is a {@link RateLimitRule}, or `false` to turn it off. */
export interface RateLimitOptions {
  /** Per client address on `/v1` (counted before the key is checked) and on mounted apps. Default 600 a minute. */
  readonly perIp?: RateLimitRule | false;
  /** Per API key. Default 1,200 a minute. */
  readonly perKey?: RateLimitRule | false;
  /** Per client address on `POST /webhooks/*`, before the body is read. Default 1,200 a minute. */
  readonly webhooks?: RateLimitRule | false;
  /** Per client address on `GET`/`POST /unsubscribe`. Default 600 a minute. */
  readonly unsubscribe?: RateLimitRule | false;
  /**
   * Failed sign-ins per client address (a wrong API key on `/v1`, a 401 from a
   * mounted app such as the dashboard's login form); successes count nothing.
   * Default 10 per 15 minutes: then one more try every 90 seconds.
   */
  readonly failedAuth?: RateLimitRule | false;
  /** Where budgets are kept. Default: on `redis` when given, else in memory (logged: limits are then per process). */
  readonly counter?: RateLimitCounter;
  /** Prefix of the counter's Redis keys (several deployments on one Redis). Default `leadpipe:ratelimit:`. */
  readonly keyPrefix?: string;
}

/** The defaults of {@link RateLimitOptions}. */
const DEFAULT_LIMITS: ServerRateLimits = {
  ip: { limit: 600, windowMs: 60_000 },
  key: { limit: 1200, windowMs: 60_000 },
  webhooks: { limit: 1200, windowMs: 60_000 },
  unsubscribe: { limit: 600, windowMs: 60_000 },
  'failed-auth': { limit: 10, windowMs: 15 * 60_000 },
};

const count = (most: number, beyond: string) =>
  z
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(most, `must be at most ${most}${beyond}`);

const ruleSchema = z
  .strictObject({
    limit: count(1_000_000, ' (false turns the limit off)'),
    windowMs: count(86_400_000, ' (a day)'),
    burst: count(1_000_000, ''),
  })
  .partial({ burst: true });

/** A rule or `false`, with the rule's own issues (`rateLimit.perIp.limit: must be at least 1`). */
const ruleOrOff = z.unknown().superRefine((value, context) => {
  if (value === false || value === undefined) return;
  if (typeof value !== 'object' || value === null) {
    context.addIssue({ code: 'custom', message: 'must be { limit, windowMs, burst? } or false' });
    return;
  }
  const parsed = ruleSchema.safeParse(value);
  if (parsed.success) return;
  for (const issue of parsed.error.issues) {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
    for (const key of keys)
      context.addIssue({
        code: 'custom',
        message: key === undefined ? issue.message : 'is not a known option',
        path: key === undefined ? issue.path : [...issue.path, key],
      });
  }
});

const trustProxySchema = z.unknown().superRefine((value, context) => {
  if (value === undefined || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || value > 32)
      context.addIssue({ code: 'custom', message: 'a hop count must be a whole number from 0 to 32' });
    return;
  }
  if (!Array.isArray(value) || value.length === 0) {
    context.addIssue({
      code: 'custom',
      message: 'must be false, true, a hop count, or a non-empty list of proxy addresses or networks',
    });
    return;
  }
  value.forEach((entry: unknown, index) => {
    const issue = typeof entry === 'string' ? networkIssue(entry) : 'must be a string';
    if (issue !== undefined) context.addIssue({ code: 'custom', message: issue, path: [index] });
  });
});

const counterSchema = z.custom<RateLimitCounter>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    ((value as RateLimitCounter).kind === 'redis' || (value as RateLimitCounter).kind === 'memory') &&
    typeof (value as RateLimitCounter).take === 'function' &&
    typeof (value as RateLimitCounter).check === 'function',
  'must be a RateLimitCounter: { kind, take, check }',
);

const optionsSchema = z.looseObject({
  rateLimit: z
    .strictObject({
      perIp: ruleOrOff.optional(),
      perKey: ruleOrOff.optional(),
      webhooks: ruleOrOff.optional(),
      unsubscribe: ruleOrOff.optional(),
      failedAuth: ruleOrOff.optional(),
      counter: counterSchema.optional(),
      keyPrefix: z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters').optional(),
    })
    .superRefine((value, context) => {
      if (value.counter !== undefined && value.keyPrefix !== undefined)
        context.addIssue({
          code: 'custom',
          path: ['keyPrefix'],
          message: 'has no effect with counter (give your counter its prefix)',
        });
    })
    .optional(),
  trustProxy: trustProxySchema.optional(),
});

/** The checked limit options of `createServer`: the limits with their defaults, the counter's settings, the trust. */
export interface ResolvedLimitOptions {
  readonly limits: ServerRateLimits;
  readonly counter?: RateLimitCounter;
  readonly keyPrefix?: string;
  readonly trustProxy: TrustProxy;
}

/**
 * Check `createServer`'s `rateLimit` and `trustProxy`.
 *
 * @throws ConfigurationError naming each wrong field (`rateLimit.perIp.windowMs: must be a whole number`).
 */
export function resolveLimitOptions(options: {
  readonly rateLimit?: RateLimitOptions;
  readonly trustProxy?: TrustProxy;
}): ResolvedLimitOptions {
  parseOptions(optionsSchema, options, { name: 'createServer' });
  const given = options.rateLimit ?? {};
  const pick = <Value>(value: Value | undefined, fallback: Value) => (value === undefined ? fallback : value);
  return {
    limits: {
      ip: pick(given.perIp, DEFAULT_LIMITS.ip),
      key: pick(given.perKey, DEFAULT_LIMITS.key),
      webhooks: pick(given.webhooks, DEFAULT_LIMITS.webhooks),
      unsubscribe: pick(given.unsubscribe, DEFAULT_LIMITS.unsubscribe),
      'failed-auth': pick(given.failedAuth, DEFAULT_LIMITS['failed-auth']),
    },
    ...(given.counter === undefined ? {} : { counter: given.counter }),
    ...(given.keyPrefix === undefined ? {} : { keyPrefix: given.keyPrefix }),
    trustProxy: options.trustProxy ?? false,
  };
}

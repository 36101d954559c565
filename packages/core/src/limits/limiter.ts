import type Bottleneck from 'bottleneck';
import { z } from 'zod';
import { ConfigurationError, LeadpipeError } from '../contracts/errors.js';
import { SafeEventBus } from '../events/safe-event-bus.js';
import { parseOptions } from '../options/parse-options.js';
import type { BaseLimiter, LimiterSettings } from './base-limiter.js';
import { DirectLimiter } from './direct-limiter.js';
import {
  clockSchema,
  functionSchema,
  nonEmptyTextSchema,
  numberAtLeastSchema,
  wholeNumberSchema,
} from './option-schemas.js';
import { PacedLimiter } from './paced-limiter.js';
import { normalizePolicy } from './policy.js';
import type { LimiterEvent, LimiterEvents, LimiterRegistry, LimiterRegistryOptions } from './types.js';
import { createWindowStates } from './windows.js';

export type {
  LimiterEvent,
  LimiterRegistry,
  LimiterRegistryOptions,
  LimiterStats,
  ProviderLimiter,
  ScheduleOptions,
} from './types.js';

const nonNegativeNumber = numberAtLeastSchema(0);

/** The options of {@link createLimiterRegistry}, with their defaults. */
const registryOptionsSchema = z.object(
  {
    connection: z
      .custom<Bottleneck.RedisConnection | Bottleneck.IORedisConnection>(
        (value) => typeof value === 'object' && value !== null,
        { error: 'must be a Bottleneck RedisConnection or IORedisConnection' },
      )
      .optional(),
    now: clockSchema,
    maxRateLimitRetries: wholeNumberSchema(0).default(5),
    onEvent: functionSchema<(event: LimiterEvent) => void>().optional(),
    safetyMargin: nonNegativeNumber.default(0.04),
    paceWindowsUpToMs: nonNegativeNumber.default(60_000),
    rateLimitBackoffMs: nonNegativeNumber.default(1000),
    jobExpirationMs: nonNegativeNumber.default(60_000),
  },
  { error: 'must be an object' },
);

const limiterKeySchema = z.object({ id: nonEmptyTextSchema, key: nonEmptyTextSchema });

const EVENT_NAMES = [
  'limiter.rateLimited',
  'limiter.paused',
  'limiter.resumed',
  'limiter.error',
] as const satisfies readonly (keyof LimiterEvents)[];

/**
 * Creates a registry of rate limiters: one per provider id and credential
 * key, created lazily. The limiter owns 429s and quota (it waits and runs the
 * task again); retries of 5xx, timeouts and network errors belong to
 * `withRetry`, outside or inside the scheduled task but never both
 * for the same failure.
 *
 * Every window of the policy is enforced at once. The tightest window of a
 * minute or less is paced evenly (`intervalMs / limit`, plus
 * {@link LimiterRegistryOptions.safetyMargin}) so a vendor counting a rolling
 * window never sees more than its limit; longer windows are counted.
 *
 * @example
 * ```ts
 * const limiters = createLimiterRegistry({ onEvent: (event) => log(event) });
 * const apollo = limiters.get('apollo', 'key-1', { perMinute: 50, perHour: 200, perDay: 600 });
 * const person = await apollo.schedule(() => client.match(lead), { signal });
 * ```
 */
export function createLimiterRegistry(options: LimiterRegistryOptions = {}): LimiterRegistry {
  const parsed = parseOptions(registryOptionsSchema, options, { name: 'createLimiterRegistry' });
  const events = new SafeEventBus<LimiterEvents>();
  const listener = parsed.onEvent;
  if (listener !== undefined) for (const name of EVENT_NAMES) events.on(name, listener);
  const settings: LimiterSettings = {
    connection: parsed.connection,
    now: parsed.now,
    maxRateLimitRetries: parsed.maxRateLimitRetries,
    events,
    safetyMargin: parsed.safetyMargin,
    paceWindowsUpToMs: parsed.paceWindowsUpToMs,
    rateLimitBackoffMs: parsed.rateLimitBackoffMs,
    jobExpirationMs: parsed.jobExpirationMs,
  };
  const limiters = new Map<string, { limiter: BaseLimiter; policy: string }>();
  let closed = false;
  return {
    get(id, key, policy) {
      parseOptions(limiterKeySchema, { id, key }, { name: 'LimiterRegistry.get' });
      if (closed) {
        throw new LeadpipeError('limiter_closed', {
          message: 'The limiter registry was disconnected',
          providerId: id,
        });
      }
      const mapKey = JSON.stringify([id, key]);
      const policyText = JSON.stringify(policy);
      const existing = limiters.get(mapKey);
      if (existing !== undefined) {
        if (existing.policy !== policyText) {
          throw new ConfigurationError('invalid_configuration', {
            message: `Limiter "${id}" for this key already exists with a different policy`,
            issues: [{ field: 'policy', reason: 'differs from the policy this limiter was created with' }],
            providerId: id,
          });
        }
        return existing.limiter;
      }
      const normalized = normalizePolicy(policy, id);
      const windows = createWindowStates(normalized.windows);
      // No windows and nothing shared: only concurrency and pauses to enforce, without Bottleneck.
      const limiter =
        settings.connection === undefined && windows.length === 0
          ? new DirectLimiter(id, key, normalized, windows, settings)
          : new PacedLimiter(id, key, normalized, windows, settings);
      limiters.set(mapKey, { limiter, policy: policyText });
      return limiter;
    },
    async disconnect() {
      closed = true;
      const all = [...limiters.values()];
      limiters.clear();
      await Promise.all(all.map((entry) => entry.limiter.close()));
    },
  };
}

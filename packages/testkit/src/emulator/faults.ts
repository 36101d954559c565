import { parseOptions } from '@leadpipe/core/adapter-kit';
import { z } from 'zod';

/** A latency distribution, in emulated milliseconds. */
export type LatencyDistribution =
  | {
      /** Every answer waits the same time. */
      readonly distribution: 'fixed';
      /** The wait, ms. */
      readonly ms: number;
    }
  | {
      /** Waits drawn uniformly between `minMs` and `maxMs`. */
      readonly distribution: 'uniform';
      /** Shortest wait, ms. */
      readonly minMs: number;
      /** Longest wait, ms. */
      readonly maxMs: number;
    }
  | {
      /** Waits drawn from a normal distribution; negative draws become 0. */
      readonly distribution: 'normal';
      /** Mean wait, ms. */
      readonly meanMs: number;
      /** Standard deviation, ms. */
      readonly stdDevMs: number;
    }
  | {
      /** Waits drawn from an exponential distribution. */
      readonly distribution: 'exponential';
      /** Mean wait, ms. */
      readonly meanMs: number;
    }
  | {
      /** Waits drawn from a log-normal distribution (a long tail of slow answers). */
      readonly distribution: 'lognormal';
      /** Median wait, ms. */
      readonly medianMs: number;
      /** Standard deviation of the wait's natural logarithm (unitless); larger means a longer tail. */
      readonly sigma: number;
    };

/** Bursts of 429 answers. */
export interface RateLimitBurst {
  /** Chance that a request starts a burst. */
  readonly rate: number;
  /** Consecutive requests answered 429 in a burst (the first included). Default 5. */
  readonly length?: number;
  /** `Retry-After` seconds to send, when set. */
  readonly retryAfterSeconds?: number;
}

/**
 * Generic faults the wrapper injects in front of a vendor app, drawn from a
 * seeded random stream so a run repeats. Every rate is a chance per request
 * between 0 and 1.
 */
export interface FaultOptions {
  /** Share of requests answered with a 5xx in the vendor's error shape. */
  readonly serverErrorRate?: number;
  /** Bursts of 429 in the vendor's rate-limit shape (Salesforce: 403 REQUEST_LIMIT_EXCEEDED). */
  readonly rateLimitBurst?: RateLimitBurst;
  /** Latency added before every answer: a fixed number of emulated ms or a distribution. */
  readonly latencyMs?: number | LatencyDistribution;
  /** Share of requests that never get an answer (until the client gives up or `hangMs` passes). */
  readonly hangRate?: number;
  /** How long a hang lasts before the connection is reset, emulated ms. Default 600,000. */
  readonly hangMs?: number;
  /** Share of requests whose connection is reset (server: socket destroyed; msw: network error). */
  readonly connectionResetRate?: number;
  /** Share of JSON answers whose body is cut short, so it no longer parses. */
  readonly malformedJsonRate?: number;
  /**
   * Share of requests answered 401 as if the access token or key had
   * expired, in the vendor's own shape: HubSpot's and Salesforce's expired
   * session answers; Apollo's and Clearbit's are exactly what they send for
   * a wrong key (`Invalid API key` in plain text; `{"error":{"type":"invalid_api_key"}}`),
   * since API keys carry no "expired" signal: only asking again tells a blip
   * from a wrong key. At 1, every request is refused, as with a revoked key.
   */
  readonly expiredTokenRate?: number;
}

/** The kinds of fault that can be forced for the next requests with `faults.queue()`. */
export type FaultKind =
  | 'serverError'
  | 'rateLimited'
  | 'hang'
  | 'connectionReset'
  | 'malformedJson'
  | 'expiredToken';

/** Every {@link FaultKind}. */
export const FAULT_KINDS: readonly FaultKind[] = [
  'serverError',
  'rateLimited',
  'hang',
  'connectionReset',
  'malformedJson',
  'expiredToken',
];

const share = z
  .number({ error: (issue) => `must be a share between 0 and 1, got ${String(issue.input)}` })
  .min(0, { error: (issue) => `must be a share between 0 and 1, got ${String(issue.input)}` })
  .max(1, { error: (issue) => `must be a share between 0 and 1, got ${String(issue.input)}` });

const nonNegative = z
  .number({ error: (issue) => `must be a non-negative number, got ${String(issue.input)}` })
  .min(0, { error: (issue) => `must be a non-negative number, got ${String(issue.input)}` });

const latencySchema = z.union(
  [
    nonNegative,
    z.discriminatedUnion('distribution', [
      z.object({ distribution: z.literal('fixed'), ms: nonNegative }).strict(),
      z
        .object({ distribution: z.literal('uniform'), minMs: nonNegative, maxMs: nonNegative })
        .strict()
        .refine((latency) => latency.maxMs >= latency.minMs, {
          path: ['maxMs'],
          error: 'must not be below minMs',
        }),
      z.object({ distribution: z.literal('normal'), meanMs: nonNegative, stdDevMs: nonNegative }).strict(),
      z.object({ distribution: z.literal('exponential'), meanMs: nonNegative }).strict(),
      z.object({ distribution: z.literal('lognormal'), medianMs: nonNegative, sigma: nonNegative }).strict(),
    ]),
  ],
  {
    error:
      'must be a non-negative number of ms or a distribution (fixed, uniform, normal, exponential, lognormal)',
  },
);

/** The zod schema of {@link FaultOptions}: rates in [0, 1], durations of 0 or more, known keys only. */
export const faultOptionsSchema = z
  .object({
    serverErrorRate: share.optional(),
    rateLimitBurst: z
      .object({
        rate: share,
        length: z
          .number({ error: (issue) => `must be a positive integer, got ${String(issue.input)}` })
          .int({ error: (issue) => `must be a positive integer, got ${String(issue.input)}` })
          .min(1, { error: (issue) => `must be a positive integer, got ${String(issue.input)}` })
          .optional(),
        retryAfterSeconds: nonNegative.optional(),
      })
      .strict()
      .optional(),
    latencyMs: latencySchema.optional(),
    hangRate: share.optional(),
    hangMs: nonNegative.optional(),
    connectionResetRate: share.optional(),
    malformedJsonRate: share.optional(),
    expiredTokenRate: share.optional(),
  })
  .strict();

/**
 * Check fault options (through core's `parseOptions`), naming each offending
 * field as `faults.<field>`.
 *
 * @throws ConfigurationError when a rate is outside [0, 1], a duration is
 * negative, or a setting is unknown.
 */
export function validateFaults(faults: FaultOptions): FaultOptions {
  parseOptions(z.object({ faults: faultOptionsSchema }), { faults }, { name: 'emulator' });
  return faults;
}

/** Draw one latency in emulated ms from a distribution, with `random` in [0, 1). */
export function sampleLatency(
  latency: number | LatencyDistribution | undefined,
  random: () => number,
): number {
  if (latency === undefined) return 0;
  if (typeof latency === 'number') return latency;
  const gaussian = () => {
    const u = Math.max(random(), Number.EPSILON);
    const v = random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  switch (latency.distribution) {
    case 'fixed':
      return latency.ms;
    case 'uniform':
      return latency.minMs + random() * (latency.maxMs - latency.minMs);
    case 'normal':
      return Math.max(0, latency.meanMs + gaussian() * latency.stdDevMs);
    case 'exponential':
      return -Math.log(1 - random()) * latency.meanMs;
    case 'lognormal':
      return latency.medianMs * Math.exp(gaussian() * latency.sigma);
  }
}

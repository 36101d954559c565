import type {
  HttpErrorInfo,
  HttpErrorOverrides,
  RateLimitHeaderMapping,
  RateLimitPolicy,
  RateLimitState,
} from '@leadpipe/core/adapter-kit';
import { z } from 'zod';

/**
 * A HubSpot subscription tier, which sets the default limits
 * (developers.hubspot.com usage guidelines): Free and Starter 100 requests
 * per 10 seconds and 250 000 a day; Professional 190 and 625 000;
 * Enterprise 190 and 1 000 000. Accounts with the API limit increase set
 * `rateLimits` instead.
 */
export type HubspotTier = 'free' | 'starter' | 'professional' | 'enterprise';

/** HubSpot's limits as the adapter enforces them. Every field overrides the tier's default. */
export interface HubspotRateLimits {
  /** Requests per rolling window per app. Default by tier: 100 or 190. */
  readonly tenSecondly?: number;
  /**
   * Length of the rolling window in ms. Default 10 000. The search window
   * (one second) is scaled with it, so a test against an emulator whose
   * clock runs 10 times faster sets 1 000.
   */
  readonly windowMs?: number;
  /** Requests per day per account. Default by tier: 250 000, 625 000 or 1 000 000. */
  readonly daily?: number;
  /** Search requests per second per account. Default 5. */
  readonly searchPerSecond?: number;
}

/** Limits with every default filled in. */
export interface ResolvedHubspotLimits {
  /** Requests per window. */
  readonly tenSecondly: number;
  /** Window length, ms. */
  readonly windowMs: number;
  /** Requests per day. */
  readonly daily: number;
  /** Searches per search window. */
  readonly searchPerSecond: number;
  /** Search window length, ms (a tenth of `windowMs`). */
  readonly searchWindowMs: number;
}

const TIERS: Readonly<Record<HubspotTier, { tenSecondly: number; daily: number }>> = {
  free: { tenSecondly: 100, daily: 250_000 },
  starter: { tenSecondly: 100, daily: 250_000 },
  professional: { tenSecondly: 190, daily: 625_000 },
  enterprise: { tenSecondly: 190, daily: 1_000_000 },
};

const positiveInteger = z
  .number({ error: (issue) => `must be a positive integer, got ${String(issue.input)}` })
  .int({ error: (issue) => `must be a positive integer, got ${String(issue.input)}` })
  .min(1, { error: (issue) => `must be a positive integer, got ${String(issue.input)}` });

/** The settings' `tier`: one of the {@link HubspotTier} names. */
export const hubspotTierSchema = z.enum(Object.keys(TIERS) as [HubspotTier, ...HubspotTier[]], {
  error: (issue) => `must be one of ${Object.keys(TIERS).join(', ')}, got "${String(issue.input)}"`,
});

/** The settings' `rateLimits`: each limit a positive integer. */
export const hubspotRateLimitsSchema = z
  .object({
    tenSecondly: positiveInteger.optional(),
    windowMs: positiveInteger.optional(),
    daily: positiveInteger.optional(),
    searchPerSecond: positiveInteger.optional(),
  })
  .strict();

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The settings' `accountTimeZone`: an IANA time zone the runtime knows. */
export const accountTimeZoneSchema = z
  .string({ error: 'must be an IANA time zone such as "America/New_York"' })
  .refine(isTimeZone, {
    error: (issue) => `must be an IANA time zone such as "America/New_York", got "${String(issue.input)}"`,
  });

/**
 * Fill in HubSpot's limits from the tier and overrides, both checked already
 * (by {@link hubspotTierSchema} and {@link hubspotRateLimitsSchema}).
 */
export function resolveHubspotLimits(
  tier: HubspotTier = 'free',
  overrides: HubspotRateLimits = {},
): ResolvedHubspotLimits {
  const base = TIERS[tier];
  const windowMs = overrides.windowMs ?? 10_000;
  return {
    tenSecondly: overrides.tenSecondly ?? base.tenSecondly,
    windowMs,
    daily: overrides.daily ?? base.daily,
    searchPerSecond: overrides.searchPerSecond ?? 5,
    searchWindowMs: Math.max(1, Math.round(windowMs / 10)),
  };
}

/**
 * The policy the sync engine's limiter enforces for this adapter: the
 * rolling window and the daily budget. `callsPerOperation` divides the
 * window when one adapter call makes several HubSpot calls (upsert plus
 * company association).
 */
export function hubspotRateLimitPolicy(
  limits: ResolvedHubspotLimits,
  callsPerOperation = 1,
): RateLimitPolicy {
  return {
    windows: [
      {
        name: '10s',
        limit: Math.max(1, Math.floor(limits.tenSecondly / callsPerOperation)),
        intervalMs: limits.windowMs,
      },
    ],
    perDay: Math.max(1, Math.floor(limits.daily / callsPerOperation)),
  };
}

/**
 * HubSpot's `X-HubSpot-RateLimit-*` headers: the rolling window (`-Max`,
 * `-Remaining`, `-Interval-Milliseconds`) as `10s`, the daily budget
 * (`-Daily`, `-Daily-Remaining`; not sent on OAuth calls) as `day`, and the
 * 2018 `-Secondly` headers as `second` when present.
 */
export const hubspotRateLimitHeaders: RateLimitHeaderMapping = {
  windows: [
    {
      name: '10s',
      limit: 'x-hubspot-ratelimit-max',
      remaining: 'x-hubspot-ratelimit-remaining',
      intervalMsHeader: 'x-hubspot-ratelimit-interval-milliseconds',
    },
    {
      name: 'second',
      limit: 'x-hubspot-ratelimit-secondly',
      remaining: 'x-hubspot-ratelimit-secondly-remaining',
    },
    { name: 'day', limit: 'x-hubspot-ratelimit-daily', remaining: 'x-hubspot-ratelimit-daily-remaining' },
  ],
};

/**
 * Report rate-limit state to the engine in operations rather than calls:
 * with `callsPerOperation` HubSpot calls per adapter call, the window's
 * limit and remaining count are divided by it, so the engine's limiter,
 * which counts adapter calls, keeps HubSpot's window.
 */
export function scaleRateLimitState(state: RateLimitState, callsPerOperation: number): RateLimitState {
  if (callsPerOperation <= 1) return state;
  const scale = (value: number | undefined) =>
    value === undefined ? undefined : Math.floor(value / callsPerOperation);
  return {
    ...state,
    windows: state.windows.map((window) => {
      const limit = scale(window.limit);
      const remaining = scale(window.remaining);
      return {
        ...window,
        ...(limit === undefined ? {} : { limit: Math.max(1, limit) }),
        ...(remaining === undefined ? {} : { remaining }),
      };
    }),
  };
}

const DAY_MS = 86_400_000;

function zoneOffsetMs(formatter: Intl.DateTimeFormat, at: number): number {
  const parts: Record<string, number> = {};
  for (const part of formatter.formatToParts(new Date(at))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const wall = Date.UTC(
    parts.year ?? 1970,
    (parts.month ?? 1) - 1,
    parts.day ?? 1,
    (parts.hour ?? 0) % 24,
    parts.minute ?? 0,
    parts.second ?? 0,
  );
  return wall - Math.floor(at / 1000) * 1000;
}

/**
 * Build the function giving the epoch ms of the next midnight in an IANA
 * time zone (checked already by {@link accountTimeZoneSchema}): when
 * HubSpot's daily limit resets ("midnight in the account's time zone").
 */
export function createDailyReset(timeZone: string): (now: number) => number {
  const formatter = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  return (now) => {
    const offset = zoneOffsetMs(formatter, now);
    const nextLocalMidnight = (Math.floor((now + offset) / DAY_MS) + 1) * DAY_MS;
    let reset = nextLocalMidnight - offset;
    // Across a daylight-saving change the offset at midnight differs from now's.
    const offsetThen = zoneOffsetMs(formatter, reset);
    if (offsetThen !== offset) reset = nextLocalMidnight - offsetThen;
    return reset > now ? reset : now + 1;
  };
}

function bodyOf(json: unknown): Record<string, unknown> {
  return typeof json === 'object' && json !== null && !Array.isArray(json)
    ? (json as Record<string, unknown>)
    : {};
}

/** What a failed HubSpot response means; see {@link mapHubspotError}. */
export interface HubspotErrorContext {
  /** Current time, epoch ms. */
  readonly now: () => number;
  /** The next daily reset after a time. */
  readonly dailyResetAt: (now: number) => number;
  /** Told when a DAILY 429 arrives, with the reset time. */
  readonly onDailyLimit: (resetAt: number) => void;
  /** Length of the search window, ms, the wait after a secondly 429. */
  readonly searchWindowMs: number;
  /**
   * Wait after a `TEN_SECONDLY_ROLLING` 429 without Retry-After, ms (a tenth
   * of the window): the rolling window frees a slot as each old request
   * ages out, so waiting the whole window (or a backoff doubling past it,
   * 31 s for a burst of five 429s) only wastes quota. HubSpot's headers
   * carry no reset time to wait for instead.
   */
  readonly rollingRetryMs: number;
}

/**
 * Map a failed HubSpot response onto leadpipe's error codes:
 * - 429 `DAILY` becomes `quota_exceeded`, not retryable, waiting until
 *   midnight in the account's time zone (and the adapter stops calling);
 * - 429 `TEN_SECONDLY_ROLLING` stays `rate_limited`: the limiter waits the
 *   Retry-After when HubSpot sent one, else `rollingRetryMs`, and sends the
 *   call again;
 * - 429 `SECONDLY` (search) is `rate_limited` with a one-second wait;
 * - everything else keeps the status's code, with HubSpot's `category`
 *   (or `policyName`) as the vendor code.
 */
export function mapHubspotError(
  info: HttpErrorInfo,
  context: HubspotErrorContext,
): HttpErrorOverrides | undefined {
  const body = bodyOf(info.json);
  const policyName = typeof body.policyName === 'string' ? body.policyName : undefined;
  const category = typeof body.category === 'string' ? body.category : undefined;
  const message = typeof body.message === 'string' ? body.message : '';
  if (info.status === 429) {
    if (policyName === 'DAILY' || /daily limit/i.test(message)) {
      const now = context.now();
      const resetAt = context.dailyResetAt(now);
      context.onDailyLimit(resetAt);
      return {
        code: 'quota_exceeded',
        vendorCode: 'DAILY',
        retryAfterMs: resetAt - now,
        isRetryable: false,
        message: `the daily API limit is used up until ${new Date(resetAt).toISOString()}`,
      };
    }
    if (policyName === 'SECONDLY' || /secondly limit/i.test(message)) {
      return {
        code: 'rate_limited',
        vendorCode: 'SECONDLY',
        retryAfterMs: info.rateLimit?.retryAfterMs ?? context.searchWindowMs,
      };
    }
    return {
      code: 'rate_limited',
      vendorCode: policyName ?? 'TEN_SECONDLY_ROLLING',
      retryAfterMs: info.rateLimit?.retryAfterMs ?? context.rollingRetryMs,
    };
  }
  if (category !== undefined && /^[A-Z][A-Z0-9_]{1,63}$/.test(category)) return { vendorCode: category };
  return undefined;
}

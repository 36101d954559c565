import type {
  HttpErrorInfo,
  HttpErrorOverrides,
  RateLimitHeaderMapping,
  RateLimitPolicy,
  RateLimitState,
} from '@leadpipe/core/adapter-kit';

/** Apollo plan limits of the single-record endpoints, per endpoint and key. */
export interface ApolloPlanLimits {
  /** Requests per minute. Default 200. */
  readonly perMinute?: number;
  /** Requests per hour. Default 600 (the figure in Apollo's own 429 example). */
  readonly perHour?: number;
  /** Requests per day. Default 6 000. */
  readonly perDay?: number;
  /** Calls in flight at once. Default 4. */
  readonly maxConcurrent?: number;
}

/**
 * Default plan limits. Apollo does not publish per-plan numbers; its 429
 * example says 600 per hour for `people/match`, and these match the testkit
 * emulator. Pass your plan's figures (the "View API Usage Stats" endpoint
 * shows them) in `rateLimits`.
 */
export const DEFAULT_APOLLO_PLAN_LIMITS: Required<ApolloPlanLimits> = {
  perMinute: 200,
  perHour: 600,
  perDay: 6000,
  maxConcurrent: 4,
};

/** Apollo gives its bulk endpoints a tenth of the single-record limit. */
export const APOLLO_BULK_DIVISOR = 10;

/**
 * The limiter policy of the provider. The engine keeps one limiter per
 * provider and counts calls, and under load nearly every call is a bulk call
 * (10 records), so the policy is the bulk endpoints' limits: a tenth of the
 * plan. A single-record call then counts as one bulk call, which only
 * under-uses the single endpoints when traffic is too light to fill batches.
 */
export function apolloRateLimitPolicy(plan: ApolloPlanLimits = {}): RateLimitPolicy {
  const limits = { ...DEFAULT_APOLLO_PLAN_LIMITS, ...plan };
  const bulk = (value: number) => Math.max(1, Math.floor(value / APOLLO_BULK_DIVISOR));
  return {
    perMinute: bulk(limits.perMinute),
    perHour: bulk(limits.perHour),
    perDay: bulk(limits.perDay),
    maxConcurrent: limits.maxConcurrent,
    // Apollo counts fixed windows per clock minute, hour and day (reference: "fixed-window limits").
    alignedWindows: true,
  };
}

/**
 * Apollo's rate-limit headers: `x-rate-limit-{minute,hourly,daily}`,
 * `x-{minute,hourly,daily}-requests-left` and `x-{…}-usage`, as windows named
 * like the policy's (`minute`, `hour`, `day`), plus `retry-after` if sent.
 */
export const apolloRateLimitHeaders: RateLimitHeaderMapping = {
  windows: [
    {
      name: 'minute',
      limit: 'x-rate-limit-minute',
      remaining: 'x-minute-requests-left',
      used: 'x-minute-usage',
    },
    {
      name: 'hour',
      limit: 'x-rate-limit-hourly',
      remaining: 'x-hourly-requests-left',
      used: 'x-hourly-usage',
    },
    { name: 'day', limit: 'x-rate-limit-daily', remaining: 'x-daily-requests-left', used: 'x-daily-usage' },
  ],
};

/**
 * A single-record endpoint's reported state in the policy's unit (bulk
 * calls): limits and remaining counts divided by {@link APOLLO_BULK_DIVISOR}.
 * Bulk endpoints' states are passed through unchanged.
 */
export function toBulkUnits(state: RateLimitState, bulkEndpoint: boolean): RateLimitState {
  if (bulkEndpoint) return state;
  const scale = (value: number | undefined, floor: number) =>
    value === undefined ? undefined : Math.max(floor, Math.floor(value / APOLLO_BULK_DIVISOR));
  return {
    ...state,
    windows: state.windows.map((window) => {
      const out: { -readonly [K in keyof typeof window]: (typeof window)[K] } = { ...window };
      if (window.limit !== undefined) out.limit = scale(window.limit, 1);
      if (window.remaining !== undefined) out.remaining = scale(window.remaining, 0);
      return out;
    }),
  };
}

const RATE_MESSAGE = /is (\d+) times per (minute|hour|day)/i;

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/**
 * Apollo's error quirks mapped to the core's codes:
 * - 401 (plain text, `Invalid API key`) `unauthorized`, vendor code `invalid_api_key`: Apollo
 *   sends the same answer for a wrong key and for a blip, so the engine asks once more and
 *   takes the provider out only when that is refused too (see the README);
 * - 403 `API_INACCESSIBLE` `forbidden` on people endpoints (the key lacks the scope);
 *   on organization endpoints `invalid_request`, so a people-only key keeps enriching people;
 * - 400 `RECORD_LIMIT_EXCEEDED` / `INVALID_REQUEST` and 422: `invalid_request` (the lead moves on);
 * - 429 per minute or hour: `rate_limited` (the limiter waits); per day: `quota_exceeded`
 *   (the provider is out until the quota resets);
 * - 5xx: `server_error` (retried by the engine).
 * Messages never quote Apollo's text, which can echo lead data.
 */
export function mapApolloError(info: HttpErrorInfo): HttpErrorOverrides | undefined {
  const body = record(info.json);
  const vendorCode = typeof body?.error_code === 'string' ? body.error_code : undefined;
  const endpoint = info.url.replace(/^.*\/v1\//, '');
  switch (info.status) {
    case 401:
      return {
        code: 'unauthorized',
        ...(/^\s*Invalid API key/i.test(info.bodyText) ? { vendorCode: 'invalid_api_key' } : {}),
        message: 'Apollo rejected the API key (check APOLLO_API_KEY or the apiKey option)',
      };
    case 403:
      if (vendorCode === 'API_INACCESSIBLE' && endpoint.startsWith('organizations')) {
        return {
          code: 'invalid_request',
          vendorCode,
          isRetryable: false,
          message: `the API key is not authorized for ${endpoint} (key scope); company-only lookups are skipped`,
        };
      }
      return {
        code: 'forbidden',
        vendorCode,
        message:
          vendorCode === 'API_INACCESSIBLE'
            ? `the API key is not authorized for ${endpoint} (key scope)`
            : `Apollo refused access to ${endpoint}`,
      };
    case 400:
    case 422:
      return {
        code: 'invalid_request',
        vendorCode,
        message:
          vendorCode === 'RECORD_LIMIT_EXCEEDED'
            ? `too many records for ${endpoint} (at most 10 per call)`
            : `Apollo rejected the request to ${endpoint}`,
      };
    case 429: {
      const message = typeof body?.message === 'string' ? body.message : '';
      const match = RATE_MESSAGE.exec(message);
      const per = match?.[2]?.toLowerCase();
      if (per === 'day') {
        return {
          code: 'quota_exceeded',
          isRetryable: false,
          message: `daily limit of ${match?.[1]} calls to ${endpoint} reached`,
        };
      }
      return {
        code: 'rate_limited',
        message:
          match === null
            ? `rate limit of ${endpoint} reached`
            : `rate limit of ${match[1]} calls per ${per} to ${endpoint} reached`,
      };
    }
    default:
      return undefined;
  }
}

import type {
  HttpErrorInfo,
  HttpErrorOverrides,
  RateLimitHeaderMapping,
  RateLimitPolicy,
} from '@leadpipe/core/adapter-kit';

/** Which of ZoomInfo's two APIs the adapter talks to. */
export type ZoomInfoApi = 'gtm' | 'legacy';

/** Request-rate limits of your ZoomInfo plan. */
export interface ZoomInfoRateLimits {
  /** Requests per second. Default 25 (GTM Standard; the legacy API's 25/s). */
  readonly perSecond?: number;
  /** Requests per minute. Default 1,500 on the legacy API, none on GTM. */
  readonly perMinute?: number;
  /** Requests per hour. Default 54,000 on GTM (Standard), none on the legacy API. */
  readonly perHour?: number;
  /** Requests per day. Default 648,000 on GTM (Standard), none on the legacy API. */
  readonly perDay?: number;
  /** Calls in flight at once. Default 8. */
  readonly maxConcurrent?: number;
}

/**
 * The limiter policy: GTM Standard's per-second, per-hour and per-day windows,
 * or the legacy API's 1,500 per minute and 25 per second, over which your
 * plan's figures win (Builder: 5/s, 10,800/h, 129,600/day; Scaling: 35/s,
 * 75,600/h, 907,200/day).
 */
export function zoominfoRateLimitPolicy(api: ZoomInfoApi, plan: ZoomInfoRateLimits = {}): RateLimitPolicy {
  const defaults: ZoomInfoRateLimits =
    api === 'gtm'
      ? { perSecond: 25, perHour: 54_000, perDay: 648_000, maxConcurrent: 8 }
      : { perSecond: 25, perMinute: 1500, maxConcurrent: 8 };
  const merged = { ...defaults, ...plan };
  return {
    ...(merged.perSecond === undefined ? {} : { perSecond: merged.perSecond }),
    ...(merged.perMinute === undefined ? {} : { perMinute: merged.perMinute }),
    ...(merged.perHour === undefined ? {} : { perHour: merged.perHour }),
    ...(merged.perDay === undefined ? {} : { perDay: merged.perDay }),
    ...(merged.maxConcurrent === undefined ? {} : { maxConcurrent: merged.maxConcurrent }),
  };
}

/**
 * ZoomInfo's rate-limit headers. GTM: `X-RateLimit-Limit-Second|Hour|Day`
 * and `X-RateLimit-Remaining-Second|Hour|Day` on every answer, and on a 429
 * `Retry-After`, `X-RateLimit-Reset` and `X-RateLimit-Rejected-Bucket` (the
 * window refused, whose remaining is then 0). Legacy: `X-RateLimit-Limit`,
 * `-Remaining` and `-Reset` (epoch seconds) of the one-minute window, and the
 * contract's record limit (`X-Usage-Record-Limit-*`) as the window `records`.
 * A remaining of `-1` (ZoomInfo's quota service unavailable) is ignored.
 */
export const zoominfoRateLimitHeaders: RateLimitHeaderMapping = {
  retryAfter: ['retry-after'],
  parse: (header, now) => {
    const count = (name: string) => {
      const value = header(name);
      if (value === undefined || !/^\s*\d+\s*$/.test(value)) return undefined;
      return Number(value);
    };
    const windows: {
      name: string;
      limit?: number;
      remaining?: number;
      resetAt?: number;
      intervalMs?: number;
    }[] = [];
    const rejected = header('x-ratelimit-rejected-bucket')?.trim().toLowerCase();
    const reset = count('x-ratelimit-reset');
    const resetAt = reset === undefined ? undefined : reset >= 1e9 ? reset * 1000 : now + reset * 1000;
    const gtm = [
      ['second', 1000],
      ['hour', 3_600_000],
      ['day', 86_400_000],
    ] as const;
    for (const [name, intervalMs] of gtm) {
      const limit = count(`x-ratelimit-limit-${name}`);
      const remaining = rejected === name ? 0 : count(`x-ratelimit-remaining-${name}`);
      if (limit === undefined && remaining === undefined) continue;
      windows.push({
        name,
        intervalMs,
        ...(limit === undefined ? {} : { limit }),
        ...(remaining === undefined ? {} : { remaining }),
        ...(rejected === name && resetAt !== undefined ? { resetAt } : {}),
      });
    }
    if (windows.length === 0) {
      const limit = count('x-ratelimit-limit');
      const remaining = count('x-ratelimit-remaining');
      if (limit !== undefined || remaining !== undefined) {
        windows.push({
          name: 'minute',
          intervalMs: 60_000,
          ...(limit === undefined ? {} : { limit }),
          ...(remaining === undefined ? {} : { remaining }),
          ...(resetAt === undefined ? {} : { resetAt }),
        });
      }
    }
    const recordLimit = count('x-usage-record-limit-limit');
    const recordsLeft = count('x-usage-record-limit-remaining');
    if (recordsLeft !== undefined) {
      windows.push({
        name: 'records',
        remaining: recordsLeft,
        ...(recordLimit === undefined ? {} : { limit: recordLimit }),
      });
    }
    return windows.length === 0 ? undefined : { windows };
  },
};

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** The message and code of a ZoomInfo error body, whichever API's shape it has. */
function zoominfoErrorOf(json: unknown): {
  message?: string;
  code?: string;
  invalidFields?: string[];
} {
  const body = record(json);
  if (body === undefined) return {};
  const gateway = record(body.error);
  const first = Array.isArray(body.errors) ? record(body.errors[0]) : undefined;
  const message =
    typeof body.error === 'string'
      ? body.error
      : typeof gateway?.message === 'string'
        ? gateway.message
        : typeof first?.detail === 'string'
          ? first.detail
          : typeof body.detail === 'string'
            ? body.detail
            : undefined;
  const code =
    typeof first?.code === 'string'
      ? first.code
      : typeof gateway?.code === 'string'
        ? gateway.code
        : undefined;
  const invalid = Array.isArray(body.invalidOutputFields)
    ? body.invalidOutputFields.filter((field): field is string => typeof field === 'string')
    : undefined;
  return {
    ...(message === undefined ? {} : { message }),
    ...(code === undefined ? {} : { code }),
    ...(invalid === undefined ? {} : { invalidFields: invalid }),
  };
}

/** The vendor code put on a legacy 400 "OutputFields invalid or disallowed." (which has none of its own). */
export const OUTPUT_FIELDS_DISALLOWED = 'OUTPUT_FIELDS_DISALLOWED';

const QUOTA = /used up all of your allowed (request|record|unique id|websights api \w+) limit/i;
const SAFE_CODE = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * ZoomInfo's errors mapped to the core's codes. Messages name the quota or
 * the problem, never echo ZoomInfo's text (it can quote lead data):
 * - 401 `unauthorized` (the adapter has already signed in again once);
 * - 403 "used up all of your allowed … limit" and GTM `PFAPI0011` (credit
 *   limit reached): `quota_exceeded`, the provider out until the reset;
 *   other 403s `forbidden` (no API access, a missing scope);
 * - 400 `invalid_request`, with `vendorCode` (`PFAPI0001` a disallowed field);
 * - 429 per second or hour `rate_limited` (the limiter waits `Retry-After`);
 *   per day `quota_exceeded` until the day's reset;
 * - 5xx `server_error` (retried by the engine).
 */
export function mapZoomInfoError(info: HttpErrorInfo): HttpErrorOverrides | undefined {
  const { message, code, invalidFields } = zoominfoErrorOf(info.json);
  const vendorCode =
    code !== undefined && SAFE_CODE.test(code)
      ? code
      : invalidFields !== undefined && invalidFields.length > 0
        ? OUTPUT_FIELDS_DISALLOWED
        : undefined;
  const path = info.url.replace(/^https?:\/\/[^/]+/, '');
  switch (info.status) {
    case 401:
      return {
        code: 'unauthorized',
        vendorCode,
        message: `ZoomInfo refused the session for ${path} (check the credentials)`,
      };
    case 403: {
      const quota = message === undefined ? undefined : QUOTA.exec(message)?.[1]?.toLowerCase();
      if (quota !== undefined) {
        return {
          code: 'quota_exceeded',
          vendorCode,
          isRetryable: false,
          message: `ZoomInfo's ${quota} limit is used up; the provider is out until the contract's limit resets`,
          retryAfterMs: info.rateLimit?.retryAfterMs,
        };
      }
      return { code: 'forbidden', vendorCode, message: `ZoomInfo refused access to ${path}` };
    }
    case 400:
    case 422:
      if (vendorCode === 'PFAPI0011') {
        return {
          code: 'quota_exceeded',
          vendorCode,
          isRetryable: false,
          message: "ZoomInfo's credit limit is reached; the provider is out until it resets",
        };
      }
      return {
        code: 'invalid_request',
        vendorCode,
        message:
          vendorCode === 'PFAPI0001' || vendorCode === OUTPUT_FIELDS_DISALLOWED
            ? `ZoomInfo refused output fields the account is not entitled to on ${path}`
            : `ZoomInfo rejected the request to ${path}`,
      };
    case 429: {
      const bucket = info.headers.get('x-ratelimit-rejected-bucket')?.trim().toLowerCase();
      if (bucket === 'day') {
        return {
          code: 'quota_exceeded',
          isRetryable: false,
          vendorCode,
          retryAfterMs: info.rateLimit?.retryAfterMs,
          message: "ZoomInfo's daily request limit is reached; the provider is out until the day resets",
        };
      }
      return {
        code: 'rate_limited',
        vendorCode,
        message: `ZoomInfo's ${bucket ?? 'request'} rate limit reached on ${path}`,
      };
    }
    default:
      return undefined;
  }
}

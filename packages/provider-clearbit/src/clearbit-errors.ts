import type { HttpErrorInfo, HttpErrorOverrides, RateLimitHeaderMapping } from '@leadpipe/core/adapter-kit';

/**
 * Clearbit's rate-limit headers: `X-RateLimit-Limit`, `-Remaining` and
 * `-Reset` for a one-minute window. Whether the reset is epoch seconds or
 * seconds until reset is unverified, so both are read (values of 1e9 and
 * more are epoch seconds, smaller ones seconds from now). `Retry-After` is
 * read when present, though Clearbit does not document it.
 */
export const clearbitRateLimitHeaders: RateLimitHeaderMapping = {
  windows: [
    {
      name: 'minute',
      limit: 'x-ratelimit-limit',
      remaining: 'x-ratelimit-remaining',
      reset: 'x-ratelimit-reset',
      resetFormat: 'auto',
      intervalMs: 60_000,
    },
  ],
  retryAfter: ['retry-after'],
};

/** The `error.type` of a Clearbit error body (`{"error":{"type":"…","message":"…"}}`), when it has one. */
export function clearbitErrorType(json: unknown): string | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const error = (json as { error?: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const type = (error as { type?: unknown }).type;
  return typeof type === 'string' && /^[A-Za-z0-9_.:-]{1,64}$/.test(type) ? type : undefined;
}

/** The input field a Clearbit URL looks up by: `company.domain` for the company API, else `email`. */
function lookupFieldOfUrl(url: string): 'email' | 'company.domain' {
  return url.includes('/companies/') ? 'company.domain' : 'email';
}

/**
 * Turn a failed Clearbit response into the right error: 401 `unauthorized`
 * with the vendor code (`invalid_api_key`, `auth_required`; the engine asks
 * once more, and takes the provider out only when that is refused too), 402 `quota_exceeded` (out until the
 * quota resets), 422 `invalid_request` naming the rejected input (the lead
 * moves on to the next provider), 429 `rate_limited` (the limiter waits).
 * Messages never carry the key or the looked-up value.
 */
export function mapClearbitError(info: HttpErrorInfo): HttpErrorOverrides | undefined {
  const type = clearbitErrorType(info.json);
  const suffix = type === undefined ? '' : ` (${type})`;
  switch (info.status) {
    case 401:
      return {
        code: 'unauthorized',
        message: `Clearbit rejected the API key${suffix}; check the apiKey option or CLEARBIT_API_KEY`,
      };
    case 402:
      return {
        code: 'quota_exceeded',
        message: `Clearbit account is over its quota${suffix}; lookups resume when the quota resets`,
        retryAfterMs: info.rateLimit?.retryAfterMs,
      };
    case 422: {
      const field = lookupFieldOfUrl(info.url);
      return {
        code: 'invalid_request',
        message: `${field}: Clearbit rejected the value${suffix}`,
      };
    }
    case 429:
      return { code: 'rate_limited', message: `Clearbit rate limit reached${suffix}` };
    default:
      return undefined;
  }
}

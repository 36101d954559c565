import type { VendorName } from './context.js';

/** A canned answer: status, headers and body text. */
export interface CannedResponse {
  /** HTTP status. */
  readonly status: number;
  /** Response headers. */
  readonly headers: Readonly<Record<string, string>>;
  /** Response body text. */
  readonly body: string;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): CannedResponse => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  body: JSON.stringify(body),
});

/** A 5xx in the vendor's own error shape. */
export function serverErrorResponse(
  vendor: VendorName,
  status: number,
  correlationId: string,
): CannedResponse {
  switch (vendor) {
    case 'apollo':
      return json(status, {
        error: 'Something went wrong. Please try again later.',
        error_code: 'UNKNOWN_ERROR',
      });
    case 'clearbit':
      return json(status, { error: { type: 'server_error', message: 'An internal error occurred.' } });
    case 'hubspot':
      return json(status, {
        status: 'error',
        message: 'internal error',
        correlationId,
        category: 'INTERNAL_ERROR',
      });
    case 'salesforce':
      return json(status, [{ message: 'An unexpected error occurred.', errorCode: 'UNKNOWN_EXCEPTION' }]);
  }
}

/**
 * A rate-limit answer in the vendor's own shape. Salesforce has no 429 for
 * REST limits: it answers 403 `REQUEST_LIMIT_EXCEEDED`.
 */
export function rateLimitedResponse(
  vendor: VendorName,
  path: string,
  correlationId: string,
  retryAfterSeconds: number | undefined,
): CannedResponse {
  const retry: Record<string, string> =
    retryAfterSeconds === undefined ? {} : { 'retry-after': String(Math.ceil(retryAfterSeconds)) };
  switch (vendor) {
    case 'apollo':
      return json(
        429,
        {
          message: `The maximum number of api calls allowed for ${path.replace(/^\//, '')} is 200 times per minute. Please upgrade your plan from https://app.apollo.io/#/settings/plans/upgrade.`,
        },
        retry,
      );
    case 'clearbit':
      return json(429, { error: { type: 'rate_limit', message: 'Rate limit exceeded.' } }, retry);
    case 'hubspot':
      return json(
        429,
        {
          status: 'error',
          message: 'You have reached your ten_secondly_rolling limit.',
          errorType: 'RATE_LIMIT',
          correlationId,
          policyName: 'TEN_SECONDLY_ROLLING',
          groupName: 'publicapi:private-app-api-calls-ten-secondly:1',
        },
        retry,
      );
    case 'salesforce':
      return json(403, [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
  }
}

/** A 401 as the vendor sends it when the access token or key has expired. */
export function expiredTokenResponse(vendor: VendorName, correlationId: string): CannedResponse {
  switch (vendor) {
    case 'apollo':
      return {
        status: 401,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: 'Invalid API key. See https://docs.apollo.io/reference/authentication for how to authenticate.',
      };
    case 'clearbit':
      return json(401, { error: { type: 'invalid_api_key', message: 'Invalid API key provided.' } });
    case 'hubspot':
      return json(401, {
        status: 'error',
        message: 'The OAuth token used to make this call expired 1 second(s) ago.',
        correlationId,
        category: 'EXPIRED_AUTHENTICATION',
      });
    case 'salesforce':
      return json(401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
  }
}

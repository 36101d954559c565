import type { ContractResponse } from '@leadpipe/testkit';
import { type CannedFetch, cannedFetch as sharedCannedFetch } from '@leadpipe/testkit';

/** Paths of the session (sign-in and entitlement lookups), as opposed to data calls. */
const SESSION_PATH = /^\/(authenticate|gtm\/oauth\/v1\/token|lookup\/outputfields\/|gtm\/data\/v1\/lookup\/)/;

/**
 * A `fetch` for the adapter, in front of the real one (the emulator over
 * HTTP): it can answer the next requests with canned responses, and counts
 * data calls apart from the session's (sign-in, entitlements), which the
 * adapter makes once per token and once per provider.
 *
 * A canned 401 answers the data call and the adapter's one re-authentication
 * alike, as a credential ZoomInfo refuses is refused at sign-in too: ZoomInfo
 * clients sign in again once after a 401, so a single 401 would be healed.
 */
export const cannedFetch = (): CannedFetch =>
  sharedCannedFetch({
    cannedTimes: (status, times) => (status === 401 ? Math.max(times, 2) : times),
    counts: (call) => !SESSION_PATH.test(call.path),
  });

/** ZoomInfo's legacy error answers (the live-captured `{success:false,statusCode,error}` shape). */
export const LEGACY_ERROR_RESPONSES: Readonly<Record<number, ContractResponse>> = {
  400: { body: { success: false, statusCode: 400, error: 'Missing outputFields parameter' } },
  401: { body: { success: false, statusCode: 401, error: 'Authentication failed' } },
  403: {
    body: { success: false, statusCode: 403, error: 'You do not have access to the enrich endpoint' },
  },
  429: {
    body: {
      success: false,
      statusCode: 429,
      error:
        'You have exceeded your API query rate limit. Please decrease the frequency of your API requests',
    },
  },
  500: {
    body: {
      success: false,
      statusCode: 500,
      error:
        'An unexpected error has occurred. Please try again and if this continues to occur, please contact us and reference the error id provided above',
    },
  },
};

/** The GTM API's error answers: data-API `{title, detail, errors}` and gateway `{error:{…}}` shapes. */
export const GTM_ERROR_RESPONSES: Readonly<Record<number, ContractResponse>> = {
  400: {
    body: {
      title: 'Bad Request',
      detail: 'Validation failed',
      errors: [
        { id: 'x', code: 'PFAPI0002', status: '400', title: 'Bad Request', detail: 'Validation failed' },
      ],
    },
  },
  401: {
    body: {
      error: { code: 'ZI1001', message: 'Invalid token', status: 401, requestId: 'r', retryable: false },
    },
  },
  403: {
    body: {
      error: {
        code: 'ZI1003',
        message: 'Insufficient scope for this endpoint',
        status: 403,
        requestId: 'r',
        retryable: false,
      },
    },
  },
  429: {
    headers: { 'retry-after': '7', 'x-ratelimit-rejected-bucket': 'second' },
    body: {
      error: { code: 'ZI4029', message: 'Rate limit exceeded', status: 429, requestId: 'r', retryable: true },
    },
  },
  500: {
    body: {
      title: 'Internal Server Error',
      detail: 'Internal Server Error',
      errors: [
        {
          id: 'x',
          code: 'PFAPI0007',
          status: '500',
          title: 'Internal Server Error',
          detail: 'Internal Server Error',
        },
      ],
    },
  },
};

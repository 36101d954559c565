import type { ContractResponse } from '@leadpipe/testkit';

/** Apollo's error answers, as reference/enrichment-apis.md records them. */
export const APOLLO_ERROR_RESPONSES: Readonly<Record<number, ContractResponse>> = {
  400: {
    body: {
      status: 'failed',
      error_code: 'RECORD_LIMIT_EXCEEDED',
      error_message: 'You can enrich a maximum of 10 records per request. You requested 11.',
    },
  },
  401: {
    headers: { 'content-type': 'text/plain; charset=utf-8' },
    body: 'Invalid API key. See https://docs.apollo.io/reference/authentication for how to authenticate.',
  },
  403: {
    body: {
      error: 'This API key is not authorized to access api/v1/people/match.',
      error_code: 'API_INACCESSIBLE',
    },
  },
  422: { body: { status: 'failed', error_code: 'UNKNOWN_ERROR', error_message: 'details must be an array' } },
  429: {
    body: {
      message:
        'The maximum number of api calls allowed for api/v1/people/match is 200 times per minute. Please upgrade your plan from https://app.apollo.io/#/settings/plans/upgrade.',
    },
  },
  500: { body: { error: 'Something went wrong. Please try again later.', error_code: 'UNKNOWN_ERROR' } },
  503: { body: { error: 'Something went wrong. Please try again later.', error_code: 'UNKNOWN_ERROR' } },
};

import {
  cannedJson,
  type EnrichmentEmulatorDefinition,
  retryAfterHeader,
} from '../../emulator/definition.js';
import {
  type ApolloEmulator,
  type ApolloEmulatorOptions,
  type ApolloRateLimits,
  apolloCredentials,
  createApolloEmulator,
} from './index.js';

/** The Apollo emulator, as the registry, the server, msw and the contract backends see it. */
export const apolloEmulatorDefinition: EnrichmentEmulatorDefinition<
  'apollo',
  ApolloEmulatorOptions,
  ApolloEmulator,
  ApolloRateLimits
> = {
  id: 'apollo',
  kind: 'enrichment',
  create: (context, options, truth) => createApolloEmulator(context, { truth, ...options }),
  defaultCredentials: (seed) => apolloCredentials(seed),
  mswMounts: [{ baseUrl: 'https://api.apollo.io' }],
  urls: (baseUrl) => ({ baseUrl, apiUrl: `${baseUrl}/api/v1` }),
  withLimits: (options, limits) =>
    limits ? { ...options, rateLimits: { ...limits, ...options?.rateLimits } } : options,
  close: (emulator) => emulator.webhooks.reset(),
  contractUrls: (baseUrl) => ({
    baseUrl,
    apiUrl: `${baseUrl}/api/v1`,
    companyUrl: `${baseUrl}/api/v1`,
    streamUrl: `${baseUrl}/api/v1`,
  }),
  faultResponses: {
    serverError: (status) =>
      cannedJson(status, {
        error: 'Something went wrong. Please try again later.',
        error_code: 'UNKNOWN_ERROR',
      }),
    rateLimited: (path, _correlationId, retryAfterSeconds) =>
      cannedJson(
        429,
        {
          message: `The maximum number of api calls allowed for ${path.replace(/^\//, '')} is 200 times per minute. Please upgrade your plan from https://app.apollo.io/#/settings/plans/upgrade.`,
        },
        retryAfterHeader(retryAfterSeconds),
      ),
    expiredToken: () => ({
      status: 401,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: 'Invalid API key. See https://docs.apollo.io/reference/authentication for how to authenticate.',
    }),
  },
};

import {
  cannedJson,
  type EnrichmentEmulatorDefinition,
  retryAfterHeader,
} from '../../emulator/definition.js';
import { zoominfoCredentials } from './auth.js';
import {
  createZoomInfoEmulator,
  gtmGatewayBody,
  legacyErrorBody,
  type ZoomInfoEmulator,
  type ZoomInfoEmulatorOptions,
  type ZoomInfoRateLimits,
} from './index.js';

/** The ZoomInfo emulator, as the registry, the server, msw and the contract backends see it. */
export const zoominfoEmulatorDefinition: EnrichmentEmulatorDefinition<
  'zoominfo',
  ZoomInfoEmulatorOptions,
  ZoomInfoEmulator,
  ZoomInfoRateLimits
> = {
  id: 'zoominfo',
  kind: 'enrichment',
  create: (context, options, truth) => createZoomInfoEmulator(context, { truth, ...options }),
  defaultCredentials: (seed) => ({ ...zoominfoCredentials(seed) }),
  mswMounts: [{ baseUrl: 'https://api.zoominfo.com' }],
  // Both APIs share the host: the legacy API at the root, the GTM API under /gtm.
  urls: (baseUrl) => ({ baseUrl, legacyUrl: baseUrl, gtmUrl: `${baseUrl}/gtm` }),
  withLimits: (options, limits) =>
    limits ? { ...options, rateLimits: { ...limits, ...options?.rateLimits } } : options,
  contractUrls: (baseUrl) => ({ baseUrl, apiUrl: baseUrl, companyUrl: baseUrl, streamUrl: baseUrl }),
  faultResponses: {
    serverError: (status, correlationId) =>
      cannedJson(
        status,
        legacyErrorBody(
          status,
          `An unexpected error has occurred. Please try again and if this continues to occur, please contact us and reference the error id provided above (${correlationId})`,
        ),
      ),
    rateLimited: (path, correlationId, retryAfterSeconds) =>
      path.startsWith('/gtm/')
        ? cannedJson(429, gtmGatewayBody(429, 'ZI4029', 'Rate limit exceeded', correlationId), {
            ...retryAfterHeader(retryAfterSeconds ?? 1),
            'x-ratelimit-rejected-bucket': 'second',
          })
        : cannedJson(
            429,
            legacyErrorBody(
              429,
              'You have exceeded your API query rate limit. Please decrease the frequency of your API requests',
            ),
            retryAfterHeader(retryAfterSeconds),
          ),
    expiredToken: () => cannedJson(401, legacyErrorBody(401, 'Authentication failed')),
  },
};

import { type CrmEmulatorDefinition, cannedJson, retryAfterHeader } from '../../emulator/definition.js';
import { hubspotIdentity } from './identity.js';
import { createHubspotEmulator } from './index.js';
import type { HubspotEmulator, HubspotEmulatorOptions, HubspotRateLimitOptions } from './types.js';

/** The HubSpot emulator, as the registry, the server and msw see it. */
export const hubspotEmulatorDefinition: CrmEmulatorDefinition<
  'hubspot',
  HubspotEmulatorOptions,
  HubspotEmulator,
  HubspotRateLimitOptions
> = {
  id: 'hubspot',
  kind: 'crm',
  create: (context, options) => createHubspotEmulator(context, options),
  defaultCredentials: (seed) => hubspotIdentity(seed).credentials,
  mswMounts: [{ baseUrl: 'https://api.hubapi.com' }],
  urls: (baseUrl) => ({ baseUrl }),
  withLimits: (options, limits) =>
    limits ? { ...options, rateLimits: { ...limits, ...options?.rateLimits } } : options,
  faultResponses: {
    serverError: (status, correlationId) =>
      cannedJson(status, {
        status: 'error',
        message: 'internal error',
        correlationId,
        category: 'INTERNAL_ERROR',
      }),
    rateLimited: (_path, correlationId, retryAfterSeconds) =>
      cannedJson(
        429,
        {
          status: 'error',
          message: 'You have reached your ten_secondly_rolling limit.',
          errorType: 'RATE_LIMIT',
          correlationId,
          policyName: 'TEN_SECONDLY_ROLLING',
          groupName: 'publicapi:private-app-api-calls-ten-secondly:1',
        },
        retryAfterHeader(retryAfterSeconds),
      ),
    expiredToken: (correlationId) =>
      cannedJson(401, {
        status: 'error',
        message: 'The OAuth token used to make this call expired 1 second(s) ago.',
        correlationId,
        category: 'EXPIRED_AUTHENTICATION',
      }),
  },
};

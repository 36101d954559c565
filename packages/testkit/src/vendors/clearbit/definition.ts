import {
  cannedJson,
  type EnrichmentEmulatorDefinition,
  retryAfterHeader,
} from '../../emulator/definition.js';
import {
  type ClearbitEmulator,
  type ClearbitEmulatorOptions,
  clearbitCredentials,
  createClearbitEmulator,
} from './index.js';

/** Run-wide limits of the Clearbit emulator (`startEmulators({ limits: { clearbit } })`). */
export interface ClearbitLimits {
  /** Requests per minute per API (person, company) and key. Default 600. */
  readonly perMinute?: number;
}

/** The Clearbit emulator, as the registry, the server, msw and the contract backends see it. */
export const clearbitEmulatorDefinition: EnrichmentEmulatorDefinition<
  'clearbit',
  ClearbitEmulatorOptions,
  ClearbitEmulator,
  ClearbitLimits
> = {
  id: 'clearbit',
  kind: 'enrichment',
  create: (context, options, truth) => createClearbitEmulator(context, { truth, ...options }),
  defaultCredentials: (seed) => clearbitCredentials(seed),
  mswMounts: [
    { baseUrl: 'https://person.clearbit.com' },
    { baseUrl: 'https://company.clearbit.com' },
    { baseUrl: 'https://person-stream.clearbit.com', pathPrefix: '/stream' },
    { baseUrl: 'https://company-stream.clearbit.com', pathPrefix: '/stream' },
  ],
  urls: (baseUrl) => ({ baseUrl, personUrl: baseUrl, companyUrl: baseUrl, streamUrl: `${baseUrl}/stream` }),
  withLimits: (options, limits) =>
    limits?.perMinute !== undefined ? { perMinute: limits.perMinute, ...options } : options,
  close: (emulator) => emulator.webhooks.reset(),
  // Lookups queued (202) on first sight would make the contract's known lead pending: off unless asked.
  contractDefaults: { queuedShare: 0 },
  contractUrls: (baseUrl) => ({
    baseUrl,
    apiUrl: baseUrl,
    companyUrl: baseUrl,
    streamUrl: `${baseUrl}/stream`,
  }),
  faultResponses: {
    serverError: (status) =>
      cannedJson(status, { error: { type: 'server_error', message: 'An internal error occurred.' } }),
    rateLimited: (_path, _correlationId, retryAfterSeconds) =>
      cannedJson(
        429,
        { error: { type: 'rate_limit', message: 'Rate limit exceeded.' } },
        retryAfterHeader(retryAfterSeconds),
      ),
    expiredToken: () =>
      cannedJson(401, { error: { type: 'invalid_api_key', message: 'Invalid API key provided.' } }),
  },
};

import { type EmulatorBackend, enrichmentProviderContract, startEmulatorBackend } from '@leadpipe/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ClearbitMode, createClearbit } from '../src/index.js';
import { TRUTH } from './support.js';

let server: EmulatorBackend<'clearbit'>;
beforeAll(async () => {
  server = await startEmulatorBackend('clearbit', { seed: TRUTH.seed, truth: TRUTH });
});
afterAll(() => server.close());
afterEach(() => vi.unstubAllEnvs());

const MODES: readonly ClearbitMode[] = ['sync', 'stream', 'webhook'];

function settingsFor(mode: ClearbitMode) {
  return {
    mode,
    baseUrl: server.urls.apiUrl,
    streamBaseUrl: server.urls.streamUrl,
    ...(mode === 'webhook' ? { webhookUrl: 'https://app.example.com/hooks/clearbit' } : {}),
  };
}

describe.each(MODES)('mode %s', (mode) => {
  enrichmentProviderContract(it, expect, {
    name: `clearbit (${mode})`,
    createProvider: () => createClearbit({ ...settingsFor(mode), apiKey: server.credentials.apiKey }),
    createProviderWithoutCredentials: () => {
      vi.stubEnv('CLEARBIT_API_KEY', '');
      return createClearbit(settingsFor(mode));
    },
    get knownLead() {
      return server.contract.knownLead;
    },
    get unknownLead() {
      return server.contract.unknownLead;
    },
    get expectedFields() {
      return server.contract.expectedFields;
    },
    backend: {
      respondWith: (status, response, times) => server.backend.respondWith(status, response, times),
      requestCount: () => server.backend.requestCount(),
      reset: () => server.backend.reset?.(),
    },
    get secrets() {
      return server.contract.secrets;
    },
    errorResponses: {
      401: { body: { error: { type: 'invalid_api_key', message: 'Invalid API key provided.' } } },
      402: { body: { error: { type: 'over_quota', message: 'Over quota.' } } },
      422: { body: { error: { type: 'invalid_email', message: 'Invalid email.' } } },
    },
    // Streaming is exempt from Clearbit's rate limit: no X-RateLimit-* headers there.
    reportsRateLimitsOnSuccess: mode !== 'stream',
  });
});

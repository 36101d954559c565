import { enrichmentProviderContract, startEmulatorBackend } from '@leadpipe/testkit';
import { afterAll, expect, it, vi } from 'vitest';
import { createApollo } from '../src/index.js';
import { APOLLO_ERROR_RESPONSES } from './fixtures.js';

vi.stubEnv('APOLLO_API_KEY', '');
const server = await startEmulatorBackend('apollo');
afterAll(() => server.close());

enrichmentProviderContract(it, expect, {
  ...server.contract,
  name: 'apollo',
  createProvider: () => createApollo({ apiKey: server.credentials.apiKey, baseUrl: server.urls.apiUrl }),
  createProviderWithoutCredentials: () => createApollo({ baseUrl: server.urls.apiUrl }),
  errorResponses: APOLLO_ERROR_RESPONSES,
  reportsRateLimitsOnSuccess: true,
});

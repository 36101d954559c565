import {
  createEmulatorClock,
  type EmulatorBackend,
  enrichmentProviderContract,
  startEmulatorBackend,
} from '@leadpipe/testkit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createZoomInfo, type ZoomInfoProviderSettings } from '../src/index.js';
import { cannedFetch, GTM_ERROR_RESPONSES, LEGACY_ERROR_RESPONSES } from './support.js';

for (const name of [
  'ZOOMINFO_API',
  'ZOOMINFO_CLIENT_ID',
  'ZOOMINFO_CLIENT_SECRET',
  'ZOOMINFO_REFRESH_TOKEN',
  'ZOOMINFO_USERNAME',
  'ZOOMINFO_PASSWORD',
  'ZOOMINFO_PKI_CLIENT_ID',
  'ZOOMINFO_PRIVATE_KEY',
]) {
  vi.stubEnv(name, '');
}

// ZoomInfo allows one sign-in per second and each check signs in afresh: the emulator and the adapter share a
// clock on which 1 emulated second is 1 real ms (so PKI assertions and JWT expiry are read on the same time).
const clock = createEmulatorClock(1000);
let server: EmulatorBackend<'zoominfo'>;
beforeAll(async () => {
  server = await startEmulatorBackend('zoominfo', {
    truth: { people: 400, companies: 60 },
    clock,
  });
});
afterAll(() => server.close());

type Mode = 'gtm (client credentials)' | 'legacy (password)' | 'legacy (PKI)';

function credentialsFor(mode: Mode): ZoomInfoProviderSettings {
  const credentials = server.credentials;
  switch (mode) {
    case 'gtm (client credentials)':
      return { api: 'gtm', clientId: credentials.clientId, clientSecret: credentials.clientSecret };
    case 'legacy (password)':
      return { api: 'legacy', username: credentials.username, password: credentials.password };
    case 'legacy (PKI)':
      return {
        api: 'legacy',
        username: credentials.username,
        pkiClientId: credentials.pkiClientId,
        privateKey: credentials.privateKey,
      };
  }
}

describe.each<Mode>(['gtm (client credentials)', 'legacy (password)', 'legacy (PKI)'])(
  'zoominfo %s',
  (mode) => {
    const canned = cannedFetch();
    const api = mode.startsWith('gtm') ? 'gtm' : 'legacy';
    enrichmentProviderContract(it, expect, {
      name: `zoominfo ${mode}`,
      // Signed in and entitlements read before the suite counts: the suite counts data calls.
      createProvider: async () => {
        const provider = createZoomInfo({
          ...credentialsFor(mode),
          baseUrl: server.urls.baseUrl,
          fetch: canned.fetch,
          clock: () => clock.now(),
        });
        await provider.connect();
        return provider;
      },
      createProviderWithoutCredentials: () =>
        createZoomInfo({ api, baseUrl: server.urls.baseUrl, fetch: canned.fetch }),
      get knownLead() {
        return server.contract.knownLead;
      },
      get unknownLead() {
        return server.contract.unknownLead;
      },
      get expectedFields() {
        return server.contract.expectedFields;
      },
      backend: canned.backend,
      get secrets() {
        const credentials = server.credentials;
        return [credentials.clientSecret, credentials.password, credentials.refreshToken].filter(
          (secret): secret is string => secret !== undefined,
        );
      },
      errorResponses: api === 'gtm' ? GTM_ERROR_RESPONSES : LEGACY_ERROR_RESPONSES,
      reportsRateLimitsOnSuccess: true,
    });
  },
);

import { ConfigurationError, REDACTED, redactSecrets, type VendorEmulatorConnection } from '@leadpipe/core';
import { type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createZoomInfo, zoominfoDescriptor } from '../src/index.js';

let running: RunningEmulators;
beforeAll(async () => {
  running = await startEmulators({ vendors: ['zoominfo'], truth: { people: 200, companies: 40 } });
});
afterAll(() => running.close());

function connection(extra: Partial<VendorEmulatorConnection> = {}): VendorEmulatorConnection {
  return { urls: running.urls.zoominfo!, credentials: running.credentials.zoominfo!, ...extra };
}

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('zoominfoDescriptor', () => {
  it('describes ZoomInfo: an enrichment provider whose secrets are marked', () => {
    expect(zoominfoDescriptor).toMatchObject({
      specificationVersion: 'v1',
      id: 'zoominfo',
      kind: 'enrichment',
    });
    const secrets = zoominfoDescriptor.environment
      .filter((variable) => variable.secret)
      .map((variable) => variable.name);
    expect(secrets).toEqual([
      'ZOOMINFO_CLIENT_SECRET',
      'ZOOMINFO_REFRESH_TOKEN',
      'ZOOMINFO_PASSWORD',
      'ZOOMINFO_PRIVATE_KEY',
    ]);
  });

  it('fromEnv without credentials throws an error naming the options and the variables of both APIs', () => {
    for (const env of [{}, { ZOOMINFO_CLIENT_ID: 'only-the-id' }]) {
      const error = thrown(() => zoominfoDescriptor.fromEnv(env));
      expect(ConfigurationError.isInstance(error)).toBe(true);
      expect((error as ConfigurationError).code).toBe('missing_credentials');
      expect((error as ConfigurationError).message).toContain('ZOOMINFO_CLIENT_SECRET');
      expect((error as ConfigurationError).message).toContain('ZOOMINFO_PASSWORD');
    }
    const legacy = thrown(() => zoominfoDescriptor.fromEnv({ ZOOMINFO_USERNAME: 'api@acme.com' }));
    expect((legacy as ConfigurationError).issues).toEqual([
      {
        field: 'username and password',
        reason:
          'is missing: pass the options username and password; or set ZOOMINFO_USERNAME and ZOOMINFO_PASSWORD, or ZOOMINFO_USERNAME, ZOOMINFO_PKI_CLIENT_ID and ZOOMINFO_PRIVATE_KEY',
      },
    ]);
  });

  it('fromEnv picks the API from the variables and registers the secrets', () => {
    const secret = 'zi_descriptor_secret_9f2c71';
    const gtm = zoominfoDescriptor.fromEnv({ ZOOMINFO_CLIENT_ID: 'client', ZOOMINFO_CLIENT_SECRET: secret });
    expect(gtm.api).toBe('gtm');
    expect(redactSecrets(`secret ${secret}`)).toBe(`secret ${REDACTED}`);
    const password = 'zi_descriptor_password_51ab';
    const legacy = zoominfoDescriptor.fromEnv({
      ZOOMINFO_USERNAME: 'api@acme.com',
      ZOOMINFO_PASSWORD: password,
    });
    expect(legacy.api).toBe('legacy');
    expect(redactSecrets(password)).toBe(REDACTED);
    expect(
      zoominfoDescriptor.fromEnv({
        ZOOMINFO_API: 'legacy',
        ZOOMINFO_USERNAME: 'a@b.com',
        ZOOMINFO_PASSWORD: 'x',
      }).api,
    ).toBe('legacy');
  });

  it('emulatorSettings point the provider at the emulator over HTTP, with the credentials it accepts', async () => {
    const limits = { perSecond: 40, perHour: 90_000 };
    const provider = zoominfoDescriptor.create(zoominfoDescriptor.emulatorSettings(connection({ limits })));
    expect(provider.capabilities.rateLimits).toMatchObject(limits);
    const person = running.truth.people[0]!;
    running.emulators.zoominfo!.requests.clear();
    const result = await provider.doEnrich(
      { leadId: 'lead-1', input: { email: person.email }, fields: ['title'] },
      {},
    );
    expect(['matched', 'not_found']).toContain(result.status);
    expect(
      running.emulators.zoominfo!.requests.all().map((request) => `${request.path} ${request.status}`),
    ).toEqual([
      '/gtm/oauth/v1/token 200',
      '/gtm/data/v1/lookup/enrich 200',
      '/gtm/data/v1/contacts/enrich 200',
    ]);
    const wrongSecret = createZoomInfo({
      ...zoominfoDescriptor.emulatorSettings(connection()),
      clientSecret: 'not-the-secret-0000',
    });
    await expect(
      wrongSecret.doEnrich({ leadId: 'lead-2', input: { email: person.email }, fields: ['title'] }, {}),
    ).rejects.toMatchObject({ code: 'unauthorized', vendorCode: 'invalid_client' });
  });

  it('what it builds holds nothing to release: no close()', () => {
    const provider = zoominfoDescriptor.create(zoominfoDescriptor.emulatorSettings(connection()));
    expect('close' in provider).toBe(false);
  });
});

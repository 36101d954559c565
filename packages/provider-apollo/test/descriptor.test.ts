import { ConfigurationError, REDACTED, redactSecrets, type VendorEmulatorConnection } from '@leadpipe/core';
import { type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apolloDescriptor, createApollo } from '../src/index.js';

let running: RunningEmulators;
beforeAll(async () => {
  running = await startEmulators({ vendors: ['apollo'], truth: { people: 200, companies: 40 } });
});
afterAll(() => running.close());

function connection(extra: Partial<VendorEmulatorConnection> = {}): VendorEmulatorConnection {
  return { urls: running.urls.apollo!, credentials: running.credentials.apollo!, ...extra };
}

describe('apolloDescriptor', () => {
  it('describes Apollo: an enrichment provider reading one secret variable', () => {
    expect(apolloDescriptor).toMatchObject({ specificationVersion: 'v1', id: 'apollo', kind: 'enrichment' });
    expect(apolloDescriptor.environment).toEqual([
      { name: 'APOLLO_API_KEY', option: 'apiKey', secret: true, description: expect.any(String) },
    ]);
  });

  it('fromEnv without APOLLO_API_KEY throws an error naming the option and the variable', () => {
    for (const env of [{}, { APOLLO_API_KEY: '  ' }]) {
      expect(apolloDescriptor.missingVariables(env)).toEqual([
        { option: 'apiKey', variables: 'APOLLO_API_KEY' },
      ]);
      let thrown: unknown;
      try {
        apolloDescriptor.fromEnv(env);
      } catch (error) {
        thrown = error;
      }
      expect(ConfigurationError.isInstance(thrown)).toBe(true);
      const error = thrown as ConfigurationError;
      expect(error.code).toBe('missing_credentials');
      expect(error.message).toContain("'apiKey'");
      expect(error.message).toContain('APOLLO_API_KEY');
      expect(error.issues).toEqual([
        { field: 'apiKey', reason: "is missing: pass the 'apiKey' option or set APOLLO_API_KEY" },
      ]);
    }
  });

  it('fromEnv with APOLLO_API_KEY builds the provider and registers the key as a secret', async () => {
    const key = 'apl_descriptor_test_key_4d1f';
    expect(apolloDescriptor.missingVariables({ APOLLO_API_KEY: key })).toEqual([]);
    const provider = apolloDescriptor.fromEnv({ APOLLO_API_KEY: ` ${key} ` });
    expect(provider.providerId).toBe('apollo');
    expect(redactSecrets(`key ${key}`)).toBe(`key ${REDACTED}`);
    await provider.close();
  });

  it('emulatorSettings point the provider at the emulator over HTTP, with its key and quotas', async () => {
    const limits = { perMinute: 12_340, perHour: 56_780, perDay: 90_120 };
    const provider = apolloDescriptor.create(apolloDescriptor.emulatorSettings(connection({ limits })));
    try {
      expect(provider.capabilities.rateLimits).toEqual(
        createApollo({ rateLimits: limits }).capabilities.rateLimits,
      );
      const person = running.truth.people[0]!;
      running.emulators.apollo!.requests.clear();
      // The emulator answers 401 to any other key: an answer means the settings carry the key it accepts.
      const result = await provider.doEnrich(
        { leadId: 'lead-1', input: { email: person.email }, fields: ['title'] },
        {},
      );
      expect(['matched', 'not_found']).toContain(result.status);
      expect(running.emulators.apollo!.requests.all().map((request) => request.path)).toEqual([
        '/api/v1/people/match',
      ]);
      const wrongKey = createApollo({
        ...apolloDescriptor.emulatorSettings(connection()),
        apiKey: 'not-the-key-0000',
      });
      await expect(
        wrongKey.doEnrich({ leadId: 'lead-2', input: { email: person.email }, fields: ['title'] }, {}),
      ).rejects.toMatchObject({ status: 401 });
      await wrongKey.close();
    } finally {
      await provider.close();
    }
  });

  it('what it builds has close(), which forgets the lookups waiting for a reveal webhook', async () => {
    const view = running.emulators.apollo!.emulator.view;
    const person = running.truth.people.find((candidate) => view.person(candidate)?.phone !== undefined)!;
    const provider = apolloDescriptor.create({
      ...apolloDescriptor.emulatorSettings(connection()),
      // Nothing listens there: the emulator's webhook goes nowhere, the lookup stays pending.
      reveal: { webhookUrl: 'http://127.0.0.1:9/hooks/apollo', phone: true },
    });
    const result = await provider.doEnrich(
      { leadId: person.id, input: { email: person.email }, fields: ['phone'] },
      {},
    );
    expect(result.status).toBe('pending');
    expect(provider.pendingCount()).toBe(1);
    await expect(provider.close()).resolves.toBeUndefined();
    expect(provider.pendingCount()).toBe(0);
  });
});

import { ConfigurationError, REDACTED, redactSecrets, type VendorEmulatorConnection } from '@leadpipe/core';
import { type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearbitDescriptor } from '../src/index.js';
import { knownPerson } from './support.js';

const TIME_SCALE = 600;

let running: RunningEmulators;
beforeAll(async () => {
  running = await startEmulators({
    vendors: ['clearbit'],
    timeScale: TIME_SCALE,
    truth: { people: 200, companies: 40 },
    // Every first lookup is queued (202) and indexed 30 emulated seconds later.
    vendorOptions: { clearbit: { queuedShare: 1 } },
  });
});
afterAll(() => running.close());

function connection(extra: Partial<VendorEmulatorConnection> = {}): VendorEmulatorConnection {
  return { urls: running.urls.clearbit!, credentials: running.credentials.clearbit!, ...extra };
}

describe('clearbitDescriptor', () => {
  it('describes Clearbit: an enrichment provider reading one secret variable', () => {
    expect(clearbitDescriptor).toMatchObject({
      specificationVersion: 'v1',
      id: 'clearbit',
      kind: 'enrichment',
    });
    expect(clearbitDescriptor.environment).toEqual([
      { name: 'CLEARBIT_API_KEY', option: 'apiKey', secret: true, description: expect.any(String) },
    ]);
  });

  it('fromEnv without CLEARBIT_API_KEY throws an error naming the option and the variable', () => {
    for (const env of [{}, { CLEARBIT_API_KEY: '' }]) {
      expect(clearbitDescriptor.missingVariables(env)).toEqual([
        { option: 'apiKey', variables: 'CLEARBIT_API_KEY' },
      ]);
      let thrown: unknown;
      try {
        clearbitDescriptor.fromEnv(env);
      } catch (error) {
        thrown = error;
      }
      expect(ConfigurationError.isInstance(thrown)).toBe(true);
      const error = thrown as ConfigurationError;
      expect(error.code).toBe('missing_credentials');
      expect(error.message).toContain("'apiKey'");
      expect(error.message).toContain('CLEARBIT_API_KEY');
      expect(error.issues).toEqual([
        { field: 'apiKey', reason: "is missing: pass the 'apiKey' option or set CLEARBIT_API_KEY" },
      ]);
    }
  });

  it('fromEnv with CLEARBIT_API_KEY builds the provider and registers the key as a secret', () => {
    const key = 'sk_descriptor_test_key_9c2e';
    expect(clearbitDescriptor.missingVariables({ CLEARBIT_API_KEY: key })).toEqual([]);
    const provider = clearbitDescriptor.fromEnv({ CLEARBIT_API_KEY: key });
    expect(provider).toMatchObject({ providerId: 'clearbit', mode: 'sync' });
    expect(redactSecrets(`key ${key}`)).toBe(`key ${REDACTED}`);
  });

  it('emulatorSettings point the provider at the emulator over HTTP, asking again about queued lookups on its clock', async () => {
    const limits = { perMinute: 54_321 };
    const settings = clearbitDescriptor.emulatorSettings(connection({ timeScale: TIME_SCALE, limits }));
    expect(settings.queuedRetryDelayMs).toBe(Math.ceil(5_000 / TIME_SCALE));
    const provider = clearbitDescriptor.create(settings);
    expect(provider.capabilities.rateLimits).toEqual(limits);
    const emulator = running.emulators.clearbit!;
    const person = knownPerson(emulator);
    emulator.requests.clear();
    // The emulator answers 401 to any other key, and 202 to the first lookup: a match means both are wired.
    const result = await provider.doEnrich(
      { leadId: 'lead-1', input: { email: person.email }, fields: ['title'] },
      {},
    );
    expect(result).toMatchObject({ status: 'matched', fields: { title: expect.any(String) } });
    expect(emulator.requests.all().length).toBeGreaterThan(1);
  });

  it('what it builds holds nothing to release: it has no close(), so faces skip it', () => {
    const provider = clearbitDescriptor.create(clearbitDescriptor.emulatorSettings(connection()));
    expect('close' in provider).toBe(false);
  });
});

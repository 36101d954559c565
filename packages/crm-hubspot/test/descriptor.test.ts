import {
  ConfigurationError,
  createLead,
  defineFieldMapping,
  mapLead,
  REDACTED,
  redactSecrets,
  type VendorEmulatorConnection,
} from '@leadpipe/core';
import { type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubspotDescriptor } from '../src/index.js';

let running: RunningEmulators;
beforeAll(async () => {
  running = await startEmulators({ vendors: ['hubspot'], truth: { people: 50, companies: 10 } });
});
afterAll(() => running.close());

function connection(): VendorEmulatorConnection {
  return { urls: running.urls.hubspot!, credentials: running.credentials.hubspot! };
}

const lead = createLead({
  email: 'Ada@Example.com',
  firstName: 'Ada',
  lastName: 'Lovelace',
  title: 'CTO',
  company: { name: 'Analytical Engines', domain: 'example.com' },
  location: { city: 'London', country: 'GB' },
});

describe('hubspotDescriptor', () => {
  it('describes HubSpot: a CRM reading a private-app token', () => {
    expect(hubspotDescriptor).toMatchObject({ specificationVersion: 'v1', id: 'hubspot', kind: 'crm' });
    expect(hubspotDescriptor.environment).toEqual([
      { name: 'HUBSPOT_ACCESS_TOKEN', option: 'accessToken', secret: true, description: expect.any(String) },
      {
        name: 'HUBSPOT_CLIENT_SECRET',
        option: 'webhookSecret',
        secret: true,
        description: expect.any(String),
      },
    ]);
  });

  it('fromEnv without HUBSPOT_ACCESS_TOKEN throws an error naming the option and the variable', () => {
    expect(hubspotDescriptor.missingVariables({})).toEqual([
      { option: 'accessToken', variables: 'HUBSPOT_ACCESS_TOKEN' },
    ]);
    let thrown: unknown;
    try {
      hubspotDescriptor.fromEnv({ HUBSPOT_ACCESS_TOKEN: ' ' });
    } catch (error) {
      thrown = error;
    }
    expect(ConfigurationError.isInstance(thrown)).toBe(true);
    const error = thrown as ConfigurationError;
    expect(error.code).toBe('missing_credentials');
    expect(error.message).toContain("'accessToken'");
    expect(error.message).toContain('HUBSPOT_ACCESS_TOKEN');
    expect(error.issues.map((issue) => issue.field)).toEqual(['accessToken']);
  });

  it('fromEnv with HUBSPOT_ACCESS_TOKEN builds the adapter and registers the token as a secret', async () => {
    const token = 'pat-na1-descriptor-test-7b3a';
    expect(hubspotDescriptor.missingVariables({ HUBSPOT_ACCESS_TOKEN: token })).toEqual([]);
    const clientSecret = 'hubspot-client-secret-descriptor-51c0';
    const adapter = hubspotDescriptor.fromEnv({
      HUBSPOT_ACCESS_TOKEN: token,
      HUBSPOT_CLIENT_SECRET: clientSecret,
    });
    expect(adapter.adapterId).toBe('hubspot');
    expect(redactSecrets(`token ${token} secret ${clientSecret}`)).toBe(
      `token ${REDACTED} secret ${REDACTED}`,
    );
    await adapter.close();
  });

  it('its default mapping writes contacts keyed by email', () => {
    const mapped = mapLead(lead, defineFieldMapping(hubspotDescriptor.defaultMapping));
    expect(mapped).toEqual({
      record: {
        key: 'ada@example.com',
        properties: {
          firstname: 'Ada',
          lastname: 'Lovelace',
          jobtitle: 'CTO',
          company: 'Analytical Engines',
          website: 'example.com',
          city: 'London',
          country: 'GB',
        },
      },
    });
  });

  it('emulatorSettings point the adapter at the emulator over HTTP; close() releases it', async () => {
    const adapter = hubspotDescriptor.create(hubspotDescriptor.emulatorSettings(connection()));
    const mapping = defineFieldMapping(hubspotDescriptor.defaultMapping);
    const mapped = mapLead(lead, mapping);
    if (mapped.record === undefined) throw new Error('the lead should map');
    // The emulator answers 401 to any other token: a write means the settings carry the one it accepts.
    const results = await adapter.doUpsert(
      { object: mapping.object, idProperty: mapping.idProperty.to, records: [mapped.record] },
      {},
    );
    expect(results).toEqual([{ key: 'ada@example.com', status: 'created', id: expect.any(String) }]);
    expect(running.emulators.hubspot!.emulator.findContactByEmail('ada@example.com')).toMatchObject({
      properties: { jobtitle: 'CTO', company: 'Analytical Engines' },
    });
    await expect(adapter.close()).resolves.toBeUndefined();
  });
});

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
import { salesforceDescriptor } from '../src/index.js';

let running: RunningEmulators;
beforeAll(async () => {
  running = await startEmulators({ vendors: ['salesforce'], truth: { people: 50, companies: 10 } });
});
afterAll(() => running.close());

function connection(): VendorEmulatorConnection {
  return { urls: running.urls.salesforce!, credentials: running.credentials.salesforce! };
}

function fromEnvError(env: Record<string, string>): ConfigurationError {
  try {
    salesforceDescriptor.fromEnv(env);
  } catch (error) {
    if (ConfigurationError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('fromEnv should have thrown');
}

const lead = createLead({
  email: 'grace@example.com',
  firstName: 'Grace',
  title: 'Rear Admiral',
  company: { domain: 'example.com', headcount: 120 },
});

describe('salesforceDescriptor', () => {
  it('describes Salesforce: a CRM whose secrets are marked', () => {
    expect(salesforceDescriptor).toMatchObject({
      specificationVersion: 'v1',
      id: 'salesforce',
      kind: 'crm',
      defaultBatchSize: 200,
    });
    const secrets = salesforceDescriptor.environment.filter((variable) => variable.secret).map((v) => v.name);
    expect(secrets).toEqual([
      'SALESFORCE_ACCESS_TOKEN',
      'SALESFORCE_REFRESH_TOKEN',
      'SALESFORCE_CLIENT_SECRET',
      'SALESFORCE_PRIVATE_KEY',
      'SALESFORCE_WEBHOOK_SECRET',
    ]);
  });

  it('fromEnv without a complete way to sign in throws an error naming the options and the variables', () => {
    // A refresh token alone is not enough: it needs the client id.
    const error = fromEnvError({ SALESFORCE_REFRESH_TOKEN: 'refresh-token-not-enough' });
    expect(error.code).toBe('missing_credentials');
    for (const text of [
      "'accessToken'",
      "'refreshToken'",
      "'jwt'",
      'SALESFORCE_ACCESS_TOKEN',
      'SALESFORCE_CLIENT_ID',
    ]) {
      expect(error.message).toContain(text);
    }
    expect(error.message).not.toContain('refresh-token-not-enough');
    expect(salesforceDescriptor.missingVariables({})).toEqual([
      {
        option: "'accessToken' and 'instanceUrl', or 'refreshToken' and 'clientId', or 'jwt'",
        variables:
          'SALESFORCE_ACCESS_TOKEN and SALESFORCE_INSTANCE_URL, or SALESFORCE_REFRESH_TOKEN and SALESFORCE_CLIENT_ID, or SALESFORCE_PRIVATE_KEY, SALESFORCE_USERNAME and SALESFORCE_CLIENT_ID',
      },
    ]);
  });

  it('fromEnv signs in with any one complete set of variables, and registers the secrets', () => {
    for (const env of [
      {
        SALESFORCE_ACCESS_TOKEN: '00Dxx!descriptor-access',
        SALESFORCE_INSTANCE_URL: 'https://acme.my.salesforce.com',
      },
      { SALESFORCE_REFRESH_TOKEN: '5Aep-descriptor-refresh', SALESFORCE_CLIENT_ID: '3MVG-client' },
      {
        SALESFORCE_PRIVATE_KEY: '-----BEGIN PRIVATE KEY-----descriptor',
        SALESFORCE_USERNAME: 'ops@acme.example',
        SALESFORCE_CLIENT_ID: '3MVG-client',
      },
    ]) {
      expect(salesforceDescriptor.missingVariables(env)).toEqual([]);
      expect(salesforceDescriptor.fromEnv(env).adapterId).toBe('salesforce');
    }
    expect(redactSecrets('token 5Aep-descriptor-refresh')).toBe(`token ${REDACTED}`);
  });

  it('its default mapping upserts Leads by Lead_Key__c, filling the fields Salesforce requires', () => {
    expect(mapLead(lead, defineFieldMapping(salesforceDescriptor.defaultMapping))).toEqual({
      record: {
        key: 'grace@example.com',
        properties: {
          Email: 'grace@example.com',
          FirstName: 'Grace',
          LastName: '[not provided]',
          Title: 'Rear Admiral',
          Company: '[not provided]',
          Website: 'example.com',
          NumberOfEmployees: 120,
        },
      },
    });
  });

  it('emulatorSettings point the adapter at the emulator over HTTP', async () => {
    const adapter = salesforceDescriptor.create(salesforceDescriptor.emulatorSettings(connection()));
    const mapping = defineFieldMapping(salesforceDescriptor.defaultMapping);
    const mapped = mapLead(lead, mapping);
    if (mapped.record === undefined) throw new Error('the lead should map');
    // The emulator refuses any other refresh token or client: a write means the settings sign in.
    const results = await adapter.doUpsert(
      { object: mapping.object, idProperty: mapping.idProperty.to, records: [mapped.record] },
      {},
    );
    expect(results).toEqual([{ key: 'grace@example.com', status: 'created', id: expect.any(String) }]);
    expect(running.emulators.salesforce!.emulator.findLeadByExternalId('grace@example.com')).toMatchObject({
      Title: 'Rear Admiral',
      LastName: '[not provided]',
    });
    // It holds nothing that outlives a call: faces' `close?.()` skips it.
    expect('close' in adapter).toBe(false);
  });
});

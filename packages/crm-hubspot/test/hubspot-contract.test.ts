import { crmAdapterContract } from '@leadpipe/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHubspot } from '../src/index.js';
import {
  cannedFetch,
  createContactProperty,
  HUBSPOT_ERROR_RESPONSES,
  type HubspotFixture,
  startHubspot,
} from './support.js';

let hub: HubspotFixture;
const canned = cannedFetch();
const secrets: string[] = [];
let serial = 0;

beforeAll(async () => {
  hub = await startHubspot({ seed: 11, limits: { hubspot: { tenSecondly: 10_000 } } });
  await createContactProperty(hub, 'external_id', true);
  secrets.push(hub.token, hub.emulator.credentials.clientSecret);
});
afterAll(() => hub.close());

const stored = (record: { id: string; properties: Readonly<Record<string, string>> } | undefined) =>
  record === undefined ? undefined : { id: record.id, properties: record.properties };

describe('HubSpot adapter, contacts keyed by email', () => {
  crmAdapterContract(it, expect, {
    createAdapter: () => createHubspot({ accessToken: hub.token, baseUrl: hub.baseUrl, fetch: canned.fetch }),
    object: 'contacts',
    idProperty: 'email',
    key: (label) => `${label}@contract-email.example`,
    properties: (index) => ({
      firstname: `Ada${index}`,
      lastname: `Lovelace${index}`,
      jobtitle: `Engineer ${index}`,
    }),
    updatedProperties: (index) => ({ jobtitle: `Director ${index}` }),
    invalidRecord: (key) => ({ key, properties: { firstname: 'Bad', not_a_property: 'x' } }),
    db: {
      record: (_object, _idProperty, key) => stored(hub.emulator.findContactByEmail(key)),
      count: () => hub.emulator.contacts().length,
    },
    backend: canned.backend,
    secrets,
    errorResponses: HUBSPOT_ERROR_RESPONSES,
    createAdapterWithoutCredentials: () => createHubspot({ baseUrl: hub.baseUrl, fetch: canned.fetch }),
  });
});

describe('HubSpot adapter, contacts keyed by a custom unique property', () => {
  crmAdapterContract(it, expect, {
    name: 'CRM adapter contract (external_id)',
    createAdapter: () => createHubspot({ accessToken: hub.token, baseUrl: hub.baseUrl, fetch: canned.fetch }),
    object: 'contacts',
    idProperty: 'external_id',
    key: (label) => `ext-${label}`,
    properties: (index) => ({
      firstname: `Grace${index}`,
      email: `grace${index}-${serial++}@contract-ext.example`,
    }),
    updatedProperties: (index) => ({ firstname: `Hopper${index}` }),
    invalidRecord: (key) => ({ key, properties: { email: 'not an email' } }),
    db: {
      record: (_object, idProperty, key) =>
        stored(hub.emulator.contacts().find((contact) => contact.properties[idProperty] === key)),
      count: () => hub.emulator.contacts().length,
    },
    backend: canned.backend,
    errorResponses: HUBSPOT_ERROR_RESPONSES,
    skip: ['missingCredentials', 'secrets'],
  });
});

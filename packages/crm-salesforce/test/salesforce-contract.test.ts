import { crmAdapterContract } from '@leadpipe/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSalesforce } from '../src/index.js';
import {
  cannedFetch,
  leadProperties,
  SALESFORCE_ERROR_RESPONSES,
  type SalesforceFixture,
  startSalesforce,
} from './support.js';

let sf: SalesforceFixture;
const canned = cannedFetch();

beforeAll(async () => {
  sf = await startSalesforce(
    { bulkStartDelayMs: 0, rotateRefreshTokens: true, dailyApiRequests: 1_000_000 },
    { msPerRequest: 100 },
  );
});
afterAll(() => sf.close());

const db = {
  record: (_object: string, idProperty: string, key: string) => {
    const lead = sf.emulator.findLeadByExternalId(key, idProperty);
    return lead === undefined ? undefined : { id: String(lead.Id), properties: lead };
  },
  count: () => sf.emulator.leads().length,
};

const shared = {
  object: 'Lead',
  idProperty: 'Lead_Key__c',
  properties: leadProperties,
  updatedProperties: (index: number) => ({ Title: `Director ${index}`, NumberOfEmployees: 500 + index }),
  invalidRecord: (key: string) => ({
    key,
    properties: { LastName: 'Bad', Company: 'Bad Co', Email: 'not-an-email' },
  }),
  db,
  errorResponses: SALESFORCE_ERROR_RESPONSES,
};

describe('Salesforce adapter through sObject Collections, with a static session', () => {
  crmAdapterContract(it, expect, {
    ...shared,
    name: 'CRM adapter contract (Collections)',
    createAdapter: () =>
      createSalesforce({
        accessToken: sf.emulator.credentials.accessToken,
        instanceUrl: sf.url,
        maxBatchSize: 200,
        fetch: canned.fetch,
      }),
    key: (label) => `col-${label}`,
    backend: canned.backend,
    get secrets() {
      return [sf.emulator.credentials.accessToken];
    },
    createAdapterWithoutCredentials: () => createSalesforce({ fetch: canned.fetch }),
  });
});

describe('Salesforce adapter through Bulk API 2.0, with a rotating refresh token', () => {
  let refreshToken: string | undefined;
  crmAdapterContract(it, expect, {
    ...shared,
    name: 'CRM adapter contract (Bulk API 2.0)',
    createAdapter: () =>
      createSalesforce({
        refreshToken: refreshToken ?? sf.emulator.credentials.refreshToken,
        clientId: sf.emulator.credentials.clientId,
        clientSecret: sf.emulator.credentials.clientSecret,
        loginUrl: sf.url,
        maxBatchSize: 20,
        bulkThreshold: 1,
        bulkPollIntervalMs: 1,
        fetch: canned.fetch,
        onTokens: (tokens) => {
          refreshToken = tokens.refreshToken ?? refreshToken;
        },
      }),
    key: (label) => `bulk-${label}`,
    backend: canned.backend,
    // create job, upload, UploadComplete, one poll, three result files
    requestsPerBatch: 7,
    get secrets() {
      return [sf.emulator.credentials.clientSecret, refreshToken ?? sf.emulator.credentials.refreshToken];
    },
  });
});

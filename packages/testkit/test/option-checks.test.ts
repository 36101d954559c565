import { ConfigurationError } from '@leadpipe/core';
import { describe, expect, it } from 'vitest';
import { createEmulatorContext } from '../src/emulator/create-context.js';
import {
  APOLLO_COVERAGE,
  type CoverageOverrides,
  createGroundTruth,
  type GroundTruthOptions,
  resolveCoverage,
} from '../src/truth/index.js';
import { type ApolloEmulatorOptions, createApolloEmulator } from '../src/vendors/apollo/index.js';
import { type ClearbitEmulatorOptions, createClearbitEmulator } from '../src/vendors/clearbit/index.js';
import { createHubspotEmulator, type HubspotEmulatorOptions } from '../src/vendors/hubspot/index.js';
import { createSalesforceEmulator } from '../src/vendors/salesforce/index.js';
import type { SalesforceEmulatorOptions } from '../src/vendors/salesforce/types.js';
import { createZoomInfoEmulator, type ZoomInfoEmulatorOptions } from '../src/vendors/zoominfo/index.js';

const truth = createGroundTruth({ seed: 3, people: 50, companies: 10 });

/** The ConfigurationError `run` throws (fails the test when it throws none or another error). */
function refusal(run: () => unknown): ConfigurationError {
  try {
    run();
  } catch (error) {
    expect(ConfigurationError.isInstance(error)).toBe(true);
    return error as ConfigurationError;
  }
  throw new Error('no ConfigurationError was thrown');
}

/** `run` is refused with exactly one issue, `field: reason`, in parseOptions' form. */
function expectRefused(
  run: () => unknown,
  name: string,
  field: string,
  reason: string,
  providerId?: string,
): void {
  const error = refusal(run);
  expect(error.code).toBe('invalid_configuration');
  expect(error.issues).toEqual([{ field, reason }]);
  expect(error.message).toBe(`${name}: ${field}: ${reason}`);
  expect(error.providerId).toBe(providerId);
}

describe('Salesforce emulator options', () => {
  it.each([
    [{ sessionLifetimeMs: 0 }, 'sessionLifetimeMs', 'must be a positive number, got 0'],
    [{ dailyApiRequests: -1 }, 'dailyApiRequests', 'must be a positive number, got -1'],
    [{ concurrentLongRunningLimit: 0 }, 'concurrentLongRunningLimit', 'must be a positive number, got 0'],
    [{ responseDelayMs: -1 }, 'responseDelayMs', 'must be a non-negative number, got -1'],
    [{ queryBatchSize: Number.NaN }, 'queryBatchSize', 'must be a positive number, got NaN'],
    [{ bulkStartDelayMs: -5 }, 'bulkStartDelayMs', 'must be a non-negative number, got -5'],
    [{ bulkRecordsPerSecond: 0 }, 'bulkRecordsPerSecond', 'must be a positive number, got 0'],
    [{ partialFailureRate: 2 }, 'partialFailureRate', 'must be between 0 and 1, got 2'],
    [
      { organizationId: '001abc' },
      'organizationId',
      'must be a 15 or 18 character id starting with 00D, got 001abc',
    ],
    [
      {
        customFields: [
          { name: 'Tier__c', label: 'Tier', type: 'string' },
          { name: 'Bad', label: 'B', type: 'string' },
        ],
      },
      'customFields.1.name',
      'must end with __c, got Bad',
    ],
    [
      { outboundMessages: { url: 'http://127.0.0.1:9/listener', fields: ['Id', 'Nope__c'] } },
      'outboundMessages.fields.1',
      'no Lead field named Nope__c',
    ],
    [{ dailyApiRequest: 5 }, 'dailyApiRequest', 'is not a known option'],
    [
      { outboundMessages: { url: 'http://127.0.0.1:9/listener', field: ['Id'] } },
      'outboundMessages.field',
      'is not a known option',
    ],
  ])('refuses %j naming %s', (options, field, reason) => {
    expectRefused(
      () => createSalesforceEmulator(createEmulatorContext(), options as SalesforceEmulatorOptions),
      'createSalesforceEmulator',
      field,
      reason,
      'salesforce',
    );
  });

  it('accepts zero delays, a custom field in the outbound fields, and checks the run-time setters alike', () => {
    const emulator = createSalesforceEmulator(createEmulatorContext(), {
      responseDelayMs: 0,
      bulkStartDelayMs: 0,
      partialFailureRate: 1,
      customFields: [{ name: 'Tier__c', label: 'Tier', type: 'string' }],
      outboundMessages: { url: 'http://127.0.0.1:9/listener', fields: ['Id', 'tier__c'] },
    });
    const name = 'createSalesforceEmulator';
    expectRefused(
      () => emulator.setPartialFailureRate(1.5),
      name,
      'partialFailureRate',
      'must be between 0 and 1, got 1.5',
      'salesforce',
    );
    expectRefused(
      () => emulator.setResponseDelayMs(-1),
      name,
      'responseDelayMs',
      'must be a non-negative number, got -1',
      'salesforce',
    );
    expectRefused(
      () => emulator.setDailyApiRequests(0),
      name,
      'dailyApiRequests',
      'must be a positive number, got 0',
      'salesforce',
    );
    emulator.setDailyApiRequests(7);
    expect(emulator.apiUsage().limit).toBe(7);
  });

  it('findLeadByExternalId takes only an External ID field, queueOutboundMessages only known Lead ids', () => {
    const emulator = createSalesforceEmulator(createEmulatorContext(), {
      outboundMessages: { url: 'http://127.0.0.1:9/listener' },
    });
    for (const fieldName of ['Email', 'Nope__c']) {
      expectRefused(
        () => emulator.findLeadByExternalId('k1', fieldName),
        'findLeadByExternalId',
        'fieldName',
        `is not an External ID field of Lead, got ${fieldName}`,
        'salesforce',
      );
    }
    expect(emulator.findLeadByExternalId('k1', 'lead_key__c')).toBeUndefined();
    expectRefused(
      () => emulator.queueOutboundMessages(['00QDn0000000001IAA']),
      'queueOutboundMessages',
      'leadIds.0',
      'no Lead with id 00QDn0000000001IAA',
      'salesforce',
    );
    emulator.queueOutboundMessages([]);
  });
});

describe('Apollo emulator options', () => {
  it.each([
    [{ rateLimits: { perMinute: 0 } }, 'rateLimits.perMinute', 'must be a positive number, got 0'],
    [{ rateLimits: { perHour: -1 } }, 'rateLimits.perHour', 'must be a positive number, got -1'],
    [
      { rateLimits: { perDay: Number.POSITIVE_INFINITY } },
      'rateLimits.perDay',
      'must be a positive number, got Infinity',
    ],
    [{ rateLimits: { bulkDivisor: 0 } }, 'rateLimits.bulkDivisor', 'must be a positive number, got 0'],
    [{ rateLimits: { perSecond: 5 } }, 'rateLimits.perSecond', 'is not a known option'],
    [{ partialBatchFailureRate: 1.5 }, 'partialBatchFailureRate', 'must be a share between 0 and 1, got 1.5'],
    [
      { coverage: { fields: { title: 2 } } },
      'coverage.fields.title',
      'must be a share between 0 and 1, got 2',
    ],
    [{ webhookDelay: 5 }, 'webhookDelay', 'is not a known option'],
  ])('refuses %j naming %s', (options, field, reason) => {
    expectRefused(
      () => createApolloEmulator(createEmulatorContext(), { truth, ...options } as ApolloEmulatorOptions),
      'createApolloEmulator',
      field,
      reason,
      'apollo',
    );
  });

  it('accepts shares of 0 and 1', () => {
    const emulator = createApolloEmulator(createEmulatorContext(), { truth, partialBatchFailureRate: 1 });
    expect(emulator.vendor).toBe('apollo');
  });
});

describe('Clearbit emulator options', () => {
  it.each([
    [{ perMinute: 0 }, 'perMinute', 'must be a positive number, got 0'],
    [{ queuedShare: 2 }, 'queuedShare', 'must be between 0 and 1, got 2'],
    [{ indexDelayMs: -1 }, 'indexDelayMs', 'must be non-negative, got -1'],
    [{ monthlyQuota: -5 }, 'monthlyQuota', 'must be non-negative, got -5'],
    [{ streamTimeoutMs: Number.NaN }, 'streamTimeoutMs', 'must be non-negative, got NaN'],
    [
      { combinedWebhookType: 'company' },
      'combinedWebhookType',
      'must be "person" or "person_company", got company',
    ],
    [
      { coverage: { errorRates: { title: 2 } } },
      'coverage.errorRates.title',
      'must be a share between 0 and 1, got 2',
    ],
    [{ perHour: 5 }, 'perHour', 'is not a known option'],
  ])('refuses %j naming %s', (options, field, reason) => {
    expectRefused(
      () => createClearbitEmulator(createEmulatorContext(), { truth, ...options } as ClearbitEmulatorOptions),
      'createClearbitEmulator',
      field,
      reason,
      'clearbit',
    );
  });

  it('accepts an unlimited monthly quota and the edges of each range', () => {
    const emulator = createClearbitEmulator(createEmulatorContext(), {
      truth,
      monthlyQuota: Number.POSITIVE_INFINITY,
      queuedShare: 1,
      indexDelayMs: 0,
      combinedWebhookType: 'person_company',
    });
    expect(emulator.vendor).toBe('clearbit');
  });
});

describe('ZoomInfo emulator options', () => {
  it.each([
    [{ rateLimits: { perSecond: 0 } }, 'rateLimits.perSecond', 'must be a positive number, got 0'],
    [{ rateLimits: { perHour: -1 } }, 'rateLimits.perHour', 'must be a positive number, got -1'],
    [{ rateLimits: { perDay: 0 } }, 'rateLimits.perDay', 'must be a positive number, got 0'],
    [
      { rateLimits: { legacyPerMinute: 0 } },
      'rateLimits.legacyPerMinute',
      'must be a positive number, got 0',
    ],
    [
      { rateLimits: { legacyPerSecond: Number.NaN } },
      'rateLimits.legacyPerSecond',
      'must be a positive number, got NaN',
    ],
    [{ quotas: { requestLimit: 0 } }, 'quotas.requestLimit', 'must be a positive number, got 0'],
    [{ quotas: { recordLimit: -2 } }, 'quotas.recordLimit', 'must be a positive number, got -2'],
    [{ quotas: { uniqueIdLimit: 0 } }, 'quotas.uniqueIdLimit', 'must be a positive number, got 0'],
    [{ quotas: { records: 5 } }, 'quotas.records', 'is not a known option'],
    [{ accessTokenTtlSeconds: 0 }, 'accessTokenTtlSeconds', 'must be a positive number, got 0'],
    [{ jwtTtlSeconds: -1 }, 'jwtTtlSeconds', 'must be a positive number, got -1'],
    [
      { coverage: { personShare: -0.5 } },
      'coverage.personShare',
      'must be a share between 0 and 1, got -0.5',
    ],
  ])('refuses %j naming %s', (options, field, reason) => {
    expectRefused(
      () => createZoomInfoEmulator(createEmulatorContext(), { truth, ...options } as ZoomInfoEmulatorOptions),
      'createZoomInfoEmulator',
      field,
      reason,
      'zoominfo',
    );
  });
});

describe('HubSpot emulator options', () => {
  const url = 'http://127.0.0.1:9/hooks';
  it.each([
    [{ portalId: 0 }, 'portalId', 'must be an integer of at least 1, got 0'],
    [{ appId: 1.5 }, 'appId', 'must be an integer of at least 1, got 1.5'],
    [{ privateAppToken: 'pat na' }, 'privateAppToken', 'must be at least 6 characters without spaces'],
    [{ oauth: { clientId: 'abc' } }, 'oauth.clientId', 'must be at least 6 characters without spaces'],
    [
      { oauth: { clientSecret: 'with space' } },
      'oauth.clientSecret',
      'must be at least 6 characters without spaces',
    ],
    [{ oauth: { redirectUri: 'callback' } }, 'oauth.redirectUri', 'must be an absolute URL'],
    [{ oauth: { accessTokenTtlMs: 0 } }, 'oauth.accessTokenTtlMs', 'must be an integer of at least 1, got 0'],
    [{ rateLimits: { tenSecondly: 0 } }, 'rateLimits.tenSecondly', 'must be an integer of at least 1, got 0'],
    [{ rateLimits: { windowMs: 0.5 } }, 'rateLimits.windowMs', 'must be an integer of at least 1, got 0.5'],
    [{ rateLimits: { daily: -1 } }, 'rateLimits.daily', 'must be an integer of at least 1, got -1'],
    [
      { rateLimits: { searchPerSecond: 0 } },
      'rateLimits.searchPerSecond',
      'must be an integer of at least 1, got 0',
    ],
    [
      { rateLimits: { timeZoneOffsetMinutes: 900 } },
      'rateLimits.timeZoneOffsetMinutes',
      'must be an integer from -720 to 840, got 900',
    ],
    [
      { rateLimits: { timeZoneOffsetMinutes: -721 } },
      'rateLimits.timeZoneOffsetMinutes',
      'must be an integer from -720 to 840, got -721',
    ],
    [{ rateLimits: { tenSecond: 5 } }, 'rateLimits.tenSecond', 'is not a known option'],
    [{ multiStatus: 'never' }, 'multiStatus', "must be 'always' or 'objectWriteTraceId'"],
    [{ associationBatchCreateStatus: 204 }, 'associationBatchCreateStatus', 'must be 200 or 201'],
    [{ faults: { partialFailureRate: 2 } }, 'faults.partialFailureRate', 'must be within [0, 1], got 2'],
    [{ faults: { partialFailureCategory: '' } }, 'faults.partialFailureCategory', 'must not be empty'],
    [{ webhooks: { targetUrl: 'not a url' } }, 'webhooks.targetUrl', 'must be an absolute URL'],
    [{ webhooks: { targetUrl: url, clientSecret: '' } }, 'webhooks.clientSecret', 'must not be empty'],
    [
      { webhooks: { targetUrl: url, maxEventsPerRequest: 0 } },
      'webhooks.maxEventsPerRequest',
      'must be an integer of at least 1, got 0',
    ],
    [
      { webhooks: { targetUrl: url, maxAttempts: 1.5 } },
      'webhooks.maxAttempts',
      'must be an integer of at least 1, got 1.5',
    ],
    [
      { webhooks: { targetUrl: url, retryDelayMs: -1 } },
      'webhooks.retryDelayMs',
      'must be an integer of at least 0, got -1',
    ],
    [{ portal: 5 }, 'portal', 'is not a known option'],
  ])('refuses %j naming %s', (options, field, reason) => {
    expectRefused(
      () => createHubspotEmulator(createEmulatorContext(), options as HubspotEmulatorOptions),
      'createHubspotEmulator',
      field,
      reason,
      'hubspot',
    );
  });

  it('checks setFaults and configureWebhooks at run time, and accepts the edges of each range', () => {
    const emulator = createHubspotEmulator(createEmulatorContext(), {
      rateLimits: { timeZoneOffsetMinutes: -720 },
      associationBatchCreateStatus: 201,
      webhooks: { targetUrl: url, retryDelayMs: 0, delivery: 'manual' },
    });
    expectRefused(
      () => emulator.setFaults({ partialFailureRate: -0.1 }),
      'setFaults',
      'partialFailureRate',
      'must be within [0, 1], got -0.1',
      'hubspot',
    );
    expectRefused(
      () => emulator.configureWebhooks({ targetUrl: url, maxAttempts: 0 }),
      'configureWebhooks',
      'maxAttempts',
      'must be an integer of at least 1, got 0',
      'hubspot',
    );
    emulator.setFaults({ partialFailureRate: 1 });
    emulator.configureWebhooks(undefined);
  });
});

describe('ground-truth options', () => {
  it.each([
    [{ seed: 1.5 }, 'seed', 'must be an integer, got 1.5'],
    [{ people: 0 }, 'people', 'must be a positive integer, got 0'],
    [{ companies: 2.5 }, 'companies', 'must be a positive integer, got 2.5'],
    [{ persons: 10 }, 'persons', 'is not a known option'],
  ])('createGroundTruth refuses %j naming %s', (options, field, reason) => {
    expectRefused(() => createGroundTruth(options as GroundTruthOptions), 'createGroundTruth', field, reason);
  });

  it('refuses an unknown option even when the population asked for is cached', () => {
    expect(createGroundTruth({ seed: 3, people: 50, companies: 10 })).toBe(truth);
    expectRefused(
      () => createGroundTruth({ seed: 3, people: 50, companies: 10, peeple: 5 } as { seed: number }),
      'createGroundTruth',
      'peeple',
      'is not a known option',
    );
  });

  it.each([
    [{ personShare: 1.1 }, 'personShare'],
    [{ companyShare: -1 }, 'companyShare'],
    [{ defaultErrorRate: 2 }, 'defaultErrorRate'],
    [{ fieldCorrelation: 3 }, 'fieldCorrelation'],
    [{ fields: { title: 1.5 } }, 'fields.title'],
    [{ errorRates: { phone: -0.2 } }, 'errorRates.phone'],
  ])('resolveCoverage refuses %j naming %s', (overrides, field) => {
    const value = Object.values(overrides)[0];
    const given = typeof value === 'number' ? value : Object.values(value)[0];
    expectRefused(
      () => resolveCoverage(APOLLO_COVERAGE, overrides),
      'coverage',
      field,
      `must be a share between 0 and 1, got ${given}`,
    );
  });

  it('resolveCoverage refuses an unknown key and keeps the shares it is given', () => {
    expectRefused(
      () => resolveCoverage(APOLLO_COVERAGE, { personshare: 0.5 } as CoverageOverrides),
      'coverage',
      'personshare',
      'is not a known option',
    );
    const profile = resolveCoverage(APOLLO_COVERAGE, { personShare: 0, fields: { title: 1 } });
    expect(profile.personShare).toBe(0);
    expect(profile.fields.title).toBe(1);
    expect(profile.companyShare).toBe(APOLLO_COVERAGE.companyShare);
  });
});

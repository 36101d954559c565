import { describe, expect, it } from 'vitest';
import { DEFAULT_MSW_MOUNTS } from '../src/emulator/msw.js';
import { createEmulator, VENDOR_NAMES } from '../src/emulator/registry.js';
import { definitionOf, EMULATOR_DEFINITIONS } from '../src/emulator/vendors.js';

const truth = { people: 40, companies: 10 };

describe('emulator definitions', () => {
  it('name every vendor once, in the registry order, each with its msw hosts', () => {
    const ids = EMULATOR_DEFINITIONS.map((definition) => definition.id);
    expect(ids).toEqual(['hubspot', 'salesforce', 'apollo', 'clearbit', 'zoominfo', 'sendgrid', 'mailgun']);
    expect(new Set(ids).size).toBe(ids.length);
    expect(VENDOR_NAMES).toEqual(ids);
    expect(Object.keys(DEFAULT_MSW_MOUNTS).sort()).toEqual([...ids].sort());
    for (const definition of EMULATOR_DEFINITIONS) {
      expect(DEFAULT_MSW_MOUNTS[definition.id]).toBe(definition.mswMounts);
      expect(definition.mswMounts.length).toBeGreaterThan(0);
    }
    expect(definitionOf('pipedrive')).toBeUndefined();
  });

  it.each([1, 7, 123_456])(
    'give, for seed %i, the credentials the emulator built from that seed accepts',
    (seed) => {
      const seen = new Set<string>();
      for (const definition of EMULATOR_DEFINITIONS) {
        const emulator = createEmulator(definition.id, { seed, truth });
        try {
          expect(definition.defaultCredentials(seed)).toEqual(emulator.credentials);
          for (const value of Object.values(definition.defaultCredentials(seed))) seen.add(value);
        } finally {
          void emulator.close();
        }
      }
      // Another seed, other secrets.
      const other = EMULATOR_DEFINITIONS.flatMap((definition) =>
        Object.values(definition.defaultCredentials(seed + 1)),
      ).filter((value) => /\d/.test(value) && value.length >= 20);
      expect(other.length).toBeGreaterThan(0);
      for (const value of other) expect(seen.has(value)).toBe(false);
    },
  );

  it('merge a run-wide limit into the options, the options winning', () => {
    const hubspot = definitionOf('hubspot');
    expect(hubspot.withLimits(undefined, undefined)).toBeUndefined();
    expect(hubspot.withLimits({ portalId: 5 }, { tenSecondly: 50 })).toEqual({
      portalId: 5,
      rateLimits: { tenSecondly: 50 },
    });
    expect(hubspot.withLimits({ rateLimits: { tenSecondly: 9 } }, { tenSecondly: 50, daily: 7 })).toEqual({
      rateLimits: { tenSecondly: 9, daily: 7 },
    });
    const salesforce = definitionOf('salesforce');
    expect(salesforce.withLimits({ dailyApiRequests: 3 }, { dailyApiRequests: 10 })).toEqual({
      dailyApiRequests: 3,
    });
    expect(salesforce.withLimits({}, { dailyApiRequests: 10 })).toEqual({ dailyApiRequests: 10 });
    expect(definitionOf('clearbit').withLimits(undefined, { perMinute: 5 })).toEqual({ perMinute: 5 });
    expect(definitionOf('apollo').withLimits({}, { perMinute: 5 })).toEqual({ rateLimits: { perMinute: 5 } });
    expect(definitionOf('sendgrid').withLimits({ limit: 3 }, { limit: 9, windowMs: 500 })).toEqual({
      limit: 3,
      windowMs: 500,
    });
  });

  it('answer the generic faults in each vendor’s own shape', () => {
    const statuses = Object.fromEntries(
      EMULATOR_DEFINITIONS.map((definition) => [
        definition.id,
        [
          definition.faultResponses.serverError(503, 'c-1').status,
          definition.faultResponses.rateLimited('/x', 'c-1', 2.5).status,
          definition.faultResponses.expiredToken('c-1').status,
        ],
      ]),
    );
    expect(statuses).toEqual({
      hubspot: [503, 429, 401],
      salesforce: [503, 403, 401],
      apollo: [503, 429, 401],
      clearbit: [503, 429, 401],
      zoominfo: [503, 429, 401],
      sendgrid: [503, 429, 401],
      mailgun: [503, 429, 401],
    });
    expect(definitionOf('hubspot').faultResponses.rateLimited('/x', 'c-1', 2.5).headers['retry-after']).toBe(
      '3',
    );
    expect(
      JSON.parse(definitionOf('hubspot').faultResponses.serverError(500, 'c-9').body).correlationId,
    ).toBe('c-9');
  });
});

import { createHmac } from 'node:crypto';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  createEmulatorContext,
  createHubspotEmulator,
  createSalesforceEmulator,
  type HubspotEmulator,
  type HubspotEmulatorOptions,
  hubspotSignatureV3,
  type SalesforceCredentials,
  type SalesforceEmulator,
  type SalesforceEmulatorOptions,
  type SalesforceIngestJobSummary,
  type SalesforceLead,
  type SalesforceOutboundMessageOptions,
} from '../src/index.js';

describe('package entry: HubSpot and Salesforce emulator types', () => {
  it('exports the HubSpot emulator, its options and the v3 signature helper', () => {
    const options: HubspotEmulatorOptions = {};
    const hubspot: HubspotEmulator = createHubspotEmulator(createEmulatorContext({ seed: 2 }), options);
    expect(hubspot.vendor).toBe('hubspot');
    const expected = createHmac('sha256', 'secret')
      .update('POSThttps://example.com/hook[]1700000000000')
      .digest('base64');
    expect(hubspotSignatureV3('secret', 'POST', 'https://example.com/hook', '[]', 1_700_000_000_000)).toBe(
      expected,
    );
  });

  it('exports the Salesforce emulator with its options, credentials, lead, job and outbound types', () => {
    const options: SalesforceEmulatorOptions = {};
    const salesforce: SalesforceEmulator = createSalesforceEmulator(
      createEmulatorContext({ seed: 2 }),
      options,
    );
    expectTypeOf(salesforce.credentials).toEqualTypeOf<SalesforceCredentials>();
    expectTypeOf(salesforce.leads()).toEqualTypeOf<SalesforceLead[]>();
    expectTypeOf(salesforce.jobs()).toEqualTypeOf<SalesforceIngestJobSummary[]>();
    expectTypeOf<
      NonNullable<SalesforceEmulatorOptions['outboundMessages']>
    >().toEqualTypeOf<SalesforceOutboundMessageOptions>();
    expect(salesforce.vendor).toBe('salesforce');
    expect(salesforce.leads()).toEqual([]);
  });
});

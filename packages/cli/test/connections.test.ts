import { ConfigurationError, ValidationError } from '@leadpipe/core';
import { hubspotDescriptor } from '@leadpipe/crm-hubspot';
import { salesforceDescriptor } from '@leadpipe/crm-salesforce';
import { apolloDescriptor } from '@leadpipe/provider-apollo';
import { type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  CRM_NAMES,
  connect,
  EMULATE_LIMITS,
  EMULATE_TIME_SCALE,
  ENRICH_HELP,
  emulatorConnection,
  missingKeys,
  PROVIDER_NAMES,
  VENDORS,
} from '../src/index.js';

let running: RunningEmulators;
beforeAll(async () => {
  running = await startEmulators({ truth: { people: 50, companies: 10 } });
});
afterAll(() => running.close());

function validationIssues(run: () => unknown): { field: string; reason: string }[] {
  try {
    run();
  } catch (error) {
    if (ValidationError.isInstance(error)) return [...error.issues];
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('the registration list', () => {
  it('names the providers and CRMs, from the descriptors, in order', () => {
    expect(PROVIDER_NAMES).toEqual(['apollo', 'clearbit', 'zoominfo']);
    expect(CRM_NAMES).toEqual(['hubspot', 'salesforce']);
    expect(VENDORS.map((vendor) => `${vendor.kind}:${vendor.id}`)).toEqual([
      'enrichment:apollo',
      'enrichment:clearbit',
      'enrichment:zoominfo',
      'crm:hubspot',
      'crm:salesforce',
    ]);
  });

  it("enrich's help lists every variable every vendor reads", () => {
    for (const vendor of VENDORS) {
      for (const variable of vendor.environment) expect(ENRICH_HELP).toContain(variable.name);
    }
  });
});

describe('connect', () => {
  it('refuses a provider it does not know, listing the known ones, and builds nothing', () => {
    const create = vi.spyOn(apolloDescriptor, 'create');
    expect(validationIssues(() => connect(['apollo', 'lusha'], undefined, {}, running))).toEqual([
      { field: '--providers', reason: '"lusha" is not a provider; use apollo, clearbit, zoominfo' },
    ]);
    expect(create).not.toHaveBeenCalled();
    create.mockRestore();
    expect(validationIssues(() => missingKeys(['lusha'], undefined, {}))).toEqual([
      { field: '--providers', reason: '"lusha" is not a provider; use apollo, clearbit, zoominfo' },
    ]);
  });

  it('refuses a CRM it does not know, listing the known ones', () => {
    expect(validationIssues(() => connect([], 'pipedrive', {}, running))).toEqual([
      { field: '--crm', reason: '"pipedrive" is not a CRM; use hubspot or salesforce' },
    ]);
    expect(validationIssues(() => missingKeys([], 'pipedrive', {}))).toEqual([
      { field: '--crm', reason: '"pipedrive" is not a CRM; use hubspot or salesforce' },
    ]);
  });

  it('builds from the environment through the descriptors; a missing key names option and variable', () => {
    const env = { APOLLO_API_KEY: 'apl_connect_test_0001', HUBSPOT_ACCESS_TOKEN: 'pat-connect-test-0001' };
    expect(missingKeys(['apollo', 'clearbit'], 'hubspot', env)).toEqual([
      { variable: 'CLEARBIT_API_KEY', neededBy: '--providers clearbit' },
    ]);
    let thrown: unknown;
    try {
      connect(['apollo', 'clearbit'], 'hubspot', env, undefined);
    } catch (error) {
      thrown = error;
    }
    expect(ConfigurationError.isInstance(thrown)).toBe(true);
    expect((thrown as ConfigurationError).message).toContain('CLEARBIT_API_KEY');
  });

  it('points every adapter at its emulator, with the CRM descriptor’s mapping and batch size', async () => {
    const connections = connect(['clearbit', 'apollo'], 'salesforce', {}, running);
    try {
      expect(connections.providers.map((provider) => provider.providerId)).toEqual(['clearbit', 'apollo']);
      expect(connections.crm?.adapter.adapterId).toBe('salesforce');
      expect(connections.crm?.mapping).toBe(salesforceDescriptor.defaultMapping);
      expect(connections.batchSize).toBe(salesforceDescriptor.defaultBatchSize);
      // Apollo is told the quotas its emulator enforces under --emulate.
      expect(emulatorConnection(running, 'apollo')).toMatchObject({
        urls: running.urls.apollo,
        timeScale: EMULATE_TIME_SCALE,
        limits: EMULATE_LIMITS.apollo,
      });
    } finally {
      await connections.close();
    }
  });

  it('close() closes every adapter it built that has a close()', async () => {
    const connections = connect(['apollo', 'clearbit'], 'hubspot', {}, running);
    expect(connections.crm?.mapping).toBe(hubspotDescriptor.defaultMapping);
    expect(connections.batchSize).toBeUndefined();
    const closers = [connections.providers[0]!, connections.crm!.adapter].map((adapter) =>
      vi.spyOn(adapter as { close(): Promise<void> }, 'close'),
    );
    await connections.close();
    for (const close of closers) expect(close).toHaveBeenCalledTimes(1);
    await connections.close();
    for (const close of closers) expect(close).toHaveBeenCalledTimes(1);
  });
});

import {
  type CrmSync,
  type CrmSyncReport,
  createCrmSync,
  createLead,
  type DeadLetterEntry,
  defineFieldMapping,
  type Lead,
} from '@leadpipe/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createSalesforce, type SalesforceSettings } from '../src/index.js';
import { type SalesforceFixture, startSalesforce } from './support.js';

const leadsMapping = defineFieldMapping({
  object: 'Lead',
  idProperty: { from: 'email', to: 'Lead_Key__c' },
  fields: [
    { from: 'lastName', to: 'LastName' },
    { from: 'company.name', to: 'Company' },
    { from: 'title', to: 'Title' },
  ],
});

function leads(count: number, prefix: string): Lead[] {
  return Array.from({ length: count }, (_, index) =>
    createLead({
      email: `${prefix}${index}@sync-${index % 9}.example`,
      firstName: `First${index}`,
      lastName: `Last${index}`,
      title: `Title ${index}`,
      company: { name: `Company ${index % 50}` },
    }),
  );
}

const fixtures: SalesforceFixture[] = [];
afterEach(async () => {
  for (const fixture of fixtures.splice(0)) await fixture.close();
});

async function allDeadLetters(sync: CrmSync): Promise<DeadLetterEntry[]> {
  const entries: DeadLetterEntry[] = [];
  let cursor: string | undefined;
  do {
    const page = await sync.deadLetters.list({ ...(cursor === undefined ? {} : { cursor }), limit: 500 });
    entries.push(...page.entries);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return entries;
}

/** Every input landed in the emulator or is dead-lettered, never both; no key is stored twice. */
async function expectAccounted(
  sf: SalesforceFixture,
  input: readonly Lead[],
  sync: CrmSync,
  report: CrmSyncReport,
) {
  const dead = new Set((await allDeadLetters(sync)).map((entry) => entry.record.key));
  const stored = sf.emulator.leads().map((lead) => String(lead.Lead_Key__c).toLowerCase());
  expect(new Set(stored).size, 'no duplicate records').toBe(stored.length);
  const storedSet = new Set(stored);
  for (const lead of input) {
    const key = lead.email!.toLowerCase();
    expect(storedSet.has(key) !== dead.has(key), `${key}: written xor dead-lettered`).toBe(true);
  }
  const target = report.crms[0]!;
  expect(target.received).toBe(input.length);
  expect(target.created + target.updated + target.unchanged + target.deadLettered).toBe(input.length);
  return { dead, stored: storedSet };
}

function adapterFor(sf: SalesforceFixture, settings: SalesforceSettings = {}) {
  return createSalesforce({
    refreshToken: sf.emulator.credentials.refreshToken,
    clientId: sf.emulator.credentials.clientId,
    clientSecret: sf.emulator.credentials.clientSecret,
    loginUrl: sf.url,
    bulkPollIntervalMs: 1,
    // A hung request costs this much. At 100 ms, on a loaded machine most requests timed out although the
    // emulator handled them: an answer lost on the last retry leaves a record written yet dead-lettered,
    // an outcome no client can know (the adapters' own lost-answer cases are in salesforce-faults.test.ts).
    timeoutMs: 1_000,
    ...settings,
  });
}

const retry = { retries: 6, minTimeoutMs: 1, maxTimeoutMs: 5 };

describe('createCrmSync with the Salesforce adapter against the emulator', () => {
  it.each([
    { name: 'Collections', settings: { maxBatchSize: 200 }, count: 800 },
    { name: 'Bulk API 2.0', settings: { maxBatchSize: 600, bulkThreshold: 500 }, count: 1200 },
  ] as const)(
    'through $name with 5% 5xx and 5% hung requests and a token expiry mid-run: nothing lost, nothing duplicated, and a re-run creates nothing',
    async ({ settings, count }) => {
      const sf = await startSalesforce(
        { bulkStartDelayMs: 0, rotateRefreshTokens: true },
        { msPerRequest: 50, faults: { serverErrorRate: 0.05, hangRate: 0.05 }, seed: 3 },
      );
      fixtures.push(sf);
      const adapter = adapterFor(sf, settings);
      // The rates are drawn per request; queue one of each so both kinds surely happen in a short run.
      sf.instance.faults.queue('serverError');
      sf.instance.faults.queue('hang');
      const input = leads(count, 'fault');
      let batches = 0;
      const sync = createCrmSync({
        crms: [{ adapter, mapping: leadsMapping }],
        retry,
        downAfter: 10,
        onEvent: (event) => {
          // Expire the session once the run is under way (the first batch has a token by then).
          if (event.type === 'crm.batchSent' && ++batches === 3) sf.emulator.expireTokens();
        },
      });
      const report = await sync.sync(input);
      const { dead } = await expectAccounted(sf, input, sync, report);
      expect(dead.size).toBeLessThan(count / 10);
      expect(adapter.stats().tokenRequests).toBeGreaterThanOrEqual(2);
      expect(sf.instance.counters.get('salesforce.faults.serverError')).toBeGreaterThan(0);
      expect(sf.instance.counters.get('salesforce.faults.hang')).toBeGreaterThan(0);

      sf.instance.faults.clear();
      const rerun = createCrmSync({ crms: [{ adapter, mapping: leadsMapping }], retry });
      const second = await rerun.sync(input);
      expect(second.crms[0]?.created).toBe(dead.size);
      expect(second.crms[0]?.deadLettered).toBe(0);
      const stored = sf.emulator.leads();
      expect(stored).toHaveLength(count);
      expect(new Set(stored.map((lead) => lead.Lead_Key__c)).size).toBe(count);
      await sync.close();
      await rerun.close();
    },
    60_000,
  );
});

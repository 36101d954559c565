import {
  type CrmUpsertResult,
  createCrmSync,
  createLead,
  defineFieldMapping,
  type Lead,
} from '@leadpipe/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createSalesforce, type SalesforceSettings } from '../src/index.js';
import { type SalesforceFixture, startSalesforce } from './support.js';

const fixtures: SalesforceFixture[] = [];
afterEach(async () => {
  for (const fixture of fixtures.splice(0)) await fixture.close();
});

async function start(): Promise<SalesforceFixture> {
  const fixture = await startSalesforce();
  fixtures.push(fixture);
  return fixture;
}

function adapterFor(sf: SalesforceFixture, settings: SalesforceSettings = {}) {
  return createSalesforce({
    refreshToken: sf.emulator.credentials.refreshToken,
    clientId: sf.emulator.credentials.clientId,
    clientSecret: sf.emulator.credentials.clientSecret,
    loginUrl: sf.url,
    ...settings,
  });
}

const INDUSTRIES: readonly (readonly [enriched: string, stored: string | null])[] = [
  ['Technology', 'Technology'],
  ['Internet', 'Technology'],
  ['internet', 'Technology'],
  ['Management Consulting', 'Consulting'],
  ['management consulting', 'Consulting'],
  ['consulting', 'Consulting'],
  ['Computer Software', 'Technology'],
  ['information technology & services', 'Technology'],
  ['Financial Services', 'Finance'],
  ['Hospital & Health Care', 'Healthcare'],
  ['food and beverage', 'Food & Beverage'],
  ['Food & Beverages', 'Food & Beverage'],
  ['Nonprofit Organization Management', 'Not For Profit'],
  ['Real Estate', null],
];

describe('restricted picklists (Lead.Industry) against the emulator over HTTP', () => {
  it('maps enriched values onto the org picklist values: exact, by spelling, by synonym; an unmappable one leaves the field out with a warning', async () => {
    const sf = await start();
    const adapter = adapterFor(sf);
    const results = await adapter.doUpsert(
      {
        object: 'Lead',
        idProperty: 'Lead_Key__c',
        records: INDUSTRIES.map(([industry], index) => ({
          key: `pick-${index}`,
          properties: { LastName: `L${index}`, Company: `C${index}`, Industry: industry },
        })),
      },
      {},
    );
    const byKey = new Map(results.map((result) => [result.key, result]));
    INDUSTRIES.forEach(([enriched, stored], index) => {
      const result = byKey.get(`pick-${index}`) as CrmUpsertResult;
      expect(result.status, enriched).toBe('created');
      expect(sf.emulator.findLeadByExternalId(`pick-${index}`)?.Industry, enriched).toBe(stored);
      if (stored === null) {
        expect(result.status !== 'failed' && result.warnings).toEqual([
          {
            field: 'Industry',
            reason: expect.stringMatching(
              /^"Real Estate" is not a value of this restricted picklist .* no synonym fits: left out/,
            ),
          },
        ]);
      } else {
        expect(result.status !== 'failed' && result.warnings, enriched).toBeUndefined();
      }
    });
  });

  it('picklistSynonyms adds to the table and takes precedence over it', async () => {
    const sf = await start();
    const adapter = adapterFor(sf, {
      picklistSynonyms: { 'real estate': 'Other', Internet: ['Communications', 'Technology'] },
    });
    const [estate, internet] = await adapter.doUpsert(
      {
        object: 'Lead',
        idProperty: 'Lead_Key__c',
        records: [
          { key: 'syn-1', properties: { LastName: 'A', Company: 'A', Industry: 'Real Estate' } },
          { key: 'syn-2', properties: { LastName: 'B', Company: 'B', Industry: 'internet' } },
        ],
      },
      {},
    );
    expect(estate).toMatchObject({ status: 'created' });
    expect(internet).toMatchObject({ status: 'created' });
    expect(sf.emulator.findLeadByExternalId('syn-1')?.Industry).toBe('Other');
    expect(sf.emulator.findLeadByExternalId('syn-2')?.Industry).toBe('Communications');
  });

  it('refuses a picklistSynonyms entry that is not a value or a list of values, naming it', () => {
    expect(() => createSalesforce({ picklistSynonyms: { Internet: 3 as unknown as string } })).toThrow(
      /picklistSynonyms/,
    );
  });
});

function leadsWithIndustries(industries: readonly string[]): Lead[] {
  return industries.map((industry, index) =>
    createLead({
      email: `industry${index}@picklist.example`,
      lastName: `Last${index}`,
      company: { name: `Company ${index}`, industry },
    }),
  );
}

describe("the README's mapping company.industry → Industry through a sync session", () => {
  const fields = [
    { from: 'lastName', to: 'LastName' },
    { from: 'company.name', to: 'Company' },
  ] as const;

  it('writes every lead; the one whose industry fits nothing is written without Industry, with the warning in its outcome and the report', async () => {
    const sf = await start();
    const mapping = defineFieldMapping({
      object: 'Lead',
      idProperty: { from: 'email', to: 'Lead_Key__c' },
      fields: [...fields, { from: 'company.industry', to: 'Industry' }],
    });
    const sync = createCrmSync({ crms: [{ adapter: adapterFor(sf), mapping }] });
    const session = sync.open();
    const outcomes = await session.write(
      leadsWithIndustries(['Internet', 'management consulting', 'Quantum Basket Weaving']),
    );
    const report = await session.close();
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['written', 'written', 'written']);
    expect(outcomes[0]?.targets[0]).not.toHaveProperty('warnings');
    expect(outcomes[2]?.targets[0]).toMatchObject({
      status: 'created',
      warnings: [{ field: 'Industry', reason: expect.stringContaining('"Quantum Basket Weaving"') }],
    });
    expect(report.crms[0]).toMatchObject({ created: 3, deadLettered: 0, warned: 1, status: 'ok' });
    expect(sf.emulator.findLeadByExternalId('industry0@picklist.example')?.Industry).toBe('Technology');
    expect(sf.emulator.findLeadByExternalId('industry1@picklist.example')?.Industry).toBe('Consulting');
    expect(sf.emulator.findLeadByExternalId('industry2@picklist.example')).toMatchObject({
      LastName: 'Last2',
      Industry: null,
    });
    await sync.close();
  });

  it('when the mapping marks Industry required, the lead whose industry fits nothing is dead-lettered instead, the others written', async () => {
    const sf = await start();
    const mapping = defineFieldMapping({
      object: 'Lead',
      idProperty: { from: 'email', to: 'Lead_Key__c' },
      fields: [...fields, { from: 'company.industry', to: 'Industry', required: true }],
    });
    const sync = createCrmSync({ crms: [{ adapter: adapterFor(sf), mapping }] });
    const session = sync.open();
    const outcomes = await session.write(leadsWithIndustries(['Internet', 'Quantum Basket Weaving']));
    const report = await session.close();
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['written', 'deadLettered']);
    expect(outcomes[1]?.targets[0]).toMatchObject({
      status: 'deadLettered',
      error: {
        code: 'validation_failed',
        retryable: false,
        vendorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
        message: expect.stringMatching(
          /^Industry: "Quantum Basket Weaving" .* the mapping marks it required/,
        ),
      },
    });
    expect(report.crms[0]).toMatchObject({ created: 1, deadLettered: 1, warned: 0 });
    expect(sf.emulator.findLeadByExternalId('industry1@picklist.example')).toBeUndefined();
    await sync.close();
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type RunningSalesforce, startSalesforce } from './salesforce-support.js';

const BASE = '/services/data/v62.0';

interface QueryResult {
  totalSize: number;
  done: boolean;
  nextRecordsUrl?: string;
  records: Record<string, unknown>[];
}

describe('Salesforce emulator SOQL over HTTP', () => {
  let sf: RunningSalesforce;

  const query = async (soql: string, headers: Record<string, string> = {}, resource = 'query') => {
    const response = await sf.call(`${BASE}/${resource}?q=${encodeURIComponent(soql)}`, { headers });
    return {
      status: response.status,
      body: (await response.json()) as QueryResult & { errorCode?: string }[],
    };
  };
  const keys = async (soql: string) => (await query(soql)).body.records.map((record) => record.Lead_Key__c);

  beforeEach(async () => {
    sf = await startSalesforce();
    const leads = [
      {
        key: 'a',
        LastName: 'Alpha',
        Company: 'Acme',
        Email: 'alpha@acme.io',
        NumberOfEmployees: 10,
        Industry: 'Technology',
      },
      {
        key: 'b',
        LastName: 'Bravo',
        Company: 'Beta',
        Email: 'bravo@beta.io',
        NumberOfEmployees: 250,
        Industry: 'Banking',
      },
      { key: 'c', LastName: "O'Neil", Company: 'Acme', Email: null, NumberOfEmployees: null, Industry: null },
      {
        key: 'd',
        LastName: 'Delta',
        Company: 'Gamma',
        Email: 'delta@gamma.io',
        NumberOfEmployees: 5000,
        Industry: 'Technology',
      },
    ];
    for (const { key, ...fields } of leads) {
      const response = await sf.call(`${BASE}/sobjects/Lead/Lead_Key__c/${key}`, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(fields),
      });
      expect(response.status).toBe(201);
      sf.advance(60_000);
    }
  });
  afterEach(async () => {
    await sf.close();
  });

  it('filters with comparison, LIKE, IN, AND/OR/NOT and null on strings and numbers', async () => {
    expect(await keys("SELECT Lead_Key__c FROM Lead WHERE Company = 'acme' ORDER BY LastName")).toEqual([
      'a',
      'c',
    ]);
    expect(
      await keys('SELECT Lead_Key__c FROM Lead WHERE NumberOfEmployees >= 250 ORDER BY Lead_Key__c'),
    ).toEqual(['b', 'd']);
    expect(await keys('SELECT Lead_Key__c FROM Lead WHERE NumberOfEmployees < 250')).toEqual(['a']);
    expect(await keys("SELECT Lead_Key__c FROM Lead WHERE Email LIKE '%@acme.io'")).toEqual(['a']);
    expect(await keys("SELECT Lead_Key__c FROM Lead WHERE LastName = 'O\\'Neil'")).toEqual(['c']);
    expect(
      await keys(
        "SELECT Lead_Key__c FROM Lead WHERE Industry IN ('Banking', 'technology') ORDER BY Lead_Key__c DESC",
      ),
    ).toEqual(['d', 'b', 'a']);
    expect(
      await keys("SELECT Lead_Key__c FROM Lead WHERE Industry NOT IN ('Banking') ORDER BY Lead_Key__c"),
    ).toEqual(['a', 'c', 'd']);
    expect(
      await keys(
        "SELECT Lead_Key__c FROM Lead WHERE (Company = 'Beta' OR Company = 'Gamma') AND NOT NumberOfEmployees > 1000",
      ),
    ).toEqual(['b']);
    expect(await keys('SELECT Lead_Key__c FROM Lead WHERE Email = null')).toEqual(['c']);
    expect(
      await keys('SELECT Lead_Key__c FROM Lead WHERE Email != null ORDER BY Email DESC LIMIT 2'),
    ).toEqual(['d', 'b']);
    expect(await keys('SELECT Lead_Key__c FROM Lead ORDER BY NumberOfEmployees DESC NULLS LAST')).toEqual([
      'd',
      'b',
      'a',
      'c',
    ]);
    expect(await keys('SELECT Lead_Key__c FROM Lead ORDER BY NumberOfEmployees LIMIT 2 OFFSET 1')).toEqual([
      'a',
      'b',
    ]);
    const count = await query("SELECT COUNT() FROM Lead WHERE Industry = 'Technology'");
    expect(count.body).toEqual({ totalSize: 2, done: true, records: [] });
  });

  it('compares datetimes such as SystemModstamp and returns them in Salesforce format', async () => {
    const result = await query(
      'SELECT Id, Lead_Key__c, SystemModstamp FROM Lead WHERE SystemModstamp > 2026-11-25T09:01:00Z ORDER BY SystemModstamp',
    );
    expect(result.body.records.map((record) => [record.Lead_Key__c, record.SystemModstamp])).toEqual([
      ['c', '2026-11-25T09:02:00.000+0000'],
      ['d', '2026-11-25T09:03:00.000+0000'],
    ]);
    expect(result.body.records[0]).toMatchObject({
      attributes: {
        type: 'Lead',
        url: expect.stringMatching(/^\/services\/data\/v62\.0\/sobjects\/Lead\/00Q/),
      },
    });
    expect(await keys('SELECT Lead_Key__c FROM Lead WHERE CreatedDate <= 2026-11-25T10:01:00+01:00')).toEqual(
      ['a', 'b'],
    );
    const quoted = await query("SELECT Id FROM Lead WHERE SystemModstamp > '2026-01-01'");
    expect(quoted.status).toBe(400);
  });

  it('pages with nextRecordsUrl honouring Sforce-Query-Options batchSize, within 200-2000', async () => {
    const records = Array.from({ length: 450 }, (_, index) => ({
      attributes: { type: 'Lead' },
      Lead_Key__c: `bulk-${String(index).padStart(3, '0')}`,
      LastName: 'Page',
      Company: 'Paging',
    }));
    for (let start = 0; start < records.length; start += 200) {
      await sf.call(`${BASE}/composite/sobjects/Lead/Lead_Key__c`, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ records: records.slice(start, start + 200) }),
      });
    }
    const soql = "SELECT Lead_Key__c FROM Lead WHERE Company = 'Paging' ORDER BY Lead_Key__c";
    const first = await query(soql, { 'Sforce-Query-Options': 'batchSize=50' });
    expect(first.body.totalSize).toBe(450);
    expect(first.body.done).toBe(false);
    expect(first.body.records).toHaveLength(200);
    const seen = first.body.records.map((record) => record.Lead_Key__c);
    let next = first.body.nextRecordsUrl;
    expect(next).toMatch(/^\/services\/data\/v62\.0\/query\/01g\w+-200$/);
    while (next !== undefined) {
      const page = (await (await sf.call(next)).json()) as QueryResult;
      seen.push(...page.records.map((record) => record.Lead_Key__c));
      next = page.nextRecordsUrl;
      if (page.done) expect(next).toBeUndefined();
    }
    expect(seen).toEqual(records.map((record) => record.Lead_Key__c));
    const expired = await query(soql);
    expect(expired.body.records).toHaveLength(450);
    expect(expired.body.done).toBe(true);
    const partial = await query(soql, { 'Sforce-Query-Options': 'batchSize=300' });
    sf.advance(15 * 60 * 1000);
    const stale = await sf.call(String(partial.body.nextRecordsUrl));
    expect(stale.status).toBe(400);
    expect(await stale.json()).toEqual([
      { message: 'invalid query locator', errorCode: 'INVALID_QUERY_LOCATOR' },
    ]);
  });

  it('shows deleted records only through queryAll', async () => {
    const id = String(sf.emulator.findLeadByExternalId('a')?.Id);
    expect((await sf.call(`${BASE}/sobjects/Lead/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect(await keys("SELECT Lead_Key__c FROM Lead WHERE Company = 'Acme'")).toEqual(['c']);
    const all = await query("SELECT Lead_Key__c, IsDeleted FROM Lead WHERE Company = 'Acme'", {}, 'queryAll');
    expect(all.body.records.map((record) => [record.Lead_Key__c, record.IsDeleted])).toEqual([
      ['a', true],
      ['c', false],
    ]);
  });

  it('answers malformed queries with MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE and the OFFSET cap', async () => {
    const errorCode = async (soql: string) => {
      const result = await query(soql);
      expect(result.status).toBe(400);
      return (result.body as unknown as { errorCode: string; message: string }[])[0];
    };
    expect((await errorCode('SELECT Id FRM Lead'))?.errorCode).toBe('MALFORMED_QUERY');
    expect((await errorCode("SELECT Id FROM Lead WHERE Company = 'open"))?.errorCode).toBe('MALFORMED_QUERY');
    const field = await errorCode('SELECT Shoe__c FROM Lead');
    expect(field?.errorCode).toBe('INVALID_FIELD');
    expect(field?.message).toContain("No such column 'Shoe__c' on entity 'Lead'");
    expect((await errorCode('SELECT Id FROM Contact'))?.message).toContain(
      "sObject type 'Contact' is not supported",
    );
    expect(await errorCode('SELECT Id FROM Lead OFFSET 2001')).toEqual({
      message: 'Maximum SOQL offset allowed is 2000',
      errorCode: 'NUMBER_OUTSIDE_VALID_RANGE',
    });
    expect((await errorCode("SELECT Id FROM Lead WHERE NumberOfEmployees = 'ten'"))?.errorCode).toBe(
      'INVALID_FIELD',
    );
    const empty = await sf.call(`${BASE}/query`);
    expect(empty.status).toBe(400);
  });
});

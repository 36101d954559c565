import jsforce from 'jsforce';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningSalesforce, startSalesforce } from './salesforce-support.js';

const VERSION = '62.0';

/** A result CSV column jsforce parsed into an untyped row. */
function column(row: object, name: string): string {
  return String((row as Record<string, unknown>)[name]);
}

function lead(index: number) {
  return {
    Lead_Key__c: `key-${index}`,
    LastName: `Last${index}`,
    Company: `Company ${index}`,
    Email: `person${index}@example.com`,
    NumberOfEmployees: index,
  };
}

describe('jsforce 3.10.16 against the Salesforce emulator', () => {
  let running: RunningSalesforce | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  function connect(sf: RunningSalesforce) {
    return new jsforce.Connection({
      instanceUrl: sf.url,
      accessToken: sf.emulator.credentials.accessToken,
      version: VERSION,
    });
  }

  it('upserts records through sObject Collections and reads them back', async () => {
    running = await startSalesforce();
    const conn = connect(running);
    const first = await conn.sobject('Lead').upsert([lead(1), lead(2)], 'Lead_Key__c');
    expect(first).toEqual([
      expect.objectContaining({ success: true, created: true }),
      expect.objectContaining({ success: true, created: true }),
    ]);
    const second = await conn.sobject('Lead').upsert(
      [
        { ...lead(2), Title: 'CTO' },
        { Lead_Key__c: 'key-3', LastName: 'NoCompany' },
      ],
      'Lead_Key__c',
    );
    expect(second[0]).toEqual({ id: first[1]?.id, success: true, errors: [], created: false });
    expect(second[1]).toMatchObject({
      success: false,
      errors: [{ statusCode: 'REQUIRED_FIELD_MISSING', fields: ['Company'] }],
    });
    const stored = running.emulator.findLeadByExternalId('KEY-2');
    expect(stored).toMatchObject({ Id: first[1]?.id, Title: 'CTO', LastName: 'Last2', NumberOfEmployees: 2 });
    expect(running.emulator.leads()).toHaveLength(2);
    expect(conn.limitInfo.apiUsage).toEqual({ used: 2, limit: 100_000 });
    const retrieved = await conn.sobject('Lead').retrieve(String(first[0]?.id));
    expect(retrieved).toMatchObject({
      Lead_Key__c: 'key-1',
      Company: 'Company 1',
      Status: 'Open - Not Contacted',
    });
  });

  it('upserts one record through the single-record external id endpoint', async () => {
    running = await startSalesforce();
    const conn = connect(running);
    const created = await conn.sobject('Lead').upsert(lead(9), 'Lead_Key__c');
    expect(created).toMatchObject({ success: true, created: true });
    const updated = await conn.sobject('Lead').upsert({ ...lead(9), Company: 'Renamed' }, 'Lead_Key__c');
    expect(updated).toMatchObject({ success: true, created: false });
    expect(running.emulator.findLeadByExternalId('key-9')?.Company).toBe('Renamed');
  });

  it('pages a query past one batch with autoFetch via nextRecordsUrl', async () => {
    running = await startSalesforce();
    const conn = connect(running);
    const records = Array.from({ length: 2150 }, (_, index) => lead(index));
    const saved = await conn.sobject('Lead').upsert(records, 'Lead_Key__c', { allowRecursive: true });
    expect(saved.every((result) => result.success)).toBe(true);
    const firstPage = await conn.query('SELECT Id, Lead_Key__c FROM Lead');
    expect(firstPage.records).toHaveLength(2000);
    expect(firstPage.done).toBe(false);
    expect(firstPage.nextRecordsUrl).toMatch(/\/services\/data\/v62\.0\/query\/01g\w+-2000$/);
    const all = await conn
      .query<{ Id: string; Lead_Key__c: string }>(
        'SELECT Id, Lead_Key__c FROM Lead ORDER BY NumberOfEmployees',
      )
      .run({ autoFetch: true, maxFetch: 5000 });
    expect(all.totalSize).toBe(2150);
    expect(all.records).toHaveLength(2150);
    expect(all.records.map((record) => record.Lead_Key__c)).toEqual(
      records.map((record) => record.Lead_Key__c),
    );
    const emulatorIds = new Set(running.emulator.leads().map((record) => record.Id));
    expect(all.records.every((record) => emulatorIds.has(record.Id))).toBe(true);
    const more = await conn.queryMore(String(firstPage.nextRecordsUrl));
    expect(more.records).toHaveLength(150);
    expect(more.done).toBe(true);
  });

  it('loads with Bulk API 2.0 and returns results that match the stored leads', async () => {
    running = await startSalesforce({ bulkStartDelayMs: 500, bulkRecordsPerSecond: 1000 }, 1000);
    const conn = connect(running);
    await conn.sobject('Lead').upsert([{ ...lead(0), Company: 'Before' }], 'Lead_Key__c');
    const input = [
      ...Array.from({ length: 30 }, (_, index) => lead(index)),
      { Lead_Key__c: 'bad-1', LastName: 'NoCompany' },
      {
        Lead_Key__c: 'bad-2',
        LastName: 'Bad',
        Company: 'X',
        Email: 'b@example.com',
        NumberOfEmployees: 'many',
      },
    ];
    conn.bulk2.pollInterval = 5;
    const results = await conn.bulk2.loadAndWaitForResults({
      object: 'Lead',
      operation: 'upsert',
      externalIdFieldName: 'Lead_Key__c',
      input,
      pollInterval: 5,
      pollTimeout: 20_000,
    });
    expect(results.successfulResults).toHaveLength(30);
    expect(results.failedResults).toHaveLength(2);
    const byKey = new Map(results.successfulResults.map((row) => [column(row, 'Lead_Key__c'), row]));
    expect(byKey.get('key-0')?.sf__Created).toBe('false');
    expect(byKey.get('key-1')?.sf__Created).toBe('true');
    for (const [key, row] of byKey) {
      expect(running.emulator.findLeadByExternalId(key)?.Id).toBe(row.sf__Id);
    }
    expect(running.emulator.findLeadByExternalId('key-0')?.Company).toBe('Company 0');
    const failures = new Map(
      results.failedResults.map((row) => [column(row, 'Lead_Key__c'), String(row.sf__Error)]),
    );
    expect(failures.get('bad-1')).toBe(
      'REQUIRED_FIELD_MISSING:Required fields are missing: [Company]:Company --',
    );
    expect(failures.get('bad-2')).toBe(
      'INVALID_TYPE_ON_FIELD_IN_RECORD:Employees: value not of required type: many:NumberOfEmployees --',
    );
    expect(running.emulator.findLeadByExternalId('bad-1')).toBeUndefined();
    const [job] = running.emulator.jobs();
    expect(job).toMatchObject({ state: 'JobComplete', numberRecordsProcessed: 32, numberRecordsFailed: 2 });
  });

  it('reads deleted records with scanAll, org limits, and fails a bulk job the way jsforce reports it', async () => {
    running = await startSalesforce({ bulkStartDelayMs: 0 }, 1000);
    const conn = connect(running);
    const [saved] = await conn.sobject('Lead').upsert([lead(1), lead(2)], 'Lead_Key__c');
    await conn.sobject('Lead').destroy(String(saved?.id));
    const live = await conn.query<{ Lead_Key__c: string }>(
      'SELECT Lead_Key__c FROM Lead ORDER BY Lead_Key__c',
    );
    expect(live.records.map((record) => record.Lead_Key__c)).toEqual(['key-2']);
    const all = await conn.query<{ Lead_Key__c: string }>(
      'SELECT Lead_Key__c FROM Lead ORDER BY Lead_Key__c',
      {
        scanAll: true,
      },
    );
    expect(all.records.map((record) => record.Lead_Key__c)).toEqual(['key-1', 'key-2']);
    const limits = await conn.limits();
    expect(limits.DailyApiRequests).toEqual({ Max: 100_000, Remaining: 100_000 - 5 });
    await expect(
      conn.bulk2.loadAndWaitForResults({
        object: 'Lead',
        operation: 'insert',
        input: [{ LastName: 'A', Company: 'B', Shoe_Size__c: '42' }],
        pollInterval: 5,
        pollTimeout: 20_000,
      }),
    ).rejects.toThrow(
      'Ingest job failed to complete due to: InvalidBatch : Field name not found : Shoe_Size__c',
    );
    expect(running.emulator.findLeadByExternalId('key-2')).toBeDefined();
  });

  it('refreshes an expired session with the OAuth refresh token and retries', async () => {
    running = await startSalesforce();
    const { credentials } = running.emulator;
    const conn = new jsforce.Connection({
      oauth2: {
        loginUrl: running.url,
        clientId: credentials.clientId,
        clientSecret: credentials.clientSecret,
      },
      instanceUrl: running.url,
      accessToken: credentials.accessToken,
      refreshToken: credentials.refreshToken,
      version: VERSION,
    });
    const refreshed: string[] = [];
    conn.on('refresh', (token: string) => refreshed.push(token));
    await conn.sobject('Lead').upsert(lead(1), 'Lead_Key__c');
    running.emulator.expireTokens();
    const result = await conn.query<{ Lead_Key__c: string }>(
      "SELECT Lead_Key__c FROM Lead WHERE Email LIKE 'person1@%'",
    );
    expect(result.records.map((record) => record.Lead_Key__c)).toEqual(['key-1']);
    expect(refreshed).toHaveLength(1);
    expect(conn.accessToken).not.toBe(credentials.accessToken);
    expect(running.context.counters.get('salesforce.invalid_session')).toBe(1);
  });

  it('logs in with the OAuth password flow', async () => {
    running = await startSalesforce();
    const { credentials } = running.emulator;
    const conn = new jsforce.Connection({
      oauth2: {
        loginUrl: running.url,
        clientId: credentials.clientId,
        clientSecret: credentials.clientSecret,
      },
      version: VERSION,
    });
    const user = await conn.login(credentials.username, credentials.password);
    expect(user).toMatchObject({ organizationId: credentials.organizationId, id: credentials.userId });
    expect(conn.instanceUrl).toBe(running.url);
    const describe = await conn.sobject('Lead').describe();
    const key = describe.fields.find((field) => field.name === 'Lead_Key__c');
    expect(key).toMatchObject({ externalId: true, unique: true, type: 'string' });
    await expect(
      new jsforce.Connection({
        oauth2: {
          loginUrl: running.url,
          clientId: credentials.clientId,
          clientSecret: credentials.clientSecret,
        },
      }).login(credentials.username, 'wrong'),
    ).rejects.toMatchObject({ name: 'invalid_grant', message: 'authentication failure' });
  });
});

import { ConfigurationError } from '@leadpipe/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createEmulatorContext } from '../src/emulator/create-context.js';
import { createEmulator } from '../src/emulator/registry.js';
import { createSalesforceEmulator } from '../src/vendors/salesforce/index.js';
import { manualClock } from './emulator-helpers.js';
import { type RunningSalesforce, startSalesforce } from './salesforce-support.js';

const BASE = '/services/data/v62.0';
const json = (body: unknown, method = 'POST'): RequestInit => ({
  method,
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify(body),
});

describe('Salesforce emulator REST API over HTTP', () => {
  let sf: RunningSalesforce;
  afterEach(async () => {
    await sf.close();
  });

  it('lists versions without auth and rejects unknown versions and missing sessions', async () => {
    sf = await startSalesforce();
    const versions = (await (await fetch(`${sf.url}/services/data/`)).json()) as {
      version: string;
      label: string;
    }[];
    expect(versions).toContainEqual({ label: "Winter '25", url: '/services/data/v62.0', version: '62.0' });
    expect(versions).toContainEqual({ label: "Summer '23", url: '/services/data/v58.0', version: '58.0' });
    const noAuth = await fetch(`${sf.url}${BASE}/sobjects/Lead/describe`);
    expect(noAuth.status).toBe(401);
    expect(await noAuth.json()).toEqual([
      { message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' },
    ]);
    const badVersion = await sf.call('/services/data/v12.0/sobjects/Lead/describe');
    expect(badVersion.status).toBe(404);
    expect(await badVersion.json()).toEqual([
      { message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' },
    ]);
  });

  it('describes Lead with required, picklist and External ID fields', async () => {
    sf = await startSalesforce();
    const response = await sf.call(`${BASE}/sobjects/Lead/describe`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { fields: Record<string, unknown>[] };
    const field = (name: string) => body.fields.find((candidate) => candidate.name === name);
    expect(field('LastName')).toMatchObject({ type: 'string', nillable: false, createable: true });
    expect(field('Company')).toMatchObject({ type: 'string', nillable: false });
    expect(field('Lead_Key__c')).toMatchObject({ externalId: true, unique: true, custom: true });
    expect(field('Industry')).toMatchObject({ type: 'picklist', restrictedPicklist: true });
    expect(
      ((field('Industry')?.picklistValues ?? []) as { value: string }[]).map((value) => value.value),
    ).toContain('Technology');
    expect(field('SystemModstamp')).toMatchObject({ type: 'datetime', createable: false, updateable: false });
  });

  it('creates, reads, updates and deletes a Lead with the real status codes', async () => {
    sf = await startSalesforce();
    const created = await sf.call(
      `${BASE}/sobjects/Lead`,
      json({ LastName: 'Ng', Company: 'Acme', Email: 'ng@acme.io' }),
    );
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    expect(id).toMatch(/^00Q\w{15}$/);
    sf.advance(5000);
    expect((await sf.call(`${BASE}/sobjects/Lead/${id}`, json({ Title: 'CEO' }, 'PATCH'))).status).toBe(204);
    const read = (await (
      await sf.call(`${BASE}/sobjects/Lead/${id}?fields=Title,CreatedDate,SystemModstamp`)
    ).json()) as Record<string, unknown>;
    expect(read).toEqual({
      attributes: { type: 'Lead', url: `${BASE}/sobjects/Lead/${id}` },
      Title: 'CEO',
      CreatedDate: '2026-11-25T09:00:00.000+0000',
      SystemModstamp: '2026-11-25T09:00:05.000+0000',
    });
    expect((await sf.call(`${BASE}/sobjects/Lead/${id}`, { method: 'DELETE' })).status).toBe(204);
    const gone = await sf.call(`${BASE}/sobjects/Lead/${id}`);
    expect(gone.status).toBe(404);
    expect(sf.emulator.leads()).toEqual([]);
    expect(sf.emulator.leads({ includeDeleted: true })[0]).toMatchObject({ Id: id, IsDeleted: true });
  });

  it('answers validation failures with Salesforce error bodies', async () => {
    sf = await startSalesforce();
    const missing = await sf.call(`${BASE}/sobjects/Lead`, json({ FirstName: 'Ann' }));
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual([
      {
        message: 'Required fields are missing: [LastName, Company]',
        errorCode: 'REQUIRED_FIELD_MISSING',
        fields: ['LastName', 'Company'],
      },
    ]);
    const picklist = await sf.call(
      `${BASE}/sobjects/Lead`,
      json({ LastName: 'A', Company: 'B', Industry: 'Piracy' }),
    );
    expect(await picklist.json()).toEqual([
      {
        message: 'Industry: bad value for restricted picklist field: Piracy',
        errorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
        fields: ['Industry'],
      },
    ]);
    const number = await sf.call(
      `${BASE}/sobjects/Lead`,
      json({ LastName: 'A', Company: 'B', NumberOfEmployees: 'lots' }),
    );
    expect(number.status).toBe(400);
    expect(((await number.json()) as { errorCode: string }[])[0]?.errorCode).toBe('JSON_PARSER_ERROR');
    const unknown = await sf.call(`${BASE}/sobjects/Lead`, json({ LastName: 'A', Company: 'B', Shoe__c: 1 }));
    expect(await unknown.json()).toEqual([
      { message: "No such column 'Shoe__c' on sobject of type Lead", errorCode: 'INVALID_FIELD' },
    ]);
    const readOnly = await sf.call(
      `${BASE}/sobjects/Lead`,
      json({ LastName: 'A', Company: 'B', CreatedDate: '2020-01-01T00:00:00Z' }),
    );
    expect(((await readOnly.json()) as { errorCode: string }[])[0]?.errorCode).toBe(
      'INVALID_FIELD_FOR_INSERT_UPDATE',
    );
    const malformed = await sf.call(`${BASE}/sobjects/Lead/001Dn0000000001AAA`);
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual([
      {
        message: 'Lead ID: id value of incorrect type: 001Dn0000000001AAA',
        errorCode: 'MALFORMED_ID',
        fields: ['Id'],
      },
    ]);
    const notAnId = await sf.call(`${BASE}/sobjects/Lead/not-an-id`);
    expect(notAnId.status).toBe(404);
    const wrongMethod = await sf.call(`${BASE}/sobjects/Lead/00QDn0000000001IAA`, { method: 'PUT' });
    expect(wrongMethod.status).toBe(405);
    expect(((await wrongMethod.json()) as { errorCode: string }[])[0]?.errorCode).toBe('METHOD_NOT_ALLOWED');
    expect(sf.emulator.leads()).toEqual([]);
  });

  it('upserts by External ID: 201 created, 200 updated (204 before v46), 300 on several matches', async () => {
    sf = await startSalesforce();
    const upsert = (value: string, body: unknown, version = '62.0', field = 'Lead_Key__c') =>
      sf.call(
        `/services/data/v${version}/sobjects/Lead/${field}/${encodeURIComponent(value)}`,
        json(body, 'PATCH'),
      );
    const created = await upsert('k-1', { LastName: 'A', Company: 'B' });
    expect(created.status).toBe(201);
    const createdBody = (await created.json()) as { id: string };
    expect(createdBody).toEqual({ id: createdBody.id, success: true, errors: [], created: true });
    const updated = await upsert('K-1', { Company: 'C' });
    expect(updated.status).toBe(200);
    expect(await updated.json()).toEqual({ id: createdBody.id, success: true, errors: [], created: false });
    expect((await upsert('k-1', { Company: 'D' }, '45.0')).status).toBe(204);
    expect(sf.emulator.findLeadByExternalId('k-1')?.Company).toBe('D');
    const updateOnly = await sf.call(
      `${BASE}/sobjects/Lead/Lead_Key__c/k-2?updateOnly=true`,
      json({ Company: 'X' }, 'PATCH'),
    );
    expect(updateOnly.status).toBe(404);
    const keyInBody = await upsert('k-1', { Lead_Key__c: 'k-1', Company: 'E' });
    expect(keyInBody.status).toBe(400);
    expect(((await keyInBody.json()) as { errorCode: string }[])[0]?.errorCode).toBe('INVALID_FIELD');
    const inc = await upsert('someone@firm.inc', { LastName: 'A', Company: 'B' });
    expect(inc.status).toBe(404);
    await upsert('L-1', { LastName: 'A', Company: 'B' }, '62.0', 'Legacy_Id__c');
    await sf.call(`${BASE}/sobjects/Lead`, json({ LastName: 'Z', Company: 'Y', Legacy_Id__c: 'L-1' }));
    const multiple = await upsert('L-1', { Company: 'Q' }, '62.0', 'Legacy_Id__c');
    expect(multiple.status).toBe(300);
    const urls = (await multiple.json()) as string[];
    expect(urls).toHaveLength(2);
    expect(urls[0]).toMatch(/^\/services\/data\/v62\.0\/sobjects\/Lead\/00Q/);
    const unknownField = await upsert('x', { Company: 'Q' }, '62.0', 'Email');
    expect(unknownField.status).toBe(404);
    expect(await unknownField.json()).toEqual([
      {
        message: 'Provided external ID field does not exist or is not accessible: Email',
        errorCode: 'NOT_FOUND',
      },
    ]);
    expect(sf.context.counters.get('salesforce.created')).toBe(3);
    expect(sf.context.counters.get('salesforce.updated')).toBe(2);
    const byKey = await sf.call(`${BASE}/sobjects/Lead/Lead_Key__c/K-1?fields=Company`);
    expect(await byKey.json()).toEqual({
      attributes: { type: 'Lead', url: `${BASE}/sobjects/Lead/${createdBody.id}` },
      Company: 'D',
    });
    expect((await sf.call(`${BASE}/sobjects/Lead/Legacy_Id__c/L-1`)).status).toBe(300);
    expect((await sf.call(`${BASE}/sobjects/Lead/Lead_Key__c/k-1`, { method: 'DELETE' })).status).toBe(204);
    expect(sf.emulator.findLeadByExternalId('k-1')).toBeUndefined();
    expect((await sf.call(`${BASE}/sobjects/Lead/Lead_Key__c/k-1`)).status).toBe(404);
  });

  it('forgets leads, jobs, usage and issued tokens on reset but keeps the static credentials', async () => {
    sf = await startSalesforce();
    await sf.call(`${BASE}/sobjects/Lead`, json({ LastName: 'A', Company: 'B' }));
    await sf.call(`${BASE}/jobs/ingest`, json({ object: 'Lead', operation: 'insert' }));
    const refreshed = await fetch(`${sf.url}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: sf.emulator.credentials.clientId,
        refresh_token: sf.emulator.credentials.refreshToken,
      }),
    });
    const { access_token: issued } = (await refreshed.json()) as { access_token: string };
    expect(sf.emulator.leads()).toHaveLength(1);
    expect(sf.emulator.jobs()).toHaveLength(1);
    expect(sf.emulator.apiUsage()).toEqual({ used: 2, limit: 100_000 });
    sf.emulator.reset();
    expect(sf.emulator.leads()).toEqual([]);
    expect(sf.emulator.jobs()).toEqual([]);
    expect(sf.emulator.apiUsage()).toEqual({ used: 0, limit: 100_000 });
    const stale = await fetch(`${sf.url}${BASE}/limits`, { headers: { Authorization: `Bearer ${issued}` } });
    expect(stale.status).toBe(401);
    const created = await sf.call(`${BASE}/sobjects/Lead`, json({ LastName: 'A', Company: 'B' }));
    expect(((await created.json()) as { id: string }).id).toBe('00QDn0000000001MAA');
  });

  it('upserts sObject Collections with per-record statusCode errors, allOrNone rollback and the 200 cap', async () => {
    sf = await startSalesforce();
    const url = `${BASE}/composite/sobjects/Lead/Lead_Key__c`;
    const record = (key: string, extra: Record<string, unknown> = {}) => ({
      attributes: { type: 'Lead' },
      Lead_Key__c: key,
      LastName: key,
      Company: 'Acme',
      ...extra,
    });
    const partial = await sf.call(
      url,
      json(
        {
          allOrNone: false,
          records: [record('a'), record('b', { Company: null }), record('c'), record('C')],
        },
        'PATCH',
      ),
    );
    expect(partial.status).toBe(200);
    const partialBody = (await partial.json()) as {
      success: boolean;
      created?: boolean;
      errors: unknown[];
    }[];
    expect(partialBody[0]).toMatchObject({ success: true, created: true, errors: [] });
    expect(partialBody[1]).toEqual({
      success: false,
      created: false,
      errors: [
        {
          statusCode: 'REQUIRED_FIELD_MISSING',
          message: 'Required fields are missing: [Company]',
          fields: ['Company'],
        },
      ],
    });
    expect(partialBody[2]?.errors).toEqual([
      {
        statusCode: 'DUPLICATE_EXTERNAL_ID',
        message: 'Duplicate external id specified: c',
        fields: ['Lead_Key__c'],
      },
    ]);
    expect(sf.emulator.leads().map((lead) => lead.Lead_Key__c)).toEqual(['a']);

    const rolledBack = await sf.call(
      url,
      json({ allOrNone: true, records: [record('d'), record('e', { Industry: 'Nope' })] }, 'PATCH'),
    );
    const rolledBackBody = (await rolledBack.json()) as {
      success: boolean;
      errors: { statusCode: string }[];
    }[];
    expect(rolledBackBody.map((item) => item.errors[0]?.statusCode)).toEqual([
      'ALL_OR_NONE_OPERATION_ROLLED_BACK',
      'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
    ]);
    expect(sf.emulator.findLeadByExternalId('d')).toBeUndefined();

    const tooMany = await sf.call(
      url,
      json({ records: Array.from({ length: 201 }, (_, index) => record(`k${index}`)) }, 'PATCH'),
    );
    expect(tooMany.status).toBe(400);
    expect(await tooMany.json()).toEqual([
      {
        message: 'record limit reached. cannot submit more than 200 records into this call',
        errorCode: 'EXCEEDED_ID_LIMIT',
      },
    ]);
    const created = await sf.call(
      `${BASE}/composite/sobjects`,
      json({ records: [record('f'), { LastName: 'x', Company: 'y' }] }),
    );
    const createdBody = (await created.json()) as { success: boolean; errors: { statusCode: string }[] }[];
    expect(createdBody[0]).toMatchObject({ success: true, errors: [] });
    expect(createdBody[0]).not.toHaveProperty('created');
    expect(createdBody[1]?.errors[0]?.statusCode).toBe('INVALID_TYPE');
  });

  it('fails a seeded share of collection records with UNABLE_TO_LOCK_ROW under partialFailureRate', async () => {
    sf = await startSalesforce({ partialFailureRate: 0.5 });
    const records = Array.from({ length: 40 }, (_, index) => ({
      attributes: { type: 'Lead' },
      Lead_Key__c: `p${index}`,
      LastName: 'P',
      Company: 'Q',
    }));
    const response = await sf.call(`${BASE}/composite/sobjects/Lead/Lead_Key__c`, json({ records }, 'PATCH'));
    const body = (await response.json()) as { success: boolean; errors: { statusCode: string }[] }[];
    const failed = body.filter((item) => !item.success);
    expect(failed.length).toBeGreaterThan(5);
    expect(failed.length).toBeLessThan(35);
    expect(new Set(failed.map((item) => item.errors[0]?.statusCode))).toEqual(
      new Set(['UNABLE_TO_LOCK_ROW']),
    );
    expect(sf.emulator.leads()).toHaveLength(40 - failed.length);
    expect(sf.context.counters.get('salesforce.failed')).toBe(failed.length);
  });

  it('counts api usage in Sforce-Limit-Info and refuses past the daily limit with REQUEST_LIMIT_EXCEEDED', async () => {
    sf = await startSalesforce({ dailyApiRequests: 3, sessionLifetimeMs: 3 * 24 * 60 * 60 * 1000 });
    const first = await sf.call(`${BASE}/limits`);
    expect(first.headers.get('sforce-limit-info')).toBe('api-usage=1/3');
    expect(await first.json()).toMatchObject({ DailyApiRequests: { Max: 3, Remaining: 2 } });
    await sf.call(`${BASE}/sobjects/Lead/describe`);
    const third = await sf.call(`${BASE}/query?q=${encodeURIComponent('SELECT Id FROM Lead')}`);
    expect(third.headers.get('sforce-limit-info')).toBe('api-usage=3/3');
    const refused = await sf.call(`${BASE}/query?q=${encodeURIComponent('SELECT Id FROM Lead')}`);
    expect(refused.status).toBe(403);
    expect(refused.headers.get('sforce-limit-info')).toBe('api-usage=3/3');
    expect(await refused.json()).toEqual([
      { message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' },
    ]);
    expect(sf.context.counters.get('salesforce.limit_exceeded')).toBe(1);
    expect(sf.context.counters.get('salesforce.api_usage')).toBe(3);
    sf.advance(24 * 60 * 60 * 1000 + 60_000);
    const nextDay = await sf.call(`${BASE}/limits`);
    expect(nextDay.status).toBe(200);
    expect(nextDay.headers.get('sforce-limit-info')).toBe('api-usage=1/3');
  });

  it('expires sessions on the emulated clock and on the expireTokens fault', async () => {
    sf = await startSalesforce({ sessionLifetimeMs: 60_000 });
    expect((await sf.call(`${BASE}/limits`)).status).toBe(200);
    sf.advance(60_000);
    const expired = await sf.call(`${BASE}/limits`);
    expect(expired.status).toBe(401);
    expect(await expired.json()).toEqual([
      { message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' },
    ]);
    sf.emulator.reset();
    expect((await sf.call(`${BASE}/limits`)).status).toBe(200);
    sf.emulator.expireTokens();
    expect((await sf.call(`${BASE}/limits`)).status).toBe(401);
  });
});

describe('Salesforce emulator limits without a server', () => {
  it('an injected REQUEST_LIMIT_EXCEEDED carries the org usage in Sforce-Limit-Info, as every REST answer does', async () => {
    const instance = createEmulator('salesforce', {
      seed: 3,
      clock: manualClock(),
      options: { dailyApiRequests: 50 },
    });
    try {
      const token = instance.emulator.credentials.accessToken;
      const get = (path: string) =>
        instance.fetch(
          new Request(`http://salesforce.test${path}`, { headers: { authorization: `Bearer ${token}` } }),
        );
      expect((await get(`${BASE}/limits`)).status).toBe(200);
      instance.faults.queue('rateLimited');
      const refused = await get(`${BASE}/limits`);
      expect(refused.status).toBe(403);
      expect(await refused.json()).toEqual([
        { message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' },
      ]);
      expect(refused.headers.get('sforce-limit-info')).toBe('api-usage=1/50');
      // The versions list (`/services/data`) carries none, injected fault or not.
      instance.faults.queue('serverError');
      const list = await get('/services/data');
      expect(list.status).toBeGreaterThanOrEqual(500);
      expect(list.headers.get('sforce-limit-info')).toBeNull();
    } finally {
      await instance.close();
    }
  });

  it('refuses requests past the concurrent long-running cap with REQUEST_LIMIT_EXCEEDED', async () => {
    let realNow = 0;
    const context = createEmulatorContext({ realNow: () => realNow });
    const emulator = createSalesforceEmulator(context, {
      concurrentLongRunningLimit: 2,
      responseDelayMs: 30_000,
    });
    const headers = { Authorization: `Bearer ${emulator.credentials.accessToken}` };
    const pending: (Response | Promise<Response>)[] = [];
    const pendingResolvers: (() => void)[] = [];
    let released = 0;
    const sleep = context.clock.sleep;
    Object.assign(context.clock, {
      sleep: () =>
        new Promise<void>((resolve) => {
          pendingResolvers.push(() => {
            released += 1;
            resolve();
          });
        }),
    });
    pending.push(emulator.app.request('/services/data/v62.0/limits', { headers }));
    pending.push(emulator.app.request('/services/data/v62.0/limits', { headers }));
    await new Promise((resolve) => setImmediate(resolve));
    realNow += 25_000;
    const refused = await emulator.app.request('/services/data/v62.0/limits', { headers });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual([
      { message: 'ConcurrentPerOrgLongTxn Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' },
    ]);
    for (const resolve of pendingResolvers.splice(0)) resolve();
    expect((await Promise.all(pending)).map((response) => response.status)).toEqual([200, 200]);
    expect(released).toBe(2);
    Object.assign(context.clock, { sleep });
    emulator.setResponseDelayMs(0);
    expect((await emulator.app.request('/services/data/v62.0/limits', { headers })).status).toBe(200);
  });

  it('rejects bad options with a ConfigurationError naming the option', () => {
    const context = createEmulatorContext();
    expect(() => createSalesforceEmulator(context, { dailyApiRequests: -1 })).toThrow(
      'createSalesforceEmulator: dailyApiRequests: must be a positive number, got -1',
    );
    expect(() => createSalesforceEmulator(context, { partialFailureRate: 2 })).toThrow(ConfigurationError);
    expect(() => createSalesforceEmulator(context, { organizationId: '001abc' })).toThrow(
      'createSalesforceEmulator: organizationId: must be a 15 or 18 character id starting with 00D, got 001abc',
    );
    expect(() =>
      createSalesforceEmulator(context, { customFields: [{ name: 'Bad', label: 'Bad', type: 'string' }] }),
    ).toThrow('createSalesforceEmulator: customFields.0.name: must end with __c, got Bad');
  });
});

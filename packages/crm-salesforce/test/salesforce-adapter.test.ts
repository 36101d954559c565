import { generateKeyPairSync } from 'node:crypto';
import {
  ApiCallError,
  ConfigurationError,
  type CrmRecord,
  type CrmUpsertResult,
  createCrmSync,
  createLead,
  defineFieldMapping,
  type RateLimitState,
  ValidationError,
} from '@leadpipe/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryBulkJobStore, createSalesforce, type SalesforceSettings } from '../src/index.js';
import { cannedFetch, leadProperties, type SalesforceFixture, startSalesforce } from './support.js';

const fixtures: SalesforceFixture[] = [];
afterEach(async () => {
  for (const fixture of fixtures.splice(0)) await fixture.close();
});

async function start(...args: Parameters<typeof startSalesforce>): Promise<SalesforceFixture> {
  const fixture = await startSalesforce(...args);
  fixtures.push(fixture);
  return fixture;
}

function refreshAdapter(sf: SalesforceFixture, settings: SalesforceSettings = {}) {
  return createSalesforce({
    refreshToken: sf.emulator.credentials.refreshToken,
    clientId: sf.emulator.credentials.clientId,
    clientSecret: sf.emulator.credentials.clientSecret,
    loginUrl: sf.url,
    bulkPollIntervalMs: 1,
    ...settings,
  });
}

function records(count: number, prefix: string): CrmRecord[] {
  return Array.from({ length: count }, (_, index) => ({
    key: `${prefix}-${index}`,
    properties: leadProperties(index),
  }));
}

const upsert = (adapter: ReturnType<typeof createSalesforce>, batch: readonly CrmRecord[], options = {}) =>
  adapter.doUpsert({ object: 'Lead', idProperty: 'Lead_Key__c', records: batch }, options);

function byKey(results: readonly CrmUpsertResult[]) {
  return new Map(results.map((result) => [result.key, result]));
}

describe('authentication', () => {
  it('refreshes once for concurrent calls when the session expires mid-run, and keeps the rotated refresh token', async () => {
    const sf = await start({ rotateRefreshTokens: true });
    const rotated: string[] = [];
    const adapter = refreshAdapter(sf, {
      onTokens: (tokens) => {
        if (tokens.refreshToken) rotated.push(tokens.refreshToken);
      },
    });
    await upsert(adapter, records(2, 'auth-a'));
    expect(adapter.stats().tokenRequests).toBe(1);
    sf.emulator.expireTokens();
    const results = await Promise.all([1, 2, 3, 4].map((n) => upsert(adapter, records(3, `auth-b${n}`))));
    for (const batch of results) for (const result of batch) expect(result.status).toBe('created');
    // One refresh for four calls that all met INVALID_SESSION_ID.
    expect(adapter.stats().tokenRequests).toBe(2);
    expect(rotated).toHaveLength(2);
    // The first refresh token was invalidated by rotation; the adapter uses the new one.
    sf.emulator.expireTokens();
    await upsert(adapter, records(1, 'auth-c'));
    expect(adapter.stats().tokenRequests).toBe(3);
    expect(sf.emulator.leads()).toHaveLength(15);
  });

  it('exchanges a signed JWT for a session and uses the instance_url it returns', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const sf = await start({ jwtPublicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const adapter = createSalesforce({
      loginUrl: sf.url,
      jwt: {
        clientId: sf.emulator.credentials.clientId,
        username: sf.emulator.credentials.username,
        privateKey: pem,
      },
    });
    const [result] = await upsert(adapter, records(1, 'jwt'));
    expect(result?.status).toBe('created');
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    const wrongKey = createSalesforce({
      loginUrl: sf.url,
      jwt: {
        clientId: sf.emulator.credentials.clientId,
        username: sf.emulator.credentials.username,
        privateKey: other.toString(),
      },
    });
    const error = await upsert(wrongKey, records(1, 'jwt-bad')).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(ApiCallError.isInstance(error) && error.code).toBe('unauthorized');
    expect(JSON.stringify((error as ApiCallError).toJSON())).not.toContain('PRIVATE KEY');
  });

  it('a static session that expires is unauthorized, once, without a token request', async () => {
    const sf = await start();
    const adapter = createSalesforce({
      accessToken: sf.emulator.credentials.accessToken,
      instanceUrl: sf.url,
    });
    await upsert(adapter, records(1, 'static'));
    sf.emulator.expireTokens();
    const error = await upsert(adapter, records(1, 'static-2')).catch((failure: unknown) => failure);
    expect(error).toMatchObject({ code: 'unauthorized', status: 401, vendorCode: 'INVALID_SESSION_ID' });
    expect(String((error as Error).message)).not.toContain(sf.emulator.credentials.accessToken);
    expect(adapter.stats().tokenRequests).toBe(0);
  });

  it('names every option and variable when no credential is given', async () => {
    const adapter = createSalesforce({});
    const error = await upsert(adapter, records(1, 'none')).catch((failure: unknown) => failure);
    expect(ConfigurationError.isInstance(error) && error.code).toBe('missing_credentials');
    expect(String((error as Error).message)).toMatch(/refreshToken.*SALESFORCE_REFRESH_TOKEN/s);
    expect(() => createSalesforce({ apiVersion: '40.0' })).toThrow(/apiVersion/);
    expect(() => createSalesforce({ bulkThreshold: 0 })).toThrow(/bulkThreshold/);
  });

  it('names every setting out of range, with the reason, in ConfigurationError.issues', () => {
    let error: unknown;
    try {
      createSalesforce({ queryBatchSize: 50, maxBatchSize: 0, objects: ['Lead', 'not an object'] });
    } catch (caught) {
      error = caught;
    }
    expect(ConfigurationError.isInstance(error) && error.code).toBe('invalid_configuration');
    expect((error as ConfigurationError).issues).toEqual([
      { field: 'objects.1', reason: 'must be an sObject API name' },
      { field: 'queryBatchSize', reason: 'must be between 200 and 2000' },
      { field: 'maxBatchSize', reason: 'must be a positive whole number' },
    ]);
  });
});

describe('records checked and converted before sending', () => {
  it('converts numbers and picklists, and fails bad values alone with the field named', async () => {
    const sf = await start();
    const adapter = refreshAdapter(sf);
    const batch: CrmRecord[] = [
      {
        key: 'conv-1',
        properties: { LastName: 'A', Company: 'A Co', NumberOfEmployees: '1,200', Industry: 'technology' },
      },
      { key: 'conv-2', properties: { LastName: 'B', Company: 'B Co', NumberOfEmployees: 'lots' } },
      { key: 'conv-3', properties: { LastName: 'C', Company: 'C Co', Industry: 'Space Mining' } },
      { key: 'conv-4', properties: { LastName: 'D', Company: 'D Co', NumberOfEmployees: 12.5 } },
      { key: 'conv-5', properties: { LastName: 'E', Company: 'E Co', Shoe_Size__c: 44 } },
      {
        key: 'conv-6',
        properties: { LastName: 'F', Company: 'F Co', AnnualRevenue: '$2,500,000.50', LeadSource: 'web' },
      },
    ];
    const before = sf.instance.requests.all().length;
    const results = byKey(await upsert(adapter, batch));
    expect(results.get('conv-1')?.status).toBe('created');
    const stored = sf.emulator.findLeadByExternalId('conv-1');
    expect(stored?.NumberOfEmployees).toBe(1200);
    expect(stored?.Industry).toBe('Technology');
    expect(sf.emulator.findLeadByExternalId('conv-6')).toMatchObject({
      AnnualRevenue: 2500000.5,
      LeadSource: 'Web',
    });
    const failure = (key: string) => {
      const result = results.get(key);
      return result?.status === 'failed' ? result.error : undefined;
    };
    expect(failure('conv-2')).toMatchObject({ code: 'validation_failed', retryable: false });
    expect(failure('conv-2')?.message).toMatch(/^NumberOfEmployees: must be a number/);
    // A value outside the restricted picklist leaves the field out, with a warning: the record is written.
    const spaceMining = results.get('conv-3');
    expect(spaceMining).toMatchObject({ status: 'created' });
    expect(spaceMining?.status !== 'failed' && spaceMining?.warnings).toEqual([
      {
        field: 'Industry',
        reason: expect.stringMatching(/^"Space Mining" is not a value of this restricted picklist/),
      },
    ]);
    expect(sf.emulator.findLeadByExternalId('conv-3')).toMatchObject({ LastName: 'C', Industry: null });
    expect(failure('conv-4')?.message).toMatch(/^NumberOfEmployees: must be a whole number/);
    expect(failure('conv-5')?.message).toBe('Shoe_Size__c: no such field on Lead');
    expect(sf.emulator.findLeadByExternalId('conv-2')).toBeUndefined();
    // token, describe, one Collections call: the bad values never reached Salesforce.
    const made = sf.calls().slice(before);
    expect(made.filter((call) => call.includes('composite'))).toHaveLength(1);
  });

  it('a record without LastName or Company only updates: a new key fails naming the fields, an existing one is written', async () => {
    const sf = await start();
    const adapter = refreshAdapter(sf);
    await upsert(adapter, [{ key: 'req-existing', properties: leadProperties(1) }]);
    const results = byKey(
      await upsert(adapter, [
        { key: 'req-existing', properties: { Title: 'CTO' } },
        { key: 'req-new', properties: { Title: 'CEO', LastName: 'Only' } },
      ]),
    );
    expect(results.get('req-existing')?.status).toBe('updated');
    expect(sf.emulator.findLeadByExternalId('req-existing')).toMatchObject({
      Title: 'CTO',
      LastName: 'Lovelace1',
    });
    const failed = results.get('req-new');
    expect(failed?.status).toBe('failed');
    if (failed?.status === 'failed') {
      expect(failed.error).toMatchObject({
        code: 'validation_failed',
        vendorCode: 'REQUIRED_FIELD_MISSING',
        retryable: false,
      });
      expect(failed.error.message).toBe('Company: required to create a Lead, and no Lead has this key yet');
    }
    expect(sf.emulator.findLeadByExternalId('req-new')).toBeUndefined();
  });

  it('rejects an idProperty that is not an External ID, and an oversized call, sending nothing', async () => {
    const sf = await start();
    const adapter = refreshAdapter(sf, { maxBatchSize: 5 });
    await upsert(adapter, records(1, 'warm'));
    const before = sf.instance.requests.all().length;
    const wrongId = await adapter
      .doUpsert({ object: 'Lead', idProperty: 'Email', records: records(1, 'x') }, {})
      .catch((error: unknown) => error);
    expect(ValidationError.isInstance(wrongId) && wrongId.issues[0]?.field).toBe('idProperty');
    const tooMany = await upsert(adapter, records(6, 'y')).catch((error: unknown) => error);
    expect(ValidationError.isInstance(tooMany) && tooMany.issues[0]?.field).toBe('records');
    const injection = await adapter
      .doGet(
        { object: 'Lead', idProperty: 'Lead_Key__c', keys: ['a'], properties: ['Email FROM Lead--'] },
        {},
      )
      .catch((error: unknown) => error);
    expect(ValidationError.isInstance(injection)).toBe(true);
    expect(sf.instance.requests.all().length).toBe(before);
  });
});

describe('Bulk API 2.0', () => {
  it('sends 2,500 records as one job, maps unordered results back by key, and re-running creates nothing', async () => {
    const sf = await start({ bulkStartDelayMs: 0, partialFailureRate: 0.02 }, { msPerRequest: 50 });
    const adapter = refreshAdapter(sf);
    const batch = records(2500, 'bulk');
    const results = await upsert(adapter, batch);
    expect(results.map((result) => result.key)).toEqual(batch.map((record) => record.key));
    const created = results.filter((result) => result.status === 'created');
    const locked = results.filter((result) => result.status === 'failed');
    expect(locked.length).toBeGreaterThan(0);
    for (const result of locked) {
      expect(result.status === 'failed' && result.error).toMatchObject({
        code: 'locked',
        retryable: true,
        vendorCode: 'UNABLE_TO_LOCK_ROW',
      });
    }
    expect(created.length + locked.length).toBe(2500);
    for (const result of created.slice(0, 50)) {
      const lead = sf.emulator.findLeadByExternalId(result.key);
      expect(result.status === 'created' && result.id).toBe(lead?.Id);
    }
    const calls = sf.calls().filter((call) => call.includes('/jobs/ingest'));
    expect(calls.slice(0, 3)).toEqual([
      'POST /services/data/v62.0/jobs/ingest',
      'PUT /services/data/v62.0/jobs/ingest/:id/batches',
      'PATCH /services/data/v62.0/jobs/ingest/:id',
    ]);
    expect(calls.slice(-3).map((call) => call.split('/').at(-1))).toEqual([
      'successfulResults',
      'failedResults',
      'unprocessedrecords',
    ]);
    sf.emulator.setPartialFailureRate(0);
    const retry = await upsert(
      adapter,
      batch.filter((record) => locked.some((result) => result.key === record.key)),
    );
    expect(retry.every((result) => result.status === 'created')).toBe(true);
    const again = await upsert(adapter, batch);
    expect(again.every((result) => result.status === 'updated')).toBe(true);
    expect(sf.emulator.leads()).toHaveLength(2500);
  });

  it('a poll timeout is not a failure: the job is kept and the next call reads its results without uploading again', async () => {
    const sf = await start({ bulkStartDelayMs: 60_000 });
    const store = createMemoryBulkJobStore();
    const adapter = refreshAdapter(sf, { bulkThreshold: 10, bulkPollTimeoutMs: 20, jobStore: store });
    const batch = records(30, 'slow');
    const first = await upsert(adapter, batch);
    for (const result of first) {
      expect(result.status === 'failed' && result.error).toMatchObject({
        code: 'timeout',
        vendorCode: 'BULK_JOB_PENDING',
        retryable: true,
      });
    }
    expect(store.size).toBe(1);
    expect(sf.emulator.jobs()).toHaveLength(1);
    // The org finishes the job meanwhile.
    sf.advance(120_000);
    const second = await upsert(adapter, [...batch].reverse());
    expect(second.every((result) => result.status === 'created')).toBe(true);
    expect(sf.emulator.jobs()).toHaveLength(1);
    expect(sf.calls().filter((call) => call.endsWith('/batches'))).toHaveLength(1);
    expect(store.size).toBe(0);
    expect(sf.emulator.leads()).toHaveLength(30);
  });

  it('an aborted poll rejects aborted and leaves the job to resume', async () => {
    const sf = await start({ bulkStartDelayMs: 60_000 });
    const store = createMemoryBulkJobStore();
    const adapter = refreshAdapter(sf, { bulkThreshold: 5, bulkPollIntervalMs: 5, jobStore: store });
    const controller = new AbortController();
    const pending = upsert(adapter, records(5, 'abort'), { signal: controller.signal });
    // Abort while the adapter polls: once the job is uploaded and closed.
    while (sf.emulator.jobs()[0]?.state !== 'UploadComplete')
      await new Promise((resolve) => setTimeout(resolve, 2));
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'aborted' });
    expect(store.size).toBe(1);
    sf.advance(120_000);
    const results = await upsert(adapter, records(5, 'abort'));
    expect(results.every((result) => result.status === 'created')).toBe(true);
    expect(sf.emulator.jobs()).toHaveLength(1);
  });
  it('a job left Open by a failed upload is aborted and replaced on the retry, never uploaded twice into one job', async () => {
    const sf = await start({ bulkStartDelayMs: 0 }, { msPerRequest: 100 });
    let failUpload = true;
    const adapter = refreshAdapter(sf, {
      bulkThreshold: 5,
      fetch: async (input, init) => {
        const request = new Request(input, init);
        if (request.method === 'PUT' && failUpload) {
          failUpload = false;
          return new Response(
            JSON.stringify([{ errorCode: 'UNKNOWN_EXCEPTION', message: 'upload failed' }]),
            {
              status: 500,
              headers: { 'content-type': 'application/json' },
            },
          );
        }
        return fetch(request);
      },
    });
    const batch = records(8, 'open');
    await expect(upsert(adapter, batch)).rejects.toMatchObject({ code: 'server_error', isRetryable: true });
    const results = await upsert(adapter, batch);
    expect(results.every((result) => result.status === 'created')).toBe(true);
    expect(sf.emulator.jobs().map((job) => job.state)).toEqual(['Aborted', 'JobComplete']);
    expect(sf.emulator.leads()).toHaveLength(8);
  });

  it('through createCrmSync, a job still running when the poll times out is resumed by the retry', async () => {
    const sf = await start({ bulkStartDelayMs: 30_000 }, { msPerRequest: 10_000 });
    let tick = 0;
    // Each reading of the adapter's clock is one second later: one poll per call, then the timeout.
    const adapter = refreshAdapter(sf, {
      bulkThreshold: 100,
      bulkPollTimeoutMs: 1500,
      now: () => (tick += 1000),
    });
    const mapping = defineFieldMapping({
      object: 'Lead',
      idProperty: { from: 'email', to: 'Lead_Key__c' },
      fields: [
        { from: 'lastName', to: 'LastName' },
        { from: 'company.name', to: 'Company' },
      ],
    });
    const input = Array.from({ length: 300 }, (_, index) =>
      createLead({
        email: `pending${index}@resume.example`,
        lastName: `L${index}`,
        company: { name: 'Resume Co' },
      }),
    );
    const sync = createCrmSync({
      crms: [{ adapter, mapping }],
      retry: { retries: 8, minTimeoutMs: 1, maxTimeoutMs: 2 },
    });
    const report = await sync.sync(input);
    await sync.close();
    expect(report.crms[0]).toMatchObject({ created: 300, deadLettered: 0 });
    expect(report.crms[0]?.retried).toBeGreaterThan(0);
    expect(sf.emulator.jobs()).toHaveLength(1);
    expect(sf.calls().filter((call) => call.endsWith('/batches'))).toHaveLength(1);
    expect(sf.emulator.leads()).toHaveLength(300);
  });
});

describe('limits', () => {
  it('reads Sforce-Limit-Info into a day window, and REQUEST_LIMIT_EXCEEDED stops calls until the cooldown ends', async () => {
    const sf = await start({ dailyApiRequests: 6 });
    let clock = Date.UTC(2026, 0, 1);
    const adapter = refreshAdapter(sf, { now: () => clock, quotaCooldownMs: 60_000 });
    const states: RateLimitState[] = [];
    await adapter.doUpsert(
      { object: 'Lead', idProperty: 'Lead_Key__c', records: records(1, 'limit') },
      { onRateLimit: (state) => states.push(state) },
    );
    expect(states.at(-1)?.windows[0]).toMatchObject({ name: 'day', limit: 6 });
    const remainingBefore = states.at(-1)?.windows[0]?.remaining ?? 0;
    expect(remainingBefore).toBeLessThan(6);
    let error: unknown;
    for (let attempt = 0; attempt < 10 && error === undefined; attempt++) {
      error = await upsert(adapter, records(1, `limit-${attempt}`)).then(
        () => undefined,
        (failure: unknown) => failure,
      );
    }
    expect(error).toMatchObject({
      code: 'quota_exceeded',
      vendorCode: 'REQUEST_LIMIT_EXCEEDED',
      isRetryable: false,
      retryAfterMs: 60_000,
    });
    const sent = sf.instance.requests.all().length;
    const stopped = await upsert(adapter, records(1, 'limit-stopped')).catch((failure: unknown) => failure);
    expect(stopped).toMatchObject({ code: 'quota_exceeded' });
    expect(sf.instance.requests.all().length).toBe(sent);
    sf.emulator.setDailyApiRequests(1000);
    clock += 60_001;
    const [after] = await upsert(adapter, records(1, 'limit-after'));
    expect(after?.status).toBe('created');
  });

  it('a REQUEST_LIMIT_EXCEEDED without usage figures is checked with one GET /limits: requests left is a wait, none left stops calls', async () => {
    const sf = await start();
    const canned = cannedFetch();
    const adapter = refreshAdapter(sf, {
      fetch: canned.fetch,
      quotaCooldownMs: 60_000,
      concurrencyBackoffMs: 250,
    });
    await upsert(adapter, records(1, 'probe-warm'));
    // A refusal with no Sforce-Limit-Info (a proxy dropped it) for each of the three Collections requests.
    const refusal = {
      body: [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }],
    };
    canned.backend.respondWith(403, refusal, 3);
    const transient = await upsert(adapter, records(450, 'probe-left')).catch((failure: unknown) => failure);
    expect(transient).toMatchObject({ code: 'rate_limited', isRetryable: true, retryAfterMs: 250 });
    expect(adapter.stats().limitProbes).toBe(1);
    expect(canned.calls.filter((call) => call.path.endsWith('/limits'))).toHaveLength(1);
    // Nothing was stopped: the next call is sent and written.
    const [next] = await upsert(adapter, records(1, 'probe-next'));
    expect(next?.status).toBe('created');

    // Now the org really is out: /limits itself is refused, with the usage on the refusal.
    sf.emulator.setDailyApiRequests(sf.emulator.apiUsage().used);
    canned.backend.respondWith(403, refusal);
    const spent = await upsert(adapter, records(1, 'probe-spent')).catch((failure: unknown) => failure);
    expect(spent).toMatchObject({ code: 'quota_exceeded', isRetryable: false, retryAfterMs: 60_000 });
    expect((spent as Error).message).toMatch(/\d+\/\d+ in the last 24 hours/);
    expect(adapter.stats().limitProbes).toBe(2);
    const sent = canned.calls.length;
    const stopped = await upsert(adapter, records(1, 'probe-stopped')).catch((failure: unknown) => failure);
    expect(stopped).toMatchObject({ code: 'quota_exceeded' });
    expect(canned.calls.length).toBe(sent);
  });

  it('keeps at most maxConcurrentRequests Collections calls in flight', async () => {
    const sf = await start({ responseDelayMs: 0 });
    const adapter = refreshAdapter(sf, { maxConcurrentRequests: 2 });
    const results = await upsert(adapter, records(1500, 'conc'));
    expect(results.every((result) => result.status === 'created')).toBe(true);
    expect(sf.calls().filter((call) => call.includes('composite'))).toHaveLength(8);
    expect(adapter.stats().peakConcurrency).toBe(2);
  });

  it('a Collections chunk failing with a 5xx fails only its records, retryable', async () => {
    const sf = await start();
    const adapter = refreshAdapter(sf, { maxConcurrentRequests: 1 });
    await upsert(adapter, records(1, 'warm'));
    sf.instance.faults.queue('serverError', 1);
    const results = await upsert(adapter, records(400, 'chunk'));
    const failed = results.filter((result) => result.status === 'failed');
    expect(failed).toHaveLength(200);
    expect(failed[0]?.status === 'failed' && failed[0].error).toMatchObject({
      code: 'server_error',
      retryable: true,
    });
    expect(sf.emulator.leads()).toHaveLength(201);
  });
});

describe('every fault the emulator injects, on one call', () => {
  it.each([
    { fault: 'serverError', code: 'server_error', retryable: true },
    { fault: 'hang', code: 'timeout', retryable: true },
    { fault: 'connectionReset', code: 'network_error', retryable: true },
    { fault: 'malformedJson', code: 'invalid_response', retryable: true },
    // An injected REQUEST_LIMIT_EXCEEDED carries the org's usage (far from its allocation): a wait, not a quota.
    { fault: 'rateLimited', code: 'rate_limited', retryable: true },
  ] as const)('$fault rejects the whole call with $code', async ({ fault, code, retryable }) => {
    const sf = await start();
    const adapter = refreshAdapter(sf, { timeoutMs: 100 });
    await upsert(adapter, records(1, 'warm'));
    sf.instance.faults.queue(fault);
    const error = await upsert(adapter, records(2, 'fault')).catch((failure: unknown) => failure);
    expect(ApiCallError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code, isRetryable: retryable, providerId: 'salesforce' });
    if (fault !== 'malformedJson') expect(sf.emulator.findLeadByExternalId('fault-0')).toBeUndefined();
  });

  it('expiredToken renews the session and the call succeeds', async () => {
    const sf = await start();
    const adapter = refreshAdapter(sf);
    await upsert(adapter, records(1, 'warm'));
    sf.instance.faults.queue('expiredToken');
    const results = await upsert(adapter, records(2, 'expired'));
    expect(results.map((result) => result.status)).toEqual(['created', 'created']);
    expect(adapter.stats().tokenRequests).toBe(2);
  });

  it('UNABLE_TO_LOCK_ROW on Collections records is a retryable locked failure of those records only', async () => {
    const sf = await start({ partialFailureRate: 0.2 });
    const adapter = refreshAdapter(sf);
    const results = await upsert(adapter, records(100, 'lock'));
    const failed = results.filter((result) => result.status === 'failed');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.length).toBeLessThan(100);
    for (const result of failed) {
      expect(result.status === 'failed' && result.error).toMatchObject({ code: 'locked', retryable: true });
      expect(sf.emulator.findLeadByExternalId(result.key)).toBeUndefined();
    }
  });
});

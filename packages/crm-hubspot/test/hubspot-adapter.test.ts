import { type ApiCallError, ConfigurationError, type RateLimitState, ValidationError } from '@leadpipe/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHubspot, type HubspotSettings } from '../src/index.js';
import { cannedFetch, createContactProperty, type HubspotFixture, startHubspot } from './support.js';

let hub: HubspotFixture;

beforeAll(async () => {
  hub = await startHubspot({ seed: 3, limits: { hubspot: { tenSecondly: 10_000, daily: 1_000_000 } } });
});
afterAll(() => hub.close());
beforeEach(() => {
  hub.instance.reset();
  hub.emulator.setFaults({});
});

const adapter = (settings: HubspotSettings = {}) =>
  createHubspot({ accessToken: hub.token, baseUrl: hub.baseUrl, now: hub.now, ...settings });

const contacts = (count: number, prefix = 'c') =>
  Array.from({ length: count }, (_, index) => ({
    key: `${prefix}${index}@acme-adapter.example`,
    properties: { firstname: `First${index}`, lastname: `Last${index}` },
  }));

describe('doUpsert', () => {
  it('upserts 100 contacts in one batch call, then updates them on a second run without creating any', async () => {
    const hubspot = adapter();
    const records = contacts(100);
    const first = await hubspot.doUpsert({ object: 'contacts', idProperty: 'email', records }, {});
    expect(first.map((result) => result.status)).toEqual(Array(100).fill('created'));
    expect(hub.emulator.contacts()).toHaveLength(100);
    const second = await hubspot.doUpsert({ object: 'contacts', idProperty: 'email', records }, {});
    expect(second.map((result) => result.status)).toEqual(Array(100).fill('updated'));
    expect(second.map((result) => (result.status === 'failed' ? '' : result.id))).toEqual(
      first.map((result) => (result.status === 'failed' ? '' : result.id)),
    );
    expect(hub.emulator.contacts()).toHaveLength(100);
    expect(hub.instance.requests.find('POST', '/crm/v3/objects/contacts/batch/upsert')).toHaveLength(2);
  });

  it('reads a 207 record by record: the invalid email fails permanently, the others are written', async () => {
    const records = [...contacts(2), { key: 'not-an-email', properties: { firstname: 'Bad' } }];
    const results = await adapter().doUpsert({ object: 'contacts', idProperty: 'email', records }, {});
    expect(results[0]).toMatchObject({ key: records[0]!.key, status: 'created' });
    expect(results[1]).toMatchObject({ key: records[1]!.key, status: 'created' });
    expect(results[2]).toMatchObject({
      key: 'not-an-email',
      status: 'failed',
      error: { code: 'validation_failed', retryable: false, vendorCode: 'VALIDATION_ERROR' },
    });
    expect(hub.emulator.contacts()).toHaveLength(2);
  });

  it('marks records failed by an injected 5xx-class per-record error as retryable', async () => {
    hub.emulator.setFaults({ partialFailureRate: 1, partialFailureCategory: 'INTERNAL_ERROR' });
    const results = await adapter().doUpsert(
      { object: 'contacts', idProperty: 'email', records: contacts(3) },
      {},
    );
    for (const result of results) {
      expect(result).toMatchObject({ status: 'failed', error: { code: 'server_error', retryable: true } });
    }
    expect(hub.emulator.contacts()).toHaveLength(0);
  });

  it('gives a 207 error that names no record to the records left without a result, as retryable', async () => {
    const canned = cannedFetch();
    canned.backend.respondWith(207, {
      body: {
        status: 'COMPLETE',
        results: [{ id: '901', new: true, properties: { email: 'c0@acme-adapter.example' } }],
        numErrors: 1,
        errors: [
          { status: 'error', category: 'VALIDATION_ERROR', message: 'Property values were not valid' },
        ],
      },
    });
    const results = await adapter({ fetch: canned.fetch }).doUpsert(
      { object: 'contacts', idProperty: 'email', records: contacts(2) },
      {},
    );
    expect(results[0]).toEqual({ key: 'c0@acme-adapter.example', status: 'created', id: '901' });
    expect(results[1]).toMatchObject({
      status: 'failed',
      error: { code: 'validation_failed', retryable: true, vendorCode: 'VALIDATION_ERROR' },
    });
  });

  it('fails the second of two keys that HubSpot would treat as one, and sends the first', async () => {
    const canned = cannedFetch();
    const records = [
      { key: 'Dup@Acme-Adapter.example', properties: { firstname: 'A' } },
      { key: 'dup@acme-adapter.example', properties: { firstname: 'B' } },
    ];
    const results = await adapter({ fetch: canned.fetch }).doUpsert(
      { object: 'contacts', idProperty: 'email', records },
      {},
    );
    expect(results[0]).toMatchObject({ status: 'created' });
    expect(results[1]).toMatchObject({
      status: 'failed',
      error: { code: 'duplicate_key', retryable: false },
    });
    expect(canned.calls).toHaveLength(1);
    expect(JSON.parse(canned.calls[0]!.body ?? '{}').inputs).toHaveLength(1);
  });

  it('refuses more than 100 records with a ValidationError naming records, sending nothing', async () => {
    const canned = cannedFetch();
    const error = await adapter({ fetch: canned.fetch })
      .doUpsert({ object: 'contacts', idProperty: 'email', records: contacts(101) }, {})
      .catch((caught: unknown) => caught);
    expect(ValidationError.isInstance(error)).toBe(true);
    expect((error as ValidationError).issues[0]).toMatchObject({ field: 'records' });
    expect(canned.calls).toHaveLength(0);
  });

  it('refuses an unknown object with a ValidationError naming object', async () => {
    const error = await adapter()
      .doUpsert({ object: 'deals', idProperty: 'email', records: contacts(1) }, {})
      .catch((caught: unknown) => caught);
    expect((error as ValidationError).issues).toEqual([
      { field: 'object', reason: 'must be one of contacts, companies, got "deals"' },
    ]);
  });
});

describe('the idProperty check', () => {
  it('accepts a custom property with hasUniqueValue, checked once through the Properties API', async () => {
    await createContactProperty(hub, 'crm_key', true);
    const canned = cannedFetch();
    const hubspot = adapter({ fetch: canned.fetch });
    const records = [{ key: 'K-1', properties: { firstname: 'Kay' } }];
    await hubspot.doUpsert({ object: 'contacts', idProperty: 'crm_key', records }, {});
    await hubspot.doUpsert({ object: 'contacts', idProperty: 'crm_key', records }, {});
    expect(canned.calls.filter((call) => call.path === '/crm/v3/properties/contacts')).toHaveLength(1);
    expect(hub.emulator.contacts().map((contact) => contact.properties.crm_key)).toEqual(['K-1']);
  });

  it('refuses a property without hasUniqueValue before writing anything', async () => {
    await createContactProperty(hub, 'loose_key', false);
    const canned = cannedFetch();
    const error = await adapter({ fetch: canned.fetch })
      .doUpsert({ object: 'contacts', idProperty: 'loose_key', records: [{ key: 'x', properties: {} }] }, {})
      .catch((caught: unknown) => caught);
    expect(ConfigurationError.isInstance(error)).toBe(true);
    expect((error as ConfigurationError).message).toMatch(/^idProperty: "loose_key" .*hasUniqueValue/);
    expect(canned.calls.map((call) => call.path)).toEqual(['/crm/v3/properties/contacts']);
  });

  it('refuses a property that does not exist, and hs_object_id, which cannot create records', async () => {
    const hubspot = adapter();
    const missing = await hubspot
      .checkIdProperty('contacts', 'no_such_key')
      .catch((caught: unknown) => caught);
    expect((missing as ConfigurationError).message).toMatch(/^idProperty: "no_such_key" is not a property/);
    const byId = await hubspot.checkIdProperty('contacts', 'hs_object_id').catch((caught: unknown) => caught);
    expect((byId as ConfigurationError).code).toBe('invalid_configuration');
  });

  it('discovers custom properties through the Properties API', async () => {
    await createContactProperty(hub, 'favourite_colour', false);
    const properties = await adapter().properties('contacts');
    expect(properties.find((property) => property.name === 'favourite_colour')).toMatchObject({
      hubspotDefined: false,
      hasUniqueValue: false,
      type: 'string',
    });
    expect(properties.find((property) => property.name === 'email')?.hubspotDefined).toBe(true);
  });
});

describe('companies', () => {
  it('upserts companies by a custom unique property and reads them back', async () => {
    const response = await fetch(`${hub.baseUrl}/crm/v3/properties/companies`, {
      method: 'POST',
      headers: { authorization: `Bearer ${hub.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'company_key',
        label: 'Key',
        type: 'string',
        fieldType: 'text',
        groupName: 'companyinformation',
        hasUniqueValue: true,
      }),
    });
    expect(response.ok).toBe(true);
    const hubspot = adapter();
    const records = [
      { key: 'acme', properties: { name: 'Acme', domain: 'acme.example' } },
      { key: 'globex', properties: { name: 'Globex', domain: 'globex.example' } },
    ];
    const first = await hubspot.doUpsert({ object: 'companies', idProperty: 'company_key', records }, {});
    expect(first.map((result) => result.status)).toEqual(['created', 'created']);
    await hubspot.doUpsert({ object: 'companies', idProperty: 'company_key', records }, {});
    expect(
      hub.emulator
        .companies()
        .map((company) => company.properties.company_key)
        .sort(),
    ).toEqual(['acme', 'globex']);
    const found = await hubspot.doGet(
      { object: 'companies', idProperty: 'company_key', keys: ['globex'], properties: ['name'] },
      {},
    );
    expect(found).toMatchObject([{ key: 'globex', properties: { name: 'Globex' } }]);
    const contactEmail = await hubspot
      .checkIdProperty('companies', 'email')
      .catch((caught: unknown) => caught);
    expect(ConfigurationError.isInstance(contactEmail)).toBe(true);
  });
});

describe('doGet', () => {
  it('reads existing contacts by email (a 207 for the missing one) and leaves the missing out', async () => {
    const hubspot = adapter();
    await hubspot.doUpsert({ object: 'contacts', idProperty: 'email', records: contacts(2) }, {});
    const found = await hubspot.doGet(
      {
        object: 'contacts',
        idProperty: 'email',
        keys: ['C0@acme-adapter.example', 'c1@acme-adapter.example', 'nobody@acme-adapter.example'],
        properties: ['firstname'],
      },
      {},
    );
    expect(found.map((record) => [record.key, record.properties.firstname])).toEqual([
      ['C0@acme-adapter.example', 'First0'],
      ['c1@acme-adapter.example', 'First1'],
    ]);
    expect(found[0]?.id).toBe(hub.emulator.findContactByEmail('c0@acme-adapter.example')?.id);
  });
});

describe('limits', () => {
  it('passes X-HubSpot-RateLimit-* headers of every answer to onRateLimit', async () => {
    const states: RateLimitState[] = [];
    await adapter().doUpsert(
      { object: 'contacts', idProperty: 'email', records: contacts(1) },
      { onRateLimit: (state) => states.push(state) },
    );
    // The daily headers are the adapter's own business (see the daily tests); the window goes to the limiter.
    expect(states[0]?.windows).toEqual([
      { name: '10s', limit: 10_000, remaining: 9_999, intervalMs: 10_000 },
    ]);
  });

  it('declares the tier limits, and a third of the window when companies are associated', () => {
    expect(adapter({ tier: 'professional' }).capabilities.rateLimits).toEqual({
      windows: [{ name: '10s', limit: 190, intervalMs: 10_000 }],
      perDay: 625_000,
    });
    expect(adapter({ associateCompanies: true }).capabilities.rateLimits.windows?.[0]?.limit).toBe(33);
    expect(() => adapter({ tier: 'gold' as 'free' })).toThrow(/^createHubspot: tier: must be one of/);
    expect(() => adapter({ rateLimits: { tenSecondly: 0 } })).toThrow(
      /^createHubspot: rateLimits\.tenSecondly: must be a positive integer/,
    );
  });

  it('maps a ten-secondly 429 to rate_limited, retryable', async () => {
    const canned = cannedFetch();
    canned.backend.respondWith(429, {
      headers: { 'x-hubspot-ratelimit-max': '100', 'x-hubspot-ratelimit-remaining': '0' },
      body: {
        status: 'error',
        policyName: 'TEN_SECONDLY_ROLLING',
        message: 'You have reached your ten_secondly_rolling limit.',
      },
    });
    const error = await adapter({ fetch: canned.fetch })
      .doUpsert({ object: 'contacts', idProperty: 'email', records: contacts(1) }, {})
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: 'rate_limited',
      isRetryable: true,
      vendorCode: 'TEN_SECONDLY_ROLLING',
    });
    expect((error as ApiCallError).rateLimit?.windows[0]).toMatchObject({ name: '10s', remaining: 0 });
  });

  it('a DAILY 429 is quota_exceeded until midnight in the account time zone; later calls are not sent', async () => {
    const canned = cannedFetch();
    canned.backend.respondWith(429, {
      body: {
        status: 'error',
        message: 'You have reached your daily limit.',
        errorType: 'RATE_LIMIT',
        policyName: 'DAILY',
      },
    });
    const hubspot = adapter({ fetch: canned.fetch, accountTimeZone: 'Etc/GMT+5' });
    const upsert = () =>
      hubspot.doUpsert({ object: 'contacts', idProperty: 'email', records: contacts(1) }, {}).then(
        () => undefined,
        (caught: unknown) => caught,
      );
    const daily = (await upsert()) as ApiCallError;
    const now = hub.now();
    const localMidnight = Math.floor((now - 5 * 3_600_000) / 86_400_000 + 1) * 86_400_000 + 5 * 3_600_000;
    expect(daily).toMatchObject({
      code: 'quota_exceeded',
      isRetryable: false,
      vendorCode: 'DAILY',
      status: 429,
    });
    expect(Math.abs((daily.retryAfterMs ?? 0) - (localMidnight - now))).toBeLessThan(1_000);
    expect(hubspot.dailyLimitResetsAt()).toBeGreaterThan(now);
    const refused = (await upsert()) as ApiCallError;
    expect(refused).toMatchObject({ code: 'quota_exceeded', vendorCode: 'DAILY', isRetryable: false });
    expect(refused.status).toBeUndefined();
    expect(canned.calls).toHaveLength(1);
  });

  it('stops calling once X-HubSpot-RateLimit-Daily-Remaining reaches 0, before any 429', async () => {
    const limited = await startHubspot({ seed: 5, limits: { hubspot: { daily: 2 } } });
    try {
      const hubspot = createHubspot({
        accessToken: limited.token,
        baseUrl: limited.baseUrl,
        now: limited.now,
      });
      const upsert = () =>
        hubspot.doUpsert({ object: 'contacts', idProperty: 'email', records: contacts(1) }, {}).then(
          () => undefined,
          (caught: unknown) => caught,
        );
      expect(await upsert()).toBeUndefined();
      expect(await upsert()).toBeUndefined();
      expect(await upsert()).toMatchObject({
        code: 'quota_exceeded',
        vendorCode: 'DAILY',
        status: undefined,
      });
      expect(limited.instance.counters.get('hubspot.calls')).toBe(2);
      expect(limited.instance.counters.get('hubspot.429')).toBe(0);
    } finally {
      await limited.close();
    }
  });
});

describe('association with companies by domain', () => {
  it('associates contacts with the existing company of their email domain, and skips free-mail domains', async () => {
    const [company] = hub.emulator.seed('companies', [{ name: 'Acme', domain: 'acme-assoc.example' }]);
    const hubspot = adapter({ associateCompanies: true });
    const results = await hubspot.doUpsert(
      {
        object: 'contacts',
        idProperty: 'email',
        records: [
          { key: 'ada@acme-assoc.example', properties: { firstname: 'Ada' } },
          { key: 'bob@gmail.com', properties: { firstname: 'Bob' } },
          { key: 'cy@no-company.example', properties: { firstname: 'Cy' } },
        ],
      },
      {},
    );
    const ada = results[0]!;
    expect(ada.status).toBe('created');
    expect(hub.emulator.associations()).toEqual([
      { contactId: ada.status === 'created' ? ada.id : '', companyId: company!.id, typeIds: [279] },
    ]);
    // Running it again adds nothing: the default association is idempotent.
    await hubspot.doUpsert(
      {
        object: 'contacts',
        idProperty: 'email',
        records: [{ key: 'ada@acme-assoc.example', properties: {} }],
      },
      {},
    );
    expect(hub.emulator.associations()).toHaveLength(1);
    expect(hub.emulator.companies()).toHaveLength(1);
  });
});

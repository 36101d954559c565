import { ConfigurationError } from '@leadpipe/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEmulatorContext } from '../src/emulator/create-context.js';
import { createHubspotEmulator } from '../src/vendors/hubspot/index.js';
import { type ApiReply, apiClient, manualClock, type Served, serveApp } from './hubspot-support.js';

type Result = {
  id: string;
  new?: boolean;
  properties: Record<string, string | null>;
  objectWriteTraceId?: string;
};
type BatchError = { status: string; category: string; message: string; context?: Record<string, string[]> };
const results = (reply: ApiReply) => reply.body.results as Result[];
const errors = (reply: ApiReply) => reply.body.errors as BatchError[];
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('HubSpot emulator over plain HTTP', () => {
  const clock = manualClock();
  const context = createEmulatorContext({ seed: 3, realNow: clock.realNow });
  const emulator = createHubspotEmulator(context, {
    rateLimits: { tenSecondly: 10_000, searchPerSecond: 10_000 },
  });
  let served: Served;
  let api: ReturnType<typeof apiClient>;

  beforeAll(async () => {
    served = await serveApp(emulator.app);
    api = apiClient(served.baseUrl, emulator.credentials.privateAppToken);
  });
  afterAll(async () => {
    await served.close();
  });
  beforeEach(() => {
    emulator.reset();
    emulator.setFaults({});
    context.counters.reset();
  });

  describe('batch upsert', () => {
    it('answers 200 with status, results carrying `new`, and the batch timestamps', async () => {
      emulator.seed('contacts', [{ email: 'known@example.com', firstname: 'Known' }]);
      const reply = await api('POST', '/crm/v3/objects/contacts/batch/upsert', {
        inputs: [
          { id: 'known@example.com', idProperty: 'email', properties: { lastname: 'Person' } },
          { id: 'fresh@example.com', idProperty: 'email', properties: { firstname: 'Fresh' } },
        ],
      });
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ status: 'COMPLETE' });
      expect(reply.body).not.toHaveProperty('errors');
      expect(reply.body.requestedAt).toMatch(ISO);
      expect(reply.body.startedAt).toMatch(ISO);
      expect(reply.body.completedAt).toMatch(ISO);
      const byEmail = new Map(results(reply).map((result) => [result.properties.email, result]));
      expect(byEmail.get('known@example.com')?.new).toBe(false);
      expect(byEmail.get('fresh@example.com')?.new).toBe(true);
      expect(byEmail.get('fresh@example.com')?.properties.hs_object_id).toBe(
        byEmail.get('fresh@example.com')?.id,
      );
      expect(emulator.findContactByEmail('known@example.com')?.properties.lastname).toBe('Person');
      expect(context.counters.get('hubspot.created')).toBe(1);
      expect(context.counters.get('hubspot.updated')).toBe(1);
      expect(context.counters.get('hubspot.endpoint.POST /crm/v3/objects/contacts/batch/upsert')).toBe(1);
    });

    it('also answers on the date-versioned path', async () => {
      const reply = await api('POST', '/crm/objects/2026-03/contacts/batch/upsert', {
        inputs: [{ id: 'dated@example.com', idProperty: 'email', properties: {} }],
      });
      expect(reply.status).toBe(200);
      expect(emulator.findContactByEmail('dated@example.com')).toBeDefined();
    });

    it('answers 207 with per-record errors when injected partial failures hit some inputs, writing only the rest', async () => {
      emulator.setFaults({ partialFailureRate: 0.5 });
      const inputs = Array.from({ length: 40 }, (_unused, index) => ({
        id: `user${index}@example.com`,
        idProperty: 'email',
        properties: { firstname: `U${index}` },
      }));
      const reply = await api('POST', '/crm/v3/objects/contacts/batch/upsert', { inputs });
      expect(reply.status).toBe(207);
      expect(reply.body.status).toBe('COMPLETE');
      const failed = errors(reply);
      expect(failed.length).toBeGreaterThan(0);
      expect(failed.length).toBeLessThan(40);
      expect(reply.body.numErrors).toBe(failed.length);
      expect(results(reply).length + failed.length).toBe(40);
      for (const error of failed) {
        expect(error).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
        expect(error.context?.ids).toHaveLength(1);
      }
      const failedEmails = new Set(failed.map((error) => error.context?.ids?.[0]));
      expect(
        emulator
          .contacts()
          .map((contact) => contact.properties.email)
          .sort(),
      ).toEqual(
        inputs
          .map((input) => input.id)
          .filter((email) => !failedEmails.has(email))
          .sort(),
      );
      expect(context.counters.get('hubspot.207')).toBe(1);
    });

    it('refuses an idProperty without hasUniqueValue, and accepts one created with it', async () => {
      const nonUnique = await api('POST', '/crm/v3/objects/contacts/batch/upsert', {
        inputs: [{ id: 'Ada', idProperty: 'firstname', properties: {} }],
      });
      expect(nonUnique.status).toBe(400);
      expect(nonUnique.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
      expect(nonUnique.body.message).toContain('Unable to perform update/upsert by non-unique 0-1 property');

      const created = await api('POST', '/crm/v3/properties/contacts', {
        name: 'external_id',
        label: 'External id',
        type: 'string',
        fieldType: 'text',
        groupName: 'contactinformation',
        hasUniqueValue: true,
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        name: 'external_id',
        hasUniqueValue: true,
        hubspotDefined: false,
      });
      const fetched = await api('GET', '/crm/v3/properties/contacts/external_id');
      expect(fetched.body.hasUniqueValue).toBe(true);

      const upsert = await api('POST', '/crm/v3/objects/contacts/batch/upsert', {
        inputs: [{ id: 'ext-1', idProperty: 'external_id', properties: { email: 'ext@example.com' } }],
      });
      expect(upsert.status).toBe(200);
      expect(results(upsert)[0]?.new).toBe(true);
      expect(emulator.findContactByEmail('ext@example.com')?.properties.external_id).toBe('ext-1');

      const second = await api('POST', '/crm/v3/objects/contacts/batch/upsert', {
        inputs: [{ id: 'ext-1', idProperty: 'external_id', properties: { firstname: 'Ext' } }],
      });
      expect(results(second)[0]?.new).toBe(false);
      expect(emulator.contacts()).toHaveLength(1);
    });

    it('rejects two inputs for the same record in one batch, writing nothing', async () => {
      const reply = await api('POST', '/crm/v3/objects/contacts/batch/upsert', {
        inputs: [
          { id: 'twice@example.com', idProperty: 'email', properties: { firstname: 'A' } },
          { id: 'TWICE@example.com', idProperty: 'email', properties: { firstname: 'B' } },
        ],
      });
      expect(reply.status).toBe(400);
      expect(reply.body.message).toContain('Duplicate IDs found in batch input');
      expect(emulator.contacts()).toHaveLength(0);
      expect(context.counters.get('hubspot.duplicates')).toBe(1);
    });

    it('caps a batch at 100 inputs', async () => {
      const inputs = Array.from({ length: 101 }, (_unused, index) => ({
        id: `cap${index}@example.com`,
        idProperty: 'email',
        properties: {},
      }));
      const reply = await api('POST', '/crm/v3/objects/contacts/batch/upsert', { inputs });
      expect(reply.status).toBe(400);
      expect(reply.body.message).toContain('Maximum allowed: 100');
      expect(emulator.contacts()).toHaveLength(0);
    });

    it('with multiStatus objectWriteTraceId, a failing input without trace ids fails the whole batch', async () => {
      const strict = createHubspotEmulator(createEmulatorContext({ seed: 3 }), {
        multiStatus: 'objectWriteTraceId',
      });
      const call = (body: unknown) =>
        strict.app.request('/crm/v3/objects/contacts/batch/upsert', {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${strict.credentials.privateAppToken}`,
            'Content-Type': 'application/json',
          },
          body: JSON.stringify(body),
        });
      const bad = { id: 'bad@example.com', idProperty: 'email', properties: { nope: 'x' } };
      const good = { id: 'good@example.com', idProperty: 'email', properties: {} };
      const whole = await call({ inputs: [good, bad] });
      expect(whole.status).toBe(400);
      expect(strict.contacts()).toHaveLength(0);
      const traced = await call({
        inputs: [
          { ...good, objectWriteTraceId: 't1' },
          { ...bad, objectWriteTraceId: 't2' },
        ],
      });
      expect(traced.status).toBe(207);
      const body = (await traced.json()) as { errors: BatchError[]; results: Result[] };
      expect(body.errors[0]?.context?.objectWriteTraceId).toEqual(['t2']);
      expect(body.results[0]?.objectWriteTraceId).toBe('t1');
      expect(strict.contacts().map((contact) => contact.properties.email)).toEqual(['good@example.com']);
    });
  });

  describe('batch update', () => {
    it('updates by id (200) and reports unknown ids per record (207), counting updates', async () => {
      const [first, second] = emulator.seed('contacts', [
        { email: 'u1@example.com' },
        { email: 'u2@example.com' },
      ]);
      const ok = await api('POST', '/crm/v3/objects/contacts/batch/update', {
        inputs: [
          { id: first?.id, properties: { firstname: 'One' } },
          { id: 'u2@example.com', idProperty: 'email', properties: { firstname: 'Two' } },
        ],
      });
      expect(ok.status).toBe(200);
      expect(results(ok).map((result) => result.new)).toEqual([undefined, undefined]);
      expect(emulator.contacts().map((contact) => contact.properties.firstname)).toEqual(['One', 'Two']);
      expect(context.counters.get('hubspot.updated')).toBe(2);

      const partial = await api('POST', '/crm/v3/objects/contacts/batch/update', {
        inputs: [
          { id: second?.id, properties: { lastname: 'Second' } },
          { id: '424242', properties: { lastname: 'Ghost' } },
        ],
      });
      expect(partial.status).toBe(207);
      expect(errors(partial)).toEqual([
        expect.objectContaining({
          status: 'error',
          category: 'OBJECT_NOT_FOUND',
          context: { ids: ['424242'] },
        }),
      ]);
      expect(emulator.contacts()).toHaveLength(2);
      expect(emulator.findContactByEmail('u2@example.com')?.properties.lastname).toBe('Second');
    });
  });

  describe('state, counters and determinism', () => {
    it('counts every call, per endpoint, and forgets records and tokens on reset', async () => {
      await api('POST', '/crm/v3/objects/contacts', { properties: { email: 'count@example.com' } });
      await api('POST', '/crm/v3/objects/companies', {
        properties: { name: 'Counted', domain: 'counted.com' },
      });
      await api('GET', '/crm/v3/objects/contacts');
      expect(context.counters.get('hubspot.calls')).toBe(3);
      expect(context.counters.get('hubspot.endpoint.POST /crm/v3/objects/contacts')).toBe(1);
      expect(context.counters.get('hubspot.endpoint.POST /crm/v3/objects/companies')).toBe(1);
      expect(context.counters.get('hubspot.endpoint.GET /crm/v3/objects/contacts')).toBe(1);
      expect(context.counters.get('hubspot.created')).toBe(2);
      expect(emulator.companies().map((company) => company.properties.domain)).toEqual(['counted.com']);

      const code = emulator.issueAuthorizationCode();
      emulator.reset();
      expect(emulator.contacts()).toEqual([]);
      expect(emulator.companies()).toEqual([]);
      const exchange = await fetch(`${served.baseUrl}/oauth/v1/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          client_id: emulator.credentials.clientId,
          client_secret: emulator.credentials.clientSecret,
          redirect_uri: emulator.credentials.redirectUri,
          code,
        }),
      });
      expect(exchange.status).toBe(400);
    });

    it('derives credentials and record ids from the seed', async () => {
      const make = (seed: number) => createHubspotEmulator(createEmulatorContext({ seed }));
      const [one, two, other] = [make(11), make(11), make(12)];
      expect(one.credentials).toEqual(two.credentials);
      expect(one.credentials.privateAppToken).toMatch(/^pat-na1-[0-9a-f-]{36}$/);
      expect(other.credentials.privateAppToken).not.toBe(one.credentials.privateAppToken);
      expect(one.seed('contacts', [{ email: 'same@example.com' }])[0]?.id).toBe(
        two.seed('contacts', [{ email: 'same@example.com' }])[0]?.id,
      );
    });

    it('lists the property definitions, built-in and custom', async () => {
      await api('POST', '/crm/v3/properties/companies', {
        name: 'crm_key',
        label: 'CRM key',
        type: 'string',
        fieldType: 'text',
        groupName: 'companyinformation',
        hasUniqueValue: true,
      });
      const listed = await api('GET', '/crm/v3/properties/companies');
      const names = (listed.body.results as { name: string; hasUniqueValue: boolean }[]).map(
        (item) => item.name,
      );
      expect(names).toEqual(expect.arrayContaining(['name', 'domain', 'crm_key']));
      const duplicate = await api('POST', '/crm/v3/properties/companies', {
        name: 'crm_key',
        label: 'Again',
        type: 'string',
        fieldType: 'text',
        groupName: 'companyinformation',
      });
      expect(duplicate.status).toBe(409);
      const invalid = await api('POST', '/crm/v3/properties/companies', { name: 'Bad Name', label: 'x' });
      expect(invalid.status).toBe(400);
      expect(String(invalid.body.message)).toContain('name');
      // Companies can then be upserted by the unique key, but not by domain (not unique in HubSpot).
      const byDomain = await api('POST', '/crm/v3/objects/companies/batch/upsert', {
        inputs: [{ id: 'acme.com', idProperty: 'domain', properties: {} }],
      });
      expect(byDomain.body.message).toContain('non-unique 0-2 property domain');
      const byKey = await api('POST', '/crm/v3/objects/companies/batch/upsert', {
        inputs: [{ id: 'k-1', idProperty: 'crm_key', properties: { name: 'Keyed' } }],
      });
      expect(byKey.status).toBe(200);
      expect(emulator.companies()[0]?.properties).toMatchObject({ crm_key: 'k-1', name: 'Keyed' });
    });
  });

  describe('unique email', () => {
    it('answers a duplicate create with 409 CONFLICT naming the existing id, and counts it', async () => {
      const first = await api('POST', '/crm/v3/objects/contacts', {
        properties: { email: 'dup@example.com' },
      });
      expect(first.status).toBe(201);
      const second = await api('POST', '/crm/v3/objects/contacts', {
        properties: { email: 'DUP@example.com' },
      });
      expect(second.status).toBe(409);
      expect(second.body).toMatchObject({
        status: 'error',
        category: 'CONFLICT',
        message: `Contact already exists. Existing ID: ${first.body.id}`,
      });
      expect(second.body.correlationId).toMatch(/^[0-9a-f-]{36}$/);
      expect(emulator.contacts()).toHaveLength(1);
      expect(context.counters.get('hubspot.duplicates')).toBe(1);
    });

    it('fails a batch create with an existing email as a whole (409), or per record with objectWriteTraceId (207)', async () => {
      emulator.seed('contacts', [{ email: 'taken@example.com' }]);
      const whole = await api('POST', '/crm/v3/objects/contacts/batch/create', {
        inputs: [
          { properties: { email: 'other@example.com' } },
          { properties: { email: 'taken@example.com' } },
        ],
      });
      expect(whole.status).toBe(409);
      expect(whole.body.category).toBe('CONFLICT');
      expect(emulator.contacts()).toHaveLength(1);

      const perRecord = await api('POST', '/crm/v3/objects/contacts/batch/create', {
        inputs: [
          { properties: { email: 'other@example.com' }, objectWriteTraceId: 'a' },
          { properties: { email: 'taken@example.com' }, objectWriteTraceId: 'b' },
        ],
      });
      expect(perRecord.status).toBe(207);
      expect(errors(perRecord)).toEqual([
        expect.objectContaining({ category: 'CONFLICT', context: { objectWriteTraceId: ['b'] } }),
      ]);
      expect(emulator.contacts()).toHaveLength(2);
      expect(context.counters.get('hubspot.duplicates')).toBe(2);
    });

    it('rejects an update that would give a contact another contact’s email', async () => {
      const [first, second] = emulator.seed('contacts', [
        { email: 'one@example.com' },
        { email: 'two@example.com' },
      ]);
      const reply = await api('PATCH', `/crm/v3/objects/contacts/${second?.id}`, {
        properties: { email: 'one@example.com' },
      });
      expect(reply.status).toBe(409);
      expect(reply.body.message).toBe(`Contact already exists. Existing ID: ${first?.id}`);
      expect(emulator.findContactByEmail('two@example.com')?.id).toBe(second?.id);
    });
  });

  describe('single-record operations', () => {
    it('validates property values with HubSpot’s "Property values were not valid" body', async () => {
      const reply = await api('POST', '/crm/v3/objects/contacts', {
        properties: { email: 'not-an-email', favourite_colour: 'blue' },
      });
      expect(reply.status).toBe(400);
      expect(reply.body.category).toBe('VALIDATION_ERROR');
      const message = String(reply.body.message);
      expect(message.startsWith('Property values were not valid: ')).toBe(true);
      const issues = JSON.parse(message.slice('Property values were not valid: '.length)) as {
        error: string;
        name: string;
      }[];
      expect(issues.map((issue) => [issue.name, issue.error])).toEqual([
        ['email', 'INVALID_EMAIL'],
        ['favourite_colour', 'PROPERTY_DOESNT_EXIST'],
      ]);
    });

    it('updates by idProperty, bumps lastmodifieddate on the emulated clock, archives, and 404s afterwards', async () => {
      const [contact] = emulator.seed('contacts', [{ email: 'patch@example.com' }]);
      const createdAt = contact?.properties.createdate;
      clock.advance(5000);
      const patched = await api('PATCH', '/crm/v3/objects/contacts/patch@example.com?idProperty=email', {
        properties: { jobtitle: 'CTO' },
      });
      expect(patched.status).toBe(200);
      const properties = patched.body.properties as Record<string, string>;
      expect(properties.jobtitle).toBe('CTO');
      expect(properties.createdate).toBe(createdAt);
      expect(Date.parse(properties.lastmodifieddate ?? '') - Date.parse(createdAt ?? '')).toBe(5000);

      expect((await api('DELETE', `/crm/v3/objects/contacts/${contact?.id}`)).status).toBe(204);
      const gone = await api('GET', `/crm/v3/objects/contacts/${contact?.id}`);
      expect(gone.status).toBe(404);
      expect(gone.body.category).toBe('OBJECT_NOT_FOUND');
      expect(emulator.contacts()).toHaveLength(0);
    });

    it('pages through a list with `after` until every record is seen once', async () => {
      const seeded = emulator.seed(
        'contacts',
        Array.from({ length: 23 }, (_unused, index) => ({ email: `page${index}@example.com` })),
      );
      const seen: string[] = [];
      let after: string | undefined;
      let pages = 0;
      do {
        const reply = await api(
          'GET',
          `/crm/v3/objects/contacts?limit=10${after === undefined ? '' : `&after=${after}`}`,
        );
        expect(reply.status).toBe(200);
        seen.push(...results(reply).map((result) => result.id));
        after = (reply.body.paging as { next?: { after: string } } | undefined)?.next?.after;
        pages += 1;
      } while (after !== undefined);
      expect(pages).toBe(3);
      expect(seen).toEqual(seeded.map((record) => record.id));
    });

    it('answers batch read with 207 and OBJECT_NOT_FOUND for ids that do not exist', async () => {
      const [contact] = emulator.seed('contacts', [{ email: 'r@example.com' }]);
      const reply = await api('POST', '/crm/v3/objects/contacts/batch/read', {
        inputs: [{ id: contact?.id }, { id: '999999' }],
        properties: ['email'],
      });
      expect(reply.status).toBe(207);
      expect(results(reply).map((result) => result.id)).toEqual([contact?.id]);
      expect(errors(reply)[0]).toMatchObject({ category: 'OBJECT_NOT_FOUND', context: { ids: ['999999'] } });
    });
  });

  describe('search', () => {
    const search = (body: unknown) => api('POST', '/crm/v3/objects/contacts/search', body);
    const emailsOf = (reply: ApiReply) => results(reply).map((result) => result.properties.email);

    beforeEach(async () => {
      await api('POST', '/crm/v3/properties/contacts', {
        name: 'score',
        label: 'Score',
        type: 'number',
        fieldType: 'number',
        groupName: 'contactinformation',
      });
      for (const [index, score] of [5, 10, 20, 40].entries()) {
        emulator.seed('contacts', [
          {
            email: `s${score}@example.com`,
            score: String(score),
            ...(index % 2 === 0 ? { phone: '+1555' } : {}),
          },
        ]);
        clock.advance(1000);
      }
    });

    it.each([
      ['EQ', { value: '10' }, ['s10@example.com']],
      ['GT', { value: '10' }, ['s20@example.com', 's40@example.com']],
      ['GTE', { value: '10' }, ['s10@example.com', 's20@example.com', 's40@example.com']],
      ['LT', { value: '10' }, ['s5@example.com']],
      ['LTE', { value: '10' }, ['s5@example.com', 's10@example.com']],
      ['BETWEEN', { value: '6', highValue: '20' }, ['s10@example.com', 's20@example.com']],
    ])('filters numbers with %s (numerically, not as text)', async (operator, args, expected) => {
      const reply = await search({
        filterGroups: [{ filters: [{ propertyName: 'score', operator, ...args }] }],
        properties: ['email'],
        limit: 100,
      });
      expect(reply.status).toBe(200);
      expect(emailsOf(reply)).toEqual(expected);
      expect(reply.body.total).toBe(expected.length);
    });

    it('filters HAS_PROPERTY, matches EQ on email case-insensitively, ORs filter groups', async () => {
      const has = await search({
        filterGroups: [{ filters: [{ propertyName: 'phone', operator: 'HAS_PROPERTY' }] }],
        properties: ['email'],
      });
      expect(emailsOf(has)).toEqual(['s5@example.com', 's20@example.com']);
      const either = await search({
        filterGroups: [
          { filters: [{ propertyName: 'email', operator: 'EQ', value: 'S40@EXAMPLE.COM' }] },
          { filters: [{ propertyName: 'score', operator: 'EQ', value: '5' }] },
        ],
        properties: ['email'],
      });
      expect(emailsOf(either)).toEqual(['s5@example.com', 's40@example.com']);
    });

    it('filters lastmodifieddate GT an epoch-ms value and sorts descending', async () => {
      const third = emulator.findContactByEmail('s20@example.com');
      const since = Date.parse(third?.properties.lastmodifieddate ?? '');
      const reply = await search({
        filterGroups: [
          { filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE', value: String(since) }] },
        ],
        sorts: [{ propertyName: 'lastmodifieddate', direction: 'DESCENDING' }],
        properties: ['email'],
      });
      expect(emailsOf(reply)).toEqual(['s40@example.com', 's20@example.com']);
    });

    it('pages with `after` and refuses a filter on an unknown property', async () => {
      const first = await search({
        sorts: [{ propertyName: 'score', direction: 'ASCENDING' }],
        properties: ['email'],
        limit: 3,
      });
      expect(emailsOf(first)).toEqual(['s5@example.com', 's10@example.com', 's20@example.com']);
      const next = (first.body.paging as { next: { after: string } }).next.after;
      const second = await search({
        sorts: [{ propertyName: 'score', direction: 'ASCENDING' }],
        properties: ['email'],
        limit: 3,
        after: next,
      });
      expect(emailsOf(second)).toEqual(['s40@example.com']);
      expect(second.body.paging).toBeUndefined();
      const unknown = await search({
        filterGroups: [{ filters: [{ propertyName: 'nope', operator: 'EQ', value: 'x' }] }],
      });
      expect(unknown.status).toBe(400);
    });
  });

  it('caps search at 10,000 results: the last page ends there and paging past it is a 400', async () => {
    emulator.seed(
      'contacts',
      Array.from({ length: 10_005 }, (_unused, index) => ({ email: `bulk${index}@example.com` })),
    );
    const last = await api('POST', '/crm/v3/objects/contacts/search', { limit: 200, after: '9900' });
    expect(last.status).toBe(200);
    expect(last.body.total).toBe(10_005);
    expect(results(last)).toHaveLength(100);
    expect(last.body.paging).toBeUndefined();
    const past = await api('POST', '/crm/v3/objects/contacts/search', { limit: 10, after: '10000' });
    expect(past.status).toBe(400);
    expect(past.body.category).toBe('VALIDATION_ERROR');
    const tooBig = await api('POST', '/crm/v3/objects/contacts/search', { limit: 201 });
    expect(tooBig.status).toBe(400);
  });

  describe('associations', () => {
    it('creates contact-to-company associations in batch (200 by default) and on create', async () => {
      const [company] = emulator.seed('companies', [{ name: 'Acme', domain: 'acme.com' }]);
      const [contact] = emulator.seed('contacts', [{ email: 'x@acme.com' }]);
      const reply = await api('POST', '/crm/v4/associations/contact/company/batch/create', {
        inputs: [
          {
            from: { id: contact?.id },
            to: { id: company?.id },
            types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 1 }],
          },
        ],
      });
      expect(reply.status).toBe(200);
      expect(results(reply)[0]).toMatchObject({
        fromObjectTypeId: '0-1',
        toObjectTypeId: '0-2',
        labels: ['Primary'],
      });
      expect(emulator.associations()).toEqual([
        { contactId: contact?.id, companyId: company?.id, typeIds: [1] },
      ]);

      const created = await api('POST', '/crm/v3/objects/contacts', {
        properties: { email: 'y@acme.com' },
        associations: [
          {
            to: { id: company?.id },
            types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 279 }],
          },
        ],
      });
      expect(created.status).toBe(201);
      const read = await api('GET', `/crm/v3/objects/contacts/${created.body.id}?associations=companies`);
      expect(read.body.associations).toEqual({
        companies: { results: [{ id: company?.id, type: 'contact_to_company_unlabeled' }] },
      });
    });

    it('serves every v4 association route: labelled and default PUT, GET, DELETE, batch read, default and archive', async () => {
      const [company] = emulator.seed('companies', [{ name: 'Acme', domain: 'acme.com' }]);
      const [ada, grace] = emulator.seed('contacts', [
        { email: 'ada@acme.com' },
        { email: 'grace@acme.com' },
      ]);
      const ids = { company: company!.id, ada: ada!.id, grace: grace!.id };

      const labelled = await api(
        'PUT',
        `/crm/v4/objects/contacts/${ids.ada}/associations/companies/${ids.company}`,
        [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 1 }],
      );
      expect(labelled.status).toBe(201);
      expect(labelled.body).toMatchObject({ fromObjectId: Number(ids.ada), toObjectId: Number(ids.company) });
      expect(labelled.body.labels).toEqual(['Primary']);
      const badType = await api(
        'PUT',
        `/crm/v4/objects/contacts/${ids.ada}/associations/companies/${ids.company}`,
        [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 280 }],
      );
      expect(badType.status).toBe(400);
      const noSuch = await api(
        'PUT',
        `/crm/v4/objects/contacts/999999/associations/companies/${ids.company}`,
        [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 1 }],
      );
      expect(noSuch.status).toBe(404);
      expect(noSuch.body).toMatchObject({ category: 'OBJECT_NOT_FOUND' });

      const byDefault = await api(
        'PUT',
        `/crm/v4/objects/companies/${ids.company}/associations/default/contacts/${ids.grace}`,
      );
      expect(byDefault.status).toBe(200);
      expect(results(byDefault as ApiReply).length).toBe(2);
      const fromCompany = await api('GET', `/crm/v4/objects/companies/${ids.company}/associations/contacts`);
      expect(
        (fromCompany.body.results as { toObjectId: number }[]).map((item) => String(item.toObjectId)).sort(),
      ).toEqual([ids.ada, ids.grace].sort());

      const read = await api('POST', '/crm/v4/associations/contacts/companies/batch/read', {
        inputs: [{ id: ids.ada }, { id: '999999' }],
      });
      expect(read.status).toBe(207);
      expect(read.body).toMatchObject({ status: 'COMPLETE', numErrors: 1 });
      expect(errors(read)[0]).toMatchObject({
        category: 'OBJECT_NOT_FOUND',
        context: { fromObjectId: ['999999'] },
      });
      expect((read.body.results as { from: { id: string } }[]).map((item) => item.from.id)).toEqual([
        ids.ada,
      ]);

      const archived = await api('POST', '/crm/v4/associations/contacts/companies/batch/archive', {
        inputs: [{ from: { id: ids.ada }, to: [{ id: ids.company }] }],
      });
      expect(archived.status).toBe(204);
      const deleted = await api(
        'DELETE',
        `/crm/v4/objects/contacts/${ids.grace}/associations/companies/${ids.company}`,
      );
      expect(deleted.status).toBe(204);
      expect(emulator.associations()).toEqual([]);

      const defaults = await api('POST', '/crm/v4/associations/contacts/companies/batch/associate/default', {
        inputs: [{ from: { id: ids.ada }, to: { id: ids.company } }],
      });
      expect(defaults.status).toBe(200);
      expect(results(defaults).length).toBe(2);
      expect(emulator.associations()).toEqual([
        { contactId: ids.ada, companyId: ids.company, typeIds: [279] },
      ]);
      const defaultsMissing = await api(
        'POST',
        '/crm/v4/associations/contacts/companies/batch/associate/default',
        {
          inputs: [{ from: { id: '999999' }, to: { id: ids.company } }],
        },
      );
      expect(defaultsMissing.status).toBe(400);
    });

    it('answers a batch create with 207 and one error per bad input, and 400 for a pair it does not serve', async () => {
      const [company] = emulator.seed('companies', [{ name: 'Acme', domain: 'acme.com' }]);
      const [contact] = emulator.seed('contacts', [{ email: 'x@acme.com' }]);
      const type = (associationTypeId: number) => [
        { associationCategory: 'HUBSPOT_DEFINED', associationTypeId },
      ];
      const reply = await api('POST', '/crm/v4/associations/contacts/companies/batch/create', {
        inputs: [
          { from: { id: contact?.id }, to: { id: company?.id }, types: type(279) },
          { from: { id: contact?.id }, to: { id: company?.id }, types: type(280) },
          { from: { id: '999999' }, to: { id: company?.id }, types: type(279) },
        ],
      });
      expect(reply.status).toBe(207);
      expect(reply.body).toMatchObject({ status: 'COMPLETE', numErrors: 2 });
      expect(results(reply)).toHaveLength(1);
      expect(errors(reply).map((error) => error.category)).toEqual(['VALIDATION_ERROR', 'VALIDATION_ERROR']);
      expect(reply.body.completedAt).toMatch(ISO);
      const sameType = await api('POST', '/crm/v4/associations/contacts/contacts/batch/read', {
        inputs: [{ id: contact?.id }],
      });
      expect(sameType.status).toBe(400);
      expect(sameType.body).toMatchObject({ category: 'VALIDATION_ERROR' });
    });

    it('answers association batch create with 201 when configured for the older behaviour', async () => {
      const older = createHubspotEmulator(createEmulatorContext(), { associationBatchCreateStatus: 201 });
      const [company] = older.seed('companies', [{ name: 'Acme' }]);
      const [contact] = older.seed('contacts', [{ email: 'z@acme.com' }]);
      const reply = await older.app.request('/crm/v4/associations/contacts/companies/batch/create', {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${older.credentials.privateAppToken}`,
          'Content-Type': 'application/json',
        },
        body: JSON.stringify({
          inputs: [
            {
              from: { id: contact?.id },
              to: { id: company?.id },
              types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 279 }],
            },
          ],
        }),
      });
      expect(reply.status).toBe(201);
    });
  });

  describe('auth', () => {
    const unauthenticated = {
      status: 'error',
      category: 'INVALID_AUTHENTICATION',
    };

    it('answers a missing or unknown token with 401 INVALID_AUTHENTICATION, never echoing the token', async () => {
      const none = await apiClient(served.baseUrl, undefined)('GET', '/crm/v3/objects/contacts');
      expect(none.status).toBe(401);
      expect(none.body).toMatchObject(unauthenticated);
      const wrong = await apiClient(served.baseUrl, 'pat-na1-not-a-real-token')(
        'GET',
        '/crm/v3/objects/contacts',
      );
      expect(wrong.status).toBe(401);
      expect(wrong.body).toMatchObject(unauthenticated);
      expect(JSON.stringify(wrong.body)).not.toContain('pat-na1-not-a-real-token');
      expect(context.counters.get('hubspot.401')).toBe(2);
    });

    it('issues 30-minute OAuth tokens that expire on the emulated clock and can be refreshed', async () => {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: emulator.credentials.clientId,
        client_secret: emulator.credentials.clientSecret,
        refresh_token: emulator.credentials.refreshToken,
      });
      const issued = await fetch(`${served.baseUrl}/oauth/v1/token`, { method: 'POST', body: form });
      expect(issued.status).toBe(200);
      const tokens = (await issued.json()) as {
        access_token: string;
        refresh_token: string;
        expires_in: number;
        token_type: string;
      };
      expect(tokens).toMatchObject({
        expires_in: 1800,
        token_type: 'bearer',
        refresh_token: emulator.credentials.refreshToken,
      });
      const oauthApi = apiClient(served.baseUrl, tokens.access_token);

      const fresh = await oauthApi('GET', '/crm/v3/objects/contacts');
      expect(fresh.status).toBe(200);
      expect(fresh.headers.get('x-hubspot-ratelimit-daily')).toBeNull();
      expect(fresh.headers.get('x-hubspot-ratelimit-max')).toBe('10000');

      clock.advance(30 * 60_000 - 1);
      expect((await oauthApi('GET', '/crm/v3/objects/contacts')).status).toBe(200);
      clock.advance(2 * 60_000 + 1);
      const expired = await oauthApi('GET', '/crm/v3/objects/contacts');
      expect(expired.status).toBe(401);
      expect(expired.body).toMatchObject({ status: 'error', category: 'EXPIRED_AUTHENTICATION' });
      expect(expired.body.message).toBe('The OAuth token used to make this call expired 2 minute(s) ago.');

      const again = await fetch(`${served.baseUrl}/oauth/v1/token`, { method: 'POST', body: form });
      const renewed = (await again.json()) as { access_token: string };
      expect(renewed.access_token).not.toBe(tokens.access_token);
      expect(
        (await apiClient(served.baseUrl, renewed.access_token)('GET', '/crm/v3/objects/contacts')).status,
      ).toBe(200);
    });

    it('expires every access token on demand while refresh tokens stay valid', async () => {
      const code = emulator.issueAuthorizationCode();
      const exchange = (grant: string) =>
        fetch(`${served.baseUrl}/oauth/v1/token`, {
          method: 'POST',
          body: new URLSearchParams({
            grant_type: 'authorization_code',
            client_id: emulator.credentials.clientId,
            client_secret: emulator.credentials.clientSecret,
            redirect_uri: emulator.credentials.redirectUri,
            code: grant,
          }),
        });
      const first = await exchange(code);
      expect(first.status).toBe(200);
      const tokens = (await first.json()) as { access_token: string; refresh_token: string };
      const reused = await exchange(code);
      expect(reused.status).toBe(400);
      expect(await reused.json()).toMatchObject({ status: 'BAD_AUTH_CODE' });

      emulator.expireTokens();
      const expired = await apiClient(served.baseUrl, tokens.access_token)('GET', '/crm/v3/objects/contacts');
      expect(expired.status).toBe(401);
      expect(expired.body.category).toBe('EXPIRED_AUTHENTICATION');
      expect((await api('GET', '/crm/v3/objects/contacts')).status).toBe(200);

      const refreshed = await fetch(`${served.baseUrl}/oauth/v1/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          client_id: emulator.credentials.clientId,
          client_secret: emulator.credentials.clientSecret,
          refresh_token: tokens.refresh_token,
        }),
      });
      expect(refreshed.status).toBe(200);
    });

    it('accepts the v3 token endpoint with a JSON or form body', async () => {
      const fields = {
        grant_type: 'refresh_token',
        client_id: emulator.credentials.clientId,
        client_secret: emulator.credentials.clientSecret,
        refresh_token: emulator.credentials.refreshToken,
      };
      const asJson = await fetch(`${served.baseUrl}/oauth/v3/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(fields),
      });
      expect(asJson.status).toBe(200);
      const asForm = await fetch(`${served.baseUrl}/oauth/v3/token`, {
        method: 'POST',
        body: new URLSearchParams(fields),
      });
      expect(((await asForm.json()) as { expires_in: number }).expires_in).toBe(1800);
      const v1Json = await fetch(`${served.baseUrl}/oauth/v1/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(fields),
      });
      expect(v1Json.status).toBe(400);
    });

    it('refuses a bad refresh token, client id or grant type with HubSpot’s OAuth error statuses', async () => {
      const post = (fields: Record<string, string>) =>
        fetch(`${served.baseUrl}/oauth/v1/token`, { method: 'POST', body: new URLSearchParams(fields) }).then(
          async (response) => ({
            status: response.status,
            body: (await response.json()) as { status: string; message: string },
          }),
        );
      const base = {
        client_id: emulator.credentials.clientId,
        client_secret: emulator.credentials.clientSecret,
      };
      expect(
        (await post({ ...base, grant_type: 'refresh_token', refresh_token: 'nope-nope' })).body.status,
      ).toBe('BAD_REFRESH_TOKEN');
      expect(
        (
          await post({
            ...base,
            client_id: 'other-client',
            grant_type: 'refresh_token',
            refresh_token: emulator.credentials.refreshToken,
          })
        ).body.status,
      ).toBe('BAD_CLIENT_ID');
      const badGrant = await post({ ...base, grant_type: 'password' });
      expect(badGrant.status).toBe(400);
      expect(badGrant.body.status).toBe('BAD_GRANT_TYPE');
      expect(badGrant.body.message).not.toContain(emulator.credentials.clientSecret);
    });
  });

  it('rejects invalid options with a ConfigurationError naming the option', () => {
    const attempt = () => createHubspotEmulator(createEmulatorContext(), { rateLimits: { tenSecondly: 0 } });
    expect(attempt).toThrow(ConfigurationError);
    expect(attempt).toThrow(/rateLimits\.tenSecondly/);
    expect(() => emulator.setFaults({ partialFailureRate: 2 })).toThrow(
      /partialFailureRate: must be within \[0, 1\]/,
    );
    expect(() =>
      createHubspotEmulator(createEmulatorContext(), { webhooks: { targetUrl: 'not a url' } }),
    ).toThrow(/webhooks\.targetUrl/);
  });
});

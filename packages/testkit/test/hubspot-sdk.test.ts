import { Client } from '@hubspot/api-client';
import { FilterOperatorEnum } from '@hubspot/api-client/lib/codegen/crm/contacts/index.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEmulatorContext } from '../src/emulator/create-context.js';
import { createHubspotEmulator } from '../src/vendors/hubspot/index.js';
import { type Served, serveApp } from './hubspot-support.js';

// The official client, pointed at the emulator on a real port: its calls must
// succeed and what it returns must match the emulator's state.
describe('HubSpot emulator with @hubspot/api-client 13.5.0', () => {
  const context = createEmulatorContext({ seed: 7 });
  const emulator = createHubspotEmulator(context);
  let served: Served;
  let client: Client;

  beforeAll(async () => {
    served = await serveApp(emulator.app);
    client = new Client({ accessToken: emulator.credentials.privateAppToken, basePath: served.baseUrl });
  });
  afterAll(async () => {
    await served.close();
  });
  beforeEach(() => emulator.reset());

  it('creates a contact and reads it back by id and by email', async () => {
    const created = await client.crm.contacts.basicApi.create({
      properties: { email: 'Ada@Example.com', firstname: 'Ada', lastname: 'Lovelace' },
      associations: [],
    });
    expect(created.id).toMatch(/^\d+$/);
    expect(created.properties.email).toBe('ada@example.com');
    expect(created.createdAt).toBeInstanceOf(Date);

    const stored = emulator.findContactByEmail('ada@example.com');
    expect(stored?.id).toBe(created.id);

    const byId = await client.crm.contacts.basicApi.getById(created.id, ['firstname', 'lastname']);
    expect(byId.properties).toMatchObject({
      firstname: 'Ada',
      lastname: 'Lovelace',
      hs_object_id: created.id,
    });

    const byEmail = await client.crm.contacts.basicApi.getById(
      'ada@example.com',
      undefined,
      undefined,
      undefined,
      false,
      'email',
    );
    expect(byEmail.id).toBe(created.id);
  });

  it('batch-upserts by email: new records then updates, with the `new` flag and stored state matching', async () => {
    await client.crm.contacts.basicApi.create({
      properties: { email: 'old@example.com', firstname: 'Old' },
      associations: [],
    });

    const first = await client.crm.contacts.batchApi.upsert({
      inputs: [
        { id: 'old@example.com', idProperty: 'email', properties: { firstname: 'Renamed' } },
        {
          id: 'new@example.com',
          idProperty: 'email',
          properties: { firstname: 'Newcomer', lastname: 'Doe' },
        },
      ],
    });
    expect(first.status).toBe('COMPLETE');
    const byEmail = new Map(first.results.map((result) => [result.properties.email, result]));
    expect(byEmail.get('old@example.com')?._new).toBe(false);
    expect(byEmail.get('new@example.com')?._new).toBe(true);

    expect(emulator.findContactByEmail('old@example.com')?.properties.firstname).toBe('Renamed');
    expect(emulator.findContactByEmail('new@example.com')?.properties).toMatchObject({
      firstname: 'Newcomer',
      lastname: 'Doe',
    });
    expect(emulator.contacts()).toHaveLength(2);
    expect(context.counters.get('hubspot.created')).toBeGreaterThanOrEqual(2);

    const again = await client.crm.contacts.batchApi.upsert({
      inputs: [{ id: 'new@example.com', idProperty: 'email', properties: { lastname: 'Smith' } }],
    });
    expect(again.results[0]?._new).toBe(false);
    expect(emulator.contacts()).toHaveLength(2);
    expect(emulator.findContactByEmail('new@example.com')?.properties.lastname).toBe('Smith');
  });

  it('batch-reads the records it wrote', async () => {
    const seeded = emulator.seed('contacts', [
      { email: 'a@example.com', firstname: 'A' },
      { email: 'b@example.com', firstname: 'B' },
    ]);
    const read = await client.crm.contacts.batchApi.read({
      inputs: seeded.map((record) => ({ id: record.id })),
      properties: ['email', 'firstname'],
      propertiesWithHistory: [],
    });
    expect(read.results.map((result) => result.properties.firstname).sort()).toEqual(['A', 'B']);
    expect(read.results.map((result) => result.id).sort()).toEqual(seeded.map((record) => record.id).sort());
  });

  it('searches with filters, sorts and paging', async () => {
    emulator.seed(
      'contacts',
      Array.from({ length: 5 }, (_unused, index) => ({
        email: `p${index}@example.com`,
        firstname: `P${index}`,
      })),
    );
    const page = await client.crm.contacts.searchApi.doSearch({
      filterGroups: [
        {
          filters: [
            { propertyName: 'email', operator: FilterOperatorEnum.ContainsToken, value: '*@example.com' },
          ],
        },
      ],
      sorts: ['-firstname'],
      properties: ['email', 'firstname'],
      limit: 2,
      after: '0',
    });
    expect(page.total).toBe(5);
    expect(page.results.map((result) => result.properties.firstname)).toEqual(['P4', 'P3']);
    expect(page.paging?.next?.after).toBe('2');
  });

  it('creates a company and associates the contact with it (v4 default association)', async () => {
    const company = await client.crm.companies.basicApi.create({
      properties: { name: 'Acme', domain: 'acme.com' },
      associations: [],
    });
    const contact = await client.crm.contacts.basicApi.create({
      properties: { email: 'c@acme.com' },
      associations: [],
    });
    await client.crm.associations.v4.basicApi.createDefault('contacts', contact.id, 'companies', company.id);
    expect(emulator.associations()).toEqual([
      { contactId: contact.id, companyId: company.id, typeIds: [279] },
    ]);
    const fromCompany = await client.crm.associations.v4.basicApi.getPage(
      'companies',
      company.id,
      'contacts',
    );
    expect(fromCompany.results.map((result) => String(result.toObjectId))).toEqual([contact.id]);
    expect(fromCompany.results[0]?.associationTypes.map((type) => type.typeId)).toEqual([280]);
  });

  it('refreshes an OAuth token through the SDK and uses the new access token', async () => {
    const tokens = await client.oauth.tokensApi.create(
      'refresh_token',
      undefined,
      undefined,
      emulator.credentials.clientId,
      emulator.credentials.clientSecret,
      emulator.credentials.refreshToken,
    );
    expect(tokens.expiresIn).toBe(1800);
    const oauthClient = new Client({ accessToken: tokens.accessToken, basePath: served.baseUrl });
    const created = await oauthClient.crm.contacts.basicApi.create({
      properties: { email: 'o@example.com' },
      associations: [],
    });
    expect(emulator.findContactByEmail('o@example.com')?.id).toBe(created.id);
  });

  it('surfaces 207 partial failures to the SDK as a result with errors, matching what was stored', async () => {
    emulator.setFaults({ partialFailureRate: 0.5 });
    try {
      const response = await client.crm.contacts.batchApi.upsert({
        inputs: Array.from({ length: 20 }, (_unused, index) => ({
          id: `half${index}@example.com`,
          idProperty: 'email',
          properties: { firstname: `H${index}` },
        })),
      });
      expect('numErrors' in response && response.numErrors).toBeGreaterThan(0);
      const stored = emulator
        .contacts()
        .map((contact) => contact.id)
        .sort();
      expect(response.results.map((result) => result.id).sort()).toEqual(stored);
      expect(stored.length).toBeLessThan(20);
    } finally {
      emulator.setFaults({});
    }
  });

  it('surfaces a duplicate create as ApiException 409 with the CONFLICT body', async () => {
    await client.crm.contacts.basicApi.create({
      properties: { email: 'twin@example.com' },
      associations: [],
    });
    const failure = await client.crm.contacts.basicApi
      .create({ properties: { email: 'twin@example.com' }, associations: [] })
      .then(
        () => undefined,
        (error: unknown) => error as { code: number; body: { category: string; message: string } },
      );
    expect(failure?.code).toBe(409);
    expect(failure?.body.category).toBe('CONFLICT');
    expect(failure?.body.message).toBe(
      `Contact already exists. Existing ID: ${emulator.findContactByEmail('twin@example.com')?.id}`,
    );
  });

  it('searches incrementally on lastmodifieddate GTE and pages every contact with getAll', async () => {
    emulator.seed(
      'contacts',
      Array.from({ length: 130 }, (_unused, index) => ({ email: `all${index}@example.com` })),
    );
    const all = await client.crm.contacts.getAll(100);
    expect(all.map((contact) => contact.id)).toEqual(emulator.contacts().map((contact) => contact.id));
    const since = await client.crm.contacts.searchApi.doSearch({
      filterGroups: [
        { filters: [{ propertyName: 'lastmodifieddate', operator: FilterOperatorEnum.Gte, value: '0' }] },
      ],
      sorts: ['lastmodifieddate'],
      properties: ['email'],
      limit: 200,
      after: '0',
    });
    expect(since.total).toBe(130);
    expect(since.results).toHaveLength(130);
  });

  it('gives the SDK the TEN_SECONDLY_ROLLING body its retry logic reads', async () => {
    const limited = createHubspotEmulator(createEmulatorContext(), { rateLimits: { tenSecondly: 1 } });
    const server = await serveApp(limited.app);
    try {
      const limitedClient = new Client({
        accessToken: limited.credentials.privateAppToken,
        basePath: server.baseUrl,
      });
      await limitedClient.crm.contacts.basicApi.getPage(10);
      const failure = await limitedClient.crm.contacts.basicApi.getPage(10).then(
        () => undefined,
        (error: unknown) => error as { code: number; body: { policyName: string } },
      );
      expect(failure?.code).toBe(429);
      expect(failure?.body.policyName).toBe('TEN_SECONDLY_ROLLING');
    } finally {
      await server.close();
    }
  });
});

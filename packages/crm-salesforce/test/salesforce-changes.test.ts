import { createHmac } from 'node:crypto';
import {
  type CrmChangesPage,
  createCrmEventDeduper,
  parseCrmWebhook,
  WebhookVerificationError,
} from '@leadpipe/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createSalesforce, type SalesforceAdapter, salesforceOutboundResponse } from '../src/index.js';
import { SALESFORCE_OUTBOUND_ACK } from '../src/salesforce-webhooks.js';
import { leadProperties, type SalesforceFixture, startSalesforce } from './support.js';

const fixtures: SalesforceFixture[] = [];
afterEach(async () => {
  for (const fixture of fixtures.splice(0)) await fixture.close();
});

async function start(...args: Parameters<typeof startSalesforce>): Promise<SalesforceFixture> {
  const fixture = await startSalesforce(...args);
  fixtures.push(fixture);
  return fixture;
}

function adapterFor(sf: SalesforceFixture, settings: Parameters<typeof createSalesforce>[0] = {}) {
  return createSalesforce({
    accessToken: sf.emulator.credentials.accessToken,
    instanceUrl: sf.url,
    externalIdField: 'Lead_Key__c',
    organizationId: sf.emulator.credentials.organizationId,
    webhookSecret: 'callout-signing-secret',
    ...settings,
  });
}

async function seed(adapter: SalesforceAdapter, count: number, prefix: string): Promise<void> {
  for (let start = 0; start < count; start += 200) {
    const records = Array.from({ length: Math.min(200, count - start) }, (_, index) => ({
      key: `${prefix}-${start + index}`,
      properties: leadProperties(start + index),
    }));
    await adapter.doUpsert({ object: 'Lead', idProperty: 'Lead_Key__c', records }, {});
  }
}

async function drain(adapter: SalesforceAdapter, cursor: string | undefined, limit?: number) {
  const pages: CrmChangesPage[] = [];
  let next = cursor;
  for (;;) {
    const page = await adapter.doListChanges(
      {
        object: 'Lead',
        properties: ['LastName', 'Company'],
        ...(next === undefined ? {} : { cursor: next }),
        ...(limit === undefined ? {} : { limit }),
      },
      {},
    );
    pages.push(page);
    next = page.nextCursor;
    if (!page.hasMore) return { pages, cursor: next };
  }
}

describe('doListChanges: SOQL on SystemModstamp with nextRecordsUrl', () => {
  it('pages through every change once, oldest first, and the last cursor resumes with later changes only', async () => {
    const sf = await start({ queryBatchSize: 200 });
    const adapter = adapterFor(sf, { queryBatchSize: 200 });
    await seed(adapter, 450, 'chg');
    const first = await drain(adapter, undefined);
    expect(first.pages.map((page) => page.records.length)).toEqual([200, 200, 50]);
    const keys = first.pages.flatMap((page) => page.records.map((record) => record.key));
    expect(new Set(keys).size).toBe(450);
    expect(keys[0]).toBe('chg-0');
    expect(first.pages[0]?.records[0]?.properties).toEqual({
      LastName: 'Lovelace0',
      Company: 'Analytical Engines 0',
    });
    const queries = sf.calls().filter((call) => call.includes('/query'));
    expect(queries.filter((call) => call.endsWith('/query'))).toHaveLength(1);

    sf.advance(60_000);
    await adapter.doUpsert(
      {
        object: 'Lead',
        idProperty: 'Lead_Key__c',
        records: [{ key: 'chg-7', properties: { Title: 'CFO' } }],
      },
      {},
    );
    await seed(adapter, 2, 'late');
    const later = await drain(adapter, first.cursor);
    expect(later.pages.flatMap((page) => page.records.map((record) => record.key))).toEqual([
      'chg-7',
      'late-0',
      'late-1',
    ]);
    const none = await drain(adapter, later.cursor);
    expect(none.pages.flatMap((page) => page.records)).toEqual([]);
  });

  it('an expired query locator is not an error: the next page restarts after the last record returned', async () => {
    const sf = await start({ queryBatchSize: 200 });
    const adapter = adapterFor(sf, { queryBatchSize: 200 });
    await seed(adapter, 450, 'loc');
    const first = await adapter.doListChanges({ object: 'Lead' }, {});
    expect(first.hasMore).toBe(true);
    sf.advance(16 * 60_000);
    const rest = await drain(adapter, first.nextCursor);
    const ids = [...first.records, ...rest.pages.flatMap((page) => page.records)].map((record) => record.id);
    expect(ids).toHaveLength(450);
    expect(new Set(ids).size).toBe(450);
    expect(sf.calls().filter((call) => call.endsWith('/query'))).toHaveLength(2);
  });

  it('a limit smaller than a page resumes from the last record returned, skipping and repeating nothing', async () => {
    const sf = await start({ queryBatchSize: 200 });
    const adapter = adapterFor(sf);
    await seed(adapter, 25, 'lim');
    const { pages } = await drain(adapter, undefined, 10);
    expect(pages.map((page) => page.records.length)).toEqual([10, 10, 5]);
    expect(new Set(pages.flatMap((page) => page.records.map((record) => record.id))).size).toBe(25);
  });

  it('rejects a cursor it did not issue, and a property that is not a field name', async () => {
    const sf = await start();
    const adapter = adapterFor(sf);
    await expect(adapter.doListChanges({ object: 'Lead', cursor: 'not-a-cursor' }, {})).rejects.toMatchObject(
      {
        code: 'validation_failed',
      },
    );
    const forged = Buffer.from(
      JSON.stringify({ v: 1, since: '2026-01-01T00:00:00Z OR Name != null' }),
    ).toString('base64url');
    await expect(adapter.doListChanges({ object: 'Lead', cursor: forged }, {})).rejects.toMatchObject({
      code: 'validation_failed',
    });
    await expect(
      adapter.doListChanges({ object: 'Lead', properties: ["Name FROM User WHERE Name = 'x'"] }, {}),
    ).rejects.toMatchObject({ code: 'validation_failed' });
  });
});

describe('Outbound Messages', () => {
  it('parses what the emulator delivers, answers the SOAP Ack, and drops redeliveries by notification id', async () => {
    let adapter: SalesforceAdapter | undefined;
    const deduper = createCrmEventDeduper();
    const received: string[][] = [];
    const listener: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      const events = await parseCrmWebhook(
        adapter!,
        { method: 'POST', url: request.url, headers: request.headers, rawBody: await request.text() },
        { deduper },
      );
      received.push(events.map((event) => `${event.type} ${event.recordId} ${event.properties?.LastName}`));
      const answer = salesforceOutboundResponse();
      return new Response(answer.body, { status: answer.status, headers: answer.headers });
    };
    const sf = await start({ outboundMessages: { url: 'https://listener.example/sf', fetch: listener } });
    adapter = adapterFor(sf);
    await adapter.doUpsert(
      {
        object: 'Lead',
        idProperty: 'Lead_Key__c',
        records: [{ key: 'om-1', properties: { LastName: 'Lee & <Co>', Company: 'Acme' } }],
      },
      {},
    );
    const [delivery] = await sf.emulator.deliverOutboundMessages();
    expect(delivery?.acknowledged).toBe(true);
    const lead = sf.emulator.findLeadByExternalId('om-1');
    expect(received).toEqual([[`record.updated ${lead?.Id} Lee & <Co>`]]);
    sf.emulator.queueOutboundMessages([String(lead?.Id)]);
    await sf.emulator.deliverOutboundMessages();
    expect(received[1]).toHaveLength(1);
    expect(SALESFORCE_OUTBOUND_ACK).toContain('<Ack>true</Ack>');
  });

  it('refuses a message from another org, and a message when no org is configured', async () => {
    const bodies: string[] = [];
    const sf = await start({
      organizationId: '00D000000000001AAA',
      outboundMessages: {
        url: 'https://listener.example/sf',
        fetch: async (_input, init) => {
          bodies.push(String(init?.body));
          return new Response('nope', { status: 500 });
        },
      },
    });
    const adapter = adapterFor(sf, { organizationId: '00D000000000002AAA' });
    await adapter.doUpsert(
      {
        object: 'Lead',
        idProperty: 'Lead_Key__c',
        records: [{ key: 'om-2', properties: leadProperties(2) }],
      },
      {},
    );
    await sf.emulator.deliverOutboundMessages();
    const request = {
      method: 'POST',
      url: '/sf',
      headers: { 'content-type': 'text/xml' },
      rawBody: bodies[0] ?? '',
    };
    const wrongOrg = await adapter.doParseWebhook(request).catch((error: unknown) => error);
    expect(WebhookVerificationError.isInstance(wrongOrg) && wrongOrg.code).toBe('signature_invalid');
    const unconfigured = createSalesforce({ accessToken: 'x'.repeat(20), instanceUrl: sf.url });
    await expect(unconfigured.doParseWebhook(request)).rejects.toMatchObject({
      code: 'invalid_configuration',
    });
  });
});

describe('HMAC-signed callouts from Apex or Flow', () => {
  const secret = 'callout-signing-secret';
  const now = Date.UTC(2026, 10, 25, 9, 0, 0);
  const body = JSON.stringify({
    events: [
      {
        eventId: 'e2',
        type: 'updated',
        recordId: '00Q000000000002AAA',
        occurredAt: '2026-11-25T08:59:00.000Z',
      },
      {
        eventId: 'e1',
        type: 'created',
        object: 'Lead',
        recordId: '00Q000000000001AAA',
        occurredAt: '2026-11-25T08:58:00.000Z',
        fields: { LastName: 'Hopper', NumberOfEmployees: 12 },
      },
    ],
  });
  const sign = (timestamp: string, text: string, key = secret) =>
    `sha256=${createHmac('sha256', key).update(`${timestamp}.${text}`).digest('hex')}`;
  const request = (headers: Record<string, string>, rawBody = body) => ({
    method: 'POST',
    url: '/salesforce/callout',
    headers: { 'content-type': 'application/json', ...headers },
    rawBody,
  });
  const adapter = createSalesforce({
    accessToken: 'y'.repeat(20),
    instanceUrl: 'https://acme.my.salesforce.com',
    webhookSecret: secret,
    now: () => now,
  });

  it('verifies the signature and returns the events in order of occurrence', async () => {
    const events = await parseCrmWebhook(
      adapter,
      request({ 'x-leadpipe-timestamp': String(now), 'x-leadpipe-signature': sign(String(now), body) }),
    );
    expect(events.map((event) => `${event.eventId} ${event.type}`)).toEqual([
      'e1 record.created',
      'e2 record.updated',
    ]);
    expect(events[0]?.properties).toEqual({ LastName: 'Hopper', NumberOfEmployees: 12 });
  });

  it.each([
    [
      'a wrong signature',
      {
        'x-leadpipe-timestamp': String(now),
        'x-leadpipe-signature': sign(String(now), body, 'other-secret'),
      },
      'signature_invalid',
    ],
    ['no signature', { 'x-leadpipe-timestamp': String(now) }, 'signature_missing'],
    [
      'a replay from ten minutes ago',
      {
        'x-leadpipe-timestamp': String(now - 600_000),
        'x-leadpipe-signature': sign(String(now - 600_000), body),
      },
      'timestamp_expired',
    ],
  ])('rejects %s', async (_label, headers, code) => {
    const error = await adapter.doParseWebhook(request(headers)).catch((failure: unknown) => failure);
    expect(WebhookVerificationError.isInstance(error) && error.code).toBe(code);
    expect(JSON.stringify((error as WebhookVerificationError).toJSON())).not.toContain(secret);
  });

  it('rejects a signed body that is not a callout, naming the field', async () => {
    const bad = JSON.stringify({
      events: [{ eventId: 'e', type: 'exploded', recordId: 'x', occurredAt: '2026-11-25T08:58:00Z' }],
    });
    const error = await adapter
      .doParseWebhook(
        request({ 'x-leadpipe-timestamp': String(now), 'x-leadpipe-signature': sign(String(now), bad) }, bad),
      )
      .catch((failure: unknown) => failure);
    expect(error).toMatchObject({ code: 'payload_invalid' });
    expect(String((error as Error).message)).toContain('events.0.type');
  });
});

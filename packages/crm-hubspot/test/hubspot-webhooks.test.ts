import { createHmac } from 'node:crypto';
import { createCrmEventDeduper, type InboundWebhookRequest, WebhookVerificationError } from '@leadpipe/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHubspot } from '../src/index.js';
import { type HubspotFixture, startHubspot } from './support.js';

const SECRET = 'hubspot-app-client-secret-0001';
const URL_ = 'https://hooks.example.com/hubspot?tenant=acme';
const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);

function signed(
  body: string,
  options: { timestamp?: number; url?: string; secret?: string } = {},
): InboundWebhookRequest {
  const timestamp = options.timestamp ?? NOW - 1_000;
  const signature = createHmac('sha256', options.secret ?? SECRET)
    .update(`POST${options.url ?? URL_}${body}${timestamp}`)
    .digest('base64');
  return {
    method: 'POST',
    url: URL_,
    headers: { 'X-HubSpot-Signature-v3': signature, 'X-HubSpot-Request-Timestamp': String(timestamp) },
    rawBody: Buffer.from(body, 'utf8'),
  };
}

const event = (eventId: number, occurredAt: number, extra: Record<string, unknown> = {}) => ({
  eventId,
  subscriptionId: 1,
  portalId: 42,
  appId: 7,
  occurredAt,
  subscriptionType: 'contact.propertyChange',
  attemptNumber: 0,
  objectId: 1001,
  propertyName: 'firstname',
  propertyValue: `v${eventId}`,
  changeSource: 'CRM_UI',
  ...extra,
});

const hubspot = createHubspot({ accessToken: 'pat-unused-token', webhookSecret: SECRET, now: () => NOW });

describe('doParseWebhook', () => {
  it('verifies the v3 signature over the raw body, de-duplicates by eventId and orders by occurredAt', async () => {
    const body = JSON.stringify([
      event(3, NOW - 1_000),
      event(1, NOW - 3_000, { subscriptionType: 'contact.creation', propertyName: undefined }),
      event(3, NOW - 1_000),
      event(2, NOW - 2_000),
      event(9, NOW - 500, { subscriptionType: 'contact.unknownThing' }),
    ]);
    const events = await hubspot.doParseWebhook(signed(body));
    expect(events.map((item) => [item.eventId, item.type])).toEqual([
      ['1', 'record.created'],
      ['2', 'record.updated'],
      ['3', 'record.updated'],
    ]);
    expect(events[2]).toMatchObject({
      object: 'contacts',
      recordId: '1001',
      occurredAt: new Date(NOW - 1_000).toISOString(),
      properties: { firstname: 'v3' },
      changeSource: 'CRM_UI',
    });
  });

  it('drops events seen in an earlier delivery when given a deduper', async () => {
    const deduped = createHubspot({
      webhookSecret: SECRET,
      now: () => NOW,
      webhookDeduper: createCrmEventDeduper(),
    });
    const body = JSON.stringify([event(5, NOW - 100)]);
    expect(await deduped.doParseWebhook(signed(body))).toHaveLength(1);
    expect(await deduped.doParseWebhook(signed(body))).toHaveLength(0);
  });

  it.each<[string, () => InboundWebhookRequest, string]>([
    ['a tampered body', () => ({ ...signed('[]'), rawBody: '[{}]' }), 'signature_invalid'],
    ['another secret', () => signed('[]', { secret: 'someone-elses-secret' }), 'signature_invalid'],
    [
      'a signature over another URL',
      () => signed('[]', { url: 'https://evil.example/x' }),
      'signature_invalid',
    ],
    [
      'no signature',
      () => ({ ...signed('[]'), headers: { 'X-HubSpot-Request-Timestamp': String(NOW) } }),
      'signature_missing',
    ],
    ['a request older than 5 minutes', () => signed('[]', { timestamp: NOW - 300_001 }), 'timestamp_expired'],
    [
      'a float timestamp (hubspot-api-python#263)',
      () => {
        const request = signed('[]');
        return {
          ...request,
          headers: { ...request.headers, 'X-HubSpot-Request-Timestamp': `${NOW - 1_000}.0` },
        };
      },
      'payload_invalid',
    ],
    ['a body that is not an array', () => signed('{"eventId":1}'), 'payload_invalid'],
  ])('refuses %s', async (_title, build, code) => {
    const error = await hubspot.doParseWebhook(build()).catch((caught: unknown) => caught);
    expect(WebhookVerificationError.isInstance(error)).toBe(true);
    expect((error as WebhookVerificationError).code).toBe(code);
    expect(JSON.stringify((error as WebhookVerificationError).toJSON())).not.toContain(SECRET);
  });

  it('accepts a signature over the URI with the escapes HubSpot decodes', async () => {
    const encoded = 'https://hooks.example.com/hubspot%3Atenant%40acme';
    const body = JSON.stringify([event(1, NOW - 10)]);
    const request = signed(body, { url: 'https://hooks.example.com/hubspot:tenant@acme' });
    const events = await createHubspot({
      webhookSecret: SECRET,
      webhookUrl: encoded,
      now: () => NOW,
    }).doParseWebhook(request);
    expect(events).toHaveLength(1);
  });

  it('refuses a body over the cap (default 1 MiB) before hashing or parsing it, even when it is validly signed', async () => {
    const events = Array.from({ length: 100 }, (_, index) => event(index + 1, NOW - 100));
    const delivery = JSON.stringify(events);
    // Pad the array with spaces: valid JSON, correctly signed, just too large.
    const oversize = `${delivery.slice(0, -1)}${' '.repeat(1_048_576)}]`;
    const error = await hubspot.doParseWebhook(signed(oversize)).catch((caught: unknown) => caught);
    expect(WebhookVerificationError.isInstance(error) && error.code).toBe('payload_too_large');
    expect(await hubspot.doParseWebhook(signed(delivery))).toHaveLength(100);
    // The cap is a setting: a smaller one refuses the ordinary delivery, and says so before the signature.
    const strict = createHubspot({ webhookSecret: SECRET, now: () => NOW, webhookMaxBodyBytes: 1_000 });
    const refused = await strict
      .doParseWebhook({ ...signed(delivery), headers: {} })
      .catch((caught: unknown) => caught);
    expect(refused).toMatchObject({ code: 'payload_too_large' });
    expect(() => createHubspot({ webhookSecret: SECRET, webhookMaxBodyBytes: 0 })).toThrow(
      /^createHubspot: webhookMaxBodyBytes: /,
    );
  });

  it('reads the timestamp against the adapter clock at each delivery, not at creation', async () => {
    let at = NOW;
    const moving = createHubspot({ webhookSecret: SECRET, now: () => at });
    const request = signed('[]', { timestamp: NOW });
    expect(await moving.doParseWebhook(request)).toEqual([]);
    at += 300_001;
    await expect(moving.doParseWebhook(request)).rejects.toMatchObject({ code: 'timestamp_expired' });
  });

  it('needs an absolute URL: a bare path without webhookUrl is a configuration error', async () => {
    const request = { ...signed('[]'), url: '/hubspot' };
    await expect(hubspot.doParseWebhook(request)).rejects.toThrow(/^webhookUrl: /);
  });
});

describe('webhooks from the emulator', () => {
  let hub: HubspotFixture;
  beforeAll(async () => {
    hub = await startHubspot({ seed: 31 });
  });
  afterAll(() => hub.close());

  it('parses what the emulator delivers for contacts written through the adapter', async () => {
    const deliveries: InboundWebhookRequest[] = [];
    const target = 'https://app.example.com/webhooks/hubspot';
    hub.emulator.configureWebhooks({
      targetUrl: target,
      delivery: 'manual',
      fetch: async (input, init) => {
        const request = new Request(input, init);
        deliveries.push({
          method: request.method,
          url: request.url,
          headers: request.headers,
          rawBody: new Uint8Array(await request.arrayBuffer()),
        });
        return new Response(null, { status: 204 });
      },
    });
    const adapter = createHubspot({
      accessToken: hub.token,
      baseUrl: hub.baseUrl,
      now: hub.now,
      webhookSecret: hub.emulator.credentials.clientSecret,
    });
    const written = await adapter.doUpsert(
      {
        object: 'contacts',
        idProperty: 'email',
        records: [
          { key: 'ada@hooks.example', properties: { firstname: 'Ada' } },
          { key: 'bob@hooks.example', properties: { firstname: 'Bob' } },
        ],
      },
      {},
    );
    await hub.emulator.flushWebhooks();
    expect(deliveries.length).toBeGreaterThan(0);
    const events = (await Promise.all(deliveries.map((delivery) => adapter.doParseWebhook(delivery)))).flat();
    const ids = written.map((result) => (result.status === 'created' ? result.id : ''));
    expect(
      events
        .filter((item) => item.type === 'record.created')
        .map((item) => item.recordId)
        .sort(),
    ).toEqual([...ids].sort());
    const firstnames = events.filter((item) => item.properties?.firstname !== undefined);
    expect(firstnames.map((item) => item.properties?.firstname).sort()).toEqual(['Ada', 'Bob']);
  });
});

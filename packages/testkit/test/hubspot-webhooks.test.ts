import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmulatorContext } from '../src/emulator/create-context.js';
import type { HubspotWebhookEvent } from '../src/vendors/hubspot/index.js';
import { createHubspotEmulator } from '../src/vendors/hubspot/index.js';
import { manualClock, type Served, serveApp } from './hubspot-support.js';

interface Received {
  readonly url: string;
  readonly headers: Headers;
  readonly rawBody: string;
}

describe('HubSpot emulator webhooks', () => {
  const received: Received[] = [];
  /** Statuses the receiver answers with, in order; 200 once exhausted. */
  const script: number[] = [];
  let onReceive: (() => void) | undefined;
  let receiver: Served;

  beforeAll(async () => {
    const app = new Hono();
    app.post('/hooks', async (c) => {
      received.push({ url: c.req.url, headers: c.req.raw.headers, rawBody: await c.req.text() });
      const status = script.shift() ?? 200;
      onReceive?.();
      return c.body(null, status as 200);
    });
    receiver = await serveApp(app);
  });
  afterAll(async () => {
    await receiver.close();
  });

  function setup(clientSecret = 'webhook-secret-123') {
    received.length = 0;
    script.length = 0;
    const clock = manualClock();
    const context = createEmulatorContext({ realNow: clock.realNow, timeScale: 1 });
    const targetUrl = `${receiver.baseUrl}/hooks?source=hubspot`;
    const emulator = createHubspotEmulator(context, {
      webhooks: { targetUrl, clientSecret, delivery: 'manual', retryDelayMs: 0 },
    });
    const call = (method: string, path: string, body: unknown) =>
      emulator.app.request(path, {
        method,
        headers: {
          Authorization: `Bearer ${emulator.credentials.privateAppToken}`,
          'Content-Type': 'application/json',
        },
        body: JSON.stringify(body),
      });
    return { emulator, context, clock, targetUrl, call, clientSecret };
  }

  it('POSTs contact creation and property changes as a JSON array signed with v3 (and v1) signatures', async () => {
    const { emulator, context, targetUrl, call, clientSecret } = setup();
    const created = (await (
      await call('POST', '/crm/v3/objects/contacts', { properties: { email: 'hook@example.com' } })
    ).json()) as {
      id: string;
    };
    await call('PATCH', `/crm/v3/objects/contacts/${created.id}`, { properties: { firstname: 'Hooked' } });
    expect(received).toHaveLength(0);

    const deliveries = await emulator.flushWebhooks();
    expect(deliveries).toHaveLength(1);
    expect(received).toHaveLength(1);
    const request = received[0]!;
    expect(request.headers.get('content-type')).toBe('application/json');

    const timestamp = request.headers.get('x-hubspot-request-timestamp') ?? '';
    expect(timestamp).toMatch(/^\d+$/);
    expect(Number(timestamp)).toBe(Math.floor(context.clock.now()));
    const expectedV3 = createHmac('sha256', clientSecret)
      .update(`POST${targetUrl}${request.rawBody}${timestamp}`)
      .digest('base64');
    const givenV3 = request.headers.get('x-hubspot-signature-v3') ?? '';
    expect(timingSafeEqual(Buffer.from(givenV3), Buffer.from(expectedV3))).toBe(true);
    expect(request.headers.get('x-hubspot-signature')).toBe(
      createHash('sha256').update(`${clientSecret}${request.rawBody}`).digest('hex'),
    );
    expect(request.headers.get('x-hubspot-signature-version')).toBe('v1');
    expect(request.rawBody).not.toContain(clientSecret);

    const events = JSON.parse(request.rawBody) as HubspotWebhookEvent[];
    expect(events.map((event) => [event.subscriptionType, event.propertyName, event.propertyValue])).toEqual([
      ['contact.creation', undefined, undefined],
      ['contact.propertyChange', 'email', 'hook@example.com'],
      ['contact.propertyChange', 'firstname', 'Hooked'],
    ]);
    for (const event of events) {
      expect(event).toMatchObject({
        objectId: Number(created.id),
        portalId: emulator.portalId,
        appId: emulator.appId,
        attemptNumber: 0,
        changeSource: 'API',
      });
      expect(event.occurredAt).toEqual(expect.any(Number));
    }
    expect(new Set(events.map((event) => event.eventId)).size).toBe(3);
    expect(events[0]?.changeFlag).toBe('NEW');
  });

  it('retries 5xx and 429 with a rising attemptNumber, but not other 4xx', async () => {
    const { emulator, call } = setup();
    script.push(503, 429);
    await call('POST', '/crm/v3/objects/contacts', { properties: { email: 'retry@example.com' } });
    const deliveries = await emulator.flushWebhooks();
    expect(
      deliveries.map((delivery) => [delivery.attemptNumber, delivery.status, delivery.delivered]),
    ).toEqual([
      [0, 503, false],
      [1, 429, false],
      [2, 200, true],
    ]);
    expect(
      received.map((request) => (JSON.parse(request.rawBody) as HubspotWebhookEvent[])[0]?.attemptNumber),
    ).toEqual([0, 1, 2]);

    script.push(400);
    await call('POST', '/crm/v3/objects/contacts', { properties: { email: 'gone@example.com' } });
    const refused = await emulator.flushWebhooks();
    expect(refused.map((delivery) => delivery.status)).toEqual([400]);
  });

  it('delivers only subscribed events, in requests of at most maxEventsPerRequest', async () => {
    const { emulator, call } = setup();
    emulator.configureWebhooks({
      targetUrl: `${receiver.baseUrl}/hooks`,
      clientSecret: 'webhook-secret-123',
      delivery: 'manual',
      maxEventsPerRequest: 2,
      subscriptions: [{ subscriptionType: 'contact.propertyChange', propertyName: 'lifecyclestage' }],
    });
    await call('POST', '/crm/v3/objects/contacts/batch/create', {
      inputs: ['a', 'b', 'c'].map((name) => ({
        properties: { email: `${name}@example.com`, lifecyclestage: 'lead' },
      })),
    });
    const deliveries = await emulator.flushWebhooks();
    expect(deliveries.map((delivery) => delivery.events.length)).toEqual([2, 1]);
    const events = deliveries.flatMap((delivery) => delivery.events);
    expect(
      events.every((event) => event.propertyName === 'lifecyclestage' && event.propertyValue === 'lead'),
    ).toBe(true);
    expect(events.map((event) => event.subscriptionId)).toEqual([1, 1, 1]);
  });

  it('signs with the OAuth client secret by default and delivers on its own in auto mode', async () => {
    const context = createEmulatorContext();
    received.length = 0;
    const emulator = createHubspotEmulator(context, { webhooks: { targetUrl: `${receiver.baseUrl}/hooks` } });
    emulator.seed('contacts', [{ email: 'seeded@example.com' }]);
    const arrived = new Promise<void>((resolve) => {
      onReceive = resolve;
    });
    await emulator.app.request('/crm/v3/objects/contacts', {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${emulator.credentials.privateAppToken}`,
        'Content-Type': 'application/json',
      },
      body: JSON.stringify({ properties: { email: 'auto@example.com' } }),
    });
    // No flush: auto mode sends by itself.
    await arrived;
    onReceive = undefined;
    expect(received).toHaveLength(1);
    const request = received[0]!;
    const timestamp = request.headers.get('x-hubspot-request-timestamp') ?? '';
    const expected = createHmac('sha256', emulator.credentials.clientSecret)
      .update(`POST${receiver.baseUrl}/hooks${request.rawBody}${timestamp}`)
      .digest('base64');
    expect(request.headers.get('x-hubspot-signature-v3')).toBe(expected);
    // Fixtures inserted with seed() send no webhooks.
    expect(request.rawBody).not.toContain('seeded@example.com');
    await emulator.flushWebhooks();
    expect(context.counters.get('hubspot.webhooks.delivered')).toBe(1);
  });
});

import { type BusEvent, createInProcessEventBus, type EventBusV1 } from '@leadpipe/core';
import { mailgunDescriptor } from '@leadpipe/email-mailgun';
import { sendgridDescriptor } from '@leadpipe/email-sendgrid';
import { mailgunSignature, sendgridEventSignature, sendgridSigningKeys } from '@leadpipe/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createMemoryKeyStore,
  createServer,
  crmWebhookReceiver,
  emailWebhookReceiver,
  type RunningServer,
  startServer,
  webhookReceiversFromEnv,
} from '../src/index.js';
import { hubspotEvents, hubspotHeaders, testServer } from './support.js';

const running: RunningServer[] = [];
afterEach(async () => {
  for (const server of running.splice(0)) await server.close();
});

async function serve(app: Parameters<typeof startServer>[0]): Promise<string> {
  const server = await startServer(app, { port: 0 });
  running.push(server);
  return `http://127.0.0.1:${server.port}`;
}

describe('POST /webhooks/hubspot over HTTP', () => {
  it('verifies, publishes each event once, and acknowledges a redelivery without publishing it again', async () => {
    const { server, published } = await testServer();
    const url = `${await serve(server.app)}/webhooks/hubspot`;
    const body = hubspotEvents([11, 12]);
    const first = await fetch(url, { method: 'POST', headers: hubspotHeaders(url, body), body });
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ received: 2, published: 2, duplicates: 0 });
    expect(published.map((event) => [event.id, event.type])).toEqual([
      ['hubspot:11', 'crm.record.updated'],
      ['hubspot:12', 'crm.record.updated'],
    ]);
    expect(published[0]?.payload).toMatchObject({ crm: 'hubspot', object: 'contacts', recordId: '1001' });
    const again = await fetch(url, { method: 'POST', headers: hubspotHeaders(url, body), body });
    expect(await again.json()).toEqual({ received: 2, published: 0, duplicates: 2 });
    const overlapping = hubspotEvents([12, 13]);
    const third = await fetch(url, {
      method: 'POST',
      headers: hubspotHeaders(url, overlapping),
      body: overlapping,
    });
    expect(await third.json()).toEqual({ received: 2, published: 1, duplicates: 1 });
    expect(published.map((event) => event.id)).toEqual(['hubspot:11', 'hubspot:12', 'hubspot:13']);
  });

  it('answers 404 problem+json for a vendor with no receiver', async () => {
    const { server, published } = await testServer();
    const base = await serve(server.app);
    const unknown = await fetch(`${base}/webhooks/nosuchvendor`, { method: 'POST', body: '[]' });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toBe('application/problem+json');
    expect(published).toEqual([]);
  });

  it('answers 413 for a body over the cap before verifying or reading it', async () => {
    const { hubspot, published, bus } = await testServer();
    const server = createServer({
      keys: createMemoryKeyStore(),
      webhooks: { receivers: [crmWebhookReceiver(hubspot)], bus, maxBodyBytes: 100 },
    });
    const url = `${await serve(server.app)}/webhooks/hubspot`;
    const body = hubspotEvents([1, 2, 3]);
    expect(body.length).toBeGreaterThan(100);
    expect((await fetch(url, { method: 'POST', headers: hubspotHeaders(url, body), body })).status).toBe(413);
    expect(published).toEqual([]);
  });

  it('answers 503 when the bus refuses, and publishes on the redelivery (claims are released)', async () => {
    const { hubspot } = await testServer();
    const inner = createInProcessEventBus();
    const published: BusEvent[] = [];
    await inner.subscribe({ name: 'x', types: ['#'], handler: async (event) => void published.push(event) });
    let failNext = true;
    const bus: EventBusV1 = {
      ...inner,
      specificationVersion: 'v1',
      busId: 'flaky',
      async publish(events) {
        if (failNext) {
          failNext = false;
          throw new Error('broker down');
        }
        await inner.publish(events);
      },
      subscribe: (subscription) => inner.subscribe(subscription),
      redrive: (name, options) => inner.redrive(name, options),
      close: () => inner.close(),
    };
    const errors: unknown[] = [];
    const server = createServer({
      keys: createMemoryKeyStore(),
      webhooks: { receivers: [crmWebhookReceiver(hubspot)], bus },
      onError: (error) => errors.push(error),
    });
    const url = `${await serve(server.app)}/webhooks/hubspot`;
    const body = hubspotEvents([21]);
    const failed = await fetch(url, { method: 'POST', headers: hubspotHeaders(url, body), body });
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('30');
    expect(errors).toHaveLength(1);
    const redelivered = await fetch(url, { method: 'POST', headers: hubspotHeaders(url, body), body });
    expect(await redelivered.json()).toEqual({ received: 1, published: 1, duplicates: 0 });
    expect(published.map((event) => event.id)).toEqual(['hubspot:21']);
  });
});

describe('email event webhooks', () => {
  it('takes a signed SendGrid delivery and refuses one signed by another key', async () => {
    const keys = sendgridSigningKeys(901);
    const forger = sendgridSigningKeys(901, 'forger');
    const sendgrid = sendgridDescriptor.create({ apiKey: 'SG.test-key', webhookPublicKey: keys.publicKey });
    const bus = createInProcessEventBus();
    const published: BusEvent[] = [];
    await bus.subscribe({
      name: 'x',
      types: ['email.#'],
      handler: async (event) => void published.push(event),
    });
    const server = createServer({
      keys: createMemoryKeyStore(),
      webhooks: { receivers: [emailWebhookReceiver(sendgrid)], bus },
    });
    const url = `${await serve(server.app)}/webhooks/sendgrid`;
    const body = JSON.stringify([
      {
        email: 'Ada@Acme.com',
        timestamp: Math.floor(Date.now() / 1000),
        event: 'delivered',
        sg_event_id: 'sg-1',
        sg_message_id: 'm1',
        ledgerKey: 'enr-1-s1',
      },
    ]);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const sign = (key: typeof keys) => ({
      'content-type': 'application/json',
      'x-twilio-email-event-webhook-signature': sendgridEventSignature(key.privateKey, timestamp, body),
      'x-twilio-email-event-webhook-timestamp': timestamp,
    });
    expect((await fetch(url, { method: 'POST', headers: sign(forger), body })).status).toBe(401);
    const accepted = await fetch(url, { method: 'POST', headers: sign(keys), body });
    expect(accepted.status).toBe(200);
    expect(
      published.map((event) => [event.id, event.type, (event.payload as { email: string }).email]),
    ).toEqual([['sendgrid:sg-1', 'email.delivered', 'ada@acme.com']]);
  });

  it('takes a signed Mailgun delivery and refuses a forged one', async () => {
    const signingKey = 'mailgun-signing-key-abcdef0123456789';
    const mailgun = mailgunDescriptor.create({
      apiKey: 'key-test',
      domain: 'mg.example.com',
      webhookSigningKey: signingKey,
    });
    const bus = createInProcessEventBus();
    const published: BusEvent[] = [];
    await bus.subscribe({
      name: 'x',
      types: ['email.#'],
      handler: async (event) => void published.push(event),
    });
    const server = createServer({
      keys: createMemoryKeyStore(),
      webhooks: { receivers: [emailWebhookReceiver(mailgun)], bus },
    });
    const url = `${await serve(server.app)}/webhooks/mailgun`;
    const now = Math.floor(Date.now() / 1000);
    const delivery = (key: string) =>
      JSON.stringify({
        signature: mailgunSignature(key, String(now), 'a'.repeat(50)),
        'event-data': { id: 'mg-ev-1', event: 'delivered', recipient: 'bob@acme.com', timestamp: now },
      });
    const headers = { 'content-type': 'application/json' };
    expect((await fetch(url, { method: 'POST', headers, body: delivery('wrong-key') })).status).toBe(401);
    expect((await fetch(url, { method: 'POST', headers, body: delivery(signingKey) })).status).toBe(200);
    expect(published.map((event) => [event.id, event.type])).toEqual([
      ['mailgun:mg-ev-1', 'email.delivered'],
    ]);
  });
});

describe('webhookReceiversFromEnv', () => {
  it('builds a receiver for each vendor whose variables are set and names what the others need', () => {
    const built = webhookReceiversFromEnv({
      HUBSPOT_ACCESS_TOKEN: 'pat-na1-x',
      HUBSPOT_CLIENT_SECRET: 'hs-secret',
      MAILGUN_API_KEY: 'key-x',
      MAILGUN_DOMAIN: 'mg.example.com',
      MAILGUN_WEBHOOK_SIGNING_KEY: 'signing',
    });
    expect(built.receivers.map((receiver) => receiver.id).sort()).toEqual(['hubspot', 'mailgun']);
    expect(built.skipped.map((entry) => entry.id).sort()).toEqual([
      'apollo',
      'clearbit',
      'salesforce',
      'sendgrid',
    ]);
    for (const entry of built.skipped) expect(entry.missing).toMatch(/[A-Z_]+/);
  });
});

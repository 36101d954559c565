import { createHmac } from 'node:crypto';
import { type BusEvent, createInProcessEventBus } from '@leadpipe/core';
import { clearbitDescriptor } from '@leadpipe/provider-clearbit';
import { clearbitSignature } from '@leadpipe/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createJsonLineLogger,
  createMemoryKeyStore,
  createServer,
  providerWebhookReceiver,
  type RunningServer,
  startServer,
  webhookReceiversFromEnv,
} from '../src/index.js';

const ORG = '00D000000000001AAA';
const SF_SECRET = 'salesforce-callout-secret-123456';

const running: RunningServer[] = [];
afterEach(async () => {
  for (const server of running.splice(0)) await server.close();
});

async function serveWith(receivers: Parameters<typeof createServer>[0]['webhooks']) {
  const bus = createInProcessEventBus();
  const published: BusEvent[] = [];
  await bus.subscribe({ name: 'x', types: ['#'], handler: async (event) => void published.push(event) });
  const server = createServer({ keys: createMemoryKeyStore(), webhooks: { ...receivers!, bus } });
  const started = await startServer(server.app, { port: 0 });
  running.push(started);
  return { base: `http://127.0.0.1:${started.port}`, published };
}

function outboundMessage(organizationId: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    '<soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">' +
    `<OrganizationId>${organizationId}</OrganizationId><ActionId>04k000000000001AAA</ActionId><SessionId xsi:nil="true"/>` +
    '<Notification><Id>04l000000000001AAA</Id><sObject xsi:type="sf:Lead" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>00Q000000000001AAA</sf:Id><sf:LastName>Lee</sf:LastName><sf:SystemModstamp>2026-11-25T08:59:00.000Z</sf:SystemModstamp></sObject></Notification>' +
    '</notifications></soapenv:Body></soapenv:Envelope>'
  );
}

describe('Salesforce webhooks from the environment', () => {
  const env = {
    SALESFORCE_ACCESS_TOKEN: 'y'.repeat(20),
    SALESFORCE_INSTANCE_URL: 'https://acme.my.salesforce.com',
    SALESFORCE_ORGANIZATION_ID: ORG,
    SALESFORCE_WEBHOOK_SECRET: SF_SECRET,
  };

  it('acknowledges an Outbound Message in SOAP once published, and refuses one from another org', async () => {
    const built = webhookReceiversFromEnv(env);
    expect(built.receivers.map((receiver) => receiver.id)).toEqual(['salesforce']);
    const { base, published } = await serveWith({ receivers: built.receivers });
    const headers = { 'content-type': 'text/xml; charset=utf-8' };
    const accepted = await fetch(`${base}/webhooks/salesforce`, {
      method: 'POST',
      headers,
      body: outboundMessage(ORG),
    });
    expect(accepted.status).toBe(200);
    expect(accepted.headers.get('content-type')).toMatch(/text\/xml/);
    expect(await accepted.text()).toContain('<Ack>true</Ack>');
    expect(published.map((event) => event.type)).toEqual(['crm.record.updated']);
    const forged = await fetch(`${base}/webhooks/salesforce`, {
      method: 'POST',
      headers,
      body: outboundMessage('00D000000000009ZZZ'),
    });
    expect(forged.status).toBe(401);
    expect(published).toHaveLength(1);
  });

  it('takes a signed Apex callout and answers it in JSON', async () => {
    const built = webhookReceiversFromEnv(env);
    const { base, published } = await serveWith({ receivers: built.receivers });
    const body = JSON.stringify({
      eventId: 'evt-1',
      type: 'updated',
      object: 'Lead',
      recordId: '00Q000000000001AAA',
      occurredAt: new Date().toISOString(),
      fields: { Title: 'CTO' },
    });
    const timestamp = String(Date.now());
    const signature = `sha256=${createHmac('sha256', SF_SECRET).update(`${timestamp}.${body}`).digest('hex')}`;
    const response = await fetch(`${base}/webhooks/salesforce`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-leadpipe-signature': signature,
        'x-leadpipe-timestamp': timestamp,
      },
      body,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ received: 1, published: 1, duplicates: 0 });
    expect(published[0]).toMatchObject({ id: 'salesforce:evt-1', payload: { properties: { Title: 'CTO' } } });
  });
});

describe('enrichment provider webhooks', () => {
  it('publishes a Clearbit answer as enrichment.answered, once per delivery body, and refuses a forged one', async () => {
    const apiKey = 'sk_clearbit_test_key_0123456789';
    const clearbit = clearbitDescriptor.create({ apiKey });
    const { base, published } = await serveWith({ receivers: [providerWebhookReceiver(clearbit)] });
    const body = JSON.stringify({ id: 'lead-7', type: 'person', body: null, status: 404 });
    const send = (signature: string) =>
      fetch(`${base}/webhooks/clearbit`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-signature': signature },
        body,
      });
    expect((await send(clearbitSignature('sk_wrong_key', body))).status).toBe(401);
    expect((await send(clearbitSignature(apiKey, body))).status).toBe(200);
    expect(await (await send(clearbitSignature(apiKey, body))).json()).toEqual({
      received: 1,
      published: 0,
      duplicates: 1,
    });
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      type: 'enrichment.answered',
      payload: { provider: 'clearbit', correlationId: 'lead-7', result: { status: 'not_found' } },
    });
  });
});

describe('createJsonLineLogger', () => {
  it('writes one pino-shaped JSON line per entry, with the level number', () => {
    const lines: string[] = [];
    const logger = createJsonLineLogger((line) => lines.push(line));
    logger.info({ port: 8080 }, 'listening');
    logger.warn({ vendor: 'hubspot' }, 'webhook refused');
    logger.error({ route: '/v1/leads' }, 'request failed');
    const parsed = lines.map((line) => JSON.parse(line) as { level: number; msg: string; time: number });
    expect(parsed.map((entry) => [entry.level, entry.msg])).toEqual([
      [30, 'listening'],
      [40, 'webhook refused'],
      [50, 'request failed'],
    ]);
    expect(lines.every((line) => line.endsWith('\n'))).toBe(true);
  });
});

import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { createEmulatorContext } from '../src/emulator/create-context.js';
import { createSalesforceEmulator } from '../src/vendors/salesforce/index.js';
import { type RunningSalesforce, startSalesforce } from './salesforce-support.js';

const ACK =
  '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>';

interface Received {
  readonly contentType: string | null;
  readonly soapAction: string | null;
  readonly body: string;
}

describe('Salesforce emulator Outbound Messages', () => {
  let sf: RunningSalesforce | undefined;
  afterEach(async () => {
    await sf?.close();
    sf = undefined;
  });

  function listener(answers: { status: number; body: string }[]) {
    const received: Received[] = [];
    const send: typeof fetch = async (_url, init) => {
      const headers = new Headers(init?.headers);
      received.push({
        contentType: headers.get('content-type'),
        soapAction: headers.get('soapaction'),
        body: String(init?.body),
      });
      const answer = answers.shift() ?? { status: 200, body: ACK };
      return new Response(answer.body, { status: answer.status, headers: { 'Content-Type': 'text/xml' } });
    };
    return { received, send };
  }

  const upsert = (key: string, fields: Record<string, unknown>) =>
    sf!.call(`/services/data/v62.0/sobjects/Lead/Lead_Key__c/${key}`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(fields),
    });

  it('POSTs a SOAP notification with OrganizationId per Lead change and records the Ack', async () => {
    const { received, send } = listener([]);
    sf = await startSalesforce({ outboundMessages: { url: 'https://listener.test/sf', fetch: send } });
    await upsert('k1', { LastName: 'Lee & Co <x>', Company: 'Acme', Email: 'lee@acme.io' });
    await upsert('k1', { Title: 'VP' });
    const [delivery] = await sf.emulator.deliverOutboundMessages();
    expect(delivery).toMatchObject({ url: 'https://listener.test/sf', status: 200, acknowledged: true });
    expect(delivery?.notificationIds).toHaveLength(2);
    const lead = sf.emulator.findLeadByExternalId('k1');
    expect(delivery?.leadIds).toEqual([lead?.Id, lead?.Id]);
    const [message] = received;
    expect(message?.contentType).toBe('text/xml; charset=utf-8');
    expect(message?.soapAction).toBe('""');
    expect(message?.body).toContain(
      `<OrganizationId>${sf.emulator.credentials.organizationId}</OrganizationId>`,
    );
    expect(message?.body).toContain('<notifications xmlns="http://soap.sforce.com/2005/09/outbound">');
    expect(message?.body).toContain('<sf:LastName>Lee &amp; Co &lt;x&gt;</sf:LastName>');
    expect(message?.body).toContain(`<sf:Id>${lead?.Id}</sf:Id>`);
    expect(message?.body).toContain('<sf:SystemModstamp>2026-11-25T09:00:00.000Z</sf:SystemModstamp>');
    expect(await sf.emulator.deliverOutboundMessages()).toEqual([]);
    expect(sf.context.counters.get('salesforce.outbound.acknowledged')).toBe(1);
  });

  it('delivers to a real HTTP listener that answers with the SOAP Ack', async () => {
    const bodies: string[] = [];
    const app = new Hono().post('/outbound', async (c) => {
      bodies.push(await c.req.text());
      return c.body(ACK, 200, { 'Content-Type': 'text/xml' });
    });
    const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const started = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(started));
    });
    try {
      const { port } = server.address() as AddressInfo;
      sf = await startSalesforce({ outboundMessages: { url: `http://127.0.0.1:${port}/outbound` } });
      await upsert('k1', { LastName: 'A', Company: 'B' });
      const attempts = await sf.emulator.deliverOutboundMessages();
      expect(attempts.map((attempt) => [attempt.status, attempt.acknowledged])).toEqual([[200, true]]);
      expect(bodies).toHaveLength(1);
      expect(bodies[0]).toContain('<sf:Lead_Key__c>k1</sf:Lead_Key__c>');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('keeps unacknowledged notifications queued and delivers them again', async () => {
    const { received, send } = listener([
      {
        status: 200,
        body: '<Envelope><Body><notificationsResponse><Ack>false</Ack></notificationsResponse></Body></Envelope>',
      },
      { status: 500, body: 'oops' },
    ]);
    sf = await startSalesforce({ outboundMessages: { url: 'https://listener.test/sf', fetch: send } });
    await upsert('k1', { LastName: 'A', Company: 'B' });
    expect((await sf.emulator.deliverOutboundMessages()).map((attempt) => attempt.acknowledged)).toEqual([
      false,
    ]);
    expect((await sf.emulator.deliverOutboundMessages()).map((attempt) => attempt.status)).toEqual([500]);
    const third = await sf.emulator.deliverOutboundMessages();
    expect(third.map((attempt) => attempt.acknowledged)).toEqual([true]);
    expect(
      new Set(received.map((message) => /<Notification><Id>(\w+)<\/Id>/.exec(message.body)?.[1])).size,
    ).toBe(1);
    expect(sf.emulator.outboundDeliveries().map((attempt) => attempt.acknowledged)).toEqual([
      false,
      false,
      true,
    ]);
  });

  it('splits more than 100 notifications into several messages', async () => {
    const { received, send } = listener([]);
    sf = await startSalesforce({ outboundMessages: { url: 'https://listener.test/sf', fetch: send } });
    const records = Array.from({ length: 150 }, (_, index) => ({
      attributes: { type: 'Lead' },
      Lead_Key__c: `k${index}`,
      LastName: 'N',
      Company: 'C',
    }));
    await sf!.call('/services/data/v62.0/composite/sobjects/Lead/Lead_Key__c', {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ records }),
    });
    const attempts = await sf.emulator.deliverOutboundMessages();
    expect(attempts.map((attempt) => attempt.notificationIds.length)).toEqual([100, 50]);
    expect(received.map((message) => message.body.split('<Notification>').length - 1)).toEqual([100, 50]);
  });

  it('refuses to queue without a configured listener', () => {
    const emulator = createSalesforceEmulator(createEmulatorContext());
    expect(() => emulator.queueOutboundMessages(['00QDn0000000001IAA'])).toThrow(
      "queueOutboundMessages: outboundMessages: must be set in the emulator's options (with a url) before queueing Outbound Messages",
    );
  });
});

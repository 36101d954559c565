import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMemoryLeadStore, type EmailEvent, WebhookVerificationError } from '@leadpipe/core';
import { createSendgrid, SENDGRID_LEDGER_KEY_ARG, type SendgridProvider } from '@leadpipe/email-sendgrid';
import { type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CampaignDefinition,
  type CampaignEngine,
  createCampaignEngine,
  createMemoryCampaignStore,
  ledgerKeyOf,
} from '../src/index.js';
import { leadOf } from './support.js';

const DAY = 86_400_000;
const sequence: CampaignDefinition = {
  id: 'sg-sequence',
  triggers: [{ type: 'event', event: 'lead.created' }],
  steps: [
    {
      id: 'first',
      type: 'email',
      template: {
        subject: 'Hi {{ first_name | default: "there" }}',
        html: '<p>Hello {{ first_name | default: "there" }}</p>',
        text: 'Hello {{ first_name | default: "there" }}',
      },
    },
    { id: 'pause', type: 'wait', durationMs: 2 * DAY },
    { id: 'second', type: 'email', template: { subject: 'Following up', text: 'Any thoughts?' } },
  ],
};

let emulators: RunningEmulators;
let sendgrid: SendgridProvider;
let engine: CampaignEngine | undefined;
let receiver: Server;
const ingested: EmailEvent[] = [];
const refusals: string[] = [];

beforeAll(async () => {
  // The host's webhook route: raw body and headers into the provider's verifier, the events into the engine.
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      try {
        const events = await sendgrid.doParseEvents({
          method: request.method ?? 'POST',
          url: request.url ?? '/',
          headers: request.headers,
          rawBody: Buffer.concat(chunks),
        });
        await engine?.ingestEmailEvents(events);
        ingested.push(...events);
        response.writeHead(200).end();
      } catch (error) {
        refusals.push(WebhookVerificationError.isInstance(error) ? error.code : String(error));
        response.writeHead(401).end();
      }
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/sendgrid`;
  emulators = await startEmulators({
    vendors: ['sendgrid'],
    seed: 13,
    vendorOptions: {
      sendgrid: { eventWebhook: { url, delayMs: 0, autoEvents: ['processed', 'delivered'] } },
    },
  });
  const credentials = emulators.emulators.sendgrid?.emulator.credentials;
  sendgrid = createSendgrid({
    apiKey: credentials?.apiKey,
    baseUrl: emulators.urls.sendgrid?.baseUrl,
    webhookPublicKey: credentials?.webhookPublicKey,
  });
});
afterAll(async () => {
  await engine?.close();
  await emulators.close();
  await new Promise((resolve) => receiver.close(resolve));
});

describe('the engine through @leadpipe/email-sendgrid and the SendGrid emulator', () => {
  it('sends with one-click unsubscribe headers, one body link and the ledger key; a signed bounce exits', async () => {
    const emulator = emulators.emulators.sendgrid!.emulator;
    const clock = { t: Date.now() };
    const now = () => clock.t;
    const store = createMemoryCampaignStore();
    const leads = createMemoryLeadStore({ now });
    engine = createCampaignEngine({
      campaigns: [sequence],
      store,
      leads,
      email: sendgrid,
      senders: [
        { email: 'sales@acme.example', name: 'Acme', postalAddress: 'Acme Inc, 1 Main St, Springfield' },
      ],
      unsubscribe: { baseUrl: 'https://acme.example/unsubscribe', secret: 'unsubscribe-secret-123456' },
      now,
    });
    const [ada, bob] = [leadOf(301), leadOf(302)];
    await leads.upsert([ada, bob]);
    for (const lead of [ada, bob])
      await engine.handleLeadEvent({ type: 'lead.created', lead: (await leads.get(lead.id))! });
    await engine.runDue();
    await emulator.events.dispatcher.idle();

    const messages = emulator.messages();
    expect(messages.map((message) => message.to.email).sort()).toEqual([ada.email, bob.email]);
    for (const message of messages) {
      const [enrollment] = await store.enrollmentsOfLead(message.to.email === ada.email ? ada.id : bob.id);
      const ledgerKey = ledgerKeyOf(enrollment!.id, 'first');
      // The ledger key travels as a custom arg; the ledger keeps the provider's message id.
      expect(message.customArgs[SENDGRID_LEDGER_KEY_ARG]).toBe(ledgerKey);
      expect(await store.getSend(ledgerKey)).toMatchObject({ status: 'sent', messageId: message.messageId });
      // RFC 8058 one-click unsubscribe, and exactly one unsubscribe link in each body.
      const link = /^<(https:\/\/acme\.example\/unsubscribe\?token=[^>]+)>$/.exec(
        message.headers['List-Unsubscribe'] ?? '',
      )?.[1];
      expect(link).toBeDefined();
      expect(message.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
      expect((message.html ?? '').split('acme.example/unsubscribe?token=').length - 1).toBe(1);
      expect((message.text ?? '').split(link!).length - 1).toBe(1);
      expect(message.html).toContain('Acme Inc, 1 Main St, Springfield');
    }
    // The automatic events came back signed, verified, and were counted.
    expect(refusals).toEqual([]);
    expect((await engine.stats('sg-sequence')).steps.first).toMatchObject({ sent: 2, delivered: 2 });

    // Ada's address bounces (hard): the signed webhook exits her enrollment and suppresses the address.
    const adaMessage = messages.find((message) => message.to.email === ada.email)!;
    emulator.inject.bounce({
      customArgs: { [SENDGRID_LEDGER_KEY_ARG]: adaMessage.customArgs[SENDGRID_LEDGER_KEY_ARG]! },
    });
    await emulator.events.dispatcher.idle();
    expect(refusals).toEqual([]);
    expect(
      ingested.filter((event) => event.type === 'bounced').map((event) => [event.bounce, event.messageId]),
    ).toEqual([['hard', adaMessage.messageId]]);
    expect((await store.enrollmentsOfLead(ada.id))[0]).toMatchObject({
      status: 'exited',
      reason: 'email.bounced',
    });
    expect((await store.getSuppression(ada.email!))?.reason).toBe('bounced');

    // A forged delivery is refused by the verifier and changes nothing.
    const forged = emulator.events.signedRequest(
      [emulator.events.build('unsubscribe', { email: bob.email! })],
      { forged: true },
    );
    await expect(sendgrid.doParseEvents(forged)).rejects.toMatchObject({ code: 'signature_invalid' });

    // Two days later only Bob gets the second email.
    clock.t += 2 * DAY + 1000;
    await engine.runDue();
    const second = emulator.messages().filter((message) => message.subject === 'Following up');
    expect(second.map((message) => message.to.email)).toEqual([bob.email]);
    expect((await store.enrollmentsOfLead(bob.id))[0]?.status).toBe('completed');
    const stats = await engine.stats('sg-sequence');
    expect(stats.exitedByReason).toEqual({ 'email.bounced': 1 });
    expect(stats.steps.first?.bounced).toBe(1);
  });
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createCrmEventDeduper,
  type EmailEvent,
  type EmailMessage,
  WebhookVerificationError,
} from '@leadpipe/core/adapter-kit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  bounceKind,
  createSendgrid,
  messageIdOf,
  SENDGRID_LEDGER_KEY_ARG,
  SENDGRID_SIGNATURE_HEADER,
  SENDGRID_TIMESTAMP_HEADER,
  type SendgridProvider,
} from '../src/index.js';
import { type SendgridFixture, startSendgrid } from './support.js';

let sg: SendgridFixture;
let sendgrid: SendgridProvider;
let receiver: Server;
let receiverUrl: string;
const parsed: EmailEvent[][] = [];
const refusals: string[] = [];

beforeAll(async () => {
  // The receiver a host app would run: raw body and headers into doParseEvents, 401 when refused.
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
        parsed.push(events);
        response.writeHead(200).end();
      } catch (error) {
        refusals.push(WebhookVerificationError.isInstance(error) ? error.code : String(error));
        response.writeHead(401).end();
      }
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/sendgrid`;
  sg = await startSendgrid({
    seed: 41,
    vendorOptions: { sendgrid: { eventWebhook: { url: receiverUrl, delayMs: 0, openShare: 1 } } },
  });
  sendgrid = createSendgrid({ apiKey: sg.apiKey, baseUrl: sg.baseUrl, webhookPublicKey: sg.publicKey });
});
afterAll(async () => {
  await sg.close();
  await new Promise((resolve) => receiver.close(resolve));
});
beforeEach(() => {
  sg.instance.reset();
  parsed.length = 0;
  refusals.length = 0;
});

const message = (index: number): EmailMessage => ({
  ledgerKey: `enr-${index}-s2`,
  from: { email: 'ada@news.example' },
  to: { email: `Reader${index}@Example.com` },
  subject: 'Step two',
  text: 'Hello again',
  metadata: { campaign: 'c2' },
});
const target = (index: number) => ({ customArgs: { [SENDGRID_LEDGER_KEY_ARG]: `enr-${index}-s2` } });

describe('SendGrid Event Webhook through doParseEvents', () => {
  it('verifies and parses what the emulator posts over HTTP, matching each message by ledger key and X-Message-ID', async () => {
    const results = await sendgrid.doSendBatch([message(1), message(2)], {});
    await sg.emulator.events.dispatcher.idle();
    expect(refusals).toEqual([]);
    const events = parsed.flat();
    expect(events.map((event) => [event.ledgerKey, event.type])).toEqual([
      ['enr-1-s2', 'processed'],
      ['enr-1-s2', 'delivered'],
      ['enr-1-s2', 'opened'],
      ['enr-2-s2', 'processed'],
      ['enr-2-s2', 'delivered'],
      ['enr-2-s2', 'opened'],
    ]);
    const messageId = results[0]?.status === 'accepted' ? results[0].messageId : 'none';
    for (const event of events) {
      expect(event.messageId).toBe(messageId);
      expect(event.email).toBe(`reader${event.ledgerKey?.split('-')[1]}@example.com`);
      expect((event.raw as Record<string, unknown>).campaign).toBe('c2');
    }
  });

  it('maps every SendGrid event type, hard and soft bounces, and leaves out group_resubscribe', async () => {
    await sendgrid.doSend(message(3), {});
    const build = sg.emulator.events.build;
    const raw = [
      build('deferred', target(3), { reason: '421 busy' }),
      build('bounce', target(3)),
      build('bounce', target(3), { bounceType: 'blocked' }),
      build('dropped', target(3), { reason: 'Unsubscribed Address' }),
      build('click', target(3), { url: 'https://news.example/pricing' }),
      build('spamreport', target(3)),
      build('unsubscribe', target(3)),
      build('group_unsubscribe', target(3)),
      build('group_resubscribe', target(3)),
    ];
    const events = await sendgrid.doParseEvents(sg.emulator.events.signedRequest(raw));
    expect(events.map((event) => event.type)).toEqual([
      'deferred',
      'bounced',
      'bounced',
      'dropped',
      'clicked',
      'complained',
      'unsubscribed',
      'unsubscribed',
    ]);
    expect(events[0]?.reason).toBe('421 busy');
    expect(events[1]).toMatchObject({
      bounce: 'hard',
      reason: '550 5.1.1 The email account does not exist.',
    });
    expect(events[2]?.bounce).toBe('soft');
    expect(events[3]?.reason).toBe('Unsubscribed Address');
    expect(events[4]?.url).toBe('https://news.example/pricing');
    expect(events.map((event) => event.eventId)).toEqual(raw.slice(0, 8).map((event) => event.sg_event_id));
    expect(events[0]?.occurredAt).toBe(new Date((raw[0]?.timestamp as number) * 1000).toISOString());
  });

  it('deduplicates by sg_event_id within a delivery, and across deliveries with a deduper', async () => {
    await sendgrid.doSend(message(4), {});
    const delivered = sg.emulator.events.build('delivered', target(4));
    const twice = sg.emulator.events.signedRequest([delivered, delivered]);
    expect(await sendgrid.doParseEvents(twice)).toHaveLength(1);
    expect(await sendgrid.doParseEvents(twice)).toHaveLength(1);
    const deduped = createSendgrid({
      apiKey: sg.apiKey,
      baseUrl: sg.baseUrl,
      webhookPublicKey: sg.publicKey,
      eventDeduper: createCrmEventDeduper(),
    });
    expect(await deduped.doParseEvents(twice)).toHaveLength(1);
    expect(await deduped.doParseEvents(twice)).toHaveLength(0);
  });

  it('refuses forged, tampered, unsigned, expired, future and malformed requests with the right code', async () => {
    await sendgrid.doSend(message(5), {});
    const events = [sg.emulator.events.build('delivered', target(5))];
    const refusal = async (request: Parameters<SendgridProvider['doParseEvents']>[0]) => {
      const error = await sendgrid.doParseEvents(request).catch((caught: unknown) => caught);
      expect(WebhookVerificationError.isInstance(error)).toBe(true);
      return (error as WebhookVerificationError).code;
    };
    const genuine = sg.emulator.events.signedRequest(events);
    expect(await sendgrid.doParseEvents(genuine)).toHaveLength(1);
    expect(await refusal(sg.emulator.events.signedRequest(events, { forged: true }))).toBe(
      'signature_invalid',
    );
    expect(await refusal({ ...genuine, rawBody: genuine.rawBody.replace('delivered', 'bounce') })).toBe(
      'signature_invalid',
    );
    expect(
      await refusal({
        ...genuine,
        headers: {
          ...genuine.headers,
          [SENDGRID_TIMESTAMP_HEADER]: String(Number(genuine.headers[SENDGRID_TIMESTAMP_HEADER]) + 1),
        },
      }),
    ).toBe('signature_invalid');
    expect(
      await refusal({
        ...genuine,
        headers: { ...genuine.headers, [SENDGRID_SIGNATURE_HEADER]: 'not base64 DER!' },
      }),
    ).toBe('signature_invalid');
    expect(await refusal(sg.emulator.events.signedRequest(events, { unsigned: true }))).toBe(
      'signature_missing',
    );
    expect(
      await refusal(sg.emulator.events.signedRequest(events, { signedAt: Date.now() - 10 * 60_000 })),
    ).toBe('timestamp_expired');
    expect(
      await refusal(sg.emulator.events.signedRequest(events, { signedAt: Date.now() + 10 * 60_000 })),
    ).toBe('timestamp_expired');
    const notArray = sg.emulator.events.signedRequest([]);
    const signedObject = { ...notArray, rawBody: '{}' };
    expect(await refusal(signedObject)).toBe('signature_invalid');
    const small = createSendgrid({
      apiKey: sg.apiKey,
      webhookPublicKey: sg.publicKey,
      webhookMaxBodyBytes: 10,
    });
    expect(await small.doParseEvents(genuine).catch((error: WebhookVerificationError) => error.code)).toBe(
      'payload_too_large',
    );
    const lenient = createSendgrid({
      apiKey: sg.apiKey,
      webhookPublicKey: sg.publicKey,
      webhookToleranceMs: 3_600_000,
    });
    expect(
      await lenient.doParseEvents(
        sg.emulator.events.signedRequest(events, { signedAt: Date.now() - 10 * 60_000 }),
      ),
    ).toHaveLength(1);
  });

  it('a signed body that is not an array of events is payload_invalid; without a key every request is refused', async () => {
    const keys = await import('@leadpipe/testkit');
    const signature = keys.sendgridEventSignature(
      keys.sendgridSigningKeys(41).privateKey,
      String(Math.floor(Date.now() / 1000)),
      '{"a":1}',
    );
    const error = await sendgrid
      .doParseEvents({
        method: 'POST',
        url: '/',
        headers: {
          [SENDGRID_SIGNATURE_HEADER]: signature,
          [SENDGRID_TIMESTAMP_HEADER]: String(Math.floor(Date.now() / 1000)),
        },
        rawBody: '{"a":1}',
      })
      .catch((caught: WebhookVerificationError) => caught.code);
    expect(error).toBe('payload_invalid');
    const keyless = createSendgrid({ apiKey: sg.apiKey });
    expect(
      await keyless
        .doParseEvents(sg.emulator.events.signedRequest([]))
        .catch((caught: WebhookVerificationError) => caught.code),
    ).toBe('signature_invalid');
  });

  it('emulator-injected bounces and complaints reach the receiver as verified events', async () => {
    await sendgrid.doSend(message(6), {});
    await sg.emulator.events.dispatcher.idle();
    parsed.length = 0;
    sg.emulator.inject.bounce(target(6));
    sg.emulator.inject.complaint(target(6));
    sg.emulator.inject.unsubscribe(target(6));
    await sg.emulator.events.dispatcher.idle();
    expect(refusals).toEqual([]);
    expect(parsed.flat().map((event) => [event.type, event.bounce, event.ledgerKey])).toEqual([
      ['bounced', 'hard', 'enr-6-s2'],
      ['complained', undefined, 'enr-6-s2'],
      ['unsubscribed', undefined, 'enr-6-s2'],
    ]);
  });
});

describe('event helpers', () => {
  it('bounceKind reads type, then classification, then status', () => {
    expect(bounceKind({ type: 'bounce', bounce_classification: 'Technical' })).toBe('hard');
    expect(bounceKind({ type: 'blocked', bounce_classification: 'Invalid Address' })).toBe('soft');
    expect(bounceKind({ bounce_classification: 'Invalid Address' })).toBe('hard');
    expect(bounceKind({ bounce_classification: 'Reputation' })).toBe('soft');
    expect(bounceKind({ status: '5.1.1' })).toBe('hard');
    expect(bounceKind({ status: '4.2.2' })).toBe('soft');
  });

  it('messageIdOf keeps the X-Message-ID part of sg_message_id', () => {
    expect(messageIdOf('abc123.filterdrecv-1.0')).toBe('abc123');
    expect(messageIdOf('abc123')).toBe('abc123');
    expect(messageIdOf(undefined)).toBeUndefined();
  });
});

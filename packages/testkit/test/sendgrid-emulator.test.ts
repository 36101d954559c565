import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigurationError } from '@leadpipe/core/adapter-kit';
import { EventWebhook, EventWebhookHeader } from '@sendgrid/eventwebhook';
import sgMail from '@sendgrid/mail';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseCli } from '../src/emulator/cli-options.js';
import {
  createEmulatorContext,
  createSendgridEmulator,
  type RunningEmulators,
  type SendgridEmulator,
  sendgridCredentials,
  startEmulators,
} from '../src/index.js';

/** A receiver for the emulator's Event Webhook posts. */
interface Receiver {
  readonly url: string;
  readonly received: { headers: Record<string, string>; body: string }[];
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const received: Receiver['received'] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.headers))
        if (typeof value === 'string') headers[name] = value;
      received.push({ headers, body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/sendgrid/events`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** `sgMail.client`: there at run time (the @sendgrid/client singleton), missing from 8.1.6's typings. */
const mailClient = () =>
  (sgMail as unknown as { client: { setDefaultRequest(name: 'baseUrl', value: string): void } }).client;

let running: RunningEmulators;
let emulator: SendgridEmulator;
let baseUrl: string;
let receiver: Receiver;

beforeAll(async () => {
  receiver = await startReceiver();
  running = await startEmulators({
    vendors: ['sendgrid'],
    seed: 5,
    limits: { sendgrid: { limit: 5, windowMs: 60_000 } },
    vendorOptions: {
      sendgrid: { verifiedSenders: ['news.example'], eventWebhook: { url: receiver.url, delayMs: 0 } },
    },
  });
  emulator = running.emulators.sendgrid!.emulator;
  baseUrl = running.urls.sendgrid!.baseUrl;
});
afterAll(async () => {
  await running.close();
  await receiver.close();
});
beforeEach(() => {
  running.emulators.sendgrid!.reset();
  receiver.received.length = 0;
  // @sendgrid/mail resets its base URL on every setApiKey: set it after.
  sgMail.setApiKey(emulator.credentials.apiKey);
  mailClient().setDefaultRequest('baseUrl', baseUrl);
});

const verifier = new EventWebhook();
const verifyWithSdk = (
  body: string,
  headers: Record<string, string>,
  publicKey = emulator.credentials.webhookPublicKey,
) => {
  const signature =
    headers[EventWebhookHeader.SIGNATURE()] ?? headers[EventWebhookHeader.SIGNATURE().toLowerCase()];
  const timestamp =
    headers[EventWebhookHeader.TIMESTAMP()] ?? headers[EventWebhookHeader.TIMESTAMP().toLowerCase()];
  try {
    return verifier.verifySignature(
      verifier.convertPublicKeyToECDSA(publicKey),
      body,
      signature ?? '',
      timestamp ?? '',
    );
  } catch {
    // 8.0.0 throws on a malformed signature instead of answering false.
    return false;
  }
};

describe('SendGrid emulator driven by @sendgrid/mail 8.1.6', () => {
  it('answers a send with 202 and X-Message-ID, and stores what the SDK sent', async () => {
    const [response] = await sgMail.send({
      to: { email: 'grace@example.com', name: 'Grace' },
      from: { email: 'ada@news.example', name: 'Ada' },
      subject: 'Hello from the SDK',
      text: 'plain body',
      html: '<p>html body</p>',
      categories: ['welcome', 'step-1'],
      customArgs: { leadpipe_ledger_key: 'enr-1-s1', campaign: 'c1' },
      headers: {
        'List-Unsubscribe': '<https://news.example/u/1>',
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      },
    });
    expect(response.statusCode).toBe(202);
    const messageId = response.headers['x-message-id'] as string;
    expect(messageId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Number(response.headers['x-ratelimit-limit'])).toBe(5);
    expect(Number(response.headers['x-ratelimit-remaining'])).toBe(4);
    const stored = emulator.messages();
    expect(stored).toHaveLength(1);
    const message = stored[0]!;
    expect(message.messageId).toBe(messageId);
    expect(message.sgMessageId.startsWith(`${messageId}.`)).toBe(true);
    expect(message).toMatchObject({
      from: { email: 'ada@news.example', name: 'Ada' },
      to: { email: 'grace@example.com', name: 'Grace' },
      subject: 'Hello from the SDK',
      text: 'plain body',
      html: '<p>html body</p>',
      categories: ['welcome', 'step-1'],
      customArgs: { leadpipe_ledger_key: 'enr-1-s1', campaign: 'c1' },
    });
    expect(message.headers['List-Unsubscribe']).toBe('<https://news.example/u/1>');
    expect(emulator.findByCustomArg('leadpipe_ledger_key', 'enr-1-s1')).toEqual(message);
  });

  it('sends one personalization per recipient with sendMultiple, under one X-Message-ID', async () => {
    const [response] = await sgMail.sendMultiple({
      to: ['a@example.com', 'b@example.com', 'c@example.com'],
      from: 'ada@news.example',
      subject: 'Batch',
      text: 'same body',
    });
    expect(response.statusCode).toBe(202);
    const stored = emulator.messages();
    expect(stored.map((message) => message.to.email)).toEqual([
      'a@example.com',
      'b@example.com',
      'c@example.com',
    ]);
    expect(new Set(stored.map((message) => message.messageId))).toEqual(
      new Set([response.headers['x-message-id']]),
    );
    expect(new Set(stored.map((message) => message.sgMessageId)).size).toBe(3);
    expect(stored.map((message) => message.personalization)).toEqual([0, 1, 2]);
  });

  it("refuses what SendGrid refuses, with SendGrid's error body, and stores nothing", async () => {
    const invalid = await sgMail
      .send({ to: 'not-an-address', from: 'ada@news.example', subject: 'x', text: 'x' })
      .then(
        () => undefined,
        (error: unknown) => error as { code: number; response: { body: unknown } },
      );
    expect(invalid?.code).toBe(400);
    expect(invalid?.response.body).toEqual({
      errors: [
        { field: 'personalizations.0.to.0.email', message: 'Does not contain a valid address.', help: null },
      ],
    });
    const unverified = await sgMail
      .send({ to: 'g@example.com', from: 'ada@elsewhere.example', subject: 'x', text: 'x' })
      .then(
        () => undefined,
        (error: unknown) => error as { code: number; response: { body: { errors: { field: string }[] } } },
      );
    expect(unverified?.code).toBe(403);
    expect(unverified?.response.body.errors[0]?.field).toBe('from');
    const reserved = await sgMail
      .send({
        to: 'g@example.com',
        from: 'ada@news.example',
        subject: 'x',
        text: 'x',
        headers: { 'Reply-To': 'x@y.example' },
      })
      .then(
        () => undefined,
        (error: unknown) => error as { code: number },
      );
    expect(reserved?.code).toBe(400);
    expect(emulator.messages()).toHaveLength(0);

    sgMail.setApiKey('SG.wrong.key-that-is-not-the-emulators');
    mailClient().setDefaultRequest('baseUrl', baseUrl);
    const unauthorized = await sgMail
      .send({ to: 'g@example.com', from: 'ada@news.example', subject: 'x', text: 'x' })
      .then(
        () => undefined,
        (error: unknown) => error as { code: number; response: { body: { errors: { message: string }[] } } },
      );
    expect(unauthorized?.code).toBe(401);
    expect(unauthorized?.response.body.errors[0]?.message).toBe(
      'The provided authorization grant is invalid, expired, or revoked',
    );
  });

  it('answers 429 with X-RateLimit headers once the window is used up', async () => {
    const send = () =>
      sgMail.send({ to: 'g@example.com', from: 'ada@news.example', subject: 'x', text: 'x' });
    for (let index = 0; index < 5; index++) await send();
    const refused = await send().then(
      () => undefined,
      (error: unknown) =>
        error as { code: number; response: { headers: Record<string, string>; body: unknown } },
    );
    expect(refused?.code).toBe(429);
    expect(refused?.response.headers['x-ratelimit-remaining']).toBe('0');
    expect(Number(refused?.response.headers['x-ratelimit-reset']) * 1000).toBeGreaterThan(Date.now());
    expect(refused?.response.body).toEqual({
      errors: [{ field: null, message: 'too many requests', help: null }],
    });
    expect(emulator.messages()).toHaveLength(5);
    expect(running.counters.get('sendgrid.429')).toBe(1);
  });

  it('injects faults like the other emulators (5xx in SendGrid’s error shape)', async () => {
    running.emulators.sendgrid!.faults.queue('serverError');
    const failed = await sgMail
      .send({ to: 'g@example.com', from: 'ada@news.example', subject: 'x', text: 'x' })
      .then(
        () => undefined,
        (error: unknown) => error as { code: number; response: { body: { errors: unknown[] } } },
      );
    expect(failed?.code).toBeGreaterThanOrEqual(500);
    expect(failed?.response.body.errors).toHaveLength(1);
    expect(emulator.messages()).toHaveLength(0);
  });
});

describe('SendGrid emulator Event Webhook, verified by @sendgrid/eventwebhook 8.0.0', () => {
  it('posts signed processed and delivered events that the SDK verifies, matching stored messages', async () => {
    await sgMail.send({
      to: 'grace@example.com',
      from: 'ada@news.example',
      subject: 'x',
      text: 'x',
      customArgs: { leadpipe_ledger_key: 'enr-7-s1' },
    });
    await emulator.events.dispatcher.idle();
    expect(receiver.received).toHaveLength(1);
    const { headers, body } = receiver.received[0]!;
    expect(verifyWithSdk(body, headers)).toBe(true);
    const events = JSON.parse(body) as Record<string, unknown>[];
    expect(events.map((event) => event.event)).toEqual(['processed', 'delivered']);
    const stored = emulator.messages()[0]!;
    for (const event of events) {
      expect(event).toMatchObject({
        email: 'grace@example.com',
        sg_message_id: stored.sgMessageId,
        leadpipe_ledger_key: 'enr-7-s1',
      });
      expect(typeof event.sg_event_id).toBe('string');
    }
  });

  it('injects bounces, complaints and unsubscribes as signed posts', async () => {
    await sgMail.send({
      to: 'b@example.com',
      from: 'ada@news.example',
      subject: 'x',
      text: 'x',
      customArgs: { k: 'one' },
    });
    await emulator.events.dispatcher.idle();
    receiver.received.length = 0;
    const hard = emulator.inject.bounce({ customArgs: { k: 'one' } });
    const soft = emulator.inject.bounce({ customArgs: { k: 'one' } }, { soft: true });
    const complaint = emulator.inject.complaint({ email: 'B@example.com' });
    const unsubscribe = emulator.inject.unsubscribe({ customArgs: { k: 'one' } });
    await emulator.events.dispatcher.idle();
    expect(receiver.received).toHaveLength(4);
    for (const { headers, body } of receiver.received) expect(verifyWithSdk(body, headers)).toBe(true);
    const posted = receiver.received.map(({ body }) => (JSON.parse(body) as Record<string, unknown>[])[0]!);
    // Each injected event is its own post, sent concurrently: SendGrid promises no order between posts.
    expect(posted.map((event) => String(event.sg_event_id)).sort()).toEqual(
      [hard, soft, complaint, unsubscribe].map((e) => String(e.sg_event_id)).sort(),
    );
    expect(hard).toMatchObject({ event: 'bounce', type: 'bounce', bounce_classification: 'Invalid Address' });
    expect(soft).toMatchObject({ event: 'bounce', type: 'blocked' });
    expect(complaint.event).toBe('spamreport');
    expect(() => emulator.inject.open({ customArgs: { k: 'nobody' } })).toThrow(/no stored SendGrid message/);
  });

  it('forged, tampered and unsigned requests do not verify with the SDK', async () => {
    await sgMail.send({
      to: 'f@example.com',
      from: 'ada@news.example',
      subject: 'x',
      text: 'x',
      customArgs: { k: 'f' },
    });
    const events = [emulator.events.build('delivered', { customArgs: { k: 'f' } })];
    const genuine = emulator.events.signedRequest(events);
    expect(verifyWithSdk(genuine.rawBody, genuine.headers)).toBe(true);
    const forged = emulator.events.signedRequest(events, { forged: true });
    expect(verifyWithSdk(forged.rawBody, forged.headers)).toBe(false);
    expect(verifyWithSdk(genuine.rawBody.replace('delivered', 'delivereD'), genuine.headers)).toBe(false);
    const unsigned = emulator.events.signedRequest(events, { unsigned: true });
    expect(Object.keys(unsigned.headers)).toEqual(['content-type']);
    // The public key the settings endpoint publishes is the one that verifies.
    const settings = await fetch(`${baseUrl}/v3/user/webhooks/event/settings/signed`, {
      headers: { authorization: `Bearer ${emulator.credentials.apiKey}` },
    }).then((response) => response.json() as Promise<{ enabled: boolean; public_key: string }>);
    expect(settings).toEqual({ enabled: true, public_key: emulator.credentials.webhookPublicKey });
    expect(verifyWithSdk(genuine.rawBody, genuine.headers, settings.public_key)).toBe(true);
  });
});

describe('leadpipe-emulator --vendors sendgrid', () => {
  // The command's own path in process (parseCli, then startEmulators; the command prints `urls` and
  // `credentials` as its JSON line): spawning it is covered once for every vendor by emulator-cli.test.ts.
  it('parses --vendors sendgrid and serves mail send with the base URL, API key and webhook public key', async () => {
    const options = parseCli(['--vendors', 'sendgrid', '--port', '0', '--seed', '3']);
    expect(options?.vendors).toEqual(['sendgrid']);
    const cli = await startEmulators({ ...options, truth: { people: 20, companies: 5 } });
    try {
      const sendgrid = { ...cli.urls.sendgrid!, credentials: cli.credentials.sendgrid! };
      expect(JSON.parse(JSON.stringify({ vendors: { sendgrid } })).vendors.sendgrid).toEqual({
        baseUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
        credentials: sendgridCredentials(3),
      });
      const response = await fetch(`${sendgrid.baseUrl}/v3/mail/send`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${sendgrid.credentials.apiKey}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({
          personalizations: [{ to: [{ email: 'cli@example.com' }] }],
          from: { email: 'cli@news.example' },
          subject: 'cli',
          content: [{ type: 'text/plain', value: 'cli' }],
        }),
      });
      expect(response.status).toBe(202);
      expect(response.headers.get('x-message-id')).toBe(
        cli.emulators.sendgrid!.emulator.messages()[0]?.messageId,
      );
    } finally {
      await cli.close();
    }
  });
});

describe('createSendgridEmulator options', () => {
  it.each([
    [{ limit: 0 }, 'limit'],
    [{ windowMs: -5 }, 'windowMs'],
    [{ apiKey: 'a b' }, 'apiKey'],
    [{ eventWebhook: { url: 'not a url' } }, 'eventWebhook.url'],
    [{ eventWebhook: { autoEvents: ['delivered', 'bogus'] } }, 'eventWebhook.autoEvents.1'],
    [{ eventWebhook: { openShare: 2 } }, 'eventWebhook.openShare'],
    [{ verifiedSenders: 'x' }, 'verifiedSenders'],
    [{ nope: 1 }, 'nope'],
  ])('refuses %j naming %s', (options, field) => {
    let caught: unknown;
    try {
      createSendgridEmulator(createEmulatorContext(), options as never);
    } catch (error) {
      caught = error;
    }
    expect(ConfigurationError.isInstance(caught)).toBe(true);
    expect((caught as ConfigurationError).issues.map((issue) => issue.field)).toContain(field);
  });

  it('defaults: the seed’s credentials, 600 sends per second', () => {
    const emulator = createSendgridEmulator(createEmulatorContext({ seed: 9 }));
    expect(emulator.credentials).toEqual(sendgridCredentials(9));
    expect(emulator.limits).toEqual({ limit: 600, windowMs: 1000 });
  });
});

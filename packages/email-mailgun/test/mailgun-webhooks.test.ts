import { createHmac } from 'node:crypto';
import {
  ConfigurationError,
  type EmailEvent,
  type EmailSendAccepted,
  WebhookVerificationError,
} from '@leadpipe/core';
import { type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { computeMailgunSignature, createMailgun, type MailgunProviderSettings } from '../src/index.js';
import { inbound, message, receiver, rejection } from './support.js';

let running: RunningEmulators;
beforeAll(async () => {
  running = await startEmulators({ vendors: ['mailgun'], seed: 12 });
});
afterAll(() => running.close());
afterEach(() => {
  running.emulators.mailgun!.reset();
  vi.unstubAllEnvs();
});

const emulator = () => running.emulators.mailgun!;
const credentials = () => running.credentials.mailgun!;

function provider(overrides: MailgunProviderSettings = {}) {
  return createMailgun({
    apiKey: credentials().apiKey,
    domain: credentials().domain,
    webhookSigningKey: credentials().webhookSigningKey,
    baseUrl: running.urls.mailgun!.baseUrl,
    ...overrides,
  });
}

async function sent(mailgun = provider(), overrides: Parameters<typeof message>[0] = {}) {
  const result = (await mailgun.doSend(message(overrides), {})) as EmailSendAccepted;
  expect(result.status).toBe('accepted');
  return result;
}

async function refusal(promise: PromiseLike<unknown>): Promise<WebhookVerificationError> {
  const error = await rejection(promise);
  expect(WebhookVerificationError.isInstance(error)).toBe(true);
  const text = `${(error as Error).message} ${JSON.stringify(error)}`;
  expect(text).not.toContain(credentials().webhookSigningKey!);
  expect(text).not.toContain(credentials().apiKey!);
  return error as WebhookVerificationError;
}

describe('event webhooks the emulator signs', () => {
  it('map every Mailgun event to an EmailEvent carrying the ledger key and message id', async () => {
    const mailgun = provider();
    const result = await sent(mailgun);
    const cases: [Parameters<ReturnType<typeof emulator>['emulator']['emit']>[1], object, object?][] = [
      ['accepted', { type: 'processed' }],
      ['delivered', { type: 'delivered' }],
      ['opened', { type: 'opened' }],
      [
        'clicked',
        { type: 'clicked', url: 'https://example.com/pricing' },
        { url: 'https://example.com/pricing' },
      ],
      ['complained', { type: 'complained' }],
      ['unsubscribed', { type: 'unsubscribed' }],
      [
        'failed',
        { type: 'bounced', bounce: 'hard', reason: expect.stringContaining('bounce: 5.1.1') },
        { severity: 'permanent' },
      ],
      [
        'failed',
        { type: 'bounced', bounce: 'soft', reason: expect.stringContaining('generic: 4.2.1') },
        { severity: 'temporary' },
      ],
      [
        'failed',
        { type: 'dropped', reason: expect.stringContaining('suppress-bounce') },
        { reason: 'suppress-bounce' },
      ],
    ];
    const ids = new Set<string>();
    for (const [name, expected, details] of cases) {
      const delivery = emulator().emulator.emit(result.messageId, name, details);
      const events = await mailgun.doParseEvents(inbound(delivery.body));
      expect(events, name).toHaveLength(1);
      const event = events[0]!;
      expect(event, name).toMatchObject({
        ...expected,
        email: 'bob@example.com',
        ledgerKey: 'enr-42-s1',
        messageId: result.messageId,
      });
      const data = JSON.parse(delivery.body)['event-data'];
      expect(event.eventId).toBe(data.id);
      expect(event.occurredAt).toBe(new Date(Math.round(data.timestamp * 1000)).toISOString());
      if (event.type !== 'bounced') expect(event.bounce).toBeUndefined();
      ids.add(event.eventId);
    }
    expect(ids.size).toBe(cases.length);
  });

  it('ignore events leadpipe has no type for, after verifying them', async () => {
    const mailgun = provider();
    const delivery = emulator().emulator.emit((await sent(mailgun)).messageId, 'delivered');
    const body = JSON.parse(delivery.body);
    body['event-data'].event = 'stored';
    expect(await mailgun.doParseEvents(inbound(JSON.stringify(body)))).toEqual([]);
    const forged = { ...body, signature: { ...body.signature, token: 'f'.repeat(50) } };
    await refusal(mailgun.doParseEvents(inbound(JSON.stringify(forged))));
  });

  it('parse a forwarded reply (urlencoded or multipart) into a replied event naming the message replied to', async () => {
    const mailgun = provider();
    const result = await sent(mailgun);
    const reply = emulator().emulator.reply(result.messageId, { text: 'Sounds good' });
    const [event] = await mailgun.doParseEvents(inbound(reply.body, reply.contentType));
    expect(event).toMatchObject({
      type: 'replied',
      email: 'bob@example.com',
      messageId: result.messageId,
      raw: { 'In-Reply-To': result.messageId },
    });
    expect(event!.eventId).toMatch(/@mail\.example\.com$/);
    expect(JSON.stringify(event!.raw)).not.toContain('Sounds good');
    // The same fields as multipart/form-data, with a fresh signature.
    const form = new FormData();
    const fields = new URLSearchParams(emulator().emulator.reply(result.messageId).body);
    for (const [name, value] of fields)
      if (name !== 'In-Reply-To' && name !== 'Message-Id') form.append(name, value);
    const multipart = new Request('http://x/', { method: 'POST', body: form });
    const [fromHeaders] = await mailgun.doParseEvents(
      inbound(await multipart.text(), multipart.headers.get('content-type')!),
    );
    // In-Reply-To read from the message-headers list when it is not a field of its own.
    expect(fromHeaders).toMatchObject({ type: 'replied', messageId: result.messageId });
  });
});

describe('webhooks that are not authentic are refused', () => {
  it('forged: signed with another key, or with a changed token or timestamp', async () => {
    const mailgun = provider();
    const result = await sent(mailgun);
    const body = JSON.parse(emulator().emulator.emit(result.messageId, 'delivered').body);
    const { timestamp, token } = body.signature;
    const variants = [
      {
        ...body.signature,
        signature: createHmac('sha256', 'another-key')
          .update(timestamp + token)
          .digest('hex'),
      },
      {
        ...body.signature,
        token: `${token.slice(0, -1)}0` === token ? `${token.slice(0, -1)}1` : `${token.slice(0, -1)}0`,
      },
      { ...body.signature, timestamp: String(Number(timestamp) - 1) },
      { ...body.signature, signature: 'zz' },
    ];
    for (const signature of variants) {
      const error = await refusal(mailgun.doParseEvents(inbound(JSON.stringify({ ...body, signature }))));
      expect(error.code).toBe('signature_invalid');
    }
    const missing = await refusal(
      mailgun.doParseEvents(inbound(JSON.stringify({ 'event-data': body['event-data'] }))),
    );
    expect(missing.code).toBe('signature_missing');
    // The untouched delivery still verifies: none of the refusals used up its token.
    expect(await mailgun.doParseEvents(inbound(JSON.stringify(body)))).toHaveLength(1);
  });

  it('stale or from the future: outside the tolerance of the clock', async () => {
    let now = Date.now();
    const mailgun = provider({ now: () => now, webhookToleranceMs: 60_000 });
    const result = await sent(mailgun);
    const body = emulator().emulator.emit(result.messageId, 'opened').body;
    now += 61_000;
    const stale = await refusal(mailgun.doParseEvents(inbound(body)));
    expect(stale.code).toBe('timestamp_expired');
    now -= 122_000;
    expect((await refusal(mailgun.doParseEvents(inbound(body)))).code).toBe('timestamp_expired');
    now += 61_000;
    expect(await mailgun.doParseEvents(inbound(body))).toHaveLength(1);
    // Old signatures made with the right key are refused too.
    const old = emulator().emulator.sign(Math.floor(now / 1000) - 3600);
    const oldBody = JSON.stringify({ ...JSON.parse(body), signature: old });
    expect((await refusal(mailgun.doParseEvents(inbound(oldBody)))).code).toBe('timestamp_expired');
  });

  it('replayed: a token is accepted once, whatever the body', async () => {
    const mailgun = provider();
    const result = await sent(mailgun);
    const body = emulator().emulator.emit(result.messageId, 'clicked').body;
    expect(await mailgun.doParseEvents(inbound(body))).toHaveLength(1);
    const replay = await refusal(mailgun.doParseEvents(inbound(body)));
    expect(replay.code).toBe('signature_invalid');
    expect(replay.message).toContain('replay');
    // The same signature on another event: still the same token.
    const other = JSON.parse(emulator().emulator.emit(result.messageId, 'unsubscribed').body);
    other.signature = JSON.parse(body).signature;
    expect((await refusal(mailgun.doParseEvents(inbound(JSON.stringify(other))))).message).toContain(
      'replay',
    );
    // A reply's token is guarded too.
    const reply = emulator().emulator.reply(result.messageId);
    await mailgun.doParseEvents(inbound(reply.body, reply.contentType));
    await refusal(mailgun.doParseEvents(inbound(reply.body, reply.contentType)));
  });

  it('replay memory is bounded, and a shared guard can replace it', async () => {
    const seen: string[] = [];
    const shared = {
      seen: (providerId: string, token: string) => {
        const key = `${providerId}|${token}`;
        const known = seen.includes(key);
        if (!known) seen.push(key);
        return known;
      },
    };
    const first = provider({ webhookReplayGuard: shared });
    const second = provider({ webhookReplayGuard: shared });
    const result = await sent(first);
    const body = emulator().emulator.emit(result.messageId, 'delivered').body;
    expect(await first.doParseEvents(inbound(body))).toHaveLength(1);
    // Another process sharing the guard refuses the replay.
    expect((await refusal(second.doParseEvents(inbound(body)))).message).toContain('replay');
    expect(seen).toHaveLength(1);

    const small = provider({ webhookMaxTokens: 2 });
    const bodies = ['opened', 'opened', 'opened'].map(
      (name) => emulator().emulator.emit(result.messageId, name as 'opened').body,
    );
    for (const item of bodies) expect(await small.doParseEvents(inbound(item))).toHaveLength(1);
    // The newest two are remembered; the oldest was forgotten to keep memory bounded.
    await refusal(small.doParseEvents(inbound(bodies[2]!)));
    await refusal(small.doParseEvents(inbound(bodies[1]!)));
  });

  it('malformed or too large bodies, and a missing signing key', async () => {
    const mailgun = provider({ webhookMaxBodyBytes: 4_096 });
    expect((await refusal(mailgun.doParseEvents(inbound('not json')))).code).toBe('payload_invalid');
    expect((await refusal(mailgun.doParseEvents(inbound('[]')))).code).toBe('payload_invalid');
    expect((await refusal(mailgun.doParseEvents(inbound('x'.repeat(5_000))))).code).toBe('payload_too_large');
    const signature = emulator().emulator.sign();
    const noEvent = JSON.stringify({ signature, 'event-data': { event: 'delivered', recipient: 'a@b.co' } });
    const missingId = await refusal(mailgun.doParseEvents(inbound(noEvent)));
    expect(missingId).toMatchObject({ code: 'payload_invalid' });
    expect(missingId.message).toContain('event-data.id');
    vi.stubEnv('MAILGUN_WEBHOOK_SIGNING_KEY', '');
    const unset = provider({ webhookSigningKey: undefined });
    const error = await rejection(unset.doParseEvents(inbound(noEvent)));
    expect(ConfigurationError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain('MAILGUN_WEBHOOK_SIGNING_KEY');
  });

  it('computeMailgunSignature matches what the emulator signs', () => {
    const block = emulator().emulator.sign(1_700_000_000, 'a'.repeat(50));
    expect(computeMailgunSignature(credentials().webhookSigningKey!, block.timestamp, block.token)).toBe(
      block.signature,
    );
  });
});

describe('end to end over HTTP', () => {
  it('the emulator posts signed events to a host that parses them; the events name the ledger keys sent', async () => {
    const served = await startEmulators({
      vendors: ['mailgun'],
      seed: 12,
      vendorOptions: { mailgun: { eventDelayMs: 0, bouncingRecipients: ['gone@example.com'] } },
    });
    const mailgun = createMailgun({ ...served.credentials.mailgun, baseUrl: served.urls.mailgun!.baseUrl });
    const events: EmailEvent[] = [];
    const refused: unknown[] = [];
    const host = await receiver(async (request) => {
      try {
        events.push(...(await mailgun.doParseEvents(request)));
        return 200;
      } catch (error) {
        refused.push(error);
        return 406;
      }
    });
    const mailgunEmulator = served.emulators.mailgun!.emulator;
    mailgunEmulator.setWebhookUrl(host.url);
    mailgunEmulator.setRouteUrl(host.url);
    try {
      const ok = (await mailgun.doSend(message({ ledgerKey: 'enr-1-s0' }), {})) as EmailSendAccepted;
      const gone = (await mailgun.doSend(
        message({ ledgerKey: 'enr-2-s0', to: { email: 'gone@example.com' } }),
        {},
      )) as EmailSendAccepted;
      mailgunEmulator.reply(ok.messageId);
      await mailgunEmulator.webhooks.idle();
      expect(refused).toEqual([]);
      const summary = events.map((event) => [
        event.type,
        event.ledgerKey ?? null,
        event.messageId,
        event.bounce ?? null,
      ]);
      expect(summary).toEqual(
        expect.arrayContaining([
          ['delivered', 'enr-1-s0', ok.messageId, null],
          ['bounced', 'enr-2-s0', gone.messageId, 'hard'],
          ['replied', null, ok.messageId, null],
        ]),
      );
      expect(events).toHaveLength(3);
      // A redelivery of the same signed body is refused (406: Mailgun does not retry it).
      const first = mailgunEmulator.webhooks.sent()[0]!;
      const again = await fetch(host.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: first.body,
      });
      expect(again.status).toBe(406);
      expect(refused).toHaveLength(1);
    } finally {
      await served.close();
      await host.close();
    }
  });
});

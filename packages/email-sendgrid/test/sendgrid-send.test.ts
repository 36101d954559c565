import { ApiCallError, type EmailMessage, type RateLimitState } from '@leadpipe/core/adapter-kit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSendgrid, SENDGRID_LEDGER_KEY_ARG } from '../src/index.js';
import { cannedFetch, type SendgridFixture, startSendgrid } from './support.js';

let sg: SendgridFixture;
const canned = cannedFetch();

beforeAll(async () => {
  sg = await startSendgrid({ seed: 31, limits: { sendgrid: { limit: 50, windowMs: 60_000 } } });
});
afterAll(() => sg.close());
beforeEach(() => {
  sg.instance.reset();
  canned.calls.length = 0;
  canned.backend.reset?.();
});

const provider = (extra: Parameters<typeof createSendgrid>[0] = {}) =>
  createSendgrid({ apiKey: sg.apiKey, baseUrl: sg.baseUrl, fetch: canned.fetch, ...extra });

const message = (index: number, overrides: Partial<EmailMessage> = {}): EmailMessage => ({
  ledgerKey: `enr-${index}-s1`,
  from: { email: 'ada@news.example', name: 'Ada' },
  to: { email: `reader${index}@example.com` },
  subject: 'Step one',
  text: 'Hello there',
  html: '<p>Hello there</p>',
  headers: {
    'List-Unsubscribe': `<https://news.example/u/${index}>`,
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
  },
  tags: ['campaign-1'],
  metadata: { campaign: 'c1' },
  ...overrides,
});

const bodyOf = (index = 0) => JSON.parse(canned.calls[index]?.body ?? '{}') as Record<string, unknown>;

describe('createSendgrid: mail send', () => {
  it('writes the v3 body: one personalization with the ledger key in custom_args, headers, categories, text first', async () => {
    const result = await provider().doSend(message(1, { replyTo: { email: 'replies@news.example' } }), {});
    expect(result.status).toBe('accepted');
    expect(canned.calls[0]?.path).toBe('/v3/mail/send');
    expect(canned.calls[0]?.headers.get('authorization')).toBe(`Bearer ${sg.apiKey}`);
    expect(bodyOf()).toEqual({
      personalizations: [
        {
          to: [{ email: 'reader1@example.com' }],
          subject: 'Step one',
          headers: {
            'List-Unsubscribe': '<https://news.example/u/1>',
            'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
          },
          custom_args: { campaign: 'c1', [SENDGRID_LEDGER_KEY_ARG]: 'enr-1-s1' },
        },
      ],
      from: { email: 'ada@news.example', name: 'Ada' },
      reply_to: { email: 'replies@news.example' },
      content: [
        { type: 'text/plain', value: 'Hello there' },
        { type: 'text/html', value: '<p>Hello there</p>' },
      ],
      categories: ['campaign-1'],
    });
    const stored = sg.emulator.findByCustomArg(SENDGRID_LEDGER_KEY_ARG, 'enr-1-s1');
    expect(result.status === 'accepted' && result.messageId).toBe(stored?.messageId);
    expect(stored?.replyTo).toEqual({ email: 'replies@news.example' });
  });

  it('sends to the EU host with region eu, and sandbox mode stores nothing', async () => {
    const seen: string[] = [];
    const eu = createSendgrid({
      apiKey: 'SG.test-key-for-the-eu-host',
      region: 'eu',
      fetch: async (input) => {
        seen.push(new Request(input).url);
        return new Response(null, { status: 202, headers: { 'x-message-id': 'eu-id' } });
      },
    });
    expect(await eu.doSend(message(2), {})).toMatchObject({ status: 'accepted', messageId: 'eu-id' });
    expect(seen).toEqual(['https://api.eu.sendgrid.com/v3/mail/send']);
    const sandbox = await provider({ sandboxMode: true }).doSend(message(3), {});
    expect(sandbox.status).toBe('accepted');
    expect(bodyOf()).toMatchObject({ mail_settings: { sandbox_mode: { enable: true } } });
    expect(sg.emulator.messages()).toHaveLength(0);
  });

  it('batches messages sharing their content into one request; splits different content and repeated addresses', async () => {
    const batch = [
      message(1),
      message(2),
      message(3, { text: 'Another body', html: '<p>Another body</p>' }),
      message(4, { to: { email: 'READER1@example.com' } }),
      message(5),
    ];
    const results = await provider().doSendBatch(batch, {});
    expect(results.map((result) => [result.ledgerKey, result.status])).toEqual(
      batch.map((item) => [item.ledgerKey, 'accepted']),
    );
    // [1, 2] then [3] (own body) then [4, 5] (reader1 again starts a new request).
    expect(
      canned.calls.map((call) => (JSON.parse(call.body ?? '{}').personalizations as unknown[]).length),
    ).toEqual([2, 1, 2]);
    const ids = results.map((result) => (result.status === 'accepted' ? result.messageId : ''));
    expect(ids[0]).toBe(ids[1]);
    expect(new Set(ids).size).toBe(3);
    for (const item of batch) {
      const stored = sg.emulator.findByCustomArg(SENDGRID_LEDGER_KEY_ARG, item.ledgerKey);
      expect(stored?.to.email).toBe(item.to.email);
      expect(stored?.headers['List-Unsubscribe']).toBe(item.headers?.['List-Unsubscribe']);
    }
  });

  it('fails the personalization SendGrid blames and sends the rest of the batch once more', async () => {
    const batch = [message(1), message(2, { to: { email: 'broken' } }), message(3)];
    const results = await provider().doSendBatch(batch, {});
    expect(results.map((result) => result.status)).toEqual(['accepted', 'failed', 'accepted']);
    const failure = results[1];
    expect(failure).toMatchObject({
      ledgerKey: 'enr-2-s1',
      code: 'invalid_message',
      retryable: false,
      field: 'personalizations.1.to.0.email',
    });
    expect(canned.calls).toHaveLength(2);
    expect(sg.emulator.messages().map((stored) => stored.customArgs[SENDGRID_LEDGER_KEY_ARG])).toEqual([
      'enr-1-s1',
      'enr-3-s1',
    ]);
  });

  it('refuses before sending what SendGrid would refuse (reserved header, colliding metadata, no body)', async () => {
    const sendgrid = provider();
    const results = await sendgrid.doSendBatch(
      [
        message(1, { headers: { Subject: 'x' } }),
        message(2, { metadata: { sg_event_id: 'x' } }),
        message(3, { text: '', html: undefined }),
        message(4, { tags: Array.from({ length: 11 }, (_, index) => `t${index}`) }),
        message(5),
      ],
      {},
    );
    expect(results.map((result) => (result.status === 'failed' ? result.field : 'accepted'))).toEqual([
      'headers.Subject',
      'metadata.sg_event_id',
      'content',
      'tags',
      'accepted',
    ]);
    expect(canned.calls).toHaveLength(1);
  });

  it('a 403 for an unverified sender is a permanent failed result naming from', async () => {
    const strict = await startSendgrid({
      seed: 32,
      vendorOptions: { sendgrid: { verifiedSenders: ['ok.example'] } },
    });
    try {
      const sendgrid = createSendgrid({ apiKey: strict.apiKey, baseUrl: strict.baseUrl });
      const result = await sendgrid.doSend(message(1), {});
      expect(result).toMatchObject({ status: 'failed', code: 'forbidden', retryable: false, field: 'from' });
      expect(result.status === 'failed' && result.message).toMatch(/verified Sender Identity/);
      expect(strict.emulator.messages()).toHaveLength(0);
    } finally {
      await strict.close();
    }
  });

  it('reports X-RateLimit headers on every send and a 429 with its reset as retryAfterMs', async () => {
    const limited = await startSendgrid({ seed: 33, limits: { sendgrid: { limit: 2, windowMs: 60_000 } } });
    try {
      const states: RateLimitState[] = [];
      const sendgrid = createSendgrid({ apiKey: limited.apiKey, baseUrl: limited.baseUrl });
      await sendgrid.doSend(message(1), { onRateLimit: (state) => states.push(state) });
      expect(states[0]?.windows[0]).toMatchObject({ name: 'mail_send', limit: 2, remaining: 1 });
      await sendgrid.doSend(message(2), {});
      const error = await Promise.resolve(
        sendgrid.doSend(message(3), { onRateLimit: (state) => states.push(state) }),
      ).catch((caught: unknown) => caught);
      expect(ApiCallError.isInstance(error) && error.code).toBe('rate_limited');
      const failure = error as ApiCallError;
      expect(failure.isRetryable).toBe(true);
      expect(failure.retryAfterMs).toBeGreaterThan(0);
      expect(failure.retryAfterMs).toBeLessThanOrEqual(61_000);
      expect(failure.message).toMatch(/too many requests/);
      expect(states.at(-1)?.windows[0]).toMatchObject({ remaining: 0 });
      expect(limited.emulator.messages()).toHaveLength(2);
    } finally {
      await limited.close();
    }
  });

  it('a 5xx fault rejects retryable; later in a batch, it fails the unsent messages instead of losing the sent ones', async () => {
    sg.instance.faults.queue('serverError');
    const error = await Promise.resolve(provider().doSend(message(1), {})).catch((caught: unknown) => caught);
    expect(ApiCallError.isInstance(error) && error.code).toBe('server_error');
    expect((error as ApiCallError).isRetryable).toBe(true);

    const sendgrid = provider();
    canned.backend.respondWith(202, { headers: { 'x-message-id': 'first-request' } });
    canned.backend.respondWith(503, { body: { errors: [{ field: null, message: 'service unavailable' }] } });
    const results = await sendgrid.doSendBatch(
      [message(2), message(3, { text: 'other', html: undefined })],
      {},
    );
    expect(results[0]).toMatchObject({ status: 'accepted', messageId: 'first-request' });
    expect(results[1]).toMatchObject({ status: 'failed', code: 'server_error', retryable: true });
  });

  it('a request slower than timeoutMs rejects with timeout', async () => {
    sg.instance.faults.configure({ latencyMs: 2_000 });
    try {
      const error = await Promise.resolve(provider({ timeoutMs: 200 }).doSend(message(1), {})).catch(
        (caught: unknown) => caught,
      );
      expect(ApiCallError.isInstance(error) && error.code).toBe('timeout');
    } finally {
      sg.instance.faults.clear();
    }
  });

  it('limiterKey identifies the account without the key; capabilities declare the mail-send window', () => {
    const sendgrid = provider({ rateLimit: { limit: 7, intervalMs: 2000 } });
    expect(sendgrid.limiterKey?.()).toMatch(/^sendgrid:[0-9a-f]{16}$/);
    expect(sendgrid.limiterKey?.()).not.toContain(sg.apiKey);
    expect(sendgrid.capabilities).toEqual({
      maxBatchSize: 1000,
      rateLimits: { windows: [{ name: 'mail_send', limit: 7, intervalMs: 2000 }] },
      eventWebhook: true,
    });
  });
});

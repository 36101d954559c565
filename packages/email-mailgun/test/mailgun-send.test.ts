import {
  ApiCallError,
  ConfigurationError,
  type EmailSendAccepted,
  type EmailSendFailure,
  type RateLimitState,
} from '@leadpipe/core';
import { createEmulator, type RunningEmulators, startEmulators, toMswHandlers } from '@leadpipe/testkit';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createMailgun,
  MAILGUN_LEDGER_KEY_VARIABLE,
  MAILGUN_OPTIONS_LIMIT_BYTES,
  type MailgunProviderSettings,
} from '../src/index.js';
import { message, rejection } from './support.js';

let running: RunningEmulators;
beforeAll(async () => {
  running = await startEmulators({ vendors: ['mailgun'], seed: 11 });
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

function sends() {
  return emulator().requests.find('POST', '/v3/');
}

function secretsIn(value: unknown): string[] {
  const text = JSON.stringify(value) + String((value as Error)?.message ?? '');
  return [credentials().apiKey!, credentials().webhookSigningKey!].filter((secret) => text.includes(secret));
}

describe('sending through the emulator over HTTP', () => {
  it('sends one message and answers Mailgun’s id, with everything stored as sent', async () => {
    const states: RateLimitState[] = [];
    const result = (await provider().doSend(message(), {
      onRateLimit: (state) => states.push(state),
    })) as EmailSendAccepted;
    expect(result.status).toBe('accepted');
    expect(result.ledgerKey).toBe('enr-42-s1');
    const stored = emulator().emulator.messages();
    expect(stored).toHaveLength(1);
    // Mailgun answers `<id>`; the adapter reports it bare, as events carry it.
    expect(result.messageId).toBe(stored[0]!.id);
    expect(result.messageId).not.toMatch(/[<>]/);
    expect(stored[0]).toMatchObject({
      domain: 'mg.leadpipe.test',
      from: '"Ada \\"The Countess\\" Lovelace" <ada@mg.leadpipe.test>',
      to: ['"Bob" <Bob@Example.com>'],
      subject: 'Quick question',
      text: 'Hi Bob',
      html: '<p>Hi Bob</p>',
      headers: {
        'List-Unsubscribe': '<https://unsub.example.com/u/tok123>',
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      },
      tags: ['campaign-7', 'step-1'],
      variables: { [MAILGUN_LEDGER_KEY_VARIABLE]: 'enr-42-s1', campaign: 'c-7' },
      options: {},
    });
    const [request] = sends();
    expect(request!.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(request!.path).toBe('/v3/mg.leadpipe.test/messages');
    // Rate-limit headers reached the caller.
    expect(states).toHaveLength(1);
    expect(states[0]!.windows?.[0]).toMatchObject({ name: 'mailgun', limit: 1000, remaining: 999 });
  });

  it('sends Reply-To as a header, test mode as o:testmode, and a text-only message', async () => {
    const result = await provider({ testMode: true }).doSend(
      message({
        html: undefined,
        replyTo: { email: 'replies@example.com' },
        headers: undefined,
        tags: undefined,
      }),
      {},
    );
    expect(result.status).toBe('accepted');
    expect(emulator().emulator.messages()[0]).toMatchObject({
      html: undefined,
      headers: { 'Reply-To': 'replies@example.com' },
      options: { testmode: 'yes' },
      tags: [],
    });
  });

  it('uses the EU host for region eu and the US host by default', async () => {
    const server = setupServer();
    const eu = createEmulator('mailgun', { seed: 11 });
    server.use(...toMswHandlers([eu]));
    server.listen({ onUnhandledRequest: 'error' });
    try {
      const urls: string[] = [];
      const settings = {
        apiKey: credentials().apiKey,
        domain: credentials().domain,
        fetch: ((input, init) => {
          urls.push(input instanceof Request ? input.url : String(input));
          return fetch(input, init);
        }) as typeof fetch,
      };
      await createMailgun({ ...settings, region: 'eu' }).doSend(message(), {});
      await createMailgun(settings).doSend(message(), {});
      expect(eu.emulator.messages()).toHaveLength(2);
      expect(urls).toEqual([
        'https://api.eu.mailgun.net/v3/mg.leadpipe.test/messages',
        'https://api.mailgun.net/v3/mg.leadpipe.test/messages',
      ]);
    } finally {
      server.close();
      await eu.close();
    }
  });

  it('refuses bad messages before any call, naming the field', async () => {
    const cases: [Partial<Parameters<typeof message>[0]>, string][] = [
      [{ ledgerKey: '' }, 'ledgerKey'],
      [{ to: { email: 'not an address' } }, 'to.email'],
      [{ from: { email: 'ada@mg.leadpipe.test', name: 'Ada\r\nBcc: x@evil.test' } }, 'from.name'],
      [{ subject: 'Hi\r\nBcc: x@evil.test' }, 'subject'],
      [{ html: undefined, text: '' }, 'html'],
      [{ headers: { 'X-Ok': 'value\nBcc: x@evil.test' } }, 'headers.X-Ok'],
      [{ headers: { 'Bad Name': 'x' } }, 'headers.Bad Name'],
      [{ headers: { Subject: 'other' } }, 'headers.Subject'],
      [{ headers: { 'X-Mailgun-Variables': '{}' } }, 'headers.X-Mailgun-Variables'],
      [{ tags: ['ok', ''] }, 'tags.1'],
      [{ metadata: { [MAILGUN_LEDGER_KEY_VARIABLE]: 'spoof' } }, `metadata.${MAILGUN_LEDGER_KEY_VARIABLE}`],
      [{ metadata: { 'has space': 'x' } }, 'metadata.has space'],
    ];
    for (const [overrides, field] of cases) {
      const result = (await provider().doSend(message(overrides), {})) as EmailSendFailure;
      expect(result, field).toMatchObject({
        status: 'failed',
        code: 'invalid_message',
        retryable: false,
        field,
      });
      expect(result.message).toContain(field);
    }
    expect(sends()).toHaveLength(0);
  });

  it('checks the 16 KB options cap the way Mailgun counts it: at the cap sent, one byte over refused', async () => {
    const base = message({ tags: undefined, metadata: undefined, headers: undefined });
    // Options of `base`: only the ledger key variable.
    const ledgerBytes = `v:${MAILGUN_LEDGER_KEY_VARIABLE}`.length + base.ledgerKey.length;
    const room = MAILGUN_OPTIONS_LIMIT_BYTES - ledgerBytes - 'v:notes'.length;
    const atCap = await provider().doSend({ ...base, metadata: { notes: 'x'.repeat(room) } }, {});
    expect(atCap.status).toBe('accepted');
    const over = (await provider().doSend(
      { ...base, headers: { 'X-Small': 'y' }, metadata: { notes: 'x'.repeat(room + 1) } },
      {},
    )) as EmailSendFailure;
    expect(over).toMatchObject({ status: 'failed', code: 'invalid_message', field: 'metadata.notes' });
    expect(over.message).toContain('16 KB');
    // The emulator, which refuses over-cap options itself, saw only the first.
    expect(sends()).toHaveLength(1);
    expect(emulator().emulator.messages()).toHaveLength(1);
  });
});

describe('Mailgun’s refusals become failed results', () => {
  it('a wrong key: unauthorized, the key in no result', async () => {
    const result = (await provider({ apiKey: 'wrong-key-0123456789' }).doSend(
      message(),
      {},
    )) as EmailSendFailure;
    expect(result).toMatchObject({ status: 'failed', code: 'unauthorized', retryable: false });
    expect(result.message).toContain('MAILGUN_API_KEY');
    expect(result.message).not.toContain('wrong-key-0123456789');
    expect(secretsIn(result)).toEqual([]);
  });

  it('an unknown domain: not_found naming the domain; a disabled one: forbidden; a failed payment: quota_exceeded', async () => {
    const unknown = (await provider({ domain: 'other.example.com' }).doSend(
      message(),
      {},
    )) as EmailSendFailure;
    expect(unknown).toMatchObject({ code: 'not_found', retryable: false });
    expect(unknown.message).toContain('other.example.com');
    emulator().emulator.setDomainDisabled('mg.leadpipe.test', true);
    const disabled = (await provider().doSend(message(), {})) as EmailSendFailure;
    expect(disabled).toMatchObject({ code: 'forbidden', retryable: false });
    expect(disabled.message).toContain('is not allowed to send');
    emulator().emulator.setDomainDisabled('mg.leadpipe.test', false);
    emulator().emulator.setPaymentRequired(true);
    expect(await provider().doSend(message(), {})).toMatchObject({
      code: 'quota_exceeded',
      retryable: false,
    });
    expect(emulator().emulator.messages()).toHaveLength(0);
  });

  it('a 400: Mailgun’s message with addresses hidden, and the field it names', async () => {
    // A request that lost its body on the way (as a proxy might): the emulator answers Mailgun's own 400.
    const stripping: typeof fetch = async (input) => {
      const request = input as Request;
      const form = await request.formData();
      form.delete('text');
      form.delete('html');
      const headers = new Headers(request.headers);
      headers.delete('content-type');
      return fetch(request.url, { method: 'POST', headers, body: form });
    };
    const result = (await provider({ fetch: stripping }).doSend(message(), {})) as EmailSendFailure;
    expect(result).toMatchObject({
      status: 'failed',
      code: 'invalid_message',
      retryable: false,
      field: 'html',
    });
    expect(result.message).toContain("Need at least one of 'text', 'html' or 'template'");
  });

  it('a 413: too large, naming the body', async () => {
    const small = await startEmulators({
      vendors: ['mailgun'],
      seed: 11,
      vendorOptions: { mailgun: { maxMessageBytes: 2_000 } },
    });
    try {
      const result = (await createMailgun({
        ...small.credentials.mailgun,
        baseUrl: small.urls.mailgun!.baseUrl,
      }).doSend(message({ html: `<p>${'x'.repeat(5_000)}</p>` }), {})) as EmailSendFailure;
      expect(result).toMatchObject({
        status: 'failed',
        code: 'invalid_message',
        field: 'html',
        retryable: false,
      });
      expect(result.message).toContain('413');
    } finally {
      await small.close();
    }
  });
});

describe('failures the engine owns reject', () => {
  it('a 429 rejects rate_limited with the wait and the limit headers', async () => {
    const limited = await startEmulators({
      vendors: ['mailgun'],
      seed: 11,
      limits: { mailgun: { perMinute: 1 } },
    });
    try {
      const mailgun = createMailgun({
        ...limited.credentials.mailgun,
        baseUrl: limited.urls.mailgun!.baseUrl,
      });
      const first = await mailgun.doSend(message(), {});
      // A minute boundary between the two sends would let the second through: then try once more.
      let error = await mailgun.doSend(message(), {}).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      if (error === undefined) error = await rejection(mailgun.doSend(message(), {}));
      expect(first.status).toBe('accepted');
      expect(ApiCallError.isInstance(error)).toBe(true);
      const failure = error as ApiCallError;
      expect(failure).toMatchObject({ code: 'rate_limited', isRetryable: true, status: 429 });
      expect(failure.retryAfterMs).toBeGreaterThan(0);
      expect(failure.retryAfterMs).toBeLessThanOrEqual(60_000);
      expect(failure.rateLimit?.windows?.[0]).toMatchObject({ limit: 1, remaining: 0 });
      expect(failure.message).toContain('Mailgun rate limit reached');
    } finally {
      await limited.close();
    }
  });

  it('5xx rejects server_error (retryable); a reset connection network_error; an abort aborted', async () => {
    emulator().faults.queue('serverError');
    const server = (await rejection(provider().doSend(message(), {}))) as ApiCallError;
    expect(server).toMatchObject({ code: 'server_error', isRetryable: true });
    emulator().faults.queue('connectionReset');
    const network = (await rejection(provider().doSend(message(), {}))) as ApiCallError;
    expect(network).toMatchObject({ code: 'network_error', isRetryable: true });
    const controller = new AbortController();
    controller.abort();
    const aborted = (await rejection(
      provider().doSend(message(), { signal: controller.signal }),
    )) as ApiCallError;
    expect(aborted.code).toBe('aborted');
    emulator().faults.configure({ latencyMs: 2_000 });
    const slow = (await rejection(provider({ timeoutMs: 100 }).doSend(message(), {}))) as ApiCallError;
    expect(slow).toMatchObject({ code: 'timeout', isRetryable: true });
    emulator().faults.clear();
    for (const error of [server, network, aborted, slow]) expect(secretsIn(error)).toEqual([]);
    expect(emulator().emulator.messages()).toHaveLength(0);
  });
});

describe('settings', () => {
  it('refuse bad settings with a ConfigurationError naming each field', () => {
    const issues = (settings: unknown) => {
      try {
        createMailgun(settings as MailgunProviderSettings);
      } catch (error) {
        expect(ConfigurationError.isInstance(error)).toBe(true);
        return (error as ConfigurationError).issues.map((issue) => issue.field);
      }
      return [];
    };
    expect(issues({ region: 'us', baseUrl: 'https://proxy.example.com' })).toEqual(['baseUrl']);
    expect(issues({ region: 'asia' })).toEqual(['region']);
    expect(issues({ domain: 'not a domain' })).toEqual(['domain']);
    expect(issues({ baseUrl: 'https://user:pw@proxy.example.com' })).toEqual(['baseUrl']);
    expect(issues({ timeoutMs: -1, webhookToleranceMs: 0 })).toEqual(['timeoutMs', 'webhookToleranceMs']);
    expect(issues({ apikey: 'x' })).toEqual(['apikey']);
    expect(issues({ webhookReplayGuard: {} })).toEqual(['webhookReplayGuard']);
    expect(issues({ webhookMaxTokens: 1.5 })).toEqual(['webhookMaxTokens']);
    expect(issues({ apiKey: ' padded ' })).toEqual(['apiKey']);
  });

  it('read the key and domain from the environment at the first send, naming option and variable when missing', async () => {
    vi.stubEnv('MAILGUN_API_KEY', '');
    vi.stubEnv('MAILGUN_DOMAIN', credentials().domain!);
    const mailgun = createMailgun({ baseUrl: running.urls.mailgun!.baseUrl });
    const error = (await rejection(mailgun.doSend(message(), {}))) as ConfigurationError;
    expect(error.code).toBe('missing_credentials');
    expect(error.message).toContain("'apiKey'");
    expect(error.message).toContain('MAILGUN_API_KEY');
    vi.stubEnv('MAILGUN_API_KEY', credentials().apiKey!);
    expect((await mailgun.doSend(message(), {})).status).toBe('accepted');
    expect(mailgun.limiterKey?.()).toMatch(/^mailgun:[0-9a-f]{16}$/);
    expect(mailgun.limiterKey?.()).not.toContain(credentials().apiKey!);
  });

  it('declare one message per call, the default limits and webhooks', () => {
    expect(provider().capabilities).toEqual({
      maxBatchSize: 1,
      rateLimits: { perMinute: 1000 },
      eventWebhook: true,
    });
    expect(provider({ rateLimits: { perSecond: 5 } }).capabilities.rateLimits).toEqual({ perSecond: 5 });
    expect(provider().specificationVersion).toBe('v1');
    expect(provider({ providerId: 'mailgun-eu' }).providerId).toBe('mailgun-eu');
  });
});

import { createHmac } from 'node:crypto';
import type { EmailEventType } from '@leadpipe/core';
import type { EmailStoredMessage } from '@leadpipe/testkit';
import { emailProviderContract, type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createMailgun, MAILGUN_LEDGER_KEY_VARIABLE } from '../src/index.js';
import { cannedFetch, inbound } from './support.js';

let running: RunningEmulators;
const canned = cannedFetch();
const secrets: string[] = [];

beforeAll(async () => {
  vi.stubEnv('MAILGUN_API_KEY', '');
  running = await startEmulators({
    vendors: ['mailgun'],
    seed: 31,
    limits: { mailgun: { perMinute: 100_000 } },
  });
  secrets.push(running.credentials.mailgun!.apiKey!, running.credentials.mailgun!.webhookSigningKey!);
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await running.close();
});

const emulator = () => running.emulators.mailgun!.emulator;
const credentials = () => running.credentials.mailgun!;

/** Mailgun's event for each leadpipe type, and the details that give it. */
const EVENTS: Partial<Record<EmailEventType, [Parameters<ReturnType<typeof emulator>['emit']>[1], object]>> =
  {
    processed: ['accepted', {}],
    delivered: ['delivered', {}],
    bounced: ['failed', { severity: 'permanent' }],
    dropped: ['failed', { severity: 'permanent', reason: 'suppress-bounce' }],
    opened: ['opened', {}],
    clicked: ['clicked', { url: 'https://contract.example/pricing' }],
    complained: ['complained', {}],
    unsubscribed: ['unsubscribed', {}],
  };

function stored(ledgerKey: string): EmailStoredMessage | undefined {
  const found = emulator()
    .messages()
    .find((item) => item.variables[MAILGUN_LEDGER_KEY_VARIABLE] === ledgerKey);
  if (found === undefined) return undefined;
  const { [MAILGUN_LEDGER_KEY_VARIABLE]: _ledger, ...rest } = found.variables;
  return {
    ledgerKey,
    messageId: found.id,
    from: found.from.replace(/^.*<([^<>]+)>$/, '$1'),
    to: (found.to[0] ?? '').replace(/^.*<([^<>]+)>$/, '$1'),
    subject: found.subject ?? '',
    ...(found.html === undefined ? {} : { html: found.html }),
    ...(found.text === undefined ? {} : { text: found.text }),
    headers: found.headers,
    tags: found.tags,
    metadata: Object.fromEntries(Object.entries(rest).map(([name, value]) => [name, String(value)])),
  };
}

const RATE_LIMITED = {
  headers: {
    'x-ratelimit-limit': '300',
    'x-ratelimit-remaining': '0',
    'x-ratelimit-reset': String(Date.now() + 30_000),
    'retry-after': '30',
  },
  body: { message: 'Too many requests' },
};

describe('Mailgun provider against the Mailgun emulator over HTTP', () => {
  emailProviderContract(it, expect, {
    createProvider: () =>
      createMailgun({
        apiKey: credentials().apiKey,
        domain: credentials().domain,
        webhookSigningKey: credentials().webhookSigningKey,
        baseUrl: running.urls.mailgun!.baseUrl,
        fetch: canned.fetch,
      }),
    from: { email: 'news@mg.leadpipe.test', name: 'Contract News' },
    recipient: (label) => `${label}@inbox.example`,
    // Refused before any call (invalid_message), as Mailgun would refuse it with a 400.
    invalidMessage: (ledgerKey) => ({
      ledgerKey,
      from: { email: 'news@mg.leadpipe.test' },
      to: { email: 'not-an-address' },
      subject: 'refused',
      text: 'refused',
    }),
    db: { message: stored, count: () => emulator().messages().length },
    backend: canned.backend,
    secrets,
    errorResponses: {
      400: { body: { message: "'to' parameter is not a valid address. please check documentation" } },
      401: { headers: { 'content-type': 'text/plain' }, body: 'Forbidden' },
      402: { body: { message: 'Your account has been temporarily disabled due to a failed payment.' } },
      403: { body: { message: 'Domain mg.leadpipe.test is not allowed to send: The domain is disabled.' } },
      404: { body: { message: 'Domain not found: mg.leadpipe.test' } },
      413: { body: { message: 'Message size exceeds the limit' } },
      429: RATE_LIMITED,
      500: { body: { message: 'Internal Server Error' } },
      503: { body: { message: 'Service Unavailable' } },
    },
    expectedErrors: {
      402: { outcome: 'failed', code: 'quota_exceeded' },
      404: { outcome: 'failed', code: 'not_found' },
    },
    rateLimitResponse: RATE_LIMITED,
    reportsRateLimitsOnSuccess: true,
    webhooks: {
      oneEventPerRequest: true,
      // Mailgun signs the timestamp and token, not the body; its token replay check refuses a second delivery.
      signsBody: false,
      refusesReplays: true,
      types: [
        'processed',
        'delivered',
        'bounced',
        'dropped',
        'opened',
        'clicked',
        'complained',
        'unsubscribed',
      ],
      signedRequest: (events, signing = {}) => {
        const [event] = events;
        if (event === undefined || events.length !== 1)
          throw new Error('Mailgun posts one event per request');
        const [name, details] = EVENTS[event.type]!;
        const payload = JSON.parse(
          emulator().emit(event.messageId, name, {
            ...details,
            recipient: event.email,
            ...(event.bounce === 'soft' && { severity: 'temporary' }),
          }).body,
        );
        if (signing.signedAt !== undefined)
          payload.signature = emulator().sign(Math.floor(signing.signedAt / 1000));
        if (signing.forged) {
          const { timestamp, token } = payload.signature;
          payload.signature.signature = createHmac('sha256', 'a-forgers-key')
            .update(timestamp + token)
            .digest('hex');
        }
        if (signing.unsigned) delete payload.signature;
        return inbound(JSON.stringify(payload));
      },
    },
    createProviderWithoutCredentials: () =>
      createMailgun({
        domain: credentials().domain,
        baseUrl: running.urls.mailgun!.baseUrl,
        fetch: canned.fetch,
      }),
  });
});

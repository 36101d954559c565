import { parseOptions } from '@leadpipe/core/adapter-kit';
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { EmulatorContext, VendorEmulator } from '../../emulator/context.js';
import { nonNegativeNumberSchema, positiveNumberSchema } from '../../emulator/option-schemas.js';
import { createFixedWindowLimiter, type LimitDecision } from '../../emulator/rate-limit.js';
import { createWebhookDispatcher, type WebhookDispatcher } from '../../emulator/webhooks.js';
import { deterministicSecret } from '../shared/util.js';
import {
  bareAddress,
  type MailgunEventDetails,
  type MailgunEventName,
  type MailgunSignature,
  mailgunEventData,
  mailgunSignature,
  type StoredMailgunMessage,
} from './events.js';

export {
  bareAddress,
  type MailgunEventDetails,
  type MailgunEventName,
  type MailgunSignature,
  mailgunSignature,
  type StoredMailgunMessage,
} from './events.js';

/** Mailgun's cap on the options of one message (`o:`, `h:`, `v:`, `t:` fields together): 16 KB. */
export const MAILGUN_OPTIONS_LIMIT_BYTES = 16 * 1024;

/** Options of {@link createMailgunEmulator}. */
export interface MailgunEmulatorOptions {
  /** The private API key (basic auth password, user `api`). Default: derived from the seed. */
  readonly apiKey?: string;
  /** The HTTP webhook signing key. Default: derived from the seed. */
  readonly webhookSigningKey?: string;
  /** The sending domain. Default `mg.leadpipe.test`. */
  readonly domain?: string;
  /** Further domains of the account. */
  readonly domains?: readonly string[];
  /** Messages accepted per minute per domain before 429. Default 1,000. */
  readonly perMinute?: number;
  /** Largest request body, in bytes, before 413. Default 25 MB (Mailgun's message size limit). */
  readonly maxMessageBytes?: number;
  /** Messages kept for inspection; the oldest are forgotten first. Default 10,000. */
  readonly maxStoredMessages?: number;
  /** Where event webhooks are posted (the account's webhook URL). Default none: events are only built. */
  readonly webhookUrl?: string;
  /** Where replies are forwarded (a route's `forward()` URL). Default none. */
  readonly routeUrl?: string;
  /** Events emitted by themselves for every accepted message, when `webhookUrl` is set. Default `['delivered']`. */
  readonly autoEvents?: readonly MailgunEventName[];
  /** Emulated ms between acceptance and the automatic events. Default 1,000. */
  readonly eventDelayMs?: number;
  /** Recipients whose messages bounce (a permanent `failed` event instead of `delivered`). */
  readonly bouncingRecipients?: readonly string[];
}

/** A signed webhook the emulator built: what it posts, and to where when a URL is set. */
export interface MailgunWebhookDelivery {
  /** The exact body (JSON for events, `application/x-www-form-urlencoded` for forwarded replies). */
  readonly body: string;
  /** Its content type. */
  readonly contentType: string;
  /** The signature block inside it. */
  readonly signature: MailgunSignature;
}

/** An inbound reply to inject. */
export interface MailgunReplyDetails {
  /** The reply's plain text. Default `Thanks, interested.` */
  readonly text?: string;
  /** Who replies. Default the message's first `to`. */
  readonly from?: string;
  /** Emulated epoch ms the reply arrived. Default now. */
  readonly at?: number;
}

/** The Mailgun emulator: a {@link VendorEmulator} plus what tests inspect and inject. */
export interface MailgunEmulator extends VendorEmulator {
  /** Always `mailgun`. */
  readonly vendor: 'mailgun';
  /** The primary sending domain. */
  readonly domain: string;
  /** The HTTP webhook signing key events are signed with. */
  readonly webhookSigningKey: string;
  /** Messages accepted, oldest first. */
  messages(): readonly StoredMailgunMessage[];
  /** A message by id (with or without angle brackets). */
  message(id: string): StoredMailgunMessage | undefined;
  /** Event webhooks and forwarded replies, delivered on the emulated clock. */
  readonly webhooks: WebhookDispatcher;
  /** Set or clear where event webhooks go. */
  setWebhookUrl(url: string | undefined): void;
  /** Set or clear where replies are forwarded. */
  setRouteUrl(url: string | undefined): void;
  /** Refuse sends from `domain` with 403 and Mailgun's "disabled" message (or allow them again). */
  setDomainDisabled(domain: string, disabled: boolean): void;
  /** Refuse every send with 402 (an account whose payment failed), or allow them again. */
  setPaymentRequired(required: boolean): void;
  /**
   * Build the signed event webhook for `event` on a stored message; post it
   * to the webhook URL when one is set (after `delayMs` emulated ms, default 0).
   *
   * @throws Error when no message has that id.
   */
  emit(
    messageId: string,
    event: MailgunEventName,
    details?: MailgunEventDetails & {
      /** Emulated ms before it is posted. */ readonly delayMs?: number;
    },
  ): MailgunWebhookDelivery;
  /**
   * Build a reply to a stored message as a route's `forward()` posts it
   * (form fields, `In-Reply-To` naming the message, signed); post it to the
   * route URL when one is set.
   *
   * @throws Error when no message has that id.
   */
  reply(messageId: string, details?: MailgunReplyDetails): MailgunWebhookDelivery;
  /** A fresh signature block, signed now with the emulator's key (for building forged or stale copies in tests). */
  sign(timestampSeconds?: number, token?: string): MailgunSignature;
}

/** What the Mailgun emulator accepts and signs with (the `leadpipe-emulator` line prints them). */
export type MailgunCredentials = {
  /** The private API key (basic auth password, user `api`). */
  readonly apiKey: string;
  /** The sending domain. */
  readonly domain: string;
  /** The HTTP webhook signing key event webhooks are signed with. */
  readonly webhookSigningKey: string;
};

/** The credentials an emulator built from `seed` accepts: `apiKey`, `domain`, `webhookSigningKey`. */
export function mailgunCredentials(seed: number): MailgunCredentials {
  const hex = (name: string, length: number) => deterministicSecret('', `mailgun|${name}`, seed, length);
  return {
    apiKey: `${hex('key', 32)}-${hex('key-a', 8)}-${hex('key-b', 8)}`,
    domain: DEFAULT_DOMAIN,
    webhookSigningKey: `${hex('signing', 32)}-${hex('signing-a', 8)}-${hex('signing-b', 8)}`,
  };
}

const DEFAULT_DOMAIN = 'mg.leadpipe.test';
const MINUTE_MS = 60_000;
const EVENT_NAMES = [
  'accepted',
  'delivered',
  'failed',
  'opened',
  'clicked',
  'unsubscribed',
  'complained',
] as const;

const optionsSchema = z
  .object({
    apiKey: z.string().min(1, 'must be a non-empty string').optional(),
    webhookSigningKey: z.string().min(1, 'must be a non-empty string').optional(),
    domain: z.string().min(1, 'must be a non-empty domain').optional(),
    domains: z.array(z.string().min(1, 'must be a non-empty domain')).optional(),
    perMinute: positiveNumberSchema().optional(),
    maxMessageBytes: positiveNumberSchema().optional(),
    maxStoredMessages: positiveNumberSchema().optional(),
    webhookUrl: z.url('must be an http(s) URL').optional(),
    routeUrl: z.url('must be an http(s) URL').optional(),
    autoEvents: z.array(z.enum(EVENT_NAMES, `must be one of ${EVENT_NAMES.join(', ')}`)).optional(),
    eventDelayMs: nonNegativeNumberSchema().optional(),
    bouncingRecipients: z.array(z.string()).optional(),
  })
  .strict();

type Env = { Variables: { limit: LimitDecision | undefined } };

/** A JSON answer as Mailgun words it: `{"message": "..."}`. */
function messageAnswer(c: Context, status: number, message: string, headers: Record<string, string> = {}) {
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
  return c.json({ message }, status as 400);
}

function splitAddresses(values: readonly string[]): string[] {
  // Commas inside a quoted display name do not separate addresses.
  const out: string[] = [];
  for (const value of values) {
    let current = '';
    let quoted = false;
    for (const char of value) {
      if (char === '"') quoted = !quoted;
      if (char === ',' && !quoted) {
        if (current.trim() !== '') out.push(current.trim());
        current = '';
      } else current += char;
    }
    if (current.trim() !== '') out.push(current.trim());
  }
  return out;
}

const ADDRESS = /^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/;

function isAddress(value: string): boolean {
  return ADDRESS.test(bareAddress(value));
}

function randomText(random: () => number, alphabet: string, length: number): string {
  let out = '';
  for (let index = 0; index < length; index++) out += alphabet[Math.floor(random() * alphabet.length)];
  return out;
}

function timestampId(at: number): string {
  const date = new Date(at);
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}${pad(
    date.getUTCHours(),
  )}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}`;
}

/**
 * Create the Mailgun emulator: `POST /v3/{domain}/messages` (multipart or
 * urlencoded, basic auth `api:KEY`) with Mailgun's status codes and
 * `{"message": ...}` error bodies (401 answers the plain text `Forbidden`),
 * the 16 KB options cap, a per-domain limit with `X-RateLimit-*` headers,
 * stored messages, and signed event webhooks and forwarded replies.
 *
 * @throws ConfigurationError naming every invalid option.
 */
export function createMailgunEmulator(
  context: EmulatorContext,
  options: MailgunEmulatorOptions = {},
): MailgunEmulator {
  parseOptions(optionsSchema, options, { name: 'createMailgunEmulator' });
  const defaults = mailgunCredentials(context.seed);
  const apiKey = options.apiKey ?? defaults.apiKey;
  const signingKey = options.webhookSigningKey ?? defaults.webhookSigningKey;
  const domain = options.domain ?? defaults.domain;
  const domains = new Set([domain, ...(options.domains ?? [])].map((item) => item.toLowerCase()));
  const perMinute = options.perMinute ?? 1_000;
  const maxMessageBytes = options.maxMessageBytes ?? 25 * 1024 * 1024;
  const maxStored = options.maxStoredMessages ?? 10_000;
  const autoEvents = options.autoEvents ?? ['delivered'];
  const eventDelayMs = options.eventDelayMs ?? 1_000;
  const bouncing = new Set((options.bouncingRecipients ?? []).map((item) => item.toLowerCase()));
  const { clock, counters } = context;
  const limiter = createFixedWindowLimiter(clock);
  const webhooks = createWebhookDispatcher(context, 'mailgun');
  const messages = new Map<string, StoredMailgunMessage>();
  const disabled = new Set<string>();
  let paymentRequired = false;
  let webhookUrl = options.webhookUrl;
  let routeUrl = options.routeUrl;
  let sequence = 0;

  const sign = (timestampSeconds?: number, token?: string): MailgunSignature =>
    mailgunSignature(
      signingKey,
      String(timestampSeconds ?? Math.floor(clock.now() / 1000)),
      token ?? randomText(context.random, '0123456789abcdef', 50),
    );

  const find = (id: string) => messages.get(id.replace(/^<|>$/g, ''));
  const mustFind = (id: string) => {
    const message = find(id);
    if (message === undefined) throw new Error(`mailgun emulator: no message has id ${id}`);
    return message;
  };

  const emit: MailgunEmulator['emit'] = (messageId, event, details = {}) => {
    const message = mustFind(messageId);
    const eventId = randomText(
      context.random,
      'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
      22,
    );
    const signature = sign();
    const body = JSON.stringify({
      signature,
      'event-data': mailgunEventData(message, event, details, eventId, clock.now()),
    });
    counters.increment(`mailgun.events.${event}`);
    if (webhookUrl !== undefined) webhooks.schedule(webhookUrl, body, {}, details.delayMs ?? 0);
    return { body, contentType: 'application/json', signature };
  };

  const reply: MailgunEmulator['reply'] = (messageId, details = {}) => {
    const message = mustFind(messageId);
    const signature = sign();
    const from = details.from ?? message.to[0] ?? '';
    const at = details.at ?? clock.now();
    const replyId = `${timestampId(at)}.${randomText(context.random, '0123456789abcdef', 16)}@mail.example.com`;
    const text = details.text ?? 'Thanks, interested.';
    const subject = `Re: ${message.subject ?? ''}`;
    const fields = new URLSearchParams({
      recipient: bareAddress(message.from),
      sender: bareAddress(from),
      from,
      subject,
      'body-plain': `${text}\n\nOn an earlier day, ${message.from} wrote:\n> ...`,
      'stripped-text': text,
      'Message-Id': `<${replyId}>`,
      'In-Reply-To': `<${message.id}>`,
      References: `<${message.id}>`,
      Date: new Date(at).toUTCString(),
      'message-headers': JSON.stringify([
        ['Message-Id', `<${replyId}>`],
        ['In-Reply-To', `<${message.id}>`],
        ['References', `<${message.id}>`],
        ['From', from],
        ['Subject', subject],
      ]),
      timestamp: signature.timestamp,
      token: signature.token,
      signature: signature.signature,
    });
    const body = fields.toString();
    counters.increment('mailgun.replies');
    if (routeUrl !== undefined) {
      webhooks.schedule(routeUrl, body, { 'content-type': 'application/x-www-form-urlencoded' }, 0);
    }
    return { body, contentType: 'application/x-www-form-urlencoded', signature };
  };

  const rateHeaders = (decision: LimitDecision): Record<string, string> => {
    const window = decision.exceeded ?? decision.windows[0];
    if (window === undefined) return {};
    return {
      'x-ratelimit-limit': String(window.limit),
      'x-ratelimit-remaining': String(window.remaining),
      // Epoch milliseconds (UNVERIFIED upstream: Mailgun documents the header names, not the unit).
      'x-ratelimit-reset': String(window.resetAt),
    };
  };

  const app = new Hono<Env>();
  app.post('/v3/:domain/messages', async (c) => {
    const authorization = c.req.header('authorization') ?? '';
    const decoded = authorization.startsWith('Basic ')
      ? Buffer.from(authorization.slice(6), 'base64').toString('utf8')
      : '';
    if (decoded !== `api:${apiKey}`) {
      counters.increment('mailgun.unauthorized');
      return c.text('Forbidden', 401);
    }
    const sendingDomain = c.req.param('domain').toLowerCase();
    if (!domains.has(sendingDomain)) return messageAnswer(c, 404, `Domain not found: ${sendingDomain}`);
    if (paymentRequired) {
      return messageAnswer(
        c,
        402,
        'Your account has been temporarily disabled due to a failed payment. Please update your billing information.',
      );
    }
    if (disabled.has(sendingDomain)) {
      return messageAnswer(
        c,
        403,
        `Domain ${sendingDomain} is not allowed to send: The domain is disabled. Please contact support.`,
      );
    }
    const raw = new Uint8Array(await c.req.arrayBuffer());
    if (raw.byteLength > maxMessageBytes) {
      return messageAnswer(c, 413, `Message size exceeds the ${maxMessageBytes} bytes limit`);
    }
    const contentType = c.req.header('content-type') ?? '';
    if (!/^(multipart\/form-data|application\/x-www-form-urlencoded)/i.test(contentType)) {
      return messageAnswer(c, 400, "'from' parameter is missing");
    }
    let form: FormData;
    try {
      form = await new Request('http://mailgun.local/', {
        method: 'POST',
        headers: { 'content-type': contentType },
        body: raw,
      }).formData();
    } catch {
      return messageAnswer(c, 400, 'Malformed request: the form data could not be parsed');
    }
    const values = (name: string): string[] =>
      form.getAll(name).filter((value): value is string => typeof value === 'string');
    const first = (name: string): string | undefined => values(name)[0];

    const from = first('from');
    if (from === undefined || from.trim() === '') return messageAnswer(c, 400, "'from' parameter is missing");
    if (!isAddress(from))
      return messageAnswer(c, 400, "'from' parameter is not a valid address. please check documentation");
    const to = splitAddresses(values('to'));
    if (to.length === 0) return messageAnswer(c, 400, "'to' parameter is missing");
    const invalid = to.find((address) => !isAddress(address));
    if (invalid !== undefined) {
      return messageAnswer(c, 400, "'to' parameter is not a valid address. please check documentation");
    }
    const text = first('text');
    const html = first('html');
    if (text === undefined && html === undefined && first('template') === undefined) {
      return messageAnswer(c, 400, "Need at least one of 'text', 'html' or 'template' parameters specified");
    }

    let optionBytes = 0;
    const headers: Record<string, string> = {};
    const variables: Record<string, unknown> = {};
    const fieldVariables: Record<string, unknown> = {};
    const tags: string[] = [];
    const extra: Record<string, string> = {};
    for (const [name, value] of form.entries()) {
      if (!/^[ohvt]:/.test(name) || typeof value !== 'string') continue;
      optionBytes += Buffer.byteLength(name) + Buffer.byteLength(value);
      const key = name.slice(2);
      if (name.startsWith('h:')) headers[key] = value;
      else if (name.startsWith('v:')) {
        try {
          fieldVariables[key] = JSON.parse(value);
        } catch {
          fieldVariables[key] = value;
        }
      } else if (name === 'o:tag') tags.push(value);
      else if (name.startsWith('o:')) extra[key] = value;
    }
    if (optionBytes > MAILGUN_OPTIONS_LIMIT_BYTES) {
      return messageAnswer(
        c,
        400,
        `Message options (o:, h:, v:, t:) exceed the limit of 16KB: ${optionBytes} bytes given`,
      );
    }
    const variablesHeader = Object.entries(headers).find(
      ([name]) => name.toLowerCase() === 'x-mailgun-variables',
    );
    if (variablesHeader !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(variablesHeader[1]);
      } catch {
        parsed = undefined;
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        return messageAnswer(c, 400, "'h:X-Mailgun-Variables' must be a valid JSON dictionary");
      }
      Object.assign(variables, parsed);
      delete headers[variablesHeader[0]];
    }
    Object.assign(variables, fieldVariables);

    const decision = limiter.hit(sendingDomain, [
      { name: 'minute', limit: perMinute, intervalMs: MINUTE_MS },
    ]);
    const limitHeaders = rateHeaders(decision);
    if (!decision.allowed) {
      counters.increment('mailgun.429');
      const retryAfter = Math.max(1, Math.ceil((decision.exceeded!.resetAt - clock.now()) / 1000));
      return messageAnswer(c, 429, 'Too many requests', {
        ...limitHeaders,
        'retry-after': String(retryAfter),
      });
    }

    const now = clock.now();
    sequence++;
    const id = `${timestampId(now)}.${sequence}.${randomText(context.random, '0123456789ABCDEF', 16)}@${sendingDomain}`;
    const stored: StoredMailgunMessage = {
      id,
      domain: sendingDomain,
      from,
      to,
      cc: splitAddresses(values('cc')),
      bcc: splitAddresses(values('bcc')),
      subject: first('subject'),
      text,
      html,
      headers,
      variables,
      tags,
      options: extra,
      acceptedAt: now,
      size: raw.byteLength,
    };
    messages.set(id, stored);
    if (messages.size > maxStored) messages.delete(messages.keys().next().value as string);
    counters.increment('mailgun.messages.accepted');
    if (webhookUrl !== undefined && extra.testmode !== 'yes') {
      for (const event of autoEvents) {
        const bounces = event === 'delivered' && to.some((address) => bouncing.has(bareAddress(address)));
        emit(id, bounces ? 'failed' : event, { delayMs: event === 'accepted' ? 0 : eventDelayMs });
      }
    }
    for (const [name, value] of Object.entries(limitHeaders)) c.header(name, value);
    return c.json({ id: `<${id}>`, message: 'Queued. Thank you.' }, 200);
  });

  return {
    vendor: 'mailgun',
    app: app as unknown as Hono,
    credentials: { apiKey, domain, webhookSigningKey: signingKey },
    domain,
    webhookSigningKey: signingKey,
    webhooks,
    messages: () => [...messages.values()],
    message: find,
    setWebhookUrl: (url) => {
      webhookUrl = url;
    },
    setRouteUrl: (url) => {
      routeUrl = url;
    },
    setDomainDisabled: (name, value) => {
      if (value) disabled.add(name.toLowerCase());
      else disabled.delete(name.toLowerCase());
    },
    setPaymentRequired: (value) => {
      paymentRequired = value;
    },
    emit,
    reply,
    sign,
    reset: () => {
      messages.clear();
      disabled.clear();
      paymentRequired = false;
      limiter.reset();
      webhooks.reset();
      webhookUrl = options.webhookUrl;
      routeUrl = options.routeUrl;
      sequence = 0;
    },
  };
}

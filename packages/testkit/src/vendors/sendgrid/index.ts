import { parseOptions } from '@leadpipe/core/adapter-kit';
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { EmulatorContext, VendorEmulator } from '../../emulator/context.js';
import { nonNegativeNumberSchema, positiveNumberSchema, shareSchema } from '../../emulator/option-schemas.js';
import { createFixedWindowLimiter, type LimitDecision } from '../../emulator/rate-limit.js';
import { createWebhookDispatcher, type WebhookDispatcher } from '../../emulator/webhooks.js';
import { deterministicSecret } from '../shared/util.js';
import {
  SENDGRID_EVENT_NAMES,
  type SendgridEventName,
  type SendgridRawEvent,
  sendgridEventSignature,
  sendgridSigningKeys,
} from './events.js';
import { type CheckedMail, checkMail, type SendgridAddress, type SendgridErrorItem } from './validate.js';

export {
  SENDGRID_EVENT_NAMES,
  type SendgridEventName,
  type SendgridRawEvent,
  type SendgridSigningKeys,
  sendgridEventSignature,
  sendgridSigningKeys,
} from './events.js';
export type { SendgridAddress, SendgridErrorItem } from './validate.js';

/** The header SendGrid signs Event Webhook requests in. */
const SIGNATURE_HEADER = 'X-Twilio-Email-Event-Webhook-Signature';
/** The header holding the signed timestamp (epoch seconds). */
const TIMESTAMP_HEADER = 'X-Twilio-Email-Event-Webhook-Timestamp';

/** Options of the emulator's Event Webhook. */
export interface SendgridEventWebhookOptions {
  /** Where events are POSTed (signed). Without it, events are only produced for tests to deliver. */
  readonly url?: string;
  /** Events posted for every accepted recipient. Default `['processed', 'delivered']`. */
  readonly autoEvents?: readonly SendgridEventName[];
  /** Share of delivered recipients that also open (seeded). Default 0. */
  readonly openShare?: number;
  /** Emulated ms between an accepted send and its automatic events. Default 1,000. */
  readonly delayMs?: number;
}

/** Options of {@link createSendgridEmulator}. */
export interface SendgridEmulatorOptions {
  /** The API key accepted. Default: derived from the seed (`SG.…`). */
  readonly apiKey?: string;
  /** Mail-send requests allowed per window per key. Default 600. */
  readonly limit?: number;
  /** The window's length in emulated ms. Default 1,000. */
  readonly windowMs?: number;
  /** Largest request body accepted, bytes (413 above). Default 20 MiB. */
  readonly maxBodyBytes?: number;
  /**
   * Sender domains (or full addresses) verified on the account: any other
   * `from` is refused with 403. Default: every sender is allowed.
   */
  readonly verifiedSenders?: readonly string[];
  /** The Event Webhook. */
  readonly eventWebhook?: SendgridEventWebhookOptions;
}

/** One recipient of an accepted mail send, as the emulator stores it. */
export interface SendgridStoredMessage {
  /** The `X-Message-ID` the request was answered with (shared by every recipient of the request). */
  readonly messageId: string;
  /** The `sg_message_id` its events carry: `<X-Message-ID>.<filter>.<n>`. */
  readonly sgMessageId: string;
  /** Index of its personalization in the request. */
  readonly personalization: number;
  /** Sender address. */
  readonly from: SendgridAddress;
  /** Reply-to. */
  readonly replyTo?: SendgridAddress;
  /** This recipient. */
  readonly to: SendgridAddress;
  /** Subject. */
  readonly subject: string;
  /** `text/plain` content. */
  readonly text?: string;
  /** `text/html` content. */
  readonly html?: string;
  /** Custom headers (request's and personalization's). */
  readonly headers: Readonly<Record<string, string>>;
  /** Categories. */
  readonly categories: readonly string[];
  /** Custom args (request's and personalization's): returned at top level in every event. */
  readonly customArgs: Readonly<Record<string, string>>;
  /** Emulated time it was accepted. */
  readonly acceptedAt: number;
}

/** Which stored message an injected event is about. */
export interface SendgridEventTarget {
  /** A custom arg value to find the message by, such as `{ leadpipe_ledger_key: 'enr-1-s1' }`. */
  readonly customArgs?: Readonly<Record<string, string>>;
  /** The `X-Message-ID` (with `email` when the request had several recipients). */
  readonly messageId?: string;
  /** The recipient. */
  readonly email?: string;
}

/** Details of an injected event. */
export interface SendgridEventDetails {
  /** For `bounce`: `bounce` (hard, the default) or `blocked` (soft). */
  readonly bounceType?: 'bounce' | 'blocked';
  /** Bounce or drop reason. */
  readonly reason?: string;
  /** For `click`. Default `https://example.com/`. */
  readonly url?: string;
  /** Emulated epoch ms it happened. Default now. */
  readonly at?: number;
}

/** How {@link SendgridEvents.signedRequest} signs. */
export interface SendgridSigning {
  /** Epoch ms of the signed timestamp. Default the emulated clock's now. */
  readonly signedAt?: number;
  /** Sign with a key that is not the account's (a forger's). */
  readonly forged?: boolean;
  /** Leave the signature headers out. */
  readonly unsigned?: boolean;
}

/** A webhook request as the emulator would POST it. */
export interface SendgridWebhookRequest {
  /** `POST`. */
  readonly method: 'POST';
  /** The configured URL, or `/sendgrid/events`. */
  readonly url: string;
  /** Content type and the signature headers. */
  readonly headers: Readonly<Record<string, string>>;
  /** The exact JSON text signed. */
  readonly rawBody: string;
}

/** The emulator's Event Webhook: build, sign, post events. */
export interface SendgridEvents {
  /** The raw SendGrid event `name` about the targeted stored message. @throws Error when no stored message matches. */
  build(
    name: SendgridEventName,
    target: SendgridEventTarget,
    details?: SendgridEventDetails,
  ): SendgridRawEvent;
  /** A request carrying `events`, signed as SendGrid signs (unless told otherwise). */
  signedRequest(events: readonly SendgridRawEvent[], signing?: SendgridSigning): SendgridWebhookRequest;
  /**
   * Post `events` now, signed, to the configured URL (or `url`): resolves
   * with the receiver's status. @throws Error when no URL is configured or given.
   */
  post(events: readonly SendgridRawEvent[], url?: string): Promise<number>;
  /** Every event produced (automatic and injected), oldest first. */
  produced(): readonly SendgridRawEvent[];
  /** Deliveries by the dispatcher (automatic and injected events). */
  readonly dispatcher: WebhookDispatcher;
}

/** Inject what recipients do, as events posted to the configured URL (and returned). */
export interface SendgridInjections {
  /** A bounce: hard (`bounce`) unless `soft`. */
  bounce(target: SendgridEventTarget, options?: { soft?: boolean; reason?: string }): SendgridRawEvent;
  /** A spam complaint (`spamreport`). */
  complaint(target: SendgridEventTarget): SendgridRawEvent;
  /** An unsubscribe. */
  unsubscribe(target: SendgridEventTarget): SendgridRawEvent;
  /** An open. */
  open(target: SendgridEventTarget): SendgridRawEvent;
  /** A click on `url`. */
  click(target: SendgridEventTarget, url?: string): SendgridRawEvent;
  /** A drop. */
  drop(target: SendgridEventTarget, reason?: string): SendgridRawEvent;
}

/** What the SendGrid emulator accepts. */
export type SendgridCredentials = {
  /** The API key (`SG.…`). */
  readonly apiKey: string;
  /** The Event Webhook's verification key: base64 of the DER SubjectPublicKeyInfo, as SendGrid shows it. */
  readonly webhookPublicKey: string;
};

/** The emulator's mail-send window. */
export interface SendgridMailSendLimits {
  /** Requests allowed per window per key. */
  readonly limit: number;
  /** The window's length, emulated ms. */
  readonly windowMs: number;
}

/** The SendGrid emulator: a {@link VendorEmulator} plus what tests inspect and inject. */
export interface SendgridEmulator extends VendorEmulator {
  /** `apiKey` and `webhookPublicKey` (base64, as SendGrid shows it). */
  readonly credentials: SendgridCredentials;
  /** Every recipient of every accepted send, oldest first. */
  messages(): readonly SendgridStoredMessage[];
  /** The stored message whose custom arg `name` is `value`. */
  findByCustomArg(name: string, value: string): SendgridStoredMessage | undefined;
  /** The Event Webhook. */
  readonly events: SendgridEvents;
  /** Recipient behaviour, posted as events. */
  readonly inject: SendgridInjections;
  /** The mail-send window in force. */
  readonly limits: SendgridMailSendLimits;
}

/** The API key an emulator with `seed` accepts by default. */
export function sendgridCredentials(seed: number): SendgridCredentials {
  return {
    apiKey: `${deterministicSecret('SG.', 'sendgrid-key-id', seed, 22)}.${deterministicSecret('', 'sendgrid-key-secret', seed, 43)}`,
    webhookPublicKey: sendgridSigningKeys(seed).publicKey,
  };
}

const webhookSchema = z
  .object(
    {
      url: z
        .string({ error: 'must be an absolute URL' })
        .refine((value) => URL.canParse(value), { error: 'must be an absolute URL' })
        .optional(),
      autoEvents: z
        .array(z.enum(SENDGRID_EVENT_NAMES as [SendgridEventName, ...SendgridEventName[]]), {
          error: `must be an array of ${SENDGRID_EVENT_NAMES.join(', ')}`,
        })
        .optional(),
      openShare: shareSchema().optional(),
      delayMs: nonNegativeNumberSchema().optional(),
    },
    { error: 'must be an object' },
  )
  .strict();

/** The options of `createSendgridEmulator`, checked by `parseOptions`; unknown keys refused. */
const optionsSchema = z
  .object(
    {
      apiKey: z
        .string({ error: 'must be at least 6 characters without spaces' })
        .regex(/^\S{6,}$/, { error: 'must be at least 6 characters without spaces' })
        .optional(),
      limit: positiveNumberSchema().int({ error: 'must be a whole number' }).optional(),
      windowMs: positiveNumberSchema().optional(),
      maxBodyBytes: positiveNumberSchema().int({ error: 'must be a whole number' }).optional(),
      verifiedSenders: z
        .array(z.string({ error: 'must be a string' }), { error: 'must be an array' })
        .optional(),
      eventWebhook: webhookSchema.optional(),
    },
    { error: 'must be an object' },
  )
  .strict();

type Env = { Variables: { limit: LimitDecision | undefined } };

function errorBody(errors: readonly SendgridErrorItem[]): { errors: readonly SendgridErrorItem[] } {
  return { errors };
}

/**
 * Create a SendGrid emulator: a Hono app answering v3 mail send
 * (`POST /v3/mail/send`: Bearer key, 202 with `X-Message-ID`, SendGrid's
 * checks and `{"errors":[…]}` bodies, 401/403/413/429, `X-RateLimit-*`
 * headers on every answer) and the signed Event Webhook's settings
 * (`GET /v3/user/webhooks/event/settings/signed` publishes the public key).
 * Accepted recipients are stored for tests; events (automatic `processed`
 * and `delivered`, seeded opens, injected bounces, complaints, unsubscribes,
 * clicks, drops) are signed with the emulator's ECDSA P-256 key and posted
 * to `eventWebhook.url`, or built for the test to deliver.
 *
 * @throws ConfigurationError naming every invalid option.
 */
export function createSendgridEmulator(
  context: EmulatorContext,
  options: SendgridEmulatorOptions = {},
): SendgridEmulator {
  parseOptions(optionsSchema, options, { name: 'createSendgridEmulator', providerId: 'sendgrid' });
  const { clock, counters } = context;
  const defaults = sendgridCredentials(context.seed);
  const apiKey = options.apiKey ?? defaults.apiKey;
  const keys = sendgridSigningKeys(context.seed);
  const forger = sendgridSigningKeys(context.seed, 'forger');
  const limits = { limit: options.limit ?? 600, windowMs: options.windowMs ?? 1000 };
  const maxBodyBytes = options.maxBodyBytes ?? 20 * 1024 * 1024;
  const webhook = options.eventWebhook ?? {};
  const autoEvents = webhook.autoEvents ?? ['processed', 'delivered'];
  const limiter = createFixedWindowLimiter(clock);
  const dispatcher = createWebhookDispatcher(context, 'sendgrid');
  let stored: SendgridStoredMessage[] = [];
  let produced: SendgridRawEvent[] = [];
  let serial = 0;

  const randomId = (length: number): string => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    let out = '';
    for (let index = 0; index < length; index++) out += alphabet[Math.floor(context.random() * 64)];
    return out;
  };

  const rateHeaders = (decision: LimitDecision | undefined): Record<string, string> => {
    const window = decision?.windows[0];
    if (window === undefined) return {};
    return {
      'X-RateLimit-Limit': String(window.limit),
      'X-RateLimit-Remaining': String(window.remaining),
      'X-RateLimit-Reset': String(Math.ceil(window.resetAt / 1000)),
    };
  };
  const fail = (c: Context<Env>, status: number, errors: readonly SendgridErrorItem[]) => {
    counters.increment(`sendgrid.${status}`);
    return new Response(JSON.stringify(errorBody(errors)), {
      status,
      headers: { 'content-type': 'application/json', ...rateHeaders(c.get('limit')) },
    });
  };

  const signedRequest = (
    events: readonly SendgridRawEvent[],
    signing: SendgridSigning = {},
  ): SendgridWebhookRequest => {
    const rawBody = JSON.stringify(events);
    const timestamp = String(Math.floor((signing.signedAt ?? clock.now()) / 1000));
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (!signing.unsigned) {
      headers[SIGNATURE_HEADER] = sendgridEventSignature(
        (signing.forged ? forger : keys).privateKey,
        timestamp,
        rawBody,
      );
      headers[TIMESTAMP_HEADER] = timestamp;
    }
    return { method: 'POST', url: webhook.url ?? '/sendgrid/events', headers, rawBody };
  };

  const eventOf = (
    name: SendgridEventName,
    message: SendgridStoredMessage,
    details: SendgridEventDetails = {},
  ): SendgridRawEvent => {
    const at = details.at ?? clock.now();
    const base: Record<string, unknown> = {
      ...message.customArgs,
      email: message.to.email,
      timestamp: Math.floor(at / 1000),
      'smtp-id': `<${message.messageId}@geopod-ismtpd-1>`,
      event: name,
      category: [...message.categories],
      sg_event_id: randomId(22),
      sg_message_id: message.sgMessageId,
    };
    switch (name) {
      case 'delivered':
        Object.assign(base, { response: '250 OK', ip: '168.1.1.1', tls: 1 });
        break;
      case 'deferred':
        Object.assign(base, { response: details.reason ?? '400 try again later', attempt: '1' });
        break;
      case 'bounce': {
        const type = details.bounceType ?? 'bounce';
        Object.assign(base, {
          type,
          reason:
            details.reason ??
            (type === 'bounce' ? '550 5.1.1 The email account does not exist.' : '421 4.7.0 Try again later'),
          status: type === 'bounce' ? '5.1.1' : '4.7.0',
          bounce_classification: type === 'bounce' ? 'Invalid Address' : 'Reputation',
        });
        break;
      }
      case 'dropped':
        Object.assign(base, { reason: details.reason ?? 'Bounced Address', status: '5.0.0' });
        break;
      case 'open':
        Object.assign(base, { useragent: 'Mozilla/5.0', ip: '255.255.255.255', sg_machine_open: false });
        break;
      case 'click':
        Object.assign(base, {
          url: details.url ?? 'https://example.com/',
          url_offset: { index: 0, type: 'html' },
          useragent: 'Mozilla/5.0',
          ip: '255.255.255.255',
        });
        break;
      case 'group_unsubscribe':
      case 'group_resubscribe':
        Object.assign(base, { asm_group_id: 1, useragent: 'Mozilla/5.0', ip: '255.255.255.255' });
        break;
      default:
        break;
    }
    produced.push(base);
    counters.increment(`sendgrid.events.${name}`);
    return base;
  };

  const find = (target: SendgridEventTarget): SendgridStoredMessage => {
    const email = target.email?.toLowerCase();
    const found = stored.find(
      (message) =>
        (target.messageId === undefined ||
          message.messageId === target.messageId ||
          message.sgMessageId === target.messageId) &&
        (email === undefined || message.to.email.toLowerCase() === email) &&
        Object.entries(target.customArgs ?? {}).every(([name, value]) => message.customArgs[name] === value),
    );
    if (found === undefined) throw new Error(`no stored SendGrid message matches ${JSON.stringify(target)}`);
    return found;
  };

  const schedule = (events: readonly SendgridRawEvent[], delayMs: number) => {
    if (webhook.url === undefined || events.length === 0) return;
    const request = signedRequest(events);
    const { 'content-type': _type, ...headers } = request.headers;
    dispatcher.schedule(webhook.url, request.rawBody, headers, delayMs);
  };

  const injected = (
    name: SendgridEventName,
    target: SendgridEventTarget,
    details?: SendgridEventDetails,
  ): SendgridRawEvent => {
    const event = eventOf(name, find(target), details);
    schedule([event], 0);
    return event;
  };

  const accept = (mail: CheckedMail): string => {
    const messageId = randomId(22);
    const acceptedAt = clock.now();
    const batch: SendgridStoredMessage[] = [];
    for (const [index, personalization] of mail.personalizations.entries()) {
      for (const to of personalization.to) {
        serial += 1;
        batch.push({
          messageId,
          sgMessageId: `${messageId}.filterdrecv-5645d9c87f-6r2ch-1-${serial.toString(16).padStart(8, '0')}-${index}.0`,
          personalization: index,
          from: mail.from,
          ...(mail.replyTo === undefined ? {} : { replyTo: mail.replyTo }),
          to,
          subject: personalization.subject,
          ...(mail.text === undefined ? {} : { text: mail.text }),
          ...(mail.html === undefined ? {} : { html: mail.html }),
          headers: personalization.headers,
          categories: mail.categories,
          customArgs: personalization.customArgs,
          acceptedAt,
        });
      }
    }
    stored = stored.concat(batch);
    counters.increment('sendgrid.accepted', batch.length);
    if (webhook.url !== undefined) {
      const events: SendgridRawEvent[] = [];
      for (const message of batch) {
        for (const name of autoEvents) events.push(eventOf(name, message));
        if ((webhook.openShare ?? 0) > 0 && context.random() < (webhook.openShare ?? 0)) {
          events.push(eventOf('open', message));
        }
      }
      schedule(events, webhook.delayMs ?? 1000);
    }
    return messageId;
  };

  const senderVerified = (from: SendgridAddress): boolean => {
    if (options.verifiedSenders === undefined) return true;
    const email = from.email.toLowerCase();
    const domain = email.slice(email.lastIndexOf('@') + 1);
    return options.verifiedSenders.some((sender) => {
      const entry = sender.toLowerCase();
      return entry === email || entry === domain;
    });
  };

  const app = new Hono<Env>();
  app.use('/v3/*', async (c, next) => {
    c.set('limit', undefined);
    const header = c.req.header('authorization') ?? '';
    const key = /^bearer\s+/i.test(header) ? header.replace(/^bearer\s+/i, '').trim() : '';
    if (key === '') return fail(c, 401, [{ field: null, message: 'authorization required', help: null }]);
    if (key !== apiKey) {
      return fail(c, 401, [
        {
          field: null,
          message: 'The provided authorization grant is invalid, expired, or revoked',
          help: null,
        },
      ]);
    }
    const decision = limiter.hit(key, [
      { name: 'mail_send', limit: limits.limit, intervalMs: limits.windowMs },
    ]);
    c.set('limit', decision);
    if (!decision.allowed) return fail(c, 429, [{ field: null, message: 'too many requests', help: null }]);
    await next();
    for (const [name, value] of Object.entries(rateHeaders(decision))) c.res.headers.set(name, value);
  });

  app.post('/v3/mail/send', async (c) => {
    const text = await c.req.text();
    if (Buffer.byteLength(text, 'utf8') > maxBodyBytes) {
      return fail(c, 413, [{ field: null, message: 'Payload Too Large', help: null }]);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return fail(c, 400, [{ field: null, message: 'Bad Request', help: null }]);
    }
    const { mail, errors } = checkMail(body);
    if (mail === undefined) return fail(c, 400, errors);
    if (!senderVerified(mail.from)) {
      return fail(c, 403, [
        {
          field: 'from',
          message:
            'The from address does not match a verified Sender Identity. Mail cannot be sent until this error is resolved. Visit https://sendgrid.com/docs/for-developers/sending-email/sender-identity/ to see the Sender Identity requirements',
          help: null,
        },
      ]);
    }
    if (mail.sandbox) {
      counters.increment('sendgrid.sandbox');
      return c.body(null, 200);
    }
    const messageId = accept(mail);
    counters.increment('sendgrid.202');
    return c.body(null, 202, { 'X-Message-ID': messageId });
  });

  app.get('/v3/user/webhooks/event/settings/signed', (c) =>
    c.json({ enabled: true, public_key: keys.publicKey }),
  );
  app.all('*', (c) => fail(c, 404, [{ field: null, message: 'resource not found', help: null }]));

  return {
    vendor: 'sendgrid',
    app: app as unknown as Hono,
    credentials: { apiKey, webhookPublicKey: keys.publicKey },
    limits,
    messages: () => [...stored],
    findByCustomArg: (name, value) => stored.find((message) => message.customArgs[name] === value),
    events: {
      build: (name, target, details) => eventOf(name, find(target), details),
      signedRequest,
      post: async (events, url) => {
        const target = url ?? webhook.url;
        if (target === undefined) throw new Error('no Event Webhook URL is configured or given');
        const request = signedRequest(events);
        const response = await fetch(target, {
          method: 'POST',
          headers: request.headers,
          body: request.rawBody,
        });
        await response.arrayBuffer().catch(() => undefined);
        return response.status;
      },
      produced: () => [...produced],
      dispatcher,
    },
    inject: {
      bounce: (target, bounce) =>
        injected('bounce', target, {
          bounceType: bounce?.soft ? 'blocked' : 'bounce',
          ...(bounce?.reason === undefined ? {} : { reason: bounce.reason }),
        }),
      complaint: (target) => injected('spamreport', target),
      unsubscribe: (target) => injected('unsubscribe', target),
      open: (target) => injected('open', target),
      click: (target, url) => injected('click', target, url === undefined ? {} : { url }),
      drop: (target, reason) => injected('dropped', target, reason === undefined ? {} : { reason }),
    },
    reset: () => {
      limiter.reset();
      dispatcher.reset();
      stored = [];
      produced = [];
      serial = 0;
    },
  };
}

import {
  assertFreshTimestamp,
  assertHmacSignature,
  type Clock,
  type CrmEventDeduper,
  computeHmac,
  type EmailEvent,
  type EmailEventType,
  getHeader,
  type InboundWebhookRequest,
  rawBodyToBuffer,
  WebhookVerificationError,
} from '@leadpipe/core/adapter-kit';
import { MAILGUN_LEDGER_KEY_VARIABLE } from './mailgun-message.js';

/** A Mailgun signature block: `signature` = hex HMAC-SHA256 of `timestamp + token` under the webhook signing key. */
interface MailgunWebhookSignature {
  /** Epoch seconds, as text. */
  readonly timestamp: string;
  /** A random token, unique per delivery. */
  readonly token: string;
  /** Hex HMAC-SHA256 of `timestamp + token`. */
  readonly signature: string;
}

/**
 * The signature Mailgun puts on a webhook signed at `timestamp` with
 * `token`: for tests and for hosts that relay webhooks.
 */
export function computeMailgunSignature(signingKey: string, timestamp: string, token: string): string {
  return computeHmac({
    algorithm: 'sha256',
    encoding: 'hex',
    secret: signingKey,
    payload: [timestamp, token],
  });
}

/** What verification needs. */
export interface MailgunVerification {
  /** The webhook signing key. */
  readonly signingKey: string;
  /** The clock timestamps are compared with. */
  readonly now: Clock;
  /** How far a timestamp may be from `now`, in ms. */
  readonly toleranceMs: number;
  /** Remembers accepted tokens. */
  readonly replayGuard: CrmEventDeduper;
  /** The provider id, for errors and the replay guard. */
  readonly providerId: string;
}

function invalid(providerId: string, message: string): WebhookVerificationError {
  return new WebhookVerificationError('payload_invalid', { message, providerId });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Verify a signature block: the HMAC (constant time), then the timestamp's
 * freshness, then that the token was never accepted before (a replay). Only
 * a correctly signed, fresh token is remembered, so forged requests cannot
 * fill the replay guard.
 *
 * @throws WebhookVerificationError `signature_missing`, `signature_invalid`
 * (also for a replayed token), `timestamp_expired` or `payload_invalid`.
 */
function verifyMailgunSignature(
  block: { timestamp?: unknown; token?: unknown; signature?: unknown },
  verification: MailgunVerification,
  where: string,
): MailgunWebhookSignature {
  const { providerId } = verification;
  const signature = typeof block.signature === 'string' ? block.signature : undefined;
  const timestamp =
    typeof block.timestamp === 'number' && Number.isSafeInteger(block.timestamp)
      ? String(block.timestamp)
      : typeof block.timestamp === 'string'
        ? block.timestamp
        : undefined;
  const token = typeof block.token === 'string' ? block.token : undefined;
  if (signature === undefined || signature.trim() === '' || timestamp === undefined || token === undefined) {
    throw new WebhookVerificationError('signature_missing', {
      message: `${where}: the webhook carries no complete signature (timestamp, token and signature)`,
      providerId,
    });
  }
  if (token.length === 0 || token.length > 256) {
    throw invalid(providerId, `${where}.token: must be 1 to 256 characters`);
  }
  assertHmacSignature({
    algorithm: 'sha256',
    encoding: 'hex',
    secret: verification.signingKey,
    payload: [timestamp, token],
    signature,
    providerId,
    signatureName: `${where}.signature`,
  });
  if (!/^\d{1,12}$/.test(timestamp)) {
    throw invalid(providerId, `${where}.timestamp: must be whole epoch seconds`);
  }
  assertFreshTimestamp(Number(timestamp) * 1000, {
    now: verification.now,
    toleranceMs: verification.toleranceMs,
    providerId,
    fieldName: `${where}.timestamp`,
  });
  if (verification.replayGuard.seen(providerId, token)) {
    throw new WebhookVerificationError('signature_invalid', {
      message: `${where}.token: this token was already accepted; the request is a replay`,
      providerId,
    });
  }
  return { timestamp, token, signature };
}

/** A Mailgun message id without angle brackets or spaces. */
export function bareMessageId(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const bare = value.trim().replace(/^<|>$/g, '').trim();
  return bare === '' ? undefined : bare;
}

function bareEmail(value: string): string {
  const match = /<([^<>]+)>\s*$/.exec(value);
  return (match ? match[1]! : value).trim().toLowerCase();
}

function isoFromSeconds(value: unknown, providerId: string, field: string): string {
  const seconds = typeof value === 'string' ? Number(value) : value;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0 || seconds > 1e11) {
    throw invalid(providerId, `${field}: must be epoch seconds`);
  }
  return new Date(Math.round(seconds * 1000)).toISOString();
}

function ledgerKeyOf(variables: unknown): string | undefined {
  if (!isRecord(variables)) return undefined;
  const value = variables[MAILGUN_LEDGER_KEY_VARIABLE];
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/**
 * Map one Mailgun `event-data` object to an {@link EmailEvent}: `accepted`
 * → `processed`, `delivered`, `failed` with severity `permanent` → `bounced`
 * (hard), or `dropped` when Mailgun did not try (reason `suppress-*`),
 * `temporary` → `bounced` (soft; Mailgun retries), `rejected` → `dropped`,
 * `opened`, `clicked` (with the URL), `complained`, `unsubscribed`. Other
 * events (`stored`, list events) give `undefined`.
 *
 * @throws WebhookVerificationError `payload_invalid` when a field the event needs is missing.
 */
export function mapMailgunEvent(data: unknown, providerId: string): EmailEvent | undefined {
  if (!isRecord(data)) throw invalid(providerId, 'event-data: must be an object');
  const name = data.event;
  let type: EmailEventType;
  let bounce: 'hard' | 'soft' | undefined;
  switch (name) {
    case 'accepted':
      type = 'processed';
      break;
    case 'delivered':
    case 'opened':
    case 'clicked':
    case 'complained':
    case 'unsubscribed':
      type = name;
      break;
    case 'rejected':
      type = 'dropped';
      break;
    case 'failed': {
      const severity = data.severity;
      const reason = typeof data.reason === 'string' ? data.reason : '';
      if (severity === 'temporary') {
        type = 'bounced';
        bounce = 'soft';
      } else if (reason.startsWith('suppress-')) {
        type = 'dropped';
      } else {
        type = 'bounced';
        bounce = 'hard';
      }
      break;
    }
    default:
      if (typeof name !== 'string') throw invalid(providerId, 'event-data.event: must be a string');
      return undefined;
  }
  const eventId = text(data.id);
  if (eventId === undefined) throw invalid(providerId, 'event-data.id: must be a non-empty string');
  const recipient = text(data.recipient);
  if (recipient === undefined) throw invalid(providerId, 'event-data.recipient: must be an email address');
  const message = isRecord(data.message) ? data.message : {};
  const headers = isRecord(message.headers) ? message.headers : {};
  const status = isRecord(data['delivery-status']) ? data['delivery-status'] : {};
  const reason =
    type === 'bounced' || type === 'dropped'
      ? [text(data.reason), text(status.description) ?? text(status.message)].filter(Boolean).join(': ') ||
        undefined
      : undefined;
  const ledgerKey = ledgerKeyOf(data['user-variables']);
  const messageId = bareMessageId(headers['message-id']);
  const url = type === 'clicked' ? text(data.url) : undefined;
  return {
    eventId,
    type,
    email: bareEmail(recipient),
    occurredAt: isoFromSeconds(data.timestamp, providerId, 'event-data.timestamp'),
    ...(ledgerKey !== undefined && { ledgerKey }),
    ...(messageId !== undefined && { messageId }),
    ...(bounce !== undefined && { bounce }),
    ...(reason !== undefined && { reason }),
    ...(url !== undefined && { url }),
    raw: data,
  };
}

/** The reply's headers from a forwarded message: top-level fields, else the `message-headers` JSON list. */
function forwardedHeader(form: URLSearchParams | FormData, name: string): string | undefined {
  for (const [key, value] of form.entries()) {
    if (key.toLowerCase() === name.toLowerCase() && typeof value === 'string') return value;
  }
  const list = form.get('message-headers');
  if (typeof list !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(list);
    if (!Array.isArray(parsed)) return undefined;
    for (const entry of parsed) {
      if (
        Array.isArray(entry) &&
        typeof entry[0] === 'string' &&
        entry[0].toLowerCase() === name.toLowerCase()
      ) {
        return typeof entry[1] === 'string' ? entry[1] : undefined;
      }
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/**
 * Verify and parse a Mailgun webhook: an event webhook (JSON with
 * `signature` and `event-data`) gives its event; a reply forwarded by a
 * route's `forward()` (form fields, signed with the same key) gives a
 * `replied` event whose `messageId` is the message replied to (`In-Reply-To`).
 *
 * @throws WebhookVerificationError when unsigned, forged, stale, replayed or malformed.
 */
export async function parseMailgunWebhook(
  request: InboundWebhookRequest,
  verification: MailgunVerification,
): Promise<EmailEvent[]> {
  const { providerId } = verification;
  const body = rawBodyToBuffer(request.rawBody, providerId);
  const contentType = getHeader(request.headers, 'content-type') ?? '';
  const isForm = /^(multipart\/form-data|application\/x-www-form-urlencoded)/i.test(contentType);
  if (!isForm) {
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      throw invalid(providerId, 'body: is not JSON (nor a forwarded message form)');
    }
    if (!isRecord(json)) throw invalid(providerId, 'body: must be a JSON object');
    const block = isRecord(json.signature) ? json.signature : {};
    verifyMailgunSignature(block, verification, 'signature');
    const event = mapMailgunEvent(json['event-data'], providerId);
    return event === undefined ? [] : [event];
  }
  let form: FormData;
  try {
    form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  } catch {
    throw invalid(providerId, 'body: is not a readable form');
  }
  const field = (name: string) => {
    const value = form.get(name);
    return typeof value === 'string' ? value : undefined;
  };
  const signed = verifyMailgunSignature(
    { timestamp: field('timestamp'), token: field('token'), signature: field('signature') },
    verification,
    'form',
  );
  const sender = text(field('sender')) ?? text(field('from'));
  if (sender === undefined) throw invalid(providerId, 'sender: must be the replying address');
  const inReplyTo = bareMessageId(forwardedHeader(form, 'In-Reply-To'));
  const replyId = bareMessageId(forwardedHeader(form, 'Message-Id'));
  return [
    {
      eventId: replyId ?? `mailgun-reply-${signed.token}`,
      type: 'replied',
      email: bareEmail(sender),
      occurredAt: isoFromSeconds(signed.timestamp, providerId, 'form.timestamp'),
      ...(inReplyTo !== undefined && { messageId: inReplyTo }),
      raw: {
        from: field('from'),
        subject: field('subject'),
        'Message-Id': replyId,
        'In-Reply-To': inReplyTo,
        References: forwardedHeader(form, 'References'),
      },
    },
  ];
}

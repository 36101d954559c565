import { type KeyObject, verify } from 'node:crypto';
import {
  assertFreshTimestamp,
  assertWebhookBodySize,
  type CrmEventDeduper,
  type EmailEvent,
  type EmailEventType,
  getHeader,
  type InboundWebhookRequest,
  rawBodyToBuffer,
  WebhookVerificationError,
} from '@leadpipe/core/adapter-kit';
import { SENDGRID_LEDGER_KEY_ARG } from './sendgrid-message.js';

/** The header holding the base64 ECDSA signature of a signed Event Webhook request. */
export const SENDGRID_SIGNATURE_HEADER = 'X-Twilio-Email-Event-Webhook-Signature';
/** The header holding the signed timestamp (epoch seconds) of a signed Event Webhook request. */
export const SENDGRID_TIMESTAMP_HEADER = 'X-Twilio-Email-Event-Webhook-Timestamp';

/** What {@link parseSendgridEvents} needs. */
export interface SendgridEventOptions {
  /** Provider id, in errors and for the deduper. */
  readonly providerId: string;
  /** The Event Webhook's verification key (ECDSA P-256). */
  readonly publicKey: KeyObject;
  /** How far the signed timestamp may be from now, ms. */
  readonly toleranceMs: number;
  /** Largest body read, bytes. */
  readonly maxBodyBytes: number;
  /** Clock, epoch ms. */
  readonly now: () => number;
  /** Drops events seen in earlier deliveries, by `sg_event_id`. */
  readonly deduper?: CrmEventDeduper | undefined;
}

const SIMPLE_TYPES: Readonly<Record<string, EmailEventType>> = {
  processed: 'processed',
  delivered: 'delivered',
  deferred: 'deferred',
  dropped: 'dropped',
  open: 'opened',
  click: 'clicked',
  spamreport: 'complained',
  unsubscribe: 'unsubscribed',
  group_unsubscribe: 'unsubscribed',
};

/** Bounce classifications that say the address itself is bad (SendGrid's "Invalid Address"). */
const HARD_CLASSIFICATIONS: ReadonlySet<string> = new Set(['invalid address']);

function text(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/**
 * Hard or soft, for a `bounce` event: `type: "blocked"` is soft (the
 * receiver refused for now), `type: "bounce"` is hard. Without a type, a
 * bounce classification of "Invalid Address" or a `5.x.x` status is hard and
 * anything else soft.
 */
export function bounceKind(event: Readonly<Record<string, unknown>>): 'hard' | 'soft' {
  const type = text(event.type)?.toLowerCase();
  if (type === 'blocked') return 'soft';
  if (type === 'bounce') return 'hard';
  const classification = text(event.bounce_classification)?.toLowerCase();
  if (classification !== undefined) return HARD_CLASSIFICATIONS.has(classification) ? 'hard' : 'soft';
  return text(event.status)?.startsWith('5') === true ? 'hard' : 'soft';
}

/** SendGrid's `sg_message_id` is `<X-Message-ID>.<filter and instance parts>`: the part the send answered with. */
export function messageIdOf(sgMessageId: string | undefined): string | undefined {
  if (sgMessageId === undefined) return undefined;
  const dot = sgMessageId.indexOf('.');
  return dot === -1 ? sgMessageId : sgMessageId.slice(0, dot);
}

/** One SendGrid event as an {@link EmailEvent}, or `undefined` for a type leadpipe does not track (group_resubscribe). */
export function toEmailEvent(raw: Readonly<Record<string, unknown>>): EmailEvent | undefined {
  const name = text(raw.event);
  const type = name === 'bounce' ? 'bounced' : name === undefined ? undefined : SIMPLE_TYPES[name];
  const eventId = text(raw.sg_event_id);
  const email = text(raw.email);
  const timestamp = typeof raw.timestamp === 'number' ? raw.timestamp : Number(text(raw.timestamp));
  if (type === undefined || eventId === undefined || email === undefined || !Number.isFinite(timestamp)) {
    return undefined;
  }
  const ledgerKey = text(raw[SENDGRID_LEDGER_KEY_ARG]);
  const messageId = messageIdOf(text(raw.sg_message_id));
  const reason = text(raw.reason) ?? text(raw.response);
  const url = type === 'clicked' ? text(raw.url) : undefined;
  return {
    eventId,
    type,
    email: email.toLowerCase(),
    occurredAt: new Date(timestamp * 1000).toISOString(),
    ...(ledgerKey === undefined ? {} : { ledgerKey }),
    ...(messageId === undefined ? {} : { messageId }),
    ...(type === 'bounced' ? { bounce: bounceKind(raw) } : {}),
    ...(reason !== undefined && (type === 'bounced' || type === 'dropped' || type === 'deferred')
      ? { reason }
      : {}),
    ...(url === undefined ? {} : { url }),
    raw,
  };
}

/**
 * Verify a signed Event Webhook request and parse its events: the body size
 * first, then the ECDSA P-256 signature (SHA-256) over the timestamp header
 * followed by the raw body, then the timestamp's freshness, and only then
 * the JSON. Events are deduplicated by `sg_event_id` within the delivery
 * and, with a deduper, across deliveries; types leadpipe does not track
 * (`group_resubscribe`) and events lacking an id, address or time are left
 * out.
 *
 * @throws WebhookVerificationError `signature_missing` without the headers,
 * `signature_invalid` for a signature that does not verify (forged, tampered,
 * other key), `timestamp_expired` outside the tolerance, `payload_too_large`,
 * and `payload_invalid` for a body that is not a JSON array of events.
 */
export function parseSendgridEvents(
  request: InboundWebhookRequest,
  options: SendgridEventOptions,
): EmailEvent[] {
  const { providerId } = options;
  assertWebhookBodySize(request.rawBody, options.maxBodyBytes, providerId);
  const signature = getHeader(request.headers, SENDGRID_SIGNATURE_HEADER);
  const timestamp = getHeader(request.headers, SENDGRID_TIMESTAMP_HEADER);
  if (signature === undefined || timestamp === undefined || signature === '' || timestamp === '') {
    throw new WebhookVerificationError('signature_missing', {
      message: `the request lacks the ${SENDGRID_SIGNATURE_HEADER} or ${SENDGRID_TIMESTAMP_HEADER} header; turn on the signed Event Webhook`,
      providerId,
    });
  }
  const body = rawBodyToBuffer(request.rawBody, providerId);
  let valid = false;
  try {
    valid = verify(
      'sha256',
      Buffer.concat([Buffer.from(timestamp, 'utf8'), body]),
      options.publicKey,
      Buffer.from(signature, 'base64'),
    );
  } catch {
    valid = false;
  }
  if (!valid) {
    throw new WebhookVerificationError('signature_invalid', {
      message: `${SENDGRID_SIGNATURE_HEADER}: the signature does not verify with the configured public key`,
      providerId,
    });
  }
  const seconds = timestamp.trim();
  assertFreshTimestamp(/^\d{1,13}$/.test(seconds) ? Number(seconds) * 1000 : seconds, {
    now: options.now,
    toleranceMs: options.toleranceMs,
    providerId,
    fieldName: SENDGRID_TIMESTAMP_HEADER,
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed)) {
    throw new WebhookVerificationError('payload_invalid', {
      message: 'rawBody: an Event Webhook body is a JSON array of events',
      providerId,
    });
  }
  const events: EmailEvent[] = [];
  const ids = new Set<string>();
  for (const item of parsed) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) continue;
    const event = toEmailEvent(item as Record<string, unknown>);
    if (event === undefined || ids.has(event.eventId)) continue;
    ids.add(event.eventId);
    if (options.deduper?.seen(providerId, event.eventId) === true) continue;
    events.push(event);
  }
  return events;
}

import {
  assertFreshTimestamp,
  assertWebhookBodySize,
  type Clock,
  ConfigurationError,
  type CrmEvent,
  type CrmEventDeduper,
  type CrmEventType,
  DEFAULT_WEBHOOK_MAX_BODY_BYTES,
  getHeader,
  type InboundWebhookRequest,
  rawBodyToBuffer,
  redactValue,
  verifyHmacSignature,
  WebhookVerificationError,
} from '@leadpipe/core/adapter-kit';
import { type HubspotWebhookEventInput, webhookEventSchema } from './hubspot-schemas.js';

/** Options of {@link verifyHubspotWebhook} and {@link parseHubspotWebhook}. */
interface HubspotWebhookVerifyOptions {
  /** The app's client secret, which HubSpot signs with. */
  readonly clientSecret: string;
  /**
   * The public URL HubSpot posts to, exactly as configured in the app.
   * Default: `request.url`, which must then be absolute (behind a proxy it
   * usually is not the URL HubSpot signed).
   */
  readonly webhookUrl?: string;
  /** The clock, epoch ms, the request timestamp is compared with. Default `Date.now`. */
  readonly now?: Clock;
  /**
   * Largest body read, in bytes; a larger one is refused
   * (`payload_too_large`, answer 413) before its signature is computed or
   * it is parsed. Default 1 MiB (`DEFAULT_WEBHOOK_MAX_BODY_BYTES`).
   */
  readonly maxBodyBytes?: number;
  /** How old (or early) a request may be, ms. Default 300 000, HubSpot's 5 minutes. */
  readonly toleranceMs?: number;
  /** Adapter id, for errors. Default `hubspot`. */
  readonly providerId?: string;
}

// HubSpot decodes these escapes in the URI before signing (UNVERIFIED list; both forms are accepted).
const URI_DECODES: readonly [string, string][] = [
  ['%3A', ':'],
  ['%2F', '/'],
  ['%3F', '?'],
  ['%40', '@'],
  ['%21', '!'],
  ['%24', '$'],
  ['%27', "'"],
  ['%28', '('],
  ['%29', ')'],
  ['%2A', '*'],
  ['%2C', ','],
  ['%3B', ';'],
];

function decodeSignedUri(uri: string): string {
  let out = uri;
  for (const [encoded, char] of URI_DECODES) out = out.replace(new RegExp(encoded, 'gi'), char);
  return out;
}

/**
 * Verify HubSpot's v3 webhook signature: `X-HubSpot-Signature-v3` is the
 * base64 HMAC-SHA256, keyed with the client secret, of method + URI + raw
 * body + `X-HubSpot-Request-Timestamp`; compared in constant time, and the
 * timestamp must be within 5 minutes. The URI is tried as received and with
 * the escapes HubSpot decodes before signing.
 *
 * @throws WebhookVerificationError `payload_too_large` (checked first, before
 * any hashing), `signature_missing`, `timestamp_expired`, `signature_invalid`
 * or `payload_invalid` (timestamp not a whole number of ms).
 * @throws ConfigurationError when no absolute URL is known or the secret is empty.
 */
function verifyHubspotWebhook(request: InboundWebhookRequest, options: HubspotWebhookVerifyOptions): void {
  const providerId = options.providerId ?? 'hubspot';
  assertWebhookBodySize(request.rawBody, options.maxBodyBytes ?? DEFAULT_WEBHOOK_MAX_BODY_BYTES, providerId);
  const signature = getHeader(request.headers, 'x-hubspot-signature-v3');
  if (signature === undefined || signature.trim() === '') {
    throw new WebhookVerificationError('signature_missing', {
      message: 'X-HubSpot-Signature-v3: no v3 webhook signature was sent',
      providerId,
    });
  }
  const timestamp = getHeader(request.headers, 'x-hubspot-request-timestamp');
  assertFreshTimestamp(timestamp, {
    ...(options.now === undefined ? {} : { now: options.now }),
    toleranceMs: options.toleranceMs ?? 300_000,
    providerId,
    fieldName: 'X-HubSpot-Request-Timestamp',
  });
  const uri = options.webhookUrl ?? request.url;
  if (!/^https?:\/\//i.test(uri)) {
    throw new ConfigurationError('invalid_configuration', {
      message:
        'webhookUrl: the request URL is not absolute; pass the public URL HubSpot posts to as the webhookUrl setting',
      providerId,
    });
  }
  const body = rawBodyToBuffer(request.rawBody, providerId);
  const method = request.method.toUpperCase();
  const candidates = [...new Set([uri, decodeSignedUri(uri)])];
  const valid = candidates.some((candidate) =>
    verifyHmacSignature({
      algorithm: 'sha256',
      encoding: 'base64',
      secret: options.clientSecret,
      payload: [method, candidate, body, String(timestamp).trim()],
      signature,
    }),
  );
  if (!valid) {
    throw new WebhookVerificationError('signature_invalid', {
      message: 'X-HubSpot-Signature-v3: the webhook signature does not match the request',
      providerId,
    });
  }
}

const OBJECT_TYPE_IDS: Readonly<Record<string, string>> = {
  '0-1': 'contacts',
  '0-2': 'companies',
  '0-3': 'deals',
  '0-5': 'tickets',
};

const SINGULAR_TO_OBJECT: Readonly<Record<string, string>> = {
  contact: 'contacts',
  company: 'companies',
  deal: 'deals',
  ticket: 'tickets',
  product: 'products',
  line_item: 'line_items',
};

const ACTIONS: Readonly<Record<string, CrmEventType>> = {
  creation: 'record.created',
  propertyChange: 'record.updated',
  associationChange: 'record.updated',
  deletion: 'record.deleted',
  privacyDeletion: 'record.deleted',
  merge: 'record.merged',
  restore: 'record.restored',
};

function objectOf(event: HubspotWebhookEventInput, prefix: string): string | undefined {
  if (prefix !== 'object') return SINGULAR_TO_OBJECT[prefix];
  if (event.objectTypeId !== undefined) return OBJECT_TYPE_IDS[event.objectTypeId] ?? event.objectTypeId;
  const name = event.objectName ?? event.objectType;
  if (name === undefined) return undefined;
  return SINGULAR_TO_OBJECT[name.toLowerCase()] ?? name.toLowerCase();
}

/** Options of {@link parseHubspotWebhook}. */
export interface ParseHubspotWebhookOptions extends HubspotWebhookVerifyOptions {
  /** Drops events seen in earlier deliveries. Default: only repeats within this delivery are dropped. */
  readonly deduper?: CrmEventDeduper;
}

/**
 * Verify a HubSpot webhook (see {@link verifyHubspotWebhook}) and turn its
 * JSON array of events into {@link CrmEvent}s: de-duplicated by `eventId`
 * (within the delivery, and across deliveries with a `deduper`), ordered by
 * `occurredAt`. Subscription types leadpipe has no event for are left out.
 *
 * @throws WebhookVerificationError as {@link verifyHubspotWebhook}, or
 * `payload_invalid` when the body is not a JSON array of events.
 */
export function parseHubspotWebhook(
  request: InboundWebhookRequest,
  options: ParseHubspotWebhookOptions,
): CrmEvent[] {
  const providerId = options.providerId ?? 'hubspot';
  verifyHubspotWebhook(request, options);
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawBodyToBuffer(request.rawBody, providerId).toString('utf8'));
  } catch {
    throw new WebhookVerificationError('payload_invalid', {
      message: 'body: the webhook body is not valid JSON',
      providerId,
    });
  }
  if (!Array.isArray(parsed)) {
    throw new WebhookVerificationError('payload_invalid', {
      message: 'body: must be a JSON array of events',
      providerId,
    });
  }
  const kept: { event: CrmEvent; at: number; index: number }[] = [];
  const seen = new Set<string>();
  parsed.forEach((candidate: unknown, index) => {
    const result = webhookEventSchema.safeParse(candidate);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new WebhookVerificationError('payload_invalid', {
        message: `body[${index}].${issue?.path.join('.') || 'event'}: ${issue?.message ?? 'invalid event'}`,
        providerId,
      });
    }
    const event = result.data;
    const [prefix = '', action = ''] = event.subscriptionType.split('.');
    const type = ACTIONS[action];
    const object = objectOf(event, prefix);
    if (type === undefined || object === undefined) return;
    if (seen.has(event.eventId)) return;
    seen.add(event.eventId);
    const properties =
      event.propertyName === undefined ? undefined : { [event.propertyName]: event.propertyValue ?? null };
    kept.push({
      at: event.occurredAt,
      index,
      event: {
        eventId: event.eventId,
        type,
        object,
        recordId: event.objectId,
        occurredAt: new Date(event.occurredAt).toISOString(),
        ...(properties === undefined ? {} : { properties }),
        ...(event.changeSource === undefined ? {} : { changeSource: event.changeSource }),
        raw: redactValue(candidate),
      },
    });
  });
  const fresh = kept.filter((item) => !options.deduper?.seen(providerId, item.event.eventId));
  fresh.sort((left, right) => left.at - right.at || left.index - right.index);
  return fresh.map((item) => item.event);
}

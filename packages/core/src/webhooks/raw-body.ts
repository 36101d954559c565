import { WebhookVerificationError } from '../contracts/errors.js';

/**
 * The default body-size cap of every webhook handler leadpipe ships: 1 MiB.
 * Vendors' real deliveries are far smaller (HubSpot: up to 100 events of
 * under 1 KB; a Salesforce Outbound Message: up to 100 notifications; a
 * Clearbit or Apollo answer: one record), so anything larger is refused
 * before it is parsed or its signature computed.
 */
export const DEFAULT_WEBHOOK_MAX_BODY_BYTES = 1_048_576;

/**
 * The size of a request body in bytes (UTF-8 for strings), counted only as
 * far as needed to compare it with `maxBytes`: a string longer than
 * `maxBytes` characters is over the cap without being measured.
 */
function bodyBytesOver(rawBody: string | Uint8Array, maxBytes: number): number | undefined {
  if (rawBody instanceof Uint8Array) return rawBody.byteLength > maxBytes ? rawBody.byteLength : undefined;
  if (rawBody.length > maxBytes) return rawBody.length;
  // A UTF-16 code unit is at most 3 UTF-8 bytes.
  if (rawBody.length * 3 <= maxBytes) return undefined;
  const bytes = Buffer.byteLength(rawBody, 'utf8');
  return bytes > maxBytes ? bytes : undefined;
}

/**
 * Refuse a webhook body larger than `maxBytes`, before anything parses it or
 * computes a signature over it. Call it first in every webhook handler.
 *
 * @param rawBody - the body exactly as received.
 * @param maxBytes - the cap in bytes; default {@link DEFAULT_WEBHOOK_MAX_BODY_BYTES}.
 * @param providerId - named in the error, when known.
 * @throws WebhookVerificationError `payload_too_large` (answer 413) when the body is over the cap;
 * `payload_invalid` when it is not a string or bytes.
 */
export function assertWebhookBodySize(
  rawBody: string | Uint8Array,
  maxBytes: number = DEFAULT_WEBHOOK_MAX_BODY_BYTES,
  providerId?: string,
): void {
  if (typeof rawBody !== 'string' && !(rawBody instanceof Uint8Array)) rawBodyToBuffer(rawBody, providerId);
  const size = bodyBytesOver(rawBody, maxBytes);
  if (size === undefined) return;
  throw new WebhookVerificationError('payload_too_large', {
    message: `rawBody: the webhook body is larger than the ${maxBytes}-byte cap (at least ${size} bytes); raise maxBodyBytes if the vendor really sends this much`,
    providerId,
  });
}

/**
 * The exact bytes of a request body as a `Buffer`, without copying when the
 * body is already binary. Strings are encoded as UTF-8.
 *
 * @param rawBody - the body exactly as received.
 * @param providerId - named in the error, when known.
 * @throws WebhookVerificationError `payload_invalid` when the body is not a
 * string or bytes (for example an object a JSON body parser already decoded:
 * signatures can only be checked over the raw bytes).
 */
export function rawBodyToBuffer(rawBody: string | Uint8Array, providerId?: string): Buffer {
  if (typeof rawBody === 'string') return Buffer.from(rawBody, 'utf8');
  if (rawBody instanceof Uint8Array)
    return Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength);
  throw new WebhookVerificationError('payload_invalid', {
    message: `rawBody: must be the raw request body as a string or Uint8Array, got ${describe(rawBody)}; disable JSON body parsing for the webhook route`,
    providerId,
  });
}

/**
 * A request body as a UTF-8 string.
 *
 * @param rawBody - the body exactly as received.
 * @param providerId - named in the error, when known.
 * @throws WebhookVerificationError `payload_invalid` when the body is not a string or bytes.
 */
export function rawBodyToString(rawBody: string | Uint8Array, providerId?: string): string {
  if (typeof rawBody === 'string') return rawBody;
  return rawBodyToBuffer(rawBody, providerId).toString('utf8');
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}

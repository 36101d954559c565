import { WebhookVerificationError } from '../contracts/errors.js';

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

import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { ConfigurationError, WebhookVerificationError } from '../contracts/errors.js';
import { registerSecret } from '../contracts/secrets.js';
import { parseOptions } from '../options/parse-options.js';

/** Hash functions accepted for HMAC signatures. */
export type HmacAlgorithm = 'sha1' | 'sha256' | 'sha512';

/** How a signature is written as text. */
export type SignatureEncoding = 'hex' | 'base64';

/**
 * What is signed: one string or byte sequence, or several parts signed one
 * after the other (as HubSpot's `method + uri + body + timestamp`), so raw
 * bytes never need decoding to be concatenated. Strings are encoded as UTF-8.
 */
export type HmacPayload = string | Uint8Array | readonly (string | Uint8Array)[];

/** Options of {@link computeHmac}. */
export interface ComputeHmacOptions {
  /** The hash function. */
  readonly algorithm: HmacAlgorithm;
  /** The signing secret. Registered for redaction. Must not be empty. */
  readonly secret: string | Uint8Array;
  /** What is signed. */
  readonly payload: HmacPayload;
  /** How the digest is written. */
  readonly encoding: SignatureEncoding;
}

/** Options of {@link verifyHmacSignature}. */
export interface VerifyHmacSignatureOptions extends ComputeHmacOptions {
  /** The signature received, such as a header value. Missing means not valid. */
  readonly signature: string | null | undefined;
  /**
   * Text the signature starts with, such as `sha1=`, removed before the
   * digest is compared. A signature without it is not valid.
   */
  readonly prefix?: string;
}

/** Options of {@link assertHmacSignature}. */
export interface AssertHmacSignatureOptions extends VerifyHmacSignatureOptions {
  /** The provider or CRM the webhook claims to come from, for the error. */
  readonly providerId?: string;
  /** Where the signature came from (such as a header name), for the error message. */
  readonly signatureName?: string;
}

const DIGEST_BYTES: Readonly<Record<HmacAlgorithm, number>> = { sha1: 20, sha256: 32, sha512: 64 };
/** Whitespace tolerated around a signature (header folding, a stray space). */
const MAX_SURROUNDING_SPACE = 64;
const HEX_DIGITS = /^[0-9a-fA-F]*$/;
const BASE64_TEXT = /^[A-Za-z0-9+/]*={0,2}$/;

/** The HMAC settings of an options object; its other fields (payload, signature...) are checked where used. */
const hmacSettingsSchema = z.looseObject({
  algorithm: z.enum(['sha1', 'sha256', 'sha512'], {
    error: (issue) => `must be one of sha1, sha256, sha512, got "${String(issue.input)}"`,
  }),
  encoding: z.enum(['hex', 'base64'], {
    error: (issue) => `must be "hex" or "base64", got "${String(issue.input)}"`,
  }),
});

function checkOptions(options: ComputeHmacOptions, name: string): void {
  parseOptions(hmacSettingsSchema, options, { name });
  const secret: unknown = options.secret;
  if (!(typeof secret === 'string' || secret instanceof Uint8Array) || secret.length === 0) {
    throw new ConfigurationError('missing_credentials', {
      message:
        'secret: the webhook signing secret is missing or empty; an empty key would let anyone sign requests',
    });
  }
  if (typeof secret === 'string') registerSecret(secret);
}

function digest(options: ComputeHmacOptions): Buffer {
  const hmac = createHmac(options.algorithm, options.secret);
  const parts =
    typeof options.payload === 'string' || options.payload instanceof Uint8Array
      ? [options.payload]
      : options.payload;
  for (const part of parts) {
    if (typeof part === 'string') hmac.update(part, 'utf8');
    else hmac.update(part);
  }
  return hmac.digest();
}

/**
 * The HMAC of a payload, written in hex or base64.
 *
 * @throws ConfigurationError when the algorithm or encoding is unknown, or the secret is empty.
 */
export function computeHmac(options: ComputeHmacOptions): string {
  checkOptions(options, 'computeHmac');
  return digest(options).toString(options.encoding);
}

/** How many characters a digest of `bytes` bytes takes when written in `encoding`. */
function encodedLength(bytes: number, encoding: SignatureEncoding): number {
  return encoding === 'hex' ? bytes * 2 : Math.ceil(bytes / 3) * 4;
}

/**
 * The digest a signature's text stands for, or `undefined` when the text
 * cannot be one. The length is checked first, so text of any size costs
 * nothing to refuse; the character checks are linear, with no backtracking.
 */
function decodeSignature(
  text: string,
  algorithm: HmacAlgorithm,
  encoding: SignatureEncoding,
): Buffer | undefined {
  const bytes = DIGEST_BYTES[algorithm];
  if (encoding === 'hex') {
    if (text.length !== encodedLength(bytes, 'hex') || !HEX_DIGITS.test(text)) return undefined;
    return Buffer.from(text, 'hex');
  }
  // Base64 with or without its `=` padding.
  const unpadded = text.replace(/=+$/, '');
  const padded = encodedLength(bytes, 'base64');
  if (text.length !== padded && text.length !== unpadded.length) return undefined;
  if (unpadded.length !== Math.ceil((bytes * 4) / 3) || !BASE64_TEXT.test(text)) return undefined;
  return Buffer.from(unpadded, 'base64');
}

/**
 * Whether `signature` is the HMAC of `payload` under `secret`, compared in
 * constant time (`crypto.timingSafeEqual`). Never throws on what the sender
 * controls: a missing, malformed, wrongly prefixed or wrong-length signature
 * is simply not valid, and a signature longer than any valid one is refused
 * before it is read (a 10 MB header costs nothing). Hex digests match in
 * either case; base64 ones with or without their `=` padding.
 *
 * @throws ConfigurationError when the algorithm or encoding is unknown, or the secret is empty
 * (a setup mistake, not a bad request).
 */
export function verifyHmacSignature(options: VerifyHmacSignatureOptions): boolean {
  checkOptions(options, 'verifyHmacSignature');
  const { signature, prefix } = options;
  if (typeof signature !== 'string' || signature.length === 0) return false;
  // Nothing longer than the longest valid signature (plus spaces around it) is read any further.
  const longest = (prefix?.length ?? 0) + encodedLength(DIGEST_BYTES[options.algorithm], options.encoding);
  if (signature.length > longest + MAX_SURROUNDING_SPACE) return false;
  let encoded = signature.trim();
  if (prefix !== undefined && prefix.length > 0) {
    if (encoded.slice(0, prefix.length).toLowerCase() !== prefix.toLowerCase()) return false;
    encoded = encoded.slice(prefix.length);
  }
  const received = decodeSignature(encoded.trim(), options.algorithm, options.encoding);
  if (received === undefined) return false;
  const expected = digest(options);
  if (received.length !== expected.length) return false;
  return timingSafeEqual(received, expected);
}

/**
 * Like {@link verifyHmacSignature}, but throws: `signature_missing` when no
 * signature was sent, `signature_invalid` when it does not match. The error
 * never contains the secret, the signature or the payload.
 *
 * @throws WebhookVerificationError when the signature is missing or wrong.
 * @throws ConfigurationError when the algorithm or encoding is unknown, or the secret is empty.
 */
export function assertHmacSignature(options: AssertHmacSignatureOptions): void {
  const name = options.signatureName ?? 'signature';
  if (typeof options.signature !== 'string' || options.signature.trim().length === 0) {
    checkOptions(options, 'assertHmacSignature');
    throw new WebhookVerificationError('signature_missing', {
      message: `${name}: no webhook signature was sent`,
      providerId: options.providerId,
    });
  }
  if (!verifyHmacSignature(options)) {
    throw new WebhookVerificationError('signature_invalid', {
      message: `${name}: the webhook signature does not match the payload`,
      providerId: options.providerId,
    });
  }
}

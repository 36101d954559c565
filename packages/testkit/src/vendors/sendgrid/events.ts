import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';

/** The Event Webhook event names the emulator produces. */
export type SendgridEventName =
  | 'processed'
  | 'delivered'
  | 'deferred'
  | 'bounce'
  | 'dropped'
  | 'open'
  | 'click'
  | 'spamreport'
  | 'unsubscribe'
  | 'group_unsubscribe'
  | 'group_resubscribe';

/** Every {@link SendgridEventName}. */
export const SENDGRID_EVENT_NAMES: readonly SendgridEventName[] = [
  'processed',
  'delivered',
  'deferred',
  'bounce',
  'dropped',
  'open',
  'click',
  'spamreport',
  'unsubscribe',
  'group_unsubscribe',
  'group_resubscribe',
];

/** One Event Webhook event as SendGrid posts it: its fields plus the message's custom args at top level. */
export type SendgridRawEvent = Readonly<Record<string, unknown>>;

/** An ECDSA P-256 key pair; `publicKey` as SendGrid shows it (base64 DER SubjectPublicKeyInfo). */
export interface SendgridSigningKeys {
  /** Base64 of the DER SubjectPublicKeyInfo: what SendGrid's settings page and API show. */
  readonly publicKey: string;
  /** The private key the emulator signs with. */
  readonly privateKey: KeyObject;
}

const KEY_PAIRS = new Map<string, SendgridSigningKeys>();

/**
 * The emulator's signing key pair for `seed` (and `purpose`): generated once
 * per process, so `defaultCredentials(seed)` and the emulator agree.
 */
export function sendgridSigningKeys(
  seed: number,
  purpose: 'webhook' | 'forger' = 'webhook',
): SendgridSigningKeys {
  const id = `${purpose}|${seed}`;
  const known = KEY_PAIRS.get(id);
  if (known !== undefined) return known;
  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const keys = {
    publicKey: pair.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    privateKey: pair.privateKey,
  };
  KEY_PAIRS.set(id, keys);
  return keys;
}

/**
 * The signature SendGrid puts in `X-Twilio-Email-Event-Webhook-Signature`:
 * base64 of the DER ECDSA P-256 signature (SHA-256) over the timestamp
 * header's text followed by the raw body.
 */
export function sendgridEventSignature(privateKey: KeyObject, timestamp: string, body: string): string {
  return sign('sha256', Buffer.from(timestamp + body, 'utf8'), privateKey).toString('base64');
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const CHECKSUM_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

/** Key prefixes of the record kinds the Salesforce emulator issues. */
export const ID_PREFIX = {
  lead: '00Q',
  organization: '00D',
  user: '005',
  ingestJob: '750',
  queryLocator: '01g',
  outboundNotification: '04l',
  outboundAction: '04k',
} as const;

function base62(value: number, width: number): string {
  let rest = Math.floor(value);
  let text = '';
  while (rest > 0) {
    text = BASE62[rest % 62] + text;
    rest = Math.floor(rest / 62);
  }
  return text.padStart(width, '0');
}

/** The three-character case-safe suffix Salesforce appends to a 15-character id. */
function idChecksum(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk += 1) {
    let bits = 0;
    for (let position = 0; position < 5; position += 1) {
      const char = id15.charAt(chunk * 5 + position);
      if (char >= 'A' && char <= 'Z') bits |= 1 << position;
    }
    suffix += CHECKSUM_ALPHABET[bits];
  }
  return suffix;
}

/**
 * An 18-character Salesforce id: the 3-character key prefix, a pod marker,
 * a base-62 sequence number, and the case-safe checksum.
 */
export function salesforceId(prefix: string, sequence: number): string {
  const id15 = `${prefix}Dn000${base62(sequence, 7)}`;
  return id15 + idChecksum(id15);
}

/** Whether `value` looks like a Salesforce id at all (15 or 18 alphanumerics). */
export function hasIdShape(value: string): boolean {
  return /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/.test(value);
}

/**
 * The 18-character form of a well-formed id of the given prefix, or
 * `undefined` when the prefix or the checksum is wrong.
 */
export function normalizeId(value: string, prefix: string): string | undefined {
  if (!hasIdShape(value) || !value.startsWith(prefix)) return undefined;
  const id15 = value.slice(0, 15);
  const expected = id15 + idChecksum(id15);
  if (value.length === 18 && value.slice(15).toUpperCase() !== expected.slice(15)) return undefined;
  return expected;
}

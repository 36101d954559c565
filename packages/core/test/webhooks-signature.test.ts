import { describe, expect, it } from 'vitest';
import { ConfigurationError, WebhookVerificationError } from '../src/index.js';
import { getHeader } from '../src/webhooks/headers.js';
import { assertHmacSignature, computeHmac, verifyHmacSignature } from '../src/webhooks/hmac.js';
import {
  assertWebhookBodySize,
  DEFAULT_WEBHOOK_MAX_BODY_BYTES,
  rawBodyToBuffer,
  rawBodyToString,
} from '../src/webhooks/raw-body.js';
import { assertFreshTimestamp } from '../src/webhooks/timestamp.js';

// Reference digests computed with `openssl dgst` and taken from RFC 2202 / RFC 4231, not with the code under test.
const CLEARBIT_BODY =
  '{"id":"lead-1","type":"person","body":{"name":{"fullName":"Ada Lovelace"}},"status":200}';
const CLEARBIT_KEY = 'sk_a1b2c3d4e5f6';
const CLEARBIT_SIGNATURE = 'sha1=97867a778f083f34da1fcbc5b3da9bc0e42668c6';

const HUBSPOT_SECRET = 'hubspot-client-secret-0001';
const HUBSPOT_URI = 'https://hooks.example.com/leadpipe/hubspot?portal=42';
const HUBSPOT_BODY = '[{"eventId":1,"subscriptionType":"contact.creation","objectId":123}]';
const HUBSPOT_TIMESTAMP = '1700000000000';
const HUBSPOT_SIGNATURE = 'gXYuGtMS3EQNXempxWHpRSTZvrc2WTAAJTIXHEhbM08=';

/** A clock that stands still until moved. */
function fakeClock(start: number) {
  let at = start;
  return {
    now: () => at,
    advance: (ms: number) => {
      at += ms;
    },
    set: (ms: number) => {
      at = ms;
    },
  };
}

/** The error `run` throws; fails the test when it throws nothing. */
function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('getHeader', () => {
  it('matches names case-insensitively over Headers and records', () => {
    expect(getHeader(new Headers({ 'X-Request-Signature': 'abc' }), 'x-request-signature')).toBe('abc');
    expect(getHeader({ 'x-hubspot-signature-v3': 'sig' }, 'X-HubSpot-Signature-v3')).toBe('sig');
  });

  it('reads other Headers implementations through their get method', () => {
    const foreign = new Map([['x-request-signature', 'sha1=ab']]);
    const headersLike = {
      get: (name: string) => foreign.get(name.toLowerCase()) ?? null,
    } as unknown as Headers;
    expect(getHeader(headersLike, 'X-Request-Signature')).toBe('sha1=ab');
    expect(getHeader(headersLike, 'x-missing')).toBeUndefined();
  });

  it('joins array values and repeated names, and returns undefined when absent', () => {
    expect(getHeader({ 'x-forwarded-for': ['1.1.1.1', '2.2.2.2'] }, 'X-Forwarded-For')).toBe(
      '1.1.1.1, 2.2.2.2',
    );
    expect(getHeader({ 'X-A': 'one', 'x-a': 'two' }, 'x-a')).toBe('one, two');
    expect(getHeader({ 'x-a': undefined }, 'x-a')).toBeUndefined();
    expect(getHeader({}, 'x-a')).toBeUndefined();
  });
});

describe('raw bodies', () => {
  it('converts strings and bytes both ways without changing a byte', () => {
    const text = 'héllo ✓';
    const bytes = new TextEncoder().encode(text);
    expect(rawBodyToBuffer(text).equals(Buffer.from(bytes))).toBe(true);
    expect(rawBodyToString(bytes)).toBe(text);
    const view = bytes.subarray(1, 3);
    expect([...rawBodyToBuffer(view)]).toEqual([...view]);
  });

  it('rejects a body a JSON parser already decoded with payload_invalid', () => {
    const parsed = JSON.parse('{"a":1}') as unknown as string;
    expect(() => rawBodyToBuffer(parsed, 'clearbit')).toThrowError(/rawBody: must be the raw request body/);
    const error = thrownBy(() => rawBodyToString(parsed));
    expect(WebhookVerificationError.isInstance(error) && error.code).toBe('payload_invalid');
  });
});

describe('computeHmac', () => {
  it('matches RFC 2202 and RFC 4231 test vectors', () => {
    const jefe = { secret: 'Jefe', payload: 'what do ya want for nothing?', encoding: 'hex' } as const;
    expect(computeHmac({ ...jefe, algorithm: 'sha1' })).toBe('effcdf6ae5eb2fa2d27416d5f184df9c259a7c79');
    expect(computeHmac({ ...jefe, algorithm: 'sha256' })).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
    expect(
      computeHmac({
        algorithm: 'sha512',
        secret: new Uint8Array(20).fill(0x0b),
        payload: 'Hi There',
        encoding: 'hex',
      }),
    ).toBe(
      '87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854',
    );
  });

  it('signs payload parts as their concatenation, bytes and strings alike', () => {
    const whole = computeHmac({
      algorithm: 'sha256',
      secret: 's3cret-value',
      payload: 'abcdef',
      encoding: 'base64',
    });
    const parts = computeHmac({
      algorithm: 'sha256',
      secret: 's3cret-value',
      payload: ['ab', new TextEncoder().encode('cd'), 'ef'],
      encoding: 'base64',
    });
    expect(parts).toBe(whole);
  });

  it('refuses an empty secret and unknown algorithms as configuration errors', () => {
    const options = { algorithm: 'sha256', secret: '', payload: 'x', encoding: 'hex' } as const;
    expect(() => computeHmac(options)).toThrowError(/secret: .*missing or empty/);
    expect(() => computeHmac({ ...options, secret: 'k', algorithm: 'md5' as 'sha1' })).toThrowError(
      /algorithm: must be one of/,
    );
    const error = thrownBy(() => computeHmac(options));
    expect(ConfigurationError.isInstance(error) && error.code).toBe('missing_credentials');
    const encoding = thrownBy(() =>
      verifyHmacSignature({ ...options, secret: 'k', signature: 'ab', encoding: 'b32' as 'hex' }),
    );
    expect(ConfigurationError.isInstance(encoding) && encoding.issues).toEqual([
      { field: 'encoding', reason: 'must be "hex" or "base64", got "b32"' },
    ]);
    expect((encoding as Error).message).toBe(
      'verifyHmacSignature: encoding: must be "hex" or "base64", got "b32"',
    );
  });
});

describe('verifyHmacSignature: Clearbit X-Request-Signature', () => {
  const verifyClearbit = (signature: string | undefined, body: string | Uint8Array = CLEARBIT_BODY) =>
    verifyHmacSignature({
      algorithm: 'sha1',
      secret: CLEARBIT_KEY.replace(/^(sk|pk)_/, ''),
      payload: body,
      signature,
      encoding: 'hex',
      prefix: 'sha1=',
    });

  it('accepts the reference signature over string and byte bodies, hex in either case', () => {
    expect(verifyClearbit(CLEARBIT_SIGNATURE)).toBe(true);
    expect(verifyClearbit(CLEARBIT_SIGNATURE, new TextEncoder().encode(CLEARBIT_BODY))).toBe(true);
    expect(verifyClearbit(CLEARBIT_SIGNATURE.toUpperCase().replace('SHA1=', 'sha1='))).toBe(true);
  });

  it('rejects a tampered body, a missing prefix, a wrong key and the unstripped key', () => {
    expect(verifyClearbit(CLEARBIT_SIGNATURE, CLEARBIT_BODY.replace('200', '404'))).toBe(false);
    expect(verifyClearbit(CLEARBIT_SIGNATURE.slice('sha1='.length))).toBe(false);
    expect(
      verifyHmacSignature({
        algorithm: 'sha1',
        secret: CLEARBIT_KEY,
        payload: CLEARBIT_BODY,
        signature: CLEARBIT_SIGNATURE,
        encoding: 'hex',
        prefix: 'sha1=',
      }),
    ).toBe(false);
  });

  it('returns false, never throws, on missing, malformed or wrong-length signatures', () => {
    for (const signature of [
      undefined,
      '',
      'sha1=',
      'sha1=zz',
      'sha1=abc',
      'sha1=abcd',
      `${CLEARBIT_SIGNATURE}00`,
    ]) {
      expect(verifyClearbit(signature)).toBe(false);
    }
    expect(
      verifyHmacSignature({
        algorithm: 'sha256',
        secret: 'k-123456',
        payload: 'x',
        signature: '%%%not base64%%%',
        encoding: 'base64',
      }),
    ).toBe(false);
    expect(
      verifyHmacSignature({
        algorithm: 'sha256',
        secret: 'k-123456',
        payload: 'x',
        signature: null,
        encoding: 'base64',
      }),
    ).toBe(false);
  });
});

describe('verifyHmacSignature: HubSpot v3', () => {
  const headers = {
    'x-hubspot-signature-v3': HUBSPOT_SIGNATURE,
    'x-hubspot-request-timestamp': HUBSPOT_TIMESTAMP,
  };
  const verifyHubSpot = (body: string, timestamp = HUBSPOT_TIMESTAMP) =>
    verifyHmacSignature({
      algorithm: 'sha256',
      secret: HUBSPOT_SECRET,
      payload: ['POST', HUBSPOT_URI, new TextEncoder().encode(body), timestamp],
      signature: getHeader(headers, 'X-HubSpot-Signature-v3'),
      encoding: 'base64',
    });

  it('accepts method + uri + body + timestamp signed with the client secret', () => {
    expect(verifyHubSpot(HUBSPOT_BODY)).toBe(true);
  });

  it('rejects another body or a timestamp coerced to a float', () => {
    expect(verifyHubSpot(HUBSPOT_BODY.replace('123', '124'))).toBe(false);
    expect(verifyHubSpot(HUBSPOT_BODY, `${HUBSPOT_TIMESTAMP}.0`)).toBe(false);
  });

  it('assertFreshTimestamp reads the Clock it is given: fresh within 5 minutes, expired after', () => {
    const signedAt = Number(HUBSPOT_TIMESTAMP);
    const clock = fakeClock(signedAt + 299_999);
    expect(() =>
      assertFreshTimestamp(headers['x-hubspot-request-timestamp'], { now: clock.now }),
    ).not.toThrow();
    clock.advance(1);
    expect(() => assertFreshTimestamp(signedAt, { now: clock.now })).not.toThrow();
    clock.advance(1);
    expect(() => assertFreshTimestamp(signedAt, { now: clock.now, providerId: 'hubspot' })).toThrowError(
      /signed 300001 ms ago, outside the allowed 300000 ms/,
    );
    clock.set(signedAt - 60_000);
    const error = thrownBy(() => assertFreshTimestamp(signedAt, { now: clock.now, toleranceMs: 1000 }));
    expect(WebhookVerificationError.isInstance(error) && error.code).toBe('timestamp_expired');
    expect((error as Error).message).toMatch(/in the future/);
  });
});

describe('assertFreshTimestamp input', () => {
  it('rejects missing and non-integer timestamps with payload_invalid naming the field', () => {
    for (const value of [undefined, null, '', 'abc', '1700000000000.0', Number.NaN, 1.5]) {
      const caught = thrownBy(() =>
        assertFreshTimestamp(value, { now: () => 0, fieldName: 'X-HubSpot-Request-Timestamp' }),
      );
      expect(WebhookVerificationError.isInstance(caught) && caught.code).toBe('payload_invalid');
      expect((caught as Error).message).toMatch(/^X-HubSpot-Request-Timestamp: must be a whole number/);
    }
  });
});

describe('assertHmacSignature', () => {
  const options = {
    algorithm: 'sha1',
    secret: 'a1b2c3d4e5f6',
    payload: CLEARBIT_BODY,
    encoding: 'hex',
    prefix: 'sha1=',
    providerId: 'clearbit',
    signatureName: 'X-Request-Signature',
  } as const;

  it('passes a valid signature and names missing and invalid ones without leaking them', () => {
    expect(() => assertHmacSignature({ ...options, signature: CLEARBIT_SIGNATURE })).not.toThrow();
    const codes: string[] = [];
    for (const signature of [undefined, 'sha1=00']) {
      const error = thrownBy(() => assertHmacSignature({ ...options, signature }));
      if (!WebhookVerificationError.isInstance(error)) throw error;
      codes.push(error.code);
      expect(error.message).toMatch(/^X-Request-Signature: /);
      const dump = `${error.message} ${JSON.stringify(error)} ${error.stack}`;
      expect(dump).not.toContain('a1b2c3d4e5f6');
      expect(dump).not.toContain('Ada Lovelace');
      expect(error.providerId).toBe('clearbit');
    }
    expect(codes).toEqual(['signature_missing', 'signature_invalid']);
  });
});

describe('hostile signatures and bodies', () => {
  const huge = 10 * 1024 * 1024;

  it('verifyHmacSignature returns false, never throws, on a 10 MB signature in any encoding', () => {
    // Before the fix the base64 check was a backtracking regex: a 10 MB base64-looking value threw a RangeError.
    for (const [encoding, text] of [
      ['base64', 'A'.repeat(huge)],
      ['base64', `${'A'.repeat(huge)}=`],
      ['hex', 'a'.repeat(huge)],
    ] as const) {
      for (const prefix of [undefined, 'sha256=']) {
        const signature = prefix === undefined ? text : `${prefix}${text}`;
        expect(
          verifyHmacSignature({
            algorithm: 'sha256',
            secret: 'k-123456',
            payload: 'x',
            signature,
            encoding,
            prefix,
          }),
        ).toBe(false);
      }
    }
  });

  it('assertHmacSignature refuses a 10 MB signature as signature_invalid', () => {
    const error = thrownBy(() =>
      assertHmacSignature({
        algorithm: 'sha256',
        secret: 'k-123456',
        payload: 'x',
        signature: '/'.repeat(huge),
        encoding: 'base64',
      }),
    );
    expect(WebhookVerificationError.isInstance(error) && error.code).toBe('signature_invalid');
  });

  it('accepts base64 digests with or without padding, and nothing of another length', () => {
    const digest = computeHmac({ algorithm: 'sha256', secret: 'k-123456', payload: 'x', encoding: 'base64' });
    expect(digest.endsWith('=')).toBe(true);
    const verify = (signature: string) =>
      verifyHmacSignature({
        algorithm: 'sha256',
        secret: 'k-123456',
        payload: 'x',
        signature,
        encoding: 'base64',
      });
    expect(verify(digest)).toBe(true);
    expect(verify(` ${digest.replace(/=+$/, '')} `)).toBe(true);
    expect(verify(`${digest}=`)).toBe(false);
    expect(verify(`A${digest}`)).toBe(false);
    expect(verify(digest.slice(0, -2))).toBe(false);
  });

  it('assertWebhookBodySize refuses a body over the cap as payload_too_large, counting UTF-8 bytes', () => {
    expect(DEFAULT_WEBHOOK_MAX_BODY_BYTES).toBe(1_048_576);
    expect(() => assertWebhookBodySize('x'.repeat(1_048_576))).not.toThrow();
    const error = thrownBy(() => assertWebhookBodySize(new Uint8Array(1_048_577), undefined, 'hubspot'));
    expect(WebhookVerificationError.isInstance(error) && error.code).toBe('payload_too_large');
    expect((error as WebhookVerificationError).providerId).toBe('hubspot');
    // 400 characters, 800 bytes: within a 500-character count but over a 500-byte cap.
    expect(() => assertWebhookBodySize('é'.repeat(400), 800)).not.toThrow();
    expect(thrownBy(() => assertWebhookBodySize('é'.repeat(400), 500))).toMatchObject({
      code: 'payload_too_large',
    });
    expect(thrownBy(() => assertWebhookBodySize({} as unknown as string))).toMatchObject({
      code: 'payload_invalid',
    });
  });
});

import { createHmac, createPublicKey, generateKeyPairSync, timingSafeEqual, verify } from 'node:crypto';
import type { EmulatorClock } from '../../emulator/context.js';
import { deterministicSecret } from '../shared/util.js';

/** Scopes of the GTM API's OAuth2 apps. */
export const GTM_SCOPES = [
  'api:data:contact',
  'api:data:company',
  'api:data:intent',
  'api:data:news',
  'api:data:scoops',
  'api:data:lookup',
] as const;

/** What the ZoomInfo emulator accepts, for both APIs. */
export interface ZoomInfoCredentials {
  /** Legacy API: username (password and PKI logins). */
  readonly username: string;
  /** Legacy API: password. */
  readonly password: string;
  /** Legacy API, PKI login: the client id of the admin-portal key. */
  readonly pkiClientId: string;
  /** Legacy API, PKI login: the RSA private key (PKCS#8 PEM) that signs client assertions. */
  readonly privateKey: string;
  /** GTM API: the OAuth2 app's client id. */
  readonly clientId: string;
  /** GTM API: the OAuth2 app's client secret. */
  readonly clientSecret: string;
  /** GTM API: a refresh token of the app (single use: each refresh returns the next). */
  readonly refreshToken: string;
}

const keyPairs = new Map<number, { privateKey: string; publicKey: string }>();

/** The PKI key pair of an emulator seeded with `seed`: made once per seed and process. */
function keyPairFor(seed: number): { privateKey: string; publicKey: string } {
  let pair = keyPairs.get(seed);
  if (pair === undefined) {
    const generated = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    pair = { privateKey: generated.privateKey, publicKey: generated.publicKey };
    keyPairs.set(seed, pair);
  }
  return pair;
}

/** The credentials an emulator seeded with `seed` accepts, over the ones given. */
export function zoominfoCredentials(
  seed: number,
  given: Partial<ZoomInfoCredentials> = {},
): ZoomInfoCredentials {
  return {
    username: given.username ?? `api-user-${deterministicSecret('', 'zoominfo-user', seed, 8)}@example.com`,
    password: given.password ?? deterministicSecret('zipw_', 'zoominfo-password', seed, 20),
    pkiClientId: given.pkiClientId ?? deterministicSecret('', 'zoominfo-pki-client', seed, 16),
    privateKey: given.privateKey ?? keyPairFor(seed).privateKey,
    clientId: given.clientId ?? deterministicSecret('0oa', 'zoominfo-client-id', seed, 17),
    clientSecret: given.clientSecret ?? deterministicSecret('', 'zoominfo-client-secret', seed, 40),
    refreshToken: given.refreshToken ?? deterministicSecret('zirt_', 'zoominfo-refresh-0', seed, 40),
  };
}

/** The public key matching `privateKey` (PEM). */
function publicKeyOf(privateKey: string): string {
  return createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
}

function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

function decodeSegment(segment: string | undefined): Record<string, unknown> | undefined {
  if (segment === undefined) return undefined;
  try {
    const value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Sessions of the legacy API: 60-minute HS256 JWTs signed by the emulator. */
export interface LegacyTokens {
  /** A JWT for `username`, valid `ttlSeconds` from now (emulated). */
  issue(username: string): string;
  /** Whether `jwt` is one of ours and unexpired. */
  check(jwt: string): 'valid' | 'expired' | 'invalid';
  /** Whether a PKI client assertion is signed by the account's key, for this user and client, and current. */
  checkAssertion(assertion: string): string | undefined;
  /** Invalidate every JWT issued so far (a password change, a revoked key). */
  revokeAll(): void;
}

/** Create the legacy session store. */
export function createLegacyTokens(
  clock: EmulatorClock,
  secret: string,
  credentials: ZoomInfoCredentials,
  ttlSeconds: number,
): LegacyTokens {
  let generation = 0;
  const publicKey = publicKeyOf(credentials.privateKey);
  const sign = (data: string) => createHmac('sha256', `${secret}|${generation}`).update(data).digest();
  return {
    issue(username) {
      const iat = Math.floor(clock.now() / 1000);
      const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
      const payload = base64url(
        JSON.stringify({ iss: 'zoominfo-emulator', sub: username, iat, exp: iat + ttlSeconds }),
      );
      return `${header}.${payload}.${base64url(sign(`${header}.${payload}`))}`;
    },
    check(jwt) {
      const [header, payload, signature] = jwt.split('.');
      if (header === undefined || payload === undefined || signature === undefined) return 'invalid';
      const expected = sign(`${header}.${payload}`);
      const given = Buffer.from(signature, 'base64url');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
      const claims = decodeSegment(payload);
      if (typeof claims?.exp !== 'number') return 'invalid';
      return claims.exp * 1000 <= clock.now() ? 'expired' : 'valid';
    },
    checkAssertion(assertion) {
      const [header, payload, signature] = assertion.split('.');
      const head = decodeSegment(header);
      const claims = decodeSegment(payload);
      if (head?.alg !== 'RS256' || claims === undefined || signature === undefined) return undefined;
      const ok = verify(
        'sha256',
        Buffer.from(`${header}.${payload}`),
        publicKey,
        Buffer.from(signature, 'base64url'),
      );
      if (!ok) return undefined;
      const now = clock.now() / 1000;
      const { aud, username, client_id: clientId, exp, iat } = claims;
      if (aud !== 'enterprise_api' || username !== credentials.username) return undefined;
      if (clientId !== credentials.pkiClientId) return undefined;
      if (typeof exp !== 'number' || typeof iat !== 'number' || exp <= now || iat > now + 60)
        return undefined;
      if (exp - iat > 600) return undefined;
      return username;
    },
    revokeAll() {
      generation++;
    },
  };
}

/** Sessions of the GTM API: opaque access tokens and single-use, rotating refresh tokens. */
export interface GtmTokens {
  /** A new access token with `scopes`, and, when `withRefresh`, the next refresh token. */
  issue(scopes: readonly string[], withRefresh: boolean): { accessToken: string; refreshToken?: string };
  /** Spend a refresh token: true once per token. */
  redeem(refreshToken: string): boolean;
  /** The scopes of a live access token, `expired`, or `invalid`. */
  check(accessToken: string): readonly string[] | 'expired' | 'invalid';
  /** Invalidate every access token issued so far. */
  revokeAll(): void;
}

/** Create the GTM token store. */
export function createGtmTokens(
  clock: EmulatorClock,
  seed: number,
  firstRefreshToken: string,
  ttlSeconds: number,
): GtmTokens {
  const access = new Map<string, { expiresAt: number; scopes: readonly string[] }>();
  const refresh = new Set<string>([firstRefreshToken]);
  let counter = 0;
  return {
    issue(scopes, withRefresh) {
      counter++;
      const accessToken = deterministicSecret('eyJraWQi', `zoominfo-access-${counter}`, seed, 48);
      access.set(accessToken, { expiresAt: clock.now() + ttlSeconds * 1000, scopes });
      if (!withRefresh) return { accessToken };
      const refreshToken = deterministicSecret('zirt_', `zoominfo-refresh-${counter}`, seed, 40);
      refresh.add(refreshToken);
      return { accessToken, refreshToken };
    },
    redeem(refreshToken) {
      return refresh.delete(refreshToken);
    },
    check(accessToken) {
      const found = access.get(accessToken);
      if (found === undefined) return 'invalid';
      return found.expiresAt <= clock.now() ? 'expired' : found.scopes;
    },
    revokeAll() {
      access.clear();
    },
  };
}

import { randomHex, randomUuid } from './util.js';

/** Who a request is authorized as. */
export type AuthResult =
  | { readonly ok: true; readonly appKey: string; readonly oauth: boolean }
  | { readonly ok: false; readonly expiredForMs: number | undefined };

interface AccessToken {
  readonly expiresAt: number;
}

/** OAuth token endpoint outcome. */
export type TokenResult =
  | { readonly ok: true; readonly body: Record<string, string | number> }
  | { readonly ok: false; readonly body: Record<string, string> };

/** Settings of the emulated app's credentials. */
export interface AuthSettings {
  /** Accepted private-app token. */
  readonly privateAppToken: string;
  /** OAuth client id. */
  readonly clientId: string;
  /** OAuth client secret. */
  readonly clientSecret: string;
  /** Registered redirect URI. */
  readonly redirectUri: string;
  /** Refresh token issued up front. */
  readonly refreshToken: string;
  /** Access token lifetime, emulated ms. */
  readonly accessTokenTtlMs: number;
}

/**
 * Private-app tokens and OAuth: authorization codes (single use), refresh
 * tokens (not rotated, as HubSpot does) and access tokens that expire on the
 * emulated clock.
 */
export class HubspotAuth {
  private readonly accessTokens = new Map<string, AccessToken>();
  private readonly refreshTokens = new Set<string>();
  private readonly codes = new Set<string>();

  /**
   * @param settings - the app's credentials
   * @param now - emulated clock
   * @param random - seeded random numbers for new tokens
   */
  constructor(
    private readonly settings: AuthSettings,
    private readonly now: () => number,
    private readonly random: () => number,
  ) {
    this.clear();
  }

  /** The app's OAuth client id. */
  get clientId(): string {
    return this.settings.clientId;
  }

  /** Forget issued tokens and codes; the initial refresh token is valid again. */
  clear(): void {
    this.accessTokens.clear();
    this.codes.clear();
    this.refreshTokens.clear();
    this.refreshTokens.add(this.settings.refreshToken);
  }

  /** Issue a single-use authorization code. */
  issueCode(): string {
    const code = randomUuid(this.random);
    this.codes.add(code);
    return code;
  }

  /** Expire every access token now. */
  expireAll(): void {
    const at = this.now();
    for (const [token, value] of this.accessTokens) {
      if (value.expiresAt > at) this.accessTokens.set(token, { expiresAt: at });
    }
  }

  /** Check an `Authorization` header. */
  authorize(header: string | undefined): AuthResult {
    const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    const token = match?.[1];
    if (token === undefined) return { ok: false, expiredForMs: undefined };
    if (token === this.settings.privateAppToken) return { ok: true, appKey: 'private-app', oauth: false };
    const access = this.accessTokens.get(token);
    if (access === undefined) return { ok: false, expiredForMs: undefined };
    const at = this.now();
    if (access.expiresAt <= at) return { ok: false, expiredForMs: at - access.expiresAt };
    return { ok: true, appKey: `oauth:${this.settings.clientId}`, oauth: true };
  }

  /** Remaining lifetime and metadata of an access token (`GET /oauth/v1/access-tokens/{token}`). */
  describe(token: string): { expiresInSeconds: number } | undefined {
    const access = this.accessTokens.get(token);
    if (access === undefined) return undefined;
    const left = Math.floor((access.expiresAt - this.now()) / 1000);
    return left > 0 ? { expiresInSeconds: left } : undefined;
  }

  /** Whether a refresh token is known. */
  knowsRefreshToken(token: string): boolean {
    return this.refreshTokens.has(token);
  }

  /** `POST /oauth/v1/token` (and `/oauth/v3/token`) with form fields. */
  token(fields: Readonly<Record<string, string>>): TokenResult {
    const error = (status: string, message: string): TokenResult => ({
      ok: false,
      body: { status, message, correlationId: randomUuid(this.random) },
    });
    const grantType = fields.grant_type;
    if (grantType !== 'refresh_token' && grantType !== 'authorization_code') {
      return error(
        'BAD_GRANT_TYPE',
        `grant_type must be refresh_token or authorization_code, got ${grantType ?? 'nothing'}`,
      );
    }
    if (fields.client_id !== this.settings.clientId)
      return error('BAD_CLIENT_ID', 'missing or unknown client id');
    if (fields.client_secret !== this.settings.clientSecret) {
      return error('BAD_CLIENT_SECRET', 'missing or invalid client secret');
    }
    let refreshToken: string;
    if (grantType === 'refresh_token') {
      const given = fields.refresh_token;
      if (given === undefined || !this.refreshTokens.has(given)) {
        return error('BAD_REFRESH_TOKEN', 'missing or unknown refresh token');
      }
      refreshToken = given;
    } else {
      if (fields.redirect_uri !== this.settings.redirectUri) {
        return error('BAD_REDIRECT_URI', 'redirect_uri does not match the one used to authorize');
      }
      const code = fields.code;
      if (code === undefined || !this.codes.delete(code))
        return error('BAD_AUTH_CODE', 'missing or unknown auth code');
      refreshToken = randomUuid(this.random);
      this.refreshTokens.add(refreshToken);
    }
    const accessToken = `CN${randomHex(this.random, 6)}.${randomHex(this.random, 40)}`;
    this.accessTokens.set(accessToken, { expiresAt: this.now() + this.settings.accessTokenTtlMs });
    return {
      ok: true,
      body: {
        token_type: 'bearer',
        refresh_token: refreshToken,
        access_token: accessToken,
        expires_in: Math.floor(this.settings.accessTokenTtlMs / 1000),
      },
    };
  }
}

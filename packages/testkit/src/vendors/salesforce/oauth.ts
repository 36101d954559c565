import { createHash, createHmac, createVerify, type KeyObject, randomBytes } from 'node:crypto';

/** Settings of the emulated OAuth server. */
export interface OAuthSettings {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly username: string;
  readonly password: string;
  readonly organizationId: string;
  readonly userId: string;
  readonly rotateRefreshTokens: boolean;
  readonly sessionLifetimeMs: number;
  readonly jwtPublicKey: string | KeyObject | undefined;
  readonly jwtAudiences: readonly string[];
  readonly now: () => number;
}

/** A token endpoint answer: status and JSON body. */
export interface TokenResponse {
  readonly status: number;
  readonly body: Record<string, string>;
}

function oauthError(error: string, description: string): TokenResponse {
  return { status: 400, body: { error, error_description: description } };
}

function base64UrlJson(part: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** A deterministic token derived from the seed, so it survives `reset()`. */
export function derivedToken(organizationId: string, purpose: string, seed: number): string {
  const digest = createHash('sha256').update(`salesforce:${purpose}:${seed}`).digest('base64url');
  return `${organizationId.slice(0, 15)}!AQ${digest}`;
}

/**
 * Access and refresh tokens with expiry on the emulated clock, and the
 * `POST /services/oauth2/token` grant types Salesforce offers to servers:
 * refresh_token (with optional rotation), password, and JWT bearer.
 */
export class TokenStore {
  private readonly accessTokens = new Map<string, number>();
  private readonly refreshTokens = new Set<string>();
  private readonly settings: OAuthSettings;

  /** @param settings - credentials, lifetimes and the clock. */
  constructor(settings: OAuthSettings) {
    this.settings = settings;
  }

  /** Register an access token valid for one session lifetime from now. */
  addAccessToken(token: string): void {
    this.accessTokens.set(token, this.settings.now() + this.settings.sessionLifetimeMs);
  }

  /** Register a refresh token. */
  addRefreshToken(token: string): void {
    this.refreshTokens.add(token);
  }

  /** Whether `token` is a live access token. */
  isValid(token: string): boolean {
    const expiresAt = this.accessTokens.get(token);
    return expiresAt !== undefined && this.settings.now() < expiresAt;
  }

  /** Expire every access token now (refresh tokens stay valid). */
  expireAll(): void {
    for (const token of this.accessTokens.keys()) this.accessTokens.set(token, Number.NEGATIVE_INFINITY);
  }

  /** Forget every token. */
  clear(): void {
    this.accessTokens.clear();
    this.refreshTokens.clear();
  }

  private issue(instanceUrl: string, withRefreshToken: string | undefined): TokenResponse {
    const { organizationId, userId, clientSecret } = this.settings;
    const accessToken = `${organizationId.slice(0, 15)}!AQ${randomBytes(48).toString('base64url')}`;
    this.addAccessToken(accessToken);
    const id = `${instanceUrl}/id/${organizationId}/${userId}`;
    const issuedAt = String(Math.floor(this.settings.now()));
    const signature = createHmac('sha256', clientSecret)
      .update(id + issuedAt)
      .digest('base64');
    const body: Record<string, string> = {
      access_token: accessToken,
      instance_url: instanceUrl,
      id,
      token_type: 'Bearer',
      issued_at: issuedAt,
      signature,
      scope: 'api refresh_token',
    };
    if (withRefreshToken !== undefined) body.refresh_token = withRefreshToken;
    return { status: 200, body };
  }

  /** Answer a token request made with the form `params`, issuing tokens for `instanceUrl`. */
  token(params: URLSearchParams, instanceUrl: string): TokenResponse {
    const grantType = params.get('grant_type');
    if (grantType === 'refresh_token') return this.refreshGrant(params, instanceUrl);
    if (grantType === 'password') return this.passwordGrant(params, instanceUrl);
    if (grantType === 'urn:ietf:params:oauth:grant-type:jwt-bearer')
      return this.jwtGrant(params, instanceUrl);
    return oauthError('unsupported_grant_type', 'grant type not supported');
  }

  private clientError(params: URLSearchParams, secretRequired: boolean): TokenResponse | undefined {
    if (params.get('client_id') !== this.settings.clientId) {
      return oauthError('invalid_client_id', 'client identifier invalid');
    }
    const secret = params.get('client_secret');
    if ((secretRequired || secret !== null) && secret !== this.settings.clientSecret) {
      return oauthError('invalid_client', 'invalid client credentials');
    }
    return undefined;
  }

  private refreshGrant(params: URLSearchParams, instanceUrl: string): TokenResponse {
    const clientError = this.clientError(params, false);
    if (clientError !== undefined) return clientError;
    const refreshToken = params.get('refresh_token');
    if (refreshToken === null || !this.refreshTokens.has(refreshToken)) {
      return oauthError('invalid_grant', 'expired access/refresh token');
    }
    if (!this.settings.rotateRefreshTokens) return this.issue(instanceUrl, undefined);
    this.refreshTokens.delete(refreshToken);
    const rotated = `5Aep${randomBytes(40).toString('base64url')}`;
    this.refreshTokens.add(rotated);
    return this.issue(instanceUrl, rotated);
  }

  private passwordGrant(params: URLSearchParams, instanceUrl: string): TokenResponse {
    const clientError = this.clientError(params, true);
    if (clientError !== undefined) return clientError;
    if (
      params.get('username') !== this.settings.username ||
      params.get('password') !== this.settings.password
    ) {
      return oauthError('invalid_grant', 'authentication failure');
    }
    return this.issue(instanceUrl, undefined);
  }

  private jwtGrant(params: URLSearchParams, instanceUrl: string): TokenResponse {
    const assertion = params.get('assertion') ?? '';
    const parts = assertion.split('.');
    const invalid = oauthError('invalid_grant', 'invalid assertion');
    if (parts.length !== 3) return invalid;
    const [headerPart = '', payloadPart = '', signaturePart = ''] = parts;
    const header = base64UrlJson(headerPart);
    const payload = base64UrlJson(payloadPart);
    if (header === undefined || payload === undefined || header.alg !== 'RS256') return invalid;
    if (payload.iss !== this.settings.clientId)
      return oauthError('invalid_client_id', 'client identifier invalid');
    if (payload.sub !== this.settings.username)
      return oauthError('invalid_grant', "user hasn't approved this consumer");
    const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    const accepted = [...this.settings.jwtAudiences, instanceUrl];
    if (!audiences.some((audience) => typeof audience === 'string' && accepted.includes(audience))) {
      return oauthError('invalid_grant', 'audience is invalid');
    }
    if (typeof payload.exp !== 'number' || payload.exp * 1000 <= this.settings.now()) {
      return oauthError('invalid_grant', 'expired authorization code');
    }
    const key = this.settings.jwtPublicKey;
    if (key !== undefined) {
      const verifier = createVerify('RSA-SHA256');
      verifier.update(`${headerPart}.${payloadPart}`);
      let valid = false;
      try {
        valid = verifier.verify(key, Buffer.from(signaturePart, 'base64url'));
      } catch {
        valid = false;
      }
      if (!valid) return invalid;
    } else if (signaturePart.length === 0) {
      return invalid;
    }
    return this.issue(instanceUrl, undefined);
  }
}

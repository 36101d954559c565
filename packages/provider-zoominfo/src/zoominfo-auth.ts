import { sign } from 'node:crypto';
import {
  ApiCallError,
  type Clock,
  ConfigurationError,
  createHttpClient,
  type HttpClient,
  type HttpErrorInfo,
  type HttpErrorOverrides,
  registerSecret,
} from '@leadpipe/core/adapter-kit';

/** Tokens the GTM API issued, handed to `onTokens` so a host can keep the rotated refresh token. */
export interface ZoomInfoTokens {
  /** The new access token. */
  readonly accessToken: string;
  /** When it expires, in epoch ms. */
  readonly expiresAt: number;
  /** The next refresh token (refresh-token flow only). The one used is now spent: store this one. */
  readonly refreshToken?: string;
}

/** How the adapter signs in: one of ZoomInfo's four flows, with its secrets read lazily. */
export type ZoomInfoAuthFlow =
  | { readonly kind: 'gtm-client-credentials'; readonly clientId: string; readonly clientSecret: string }
  | {
      readonly kind: 'gtm-refresh-token';
      readonly clientId: string;
      readonly clientSecret: string;
      readonly refreshToken: string;
    }
  | { readonly kind: 'legacy-password'; readonly username: string; readonly password: string }
  | {
      readonly kind: 'legacy-pki';
      readonly username: string;
      readonly clientId: string;
      readonly privateKey: string;
    };

/** A signed-in session: the bearer token of data calls, renewed before it expires and after a 401. */
export interface ZoomInfoSession {
  /** A token valid now (signing in, or renewing one about to expire, first). */
  token(signal?: AbortSignal): Promise<string>;
  /**
   * Renew after `rejected` was refused (401). When another caller already
   * renewed it, the newer token is returned without a new request; callers
   * share one request.
   */
  renew(rejected: string, signal?: AbortSignal): Promise<string>;
}

/** Settings of {@link createZoomInfoSession}. */
export interface ZoomInfoSessionSettings {
  /** Provider id, on errors. */
  readonly providerId: string;
  /** Origin of the API (`https://api.zoominfo.com`). */
  readonly baseUrl: string;
  /** The flow, resolved at the first call (secrets are read lazily). */
  readonly flow: () => ZoomInfoAuthFlow;
  /** GTM scopes to ask for; default none (the app's scopes). */
  readonly scopes?: readonly string[];
  /** Called with every token set the GTM API issues. */
  readonly onTokens?: (tokens: ZoomInfoTokens) => void;
  /** Current time, epoch ms. */
  readonly clock: Clock;
  /** Renew this long before expiry, in ms. Default 5 minutes (the legacy docs: refresh a 60-minute JWT at 55). */
  readonly renewBeforeMs?: number;
  /** The fetch implementation. */
  readonly fetch?: typeof globalThis.fetch;
  /** Time allowed per token request, in ms. */
  readonly timeoutMs?: number;
}

const LEGACY_JWT_LIFETIME_MS = 60 * 60 * 1000;
const DEFAULT_GTM_LIFETIME_MS = 60 * 60 * 1000;

function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

/** Epoch ms at which a JWT expires, from its `exp` claim; `undefined` when it has none (or is no JWT). */
function jwtExpiry(jwt: string): number | undefined {
  const payload = jwt.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The RS256 client assertion of ZoomInfo's PKI login, as its official clients
 * sign it: `aud: enterprise_api`, the username and client id, valid 5 minutes,
 * backdated a minute for clock skew.
 */
function clientAssertion(username: string, clientId: string, privateKey: string, now: number): string {
  const iat = Math.floor(now / 1000) - 60;
  const header = base64url(JSON.stringify({ typ: 'JWT', alg: 'RS256' }));
  const claims = base64url(
    JSON.stringify({
      aud: 'enterprise_api',
      iss: 'api-client@zoominfo.com',
      username,
      client_id: clientId,
      iat,
      exp: iat + 300,
    }),
  );
  let signature: Buffer;
  try {
    // Secret stores often turn PEM newlines into "\n": put them back.
    signature = sign('sha256', Buffer.from(`${header}.${claims}`), privateKey.replace(/\\n/g, '\n'));
  } catch {
    throw new ConfigurationError('invalid_configuration', {
      message: 'privateKey: is not a PEM RSA private key ZoomInfo PKI logins can sign with',
      issues: [{ field: 'privateKey', reason: 'is not a PEM RSA private key' }],
    });
  }
  return `${header}.${claims}.${base64url(signature)}`;
}

function tokenError(info: HttpErrorInfo): HttpErrorOverrides | undefined {
  const body =
    typeof info.json === 'object' && info.json !== null ? (info.json as Record<string, unknown>) : {};
  const oauth = typeof body.error === 'string' ? body.error : undefined;
  if (info.status === 429) return { code: 'rate_limited', message: 'ZoomInfo sign-in rate limit reached' };
  if (info.status >= 500) return undefined;
  switch (oauth) {
    case 'invalid_grant':
      return {
        code: 'unauthorized',
        vendorCode: oauth,
        message:
          'ZoomInfo refused the refresh token (spent or revoked: refresh tokens are single-use); sign in again and pass the new one',
      };
    case 'unauthorized_client':
      return {
        code: 'unauthorized',
        vendorCode: oauth,
        message: 'the ZoomInfo app may not use this grant (client credentials need ZoomInfo to enable them)',
      };
    case 'invalid_scope':
      return {
        code: 'forbidden',
        vendorCode: oauth,
        message: 'the ZoomInfo app does not hold the scopes asked for',
      };
    case 'invalid_client':
      return {
        code: 'unauthorized',
        vendorCode: oauth,
        message: 'ZoomInfo refused the client id and secret',
      };
    default:
      return info.status === 400 || info.status === 401 || info.status === 403
        ? { code: 'unauthorized', message: `ZoomInfo refused the sign-in (HTTP ${info.status})` }
        : undefined;
  }
}

/**
 * Create a session for one of ZoomInfo's sign-in flows:
 *
 * - GTM client credentials: `POST /gtm/oauth/v1/token` with HTTP Basic and
 *   `grant_type=client_credentials`;
 * - GTM refresh token: the same endpoint with `grant_type=refresh_token`;
 *   refresh tokens rotate and are single-use, so one refresh runs at a time
 *   and the next token replaces the spent one (and goes to `onTokens`);
 * - legacy username + password: `POST /authenticate` with `{username, password}`;
 * - legacy PKI: `POST /authenticate` with an RS256 client assertion as the bearer.
 *
 * Tokens are renewed `renewBeforeMs` before they expire (the JWT's `exp`, or
 * `expires_in`), and once after a 401. Every token is registered as a secret.
 */
export function createZoomInfoSession(settings: ZoomInfoSessionSettings): ZoomInfoSession {
  const renewBeforeMs = settings.renewBeforeMs ?? 5 * 60 * 1000;
  const http: HttpClient = createHttpClient({
    providerId: settings.providerId,
    baseUrl: settings.baseUrl,
    now: settings.clock,
    fetch: settings.fetch,
    timeoutMs: settings.timeoutMs,
    mapError: tokenError,
    rateLimitHeaders: { windows: [], retryAfter: ['retry-after'] },
  });
  let current: { token: string; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;
  let refreshToken: string | undefined;

  const accept = (token: unknown, expiresAt: number, where: string): string => {
    if (typeof token !== 'string' || token === '') {
      throw new ApiCallError('invalid_response', {
        providerId: settings.providerId,
        status: 200,
        method: 'POST',
        url: `${settings.baseUrl}${where}`,
        message: `${settings.providerId}: ${where} answered without a token`,
      });
    }
    registerSecret(token);
    current = { token, expiresAt };
    return token;
  };

  async function signIn(signal: AbortSignal | undefined): Promise<string> {
    const flow = settings.flow();
    const now = settings.clock();
    if (flow.kind === 'legacy-password' || flow.kind === 'legacy-pki') {
      const pki = flow.kind === 'legacy-pki';
      const response = await http.request<{ jwt?: unknown }>({
        method: 'POST',
        path: 'authenticate',
        signal,
        ...(pki
          ? {
              headers: {
                authorization: `Bearer ${clientAssertion(flow.username, flow.clientId, flow.privateKey, now)}`,
                // ZoomInfo's Java client: "Without user-agent you will get 403 error".
                'user-agent': 'leadpipe-provider-zoominfo',
              },
              json: {},
            }
          : { json: { username: flow.username, password: flow.password } }),
      });
      const jwt = response.data?.jwt;
      const expiresAt = typeof jwt === 'string' ? (jwtExpiry(jwt) ?? now + LEGACY_JWT_LIFETIME_MS) : now;
      return accept(jwt, expiresAt, '/authenticate');
    }
    const form = new URLSearchParams();
    const refreshing = flow.kind === 'gtm-refresh-token';
    if (refreshing) {
      form.set('grant_type', 'refresh_token');
      form.set('refresh_token', refreshToken ?? flow.refreshToken);
    } else form.set('grant_type', 'client_credentials');
    if (settings.scopes !== undefined && settings.scopes.length > 0)
      form.set('scope', settings.scopes.join(' '));
    const basic = Buffer.from(
      `${encodeURIComponent(flow.clientId)}:${encodeURIComponent(flow.clientSecret)}`,
    ).toString('base64');
    const response = await http.request<{
      access_token?: unknown;
      expires_in?: unknown;
      refresh_token?: unknown;
    }>({
      method: 'POST',
      path: 'gtm/oauth/v1/token',
      signal,
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    const data = response.data ?? {};
    const lifetime =
      typeof data.expires_in === 'number' && data.expires_in > 0
        ? data.expires_in * 1000
        : DEFAULT_GTM_LIFETIME_MS;
    const token = accept(data.access_token, now + lifetime, '/gtm/oauth/v1/token');
    if (refreshing && typeof data.refresh_token === 'string' && data.refresh_token !== '') {
      registerSecret(data.refresh_token);
      refreshToken = data.refresh_token;
    }
    try {
      settings.onTokens?.({
        accessToken: token,
        expiresAt: now + lifetime,
        ...(refreshing && refreshToken !== undefined ? { refreshToken } : {}),
      });
    } catch {
      // A listener never breaks a sign-in.
    }
    return token;
  }

  const renewNow = (signal: AbortSignal | undefined): Promise<string> => {
    pending ??= signIn(signal).finally(() => {
      pending = undefined;
    });
    return pending;
  };

  return {
    async token(signal) {
      if (current !== undefined && settings.clock() < current.expiresAt - renewBeforeMs) return current.token;
      return renewNow(signal);
    },
    async renew(rejected, signal) {
      if (
        current !== undefined &&
        current.token !== rejected &&
        settings.clock() < current.expiresAt - renewBeforeMs
      ) {
        return current.token;
      }
      if (pending === undefined) current = undefined;
      return renewNow(signal);
    },
  };
}

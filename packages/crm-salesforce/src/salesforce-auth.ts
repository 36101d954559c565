import { createSign } from 'node:crypto';
import {
  ApiCallError,
  ConfigurationError,
  createHttpClient,
  loadOptionalSetting,
  registerSecret,
} from '@leadpipe/core/adapter-kit';
import { z } from 'zod';

/** The provider id put on every error of this package. */
export const SALESFORCE_PROVIDER_ID = 'salesforce';

/** Salesforce's production login host, the default `loginUrl`. */
const SALESFORCE_LOGIN_URL = 'https://login.salesforce.com';

/** JWT bearer flow settings (a connected app with a certificate). */
export interface SalesforceJwtSettings {
  /** Connected app consumer key (the JWT `iss`). Env `SALESFORCE_CLIENT_ID`. */
  readonly clientId?: string;
  /** Username the token is issued for (the JWT `sub`). Env `SALESFORCE_USERNAME`. */
  readonly username?: string;
  /** PEM private key the JWT is signed with (RS256). Env `SALESFORCE_PRIVATE_KEY`. */
  readonly privateKey?: string;
  /** The JWT `aud`: `https://login.salesforce.com`, `https://test.salesforce.com` or a My Domain URL. Default: `loginUrl`. */
  readonly audience?: string;
}

/** Tokens a refresh or JWT exchange produced, handed to {@link SalesforceAuthSettings.onTokens}. */
export interface SalesforceTokens {
  /** The new access token. Secret: store it encrypted. */
  readonly accessToken: string;
  /** The org's instance URL, which can change (org migrations): persist it. */
  readonly instanceUrl: string;
  /** The refresh token to use next time, when the org rotated it (the old one no longer works). */
  readonly refreshToken?: string;
  /** Epoch ms when the token was issued, as Salesforce said. */
  readonly issuedAt?: number;
}

/**
 * How the adapter authenticates. Give one of: `accessToken` + `instanceUrl`
 * (a session from elsewhere; it cannot be renewed); `refreshToken` +
 * `clientId` (+ `clientSecret`), the OAuth refresh-token flow; or `jwt`, the
 * JWT bearer flow. `accessToken` + `instanceUrl` may be given with either
 * flow as the session to start with. Every value falls back to its
 * `SALESFORCE_*` environment variable, read at the first call.
 */
export interface SalesforceAuthSettings {
  /** A current access token. Env `SALESFORCE_ACCESS_TOKEN`. */
  readonly accessToken?: string;
  /** The org's instance URL, such as `https://acme.my.salesforce.com`. Env `SALESFORCE_INSTANCE_URL`. */
  readonly instanceUrl?: string;
  /** OAuth refresh token. Env `SALESFORCE_REFRESH_TOKEN`. */
  readonly refreshToken?: string;
  /** Connected app consumer key. Env `SALESFORCE_CLIENT_ID`. */
  readonly clientId?: string;
  /** Connected app consumer secret (optional for the refresh flow of some apps). Env `SALESFORCE_CLIENT_SECRET`. */
  readonly clientSecret?: string;
  /** Where tokens are requested. Default `https://login.salesforce.com`. Env `SALESFORCE_LOGIN_URL`. */
  readonly loginUrl?: string;
  /** JWT bearer flow settings. Also chosen when `SALESFORCE_PRIVATE_KEY` is set. */
  readonly jwt?: SalesforceJwtSettings;
  /**
   * Called after every refresh or JWT exchange, before the new session is
   * used. Persist `refreshToken` here when the org rotates refresh tokens:
   * the old one stops working at once. Errors it throws are ignored.
   */
  readonly onTokens?: (tokens: SalesforceTokens) => void | Promise<void>;
}

/** A session: the token and the instance it is valid for. */
export interface SalesforceSession {
  /** Access token. */
  readonly accessToken: string;
  /** Instance URL, no trailing slash. */
  readonly instanceUrl: string;
}

type Flow =
  | { readonly kind: 'static' }
  | {
      readonly kind: 'refresh';
      readonly clientId: string;
      readonly clientSecret: string | undefined;
      readonly loginUrl: string;
      refreshToken: string;
    }
  | {
      readonly kind: 'jwt';
      readonly clientId: string;
      readonly username: string;
      readonly privateKey: string;
      readonly audience: string;
      readonly loginUrl: string;
    };

const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  instance_url: z.url(),
  refresh_token: z.string().min(1).optional(),
  issued_at: z.string().optional(),
});

const OPTION_HELP =
  "Pass 'accessToken' and 'instanceUrl', or 'refreshToken' and 'clientId' (with 'clientSecret'), or 'jwt' ({ clientId, username, privateKey }), or set SALESFORCE_ACCESS_TOKEN and SALESFORCE_INSTANCE_URL, SALESFORCE_REFRESH_TOKEN and SALESFORCE_CLIENT_ID, or SALESFORCE_PRIVATE_KEY, SALESFORCE_USERNAME and SALESFORCE_CLIENT_ID.";

function setting(value: string | undefined, name: string, env: string, what: string): string | undefined {
  return loadOptionalSetting({
    settingValue: value,
    settingName: name,
    environmentVariableName: env,
    description: what,
    providerId: SALESFORCE_PROVIDER_ID,
  });
}

function checkUrl(value: string, name: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigurationError('invalid_configuration', {
      message: `${name}: must be an absolute https:// URL, got a value that is not a URL`,
      providerId: SALESFORCE_PROVIDER_ID,
    });
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' || url.password !== '') {
    throw new ConfigurationError('invalid_configuration', {
      message: `${name}: must be an absolute https:// URL without credentials`,
      providerId: SALESFORCE_PROVIDER_ID,
    });
  }
  return url.origin;
}

function base64UrlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/**
 * A signed JWT bearer assertion (RS256) for Salesforce's token endpoint:
 * `iss` the consumer key, `sub` the username, `aud` the login URL, `exp`
 * three minutes from `nowMs`.
 *
 * @throws ConfigurationError `invalid_configuration` when the key cannot sign (not a PEM RSA private key).
 */
function createSalesforceJwtAssertion(options: {
  readonly clientId: string;
  readonly username: string;
  readonly privateKey: string;
  readonly audience: string;
  readonly nowMs?: number;
}): string {
  const now = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const unsigned = `${base64UrlJson({ alg: 'RS256', typ: 'JWT' })}.${base64UrlJson({
    iss: options.clientId,
    sub: options.username,
    aud: options.audience,
    exp: now + 180,
  })}`;
  try {
    const signature = createSign('RSA-SHA256').update(unsigned).sign(options.privateKey, 'base64url');
    return `${unsigned}.${signature}`;
  } catch {
    throw new ConfigurationError('invalid_configuration', {
      message: 'jwt.privateKey: could not sign the JWT; it must be a PEM-encoded RSA private key',
      providerId: SALESFORCE_PROVIDER_ID,
    });
  }
}

/**
 * Shortest timeout of a token request, ms, whatever `timeoutMs` says: an org that rotates refresh tokens
 * invalidates the old one when it answers, so a token answer the client gave up on loses the new refresh
 * token and every later renewal fails with `invalid_grant`.
 */
const MIN_TOKEN_TIMEOUT_MS = 10_000;

/**
 * Sessions for one adapter: read credentials lazily, exchange them for an
 * access token, renew it once at a time (concurrent callers share one
 * refresh), and keep a rotated refresh token.
 */
export class SalesforceAuth {
  readonly #settings: SalesforceAuthSettings;
  readonly #fetch: typeof globalThis.fetch | undefined;
  readonly #timeoutMs: number | undefined;
  #flow: Flow | undefined;
  #session: SalesforceSession | undefined;
  #pending: Promise<SalesforceSession> | undefined;
  #refreshes = 0;

  /** @param settings - credentials; @param fetchImpl - fetch for the token endpoint; @param timeoutMs - its timeout. */
  constructor(
    settings: SalesforceAuthSettings,
    fetchImpl: typeof globalThis.fetch | undefined,
    timeoutMs: number | undefined,
  ) {
    this.#settings = settings;
    this.#fetch = fetchImpl;
    this.#timeoutMs = timeoutMs;
  }

  /** How many token requests were made (refresh or JWT). */
  get tokenRequests(): number {
    return this.#refreshes;
  }

  /** Whether the session can be renewed (refresh-token or JWT flow). */
  canRenew(): boolean {
    return this.#resolve().kind !== 'static';
  }

  /**
   * The current session, obtaining one first when there is none.
   *
   * @throws ConfigurationError `missing_credentials` when no flow is configured.
   */
  async session(signal?: AbortSignal): Promise<SalesforceSession> {
    const flow = this.#resolve();
    if (this.#session !== undefined) return this.#session;
    if (flow.kind === 'static') {
      throw new ConfigurationError('missing_credentials', {
        message: `Salesforce instance URL is missing for the access token. ${OPTION_HELP}`,
        providerId: SALESFORCE_PROVIDER_ID,
      });
    }
    return this.#renew(signal);
  }

  /**
   * Renew the session after `rejected` was refused (401). When another
   * caller already renewed it, the newer session is returned without a new
   * token request; concurrent callers share one request.
   */
  async renew(rejected: SalesforceSession, signal?: AbortSignal): Promise<SalesforceSession> {
    if (this.#session !== undefined && this.#session.accessToken !== rejected.accessToken) {
      return this.#session;
    }
    return this.#renew(signal);
  }

  #renew(signal: AbortSignal | undefined): Promise<SalesforceSession> {
    this.#pending ??= this.#requestToken(signal).finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  #resolve(): Flow {
    if (this.#flow !== undefined) return this.#flow;
    const s = this.#settings;
    const accessToken = setting(
      s.accessToken,
      'accessToken',
      'SALESFORCE_ACCESS_TOKEN',
      'Salesforce access token',
    );
    const instanceUrl = setting(
      s.instanceUrl,
      'instanceUrl',
      'SALESFORCE_INSTANCE_URL',
      'Salesforce instance URL',
    );
    const loginUrl = checkUrl(
      setting(s.loginUrl, 'loginUrl', 'SALESFORCE_LOGIN_URL', 'Salesforce login URL') ?? SALESFORCE_LOGIN_URL,
      'loginUrl',
    );
    const clientId = setting(
      s.jwt?.clientId ?? s.clientId,
      'clientId',
      'SALESFORCE_CLIENT_ID',
      'Salesforce client id',
    );
    const privateKey = setting(
      s.jwt?.privateKey,
      'jwt.privateKey',
      'SALESFORCE_PRIVATE_KEY',
      'Salesforce JWT key',
    );
    const refreshToken = setting(
      s.refreshToken,
      'refreshToken',
      'SALESFORCE_REFRESH_TOKEN',
      'Salesforce refresh token',
    );
    let flow: Flow;
    if (s.jwt !== undefined || (privateKey !== undefined && refreshToken === undefined)) {
      const username = setting(s.jwt?.username, 'jwt.username', 'SALESFORCE_USERNAME', 'Salesforce username');
      const missing = [
        clientId === undefined ? "'jwt.clientId' (SALESFORCE_CLIENT_ID)" : undefined,
        username === undefined ? "'jwt.username' (SALESFORCE_USERNAME)" : undefined,
        privateKey === undefined ? "'jwt.privateKey' (SALESFORCE_PRIVATE_KEY)" : undefined,
      ].filter((item) => item !== undefined);
      if (clientId === undefined || username === undefined || privateKey === undefined) {
        throw new ConfigurationError('missing_credentials', {
          message: `Salesforce JWT bearer flow is missing ${missing.join(', ')}.`,
          providerId: SALESFORCE_PROVIDER_ID,
        });
      }
      registerSecret(privateKey);
      flow = {
        kind: 'jwt',
        clientId,
        username,
        privateKey,
        audience: s.jwt?.audience ?? loginUrl,
        loginUrl,
      };
    } else if (refreshToken !== undefined) {
      if (clientId === undefined) {
        throw new ConfigurationError('missing_credentials', {
          message:
            "Salesforce refresh-token flow is missing the client id. Pass it using the 'clientId' option or set the SALESFORCE_CLIENT_ID environment variable.",
          providerId: SALESFORCE_PROVIDER_ID,
        });
      }
      const clientSecret = setting(
        s.clientSecret,
        'clientSecret',
        'SALESFORCE_CLIENT_SECRET',
        'Salesforce client secret',
      );
      registerSecret(refreshToken);
      registerSecret(clientSecret);
      flow = { kind: 'refresh', clientId, clientSecret, loginUrl, refreshToken };
    } else if (accessToken !== undefined) {
      flow = { kind: 'static' };
    } else {
      throw new ConfigurationError('missing_credentials', {
        message: `Salesforce credentials are missing. ${OPTION_HELP}`,
        providerId: SALESFORCE_PROVIDER_ID,
      });
    }
    if (accessToken !== undefined && instanceUrl !== undefined) {
      registerSecret(accessToken);
      this.#session = { accessToken, instanceUrl: checkUrl(instanceUrl, 'instanceUrl') };
    }
    this.#flow = flow;
    return flow;
  }

  async #requestToken(signal: AbortSignal | undefined): Promise<SalesforceSession> {
    const flow = this.#resolve();
    if (flow.kind === 'static') {
      throw new ApiCallError('unauthorized', {
        message:
          'salesforce: the access token was refused and cannot be renewed (no refresh token or JWT settings were given)',
        providerId: SALESFORCE_PROVIDER_ID,
        vendorCode: 'INVALID_SESSION_ID',
        status: 401,
      });
    }
    const form = new URLSearchParams();
    if (flow.kind === 'refresh') {
      form.set('grant_type', 'refresh_token');
      form.set('client_id', flow.clientId);
      if (flow.clientSecret !== undefined) form.set('client_secret', flow.clientSecret);
      form.set('refresh_token', flow.refreshToken);
    } else {
      form.set('grant_type', 'urn:ietf:params:oauth:grant-type:jwt-bearer');
      const assertion = createSalesforceJwtAssertion(flow);
      registerSecret(assertion);
      form.set('assertion', assertion);
    }
    const client = createHttpClient({
      providerId: SALESFORCE_PROVIDER_ID,
      baseUrl: flow.loginUrl,
      ...(this.#fetch === undefined ? {} : { fetch: this.#fetch }),
      ...(this.#timeoutMs === undefined
        ? {}
        : { timeoutMs: Math.max(this.#timeoutMs, MIN_TOKEN_TIMEOUT_MS) }),
      mapError: ({ json, status }) => {
        const error =
          typeof json === 'object' && json !== null ? (json as Record<string, unknown>).error : undefined;
        const code = typeof error === 'string' && /^[a-z_]{1,40}$/.test(error) ? error : undefined;
        return {
          code: status >= 500 ? 'server_error' : 'unauthorized',
          ...(code === undefined ? {} : { vendorCode: code }),
          message: `the ${flow.kind === 'refresh' ? 'refresh-token' : 'JWT bearer'} token request was refused${
            code === undefined ? '' : ` (${code})`
          }${
            code === 'invalid_grant' && flow.kind === 'refresh'
              ? '; the refresh token is expired, revoked, or was rotated by another process (persist rotated tokens with onTokens)'
              : ''
          }`,
        };
      },
    });
    this.#refreshes += 1;
    const response = await client.request({
      method: 'POST',
      path: '/services/oauth2/token',
      body: form,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      schema: tokenResponseSchema,
      ...(signal === undefined ? {} : { signal }),
    });
    const data = response.data;
    registerSecret(data.access_token);
    if (data.refresh_token !== undefined) registerSecret(data.refresh_token);
    const session: SalesforceSession = {
      accessToken: data.access_token,
      instanceUrl: checkUrl(data.instance_url, 'instance_url'),
    };
    if (flow.kind === 'refresh' && data.refresh_token !== undefined) flow.refreshToken = data.refresh_token;
    const issuedAt = data.issued_at === undefined ? undefined : Number(data.issued_at);
    try {
      await this.#settings.onTokens?.({
        accessToken: session.accessToken,
        instanceUrl: session.instanceUrl,
        ...(data.refresh_token === undefined ? {} : { refreshToken: data.refresh_token }),
        ...(issuedAt !== undefined && Number.isFinite(issuedAt) ? { issuedAt } : {}),
      });
    } catch {
      // onTokens observes; a failing callback must not break the session.
    }
    this.#session = session;
    return session;
  }
}

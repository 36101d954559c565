import { createHash } from 'node:crypto';
import {
  ApiCallError,
  type HttpClient,
  type LeadpipeError,
  loadApiKey,
  registerSecret,
} from '@leadpipe/core/adapter-kit';
import { z } from 'zod';

/** Tokens of an OAuth connection, as handed to {@link HubspotOAuthSettings.onTokens}. */
export interface HubspotOAuthTokens {
  /** The access token (30 minutes on HubSpot). */
  readonly accessToken: string;
  /** The refresh token; HubSpot keeps it, but a new one in the answer replaces it. */
  readonly refreshToken: string;
  /** When the access token expires, epoch ms (by the adapter's clock). */
  readonly expiresAt: number;
}

/** OAuth settings: the app's client credentials and the connection's refresh token. */
export interface HubspotOAuthSettings {
  /** The app's client id. */
  readonly clientId: string;
  /** The app's client secret (also the webhook signing secret by default). */
  readonly clientSecret: string;
  /** The connection's refresh token. */
  readonly refreshToken: string;
  /** An access token already held, used until `expiresAt`. */
  readonly accessToken?: string;
  /** When `accessToken` expires, epoch ms. Required with `accessToken`. */
  readonly expiresAt?: number;
  /**
   * Refresh this long before the access token expires, in ms. Default
   * 300 000 (5 minutes), so calls never race the expiry.
   */
  readonly refreshMarginMs?: number;
  /**
   * Token endpoint path. Default `/oauth/v1/token` (form-encoded). HubSpot
   * deprecates v1 on 2027-02-16; `/oauth/v3/token` is its successor.
   */
  readonly tokenPath?: string;
  /**
   * Told of every new token pair, to persist them (the refresh token may
   * change). Errors it throws or rejects with are ignored.
   */
  readonly onTokens?: (tokens: HubspotOAuthTokens) => unknown;
}

/** Where access tokens come from. */
export interface HubspotTokenSource {
  /** Whether tokens are OAuth access tokens (refreshable) rather than a private-app token. */
  readonly oauth: boolean;
  /** The token to send now; refreshes first when it is about to expire. */
  token(signal?: AbortSignal): Promise<string>;
  /**
   * A call with `token` got a 401: forget it (if it is still the current
   * one) so the next {@link token} refreshes. Returns whether a retry with a
   * new token can help (OAuth only).
   */
  invalidate(token: string): boolean;
  /** A stable, non-secret id of the credential, for limiter keys. */
  limiterKey(): string;
}

const nonEmpty = z
  .string({ error: 'must be a non-empty string' })
  .refine((value) => value.trim() !== '', { error: 'must be a non-empty string' });

/** The OAuth settings' fields that are credentials: when one is missing, the error is `missing_credentials`. */
export const HUBSPOT_OAUTH_CREDENTIALS = ['clientId', 'clientSecret', 'refreshToken'] as const;

/**
 * The settings' `oauth`: the three credentials as non-empty strings,
 * `expiresAt` with an `accessToken`, a non-negative `refreshMarginMs`.
 */
export const hubspotOAuthSettingsSchema = z
  .object({
    clientId: nonEmpty,
    clientSecret: nonEmpty,
    refreshToken: nonEmpty,
    accessToken: z.string({ error: 'must be a string' }).optional(),
    expiresAt: z.number({ error: 'must be epoch ms' }).optional(),
    refreshMarginMs: z
      .number({ error: (issue) => `must be a non-negative number of ms, got ${String(issue.input)}` })
      .min(0, { error: (issue) => `must be a non-negative number of ms, got ${String(issue.input)}` })
      .optional(),
    tokenPath: z
      .string({ error: 'must be a path such as /oauth/v1/token' })
      .startsWith('/', { error: 'must be a path such as /oauth/v1/token' })
      .optional(),
    onTokens: z
      .custom<(tokens: HubspotOAuthTokens) => unknown>((value) => typeof value === 'function', {
        error: 'must be a function',
      })
      .optional(),
  })
  .strict()
  .superRefine((oauth, context) => {
    if (oauth.accessToken !== undefined && oauth.expiresAt === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['expiresAt'],
        message: 'required with oauth.accessToken (epoch ms at which it expires)',
      });
    }
  });

const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1).optional(),
  expires_in: z.number().positive(),
});

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** A private-app token, read at call time from the option or `HUBSPOT_ACCESS_TOKEN`. */
export function privateAppTokenSource(
  accessToken: string | undefined,
  providerId: string,
): HubspotTokenSource {
  const load = () =>
    loadApiKey({
      apiKey: accessToken,
      environmentVariableName: 'HUBSPOT_ACCESS_TOKEN',
      optionName: 'accessToken',
      description: 'HubSpot private app access token (or OAuth settings)',
      providerId,
    });
  return {
    oauth: false,
    token: async () => load(),
    invalidate: () => false,
    limiterKey: () => {
      try {
        return `private:${hash(load())}`;
      } catch {
        return 'default';
      }
    },
  };
}

/**
 * OAuth access tokens with a single-flight refresh: however many calls need
 * a token while it is being refreshed, one request goes to the token
 * endpoint and every call waits for it; the new token is used by every
 * later call. Tokens are refreshed `refreshMarginMs` before they expire, and
 * once more after a 401. `settings` are checked already, by
 * {@link hubspotOAuthSettingsSchema}.
 */
export function oauthTokenSource(
  settings: HubspotOAuthSettings,
  http: HttpClient,
  now: () => number,
  providerId: string,
): HubspotTokenSource {
  const margin = settings.refreshMarginMs ?? 300_000;
  registerSecret(settings.clientSecret);
  registerSecret(settings.refreshToken);
  registerSecret(settings.accessToken);
  let refreshToken = settings.refreshToken;
  let current: HubspotOAuthTokens | undefined =
    settings.accessToken === undefined || settings.expiresAt === undefined
      ? undefined
      : { accessToken: settings.accessToken, refreshToken, expiresAt: settings.expiresAt };
  let inFlight: Promise<HubspotOAuthTokens> | undefined;

  const refresh = async (): Promise<HubspotOAuthTokens> => {
    const startedAt = now();
    const form = new URLSearchParams({
      grant_type: 'refresh_token',
      client_id: settings.clientId,
      client_secret: settings.clientSecret,
      refresh_token: refreshToken,
    });
    let data: z.infer<typeof tokenResponseSchema>;
    try {
      const response = await http.request({
        method: 'POST',
        path: settings.tokenPath ?? '/oauth/v1/token',
        body: form,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        schema: tokenResponseSchema,
      });
      data = response.data;
    } catch (error) {
      // HubSpot refuses a bad refresh token or client with a 400 (BAD_REFRESH_TOKEN, BAD_CLIENT_ID...).
      if (ApiCallError.isInstance(error) && error.status === 400) {
        throw new ApiCallError('unauthorized', {
          message: `${providerId}: the OAuth token refresh was refused (HTTP ${error.status}${error.vendorCode === undefined ? '' : `, ${error.vendorCode}`}); the refresh token or client credentials are not valid`,
          providerId,
          status: error.status,
          vendorCode: error.vendorCode,
          isRetryable: false,
        });
      }
      throw error;
    }
    registerSecret(data.access_token);
    if (data.refresh_token !== undefined) {
      registerSecret(data.refresh_token);
      refreshToken = data.refresh_token;
    }
    const tokens: HubspotOAuthTokens = {
      accessToken: data.access_token,
      refreshToken,
      expiresAt: startedAt + data.expires_in * 1000,
    };
    current = tokens;
    try {
      const persisted = settings.onTokens?.(tokens);
      if (persisted instanceof Promise) persisted.catch(() => undefined);
    } catch {
      // Persisting is the host's concern; a failing callback must not fail the call.
    }
    return tokens;
  };

  return {
    oauth: true,
    async token(signal) {
      if (current !== undefined && current.expiresAt - margin > now()) return current.accessToken;
      inFlight ??= refresh().finally(() => {
        inFlight = undefined;
      });
      const pending = inFlight;
      if (signal === undefined) return (await pending).accessToken;
      if (signal.aborted) throw abortedError(providerId, signal);
      return new Promise<string>((resolve, reject) => {
        const onAbort = () => reject(abortedError(providerId, signal));
        signal.addEventListener('abort', onAbort, { once: true });
        pending.then(
          (tokens) => {
            signal.removeEventListener('abort', onAbort);
            resolve(tokens.accessToken);
          },
          (error: unknown) => {
            signal.removeEventListener('abort', onAbort);
            reject(error);
          },
        );
      });
    },
    invalidate(token) {
      if (current?.accessToken === token) current = undefined;
      return true;
    },
    limiterKey: () => `oauth:${hash(settings.clientId)}`,
  };
}

function abortedError(providerId: string, signal: AbortSignal): LeadpipeError {
  return new ApiCallError('aborted', {
    message: `${providerId}: the call was aborted while waiting for an OAuth token`,
    providerId,
    cause: signal.reason,
  });
}

import {
  ApiCallError,
  type CallScheduler,
  type CallSchedulerSource,
  type CrmCallOptions,
  createCallPacer,
  createHttpClient,
  type HttpClient,
  type HttpClientResponse,
  type HttpRequestOptions,
  type RateLimitState,
} from '@leadpipe/core/adapter-kit';
import { type HubspotOAuthSettings, oauthTokenSource, privateAppTokenSource } from './hubspot-auth.js';
import {
  hubspotRateLimitHeaders,
  mapHubspotError,
  type ResolvedHubspotLimits,
  scaleRateLimitState,
} from './hubspot-limits.js';

/** HubSpot's 401 category for a token that expired, as opposed to `INVALID_AUTHENTICATION` (a wrong one). */
const EXPIRED = 'EXPIRED_AUTHENTICATION';

/** The 401 of a call whose token was called expired twice in a row: retryable, it says nothing about the credential. */
function expiredAgain(error: ApiCallError, adapterId: string): ApiCallError {
  return new ApiCallError('unauthorized', {
    message: `${adapterId}: the token was reported expired again right after it was renewed; the call may be retried`,
    providerId: adapterId,
    vendorCode: EXPIRED,
    isRetryable: true,
    ...(error.status === undefined ? {} : { status: error.status }),
    ...(error.url === undefined ? {} : { url: error.url }),
    ...(error.method === undefined ? {} : { method: error.method }),
    cause: error,
  });
}

/** What {@link createHubspotClient} needs. */
export interface HubspotClientSettings {
  /** Adapter id, in errors and limiter names. */
  readonly adapterId: string;
  /** Base URL without a trailing slash. */
  readonly baseUrl: string;
  /** Private-app token (else `HUBSPOT_ACCESS_TOKEN` at call time); ignored with `oauth`. */
  readonly accessToken?: string | undefined;
  /** OAuth instead of a private-app token. */
  readonly oauth?: HubspotOAuthSettings | undefined;
  /** The fetch implementation. */
  readonly fetch?: typeof globalThis.fetch | undefined;
  /** Time allowed per request, ms. */
  readonly timeoutMs?: number | undefined;
  /** Keep failed responses' bodies on errors. */
  readonly captureResponseBody?: boolean | undefined;
  /** Clock, epoch ms. */
  readonly now: () => number;
  /** The account's limits. */
  readonly limits: ResolvedHubspotLimits;
  /** The next daily reset after a time. */
  readonly dailyResetAt: (now: number) => number;
  /** HubSpot calls per adapter call (3 with company association), to scale what the limiter is told. */
  readonly callsPerOperation: number;
  /**
   * Where the search scheduler comes from (a limiter registry with a Redis
   * connection shares it across processes). Default: a pacer of this client.
   */
  readonly searchSchedulers?: CallSchedulerSource | undefined;
}

/** How many times a search refused with a secondly 429 is asked again before the error is the caller's. */
const SEARCH_RATE_LIMIT_RETRIES = 3;

/** Authenticated HubSpot calls, the daily block, and the paced search calls. */
export interface HubspotClient {
  /**
   * One authenticated call: refused while the daily limit is spent; a fresh
   * token, and one retry after a 401 that says the token expired
   * (`EXPIRED_AUTHENTICATION`; with OAuth after any 401, with a new token).
   * A second "expired" in a row is a retryable `unauthorized`; a wrong
   * credential (`INVALID_AUTHENTICATION`) is not retryable. `search`
   * calls also wait for the search scheduler (5 per second).
   */
  call<T>(
    request: HttpRequestOptions<T>,
    callOptions: CrmCallOptions,
    kind?: 'write' | 'search',
  ): Promise<HttpClientResponse<T>>;
  /** Throws `quota_exceeded` while the daily limit is spent. */
  checkDaily(): void;
  /** Epoch ms until which the daily limit is spent, if known. */
  dailyLimitResetsAt(): number | undefined;
  /** Identifies the credential (never the secret). */
  limiterKey(): string;
  /** Stop the client's own search pacer. */
  close(): void;
}

/**
 * Build the HubSpot HTTP client: status-to-error mapping (a DAILY 429 blocks
 * calls until midnight in the account's time zone), token handling, rate
 * limit headers scaled to adapter calls, and search pacing.
 */
export function createHubspotClient(settings: HubspotClientSettings): HubspotClient {
  const { adapterId, now, limits, dailyResetAt, callsPerOperation } = settings;
  let dailyBlockedUntil: number | undefined;
  const block = (until: number): void => {
    dailyBlockedUntil = Math.max(dailyBlockedUntil ?? 0, until);
  };

  const http: HttpClient = createHttpClient({
    providerId: adapterId,
    baseUrl: settings.baseUrl,
    now,
    fetch: settings.fetch,
    timeoutMs: settings.timeoutMs,
    captureResponseBody: settings.captureResponseBody,
    rateLimitHeaders: hubspotRateLimitHeaders,
    mapError: (info) =>
      mapHubspotError(info, {
        now,
        dailyResetAt,
        searchWindowMs: limits.searchWindowMs,
        rollingRetryMs: limits.searchWindowMs,
        onDailyLimit: block,
      }),
  });
  const tokens =
    settings.oauth === undefined
      ? privateAppTokenSource(settings.accessToken, adapterId)
      : oauthTokenSource(settings.oauth, http, now, adapterId);

  let ownPacer: ReturnType<typeof createCallPacer> | undefined;
  let searchScheduler: CallScheduler | undefined;
  const searchSchedulerOf = (): CallScheduler => {
    if (searchScheduler !== undefined) return searchScheduler;
    const window = { name: 'search', limit: limits.searchPerSecond, intervalMs: limits.searchWindowMs };
    if (settings.searchSchedulers !== undefined) {
      searchScheduler = settings.searchSchedulers.get(`${adapterId}:search`, tokens.limiterKey(), {
        windows: [window],
      });
    } else {
      // A wider margin than a limiter's default: HubSpot counts searches in a rolling second, where network
      // jitter eats a thin one. Paced on the system clock, as timers run on it (`now` may be an emulated one).
      ownPacer = createCallPacer({
        limit: window.limit,
        intervalMs: window.intervalMs,
        safetyMargin: 0.1,
        providerId: adapterId,
      });
      searchScheduler = ownPacer;
    }
    return searchScheduler;
  };

  function checkDaily(): void {
    if (dailyBlockedUntil === undefined) return;
    const at = now();
    if (at >= dailyBlockedUntil) {
      dailyBlockedUntil = undefined;
      return;
    }
    throw new ApiCallError('quota_exceeded', {
      message: `${adapterId}: the daily API limit is used up until ${new Date(dailyBlockedUntil).toISOString()}; no call is made before then`,
      providerId: adapterId,
      vendorCode: 'DAILY',
      retryAfterMs: dailyBlockedUntil - at,
      isRetryable: false,
    });
  }

  async function call<T>(
    request: HttpRequestOptions<T>,
    callOptions: CrmCallOptions,
    kind: 'write' | 'search' = 'write',
  ): Promise<HttpClientResponse<T>> {
    checkDaily();
    const signal = callOptions.signal;
    const onRateLimit = callOptions.onRateLimit;
    const forward = (state: RateLimitState): void => {
      const day = state.windows.find((window) => window.name === 'day');
      // The daily budget is the adapter's: spent, it refuses later calls until the reset (as after a
      // DAILY 429) with quota_exceeded. Reported to a limiter, it would queue them for hours instead.
      if (day?.remaining === 0) block(dailyResetAt(now()));
      const windows = state.windows.filter((window) => window !== day);
      if (onRateLimit !== undefined && (windows.length > 0 || state.retryAfterMs !== undefined)) {
        onRateLimit(scaleRateLimitState({ ...state, windows }, callsPerOperation));
      }
    };
    const run = async (): Promise<HttpClientResponse<T>> => {
      for (let attempt = 0; ; attempt += 1) {
        const token = await tokens.token(signal);
        try {
          return await http.request({
            ...request,
            signal,
            headers: { ...request.headers, authorization: `Bearer ${token}` },
            onRateLimit: forward,
          });
        } catch (error) {
          if (!ApiCallError.isInstance(error) || error.code !== 'unauthorized') throw error;
          const expired = error.vendorCode === EXPIRED;
          // An expired token (OAuth: any 401) is renewed, or read again, and the call sent once more.
          if (attempt === 0 && (expired || tokens.oauth)) {
            tokens.invalidate(token);
            continue;
          }
          // Called expired again just after: not a wrong credential (HubSpot answers those
          // INVALID_AUTHENTICATION), so the call may be retried later instead of taking the CRM out.
          if (expired) throw expiredAgain(error, adapterId);
          throw error;
        }
      }
    };
    if (kind !== 'search') return run();
    // A search refused with a secondly 429 (the pacer's spacing can be squeezed by a late timer, or another
    // process shares the account) holds later searches back for the window, and is asked again behind them.
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await searchSchedulerOf().schedule(run, { signal });
      } catch (error) {
        if (
          attempt >= SEARCH_RATE_LIMIT_RETRIES ||
          !ApiCallError.isInstance(error) ||
          error.code !== 'rate_limited'
        )
          throw error;
      }
    }
  }

  return {
    call,
    checkDaily,
    dailyLimitResetsAt: () =>
      dailyBlockedUntil !== undefined && dailyBlockedUntil > now() ? dailyBlockedUntil : undefined,
    limiterKey: () => tokens.limiterKey(),
    close() {
      ownPacer?.close();
      ownPacer = undefined;
      searchScheduler = undefined;
    },
  };
}

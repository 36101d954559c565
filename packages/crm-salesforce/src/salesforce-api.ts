import {
  ApiCallError,
  createHttpClient,
  type HttpClient,
  type HttpClientResponse,
  type HttpRequestOptions,
  type RateLimitState,
} from '@leadpipe/core/adapter-kit';
import { z } from 'zod';
import { SALESFORCE_PROVIDER_ID, type SalesforceAuth, type SalesforceSession } from './salesforce-auth.js';
import {
  allocationOf,
  mapSalesforceError,
  QuotaGate,
  type SalesforceApiAllocation,
  type SalesforceLimitWaits,
  Semaphore,
  salesforceRateLimitHeaders,
  transientLimit,
} from './salesforce-limits.js';

/** `GET /limits`, the part the adapter reads. */
const limitsSchema = z
  .object({ DailyApiRequests: z.object({ Max: z.number(), Remaining: z.number() }).loose() })
  .loose();

/** Options of one Salesforce REST call. */
export interface SalesforceCallOptions<T> extends Omit<HttpRequestOptions<T>, 'path' | 'onRateLimit'> {
  /** Path under `/services/data/vXX.X/`, or a path from the server such as a `nextRecordsUrl`. */
  readonly path: string;
  /** Told what `Sforce-Limit-Info` said. */
  readonly onRateLimit?: ((state: RateLimitState) => void) | undefined;
}

/** Settings of {@link SalesforceApi}. */
export interface SalesforceApiSettings {
  /** Where sessions come from. */
  readonly auth: SalesforceAuth;
  /** REST API version, such as `62.0`. */
  readonly apiVersion: string;
  /** The fetch implementation; the global one when undefined. */
  readonly fetch: typeof globalThis.fetch | undefined;
  /** Timeout of one request, ms. */
  readonly timeoutMs: number | undefined;
  /** Requests in flight at once. */
  readonly maxConcurrentRequests: number;
  /** Waits after `REQUEST_LIMIT_EXCEEDED`. */
  readonly waits: SalesforceLimitWaits;
  /** The clock, epoch ms. */
  readonly now: () => number;
}

/** A 401 on a session renewed just before: retryable `unauthorized`, since the renewal proved the credential. */
function refusedAfterRenewal(error: ApiCallError): ApiCallError {
  return new ApiCallError('unauthorized', {
    message:
      'salesforce: the session was refused again right after it was renewed (INVALID_SESSION_ID); the call may be retried',
    providerId: SALESFORCE_PROVIDER_ID,
    status: 401,
    isRetryable: true,
    ...(error.url === undefined ? {} : { url: error.url }),
    ...(error.method === undefined ? {} : { method: error.method }),
    ...(error.vendorCode === undefined ? {} : { vendorCode: error.vendorCode }),
    cause: error,
  });
}

/**
 * Salesforce REST calls with the session attached: a refused session (401
 * `INVALID_SESSION_ID`) is renewed once (shared with concurrent callers) and
 * the call sent again; refused again, the call fails with a retryable
 * `unauthorized` (a renewal that fails, or a session that cannot be renewed,
 * is not retryable: the credential is wrong); at most `maxConcurrentRequests` are in flight; after
 * `REQUEST_LIMIT_EXCEEDED` nothing is sent until the cooldown ends.
 */
export class SalesforceApi {
  readonly #settings: SalesforceApiSettings;
  readonly #clients = new Map<string, HttpClient>();
  readonly #semaphore: Semaphore;
  readonly #gate: QuotaGate;
  #requests = 0;
  #limitProbes = 0;
  #probe: Promise<SalesforceApiAllocation | undefined> | undefined;

  /** @param settings - see {@link SalesforceApiSettings}. */
  constructor(settings: SalesforceApiSettings) {
    this.#settings = settings;
    this.#semaphore = new Semaphore(settings.maxConcurrentRequests);
    this.#gate = new QuotaGate(settings.now);
  }

  /** HTTP requests sent to the instance (token requests not included). */
  get requests(): number {
    return this.#requests;
  }

  /** `GET /limits` requests sent to check a `REQUEST_LIMIT_EXCEEDED` that came without usage figures. */
  get limitProbes(): number {
    return this.#limitProbes;
  }

  /** Most requests in flight at once so far. */
  get peakConcurrency(): number {
    return this.#semaphore.peak;
  }

  /** The API version in use, such as `62.0`. */
  get apiVersion(): string {
    return this.#settings.apiVersion;
  }

  /** Throws when calls are stopped (quota) or `signal` is aborted, sending nothing. */
  checkBeforeCall(signal: AbortSignal | undefined): void {
    if (signal?.aborted) {
      throw new ApiCallError('aborted', {
        message: 'salesforce: the call was aborted before it was sent',
        providerId: SALESFORCE_PROVIDER_ID,
        cause: signal.reason,
      });
    }
    this.#gate.check();
  }

  /** The session, obtained when there is none yet. */
  session(signal?: AbortSignal): Promise<SalesforceSession> {
    return this.#settings.auth.session(signal);
  }

  #client(instanceUrl: string): HttpClient {
    let client = this.#clients.get(instanceUrl);
    if (client === undefined) {
      const { fetch, timeoutMs, waits, now } = this.#settings;
      client = createHttpClient({
        providerId: SALESFORCE_PROVIDER_ID,
        now,
        baseUrl: `${instanceUrl}/services/data/v${this.#settings.apiVersion}`,
        rateLimitHeaders: salesforceRateLimitHeaders,
        mapError: (info) => mapSalesforceError(info, waits),
        ...(fetch === undefined ? {} : { fetch }),
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
      });
      this.#clients.set(instanceUrl, client);
    }
    return client;
  }

  /** Send one call; see the class description. */
  async call<T>(options: SalesforceCallOptions<T>): Promise<HttpClientResponse<T>> {
    this.checkBeforeCall(options.signal);
    let session = await this.#settings.auth.session(options.signal);
    let renewed = false;
    for (;;) {
      this.checkBeforeCall(options.signal);
      try {
        return await this.#semaphore.run(() => this.#send(session, options), options.signal);
      } catch (error) {
        if (ApiCallError.isInstance(error) && error.code === 'quota_exceeded') {
          throw await this.#confirmQuota(error, session, options.signal);
        }
        if (!ApiCallError.isInstance(error) || error.code !== 'unauthorized' || error.status !== 401) {
          throw error;
        }
        // Refused again right after a renewal that worked: the credential is good (the token request
        // proved it), so the call may be retried later rather than taking the CRM out.
        if (renewed) throw refusedAfterRenewal(error);
        if (!this.#settings.auth.canRenew()) throw error;
        renewed = true;
        try {
          session = await this.#settings.auth.renew(session, options.signal);
        } catch (renewError) {
          if (ApiCallError.isInstance(renewError) && renewError.code === 'aborted') throw renewError;
          // The token endpoint failed for now (5xx, timeout, network): nothing says the credential is wrong.
          if (ApiCallError.isInstance(renewError) && renewError.isRetryable) throw renewError;
          throw new ApiCallError('unauthorized', {
            message: `salesforce: the session expired and could not be renewed: ${
              renewError instanceof Error ? renewError.message : String(renewError)
            }`,
            providerId: SALESFORCE_PROVIDER_ID,
            status: error.status,
            ...(error.url === undefined ? {} : { url: error.url }),
            ...(error.method === undefined ? {} : { method: error.method }),
            ...(error.vendorCode === undefined ? {} : { vendorCode: error.vendorCode }),
            cause: renewError,
          });
        }
      }
    }
  }

  /**
   * A `REQUEST_LIMIT_EXCEEDED` said the org is out of requests: believe it
   * only when the org's usage says so. The 403's own `Sforce-Limit-Info`
   * decides when it had one (see `mapSalesforceError`); without it, one
   * `GET /limits` (shared by concurrent callers) tells `DailyApiRequests`.
   * Out of requests: the gate closes for the cooldown and the error is
   * returned as it is. Requests left, or no answer: a `rate_limited` error,
   * so the limiter waits `concurrencyBackoffMs` and sends the call again.
   * Nothing is reported to the limiter's windows: Salesforce's day is a
   * rolling window with no reset time, so a limiter told "0 left" would
   * wait a whole day.
   */
  async #confirmQuota(
    error: ApiCallError,
    session: SalesforceSession,
    signal: AbortSignal | undefined,
  ): Promise<ApiCallError> {
    const { waits } = this.#settings;
    let allocation = allocationOf(error.rateLimit);
    if (allocation === undefined) {
      this.#probe ??= this.#readAllocation(session, signal).finally(() => {
        this.#probe = undefined;
      });
      allocation = await this.#probe;
    }
    if (allocation !== undefined && allocation.used >= allocation.max) {
      this.#gate.close(error.retryAfterMs ?? waits.quotaCooldownMs);
      if (allocationOf(error.rateLimit) !== undefined) return error;
      return new ApiCallError('quota_exceeded', {
        message: `salesforce: the org has used its API request allocation (${allocation.used}/${allocation.max} in the last 24 hours, REQUEST_LIMIT_EXCEEDED)`,
        providerId: SALESFORCE_PROVIDER_ID,
        vendorCode: 'REQUEST_LIMIT_EXCEEDED',
        retryAfterMs: waits.quotaCooldownMs,
        ...(error.status === undefined ? {} : { status: error.status }),
        ...(error.url === undefined ? {} : { url: error.url }),
        ...(error.method === undefined ? {} : { method: error.method }),
      });
    }
    const why =
      allocation === undefined
        ? 'the org did not say how much of its allocation is left'
        : `the org still has ${allocation.max - allocation.used} of its ${allocation.max} daily API requests left`;
    const transient = transientLimit(waits, why);
    return new ApiCallError('rate_limited', {
      message: `salesforce: ${transient.message ?? why}`,
      providerId: SALESFORCE_PROVIDER_ID,
      vendorCode: 'REQUEST_LIMIT_EXCEEDED',
      retryAfterMs: waits.concurrencyBackoffMs,
      ...(error.status === undefined ? {} : { status: error.status }),
      ...(error.url === undefined ? {} : { url: error.url }),
      ...(error.method === undefined ? {} : { method: error.method }),
    });
  }

  /** `GET /limits`: the org's `DailyApiRequests`, or `undefined` when it cannot be read. */
  async #readAllocation(
    session: SalesforceSession,
    signal: AbortSignal | undefined,
  ): Promise<SalesforceApiAllocation | undefined> {
    this.#limitProbes += 1;
    try {
      const response = await this.#semaphore.run(
        () =>
          this.#send(session, {
            path: 'limits',
            schema: limitsSchema,
            ...(signal === undefined ? {} : { signal }),
          }),
        signal,
      );
      const daily = response.data.DailyApiRequests;
      return { used: Math.max(0, daily.Max - daily.Remaining), max: daily.Max };
    } catch (probeError) {
      // The probe refused in turn: its own Sforce-Limit-Info still tells the usage.
      return ApiCallError.isInstance(probeError) ? allocationOf(probeError.rateLimit) : undefined;
    }
  }

  #send<T>(session: SalesforceSession, options: SalesforceCallOptions<T>): Promise<HttpClientResponse<T>> {
    this.#requests += 1;
    const { onRateLimit, path, headers, ...rest } = options;
    const prefix = `/services/data/v${this.#settings.apiVersion}/`;
    const relative = path.startsWith('/services/')
      ? `${session.instanceUrl}${path}`
      : path.replace(prefix, '');
    return this.#client(session.instanceUrl).request<T>({
      ...rest,
      path: relative,
      headers: { ...headers, authorization: `Bearer ${session.accessToken}` },
      ...(onRateLimit === undefined ? {} : { onRateLimit }),
    });
  }
}

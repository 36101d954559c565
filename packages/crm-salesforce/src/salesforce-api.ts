import {
  ApiCallError,
  createHttpClient,
  type HttpClient,
  type HttpClientResponse,
  type HttpRequestOptions,
  type RateLimitState,
} from '@leadpipe/core/adapter-kit';
import { SALESFORCE_PROVIDER_ID, type SalesforceAuth, type SalesforceSession } from './salesforce-auth.js';
import {
  mapSalesforceError,
  QuotaGate,
  type SalesforceLimitWaits,
  Semaphore,
  salesforceRateLimitHeaders,
} from './salesforce-limits.js';

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

/**
 * Salesforce REST calls with the session attached: a refused session (401
 * `INVALID_SESSION_ID`) is renewed once (shared with concurrent callers) and
 * the call sent again; at most `maxConcurrentRequests` are in flight; after
 * `REQUEST_LIMIT_EXCEEDED` nothing is sent until the cooldown ends.
 */
export class SalesforceApi {
  readonly #settings: SalesforceApiSettings;
  readonly #clients = new Map<string, HttpClient>();
  readonly #semaphore: Semaphore;
  readonly #gate: QuotaGate;
  #requests = 0;

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
      const { fetch, timeoutMs, waits } = this.#settings;
      client = createHttpClient({
        providerId: SALESFORCE_PROVIDER_ID,
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
          this.#gate.close(error.retryAfterMs ?? this.#settings.waits.quotaCooldownMs);
          const remainingState: RateLimitState = {
            windows: [{ name: 'day', remaining: 0 }],
            retryAfterMs: error.retryAfterMs ?? this.#settings.waits.quotaCooldownMs,
          };
          try {
            options.onRateLimit?.(remainingState);
          } catch {
            // Observers never break the call.
          }
        }
        if (
          !ApiCallError.isInstance(error) ||
          error.code !== 'unauthorized' ||
          error.status !== 401 ||
          renewed
        ) {
          throw error;
        }
        if (!this.#settings.auth.canRenew()) throw error;
        renewed = true;
        try {
          session = await this.#settings.auth.renew(session, options.signal);
        } catch (renewError) {
          if (ApiCallError.isInstance(renewError) && renewError.code === 'aborted') throw renewError;
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

import { type Span, SpanKind } from '@opentelemetry/api';
import ky from 'ky';
import type { ZodType } from 'zod';
import { type Clock, systemClock } from '../contracts/clock.js';
import { ApiCallError, type ApiErrorCode, ConfigurationError, LeadpipeError } from '../contracts/errors.js';
import type { RateLimitState } from '../contracts/rate-limit.js';
import { REDACTED } from '../contracts/secrets.js';
import { leadpipeInstruments, leadpipeTracer, TelemetryAttributes } from '../telemetry/instruments.js';
import { markSpanFailed } from '../telemetry/spans.js';
import {
  type ParsedRateLimitState,
  parseRateLimitHeaders,
  type RateLimitHeaderMapping,
} from './rate-limit-headers.js';

/** HTTP methods the client sends. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';

/** How the response body is read: parsed JSON, text, or not at all. */
export type HttpResponseType = 'json' | 'text' | 'none';

/** One query-string value. */
export type SearchParamValue = string | number | boolean;

/** Query parameters; `undefined` and `null` values are left out, arrays repeat the name. */
export type SearchParams =
  | URLSearchParams
  | Readonly<Record<string, SearchParamValue | readonly SearchParamValue[] | null | undefined>>;

/** What a failed response looked like, handed to {@link HttpClientOptions.mapError}. */
export interface HttpErrorInfo {
  /** HTTP status. */
  readonly status: number;
  /** Response headers. */
  readonly headers: Headers;
  /** The response body as text (empty when there was none). */
  readonly bodyText: string;
  /** The body parsed as JSON, or `undefined` when it is not JSON. */
  readonly json: unknown;
  /** HTTP method. */
  readonly method: string;
  /** Request URL without its query string. */
  readonly url: string;
  /** What the rate-limit headers said, if anything. */
  readonly rateLimit: RateLimitState | undefined;
}

/** What {@link HttpClientOptions.mapError} may change about the error raised for a failed response. */
export interface HttpErrorOverrides {
  /** The error code, replacing the one derived from the status. */
  readonly code?: ApiErrorCode;
  /** The vendor's own error code. */
  readonly vendorCode?: string;
  /** The error message (never put secrets or lead data in it). */
  readonly message?: string;
  /** How long to wait before trying again. */
  readonly retryAfterMs?: number;
  /** Whether trying again may succeed; defaults from the code. */
  readonly isRetryable?: boolean;
}

/** Options of {@link createHttpClient}. */
export interface HttpClientOptions {
  /** The provider or CRM id, put on every error. */
  readonly providerId: string;
  /** Absolute http(s) URL that request paths are appended to. */
  readonly baseUrl: string;
  /**
   * Headers sent with every request, computed per request so keys are read
   * at call time (call `loadApiKey` in here). May be async. Errors it throws
   * reject the request unchanged.
   */
  readonly headers?: () => Record<string, string> | Promise<Record<string, string>>;
  /** Time allowed for a whole request, body included, in ms. Defaults to 30 000. */
  readonly timeoutMs?: number;
  /** The fetch implementation. Defaults to the global `fetch`. */
  readonly fetch?: typeof globalThis.fetch;
  /** Which headers describe the vendor's limits. Defaults to `defaultRateLimitHeaders`. */
  readonly rateLimitHeaders?: RateLimitHeaderMapping;
  /**
   * Keep failed responses' bodies (truncated and scrubbed) on errors.
   * Defaults to `false`: bodies can hold lead PII.
   */
  readonly captureResponseBody?: boolean;
  /** Adjust the error for a failed response: vendor codes, quotas sent as 403 or 429, odd bodies. */
  readonly mapError?: (info: HttpErrorInfo) => HttpErrorOverrides | undefined;
  /**
   * Called with what the rate-limit headers said, for every response that
   * had them, success or failure. Exceptions it throws are ignored.
   */
  readonly onRateLimit?: (state: RateLimitState) => void;
  /**
   * The clock relative rate-limit resets (`Retry-After: 30`, reset in
   * seconds) are turned into epoch times with, and a 429's wait is measured
   * from. Pass the engine's or limiter's clock so all of them agree. Default
   * `Date.now`.
   */
  readonly now?: Clock;
}

/** One request. */
export interface HttpRequestOptions<T = unknown> {
  /** HTTP method. Defaults to `GET`. */
  readonly method?: HttpMethod;
  /** Path appended to the base URL, or an absolute http(s) URL. */
  readonly path: string;
  /** Query parameters. */
  readonly searchParams?: SearchParams;
  /** A JSON body. Not together with `body`. */
  readonly json?: unknown;
  /** A raw body (form data, text). Not together with `json`. */
  readonly body?: RequestInit['body'];
  /** Headers for this request, over the client's. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Aborts the request; the error is then `aborted`. */
  readonly signal?: AbortSignal;
  /** Time allowed for this request, overriding the client's. */
  readonly timeoutMs?: number;
  /** How to read the body. Defaults to `json`. */
  readonly responseType?: HttpResponseType;
  /** Non-2xx statuses returned instead of thrown, such as 404 for a lookup that found nothing, or 300. */
  readonly acceptStatus?: readonly number[];
  /** Called with the rate-limit state of this response, after the client's own callback. */
  readonly onRateLimit?: (state: RateLimitState) => void;
  /**
   * Validates the parsed JSON of every returned response (2xx and accepted
   * statuses alike). A mismatch is an `invalid_response` error naming the path.
   */
  readonly schema?: ZodType<T>;
}

/** A response the client returned. */
export interface HttpClientResponse<T = unknown> {
  /** HTTP status: 2xx, or one of the request's `acceptStatus`. */
  readonly status: number;
  /** Response headers. */
  readonly headers: Headers;
  /** The body: parsed JSON (`undefined` when empty), text, or `undefined` for `responseType: 'none'`. */
  readonly data: T;
  /** What the rate-limit headers said, if anything. */
  readonly rateLimit: ParsedRateLimitState | undefined;
}

/** A small HTTP client for adapters: see {@link createHttpClient}. */
export interface HttpClient {
  /** The provider or CRM id the client was created for. */
  readonly providerId: string;
  /**
   * Send a request. Resolves with 2xx responses and accepted statuses;
   * rejects with an `ApiCallError` otherwise (never retried here).
   */
  request<T = unknown>(options: HttpRequestOptions<T>): Promise<HttpClientResponse<T>>;
}

/** The default request timeout of {@link createHttpClient}: 30 seconds. */
export const DEFAULT_HTTP_TIMEOUT_MS = 30_000;

const MAX_TIMEOUT_MS = 2_147_483_647;
const METHODS: ReadonlySet<string> = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);
const VENDOR_CODE = /^[A-Za-z0-9_.:-]{1,64}$/;
const ERROR_CODE = /^[A-Z][A-Z0-9_]{2,40}$/;

/**
 * The error code a status maps to: 400/422 `invalid_request`, 401
 * `unauthorized`, 402 `quota_exceeded`, 403 `forbidden`, 404 `not_found`,
 * 409 `conflict`, 408 `timeout`, 429 `rate_limited`, 5xx `server_error`, any
 * other status `invalid_request`.
 */
export function apiErrorCodeForStatus(status: number): ApiErrorCode {
  if (status >= 500) return 'server_error';
  switch (status) {
    case 401:
      return 'unauthorized';
    case 402:
      return 'quota_exceeded';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 408:
      return 'timeout';
    case 409:
      return 'conflict';
    case 429:
      return 'rate_limited';
    default:
      return 'invalid_request';
  }
}

function configError(message: string, providerId?: string): ConfigurationError {
  return new ConfigurationError('invalid_configuration', { message, providerId });
}

function checkTimeout(value: unknown, field: string, providerId?: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_TIMEOUT_MS) {
    throw configError(
      `${field}: must be a positive number of milliseconds up to ${MAX_TIMEOUT_MS}`,
      providerId,
    );
  }
  return value;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (
      (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === ''
    );
  } catch {
    return false;
  }
}

function buildUrl(baseUrl: string, path: string, searchParams: SearchParams | undefined): URL {
  const url = new URL(
    /^https?:\/\//i.test(path) ? path : path === '' ? baseUrl : `${baseUrl}/${path.replace(/^\/+/, '')}`,
  );
  if (searchParams instanceof URLSearchParams) {
    for (const [name, value] of searchParams) url.searchParams.append(name, value);
  } else if (searchParams !== undefined) {
    for (const [name, value] of Object.entries(searchParams)) {
      if (value === undefined || value === null) continue;
      const values: readonly SearchParamValue[] = Array.isArray(value) ? value : [value as SearchParamValue];
      for (const item of values) url.searchParams.append(name, String(item));
    }
  }
  return url;
}

function notify(listener: ((state: RateLimitState) => void) | undefined, state: RateLimitState): void {
  if (listener === undefined) return;
  try {
    listener(state);
  } catch {
    // Listeners observe; one that throws never breaks the request.
  }
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  if (text.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

function pickVendorCode(json: unknown): string | undefined {
  const candidates: unknown[] = [];
  const record = (value: unknown): Record<string, unknown> | undefined =>
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  const top = Array.isArray(json) ? record(json[0]) : record(json);
  if (top !== undefined) {
    const nested = record(top.error);
    candidates.push(top.error_code, top.errorCode, top.errorType, nested?.type, nested?.code, top.code);
  }
  for (const candidate of candidates) {
    if (typeof candidate === 'string' && VENDOR_CODE.test(candidate)) return candidate;
  }
  return undefined;
}

function findErrorCode(error: unknown, depth = 0): string | undefined {
  if (depth > 3 || typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && ERROR_CODE.test(code)) return code;
  return findErrorCode((error as { cause?: unknown }).cause, depth + 1);
}

const QUERY_STRING = /(https?:\/\/[^\s?#"'<>]*)\?[^\s#"'<>]*/gi;
const MIN_SCRUBBED_LENGTH = 6;

/**
 * A copy of a transport error that cannot carry the request's query string
 * or header values: URLs lose their query strings, and every query or
 * header value of the request is replaced wherever it appears.
 */
function safeCause(error: unknown, sensitive: readonly string[]): Error | undefined {
  if (!(error instanceof Error)) return undefined;
  let message = String(error.message).replace(QUERY_STRING, '$1');
  for (const value of sensitive) {
    if (value.length >= MIN_SCRUBBED_LENGTH) message = message.split(value).join(REDACTED);
  }
  const code = findErrorCode(error);
  const copy = new Error(code !== undefined && !message.includes(code) ? `${message} (${code})` : message);
  copy.name = error.name;
  return copy;
}

interface ResolvedClient {
  readonly providerId: string;
  readonly baseUrl: string;
  readonly headers: HttpClientOptions['headers'];
  readonly timeoutMs: number;
  readonly fetch: typeof globalThis.fetch | undefined;
  readonly rateLimitHeaders: RateLimitHeaderMapping | undefined;
  readonly captureResponseBody: boolean;
  readonly mapError: HttpClientOptions['mapError'];
  readonly onRateLimit: HttpClientOptions['onRateLimit'];
  readonly now: Clock;
}

/**
 * Create the HTTP client an adapter talks to its vendor with: ky underneath
 * with ky's own retry off (retries belong to the engine), a deadline per
 * request, caller cancellation, rate-limit headers parsed on every response,
 * and every failure turned into an `ApiCallError` with a stable code.
 * Errors carry the status, method, URL without query string, vendor code and
 * rate-limit state; never a header value; the body only when
 * `captureResponseBody` is on.
 *
 * @throws ConfigurationError `invalid_configuration` when an option is invalid.
 */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  if (typeof options.providerId !== 'string' || options.providerId.trim() === '') {
    throw configError('providerId: must be a non-empty string');
  }
  const providerId = options.providerId;
  if (typeof options.baseUrl !== 'string' || !isHttpUrl(options.baseUrl)) {
    throw configError('baseUrl: must be an absolute http:// or https:// URL without credentials', providerId);
  }
  if (options.headers !== undefined && typeof options.headers !== 'function') {
    throw configError('headers: must be a function returning the headers', providerId);
  }
  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    throw configError('fetch: must be a function', providerId);
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw configError(
      'now: must be a Clock (a function returning epoch milliseconds), such as Date.now',
      providerId,
    );
  }
  const client: ResolvedClient = {
    providerId,
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    headers: options.headers,
    timeoutMs: checkTimeout(options.timeoutMs, 'timeoutMs', providerId) ?? DEFAULT_HTTP_TIMEOUT_MS,
    fetch: options.fetch,
    rateLimitHeaders: options.rateLimitHeaders,
    captureResponseBody: options.captureResponseBody ?? false,
    mapError: options.mapError,
    onRateLimit: options.onRateLimit,
    now: options.now ?? systemClock,
  };
  return {
    providerId,
    request: <T>(request: HttpRequestOptions<T>) => traced(client, request),
  };
}

function checkRequest(client: ResolvedClient, request: HttpRequestOptions<unknown>): void {
  const { providerId } = client;
  if (typeof request.path !== 'string') throw configError('path: must be a string', providerId);
  if (request.method !== undefined && !METHODS.has(request.method)) {
    throw configError(`method: must be one of ${[...METHODS].join(', ')}`, providerId);
  }
  if (request.json !== undefined && request.body !== undefined) {
    throw configError('json: cannot be sent together with body; pass one of them', providerId);
  }
  const type = request.responseType;
  if (type !== undefined && type !== 'json' && type !== 'text' && type !== 'none') {
    throw configError('responseType: must be "json", "text" or "none"', providerId);
  }
  for (const status of request.acceptStatus ?? []) {
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      throw configError('acceptStatus: every entry must be an HTTP status between 100 and 599', providerId);
    }
  }
}

/**
 * One request inside an HTTP client span (named by the method, as the
 * semantic conventions say): method, host, port, status and vendor id as
 * attributes, never the path, query or headers. Timed in
 * `leadpipe.http.client.duration`; a 429 counts in `leadpipe.rate_limited`.
 */
async function traced<T>(
  client: ResolvedClient,
  request: HttpRequestOptions<T>,
): Promise<HttpClientResponse<T>> {
  const method = typeof request.method === 'string' && METHODS.has(request.method) ? request.method : 'GET';
  const vendor = { [TelemetryAttributes.vendor]: client.providerId };
  const span = leadpipeTracer().startSpan(method, {
    kind: SpanKind.CLIENT,
    attributes: { ...vendor, [TelemetryAttributes.httpMethod]: method },
  });
  const started = performance.now();
  let status: number | undefined;
  let errorType: string | undefined;
  try {
    const response = await send(client, request, span);
    status = response.status;
    return response;
  } catch (error) {
    errorType = markSpanFailed(span, error);
    if (ApiCallError.isInstance(error)) status = error.status;
    throw error;
  } finally {
    span.end();
    const instruments = leadpipeInstruments();
    const attributes = {
      ...vendor,
      [TelemetryAttributes.httpMethod]: method,
      ...(status === undefined ? {} : { [TelemetryAttributes.httpStatus]: status }),
      ...(errorType === undefined ? {} : { [TelemetryAttributes.errorType]: errorType }),
    };
    instruments.httpDuration.record(performance.now() - started, attributes);
    if (status === 429) instruments.rateLimited.add(1, vendor);
  }
}

async function send<T>(
  client: ResolvedClient,
  request: HttpRequestOptions<T>,
  span: Span,
): Promise<HttpClientResponse<T>> {
  checkRequest(client, request);
  const { providerId } = client;
  const method = request.method ?? 'GET';
  const timeoutMs = checkTimeout(request.timeoutMs, 'timeoutMs', providerId) ?? client.timeoutMs;
  const responseType = request.responseType ?? 'json';
  let url: URL;
  try {
    url = buildUrl(client.baseUrl, request.path, request.searchParams);
  } catch {
    throw configError('path: does not form a valid URL with the base URL', providerId);
  }
  const publicUrl = `${url.origin}${url.pathname}`;
  span.setAttribute(TelemetryAttributes.serverAddress, url.hostname);
  span.setAttribute(
    TelemetryAttributes.serverPort,
    url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port),
  );
  const where = `${method} ${publicUrl}`;
  const base = { providerId, method, url: publicUrl };

  const clientHeaders = client.headers === undefined ? {} : await client.headers();
  const headers: Record<string, string> = {};
  if (responseType === 'json') headers.accept = 'application/json';
  for (const [name, value] of Object.entries({ ...clientHeaders, ...request.headers })) {
    headers[name.toLowerCase()] = value;
  }

  const sensitive = [...Object.values(headers), ...url.searchParams.values(), url.search.slice(1)].sort(
    (a, b) => b.length - a.length,
  );
  const callerSignal = request.signal;
  const aborted = (cause?: unknown) =>
    new ApiCallError('aborted', {
      ...base,
      message: `${providerId}: ${where} was aborted by the caller`,
      cause: safeCause(cause, sensitive),
    });
  if (callerSignal?.aborted) throw aborted(callerSignal.reason);

  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  const signal =
    callerSignal === undefined ? deadline.signal : AbortSignal.any([callerSignal, deadline.signal]);
  const transportError = (error: unknown): LeadpipeError => {
    if (callerSignal?.aborted) return aborted(error);
    if (deadline.signal.aborted) {
      return new ApiCallError('timeout', {
        ...base,
        message: `${providerId}: ${where} timed out after ${timeoutMs} ms`,
      });
    }
    if (LeadpipeError.isInstance(error)) return error;
    const code = findErrorCode(error);
    return new ApiCallError('network_error', {
      ...base,
      message: `${providerId}: ${where} failed with a network error${code === undefined ? '' : ` (${code})`}`,
      cause: safeCause(error, sensitive),
    });
  };
  const readText = async (response: Response): Promise<string> => {
    try {
      return await response.text();
    } catch (error) {
      throw transportError(error);
    }
  };

  try {
    let response: Response;
    try {
      response = await ky(url, {
        method,
        headers,
        json: request.json,
        body: request.body,
        signal,
        retry: 0,
        timeout: false,
        throwHttpErrors: false,
        fetch: client.fetch,
      });
    } catch (error) {
      throw transportError(error);
    }
    // A network failure surfaced as a Response (`Response.error()`, type "error", status 0) by some fetch layers.
    if (response.type === 'error' || response.status === 0) {
      throw transportError(new TypeError('fetch failed: the connection was closed without a response'));
    }

    span.setAttribute(TelemetryAttributes.httpStatus, response.status);
    const receivedAt = client.now();
    const rateLimit = parseRateLimitHeaders(response.headers, client.rateLimitHeaders, receivedAt);
    if (rateLimit !== undefined) {
      notify(client.onRateLimit, rateLimit);
      notify(request.onRateLimit, rateLimit);
    }

    if (!response.ok && !(request.acceptStatus ?? []).includes(response.status)) {
      const bodyText = await readText(response);
      const parsed = parseJson(bodyText);
      const json = parsed.ok ? parsed.value : undefined;
      const overrides = client.mapError?.({
        status: response.status,
        headers: response.headers,
        bodyText,
        json,
        method,
        url: publicUrl,
        rateLimit,
      });
      const code = overrides?.code ?? apiErrorCodeForStatus(response.status);
      const vendorCode = overrides?.vendorCode ?? pickVendorCode(json);
      let retryAfterMs = overrides?.retryAfterMs ?? rateLimit?.retryAfterMs;
      if (retryAfterMs === undefined && code === 'rate_limited') {
        for (const window of rateLimit?.windows ?? []) {
          if (window.resetAt !== undefined && window.resetAt > receivedAt)
            retryAfterMs = Math.min(retryAfterMs ?? Number.POSITIVE_INFINITY, window.resetAt - receivedAt);
        }
      }
      const status = `HTTP ${response.status}`;
      throw new ApiCallError(code, {
        ...base,
        status: response.status,
        vendorCode,
        rateLimit,
        retryAfterMs,
        isRetryable: overrides?.isRetryable,
        message:
          overrides?.message === undefined
            ? `${providerId}: ${where} failed with ${status}${vendorCode === undefined ? '' : ` (${vendorCode})`}`
            : `${providerId}: ${overrides.message} (${status}, ${where})`,
        responseBody: client.captureResponseBody ? bodyText : undefined,
      });
    }

    let data: unknown;
    if (responseType === 'none') {
      // Not awaited: cancelling a body whose stream was teed can stay pending forever.
      void response.body?.cancel().catch(() => undefined);
    } else {
      const bodyText = await readText(response);
      const invalid = (detail: string) =>
        new ApiCallError('invalid_response', {
          ...base,
          status: response.status,
          rateLimit,
          message: `${providerId}: ${where} returned HTTP ${response.status} with ${detail}`,
          responseBody: client.captureResponseBody ? bodyText : undefined,
        });
      if (responseType === 'text') data = bodyText;
      else {
        const parsed = parseJson(bodyText);
        if (!parsed.ok) throw invalid('a body that is not valid JSON');
        data = parsed.value;
      }
      if (request.schema !== undefined) {
        const result = request.schema.safeParse(data);
        if (!result.success) {
          const issues = result.error.issues
            .slice(0, 5)
            .map((issue) => `${formatPath(issue.path)}: ${issue.message}`)
            .join('; ');
          throw invalid(`a body that does not match the expected schema: ${issues}`);
        }
        data = result.data;
      }
    }
    return { status: response.status, headers: response.headers, data: data as T, rateLimit };
  } finally {
    clearTimeout(timer);
  }
}

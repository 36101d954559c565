import { createHash, randomUUID } from 'node:crypto';
import {
  ApiCallError,
  assertWebhookBodySize,
  createHttpClient,
  DEFAULT_WEBHOOK_MAX_BODY_BYTES,
  type EnrichCallOptions,
  type EnrichmentProviderV1,
  type EnrichRequest,
  type EnrichResult,
  type HttpClient,
  type InboundWebhookRequest,
  loadApiKey,
  type ProviderCapabilities,
  type ProviderHitRatePriors,
  parseOptions,
  type RateLimitPolicy,
  rawBodyToString,
  ValidationError,
  type WebhookResolution,
} from '@leadpipe/core/adapter-kit';
import { z } from 'zod';
import { clearbitErrorType, clearbitRateLimitHeaders, mapClearbitError } from './clearbit-errors.js';
import {
  CLEARBIT_COMPANY_FIELDS,
  CLEARBIT_PERSON_FIELDS,
  clearbitCombinedSchema,
  clearbitCompanySchema,
  type MappedRecord,
  mapCombined,
  mapCompanyRecord,
} from './clearbit-mapping.js';
import { parseClearbitWebhook, verifyClearbitWebhook } from './clearbit-webhook.js';

/**
 * How the adapter deals with lookups Clearbit has not finished (HTTP 202):
 * - `sync`: ask again after `queuedRetryDelayMs`, up to `queuedMaxWaitMs` in
 *   all, then give up with a retryable `timeout` error (nothing is cached);
 * - `stream`: use the streaming hosts, which hold the connection open (up to
 *   60 s) until the record is ready;
 * - `webhook`: answer `pending` at once; Clearbit posts the record to
 *   `webhookUrl`, and `engine.handleWebhook('clearbit', request)` resolves it.
 */
export type ClearbitMode = 'sync' | 'stream' | 'webhook';

/** Settings of {@link createClearbit}. */
export interface ClearbitProviderSettings {
  /**
   * Clearbit secret API key (`sk_…`). Defaults to the `CLEARBIT_API_KEY`
   * environment variable, read when a call is made (not at construction).
   */
  readonly apiKey?: string;
  /** How queued (HTTP 202) lookups are handled; see {@link ClearbitMode}. Default `sync`. */
  readonly mode?: ClearbitMode;
  /**
   * Where Clearbit posts finished lookups in `webhook` mode (required there,
   * rejected in the other modes): a public http(s) URL of the host app that
   * hands the request to `engine.handleWebhook('clearbit', request)`.
   */
  readonly webhookUrl?: string;
  /** Provider id used for limits, caching and provenance. Default `clearbit`. */
  readonly providerId?: string;
  /**
   * Origin replacing both `https://person.clearbit.com` and
   * `https://company.clearbit.com` (a proxy, or the testkit emulator), for
   * modes `sync` and `webhook`.
   */
  readonly baseUrl?: string;
  /**
   * Origin replacing both `https://person-stream.clearbit.com` and
   * `https://company-stream.clearbit.com`, for mode `stream`.
   */
  readonly streamBaseUrl?: string;
  /** Time allowed per request in modes `sync` and `webhook`, in ms. Default 10 000 (as Clearbit's SDK). */
  readonly timeoutMs?: number;
  /**
   * Time allowed per request in mode `stream`, in ms. Default 65 000: the
   * streaming hosts hold a connection for up to 60 s, plus a margin.
   */
  readonly streamTimeoutMs?: number;
  /** Mode `sync`: wait between asking again about a queued lookup, in ms. Default 5 000. */
  readonly queuedRetryDelayMs?: number;
  /** Mode `sync`: most time spent waiting on one queued lookup before giving up, in ms. Default 30 000. */
  readonly queuedMaxWaitMs?: number;
  /** Limits the engine paces calls with. Default `{ perMinute: 600 }` (Clearbit's documented limit). */
  readonly rateLimits?: RateLimitPolicy;
  /** Value of the `API-Version` request header, to pin a Clearbit API version. Default: not sent. */
  readonly apiVersion?: string;
  /** Extra headers sent with every request. */
  readonly headers?: Readonly<Record<string, string>>;
  /** The fetch implementation. Default the global `fetch`. */
  readonly fetch?: typeof globalThis.fetch;
  /** Keep failed responses' bodies (truncated, scrubbed) on errors. Default `false`: they can hold PII. */
  readonly captureResponseBody?: boolean;
  /**
   * Largest webhook body read, in bytes; a larger one is refused
   * (`payload_too_large`) before its signature is computed or it is parsed.
   * Default 1 MiB (`DEFAULT_WEBHOOK_MAX_BODY_BYTES`).
   */
  readonly webhookMaxBodyBytes?: number;
}

/** A Clearbit enrichment provider: an {@link EnrichmentProviderV1} that always handles webhooks. */
export interface ClearbitProvider extends EnrichmentProviderV1 {
  /** How queued lookups are handled. */
  readonly mode: ClearbitMode;
  /**
   * Verify (`X-Request-Signature`) and parse a Clearbit webhook into the
   * resolutions of pending lookups. Called by `engine.handleWebhook`.
   */
  doHandleWebhook(request: InboundWebhookRequest): Promise<WebhookResolution[]>;
}

/** The real Clearbit hosts. */
const CLEARBIT_HOSTS = {
  /** Person and combined lookups; a queued lookup answers 202. */
  person: 'https://person.clearbit.com',
  /** Company lookups by domain; a queued lookup answers 202. */
  company: 'https://company.clearbit.com',
  /** Streaming person lookups: the connection is held open (up to 60 s) until the answer is ready. */
  personStream: 'https://person-stream.clearbit.com',
  /** Streaming company lookups: the connection is held open (up to 60 s) until the answer is ready. */
  companyStream: 'https://company-stream.clearbit.com',
} as const;

/** The environment variable the API key is read from. */
export const CLEARBIT_API_KEY_ENV = 'CLEARBIT_API_KEY';

/** Credits one lookup costs: Clearbit bills 200, 202 and 404 answers alike. */
const CLEARBIT_CREDITS_PER_LOOKUP = 1;

/**
 * Clearbit's expected hit rates, the cost-aware waterfall's starting point
 * (it learns the real ones during the run): strong on company metrics and
 * technologies, thinner on people (seniority, department, LinkedIn).
 */
const CLEARBIT_PRIORS: ProviderHitRatePriors = {
  match: 0.75,
  fields: {
    email: 1,
    title: 0.8,
    seniority: 0.7,
    department: 0.7,
    linkedinUrl: 0.7,
    location: 0.8,
    'company.name': 1,
    'company.domain': 1,
    'company.industry': 0.9,
    'company.headcount': 0.9,
    'company.headcountRange': 0.9,
    'company.annualRevenue': 0.8,
    'company.location': 0.9,
    'company.technologies': 0.85,
  },
};

const DEFAULTS = {
  providerId: 'clearbit',
  mode: 'sync' as ClearbitMode,
  timeoutMs: 10_000,
  streamTimeoutMs: 65_000,
  queuedRetryDelayMs: 5_000,
  queuedMaxWaitMs: 30_000,
  rateLimits: { perMinute: 600 } as RateLimitPolicy,
};

const MODES: readonly ClearbitMode[] = ['sync', 'stream', 'webhook'];
const MAX_TIMER_MS = 2_147_483_647;

interface Lookup {
  readonly field: 'email' | 'company.domain';
  readonly value: string;
  readonly url: string;
  readonly parse: (json: unknown) => MappedRecord | undefined | 'invalid';
}

function isHttpUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return (
      (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === ''
    );
  } catch {
    return false;
  }
}

const httpUrl = z
  .string()
  .refine(isHttpUrl, 'must be an absolute http:// or https:// URL without credentials');

function duration(allowZero: boolean) {
  return z
    .number()
    .refine(
      (value) => Number.isFinite(value) && value >= 0 && (allowZero || value > 0) && value <= MAX_TIMER_MS,
      `must be a ${allowZero ? 'non-negative' : 'positive'} number of milliseconds up to ${MAX_TIMER_MS}`,
    );
}

/** What {@link createClearbit} accepts; cross-field rules (`webhookUrl` against `mode`) in the refinement. */
const settingsSchema = z
  .object({
    apiKey: z.string().optional(),
    mode: z.enum(MODES, `must be one of ${MODES.join(', ')}`).optional(),
    webhookUrl: httpUrl.optional(),
    providerId: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]*$/i, 'must be a non-empty string of letters, digits, ".", "_" or "-"')
      .optional(),
    baseUrl: httpUrl.optional(),
    streamBaseUrl: httpUrl.optional(),
    timeoutMs: duration(false).optional(),
    streamTimeoutMs: duration(false).optional(),
    queuedRetryDelayMs: duration(false).optional(),
    queuedMaxWaitMs: duration(true).optional(),
    apiVersion: z.string().min(1, 'must be a non-empty string such as "2019-12-19"').optional(),
    webhookMaxBodyBytes: z
      .number('must be a whole number of bytes, at least 1')
      .int('must be a whole number of bytes, at least 1')
      .min(1, 'must be a whole number of bytes, at least 1')
      .optional(),
    fetch: z
      .custom<typeof globalThis.fetch>((value) => typeof value === 'function', 'must be a function')
      .optional(),
  })
  .superRefine((settings, context) => {
    const mode = settings.mode ?? DEFAULTS.mode;
    if (mode === 'webhook' && settings.webhookUrl === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['webhookUrl'],
        message: "is required in mode 'webhook' (where Clearbit posts finished lookups)",
      });
    } else if (mode !== 'webhook' && settings.webhookUrl !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['webhookUrl'],
        message: `is only used in mode 'webhook', but mode is '${mode}'`,
      });
    }
  });

function checkSettings(settings: ClearbitProviderSettings): void {
  const providerId = typeof settings?.providerId === 'string' ? settings.providerId : DEFAULTS.providerId;
  parseOptions(settingsSchema, settings, { name: 'createClearbit', providerId });
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function sleep(ms: number, signal: AbortSignal | undefined, providerId: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const aborted = () =>
      new ApiCallError('aborted', {
        message: `${providerId}: aborted while waiting to ask Clearbit again about a queued lookup`,
        providerId,
        cause: signal?.reason,
      });
    if (signal?.aborted) {
      reject(aborted());
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(aborted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The fetch the client uses: the given one, or the global `fetch` looked up
 * per call (so test interceptors installed later still apply). A response of
 * type `error` (status 0), which some fetch implementations and mocks resolve
 * with instead of rejecting, is turned into the network error it stands for.
 */
function networkSafeFetch(custom: typeof globalThis.fetch | undefined): typeof globalThis.fetch {
  return async (input, init) => {
    const response = await (custom ?? globalThis.fetch)(input, init);
    if (response.type === 'error' || response.status === 0) {
      throw new TypeError('fetch failed: the connection was closed without a response');
    }
    return response;
  };
}

function stripOrigin(origin: string): string {
  return origin.replace(/\/+$/, '');
}

/**
 * Create a Clearbit enrichment provider: the combined person + company
 * lookup by email (`/v2/combined/find`) and the company lookup by domain
 * (`/v2/companies/find`), with Clearbit's rate-limit headers, error codes,
 * billing (misses are billed) and its three ways of handling queued (202)
 * lookups. Clearbit no longer issues API keys to new accounts: this serves
 * existing key holders.
 *
 * @example
 * ```ts
 * import { createEnrichmentEngine, createLead } from '@leadpipe/core';
 * import { createClearbit } from '@leadpipe/provider-clearbit';
 *
 * const clearbit = createClearbit({ mode: 'stream' }); // key from CLEARBIT_API_KEY
 * const engine = createEnrichmentEngine({ providers: [clearbit] });
 * const outcome = await engine.enrich(createLead({ email: 'ada@acme.com' }));
 * ```
 *
 * @throws ConfigurationError `invalid_configuration` naming every bad setting.
 */
export function createClearbit(settings: ClearbitProviderSettings = {}): ClearbitProvider {
  checkSettings(settings);
  const providerId = settings.providerId ?? DEFAULTS.providerId;
  const mode = settings.mode ?? DEFAULTS.mode;
  const streaming = mode === 'stream';
  const personHost = stripOrigin(
    streaming
      ? (settings.streamBaseUrl ?? CLEARBIT_HOSTS.personStream)
      : (settings.baseUrl ?? CLEARBIT_HOSTS.person),
  );
  const companyHost = stripOrigin(
    streaming
      ? (settings.streamBaseUrl ?? CLEARBIT_HOSTS.companyStream)
      : (settings.baseUrl ?? CLEARBIT_HOSTS.company),
  );
  const timeoutMs = streaming
    ? (settings.streamTimeoutMs ?? DEFAULTS.streamTimeoutMs)
    : (settings.timeoutMs ?? DEFAULTS.timeoutMs);
  const retryDelayMs = settings.queuedRetryDelayMs ?? DEFAULTS.queuedRetryDelayMs;
  const maxWaitMs = settings.queuedMaxWaitMs ?? DEFAULTS.queuedMaxWaitMs;
  const extraHeaders = { ...settings.headers };

  const apiKey = () =>
    loadApiKey({
      apiKey: settings.apiKey,
      environmentVariableName: CLEARBIT_API_KEY_ENV,
      description: 'Clearbit',
      providerId,
    });

  const client: HttpClient = createHttpClient({
    providerId,
    baseUrl: personHost,
    timeoutMs,
    fetch: networkSafeFetch(settings.fetch),
    rateLimitHeaders: clearbitRateLimitHeaders,
    captureResponseBody: settings.captureResponseBody ?? false,
    mapError: mapClearbitError,
    headers: () => ({
      ...extraHeaders,
      ...(settings.apiVersion === undefined ? {} : { 'API-Version': settings.apiVersion }),
      authorization: `Bearer ${apiKey()}`,
    }),
  });

  const lookupOf = (request: EnrichRequest): Lookup => {
    const email = request?.input?.email;
    const domain = request?.input?.['company.domain'];
    if (typeof email === 'string' && email.trim() !== '') {
      return {
        field: 'email',
        value: email.trim(),
        url: `${personHost}/v2/combined/find`,
        parse: (json) => {
          const parsed = clearbitCombinedSchema.safeParse(json);
          return parsed.success ? mapCombined(parsed.data) : 'invalid';
        },
      };
    }
    if (typeof domain === 'string' && domain.trim() !== '') {
      return {
        field: 'company.domain',
        value: domain.trim(),
        url: `${companyHost}/v2/companies/find`,
        parse: (json) => {
          const parsed = clearbitCompanySchema.safeParse(json);
          return parsed.success ? mapCompanyRecord(parsed.data) : 'invalid';
        },
      };
    }
    throw new ValidationError(
      [{ field: 'email', reason: 'is required (or company.domain) for a Clearbit lookup' }],
      { providerId },
    );
  };

  const failure = (
    code: 'timeout' | 'not_found' | 'invalid_response',
    lookup: Lookup,
    status: number,
    message: string,
    extra: { vendorCode?: string; retryAfterMs?: number; isRetryable?: boolean } = {},
  ) =>
    new ApiCallError(code, {
      providerId,
      method: 'GET',
      url: lookup.url,
      status,
      message: `${providerId}: ${message}`,
      ...extra,
    });

  async function doEnrich(request: EnrichRequest, options: EnrichCallOptions = {}): Promise<EnrichResult> {
    const lookup = lookupOf(request);
    const correlationId = mode === 'webhook' ? randomUUID() : undefined;
    let waitedMs = 0;
    for (;;) {
      const response = await client.request<string>({
        path: lookup.url,
        searchParams: {
          [lookup.field === 'email' ? 'email' : 'domain']: lookup.value,
          webhook_url: mode === 'webhook' ? settings.webhookUrl : undefined,
          webhook_id: correlationId,
        },
        responseType: 'text',
        acceptStatus: [404],
        signal: options.signal,
        onRateLimit: options.onRateLimit,
      });
      const json = parseJson(response.data);
      if (response.status === 202) {
        if (correlationId !== undefined) {
          return { status: 'pending', correlationId, credits: CLEARBIT_CREDITS_PER_LOOKUP, raw: json };
        }
        if (streaming || waitedMs + retryDelayMs > maxWaitMs) {
          throw failure(
            'timeout',
            lookup,
            202,
            `Clearbit is still looking the ${lookup.field} up (HTTP 202 queued)${
              streaming ? ' after the streaming wait' : ` after ${waitedMs} ms of waiting`
            }; nothing was cached. Try again later, or use mode 'webhook'`,
            { vendorCode: 'queued', retryAfterMs: retryDelayMs, isRetryable: true },
          );
        }
        await sleep(retryDelayMs, options.signal, providerId);
        waitedMs += retryDelayMs;
        continue;
      }
      if (response.status === 404) {
        const type = clearbitErrorType(json);
        if (type === undefined || type === 'unknown_record') {
          return { status: 'not_found', credits: CLEARBIT_CREDITS_PER_LOOKUP, raw: json };
        }
        throw failure(
          'not_found',
          lookup,
          404,
          `GET ${lookup.url} answered HTTP 404 (${type}), which is not a lookup miss; nothing was cached`,
          { vendorCode: type, isRetryable: false },
        );
      }
      if (json === undefined) {
        throw failure(
          'invalid_response',
          lookup,
          response.status,
          `GET ${lookup.url} returned HTTP ${response.status} with a body that is not JSON`,
        );
      }
      const mapped = lookup.parse(json);
      if (mapped === 'invalid') {
        throw failure(
          'invalid_response',
          lookup,
          response.status,
          `GET ${lookup.url} returned HTTP ${response.status} with a body that is not a Clearbit record`,
        );
      }
      if (mapped === undefined)
        return { status: 'not_found', credits: CLEARBIT_CREDITS_PER_LOOKUP, raw: json };
      return {
        status: 'matched',
        fields: mapped.fields,
        confidence: mapped.confidence,
        fieldConfidence: mapped.fieldConfidence,
        credits: CLEARBIT_CREDITS_PER_LOOKUP,
        raw: json,
      };
    }
  }

  async function doHandleWebhook(request: InboundWebhookRequest): Promise<WebhookResolution[]> {
    assertWebhookBodySize(
      request.rawBody,
      settings.webhookMaxBodyBytes ?? DEFAULT_WEBHOOK_MAX_BODY_BYTES,
      providerId,
    );
    verifyClearbitWebhook(request, apiKey(), providerId);
    return parseClearbitWebhook(rawBodyToString(request.rawBody, providerId), providerId);
  }

  const capabilities: ProviderCapabilities = {
    lookups: [
      { requires: ['email'], supplies: [...CLEARBIT_PERSON_FIELDS, ...CLEARBIT_COMPANY_FIELDS] },
      // Company fields alone are asked by domain: one lookup (and one billed domain) per company.
      { requires: ['company.domain'], supplies: [...CLEARBIT_COMPANY_FIELDS], preferWhenSufficient: true },
    ],
    maxBatchSize: 1,
    rateLimits: settings.rateLimits ?? DEFAULTS.rateLimits,
    cost: { perRequest: 0, perMatch: CLEARBIT_CREDITS_PER_LOOKUP, chargesMisses: true },
    priors: CLEARBIT_PRIORS,
  };

  return {
    specificationVersion: 'v1',
    providerId,
    mode,
    capabilities,
    limiterKey: () => {
      try {
        return createHash('sha256').update(apiKey()).digest('hex').slice(0, 16);
      } catch {
        return 'default';
      }
    },
    doEnrich,
    doHandleWebhook,
  };
}

/**
 * The default Clearbit provider: mode `sync`, key from `CLEARBIT_API_KEY`
 * (read at the first call, so importing this never fails).
 */
export const clearbit: ClearbitProvider = createClearbit();

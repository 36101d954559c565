import {
  type ApiCallError,
  type ApiErrorCode,
  ConfigurationError,
  type EnrichmentProviderV1,
  type EnrichRequest,
  type EnrichResult,
  isLeadField,
  type LeadField,
  type LeadFieldPatch,
  LeadpipeError,
  type RateLimitState,
  validateEnrichResult,
  WebhookVerificationError,
} from '@leadpipe/core/adapter-kit';
import { describeError, errorTexts, expectApiError as expectSharedApiError, settle } from './support.js';

/**
 * The test-registering function of any runner (`it` or `test` of Vitest,
 * Jest, Mocha, `node:test`). The suite calls it once per check.
 */
export type ContractTestFunction = (name: string, fn: () => Promise<void>) => unknown;

/** The assertions the suite uses: a subset every Jest-compatible `expect` has. */
export interface ContractAssertion {
  /** Same value (`Object.is`). */
  toBe(expected: unknown): void;
  /** Deep equality. */
  toEqual(expected: unknown): void;
  /** A number above `expected`. */
  toBeGreaterThan(expected: number): void;
  /** A number at or above `expected`. */
  toBeGreaterThanOrEqual(expected: number): void;
  /** A number at or below `expected`. */
  toBeLessThanOrEqual(expected: number): void;
  /** An array or string holding `expected`. */
  toContain(expected: unknown): void;
  /** Not `undefined`. */
  toBeDefined(): void;
  /** The negated assertions. */
  readonly not: ContractAssertion;
}

/** The runner's `expect` (Vitest's or Jest's); the second argument is a message Vitest prints on failure. */
export type ContractExpect = (actual: unknown, message?: string) => ContractAssertion;

/** A canned backend answer. `body` is sent as is when a string, as JSON otherwise. */
export interface ContractResponse {
  /** Response headers. A JSON `content-type` is added for non-string bodies. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Response body. */
  readonly body?: unknown;
}

/**
 * The provider's backend, as the suite drives it: your emulator, a test
 * server, or msw handlers. Use `emulatorBackend()` for the testkit's own
 * emulators.
 */
export interface ContractBackend {
  /** Answer the next `times` (default 1) requests with `status` and `response`, instead of the real backend. */
  respondWith(status: number, response?: ContractResponse, times?: number): void | Promise<void>;
  /** Requests the backend received so far (canned answers included). */
  requestCount(): number | Promise<number>;
  /** Drop canned answers not used yet. Called before each check. */
  reset?(): void | Promise<void>;
}

/** What a provider must raise for one HTTP status. */
export interface ExpectedApiError {
  /** The error code. */
  readonly code: ApiErrorCode;
  /** Whether it is retryable; default: `true` exactly for the codes the core retries. */
  readonly isRetryable?: boolean;
}

/** Names of the checks, to skip some with `skip`. */
export type EnrichmentContractCheck =
  | 'capabilities'
  | 'match'
  | 'notFound'
  | 'batch'
  | 'batchLimit'
  | 'errors'
  | 'rateLimitHeaders'
  | 'malformedResponse'
  | 'abort'
  | 'secrets'
  | 'missingCredentials'
  | 'webhook';

/** Options of {@link enrichmentProviderContract}. */
export interface EnrichmentProviderContractOptions {
  /** Prefix of every test name. Default: `enrichment provider contract`. */
  readonly name?: string;
  /** A fresh provider, pointed at `backend`. Called once per check. */
  readonly createProvider: () => EnrichmentProviderV1 | Promise<EnrichmentProviderV1>;
  /** Input of a lead the backend knows. */
  readonly knownLead: LeadFieldPatch;
  /** Values the match of `knownLead` must hold (exact equality per field). */
  readonly expectedFields?: LeadFieldPatch;
  /** Input of a lead the backend does not know. */
  readonly unknownLead: LeadFieldPatch;
  /** Fields asked for. Default: every field the provider supplies that `knownLead` lacks. */
  readonly fields?: readonly LeadField[];
  /** The backend, driven by the suite. */
  readonly backend: ContractBackend;
  /** Credentials that must never appear in an error, its JSON or its cause. */
  readonly secrets?: readonly string[];
  /** The vendor's own error bodies and headers per status (default: a generic JSON body). */
  readonly errorResponses?: Readonly<Record<number, ContractResponse>>;
  /**
   * Expected errors per status, over the defaults: 400 and 422
   * `invalid_request`, 401 `unauthorized`, 402 `quota_exceeded`, 403
   * `forbidden`, 429 `rate_limited`, 500 and 503 `server_error`. Map a
   * status to `null` to leave it out.
   */
  readonly expectedErrors?: Readonly<Record<number, ExpectedApiError | null>>;
  /** A 429 as the vendor sends it, with rate-limit headers. Default: `retry-after: 7`. */
  readonly rateLimitResponse?: ContractResponse;
  /** The vendor sends rate-limit headers on successful answers too: check they reach `onRateLimit`. */
  readonly reportsRateLimitsOnSuccess?: boolean;
  /** A provider with no credential at all (no option, no environment variable), for the missing-key check. */
  readonly createProviderWithoutCredentials?: () => EnrichmentProviderV1 | Promise<EnrichmentProviderV1>;
  /** Checks to leave out. */
  readonly skip?: readonly EnrichmentContractCheck[];
}

/** The statuses checked by default and the error each must become. */
export const DEFAULT_EXPECTED_ERRORS: Readonly<Record<number, ExpectedApiError>> = {
  400: { code: 'invalid_request' },
  401: { code: 'unauthorized' },
  402: { code: 'quota_exceeded' },
  403: { code: 'forbidden' },
  422: { code: 'invalid_request' },
  429: { code: 'rate_limited' },
  500: { code: 'server_error' },
  503: { code: 'server_error' },
};

const DEFAULT_ERROR_BODY = {
  error: { type: 'contract_test', message: 'answer injected by the contract suite' },
};

function suppliedFields(provider: EnrichmentProviderV1): LeadField[] {
  return [...new Set(provider.capabilities.lookups.flatMap((lookup) => lookup.supplies))];
}

/**
 * The enrichment provider contract suite: registers one test per check with
 * your runner's `it`, asserting with its `expect`. Works for any
 * `EnrichmentProviderV1` (ours, or a host app's `defineProvider` over its own
 * API), because the caller supplies the backend controls.
 *
 * Checks: capabilities are consistent; the known lead matches with valid
 * fields in one request; the unknown lead is `not_found`; a full batch is
 * one request with results in order; an oversized batch is refused or split;
 * every error status maps to the right code and retryability, as an
 * `ApiCallError` naming the provider, with no retry inside the provider; a
 * 429's rate-limit headers reach `onRateLimit`; an unparseable body is
 * `invalid_response`; an aborted call rejects `aborted`; no secret appears
 * in any error; a missing key is a `ConfigurationError` sent nowhere; a
 * garbage webhook is refused.
 *
 * @example
 * ```ts
 * import { describe, expect, it } from 'vitest';
 * enrichmentProviderContract(it, expect, {
 *   createProvider: () => myProvider({ baseUrl: server.url }),
 *   knownLead: { email: 'ada@acme.com' }, unknownLead: { email: 'nobody@nowhere.com' },
 *   backend: server.backend, secrets: [apiKey],
 * });
 * ```
 */
export function enrichmentProviderContract(
  it: ContractTestFunction,
  expect: ContractExpect,
  options: EnrichmentProviderContractOptions,
): void {
  const prefix = options.name ?? 'enrichment provider contract';
  const skip = new Set(options.skip ?? []);
  const backend = options.backend;
  const check = (name: EnrichmentContractCheck, title: string, fn: () => Promise<void>) => {
    if (skip.has(name)) return;
    it(`${prefix}: ${title}`, async () => {
      await backend.reset?.();
      await fn();
    });
  };
  const fieldsOf = (provider: EnrichmentProviderV1, input: LeadFieldPatch): LeadField[] =>
    [...(options.fields ?? suppliedFields(provider))].filter((field) => input[field] === undefined);
  const request = (provider: EnrichmentProviderV1, leadId: string, input: LeadFieldPatch): EnrichRequest => ({
    leadId,
    input,
    fields: fieldsOf(provider, input),
  });
  const requests = async () => Number(await backend.requestCount());

  const expectValid = (provider: EnrichmentProviderV1, result: EnrichResult, label: string) => {
    const validated = validateEnrichResult(provider.providerId, result);
    expect(validated.issues, `${label}: every field value must pass the Lead schema`).toEqual([]);
    expect(result.credits, `${label}: credits`).toBeGreaterThanOrEqual(0);
  };

  const expectApiError = (
    provider: EnrichmentProviderV1,
    error: unknown,
    expected: ExpectedApiError,
    label: string,
  ) => expectSharedApiError(expect, error, expected, provider.providerId, label);

  check('capabilities', 'declares a v1 contract with consistent capabilities', async () => {
    const provider = await options.createProvider();
    expect(provider.specificationVersion).toBe('v1');
    expect(typeof provider.providerId === 'string' && provider.providerId.length > 0, 'providerId').toBe(
      true,
    );
    const { lookups, maxBatchSize, rateLimits, cost } = provider.capabilities;
    expect(lookups.length, 'lookups').toBeGreaterThan(0);
    for (const lookup of lookups) {
      expect(lookup.supplies.length, 'every lookup supplies something').toBeGreaterThan(0);
      for (const field of [...lookup.requires, ...lookup.supplies]) {
        expect(isLeadField(field), `"${field}" must be a Lead field`).toBe(true);
      }
    }
    expect(Number.isInteger(maxBatchSize) && maxBatchSize >= 1, 'maxBatchSize is a whole number >= 1').toBe(
      true,
    );
    expect(
      typeof provider.doEnrichBatch === 'function',
      'doEnrichBatch exists exactly when maxBatchSize > 1',
    ).toBe(maxBatchSize > 1);
    expect(
      rateLimits.alignedWindows === undefined || typeof rateLimits.alignedWindows === 'boolean',
      'rateLimits.alignedWindows is a boolean when given',
    ).toBe(true);
    for (const [name, value] of Object.entries(rateLimits)) {
      if (name === 'windows' || name === 'alignedWindows' || value === undefined) continue;
      expect(
        Number.isInteger(value) && (value as number) >= 1,
        `rateLimits.${name} is a whole number >= 1`,
      ).toBe(true);
    }
    for (const window of rateLimits.windows ?? []) {
      expect(window.limit >= 1 && window.intervalMs > 0, `rateLimits.windows.${window.name}`).toBe(true);
    }
    expect(cost.perRequest, 'cost.perRequest').toBeGreaterThanOrEqual(0);
    expect(cost.perMatch, 'cost.perMatch').toBeGreaterThanOrEqual(0);
    const applies = (input: LeadFieldPatch) =>
      lookups.some((lookup) => lookup.requires.every((field) => input[field] !== undefined));
    expect(applies(options.knownLead), 'some lookup applies to knownLead').toBe(true);
    expect(applies(options.unknownLead), 'some lookup applies to unknownLead').toBe(true);
  });

  check('match', 'matches the known lead with valid fields in one request', async () => {
    const provider = await options.createProvider();
    const before = await requests();
    const rateStates: RateLimitState[] = [];
    const result = await provider.doEnrich(request(provider, 'contract-known', options.knownLead), {
      onRateLimit: (state) => rateStates.push(state),
    });
    expect(result.status, 'the known lead must match').toBe('matched');
    expect((await requests()) - before, 'backend requests for one lead').toBe(1);
    expectValid(provider, result, 'match');
    if (result.status !== 'matched') return;
    expect(Object.keys(result.fields).length, 'a match holds at least one field').toBeGreaterThan(0);
    expect(result.confidence >= 0 && result.confidence <= 1, 'confidence is within 0..1').toBe(true);
    for (const [field, value] of Object.entries(options.expectedFields ?? {})) {
      expect(result.fields[field as LeadField], `field ${field}`).toEqual(value);
    }
    if (options.reportsRateLimitsOnSuccess) {
      expect(rateStates.length, 'rate-limit headers of a success reach onRateLimit').toBeGreaterThan(0);
      expect(rateStates[0]!.windows.length, 'windows reported').toBeGreaterThan(0);
    }
  });

  check(
    'notFound',
    'answers not_found for the unknown lead, charging nothing unless misses are billed',
    async () => {
      const provider = await options.createProvider();
      const before = await requests();
      const result = await provider.doEnrich(request(provider, 'contract-unknown', options.unknownLead), {});
      expect(result.status, 'the unknown lead must be not_found').toBe('not_found');
      expect((await requests()) - before, 'backend requests for one lead').toBe(1);
      expectValid(provider, result, 'not_found');
      const { cost } = provider.capabilities;
      if (!cost.chargesMisses) {
        expect(result.credits, 'a miss costs at most perRequest').toBeLessThanOrEqual(cost.perRequest);
      }
    },
  );

  check('batch', 'answers a full batch in one request, one result per lead, in order', async () => {
    const provider = await options.createProvider();
    const size = provider.capabilities.maxBatchSize;
    if (size <= 1) {
      expect(provider.doEnrichBatch, 'with maxBatchSize 1, no doEnrichBatch').toBe(undefined);
      return;
    }
    if (provider.doEnrichBatch === undefined) throw new Error('maxBatchSize > 1 needs doEnrichBatch');
    const known = Math.floor(size / 2);
    const batch = Array.from({ length: size }, (_, index) =>
      index === known
        ? request(provider, `contract-batch-${index}`, options.knownLead)
        : request(provider, `contract-batch-${index}`, options.unknownLead),
    );
    const before = await requests();
    const results = await provider.doEnrichBatch(batch, {});
    expect((await requests()) - before, 'backend requests for a full batch of like leads').toBe(1);
    expect(results.length, 'one result per request').toBe(size);
    results.forEach((result, index) => {
      expect(result.status, `result ${index}`).toBe(index === known ? 'matched' : 'not_found');
      expectValid(provider, result, `result ${index}`);
    });
  });

  check('batchLimit', 'never sends more than maxBatchSize records in one call', async () => {
    const provider = await options.createProvider();
    const size = provider.capabilities.maxBatchSize;
    if (size <= 1) {
      expect(provider.doEnrichBatch, 'with maxBatchSize 1, no doEnrichBatch').toBe(undefined);
      return;
    }
    if (provider.doEnrichBatch === undefined) throw new Error('maxBatchSize > 1 needs doEnrichBatch');
    const batch = Array.from({ length: size + 1 }, (_, index) =>
      request(provider, `contract-over-${index}`, options.unknownLead),
    );
    const before = await requests();
    const outcome = await settle(provider.doEnrichBatch(batch, {}));
    const sent = (await requests()) - before;
    if (outcome.ok) {
      expect(outcome.value.length, 'one result per request').toBe(size + 1);
      expect(sent, 'an oversized batch must be split').toBeGreaterThanOrEqual(2);
    } else {
      expect(
        LeadpipeError.isInstance(outcome.error),
        `a typed error, got ${describeError(outcome.error)}`,
      ).toBe(true);
      expect(sent, 'a refused batch sends nothing').toBe(0);
    }
  });

  const expectedErrors: Record<number, ExpectedApiError> = {};
  for (const [status, expected] of Object.entries({
    ...DEFAULT_EXPECTED_ERRORS,
    ...options.expectedErrors,
  })) {
    if (expected !== null && expected !== undefined) expectedErrors[Number(status)] = expected;
  }
  for (const [statusText, expected] of Object.entries(expectedErrors)) {
    const status = Number(statusText);
    check('errors', `maps HTTP ${status} to ${expected.code}, once, without retrying`, async () => {
      const provider = await options.createProvider();
      const response = options.errorResponses?.[status] ?? { body: DEFAULT_ERROR_BODY };
      await backend.respondWith(status, response, 2);
      const before = await requests();
      const outcome = await settle(
        provider.doEnrich(request(provider, `contract-${status}`, options.knownLead), {}),
      );
      expect(outcome.ok, `HTTP ${status} must reject`).toBe(false);
      if (outcome.ok) return;
      expectApiError(provider, outcome.error, expected, `HTTP ${status}`);
      expect((outcome.error as ApiCallError).status, 'status on the error').toBe(status);
      expect((await requests()) - before, 'retries belong to the engine: one request').toBe(1);
    });
  }

  check('rateLimitHeaders', "passes a 429's rate-limit headers to onRateLimit", async () => {
    const provider = await options.createProvider();
    const response = options.rateLimitResponse ?? {
      headers: { 'retry-after': '7' },
      body: options.errorResponses?.[429]?.body ?? DEFAULT_ERROR_BODY,
    };
    await backend.respondWith(429, response);
    const states: RateLimitState[] = [];
    const outcome = await settle(
      provider.doEnrich(request(provider, 'contract-429', options.knownLead), {
        onRateLimit: (state) => states.push(state),
      }),
    );
    expect(outcome.ok, 'a 429 must reject').toBe(false);
    if (outcome.ok) return;
    expectApiError(provider, outcome.error, { code: 'rate_limited' }, 'HTTP 429');
    expect(states.length, 'onRateLimit must be called with what the headers said').toBeGreaterThan(0);
    const state = states[states.length - 1]!;
    expect(state.windows.length > 0 || state.retryAfterMs !== undefined, 'the state describes a limit').toBe(
      true,
    );
    if (options.rateLimitResponse === undefined) {
      expect(state.retryAfterMs, 'retry-after: 7 read as 7000 ms').toBe(7000);
      expect((outcome.error as ApiCallError).retryAfterMs, 'retryAfterMs on the error').toBe(7000);
    }
  });

  check('malformedResponse', 'reports an unparseable body as invalid_response', async () => {
    const provider = await options.createProvider();
    await backend.respondWith(200, {
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: '{"person": {"first_na',
    });
    const outcome = await settle(
      provider.doEnrich(request(provider, 'contract-malformed', options.knownLead), {}),
    );
    expect(outcome.ok, 'a cut-off body must reject').toBe(false);
    if (!outcome.ok) expectApiError(provider, outcome.error, { code: 'invalid_response' }, 'malformed body');
  });

  check('abort', 'rejects an aborted call with code aborted, sending nothing', async () => {
    const provider = await options.createProvider();
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    const before = await requests();
    const outcome = await settle(
      provider.doEnrich(request(provider, 'contract-abort', options.knownLead), {
        signal: controller.signal,
      }),
    );
    expect(outcome.ok, 'an aborted call must reject').toBe(false);
    if (!outcome.ok)
      expectApiError(provider, outcome.error, { code: 'aborted', isRetryable: false }, 'abort');
    expect((await requests()) - before, 'no request after abort').toBe(0);
  });

  check('secrets', 'never puts a secret in an error, even when the vendor echoes it', async () => {
    const secrets = (options.secrets ?? []).filter((secret) => secret.length > 0);
    expect(secrets.length, 'pass the credentials in `secrets`').toBeGreaterThan(0);
    const provider = await options.createProvider();
    const echo = secrets.join(' ');
    const answers: [number, ContractResponse][] = [
      [401, { headers: { 'content-type': 'text/plain' }, body: `Invalid API key ${echo}` }],
      [400, { body: { error: `bad request for key ${echo}`, api_key: echo } }],
      [500, { headers: { 'x-echo-key': echo }, body: { message: `failure ${echo}` } }],
    ];
    for (const [status, response] of answers) {
      await backend.respondWith(status, response);
      const outcome = await settle(
        provider.doEnrich(request(provider, `contract-secret-${status}`, options.knownLead), {}),
      );
      expect(outcome.ok, `HTTP ${status} must reject`).toBe(false);
      if (outcome.ok) continue;
      for (const text of errorTexts(outcome.error)) {
        for (const secret of secrets) {
          expect(text.includes(secret), `a secret leaked into the HTTP ${status} error`).toBe(false);
        }
      }
    }
  });

  if (options.createProviderWithoutCredentials !== undefined) {
    const withoutCredentials = options.createProviderWithoutCredentials;
    check(
      'missingCredentials',
      'rejects a call without credentials as missing_credentials, sending nothing',
      async () => {
        const provider = await withoutCredentials();
        const before = await requests();
        const outcome = await settle(
          provider.doEnrich(request(provider, 'contract-no-key', options.knownLead), {}),
        );
        expect(outcome.ok, 'a call without a key must reject').toBe(false);
        if (!outcome.ok) {
          expect(
            ConfigurationError.isInstance(outcome.error),
            `a ConfigurationError, got ${describeError(outcome.error)}`,
          ).toBe(true);
          expect((outcome.error as ConfigurationError).code).toBe('missing_credentials');
        }
        expect((await requests()) - before, 'nothing is sent without a key').toBe(0);
      },
    );
  }

  check(
    'webhook',
    'refuses a forged or garbage webhook; without a handler, never answers pending',
    async () => {
      const provider = await options.createProvider();
      if (provider.doHandleWebhook === undefined) {
        const result = await provider.doEnrich(
          request(provider, 'contract-no-webhook', options.knownLead),
          {},
        );
        expect(result.status, 'nothing could resolve a pending answer').not.toBe('pending');
        return;
      }
      const outcome = await settle(
        provider.doHandleWebhook({
          method: 'POST',
          url: '/webhooks/contract',
          headers: { 'content-type': 'application/json' },
          rawBody: '{"not":"a vendor payload"',
        }),
      );
      expect(outcome.ok, 'a garbage webhook must reject').toBe(false);
      if (!outcome.ok) {
        expect(
          WebhookVerificationError.isInstance(outcome.error),
          `a WebhookVerificationError, got ${describeError(outcome.error)}`,
        ).toBe(true);
      }
    },
  );
}

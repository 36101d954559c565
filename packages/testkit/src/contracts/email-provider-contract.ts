import {
  ApiCallError,
  ConfigurationError,
  type EmailAddress,
  type EmailEvent,
  type EmailEventType,
  type EmailMessage,
  type EmailProviderV1,
  type EmailSendErrorCode,
  type EmailSendResult,
  type InboundWebhookRequest,
  LeadpipeError,
  type RateLimitState,
  WebhookVerificationError,
} from '@leadpipe/core/adapter-kit';
import type {
  ContractBackend,
  ContractExpect,
  ContractResponse,
  ContractTestFunction,
} from './enrichment-provider.js';
import { describeError, errorTexts, settle } from './support.js';

/** A message as it landed at the vendor, read straight from the backend (not through the provider). */
export interface EmailStoredMessage {
  /** The ledger key the vendor holds with the message (SendGrid `custom_args`, Mailgun `v:`). */
  readonly ledgerKey: string;
  /** The vendor's message id the send was answered with. */
  readonly messageId: string;
  /** Sender address. */
  readonly from: string;
  /** Recipient address. */
  readonly to: string;
  /** Subject line. */
  readonly subject: string;
  /** HTML body, when sent. */
  readonly html?: string;
  /** Text body, when sent. */
  readonly text?: string;
  /** Custom headers as stored (names as sent). */
  readonly headers: Readonly<Record<string, string>>;
  /** Tags (SendGrid categories, Mailgun `o:tag`). */
  readonly tags: readonly string[];
  /** Values carried beside the ledger key (custom args, variables), the ledger key excluded or not. */
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * Direct reads of the vendor's state behind the provider (the emulator's
 * stored messages), so the suite checks what landed, not what the provider said.
 */
export interface EmailContractDatabase {
  /** The message sent with `ledgerKey`, or `undefined` when none landed. */
  message(ledgerKey: string): EmailStoredMessage | undefined | Promise<EmailStoredMessage | undefined>;
  /** How many messages the vendor holds. */
  count(): number | Promise<number>;
}

/** One event the backend should report about a message the suite sent. */
export interface EmailContractEvent {
  /** What happened. */
  readonly type: EmailEventType;
  /** The message's ledger key. */
  readonly ledgerKey: string;
  /** The vendor's message id the send was answered with. */
  readonly messageId: string;
  /** The recipient address. */
  readonly email: string;
  /** For a bounce: hard or soft. */
  readonly bounce?: 'hard' | 'soft';
}

/** How {@link EmailContractWebhooks.signedRequest} signs. */
export interface EmailContractSigning {
  /** Epoch ms the request claims it was signed at. Default now. */
  readonly signedAt?: number;
  /** Sign with a key the provider does not trust (a forger's). */
  readonly forged?: boolean;
  /** Leave the signature out altogether (headers or fields). */
  readonly unsigned?: boolean;
}

/** The vendor's event webhook, as the suite drives it. */
export interface EmailContractWebhooks {
  /**
   * A webhook request exactly as the vendor would POST it, reporting
   * `events` (one request, signed unless `signing.forged`).
   */
  signedRequest(
    events: readonly EmailContractEvent[],
    signing?: EmailContractSigning,
  ): InboundWebhookRequest | Promise<InboundWebhookRequest>;
  /** The event types the vendor reports. Default: every type but `replied`. */
  readonly types?: readonly EmailEventType[];
  /** A signature age the provider must refuse. Default one day. */
  readonly expiredAgeMs?: number;
  /** The vendor posts one event per request (Mailgun): the suite asks for one request per event. */
  readonly oneEventPerRequest?: boolean;
  /**
   * The signature covers the body (SendGrid), so a tampered body must be
   * refused. Default `true`; Mailgun signs only its timestamp and token.
   */
  readonly signsBody?: boolean;
  /**
   * The provider refuses a request it has already verified (Mailgun's token
   * replay check). Default `false`: a redelivered request parses to the same
   * event ids.
   */
  readonly refusesReplays?: boolean;
}

/** What a provider must do for one HTTP status of a send. */
export interface ExpectedEmailError {
  /**
   * `failed`: the send resolves with a failed result (a vendor refusal).
   * `rejected`: the call rejects with an `ApiCallError` (429, 5xx: the
   * engine's limiter and retries own those).
   */
  readonly outcome: 'failed' | 'rejected';
  /** The failure's or the error's code. */
  readonly code: EmailSendErrorCode;
  /** Whether it is retryable. Default: `false` for `failed`, `true` for `rejected`. */
  readonly retryable?: boolean;
}

/** Names of the checks, to skip some with `skip`. */
export type EmailContractCheck =
  | 'capabilities'
  | 'send'
  | 'batch'
  | 'batchLimit'
  | 'refused'
  | 'errors'
  | 'rateLimitHeaders'
  | 'abort'
  | 'secrets'
  | 'missingCredentials'
  | 'events'
  | 'webhookVerification';

/** Options of {@link emailProviderContract}. */
export interface EmailProviderContractOptions {
  /** Prefix of every test name. Default `email provider contract`. */
  readonly name?: string;
  /** A fresh provider pointed at the backend. Called once per check. */
  readonly createProvider: () => EmailProviderV1 | Promise<EmailProviderV1>;
  /** A sender the backend accepts. */
  readonly from: EmailAddress;
  /** A recipient address no other call uses, from a label unique within the suite. */
  readonly recipient: (label: string) => string;
  /** A message the vendor refuses for its content (not for the call), such as an invalid recipient. */
  readonly invalidMessage: (ledgerKey: string) => EmailMessage;
  /** Direct reads of the vendor's state. */
  readonly db: EmailContractDatabase;
  /** Canned answers and a request count in front of the vendor. */
  readonly backend: ContractBackend;
  /** Credentials (API keys, webhook signing keys) that must never appear in an error. */
  readonly secrets?: readonly string[];
  /** The vendor's own error bodies and headers per status. Default: a generic JSON body. */
  readonly errorResponses?: Readonly<Record<number, ContractResponse>>;
  /**
   * Expected outcomes per status, over the defaults ({@link DEFAULT_EMAIL_EXPECTED_ERRORS}).
   * `null` leaves a status out.
   */
  readonly expectedErrors?: Readonly<Record<number, ExpectedEmailError | null>>;
  /** A 429 as the vendor sends it, with its rate-limit headers. Default: `retry-after: 7`. */
  readonly rateLimitResponse?: ContractResponse;
  /** The vendor sends rate-limit headers on accepted sends too: check they reach `onRateLimit`. */
  readonly reportsRateLimitsOnSuccess?: boolean;
  /** The vendor's event webhook, for the `events` and `webhookVerification` checks. */
  readonly webhooks?: EmailContractWebhooks;
  /** A provider with no credential at all (no option, no environment variable), for the missing-key check. */
  readonly createProviderWithoutCredentials?: () => EmailProviderV1 | Promise<EmailProviderV1>;
  /** Checks to leave out. */
  readonly skip?: readonly EmailContractCheck[];
}

/**
 * The outcome of a send per HTTP status checked by default: a refusal (400,
 * 401, 403, 413) is a permanent `failed` result; 429 and 5xx reject with a
 * retryable `ApiCallError`.
 */
export const DEFAULT_EMAIL_EXPECTED_ERRORS: Readonly<Record<number, ExpectedEmailError>> = {
  400: { outcome: 'failed', code: 'invalid_message' },
  401: { outcome: 'failed', code: 'unauthorized' },
  403: { outcome: 'failed', code: 'forbidden' },
  413: { outcome: 'failed', code: 'invalid_message' },
  429: { outcome: 'rejected', code: 'rate_limited' },
  500: { outcome: 'rejected', code: 'server_error' },
  503: { outcome: 'rejected', code: 'server_error' },
};

const DEFAULT_EVENT_TYPES: readonly EmailEventType[] = [
  'processed',
  'delivered',
  'deferred',
  'bounced',
  'dropped',
  'opened',
  'clicked',
  'complained',
  'unsubscribed',
];

const DEFAULT_ERROR_BODY = { message: 'answer injected by the email contract suite' };
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * The email provider contract suite: registers one test per check with your
 * runner's `it`, asserting with its `expect`. Works for any `EmailProviderV1`
 * because the caller supplies direct reads of the vendor's state (`db`),
 * canned answers in front of it (`backend`) and signed webhook requests
 * (`webhooks`).
 *
 * Checks: capabilities are consistent; a send is accepted with the vendor's
 * message id and lands with its sender, recipient, subject, bodies, headers
 * (RFC 8058 `List-Unsubscribe`), tags, metadata and ledger key; a batch of
 * messages sharing sender, subject, bodies and tags (their own recipient,
 * ledger key, metadata and headers) is one request with one result per
 * message in order, each landing with its own ledger key, and a batch of
 * messages with their own bodies still lands each as itself; a full batch is one request and an oversized one is
 * refused or split; a refused message is a permanent failed result and does
 * not land; each status maps to its outcome, code and retryability with one
 * request; a 429's headers reach `onRateLimit`; an aborted call sends
 * nothing; no secret appears in an error; a missing credential is a
 * `ConfigurationError`; signed events parse with their ledger key, message
 * id and stable event ids; forged, tampered, unsigned and expired webhooks
 * are refused with `WebhookVerificationError`.
 *
 * @example
 * ```ts
 * emailProviderContract(it, expect, {
 *   createProvider: () => createSendgrid({ apiKey, baseUrl, fetch: canned.fetch }),
 *   from: { email: 'news@contract.example' },
 *   recipient: (label) => `${label}@inbox.example`,
 *   invalidMessage: (ledgerKey) => ({ ...message, ledgerKey, to: { email: 'not-an-address' } }),
 *   db, backend: canned.backend, secrets: [apiKey], webhooks,
 * });
 * ```
 */
export function emailProviderContract(
  it: ContractTestFunction,
  expect: ContractExpect,
  options: EmailProviderContractOptions,
): void {
  const prefix = options.name ?? 'email provider contract';
  const skip = new Set(options.skip ?? []);
  const { backend, db } = options;
  const check = (name: EmailContractCheck, title: string, fn: () => Promise<void>) => {
    if (skip.has(name)) return;
    it(`${prefix}: ${title}`, async () => {
      await backend.reset?.();
      await fn();
    });
  };
  const requests = async () => Number(await backend.requestCount());
  const message = (label: string, index = 0): EmailMessage => ({
    ledgerKey: `contract-${label}-${index}`,
    from: options.from,
    to: { email: options.recipient(`${label}-${index}`), name: `Reader ${index}` },
    subject: `Contract ${label} ${index}`,
    html: `<p>Hello ${index} from the contract suite</p>`,
    text: `Hello ${index} from the contract suite`,
    headers: {
      'List-Unsubscribe': `<https://unsubscribe.contract.example/u/${label}-${index}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    },
    tags: ['contract', `step-${index % 3}`],
    metadata: { campaign: 'contract', step: String(index % 3) },
  });
  const messages = (label: string, count: number) =>
    Array.from({ length: count }, (_, index) => message(label, index));
  /**
   * Messages of one batch as a campaign step sends them through a vendor's
   * batch API: the same sender, subject, bodies and tags; their own
   * recipient, ledger key, metadata and headers (`List-Unsubscribe`).
   */
  const batchMessages = (label: string, count: number): EmailMessage[] =>
    Array.from({ length: count }, (_, index) => {
      const own = message(label, index);
      return {
        ...own,
        subject: `Contract ${label}`,
        html: `<p>Hello from the contract suite (${label})</p>`,
        text: `Hello from the contract suite (${label})`,
        tags: ['contract', label],
      };
    });
  const send = (provider: EmailProviderV1, item: EmailMessage, extra: { signal?: AbortSignal } = {}) =>
    Promise.resolve(provider.doSend(item, extra));
  const accepted = (result: EmailSendResult | undefined, label: string): string | undefined => {
    expect(result?.status, `${label}: accepted, got ${JSON.stringify(result)}`).toBe('accepted');
    if (result?.status !== 'accepted') return undefined;
    expect(
      typeof result.messageId === 'string' && result.messageId.length > 0,
      `${label}: the vendor's message id`,
    ).toBe(true);
    return result.messageId;
  };
  const expectLanded = async (item: EmailMessage, messageId: string | undefined, label: string) => {
    const stored = await db.message(item.ledgerKey);
    expect(stored !== undefined, `${label}: ${item.ledgerKey} must have landed`).toBe(true);
    if (stored === undefined) return;
    if (messageId !== undefined) expect(stored.messageId, `${label}: stored message id`).toBe(messageId);
    expect(stored.ledgerKey, `${label}: ledger key carried`).toBe(item.ledgerKey);
    expect(stored.from.toLowerCase(), `${label}: from`).toBe(item.from.email.toLowerCase());
    expect(stored.to.toLowerCase(), `${label}: to`).toBe(item.to.email.toLowerCase());
    expect(stored.subject, `${label}: subject`).toBe(item.subject);
    if (item.html !== undefined) expect(stored.html, `${label}: html`).toBe(item.html);
    if (item.text !== undefined) expect(stored.text, `${label}: text`).toBe(item.text);
    const headers = new Map(
      Object.entries(stored.headers).map(([name, value]) => [name.toLowerCase(), value]),
    );
    for (const [name, value] of Object.entries(item.headers ?? {})) {
      expect(headers.get(name.toLowerCase()), `${label}: header ${name}`).toBe(value);
    }
    expect([...stored.tags].sort(), `${label}: tags`).toEqual([...(item.tags ?? [])].sort());
    for (const [name, value] of Object.entries(item.metadata ?? {})) {
      expect(stored.metadata[name], `${label}: metadata ${name}`).toBe(value);
    }
  };
  const expectedErrors: Record<number, ExpectedEmailError> = {};
  for (const [status, expected] of Object.entries({
    ...DEFAULT_EMAIL_EXPECTED_ERRORS,
    ...options.expectedErrors,
  })) {
    if (expected !== null && expected !== undefined) expectedErrors[Number(status)] = expected;
  }

  check('capabilities', 'declares a v1 contract with consistent capabilities', async () => {
    const provider = await options.createProvider();
    expect(provider.specificationVersion).toBe('v1');
    expect(typeof provider.providerId === 'string' && provider.providerId.length > 0, 'providerId').toBe(
      true,
    );
    const { maxBatchSize, rateLimits, eventWebhook } = provider.capabilities;
    expect(Number.isInteger(maxBatchSize) && maxBatchSize >= 1, 'maxBatchSize is a whole number >= 1').toBe(
      true,
    );
    expect(
      typeof provider.doSendBatch === 'function',
      'doSendBatch exists exactly when maxBatchSize is above 1',
    ).toBe(maxBatchSize > 1);
    expect(
      typeof provider.doParseEvents === 'function',
      'doParseEvents exists exactly when eventWebhook',
    ).toBe(eventWebhook);
    for (const [name, value] of Object.entries(rateLimits)) {
      if (name === 'windows' || name === 'alignedWindows' || value === undefined) continue;
      expect(
        Number.isInteger(value) && (value as number) >= 1,
        `rateLimits.${name} is a whole number >= 1`,
      ).toBe(true);
    }
    if (provider.limiterKey !== undefined) {
      const key = provider.limiterKey();
      expect(typeof key === 'string' && key.length > 0, 'limiterKey() is a non-empty string').toBe(true);
      for (const secret of options.secrets ?? []) {
        expect(key.includes(secret), 'limiterKey() must not contain a secret').toBe(false);
      }
    }
  });

  check('send', 'a send is accepted with the message id and lands with everything it carries', async () => {
    const provider = await options.createProvider();
    const item = message('send');
    const countBefore = await db.count();
    const before = await requests();
    const result = await send(provider, item);
    expect(result.ledgerKey, 'the result names the ledger key').toBe(item.ledgerKey);
    const messageId = accepted(result, 'send');
    expect((await requests()) - before, 'one request per send').toBe(1);
    await expectLanded(item, messageId, 'send');
    expect((await db.count()) - countBefore, 'one message added').toBe(1);
  });

  check(
    'batch',
    'a batch is one request, one result per message in order, each with its ledger key',
    async () => {
      const provider = await options.createProvider();
      if (provider.doSendBatch === undefined) return;
      const batch = batchMessages('batch', 3);
      const before = await requests();
      const results = await Promise.resolve(provider.doSendBatch(batch, {}));
      expect((await requests()) - before, 'one request for the batch').toBe(1);
      expect(results.length, 'one result per message').toBe(batch.length);
      for (const [index, item] of batch.entries()) {
        const result = results[index];
        expect(result?.ledgerKey, `result ${index} is message ${index}`).toBe(item.ledgerKey);
        await expectLanded(item, accepted(result, `batch ${index}`), `batch ${index}`);
      }
      // Messages with their own bodies may take several requests, but each still lands as itself.
      const mixed = messages('batch-mixed', 3);
      const mixedResults = await Promise.resolve(provider.doSendBatch(mixed, {}));
      expect(
        mixedResults.map((result) => result.ledgerKey),
        'mixed batch: one result per message, in order',
      ).toEqual(mixed.map((item) => item.ledgerKey));
      for (const [index, item] of mixed.entries()) {
        await expectLanded(item, accepted(mixedResults[index], `mixed ${index}`), `mixed ${index}`);
      }
    },
  );

  check('batchLimit', 'a full batch is one request; an oversized batch is refused or split', async () => {
    const provider = await options.createProvider();
    if (provider.doSendBatch === undefined) return;
    const size = provider.capabilities.maxBatchSize;
    const full = batchMessages('batch-full', size);
    const countBefore = await db.count();
    const before = await requests();
    const results = await Promise.resolve(provider.doSendBatch(full, {}));
    expect((await requests()) - before, 'one request for a full batch').toBe(1);
    expect(
      results.filter((result) => result.status === 'accepted').length,
      'every message of the full batch is accepted',
    ).toBe(size);
    expect((await db.count()) - countBefore, 'messages added by the full batch').toBe(size);
    const over = batchMessages('batch-over', size + 1);
    const overBefore = await requests();
    const outcome = await settle(Promise.resolve(provider.doSendBatch(over, {})));
    const sent = (await requests()) - overBefore;
    if (outcome.ok) {
      expect(outcome.value.length, 'one result per message of the oversized batch').toBe(size + 1);
      expect(sent, 'an oversized batch must be split').toBeGreaterThanOrEqual(2);
      for (const item of over)
        expect(await db.message(item.ledgerKey), `${item.ledgerKey} landed`).toBeDefined();
    } else {
      expect(
        LeadpipeError.isInstance(outcome.error),
        `a typed error, got ${describeError(outcome.error)}`,
      ).toBe(true);
      expect(sent, 'a refused batch sends nothing').toBe(0);
    }
  });

  check('refused', 'a refused message is a permanent failed result and does not land', async () => {
    const provider = await options.createProvider();
    const item = options.invalidMessage('contract-refused-0');
    const result = await send(provider, item);
    expect(result.ledgerKey, 'the result names the ledger key').toBe(item.ledgerKey);
    expect(result.status, `failed, got ${JSON.stringify(result)}`).toBe('failed');
    if (result.status === 'failed') {
      expect(result.retryable, 'a refusal is not retryable').toBe(false);
      expect(['invalid_message', 'invalid_request'], `code, got ${result.code}`).toContain(result.code);
      expect(result.message.length, 'the failure says why').toBeGreaterThan(0);
      expect(JSON.parse(JSON.stringify(result)), 'the result is JSON-safe').toEqual(result);
    }
    expect(await db.message(item.ledgerKey), 'the refused message did not land').toBe(undefined);
  });

  for (const [statusText, expected] of Object.entries(expectedErrors)) {
    const status = Number(statusText);
    const retryable = expected.retryable ?? expected.outcome === 'rejected';
    check(
      'errors',
      `HTTP ${status} on a send: ${expected.outcome} ${expected.code}, one request, nothing lands`,
      async () => {
        const provider = await options.createProvider();
        const item = message(`errors-${status}`);
        await backend.respondWith(
          status,
          options.errorResponses?.[status] ?? { body: DEFAULT_ERROR_BODY },
          3,
        );
        const before = await requests();
        const outcome = await settle(send(provider, item));
        expect((await requests()) - before, 'retries belong to the engine: one request').toBe(1);
        if (expected.outcome === 'failed') {
          expect(
            outcome.ok,
            `HTTP ${status} resolves with a failed result, got ${outcome.ok ? '' : describeError(outcome.error)}`,
          ).toBe(true);
          if (!outcome.ok) return;
          const result = outcome.value;
          expect(result.status, `HTTP ${status}: status`).toBe('failed');
          if (result.status !== 'failed') return;
          expect(result.ledgerKey, 'the failure names the ledger key').toBe(item.ledgerKey);
          expect(result.code, `HTTP ${status}: code`).toBe(expected.code);
          expect(result.retryable, `HTTP ${status}: retryable`).toBe(retryable);
          expect(result.message.length, 'the failure says why').toBeGreaterThan(0);
        } else {
          expect(outcome.ok, `HTTP ${status} rejects`).toBe(false);
          if (outcome.ok) return;
          expect(
            ApiCallError.isInstance(outcome.error),
            `an ApiCallError, got ${describeError(outcome.error)}`,
          ).toBe(true);
          const error = outcome.error as ApiCallError;
          expect(error.code, `HTTP ${status}: code`).toBe(expected.code);
          expect(error.isRetryable, `HTTP ${status}: isRetryable`).toBe(retryable);
          expect(error.providerId, 'providerId on the error').toBe(provider.providerId);
          expect(error.status, 'status on the error').toBe(status);
        }
        await backend.reset?.();
        expect(await db.message(item.ledgerKey), `HTTP ${status}: nothing landed`).toBe(undefined);
      },
    );
  }

  check('errors', 'a batch refused as a whole fails every message, in order', async () => {
    const provider = await options.createProvider();
    if (provider.doSendBatch === undefined) return;
    const batch = batchMessages('errors-batch', 2);
    await backend.respondWith(400, options.errorResponses?.[400] ?? { body: DEFAULT_ERROR_BODY });
    const results = await Promise.resolve(provider.doSendBatch(batch, {}));
    expect(
      results.map((result) => result.ledgerKey),
      'one result per message, in order',
    ).toEqual(batch.map((item) => item.ledgerKey));
    for (const result of results) expect(result.status, `${result.ledgerKey} failed`).toBe('failed');
  });

  check('rateLimitHeaders', "a 429's rate-limit headers reach onRateLimit and the error", async () => {
    const provider = await options.createProvider();
    const response = options.rateLimitResponse ?? {
      headers: { 'retry-after': '7' },
      body: options.errorResponses?.[429]?.body ?? DEFAULT_ERROR_BODY,
    };
    await backend.respondWith(429, response);
    const states: RateLimitState[] = [];
    const outcome = await settle(
      Promise.resolve(provider.doSend(message('rate-limit'), { onRateLimit: (state) => states.push(state) })),
    );
    expect(outcome.ok, 'a 429 must reject').toBe(false);
    if (!outcome.ok) {
      expect(
        ApiCallError.isInstance(outcome.error) && outcome.error.code === 'rate_limited',
        'rate_limited',
      ).toBe(true);
      expect((outcome.error as ApiCallError).retryAfterMs !== undefined, 'retryAfterMs on the error').toBe(
        true,
      );
    }
    expect(states.length, 'onRateLimit is called with what the headers said').toBeGreaterThan(0);
    const state = states[states.length - 1];
    expect(
      state !== undefined && (state.windows.length > 0 || state.retryAfterMs !== undefined),
      'the state describes a limit',
    ).toBe(true);
    if (options.rateLimitResponse === undefined)
      expect(state?.retryAfterMs, 'retry-after: 7 as ms').toBe(7000);
    if (options.reportsRateLimitsOnSuccess) {
      const seen: RateLimitState[] = [];
      await backend.reset?.();
      const result = await Promise.resolve(
        provider.doSend(message('rate-limit-ok'), { onRateLimit: (value) => seen.push(value) }),
      );
      accepted(result, 'rate-limit-ok');
      expect(
        seen.some((value) => value.windows.some((window) => window.remaining !== undefined)),
        'an accepted send reports the remaining quota',
      ).toBe(true);
    }
  });

  check('abort', 'an aborted call rejects with aborted and sends nothing', async () => {
    const provider = await options.createProvider();
    const controller = new AbortController();
    controller.abort(new Error('contract abort'));
    const before = await requests();
    const outcome = await settle(send(provider, message('abort'), { signal: controller.signal }));
    expect(outcome.ok, 'an aborted call must reject').toBe(false);
    if (!outcome.ok) {
      expect(
        LeadpipeError.isInstance(outcome.error) && outcome.error.code === 'aborted',
        `code aborted, got ${describeError(outcome.error)}`,
      ).toBe(true);
    }
    expect((await requests()) - before, 'nothing is sent').toBe(0);
  });

  check('secrets', 'no secret appears in any error or failed result', async () => {
    const secrets = (options.secrets ?? []).filter((secret) => secret.length >= 6);
    if (secrets.length === 0) return;
    const provider = await options.createProvider();
    const texts: string[] = [];
    for (const status of [400, 401, 403, 500]) {
      await backend.respondWith(status, options.errorResponses?.[status] ?? { body: DEFAULT_ERROR_BODY }, 3);
      const outcome = await settle(send(provider, message(`secrets-${status}`)));
      await backend.reset?.();
      texts.push(...(outcome.ok ? [JSON.stringify(outcome.value)] : errorTexts(outcome.error)));
    }
    texts.push(JSON.stringify(await send(provider, options.invalidMessage('contract-secrets-bad'))));
    if (provider.doParseEvents !== undefined) {
      const outcome = await settle(
        Promise.resolve(
          provider.doParseEvents({ method: 'POST', url: '/contract', headers: {}, rawBody: '[]' }),
        ),
      );
      if (!outcome.ok) texts.push(...errorTexts(outcome.error));
    }
    for (const secret of secrets) {
      for (const text of texts) expect(text.includes(secret), 'a secret leaked into an error').toBe(false);
    }
  });

  check(
    'missingCredentials',
    'a missing credential is a ConfigurationError and nothing is sent',
    async () => {
      const create = options.createProviderWithoutCredentials;
      if (create === undefined) return;
      const before = await requests();
      const outcome = await settle(
        Promise.resolve().then(async () => send(await create(), message('no-key'))),
      );
      expect(outcome.ok, 'a send without credentials must reject').toBe(false);
      if (!outcome.ok) {
        expect(
          ConfigurationError.isInstance(outcome.error) && outcome.error.code === 'missing_credentials',
          `ConfigurationError(missing_credentials), got ${describeError(outcome.error)}`,
        ).toBe(true);
      }
      expect((await requests()) - before, 'nothing is sent').toBe(0);
    },
  );

  const webhooks = options.webhooks;
  const sentFixture = async (provider: EmailProviderV1, label: string) => {
    const item = message(label);
    const messageId = accepted(await send(provider, item), label) ?? '';
    return { item, messageId };
  };

  check('events', 'signed events parse with their type, ledger key, message id and stable ids', async () => {
    if (webhooks === undefined) return;
    const provider = await options.createProvider();
    if (provider.doParseEvents === undefined) return;
    const { item, messageId } = await sentFixture(provider, 'events');
    const types = webhooks.types ?? DEFAULT_EVENT_TYPES;
    const specs: EmailContractEvent[] = types.map((type) => ({
      type,
      ledgerKey: item.ledgerKey,
      messageId,
      email: item.to.email.toUpperCase(),
      ...(type === 'bounced' ? { bounce: 'hard' as const } : {}),
    }));
    const deliveries = webhooks.oneEventPerRequest
      ? await Promise.all(specs.map((spec) => webhooks.signedRequest([spec])))
      : [await webhooks.signedRequest(specs)];
    const parse = provider.doParseEvents.bind(provider);
    const events: EmailEvent[] = [];
    for (const request of deliveries) events.push(...(await Promise.resolve(parse(request))));
    expect(
      events.map((event) => event.type),
      'one event per reported event, in order',
    ).toEqual([...types]);
    for (const event of events) {
      expect(event.ledgerKey, `${event.type}: ledger key`).toBe(item.ledgerKey);
      expect(event.messageId, `${event.type}: message id`).toBe(messageId);
      expect(event.email, `${event.type}: lower-case recipient`).toBe(item.to.email.toLowerCase());
      expect(typeof event.eventId === 'string' && event.eventId.length > 0, `${event.type}: eventId`).toBe(
        true,
      );
      expect(ISO_INSTANT.test(event.occurredAt), `${event.type}: occurredAt is ISO 8601`).toBe(true);
      if (event.type === 'bounced') expect(event.bounce, 'a hard bounce says hard').toBe('hard');
    }
    expect(new Set(events.map((event) => event.eventId)).size, 'event ids are unique').toBe(events.length);
    const first = deliveries[0];
    if (first === undefined) return;
    const again = await settle(Promise.resolve(parse(first)));
    if (webhooks.refusesReplays) {
      expect(
        !again.ok && WebhookVerificationError.isInstance(again.error),
        'a replayed request is refused with a WebhookVerificationError',
      ).toBe(true);
    } else {
      expect(again.ok, 'a redelivered request parses again').toBe(true);
      const firstCount = webhooks.oneEventPerRequest ? 1 : events.length;
      if (again.ok) {
        expect(
          again.value.map((event) => event.eventId),
          'a redelivered request parses to the same event ids (consumers deduplicate by them)',
        ).toEqual(events.slice(0, firstCount).map((event) => event.eventId));
      }
    }
  });

  check('webhookVerification', 'forged, tampered, unsigned and expired webhooks are refused', async () => {
    if (webhooks === undefined) return;
    const provider = await options.createProvider();
    const parse = provider.doParseEvents?.bind(provider);
    if (parse === undefined) return;
    const { item, messageId } = await sentFixture(provider, 'verification');
    const specs: EmailContractEvent[] = [
      { type: 'delivered', ledgerKey: item.ledgerKey, messageId, email: item.to.email },
    ];
    const refused = async (request: InboundWebhookRequest, label: string) => {
      const outcome = await settle(Promise.resolve(parse(request)));
      expect(outcome.ok, `${label} must be refused`).toBe(false);
      if (!outcome.ok) {
        expect(
          WebhookVerificationError.isInstance(outcome.error),
          `${label}: a WebhookVerificationError, got ${describeError(outcome.error)}`,
        ).toBe(true);
      }
    };
    const genuine = await webhooks.signedRequest(specs);
    expect((await Promise.resolve(parse(genuine))).length, 'the genuine request parses').toBe(1);
    await refused(await webhooks.signedRequest(specs, { forged: true }), 'a request signed with another key');
    if (webhooks.signsBody ?? true) {
      const body =
        typeof genuine.rawBody === 'string' ? genuine.rawBody : new TextDecoder().decode(genuine.rawBody);
      const tampered = body.replace('delivered', 'delivereD');
      expect(tampered, 'the tampered body differs').not.toBe(body);
      await refused({ ...genuine, rawBody: tampered }, 'a tampered body');
    }
    await refused(await webhooks.signedRequest(specs, { unsigned: true }), 'an unsigned request');
    const expiredAge = webhooks.expiredAgeMs ?? 24 * 60 * 60 * 1000;
    await refused(
      await webhooks.signedRequest(specs, { signedAt: Date.now() - expiredAge }),
      'an expired signature',
    );
    await refused(
      await webhooks.signedRequest(specs, { signedAt: Date.now() + expiredAge }),
      'a signature from the future',
    );
  });
}

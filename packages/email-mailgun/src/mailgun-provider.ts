import { createHash } from 'node:crypto';
import {
  ApiCallError,
  assertWebhookBodySize,
  createCrmEventDeduper,
  createHttpClient,
  DEFAULT_TIMESTAMP_TOLERANCE_MS,
  DEFAULT_WEBHOOK_MAX_BODY_BYTES,
  type EmailCallOptions,
  type EmailCapabilities,
  type EmailEvent,
  type EmailMessage,
  type EmailProviderV1,
  type EmailSendErrorCode,
  type EmailSendResult,
  type HttpClient,
  type InboundWebhookRequest,
  loadApiKey,
  loadSetting,
  type RateLimitPolicy,
  systemClock,
  traceEmailSend,
} from '@leadpipe/core/adapter-kit';
import {
  buildMailgunFields,
  fieldOfMailgunError,
  mailgunErrorText,
  mailgunRateLimitHeaders,
  mapMailgunError,
} from './mailgun-message.js';
import { checkMailgunSettings, type MailgunProviderSettings } from './mailgun-settings.js';
import { bareMessageId, parseMailgunWebhook } from './mailgun-webhooks.js';

/** The environment variable the API key is read from. */
export const MAILGUN_API_KEY_ENV = 'MAILGUN_API_KEY';
/** The environment variable the sending domain is read from. */
export const MAILGUN_DOMAIN_ENV = 'MAILGUN_DOMAIN';
/** The environment variable the webhook signing key is read from. */
export const MAILGUN_WEBHOOK_SIGNING_KEY_ENV = 'MAILGUN_WEBHOOK_SIGNING_KEY';

/** Mailgun's API hosts per region. */
export const MAILGUN_HOSTS = {
  /** US region. */
  us: 'https://api.mailgun.net',
  /** EU region. */
  eu: 'https://api.eu.mailgun.net',
} as const;

const DEFAULT_RATE_LIMITS: RateLimitPolicy = { perMinute: 1_000 };
/** Statuses that are Mailgun refusing this message (a `failed` result), not a failure of the call. */
const REFUSALS = [400, 401, 402, 403, 404, 413] as const;

/** A Mailgun email provider: an {@link EmailProviderV1} that always parses webhooks. */
export interface MailgunProvider extends EmailProviderV1 {
  /** Verify and parse an event webhook or a forwarded reply. */
  doParseEvents(request: InboundWebhookRequest): Promise<EmailEvent[]>;
}

function refusalCode(status: number): EmailSendErrorCode {
  switch (status) {
    case 401:
      return 'unauthorized';
    case 402:
      return 'quota_exceeded';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    default:
      // 400 and 413: Mailgun refused this message's content, as the local checks do.
      return 'invalid_message';
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Create a Mailgun email provider: one message per call to
 * `POST /v3/{domain}/messages` (multipart form, basic auth `api:KEY`, US or
 * EU host), the ledger key and metadata as `v:` variables (they come back in
 * every event's `user-variables`), headers as `h:` fields, tags as `o:tag`,
 * the 16 KB options cap checked before sending; and event webhooks and
 * forwarded replies verified (HMAC-SHA256 of timestamp + token, timestamp
 * tolerance, token replay check) and parsed into {@link EmailEvent}s.
 *
 * @example
 * ```ts
 * import { createMailgun } from '@leadpipe/email-mailgun';
 *
 * const mailgun = createMailgun({ domain: 'mg.example.com', region: 'eu' }); // key from MAILGUN_API_KEY
 * const result = await mailgun.doSend(
 *   { ledgerKey: 'enr-1-s0', from: { email: 'ada@mg.example.com' }, to: { email: 'bob@example.org' },
 *     subject: 'Hello', text: 'Hi Bob' },
 *   {},
 * );
 * ```
 *
 * @throws ConfigurationError `invalid_configuration` naming every bad setting.
 */
export function createMailgun(settings: MailgunProviderSettings = {}): MailgunProvider {
  checkMailgunSettings(settings);
  const providerId = settings.providerId ?? 'mailgun';
  const baseUrl = (settings.baseUrl ?? MAILGUN_HOSTS[settings.region ?? 'us']).replace(/\/+$/, '');
  const now = settings.now ?? systemClock;
  const toleranceMs = settings.webhookToleranceMs ?? DEFAULT_TIMESTAMP_TOLERANCE_MS;
  const replayGuard =
    settings.webhookReplayGuard ??
    createCrmEventDeduper({ max: settings.webhookMaxTokens ?? 100_000, ttlMs: 2 * toleranceMs });
  const testMode = settings.testMode ?? false;

  const apiKey = () =>
    loadApiKey({
      apiKey: settings.apiKey,
      environmentVariableName: MAILGUN_API_KEY_ENV,
      description: 'Mailgun',
      providerId,
    });
  const domain = () =>
    loadSetting({
      settingValue: settings.domain,
      environmentVariableName: MAILGUN_DOMAIN_ENV,
      settingName: 'domain',
      description: 'Mailgun sending domain',
      providerId,
    }).trim();
  const signingKey = () =>
    loadApiKey({
      apiKey: settings.webhookSigningKey,
      environmentVariableName: MAILGUN_WEBHOOK_SIGNING_KEY_ENV,
      optionName: 'webhookSigningKey',
      description: 'Mailgun webhook signing',
      providerId,
    });

  const client: HttpClient = createHttpClient({
    providerId,
    baseUrl,
    timeoutMs: settings.timeoutMs,
    fetch: settings.fetch,
    now,
    rateLimitHeaders: mailgunRateLimitHeaders,
    captureResponseBody: settings.captureResponseBody ?? false,
    mapError: mapMailgunError,
    headers: () => ({ authorization: `Basic ${Buffer.from(`api:${apiKey()}`).toString('base64')}` }),
  });

  const refusalMessage = (status: number, vendorText: string | undefined, sendingDomain: string): string => {
    const said = vendorText === undefined ? '' : `: ${vendorText}`;
    switch (status) {
      case 401:
        return `${providerId}: Mailgun rejected the API key (HTTP 401); check the apiKey option or ${MAILGUN_API_KEY_ENV}, and the region (an EU domain needs region 'eu')`;
      case 402:
        return `${providerId}: Mailgun refused the send: the account needs payment (HTTP 402)${said}`;
      case 403:
        return `${providerId}: Mailgun does not let ${sendingDomain} send (HTTP 403)${said}`;
      case 404:
        return `${providerId}: Mailgun does not know the sending domain ${sendingDomain} (HTTP 404); check the domain option or ${MAILGUN_DOMAIN_ENV}, and the region`;
      case 413:
        return `${providerId}: Mailgun refused the message as too large (HTTP 413)${said}`;
      default:
        return `${providerId}: Mailgun refused the message (HTTP ${status})${said}`;
    }
  };

  async function doSend(message: EmailMessage, options: EmailCallOptions = {}): Promise<EmailSendResult> {
    const ledgerKey = typeof message?.ledgerKey === 'string' ? message.ledgerKey : '';
    const built = buildMailgunFields(message, testMode);
    if ('problem' in built) {
      return {
        ledgerKey,
        status: 'failed',
        code: 'invalid_message',
        message: `${providerId}: ${built.problem.field}: ${built.problem.reason}`,
        retryable: false,
        field: built.problem.field,
      };
    }
    const sendingDomain = domain();
    const form = new FormData();
    for (const field of built.fields) form.append(field.name, field.value);
    let response: Awaited<ReturnType<HttpClient['request']>>;
    try {
      response = await client.request<string>({
        method: 'POST',
        path: `/v3/${encodeURIComponent(sendingDomain)}/messages`,
        body: form,
        responseType: 'text',
        acceptStatus: REFUSALS,
        signal: options.signal,
        onRateLimit: options.onRateLimit,
      });
    } catch (error) {
      // 429, 5xx, network, timeout and abort belong to the engine's limiter and retry.
      if (!ApiCallError.isInstance(error) || error.isRetryable || error.code === 'aborted') throw error;
      return {
        ledgerKey,
        status: 'failed',
        code: error.code,
        message: error.message,
        retryable: false,
        ...(error.retryAfterMs !== undefined && { retryAfterMs: error.retryAfterMs }),
      };
    }
    const bodyText = typeof response.data === 'string' ? response.data : '';
    const json = parseJson(bodyText);
    if (response.status >= 400) {
      const vendorText = mailgunErrorText(bodyText, json);
      const field =
        response.status === 413
          ? 'html'
          : response.status === 400
            ? fieldOfMailgunError(vendorText)
            : undefined;
      return {
        ledgerKey,
        status: 'failed',
        code: refusalCode(response.status),
        message: refusalMessage(response.status, vendorText, sendingDomain),
        retryable: false,
        ...(field !== undefined && { field }),
      };
    }
    const messageId = bareMessageId((json as { id?: unknown } | undefined)?.id);
    if (messageId === undefined) {
      // Accepted, but with no id to record: never send it again blindly; reconcile it from events.
      return {
        ledgerKey,
        status: 'failed',
        code: 'invalid_response',
        message: `${providerId}: Mailgun answered HTTP ${response.status} without a message id; the message may have been sent, so it is not retried: reconcile it from the event webhook`,
        retryable: false,
      };
    }
    return { ledgerKey, status: 'accepted', messageId };
  }

  async function doParseEvents(request: InboundWebhookRequest): Promise<EmailEvent[]> {
    assertWebhookBodySize(
      request.rawBody,
      settings.webhookMaxBodyBytes ?? DEFAULT_WEBHOOK_MAX_BODY_BYTES,
      providerId,
    );
    return parseMailgunWebhook(request, {
      signingKey: signingKey(),
      now,
      toleranceMs,
      replayGuard,
      providerId,
    });
  }

  const capabilities: EmailCapabilities = {
    maxBatchSize: 1,
    rateLimits: settings.rateLimits ?? DEFAULT_RATE_LIMITS,
    eventWebhook: true,
  };

  return {
    specificationVersion: 'v1',
    providerId,
    capabilities,
    limiterKey: () => {
      try {
        return `${providerId}:${createHash('sha256').update(apiKey()).digest('hex').slice(0, 16)}`;
      } catch {
        return providerId;
      }
    },
    doSend: (message, options) => traceEmailSend(providerId, 1, () => doSend(message, options)),
    doParseEvents,
  };
}

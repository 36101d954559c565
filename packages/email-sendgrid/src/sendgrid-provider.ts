import { createHash } from 'node:crypto';
import {
  ApiCallError,
  type CrmEventDeduper,
  createHttpClient,
  type EmailCallOptions,
  type EmailCapabilities,
  type EmailEvent,
  type EmailMessage,
  type EmailProviderV1,
  type EmailSendErrorCode,
  type EmailSendFailure,
  type EmailSendResult,
  type HttpErrorInfo,
  type InboundWebhookRequest,
  LeadpipeError,
  loadApiKey,
  type RateLimitHeaderMapping,
  redactSecrets,
  traceEmailSend,
  WebhookVerificationError,
} from '@leadpipe/core/adapter-kit';
import { parseSendgridEvents } from './sendgrid-events.js';
import { checkMessage, groupMessages, mailBody } from './sendgrid-message.js';
import { checkSendgridSettings } from './sendgrid-settings.js';

/** A mail-send window: at most `limit` requests per `intervalMs`. */
export interface SendgridRateLimit {
  /** Requests allowed per window. */
  readonly limit: number;
  /** The window's length, ms. */
  readonly intervalMs: number;
}

/** Settings of {@link createSendgrid}. */
export interface SendgridSettings {
  /** API key with the Mail Send permission, sent as `Authorization: Bearer`. Default: `SENDGRID_API_KEY`, read at call time. */
  readonly apiKey?: string;
  /** `eu` sends to `https://api.eu.sendgrid.com` (EU-pinned subusers). Default `global` (`https://api.sendgrid.com`). */
  readonly region?: 'global' | 'eu';
  /** Base URL, over `region` (an emulator, a proxy). */
  readonly baseUrl?: string;
  /** Provider id, for limits, reports, events and dead letters. Default `sendgrid`. */
  readonly providerId?: string;
  /**
   * The mail-send window the limiter plans with, before the
   * `X-RateLimit-*` headers correct it. SendGrid publishes no fixed
   * mail-send limit. Default `{ limit: 100, intervalMs: 1000 }`.
   */
  readonly rateLimit?: SendgridRateLimit;
  /** Most messages per `doSendBatch` request (personalizations). Default and maximum 1000. */
  readonly maxBatchSize?: number;
  /** Send with `mail_settings.sandbox_mode` on: SendGrid validates and answers 200, delivering nothing. */
  readonly sandboxMode?: boolean;
  /**
   * The signed Event Webhook's verification key, as SendGrid shows it
   * (base64) or PEM. Without it `doParseEvents` refuses every request.
   */
  readonly webhookPublicKey?: string;
  /** How far a webhook's signed timestamp may be from now, ms. Default 300 000 (5 minutes). */
  readonly webhookToleranceMs?: number;
  /** The largest webhook body read, bytes. Default 1 MiB. */
  readonly webhookMaxBodyBytes?: number;
  /** Drops events already seen in earlier deliveries by `sg_event_id` (core's `createCrmEventDeduper()`, or a shared store). */
  readonly eventDeduper?: CrmEventDeduper;
  /** The fetch implementation. Default the global `fetch`. */
  readonly fetch?: typeof globalThis.fetch;
  /** Time allowed per request, ms. Default 30 000. */
  readonly timeoutMs?: number;
  /** Clock, epoch ms, for rate-limit resets and webhook timestamps. Default `Date.now`. */
  readonly now?: () => number;
}

/** The SendGrid email provider: an {@link EmailProviderV1} with batch send and the signed Event Webhook. */
export interface SendgridProvider extends EmailProviderV1 {
  /** Always present: SendGrid sends up to 1000 personalizations per request. */
  doSendBatch(messages: readonly EmailMessage[], options: EmailCallOptions): Promise<EmailSendResult[]>;
  /** Always present; refuses every request when no `webhookPublicKey` was given. */
  doParseEvents(request: InboundWebhookRequest): Promise<EmailEvent[]>;
}

/** SendGrid's error body: `{"errors":[{"field","message","help"}]}`. */
interface SendgridErrorItem {
  readonly field?: string | null;
  readonly message?: string;
}

/** Statuses a send answers with that are a refusal of the message (a failed result), not a failure of the call. */
const REFUSALS: readonly number[] = [400, 401, 403, 404, 405, 413, 415, 422];

function refusalCode(status: number): EmailSendErrorCode {
  switch (status) {
    case 400:
    case 413:
    case 422:
      return 'invalid_message';
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    default:
      return 'invalid_request';
  }
}

function errorItems(body: unknown): SendgridErrorItem[] {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return [];
    }
  }
  const errors = (parsed as { errors?: unknown } | null | undefined)?.errors;
  if (!Array.isArray(errors)) return [];
  return errors.filter((item): item is SendgridErrorItem => typeof item === 'object' && item !== null);
}

function describeErrors(items: readonly SendgridErrorItem[], status: number): string {
  const parts = items
    .map((item) => {
      const message = typeof item.message === 'string' ? item.message : '';
      return typeof item.field === 'string' && item.field !== '' ? `${item.field}: ${message}` : message;
    })
    .filter((part) => part !== '');
  const text = parts.length > 0 ? parts.join('; ') : `SendGrid refused the message (HTTP ${status})`;
  return redactSecrets(text).slice(0, 1000);
}

/** The failed result of a message whose request failed as a whole after others of its batch went out. */
function unsent(message: EmailMessage, error: LeadpipeError): EmailSendFailure {
  const retryAfterMs = ApiCallError.isInstance(error) ? error.retryAfterMs : undefined;
  const code: EmailSendErrorCode = ApiCallError.isInstance(error) ? error.code : 'adapter_error';
  return {
    ledgerKey: message.ledgerKey,
    status: 'failed',
    code,
    message: error.message,
    retryable: error.isRetryable,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
}

const PERSONALIZATION_FIELD = /^personalizations\.(\d+)(?:\.|$)/;

/**
 * Create the SendGrid email provider: v3 mail send (`POST /v3/mail/send`,
 * Bearer key, 202 with `X-Message-ID`), the ledger key and metadata in each
 * personalization's `custom_args`, `headers` per personalization
 * (`List-Unsubscribe`, `List-Unsubscribe-Post`), tags as categories; batch
 * send as one personalization per message; rate limits from
 * `X-RateLimit-Limit/Remaining/Reset`; SendGrid's `{"errors":[…]}` bodies
 * as typed failures; and the signed Event Webhook parsed into
 * {@link EmailEvent}s.
 *
 * One `X-Message-ID` answers a whole request, so every message of a batch
 * carries the same `messageId`; SendGrid's events name it as the prefix of
 * `sg_message_id` and carry each message's ledger key in its custom args,
 * which is how events are matched to messages.
 *
 * @throws ConfigurationError naming every wrong setting (the missing API key
 * is reported at the first send, as `missing_credentials`).
 *
 * @example
 * ```ts
 * const sendgrid = createSendgrid({ apiKey: process.env.SENDGRID_API_KEY ?? '' });
 * const result = await sendgrid.doSend(
 *   {
 *     ledgerKey: 'enr-42-s1',
 *     from: { email: 'ada@news.example', name: 'Ada' },
 *     to: { email: 'grace@example.com' },
 *     subject: 'Hello',
 *     text: 'Hello Grace',
 *     headers: {
 *       'List-Unsubscribe': '<https://news.example/u/tok>',
 *       'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
 *     },
 *   },
 *   {},
 * );
 * if (result.status === 'accepted') console.log(result.messageId);
 * ```
 */
export function createSendgrid(settings: SendgridSettings = {}): SendgridProvider {
  const checked = checkSendgridSettings(settings);
  const { providerId, rateLimit } = checked;
  const now = settings.now ?? Date.now;
  const sandboxMode = settings.sandboxMode ?? false;
  const apiKey = () =>
    loadApiKey({
      apiKey: settings.apiKey,
      environmentVariableName: 'SENDGRID_API_KEY',
      description: 'SendGrid',
      providerId,
    });
  const headerMapping: RateLimitHeaderMapping = {
    windows: [
      {
        name: 'mail_send',
        limit: 'x-ratelimit-limit',
        remaining: 'x-ratelimit-remaining',
        reset: 'x-ratelimit-reset',
        resetFormat: 'epoch-seconds',
        intervalMs: rateLimit.intervalMs,
      },
    ],
  };
  const http = createHttpClient({
    providerId,
    baseUrl: checked.baseUrl,
    now,
    fetch: settings.fetch,
    timeoutMs: settings.timeoutMs,
    rateLimitHeaders: headerMapping,
    headers: () => ({ authorization: `Bearer ${apiKey()}` }),
    mapError: (info: HttpErrorInfo) => {
      const items = errorItems(info.json ?? info.bodyText);
      return items.length === 0
        ? undefined
        : { message: `${providerId}: ${describeErrors(items, info.status)}` };
    },
  });
  const capabilities: EmailCapabilities = {
    maxBatchSize: checked.maxBatchSize,
    rateLimits: {
      windows: [{ name: 'mail_send', limit: rateLimit.limit, intervalMs: rateLimit.intervalMs }],
    },
    eventWebhook: true,
  };

  /** One request for messages sharing their content; a 400 naming personalizations drops those and sends the rest once more. */
  async function sendGroup(
    messages: readonly EmailMessage[],
    options: EmailCallOptions,
    retryAfterRefusal = true,
  ): Promise<EmailSendResult[]> {
    const response = await http.request<string>({
      method: 'POST',
      path: '/v3/mail/send',
      json: mailBody(messages, sandboxMode),
      responseType: 'text',
      acceptStatus: REFUSALS,
      signal: options.signal,
      onRateLimit: options.onRateLimit,
    });
    if (response.status >= 200 && response.status < 300) {
      const header = response.headers.get('x-message-id');
      return messages.map((message) => ({
        ledgerKey: message.ledgerKey,
        status: 'accepted',
        // SendGrid always answers 202 with the header; without it the message was still accepted
        // (never report a failure that would be sent again): events match it by its ledger key.
        messageId: header !== null && header !== '' ? header : `unknown:${message.ledgerKey}`,
      }));
    }
    const items = errorItems(response.data);
    const code = refusalCode(response.status);
    const blamed = new Map<number, SendgridErrorItem[]>();
    let unplaced = false;
    for (const item of items) {
      const match = typeof item.field === 'string' ? PERSONALIZATION_FIELD.exec(item.field) : null;
      const index = match === null ? undefined : Number(match[1]);
      if (index === undefined || index >= messages.length) unplaced = true;
      else blamed.set(index, [...(blamed.get(index) ?? []), item]);
    }
    const failure = (message: EmailMessage, own: readonly SendgridErrorItem[]): EmailSendFailure => {
      const field = own.find((item) => typeof item.field === 'string' && item.field !== '')?.field;
      return {
        ledgerKey: message.ledgerKey,
        status: 'failed',
        code,
        message: `${providerId}: ${describeErrors(own, response.status)}`,
        retryable: false,
        ...(typeof field === 'string' ? { field } : {}),
      };
    };
    const canSplit =
      retryAfterRefusal &&
      response.status === 400 &&
      !unplaced &&
      blamed.size > 0 &&
      blamed.size < messages.length;
    if (!canSplit) return messages.map((message, index) => failure(message, blamed.get(index) ?? items));
    // SendGrid refuses the whole request for one bad personalization: those fail, the others go again once.
    const rest = messages.filter((_, index) => !blamed.has(index));
    const again = await sendGroup(rest, options, false);
    const byKey = new Map(again.map((result, index) => [rest[index], result]));
    return messages.map((message, index) => byKey.get(message) ?? failure(message, blamed.get(index) ?? []));
  }

  async function sendAll(
    messages: readonly EmailMessage[],
    options: EmailCallOptions,
  ): Promise<EmailSendResult[]> {
    if (options.signal?.aborted) {
      throw new ApiCallError('aborted', {
        message: `${providerId}: the send was aborted before it started`,
        providerId,
      });
    }
    apiKey();
    const results: (EmailSendResult | undefined)[] = messages.map((message) => checkMessage(message));
    const sendable = messages.flatMap((_message, index) => (results[index] === undefined ? [index] : []));
    const groups = groupMessages(
      sendable.map((index) => messages[index] as EmailMessage),
      checked.maxBatchSize,
    );
    let sentAny = false;
    for (const group of groups) {
      const indexes = group.map((position) => sendable[position] as number);
      let groupResults: readonly EmailSendResult[];
      try {
        groupResults = await sendGroup(
          indexes.map((index) => messages[index] as EmailMessage),
          options,
        );
      } catch (error) {
        // Before anything went out, the whole call failed: the engine's limiter and retries own it.
        // After some requests were accepted, rejecting would lose their results (and send them twice):
        // the rest fail one by one instead, retryable as the error says.
        if (!sentAny || !LeadpipeError.isInstance(error)) throw error;
        groupResults = indexes.map((index) => unsent(messages[index] as EmailMessage, error));
      }
      sentAny = true;
      for (const [position, index] of indexes.entries()) results[index] = groupResults[position];
    }
    return results as EmailSendResult[];
  }

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
    doSend: (message, options) =>
      traceEmailSend(providerId, 1, async () => {
        const [result] = await sendAll([message], options);
        return result as EmailSendResult;
      }),
    doSendBatch: (messages, options) =>
      traceEmailSend(providerId, Array.isArray(messages) ? messages.length : 0, () =>
        sendAll(messages, options),
      ),
    async doParseEvents(request) {
      const publicKey = checked.webhookPublicKey;
      if (publicKey === undefined) {
        throw new WebhookVerificationError('signature_invalid', {
          message: `${providerId}: no webhookPublicKey is configured, so no Event Webhook request can be verified`,
          providerId,
        });
      }
      return parseSendgridEvents(request, {
        providerId,
        publicKey,
        toleranceMs: checked.webhookToleranceMs,
        maxBodyBytes: checked.webhookMaxBodyBytes,
        now,
        deduper: settings.eventDeduper,
      });
    },
    async close() {},
  };
}

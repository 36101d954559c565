import type { ApiErrorCode } from './errors.js';
import type { RateLimitPolicy, RateLimitState } from './rate-limit.js';
import type { InboundWebhookRequest } from './webhook.js';

/** A mailbox: an address and an optional display name. */
export interface EmailAddress {
  /** The address, such as `ada@example.com`. */
  readonly email: string;
  /** Display name, such as `Ada Lovelace`. */
  readonly name?: string;
}

/**
 * One message to one recipient. Campaigns send one message per
 * (enrollment, step); the `ledgerKey` names that pair and travels with the
 * message (SendGrid `custom_args`, Mailgun `v:` variables) so the vendor's
 * event webhook can be matched back to the send ledger.
 */
export interface EmailMessage {
  /** The send ledger key, such as `enr-42-s1`. Unique per (enrollment, step). */
  readonly ledgerKey: string;
  /** Sender. Must be a domain the account may send from. */
  readonly from: EmailAddress;
  /** The one recipient. */
  readonly to: EmailAddress;
  /** Where replies go, when not `from`. */
  readonly replyTo?: EmailAddress;
  /** Subject line, already rendered. */
  readonly subject: string;
  /** HTML body, already rendered. At least one of `html` and `text` is required. */
  readonly html?: string;
  /** Plain-text body, already rendered. */
  readonly text?: string;
  /**
   * Extra headers, such as `List-Unsubscribe` and `List-Unsubscribe-Post`
   * (RFC 8058). Adapters send them unchanged.
   */
  readonly headers?: Readonly<Record<string, string>>;
  /** Vendor-side tags for reporting (SendGrid categories, Mailgun `o:tag`). Never put personal data here. */
  readonly tags?: readonly string[];
  /**
   * Extra values carried with the message and returned in its events, beside
   * the ledger key (SendGrid `custom_args`, Mailgun `v:`). Never personal data.
   */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** The vendor accepted a message for delivery. */
export interface EmailSendAccepted {
  /** The message's ledger key, as sent. */
  readonly ledgerKey: string;
  /** Always `accepted`. */
  readonly status: 'accepted';
  /** The vendor's message id (SendGrid `X-Message-ID`, Mailgun `id`). */
  readonly messageId: string;
}

/** Vendor-neutral reason a send failed. */
export type EmailSendErrorCode = ApiErrorCode | 'invalid_message' | 'adapter_error';

/** The vendor refused a message, or the call failed. */
export interface EmailSendFailure {
  /** The message's ledger key, as sent. */
  readonly ledgerKey: string;
  /** Always `failed`. */
  readonly status: 'failed';
  /** Vendor-neutral code. */
  readonly code: EmailSendErrorCode;
  /** Human-readable message, scrubbed of secrets. */
  readonly message: string;
  /**
   * Whether sending the same message again may succeed (5xx, network,
   * timeout, 429). A permanent failure (400, 403, 413) is not.
   */
  readonly retryable: boolean;
  /** How long to wait before trying again, when the vendor said. */
  readonly retryAfterMs?: number;
  /** The field the vendor blamed, such as `personalizations.0.to.0.email`. */
  readonly field?: string;
}

/** The outcome of one message. */
export type EmailSendResult = EmailSendAccepted | EmailSendFailure;

/** What an email provider can do: static facts the campaign engine plans with. */
export interface EmailCapabilities {
  /**
   * Most messages one `doSendBatch` call accepts (SendGrid 1000
   * personalizations); 1 when the vendor has no batch send.
   */
  readonly maxBatchSize: number;
  /** The vendor's declared limits, corrected at run time from response headers. */
  readonly rateLimits: RateLimitPolicy;
  /** Whether `doParseEvents` is implemented. */
  readonly eventWebhook: boolean;
}

/** Options the campaign engine passes to every provider call. */
export interface EmailCallOptions {
  /** Aborts the call. Adapters must pass it to their HTTP client. */
  readonly signal?: AbortSignal;
  /** Called with rate-limit state parsed from every response's headers. */
  readonly onRateLimit?: (state: RateLimitState) => void;
}

/** What happened to a sent message, as the vendor's event webhook reports it. */
export type EmailEventType =
  | 'processed'
  | 'delivered'
  | 'deferred'
  | 'bounced'
  | 'dropped'
  | 'opened'
  | 'clicked'
  | 'complained'
  | 'unsubscribed'
  | 'replied';

/** One event from a vendor's event webhook, verified and parsed. */
export interface EmailEvent {
  /** The vendor's event id (SendGrid `sg_event_id`, Mailgun `id`): consumers deduplicate by it. */
  readonly eventId: string;
  /** What happened. */
  readonly type: EmailEventType;
  /** The recipient address, normalized to lower case. */
  readonly email: string;
  /** When it happened (ISO 8601). */
  readonly occurredAt: string;
  /** The ledger key carried with the message, when the event belongs to one. */
  readonly ledgerKey?: string;
  /** The vendor's message id, when known. */
  readonly messageId?: string;
  /** For a bounce: `hard` (the address does not exist; suppress it) or `soft`. */
  readonly bounce?: 'hard' | 'soft';
  /** The vendor's reason text, for bounces, drops and deferrals. */
  readonly reason?: string;
  /** For a click: the URL. */
  readonly url?: string;
  /** The vendor's raw event, for debugging. */
  readonly raw?: unknown;
}

/**
 * An email delivery vendor (SendGrid, Mailgun, SMTP). Adapters are stateless
 * over the wire: the campaign engine owns the send ledger, suppression,
 * retries and rate limiting; adapters send, map errors and parse events.
 */
export interface EmailProviderV1 {
  /** Contract version. */
  readonly specificationVersion: 'v1';
  /** Stable id, such as `sendgrid`. Used for limits, reports, events and dead letters. */
  readonly providerId: string;
  /** What the provider can do. */
  readonly capabilities: EmailCapabilities;
  /**
   * The key rate limits are shared under (one per account), so two adapters
   * on one account share one limiter. Defaults to `providerId`.
   */
  readonly limiterKey?: () => string;
  /**
   * Send one message. Resolves with its outcome; a vendor refusal is a
   * `failed` result, never a rejection. Rejects only for failures of the
   * whole call that the engine's limiter and retry own (429, 5xx, network),
   * with a `LeadpipeError`.
   */
  doSend(message: EmailMessage, options: EmailCallOptions): PromiseLike<EmailSendResult>;
  /**
   * Send up to `capabilities.maxBatchSize` messages in one call, one outcome
   * per message in input order. Omitted when the vendor has no batch send.
   */
  doSendBatch?(messages: readonly EmailMessage[], options: EmailCallOptions): PromiseLike<EmailSendResult[]>;
  /**
   * Verify an event webhook request (signature over the raw body, timestamp
   * tolerance) and parse its events. Rejects with a `WebhookVerificationError`
   * before parsing anything when the request is not authentic.
   */
  doParseEvents?(request: InboundWebhookRequest): PromiseLike<EmailEvent[]>;
  /** Release sockets and timers. */
  close?(): Promise<void>;
}

/** The current email provider contract. */
export type EmailProvider = EmailProviderV1;

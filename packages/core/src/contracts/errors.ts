import type { RateLimitState } from './rate-limit.js';
import { redactSecrets, redactValue } from './secrets.js';

function hasMarker(value: unknown, marker: symbol): boolean {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[marker] === true;
}

/** Brand an error with a class marker: non-enumerable, so it never shows in JSON or logs. */
function mark(error: Error, marker: symbol): void {
  Object.defineProperty(error, marker, { value: true, enumerable: false });
}

function sanitizeCause(cause: unknown): unknown {
  if (cause === undefined || LeadpipeError.isInstance(cause)) return cause;
  if (cause instanceof Error) {
    const copy = new Error(redactSecrets(cause.message));
    copy.name = cause.name;
    copy.stack = cause.stack === undefined ? undefined : redactSecrets(cause.stack);
    return copy;
  }
  return redactValue(cause);
}

/** Options shared by every leadpipe error. */
export interface LeadpipeErrorOptions {
  /** Human-readable message. Secrets are scrubbed from it. */
  readonly message: string;
  /** Whether trying the same call again may succeed. */
  readonly isRetryable?: boolean;
  /** How long to wait before trying again, when known. */
  readonly retryAfterMs?: number;
  /** Id of the provider or CRM adapter the error came from. */
  readonly providerId?: string;
  /** The underlying error. Non-leadpipe errors are copied with secrets scrubbed. */
  readonly cause?: unknown;
}

/**
 * Every code a {@link LeadpipeError} can carry: a closed set, so a `switch`
 * over `error.code` is checked by the compiler.
 */
export type LeadpipeErrorCode =
  | ApiErrorCode
  | 'validation_failed'
  | 'missing_credentials'
  | 'invalid_configuration'
  | WebhookVerificationErrorCode
  | 'circuit_open'
  | 'limiter_closed'
  | 'limiter_failed'
  | 'checkpoint_corrupt'
  | 'dead_letters_closed'
  | 'dead_letters_corrupt'
  | 'dead_letter_failed'
  | 'job_store_corrupt'
  | 'crm_down';

const baseMarker = Symbol.for('leadpipe.error');

/**
 * Base class of every error leadpipe raises. Check with
 * `LeadpipeError.isInstance(e)` (works across duplicate copies of the
 * package, unlike `instanceof`) and branch on the stable {@link code}.
 */
export class LeadpipeError extends Error {
  /** Stable, machine-readable error code. */
  readonly code: LeadpipeErrorCode;
  /** Whether trying the same call again may succeed. */
  readonly isRetryable: boolean;
  /** How long to wait before trying again, when known. */
  readonly retryAfterMs: number | undefined;
  /** Id of the provider or CRM adapter the error came from. */
  readonly providerId: string | undefined;

  /** @param code - stable error code; @param options - see {@link LeadpipeErrorOptions}. */
  constructor(code: LeadpipeErrorCode, options: LeadpipeErrorOptions) {
    super(redactSecrets(options.message), { cause: sanitizeCause(options.cause) });
    this.name = 'LeadpipeError';
    mark(this, baseMarker);
    this.code = code;
    this.isRetryable = options.isRetryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.providerId = options.providerId;
  }

  /** Whether `error` is a leadpipe error of any kind. */
  static isInstance(error: unknown): error is LeadpipeError {
    return hasMarker(error, baseMarker);
  }

  /** A JSON-safe view with secrets scrubbed. */
  toJSON(): Record<string, unknown> {
    const cause = this.cause;
    return redactValue({
      name: this.name,
      code: this.code,
      message: this.message,
      isRetryable: this.isRetryable,
      retryAfterMs: this.retryAfterMs,
      providerId: this.providerId,
      cause: LeadpipeError.isInstance(cause)
        ? cause.toJSON()
        : cause instanceof Error
          ? { name: cause.name, message: cause.message }
          : cause,
    });
  }
}

/** One reason a value was rejected. */
export interface ValidationIssue {
  /** Path of the offending field, such as `email` or `company.domain`. */
  readonly field: string;
  /** Why it was rejected. */
  readonly reason: string;
}

const validationMarker = Symbol.for('leadpipe.error.ValidationError');

/**
 * Input (a lead, a provider's output, options) failed validation. Lists every
 * offending field with its reason. Never retryable.
 */
export class ValidationError extends LeadpipeError {
  declare readonly code: 'validation_failed';
  /** Every field that failed, with the reason. */
  readonly issues: readonly ValidationIssue[];

  /** @param issues - the failures; @param options - context, such as the provider that produced the value. */
  constructor(
    issues: readonly ValidationIssue[],
    options: { message?: string; providerId?: string; cause?: unknown } = {},
  ) {
    super('validation_failed', {
      message:
        options.message ??
        `Invalid value: ${issues.map((issue) => `${issue.field}: ${issue.reason}`).join('; ')}`,
      providerId: options.providerId,
      cause: options.cause,
    });
    this.name = 'ValidationError';
    mark(this, validationMarker);
    this.issues = issues.map((issue) => ({ field: issue.field, reason: redactSecrets(issue.reason) }));
  }

  /** Whether `error` is a {@link ValidationError}. */
  static override isInstance(error: unknown): error is ValidationError {
    return hasMarker(error, validationMarker);
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), issues: this.issues };
  }
}

const configurationMarker = Symbol.for('leadpipe.error.ConfigurationError');

/**
 * The SDK was set up wrongly: a missing API key, an unknown provider id, an
 * option out of range. Code `missing_credentials` or `invalid_configuration`.
 */
export class ConfigurationError extends LeadpipeError {
  declare readonly code: 'missing_credentials' | 'invalid_configuration';
  /** Every option that was wrong, with the reason (empty for a missing credential). */
  readonly issues: readonly ValidationIssue[];

  /**
   * @param code - `missing_credentials` or `invalid_configuration`.
   * @param options - `issues` names each wrong option and why; the message, when not given, lists them.
   */
  constructor(
    code: 'missing_credentials' | 'invalid_configuration',
    options: {
      message?: string;
      issues?: readonly ValidationIssue[];
      providerId?: string;
      cause?: unknown;
    },
  ) {
    const issues = options.issues ?? [];
    super(code, {
      message:
        options.message ??
        `Invalid options: ${issues.map((issue) => `${issue.field}: ${issue.reason}`).join('; ')}`,
      providerId: options.providerId,
      cause: options.cause,
      isRetryable: false,
    });
    this.name = 'ConfigurationError';
    mark(this, configurationMarker);
    this.issues = issues.map((issue) => ({ field: issue.field, reason: redactSecrets(issue.reason) }));
  }

  /** Whether `error` is a {@link ConfigurationError}. */
  static override isInstance(error: unknown): error is ConfigurationError {
    return hasMarker(error, configurationMarker);
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), issues: this.issues };
  }
}

/**
 * Codes of failed calls to a vendor API. What the engine does with each:
 * - `rate_limited`: the limiter waits and tries again (never p-retry);
 * - `quota_exceeded`: the provider is out until `retryAfterMs`;
 * - `unauthorized` / `forbidden`: the provider is out for the run;
 * - `invalid_request` / `not_found` / `conflict`: the lead moves on to the next provider;
 * - `server_error` / `timeout` / `network_error` / `invalid_response`: retried with backoff;
 * - `aborted`: the caller cancelled; nothing else happens.
 */
export type ApiErrorCode =
  | 'rate_limited'
  | 'quota_exceeded'
  | 'unauthorized'
  | 'forbidden'
  | 'invalid_request'
  | 'not_found'
  | 'conflict'
  | 'server_error'
  | 'timeout'
  | 'network_error'
  | 'invalid_response'
  | 'aborted';

const RETRYABLE_CODES: ReadonlySet<ApiErrorCode> = new Set([
  'rate_limited',
  'server_error',
  'timeout',
  'network_error',
  'invalid_response',
]);

/** Options of an {@link ApiCallError}. */
export interface ApiCallErrorOptions extends LeadpipeErrorOptions {
  /** HTTP status, when a response arrived. */
  readonly status?: number;
  /** Request URL with its query string removed. */
  readonly url?: string;
  /** HTTP method. */
  readonly method?: string;
  /** The vendor's own error code, such as `API_INACCESSIBLE` or `INVALID_SESSION_ID`. */
  readonly vendorCode?: string;
  /** What the response headers said about limits. */
  readonly rateLimit?: RateLimitState;
  /** The response body, truncated and scrubbed. Only kept when body capture is on. */
  readonly responseBody?: string;
}

const apiCallMarker = Symbol.for('leadpipe.error.ApiCallError');

/** A call to a vendor API failed. The {@link code} says what the engine does next. */
export class ApiCallError extends LeadpipeError {
  declare readonly code: ApiErrorCode;
  /** HTTP status, when a response arrived. */
  readonly status: number | undefined;
  /** Request URL without its query string. */
  readonly url: string | undefined;
  /** HTTP method. */
  readonly method: string | undefined;
  /** The vendor's own error code. */
  readonly vendorCode: string | undefined;
  /** What the response headers said about limits. */
  readonly rateLimit: RateLimitState | undefined;
  /** The response body, truncated to 2 KB and scrubbed, when captured. */
  readonly responseBody: string | undefined;

  /** @param code - what failed; @param options - see {@link ApiCallErrorOptions}. */
  constructor(code: ApiErrorCode, options: ApiCallErrorOptions) {
    super(code, { ...options, isRetryable: options.isRetryable ?? RETRYABLE_CODES.has(code) });
    this.name = 'ApiCallError';
    mark(this, apiCallMarker);
    this.status = options.status;
    this.url = options.url === undefined ? undefined : redactSecrets(options.url.split('?')[0]!);
    this.method = options.method;
    this.vendorCode = options.vendorCode;
    this.rateLimit = options.rateLimit;
    this.responseBody =
      options.responseBody === undefined ? undefined : redactSecrets(options.responseBody.slice(0, 2048));
  }

  /** Whether `error` is an {@link ApiCallError}. */
  static override isInstance(error: unknown): error is ApiCallError {
    return hasMarker(error, apiCallMarker);
  }

  override toJSON(): Record<string, unknown> {
    return redactValue({
      ...super.toJSON(),
      status: this.status,
      url: this.url,
      method: this.method,
      vendorCode: this.vendorCode,
      rateLimit: this.rateLimit,
      responseBody: this.responseBody,
    });
  }
}

/** Why an inbound webhook was refused. */
export type WebhookVerificationErrorCode =
  | 'signature_missing'
  | 'signature_invalid'
  | 'timestamp_expired'
  | 'payload_invalid'
  | 'payload_too_large';

const webhookMarker = Symbol.for('leadpipe.error.WebhookVerificationError');

/**
 * An inbound webhook was unsigned, tampered with, too old, malformed, or too
 * large. Answer it with 401 (413 for `payload_too_large`).
 */
export class WebhookVerificationError extends LeadpipeError {
  declare readonly code: WebhookVerificationErrorCode;
  /** @param code - why verification failed. */
  constructor(
    code: WebhookVerificationErrorCode,
    options: { message: string; providerId?: string; cause?: unknown },
  ) {
    super(code, { ...options, isRetryable: false });
    this.name = 'WebhookVerificationError';
    mark(this, webhookMarker);
  }

  /** Whether `error` is a {@link WebhookVerificationError}. */
  static override isInstance(error: unknown): error is WebhookVerificationError {
    return hasMarker(error, webhookMarker);
  }
}

const circuitMarker = Symbol.for('leadpipe.error.CircuitOpenError');

/** A provider's circuit breaker is open: it failed too often and is cooling down. */
export class CircuitOpenError extends LeadpipeError {
  declare readonly code: 'circuit_open';
  /** @param providerId - the provider; @param retryAfterMs - time left in the cool-down. */
  constructor(providerId: string, retryAfterMs: number) {
    super('circuit_open', {
      message: `Provider "${providerId}" is cooling down after repeated failures`,
      providerId,
      retryAfterMs,
      isRetryable: false,
    });
    this.name = 'CircuitOpenError';
    mark(this, circuitMarker);
  }

  /** Whether `error` is a {@link CircuitOpenError}. */
  static override isInstance(error: unknown): error is CircuitOpenError {
    return hasMarker(error, circuitMarker);
  }
}

const pipelineAbortedMarker = Symbol.for('leadpipe.error.PipelineAbortedError');

/**
 * A pipeline run was aborted by its signal (or by breaking out of iteration).
 * Carries the run's partial report: with `@leadpipe/core`'s pipeline it is a
 * `PipelineReport`, in which rows in flight are counted `unfinished`. The
 * report type is a parameter so that contracts name no pipeline type: state
 * it where you check, `PipelineAbortedError.isInstance<PipelineReport>(error)`.
 */
export class PipelineAbortedError<Report = unknown> extends LeadpipeError {
  /** The report at the time the run stopped. */
  readonly report: Report;

  /** @param report - the partial report; @param cause - the abort reason. */
  constructor(report: Report, cause?: unknown) {
    super('aborted', { message: 'The pipeline run was aborted', cause, isRetryable: false });
    this.name = 'PipelineAbortedError';
    mark(this, pipelineAbortedMarker);
    this.report = report;
  }

  /**
   * Whether `error` is a {@link PipelineAbortedError}. The report's type is
   * the caller's to state (`isInstance<PipelineReport>(error)`); it is not
   * checked at run time.
   */
  static override isInstance<Report = unknown>(error: unknown): error is PipelineAbortedError<Report> {
    return hasMarker(error, pipelineAbortedMarker);
  }
}

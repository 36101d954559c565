import { ApiCallError, LeadpipeError } from '../contracts/errors.js';

/** Codes of failures that count against a provider's health (its circuit breaker). */
const HEALTH_FAILURES: ReadonlySet<string> = new Set([
  'server_error',
  'timeout',
  'network_error',
  'invalid_response',
  'rate_limited',
]);

/**
 * What a provider threw, as a leadpipe error: leadpipe errors as they are,
 * anything else as an `invalid_response` naming the provider (its message is
 * scrubbed of secrets like every leadpipe error's).
 */
export function toLeadpipeError(error: unknown, providerId: string): LeadpipeError {
  if (LeadpipeError.isInstance(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ApiCallError('invalid_response', {
    message: `Provider "${providerId}" failed: ${message}`,
    providerId,
    cause: error,
    isRetryable: false,
  });
}

/**
 * Whether a failed call counts against the provider's circuit breaker: 5xx,
 * timeouts, network errors, invalid responses, 429s the limiter gave up on,
 * and anything that is not a leadpipe error. Client errors (401, 404, 422...)
 * say nothing about the provider's health.
 */
export function countsAgainstHealth(thrown: unknown, failure: LeadpipeError): boolean {
  return HEALTH_FAILURES.has(failure.code) || !LeadpipeError.isInstance(thrown);
}

/** The error `enrich` rejects with when its signal aborts. */
export function abortError(signal: AbortSignal | undefined): ApiCallError {
  return new ApiCallError('aborted', { message: 'Enrichment was aborted', cause: signal?.reason });
}

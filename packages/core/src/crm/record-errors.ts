import type { CrmRecordError, CrmRecordErrorCode } from '../contracts/crm-adapter.js';
import { ApiCallError, LeadpipeError, ValidationError } from '../contracts/errors.js';
import { redactSecrets, redactValue } from '../contracts/secrets.js';

/** Every code a record error may carry; anything else is stored as `adapter_error`. */
const RECORD_ERROR_CODES: ReadonlySet<string> = new Set<CrmRecordErrorCode>([
  'rate_limited',
  'quota_exceeded',
  'unauthorized',
  'forbidden',
  'invalid_request',
  'not_found',
  'conflict',
  'server_error',
  'timeout',
  'network_error',
  'invalid_response',
  'aborted',
  'validation_failed',
  'duplicate_key',
  'locked',
  'missing_result',
  'adapter_error',
]);

/** Turn whatever a call threw into a record error, keeping the vendor's error as `raw`. */
export function toRecordError(error: unknown): CrmRecordError {
  if (LeadpipeError.isInstance(error)) {
    const code: CrmRecordErrorCode = ValidationError.isInstance(error)
      ? 'validation_failed'
      : RECORD_ERROR_CODES.has(error.code)
        ? (error.code as CrmRecordErrorCode)
        : 'adapter_error';
    return {
      code,
      message: error.message,
      // A quota resets: such records wait in the dead-letter queue for a redrive, never dropped as permanent.
      retryable: error.isRetryable || error.code === 'quota_exceeded',
      ...(ApiCallError.isInstance(error) && error.vendorCode !== undefined
        ? { vendorCode: error.vendorCode }
        : {}),
      ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
      raw: error.toJSON(),
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    code: 'adapter_error',
    message: redactSecrets(message),
    retryable: false,
    raw: redactValue(error instanceof Error ? { name: error.name, message } : error),
  };
}

/** A record error as stored and reported: a known code (else `adapter_error`), secrets scrubbed. */
export function scrubRecordError(error: CrmRecordError): CrmRecordError {
  const code = RECORD_ERROR_CODES.has(error.code) ? error.code : 'adapter_error';
  return redactValue({ ...error, code, message: redactSecrets(String(error.message)) });
}

/** Thrown inside a CRM run to stop a batch whose CRM went down; never escapes the run. */
export class CrmDownError extends LeadpipeError {
  /** The error records of the stopped batch are dead-lettered with. */
  readonly recordError: CrmRecordError;

  /** @param recordError - why the CRM is down. */
  constructor(recordError: CrmRecordError) {
    super('crm_down', { message: recordError.message, isRetryable: false });
    this.recordError = recordError;
  }
}

/**
 * The dead-letter queue failed to store or remove an entry. Ends the run
 * (rejected with code `dead_letter_failed`): going on could lose records.
 */
export class DeadLetterWriteError extends LeadpipeError {
  /** @param cause - what the queue threw. */
  constructor(cause: unknown) {
    super('dead_letter_failed', {
      message: `The dead-letter queue failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      isRetryable: false,
      cause,
    });
  }
}

/** The error a cancelled run rejects with. */
export function syncAbortedError(signal: AbortSignal): ApiCallError {
  return new ApiCallError('aborted', { message: 'CRM sync was cancelled', cause: signal.reason });
}

import type { CrmRecordError } from '../contracts/crm-adapter.js';
import { ApiCallError, LeadpipeError } from '../contracts/errors.js';
import { redactSecrets } from '../contracts/secrets.js';

/**
 * A {@link CrmRecordError} for records whose call failed as a whole (one
 * chunk of several, say): a leadpipe error keeps its code, vendor code and
 * wait, and is retryable when the error is, or when the quota is spent
 * (the records themselves are fine); anything else is a permanent
 * `adapter_error`.
 */
export function recordErrorFromError(error: unknown): CrmRecordError {
  if (LeadpipeError.isInstance(error)) {
    const code = ApiCallError.isInstance(error) ? error.code : 'adapter_error';
    return {
      code,
      message: error.message,
      retryable: error.isRetryable || code === 'quota_exceeded',
      ...(ApiCallError.isInstance(error) && error.vendorCode !== undefined
        ? { vendorCode: error.vendorCode }
        : {}),
      ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
      raw: error.toJSON(),
    };
  }
  return {
    code: 'adapter_error',
    message: redactSecrets(error instanceof Error ? error.message : String(error)),
    retryable: false,
  };
}

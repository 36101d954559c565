import type { CrmRecordError, CrmRecordErrorCode } from '@leadpipe/core/adapter-kit';
import { z } from 'zod';

/** A per-record error as sObject Collections and Bulk API report it. */
export interface SalesforceRecordErrorBody {
  /** The status code, such as `REQUIRED_FIELD_MISSING` (per-record errors use `statusCode`, not `errorCode`). */
  readonly statusCode: string;
  /** Salesforce's message. */
  readonly message: string;
  /** Fields involved. */
  readonly fields: readonly string[];
}

/** The per-record result array of a Collections call (always HTTP 200, even when records fail). */
export const collectionResultsSchema = z.array(
  z.object({
    id: z.string().nullish(),
    success: z.boolean(),
    created: z.boolean().optional(),
    errors: z
      .array(
        z.object({
          statusCode: z.string(),
          message: z.string().optional(),
          fields: z.array(z.string()).nullish(),
        }),
      )
      .optional(),
  }),
);

const RETRYABLE: Readonly<Record<string, CrmRecordErrorCode>> = {
  UNABLE_TO_LOCK_ROW: 'locked',
  UNKNOWN_EXCEPTION: 'server_error',
  SERVER_UNAVAILABLE: 'server_error',
  ALL_OR_NONE_OPERATION_ROLLED_BACK: 'server_error',
  REQUEST_RUNNING_TOO_LONG: 'timeout',
  API_DISABLED_FOR_ORG: 'forbidden',
  INVALID_SESSION_ID: 'unauthorized',
  REQUEST_LIMIT_EXCEEDED: 'quota_exceeded',
};

const DUPLICATES = new Set(['DUPLICATE_EXTERNAL_ID', 'DUPLICATE_VALUE', 'DUPLICATES_DETECTED']);

/**
 * Map a Salesforce per-record status code to a record error: lock
 * contention (`UNABLE_TO_LOCK_ROW`) and transient server failures are
 * retryable; duplicates are `duplicate_key`; everything about the values
 * (`REQUIRED_FIELD_MISSING`, `INVALID_EMAIL_ADDRESS`, `STRING_TOO_LONG`,
 * restricted picklists, validation rules…) is a permanent `validation_failed`.
 */
export function recordErrorFromStatusCode(error: SalesforceRecordErrorBody): CrmRecordError {
  const fields = error.fields.length > 0 ? ` (${error.fields.join(', ')})` : '';
  const message = `${error.statusCode}: ${error.message}${fields}`;
  const raw = { statusCode: error.statusCode, message: error.message, fields: [...error.fields] };
  const retryableCode = RETRYABLE[error.statusCode];
  if (retryableCode !== undefined) {
    const retryable = retryableCode !== 'forbidden' && retryableCode !== 'unauthorized';
    return { code: retryableCode, message, retryable, vendorCode: error.statusCode, raw };
  }
  if (DUPLICATES.has(error.statusCode)) {
    return { code: 'duplicate_key', message, retryable: false, vendorCode: error.statusCode, raw };
  }
  return { code: 'validation_failed', message, retryable: false, vendorCode: error.statusCode, raw };
}

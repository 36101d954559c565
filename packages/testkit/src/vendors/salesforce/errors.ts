/** A top-level Salesforce REST error, as found in the `[{message, errorCode, fields?}]` array body. */
export interface SalesforceRestError {
  /** Human-readable message. */
  readonly message: string;
  /** Salesforce's code, such as `INVALID_SESSION_ID` or `REQUEST_LIMIT_EXCEEDED`. */
  readonly errorCode: string;
  /** Fields the error is about, when it is about fields. */
  readonly fields?: readonly string[];
}

/** A per-record error of sObject Collections and single-record saves: `statusCode`, not `errorCode`. */
export interface SalesforceRecordError {
  /** Salesforce's code, such as `REQUIRED_FIELD_MISSING`. */
  readonly statusCode: string;
  /** Human-readable message. */
  readonly message: string;
  /** Fields the error is about (may be empty). */
  readonly fields: readonly string[];
}

/** A REST failure to answer with `status` and the array body `[error]`. */
export class SalesforceHttpFailure extends Error {
  /** HTTP status to answer with. */
  readonly status: number;
  /** The errors of the array body. */
  readonly errors: readonly SalesforceRestError[];

  /** @param status - HTTP status; @param errors - the body's errors. */
  constructor(status: number, errors: readonly SalesforceRestError[]) {
    super(errors.map((error) => `${error.errorCode}: ${error.message}`).join('; '));
    this.name = 'SalesforceHttpFailure';
    this.status = status;
    this.errors = errors;
  }
}

/** Shorthand for a failure with one error. */
export function httpFailure(
  status: number,
  errorCode: string,
  message: string,
  fields?: readonly string[],
): SalesforceHttpFailure {
  return new SalesforceHttpFailure(status, [
    fields === undefined ? { message, errorCode } : { message, errorCode, fields },
  ]);
}

/** The body Salesforce sends for an unknown resource. */
export function notFound(): SalesforceHttpFailure {
  return httpFailure(404, 'NOT_FOUND', 'The requested resource does not exist');
}

/** Per-record errors turned into a top-level failure (single-record REST saves answer 400 with them). */
export function recordErrorsToFailure(errors: readonly SalesforceRecordError[]): SalesforceHttpFailure {
  return new SalesforceHttpFailure(
    400,
    errors.map((error) => ({ message: error.message, errorCode: error.statusCode, fields: error.fields })),
  );
}

/** How a Bulk API 2.0 `failedResults` row spells an error: `CODE:message:field1,field2 --`. */
export function bulkErrorText(errors: readonly SalesforceRecordError[]): string {
  return errors.map((error) => `${error.statusCode}:${error.message}:${error.fields.join(',')} --`).join(' ');
}

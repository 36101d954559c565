/**
 * HubSpot error bodies. Every field of HubSpot's error shape is optional
 * (developers.hubspot.com/docs/api-reference/error-handling); these builders
 * produce the shapes observed in the wild and quoted in the reference.
 */

/** One detail of an error (`errors[]`). */
export interface HubspotErrorDetail {
  /** What is wrong. */
  readonly message: string;
  /** Where in the request (a field path). */
  readonly in?: string;
  /** Machine-readable code. */
  readonly code?: string;
  /** Finer category. */
  readonly subCategory?: string;
  /** Values the detail refers to. */
  readonly context?: Record<string, string[]>;
}

/** A top-level error body, and the per-record error (`StandardError`) of batch responses. */
export interface HubspotErrorBody {
  /** Always `error`. */
  readonly status: 'error';
  /** Human-readable message. */
  readonly message: string;
  /** Id of this failure for HubSpot support. */
  readonly correlationId?: string;
  /** Error class, such as `VALIDATION_ERROR`, `CONFLICT`, `OBJECT_NOT_FOUND`. */
  readonly category: string;
  /** Finer category. */
  readonly subCategory?: string;
  /** Details. */
  readonly errors?: readonly HubspotErrorDetail[];
  /** Values the error refers to (ids, trace ids, property names). */
  readonly context?: Record<string, string[]>;
  /** Documentation links. */
  readonly links?: Record<string, string>;
  /** Record id, on some per-record errors. */
  readonly id?: string;
}

/** One invalid property value, as listed inside "Property values were not valid: [...]". */
export interface PropertyValueIssue {
  /** Always false. */
  readonly isValid: false;
  /** What is wrong. */
  readonly message: string;
  /** Code, such as `PROPERTY_DOESNT_EXIST` or `INVALID_EMAIL`. */
  readonly error: string;
  /** The property. */
  readonly name: string;
  /** The message, localized. */
  readonly localizedErrorMessage: string;
  /** Account id. */
  readonly portalId: number;
}

/** A failure found while planning a write, with the status it maps to when the whole request fails. */
export interface WriteFailure {
  /** Status when the failure fails the whole request. */
  readonly httpStatus: 400 | 404 | 409 | 500;
  /** Error body without its correlation id. */
  readonly body: Omit<HubspotErrorBody, 'correlationId'>;
  /** Whether the failure is an attempt to duplicate a unique value. */
  readonly duplicate: boolean;
}

/** The 400 body for invalid property values. */
export function propertyValuesInvalid(issues: readonly PropertyValueIssue[]): WriteFailure {
  return {
    httpStatus: 400,
    duplicate: false,
    body: {
      status: 'error',
      message: `Property values were not valid: ${JSON.stringify(issues)}`,
      category: 'VALIDATION_ERROR',
      context: { propertyName: issues.map((issue) => issue.name) },
    },
  };
}

/** The 400 body for a malformed request (bad JSON, missing fields, limits exceeded). */
export function invalidInput(message: string, details: readonly HubspotErrorDetail[] = []): WriteFailure {
  return {
    httpStatus: 400,
    duplicate: false,
    body: {
      status: 'error',
      message,
      category: 'VALIDATION_ERROR',
      ...(details.length > 0 ? { errors: details } : {}),
    },
  };
}

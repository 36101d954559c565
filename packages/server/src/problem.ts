import { redactSecrets } from '@leadpipe/core';

/** One field that failed validation, in a problem's `issues`. */
export interface ProblemIssue {
  /** Where: a dotted path such as `query.limit` or `body.0.email`. */
  readonly field: string;
  /** Why, for a person. */
  readonly reason: string;
}

/** An RFC 9457 problem document, as every error of the server is answered. */
export interface Problem {
  /** A URI naming the kind of problem (`https://leadpipe.dev/problems/<slug>`). */
  readonly type: string;
  /** Short, the same for every problem of this type. */
  readonly title: string;
  /** The HTTP status. */
  readonly status: number;
  /** What happened this time. Never holds a secret. */
  readonly detail?: string;
  /** The fields at fault, for a validation problem. */
  readonly issues?: readonly ProblemIssue[];
}

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  409: 'Conflict',
  413: 'Payload too large',
  415: 'Unsupported media type',
  422: 'Unprocessable content',
  429: 'Too many requests',
  500: 'Internal server error',
  501: 'Not implemented',
  503: 'Service unavailable',
};

/** The media type of a problem document. */
const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** A problem document for `status`; `slug` names its type (`invalid-input`, `rate-limited`). */
export function problem(
  status: number,
  slug: string,
  detail?: string,
  issues?: readonly ProblemIssue[],
): Problem {
  return {
    type: `https://leadpipe.dev/problems/${slug}`,
    title: TITLES[status] ?? 'Error',
    status,
    ...(detail === undefined ? {} : { detail: redactSecrets(detail) }),
    ...(issues === undefined ? {} : { issues }),
  };
}

/** Answer with a problem document (`application/problem+json`). */
export function problemResponse(value: Problem, headers: Readonly<Record<string, string>> = {}): Response {
  return new Response(JSON.stringify(value), {
    status: value.status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE, ...headers },
  });
}

import { OpenAPIHono } from '@hono/zod-openapi';
import type { GuardVariables } from '../guard.js';
import { problem, problemResponse } from '../problem.js';

/** The API's Hono type: an OpenAPI app whose handlers see the guard's variables. */
export type ApiApp = OpenAPIHono<{ Variables: GuardVariables }>;

/** An API app whose validation failures are answered as 400 problems naming each field. */
export function createApiApp(): ApiApp {
  return new OpenAPIHono<{ Variables: GuardVariables }>({
    defaultHook: (result) => {
      if (result.success) return undefined;
      const issues = result.error.issues.map((issue) => ({
        field: [result.target, ...issue.path.map(String)].join('.'),
        reason: issue.message,
      }));
      return problemResponse(
        problem(
          400,
          'invalid-input',
          issues.map((issue) => `${issue.field}: ${issue.reason}`).join('; '),
          issues,
        ),
      );
    },
  });
}

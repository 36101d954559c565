import { z } from '@hono/zod-openapi';

/** A problem document, as every error is answered. */
const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    issues: z.array(z.object({ field: z.string(), reason: z.string() })).optional(),
  })
  .openapi('Problem');

const problemContent = { 'application/problem+json': { schema: ProblemSchema } };

/** The error answers every guarded route may give. */
export const GUARDED_ERRORS = {
  400: { description: 'Invalid input', content: problemContent },
  401: { description: 'No key, or an unknown or revoked key', content: problemContent },
  403: { description: 'The key lacks the scope', content: problemContent },
  429: { description: 'Rate limited (see Retry-After)', content: problemContent },
} as const;

/** A 404 answer. */
export const NOT_FOUND = { 404: { description: 'Not found', content: problemContent } } as const;

/** A 501 answer: the server was started without what the route needs. */
export const NOT_CONFIGURED = {
  501: { description: 'Not configured on this server', content: problemContent },
} as const;

/** The bearer security requirement of guarded routes. */
export const SECURITY = [{ bearer: [] }];

/** A JSON body of `schema`. */
export function json<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } };
}

/** A lead as the API returns it: the store's record (fields as asked). */
export const LeadRecordSchema = z.object({ id: z.string() }).catchall(z.unknown()).openapi('Lead', {
  description: 'A stored lead: `id` and the fields asked for (see the Lead schema of @leadpipe/core).',
});

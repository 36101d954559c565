import { createRoute, z } from '@hono/zod-openapi';
import { type CrmSync, type DeadLetterQueue, redrive } from '@leadpipe/core';
import type { GuardContext } from '../guard.js';
import { guard } from '../guard.js';
import { problem, problemResponse } from '../problem.js';
import type { ApiApp } from './app.js';
import { GUARDED_ERRORS, json, NOT_CONFIGURED, SECURITY } from './schemas.js';

const EntrySchema = z
  .object({
    id: z.string(),
    target: z.string(),
    object: z.string(),
    idProperty: z.string(),
    leadIds: z.array(z.string()),
    error: z.record(z.string(), z.unknown()),
    attempts: z.number(),
    firstFailedAt: z.string(),
    lastFailedAt: z.string(),
  })
  .openapi('DeadLetter', {
    description: 'A record a CRM refused; the record itself is left out (it holds personal data).',
  });

const RedriveSchema = z
  .object({
    ids: z
      .array(z.string().min(1))
      .min(1)
      .max(10_000)
      .optional()
      .openapi({ description: 'Only these entries; default all' }),
    retryableOnly: z.boolean().optional().openapi({ description: 'Only entries whose error is retryable' }),
  })
  .openapi('DeadLetterRedrive');

/** `/v1/dead-letters`: list (read), redrive (write). */
export function mountDeadLetterRoutes(
  app: ApiApp,
  queue: DeadLetterQueue | undefined,
  crmSync: CrmSync | undefined,
  context: GuardContext,
): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/dead-letters',
      summary: 'Dead letters of CRM sync, oldest first, one page at a time',
      tags: ['dead-letters'],
      security: SECURITY,
      middleware: [guard(context, 'read')],
      request: {
        query: z.object({
          limit: z.coerce.number().int().min(1).max(500).optional(),
          cursor: z.string().min(1).max(2000).optional(),
        }),
      },
      responses: {
        200: json(
          z.object({ entries: z.array(EntrySchema), size: z.number(), nextCursor: z.string().optional() }),
          'A page',
        ),
        ...GUARDED_ERRORS,
        ...NOT_CONFIGURED,
      },
    }),
    async (c) => {
      if (queue === undefined)
        return problemResponse(
          problem(501, 'not-configured', 'this server has no dead-letter queue'),
        ) as never;
      const { limit, cursor } = c.req.valid('query');
      const page = await queue.list({
        ...(limit === undefined ? {} : { limit }),
        ...(cursor === undefined ? {} : { cursor }),
      });
      return c.json(
        {
          entries: page.entries.map(({ record: _record, ...entry }) => ({
            ...entry,
            leadIds: [...entry.leadIds],
            error: { ...entry.error } as Record<string, unknown>,
          })),
          size: await queue.size(),
          ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor }),
        },
        200,
      );
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/dead-letters/redrive',
      summary: 'Send dead letters to their CRM again; those that succeed leave the queue',
      tags: ['dead-letters'],
      security: SECURITY,
      middleware: [guard(context, 'write')],
      request: { body: { content: { 'application/json': { schema: RedriveSchema } }, required: true } },
      responses: {
        200: json(z.record(z.string(), z.unknown()).openapi('CrmSyncReport'), 'The sync report'),
        ...GUARDED_ERRORS,
        ...NOT_CONFIGURED,
      },
    }),
    async (c) => {
      if (queue === undefined || crmSync === undefined)
        return problemResponse(
          problem(
            501,
            'not-configured',
            'redrive needs a dead-letter queue and a CRM sync (options deadLetters and crmSync)',
          ),
        ) as never;
      const { ids, retryableOnly } = c.req.valid('json');
      const wanted = ids === undefined ? undefined : new Set(ids);
      const report = await redrive(
        queue,
        crmSync,
        (entry) =>
          (wanted === undefined || wanted.has(entry.id)) && (retryableOnly !== true || entry.error.retryable),
      );
      return c.json(JSON.parse(JSON.stringify(report)) as Record<string, unknown>, 200);
    },
  );
}

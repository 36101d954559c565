import { createRoute, z } from '@hono/zod-openapi';
import {
  LEAD_STORE_MAX_PAGE,
  type Lead,
  LeadpipeError,
  type LeadStoreFilter,
  type LeadStoreQuery,
  type LeadStoreV1,
  type LeadUpsertOutcome,
  safeCreateLead,
  ValidationError,
} from '@leadpipe/core';
import type { GuardContext } from '../guard.js';
import { guard } from '../guard.js';
import { problem, problemResponse } from '../problem.js';
import type { ApiApp } from './app.js';
import { GUARDED_ERRORS, json, LeadRecordSchema, NOT_FOUND, SECURITY } from './schemas.js';

const commaList = z.string().transform((text) =>
  text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== ''),
);

/** `GET /v1/leads` query: the store's filters, search, fields, order and cursor pagination. */
const LeadQuerySchema = z.object({
  emailDomain: z.string().min(1).max(253).optional().openapi({ example: 'acme.com' }),
  companyDomain: z.string().min(1).max(253).optional(),
  industry: z.string().min(1).max(200).optional(),
  country: z.string().min(1).max(100).optional(),
  title: z.string().min(1).max(200).optional().openapi({ description: 'Title contains these words' }),
  seniority: commaList.optional().openapi({ type: 'string', example: 'vp,director' }),
  headcountMin: z.coerce.number().int().min(0).optional(),
  headcountMax: z.coerce.number().int().min(0).optional(),
  updatedSince: z.iso.datetime({ offset: true }).optional(),
  search: z.string().min(1).max(200).optional(),
  fields: commaList.optional().openapi({ type: 'string', example: 'email,title,company.name' }),
  orderBy: z.enum(['id', 'updatedAt']).optional(),
  limit: z.coerce.number().int().min(1).max(LEAD_STORE_MAX_PAGE).optional(),
  cursor: z.string().min(1).max(2000).optional(),
});

const PageSchema = z
  .object({ leads: z.array(LeadRecordSchema), nextCursor: z.string().optional() })
  .openapi('LeadPage');

const UpsertBodySchema = z
  .object({
    leads: z
      .array(z.record(z.string(), z.unknown()))
      .min(1)
      .max(LEAD_STORE_MAX_PAGE)
      .openapi({ description: 'Lead inputs, as `createLead` of @leadpipe/core takes them' }),
  })
  .openapi('LeadUpsert');

const OutcomeSchema = z
  .object({
    status: z.enum(['created', 'updated', 'unchanged', 'rejected']),
    id: z.string().optional(),
    identity: z.string().optional(),
    issues: z.array(z.object({ field: z.string(), reason: z.string() })).optional(),
  })
  .openapi('LeadUpsertOutcome');

const EraseBodySchema = z.object({ email: z.email() }).openapi('LeadErase');

/** Turn the query parameters into the store's query. */
function toStoreQuery(query: z.output<typeof LeadQuerySchema>): LeadStoreQuery {
  const where: Record<string, unknown> = {};
  for (const name of [
    'emailDomain',
    'companyDomain',
    'industry',
    'country',
    'title',
    'updatedSince',
  ] as const)
    if (query[name] !== undefined) where[name] = query[name];
  if (query.seniority !== undefined) where.seniority = query.seniority;
  if (query.headcountMin !== undefined || query.headcountMax !== undefined)
    where.headcount = {
      ...(query.headcountMin === undefined ? {} : { min: query.headcountMin }),
      ...(query.headcountMax === undefined ? {} : { max: query.headcountMax }),
    };
  return {
    ...(Object.keys(where).length > 0 ? { where: where as LeadStoreFilter } : {}),
    ...(query.search === undefined ? {} : { search: query.search }),
    ...(query.fields === undefined ? {} : { fields: query.fields as LeadStoreQuery['fields'] }),
    ...(query.orderBy === undefined ? {} : { orderBy: query.orderBy }),
    ...(query.limit === undefined ? {} : { limit: query.limit }),
    ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
  };
}

/** A store's refusal of a query (bad cursor, unknown field) as a 400 problem naming the fields. */
function storeRefusal(error: unknown): Response | undefined {
  if (ValidationError.isInstance(error))
    return problemResponse(
      problem(
        400,
        'invalid-input',
        error.issues.map((issue) => `${issue.field}: ${issue.reason}`).join('; '),
        error.issues,
      ),
    );
  if (LeadpipeError.isInstance(error) && error.code === 'validation_failed')
    return problemResponse(problem(400, 'invalid-input', error.message));
  return undefined;
}

/** `/v1/leads`: query (read), get (read), upsert (write), erase (admin). */
export function mountLeadRoutes(app: ApiApp, leads: LeadStoreV1, context: GuardContext): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/leads',
      summary: 'Query leads with the store filters, one page at a time',
      tags: ['leads'],
      security: SECURITY,
      middleware: [guard(context, 'read')],
      request: { query: LeadQuerySchema },
      responses: {
        200: json(PageSchema, 'A page of leads; pass nextCursor back as cursor'),
        ...GUARDED_ERRORS,
      },
    }),
    async (c) => {
      try {
        const page = await leads.query(toStoreQuery(c.req.valid('query')));
        return c.json(
          {
            leads: page.leads as z.infer<typeof LeadRecordSchema>[],
            ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor }),
          },
          200,
        );
      } catch (error) {
        const refused = storeRefusal(error);
        if (refused !== undefined) return refused as never;
        throw error;
      }
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/leads/{id}',
      summary: 'Get one lead by id',
      tags: ['leads'],
      security: SECURITY,
      middleware: [guard(context, 'read')],
      request: { params: z.object({ id: z.string().min(1).max(200) }) },
      responses: { 200: json(LeadRecordSchema, 'The lead'), ...GUARDED_ERRORS, ...NOT_FOUND },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const lead = await leads.get(id);
      if (lead === undefined)
        return problemResponse(problem(404, 'not-found', `no lead with id "${id}"`)) as never;
      return c.json({ ...(lead as object), id } as z.infer<typeof LeadRecordSchema>, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/leads',
      summary: 'Upsert up to 100 leads by identity; one outcome per lead, in order',
      tags: ['leads'],
      security: SECURITY,
      middleware: [guard(context, 'write')],
      request: { body: { content: { 'application/json': { schema: UpsertBodySchema } }, required: true } },
      responses: {
        200: json(
          z.object({ outcomes: z.array(OutcomeSchema) }),
          'One outcome per lead: a bad lead is rejected with its issues, the others are written',
        ),
        ...GUARDED_ERRORS,
      },
    }),
    async (c) => {
      const { leads: inputs } = c.req.valid('json');
      const outcomes: (LeadUpsertOutcome | undefined)[] = inputs.map(() => undefined);
      const valid: Lead[] = [];
      const positions: number[] = [];
      inputs.forEach((input, index) => {
        const created = safeCreateLead(input);
        if (created.success) {
          valid.push(created.lead);
          positions.push(index);
        } else {
          outcomes[index] = {
            status: 'rejected',
            issues: created.error.issues.map((issue) => ({
              field: `leads.${index}.${issue.field}`,
              reason: issue.reason,
            })),
          };
        }
      });
      if (valid.length > 0) {
        const written = await leads.upsert(valid);
        written.forEach((outcome, index) => {
          outcomes[positions[index]!] = outcome;
        });
      }
      return c.json({ outcomes: outcomes as z.infer<typeof OutcomeSchema>[] }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/leads/erase',
      summary: 'Erase a person everywhere the store keeps them (GDPR/CCPA)',
      tags: ['leads'],
      security: SECURITY,
      middleware: [guard(context, 'admin')],
      request: { body: { content: { 'application/json': { schema: EraseBodySchema } }, required: true } },
      responses: {
        200: json(
          z
            .object({ email: z.string(), removed: z.record(z.string(), z.number()) })
            .openapi('LeadEraseReport'),
          'What was removed, by place',
        ),
        ...GUARDED_ERRORS,
      },
    }),
    async (c) => {
      const report = await leads.erase(c.req.valid('json').email);
      return c.json({ email: report.email, removed: { ...report.removed } }, 200);
    },
  );
}

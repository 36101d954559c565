import { createRoute, z } from '@hono/zod-openapi';
import type { GuardContext } from '../guard.js';
import { guard } from '../guard.js';
import { API_KEY_SCOPES, type ApiKeyRecord } from '../keys/key-store.js';
import { problem, problemResponse } from '../problem.js';
import type { ApiApp } from './app.js';
import { GUARDED_ERRORS, json, NOT_FOUND, SECURITY } from './schemas.js';

const ScopeSchema = z.enum(API_KEY_SCOPES as ['read', 'write', 'admin']);

const KeyRecordSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    scopes: z.array(ScopeSchema),
    createdAt: z.string(),
    revokedAt: z.string().optional(),
    rotatedFrom: z.string().optional(),
  })
  .openapi('ApiKey', { description: 'A stored key: never the key, nor its hash.' });

const IssuedSchema = z
  .object({
    key: z.string().openapi({ description: 'Shown once; only its hash is kept' }),
    record: KeyRecordSchema,
  })
  .openapi('IssuedApiKey');

const shown = ({ hash: _hash, ...record }: ApiKeyRecord) => ({ ...record, scopes: [...record.scopes] });

/** `/v1/keys`: list, create, rotate, revoke (admin). */
export function mountKeyRoutes(app: ApiApp, context: GuardContext): void {
  const keys = context.keys;
  const common = { tags: ['keys'], security: SECURITY, middleware: [guard(context, 'admin')] };
  app.openapi(
    createRoute({
      ...common,
      method: 'get',
      path: '/v1/keys',
      summary: 'Every key (revoked included)',
      responses: { 200: json(z.object({ keys: z.array(KeyRecordSchema) }), 'The keys'), ...GUARDED_ERRORS },
    }),
    async (c) => c.json({ keys: (await keys.list()).map(shown) }, 200),
  );
  app.openapi(
    createRoute({
      ...common,
      method: 'post',
      path: '/v1/keys',
      summary: 'Make a key',
      request: {
        body: {
          content: {
            'application/json': {
              schema: z.object({
                name: z.string().trim().min(1).max(200),
                scopes: z.array(ScopeSchema).min(1),
              }),
            },
          },
          required: true,
        },
      },
      responses: { 201: json(IssuedSchema, 'The new key'), ...GUARDED_ERRORS },
    }),
    async (c) => {
      const issued = await keys.create(c.req.valid('json'));
      return c.json({ key: issued.key, record: shown(issued.record) }, 201);
    },
  );
  app.openapi(
    createRoute({
      ...common,
      method: 'post',
      path: '/v1/keys/{id}/rotate',
      summary: 'Replace a key: a new key with the same name and scopes; the old one stops working at once',
      request: { params: z.object({ id: z.string().min(1).max(64) }) },
      responses: { 201: json(IssuedSchema, 'The new key'), ...GUARDED_ERRORS, ...NOT_FOUND },
    }),
    async (c) => {
      const issued = await keys.rotate(c.req.valid('param').id);
      if (issued === undefined)
        return problemResponse(problem(404, 'not-found', 'no active key with this id')) as never;
      return c.json({ key: issued.key, record: shown(issued.record) }, 201);
    },
  );
  app.openapi(
    createRoute({
      ...common,
      method: 'delete',
      path: '/v1/keys/{id}',
      summary: 'Revoke a key',
      request: { params: z.object({ id: z.string().min(1).max(64) }) },
      responses: { 204: { description: 'Revoked' }, ...GUARDED_ERRORS, ...NOT_FOUND },
    }),
    async (c) => {
      if (!(await keys.revoke(c.req.valid('param').id)))
        return problemResponse(problem(404, 'not-found', 'no active key with this id')) as never;
      return c.body(null, 204);
    },
  );
}

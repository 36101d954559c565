import type { Context } from 'hono';
import { z } from 'zod';
import { invalidInput } from './errors.js';
import type { RouteDeps } from './http.js';
import { apiRoute, batchTimes, errorResponse, failureResponse, json, noContent, readBody } from './http.js';
import { ASSOCIATION_LABELS, COMPANY_TO_CONTACT_TYPES, CONTACT_TO_COMPANY_TYPES } from './store.js';
import type { HubspotObjectType } from './types.js';
import { objectTypeId, objectTypeLabel, parseObjectType } from './util.js';

const idSchema = z.union([z.string().min(1), z.number()]).transform(String);
const typeSchema = z.object({
  associationCategory: z.enum(['HUBSPOT_DEFINED', 'USER_DEFINED', 'INTEGRATOR_DEFINED']),
  associationTypeId: z.number().int(),
});
const batchCreateSchema = z.object({
  inputs: z.array(
    z.object({
      from: z.object({ id: idSchema }),
      to: z.object({ id: idSchema }),
      types: z.array(typeSchema).min(1),
    }),
  ),
});
const batchDefaultSchema = z.object({
  inputs: z.array(z.object({ from: z.object({ id: idSchema }), to: z.object({ id: idSchema }) })),
});
const batchReadSchema = z.object({ inputs: z.array(z.object({ id: idSchema })) });
const batchArchiveSchema = z.object({
  inputs: z.array(z.object({ from: z.object({ id: idSchema }), to: z.array(z.object({ id: idSchema })) })),
});

type Pair = { readonly from: HubspotObjectType; readonly to: HubspotObjectType };

/** Register the v4 association endpoints for contacts <-> companies. */
export function registerAssociationRoutes(deps: RouteDeps): void {
  const { store, context } = deps;
  const now = () => context.clock.now();

  const pairOf = (from: string | undefined, to: string | undefined): Pair | undefined => {
    const fromType = parseObjectType(from);
    const toType = parseObjectType(to);
    if (fromType === undefined || toType === undefined || fromType === toType) return undefined;
    return { from: fromType, to: toType };
  };
  const unsupported = () =>
    errorResponse(deps, 400, {
      status: 'error',
      category: 'VALIDATION_ERROR',
      message: 'The emulator supports associations between contacts and companies only',
    });
  const defaultType = (pair: Pair) => (pair.from === 'contacts' ? 279 : 280);
  const allowed = (pair: Pair) =>
    pair.from === 'contacts' ? CONTACT_TO_COMPANY_TYPES : COMPANY_TO_CONTACT_TYPES;
  /** Store types given from `pair.from`'s side. */
  const link = (pair: Pair, fromId: string, toId: string, typeIds: readonly number[]) => {
    if (pair.from === 'contacts') store.associate(fromId, toId, typeIds);
    else
      store.associate(
        toId,
        fromId,
        typeIds.map((typeId) => COMPANY_TO_CONTACT_TYPES.get(typeId) ?? typeId),
      );
  };
  const unlink = (pair: Pair, fromId: string, toId: string) =>
    pair.from === 'contacts' ? store.dissociate(fromId, toId) : store.dissociate(toId, fromId);
  const exists = (pair: Pair, fromId: string, toId: string) =>
    store.find(pair.from, fromId) !== undefined && store.find(pair.to, toId) !== undefined;
  const missingMessage = (pair: Pair, fromId: string, toId: string) =>
    `One or more objects were not found: ${objectTypeLabel(pair.from)} ${fromId}, ${objectTypeLabel(pair.to)} ${toId}`;
  const spec = (typeId: number) => ({ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: typeId });
  const defaultResults = (pair: Pair, fromId: string, toId: string) => {
    const forward = defaultType(pair);
    const reverse = pair.from === 'contacts' ? 280 : 279;
    return [
      { from: { id: fromId }, to: { id: toId }, associationSpec: spec(forward) },
      { from: { id: toId }, to: { id: fromId }, associationSpec: spec(reverse) },
    ];
  };
  const labelsBetween = (pair: Pair, fromId: string, toId: string) => {
    const entry = store.associationsOf(pair.from, fromId).find((item) => item.id === toId);
    return {
      fromObjectTypeId: objectTypeId(pair.from),
      fromObjectId: Number(fromId),
      toObjectTypeId: objectTypeId(pair.to),
      toObjectId: Number(toId),
      labels: (entry?.typeIds ?? [])
        .map((typeId) => ASSOCIATION_LABELS.get(typeId) ?? null)
        .filter((label) => label !== null),
    };
  };
  const associationTypes = (typeIds: readonly number[]) =>
    typeIds.map((typeId) => ({
      category: 'HUBSPOT_DEFINED',
      typeId,
      label: ASSOCIATION_LABELS.get(typeId) ?? null,
    }));
  const notFound = (pair: Pair, fromId: string, toId: string) =>
    errorResponse(deps, 404, {
      status: 'error',
      category: 'OBJECT_NOT_FOUND',
      message: missingMessage(pair, fromId, toId),
    });
  /** A batch answer: 207 with the errors when there are any, else `okStatus`. */
  const batchAnswer = (
    okStatus: number,
    results: readonly unknown[],
    errors: readonly unknown[],
    startedAt: number,
  ) =>
    json(errors.length > 0 ? 207 : okStatus, {
      status: 'COMPLETE',
      results,
      ...(errors.length > 0 ? { numErrors: errors.length, errors } : {}),
      ...batchTimes(startedAt, now()),
    });
  /** A route between two object types named in its path (`:fromType`, `:toType`); other pairs get a 400. */
  const pairRoute = (
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    endpoint: string,
    handler: (c: Context, pair: Pair) => Promise<Response> | Response,
  ) =>
    apiRoute(deps, method, [path], endpoint, {}, (c) => {
      const pair = pairOf(c.req.param('fromType'), c.req.param('toType'));
      return pair === undefined ? unsupported() : handler(c, pair);
    });
  /** A v4 batch route (`/crm/v4/associations/{from}/{to}/batch/<action>`) whose body `schema` parses. */
  const batchRoute = <Schema extends z.ZodType>(
    action: string,
    schema: Schema,
    handler: (pair: Pair, body: z.infer<Schema>, startedAt: number) => Response,
  ) =>
    pairRoute(
      'POST',
      `/crm/v4/associations/:fromType/:toType/batch/${action}`,
      `POST /crm/v4/associations/{from}/{to}/batch/${action}`,
      async (c, pair) => {
        const startedAt = now();
        const body = await readBody(deps, c, schema);
        return body.ok ? handler(pair, body.value, startedAt) : body.response;
      },
    );

  pairRoute(
    'PUT',
    '/crm/v4/objects/:fromType/:fromId/associations/default/:toType/:toId',
    'PUT /crm/v4/objects/{from}/{id}/associations/default/{to}/{toId}',
    (c, pair) => {
      const fromId = c.req.param('fromId') ?? '';
      const toId = c.req.param('toId') ?? '';
      if (!exists(pair, fromId, toId)) return notFound(pair, fromId, toId);
      const startedAt = now();
      link(pair, fromId, toId, [defaultType(pair)]);
      context.counters.increment('hubspot.associations.created');
      return json(200, {
        status: 'COMPLETE',
        results: defaultResults(pair, fromId, toId),
        ...batchTimes(startedAt, now()),
      });
    },
  );

  pairRoute(
    'PUT',
    '/crm/v4/objects/:fromType/:fromId/associations/:toType/:toId',
    'PUT /crm/v4/objects/{from}/{id}/associations/{to}/{toId}',
    async (c, pair) => {
      const fromId = c.req.param('fromId') ?? '';
      const toId = c.req.param('toId') ?? '';
      const body = await readBody(deps, c, z.array(typeSchema).min(1));
      if (!body.ok) return body.response;
      const bad = body.value.find((type) => !allowed(pair).has(type.associationTypeId));
      if (bad !== undefined) {
        return failureResponse(
          deps,
          invalidInput(`associationTypeId ${bad.associationTypeId} is not valid between these object types`),
        );
      }
      if (!exists(pair, fromId, toId)) return notFound(pair, fromId, toId);
      link(
        pair,
        fromId,
        toId,
        body.value.map((type) => type.associationTypeId),
      );
      context.counters.increment('hubspot.associations.created');
      return json(201, labelsBetween(pair, fromId, toId));
    },
  );

  pairRoute(
    'GET',
    '/crm/v4/objects/:fromType/:fromId/associations/:toType',
    'GET /crm/v4/objects/{from}/{id}/associations/{to}',
    (c, pair) => {
      const results = store
        .associationsOf(pair.from, c.req.param('fromId') ?? '')
        .map((item) => ({ toObjectId: Number(item.id), associationTypes: associationTypes(item.typeIds) }));
      return json(200, { results });
    },
  );

  pairRoute(
    'DELETE',
    '/crm/v4/objects/:fromType/:fromId/associations/:toType/:toId',
    'DELETE /crm/v4/objects/{from}/{id}/associations/{to}/{toId}',
    (c, pair) => {
      unlink(pair, c.req.param('fromId') ?? '', c.req.param('toId') ?? '');
      return noContent();
    },
  );

  batchRoute('create', batchCreateSchema, (pair, body, startedAt) => {
    const results: Record<string, unknown>[] = [];
    const errors: Record<string, unknown>[] = [];
    for (const input of body.inputs) {
      const bad = input.types.find((type) => !allowed(pair).has(type.associationTypeId));
      if (bad !== undefined) {
        errors.push({
          status: 'error',
          category: 'VALIDATION_ERROR',
          message: `associationTypeId ${bad.associationTypeId} is not valid between these object types`,
          context: { fromObjectId: [input.from.id], toObjectId: [input.to.id] },
        });
      } else if (!exists(pair, input.from.id, input.to.id)) {
        errors.push({
          status: 'error',
          category: 'VALIDATION_ERROR',
          message: missingMessage(pair, input.from.id, input.to.id),
          context: { fromObjectId: [input.from.id], toObjectId: [input.to.id] },
        });
      } else {
        link(
          pair,
          input.from.id,
          input.to.id,
          input.types.map((type) => type.associationTypeId),
        );
        context.counters.increment('hubspot.associations.created');
        results.push(labelsBetween(pair, input.from.id, input.to.id));
      }
    }
    return batchAnswer(deps.associationBatchCreateStatus, results, errors, startedAt);
  });

  batchRoute('associate/default', batchDefaultSchema, (pair, body, startedAt) => {
    const missing = body.inputs.find((input) => !exists(pair, input.from.id, input.to.id));
    if (missing !== undefined) {
      return failureResponse(deps, invalidInput(missingMessage(pair, missing.from.id, missing.to.id)));
    }
    const results = body.inputs.flatMap((input) => {
      link(pair, input.from.id, input.to.id, [defaultType(pair)]);
      context.counters.increment('hubspot.associations.created');
      return defaultResults(pair, input.from.id, input.to.id);
    });
    return json(200, { status: 'COMPLETE', results, ...batchTimes(startedAt, now()) });
  });

  batchRoute('read', batchReadSchema, (pair, body, startedAt) => {
    const results: Record<string, unknown>[] = [];
    const missing: string[] = [];
    for (const input of body.inputs) {
      if (store.find(pair.from, input.id) === undefined) {
        missing.push(input.id);
        continue;
      }
      results.push({
        from: { id: input.id },
        to: store.associationsOf(pair.from, input.id).map((item) => ({
          toObjectId: Number(item.id),
          associationTypes: associationTypes(item.typeIds),
        })),
      });
    }
    const errors =
      missing.length === 0
        ? []
        : [
            {
              status: 'error',
              category: 'OBJECT_NOT_FOUND',
              message: 'No associations found',
              context: { fromObjectId: missing },
            },
          ];
    return batchAnswer(200, results, errors, startedAt);
  });

  batchRoute('archive', batchArchiveSchema, (pair, body) => {
    for (const input of body.inputs) for (const to of input.to) unlink(pair, input.from.id, to.id);
    return noContent();
  });
}

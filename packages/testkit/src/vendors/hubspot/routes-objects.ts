import type { Context } from 'hono';
import { z } from 'zod';
import type { HubspotErrorBody, WriteFailure } from './errors.js';
import { invalidInput } from './errors.js';
import type { RouteDeps } from './http.js';
import {
  apiRoute,
  batchTimes,
  errorResponse,
  failureResponse,
  json,
  listQuery,
  noContent,
  notFound,
  objectJson,
  readBody,
} from './http.js';
import { checkFilters, runSearch, searchBodySchema } from './search.js';
import type { BatchClaims, PlanResult, StoredObject, WritePlan } from './store.js';
import { COMPANY_TO_CONTACT_TYPES, CONTACT_TO_COMPANY_TYPES } from './store.js';
import type { HubspotObjectType } from './types.js';
import { objectTypeId, objectTypeLabel, parseObjectType } from './util.js';

/** Maximum inputs of a CRM object batch request. */
const BATCH_LIMIT = 100;
/** Search results reachable through paging. */
const SEARCH_RESULT_CAP = 10_000;

const propertiesSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]));
const associationTypeSchema = z.object({
  associationCategory: z.enum(['HUBSPOT_DEFINED', 'USER_DEFINED', 'INTEGRATOR_DEFINED']),
  associationTypeId: z.number().int(),
});
const associationInputSchema = z.object({
  to: z.object({ id: z.union([z.string(), z.number()]).transform(String) }),
  types: z.array(associationTypeSchema).min(1),
});
const createSchema = z.object({
  properties: propertiesSchema,
  associations: z.array(associationInputSchema).optional(),
  objectWriteTraceId: z.string().optional(),
});
const updateSchema = z.object({ properties: propertiesSchema });
const idSchema = z.union([z.string().min(1), z.number()]).transform(String);
const batchInputs = <Item extends z.ZodType>(item: Item) =>
  z.array(item).max(BATCH_LIMIT, { message: `Batch input limit exceeded. Maximum allowed: ${BATCH_LIMIT}` });
const batchCreateSchema = z.object({ inputs: batchInputs(createSchema) });
const batchUpdateSchema = z.object({
  inputs: batchInputs(
    z.object({
      id: idSchema,
      idProperty: z.string().optional(),
      properties: propertiesSchema,
      objectWriteTraceId: z.string().optional(),
    }),
  ),
});
const batchReadSchema = z.object({
  inputs: batchInputs(z.object({ id: idSchema })),
  properties: z.array(z.string()).optional(),
  propertiesWithHistory: z.array(z.string()).optional(),
  idProperty: z.string().optional(),
});
const batchArchiveSchema = z.object({ inputs: batchInputs(z.object({ id: idSchema })) });

/** Paths of the object routes: the v3 path and the date-versioned path of newer docs. */
function paths(suffix: string): string[] {
  return [`/crm/v3/objects/:objectType${suffix}`, `/crm/objects/:version/:objectType${suffix}`];
}

function nonUniqueIdProperty(objectType: HubspotObjectType, name: string): WriteFailure {
  return invalidInput(
    `Unable to perform update/upsert by non-unique ${objectTypeId(objectType)} property ${name}`,
  );
}

/** A per-record error of a batch response, from a failure. */
function recordError(
  failure: WriteFailure,
  id: string | undefined,
  traceId: string | undefined,
): HubspotErrorBody {
  const context: Record<string, string[]> = { ...failure.body.context };
  if (id !== undefined) context.ids = [id];
  if (traceId !== undefined) context.objectWriteTraceId = [traceId];
  return { ...failure.body, context };
}

/** Register contacts/companies CRUD, batch and search routes. */
export function registerObjectRoutes(deps: RouteDeps): void {
  const { store, context } = deps;
  const { counters } = context;
  const now = () => context.clock.now();

  const withType = (
    c: Context,
    run: (objectType: HubspotObjectType) => Promise<Response> | Response,
  ): Promise<Response> | Response => {
    const objectType = parseObjectType(c.req.param('objectType'));
    if (objectType === undefined) return notFound(deps, undefined, c.req.param('objectType') ?? '');
    return run(objectType);
  };

  const injectedFailure = (): WriteFailure | undefined => {
    const { partialFailureRate = 0, partialFailureCategory = 'VALIDATION_ERROR' } = deps.faults();
    if (partialFailureRate <= 0 || context.random() >= partialFailureRate) return undefined;
    counters.increment('hubspot.faults.partialFailure');
    return {
      httpStatus: partialFailureCategory === 'VALIDATION_ERROR' ? 400 : 500,
      duplicate: false,
      body: {
        status: 'error',
        category: partialFailureCategory,
        message:
          partialFailureCategory === 'VALIDATION_ERROR'
            ? 'Property values were not valid: [{"isValid":false,"message":"Injected failure","error":"INVALID_VALUE"}]'
            : 'Internal error while writing this record',
      },
    };
  };

  const countFailure = (failure: WriteFailure): void => {
    if (failure.duplicate) counters.increment('hubspot.duplicates');
  };

  const commit = (plan: WritePlan): StoredObject => {
    const { record, created } = store.commit(plan);
    counters.increment(created ? 'hubspot.created' : 'hubspot.updated');
    return record;
  };

  /** Validate associations given on create; returns a failure or the links to add after commit. */
  const planAssociations = (
    objectType: HubspotObjectType,
    inputs: z.infer<typeof associationInputSchema>[] | undefined,
  ): WriteFailure | ((id: string) => void) => {
    const links: { otherId: string; typeIds: number[] }[] = [];
    for (const input of inputs ?? []) {
      const otherType: HubspotObjectType = objectType === 'contacts' ? 'companies' : 'contacts';
      if (store.find(otherType, input.to.id) === undefined) {
        return invalidInput(`${objectTypeLabel(otherType)} ${input.to.id} does not exist`);
      }
      const allowed = objectType === 'contacts' ? CONTACT_TO_COMPANY_TYPES : COMPANY_TO_CONTACT_TYPES;
      const typeIds: number[] = [];
      for (const type of input.types) {
        if (!allowed.has(type.associationTypeId)) {
          return invalidInput(
            `associationTypeId ${type.associationTypeId} is not valid between these object types`,
          );
        }
        typeIds.push(
          objectType === 'contacts'
            ? type.associationTypeId
            : (COMPANY_TO_CONTACT_TYPES.get(type.associationTypeId) ?? type.associationTypeId),
        );
      }
      links.push({ otherId: input.to.id, typeIds });
    }
    return (id: string) => {
      for (const link of links) {
        if (objectType === 'contacts') store.associate(id, link.otherId, link.typeIds);
        else store.associate(link.otherId, id, link.typeIds);
      }
    };
  };

  // List
  apiRoute(deps, 'GET', paths(''), 'GET /crm/v3/objects/{objectType}', {}, (c) =>
    withType(c, (objectType) => {
      const limit = Number(c.req.query('limit') ?? '10');
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
        return failureResponse(deps, invalidInput('limit must be an integer between 1 and 100'));
      }
      const after = c.req.query('after');
      const archived = c.req.query('archived') === 'true';
      const all = store.list(objectType, archived);
      const start = after === undefined ? 0 : all.findIndex((record) => Number(record.id) >= Number(after));
      const page = start < 0 ? [] : all.slice(start, start + limit);
      const next = start < 0 ? undefined : all[start + limit];
      const requested = listQuery(c, 'properties');
      return json(200, {
        results: page.map((record) => objectJson(deps, record, requested)),
        ...(next !== undefined ? { paging: { next: { after: next.id, link: `?after=${next.id}` } } } : {}),
      });
    }),
  );

  // Create one
  apiRoute(deps, 'POST', paths(''), 'POST /crm/v3/objects/{objectType}', {}, (c) =>
    withType(c, async (objectType) => {
      const body = await readBody(deps, c, createSchema);
      if (!body.ok) return body.response;
      const linker = planAssociations(objectType, body.value.associations);
      if (typeof linker !== 'function') return failureResponse(deps, linker);
      const planned = store.planWrite(objectType, undefined, body.value.properties);
      if (!planned.ok) {
        countFailure(planned.failure);
        return failureResponse(deps, planned.failure);
      }
      const record = commit(planned.plan);
      linker(record.id);
      return json(201, objectJson(deps, record, undefined, Object.keys(body.value.properties)));
    }),
  );

  // Read one
  apiRoute(deps, 'GET', paths('/:id'), 'GET /crm/v3/objects/{objectType}/{id}', {}, (c) =>
    withType(c, (objectType) => {
      const id = c.req.param('id') ?? '';
      const idProperty = c.req.query('idProperty');
      if (idProperty !== undefined && !store.isIdProperty(objectType, idProperty)) {
        return failureResponse(deps, nonUniqueIdProperty(objectType, idProperty));
      }
      const record = store.find(objectType, id, idProperty, c.req.query('archived') === 'true');
      if (record === undefined) return notFound(deps, objectType, id);
      const out = objectJson(deps, record, listQuery(c, 'properties'));
      const wanted = (listQuery(c, 'associations') ?? []).map(parseObjectType);
      const otherType: HubspotObjectType = objectType === 'contacts' ? 'companies' : 'contacts';
      if (wanted.includes(otherType)) {
        const singular = (type: HubspotObjectType) => (type === 'contacts' ? 'contact' : 'company');
        const results = store.associationsOf(objectType, record.id).flatMap((link) =>
          link.typeIds.map((typeId) => ({
            id: link.id,
            type: `${singular(objectType)}_to_${singular(otherType)}${typeId === 1 || typeId === 2 ? '' : '_unlabeled'}`,
          })),
        );
        if (results.length > 0) out.associations = { [otherType]: { results } };
      }
      return json(200, out);
    }),
  );

  // Update one
  apiRoute(deps, 'PATCH', paths('/:id'), 'PATCH /crm/v3/objects/{objectType}/{id}', {}, (c) =>
    withType(c, async (objectType) => {
      const id = c.req.param('id') ?? '';
      const idProperty = c.req.query('idProperty');
      if (idProperty !== undefined && !store.isIdProperty(objectType, idProperty)) {
        return failureResponse(deps, nonUniqueIdProperty(objectType, idProperty));
      }
      const body = await readBody(deps, c, updateSchema);
      if (!body.ok) return body.response;
      const record = store.find(objectType, id, idProperty);
      if (record === undefined) return notFound(deps, objectType, id);
      const planned = store.planWrite(objectType, record, body.value.properties);
      if (!planned.ok) {
        countFailure(planned.failure);
        return failureResponse(deps, planned.failure);
      }
      return json(200, objectJson(deps, commit(planned.plan), undefined, Object.keys(body.value.properties)));
    }),
  );

  // Archive one
  apiRoute(deps, 'DELETE', paths('/:id'), 'DELETE /crm/v3/objects/{objectType}/{id}', {}, (c) =>
    withType(c, (objectType) => {
      if (store.archive(objectType, c.req.param('id') ?? '')) counters.increment('hubspot.archived');
      return noContent();
    }),
  );

  /**
   * Run planned batch writes. Without multi-status, the first failure fails the
   * whole request and nothing is written; with it, successes are written and
   * failures listed (207).
   */
  const finishBatch = (
    startedAt: number,
    items: readonly {
      planned: PlanResult;
      id: string | undefined;
      traceId: string | undefined;
      injected: boolean;
    }[],
    multiStatusAllowed: boolean,
    successStatus: number,
    render: (record: StoredObject, index: number, created: boolean) => Record<string, unknown>,
    after?: (record: StoredObject, index: number) => void,
  ): Response => {
    const failures = items.flatMap((item, index) =>
      item.planned.ok ? [] : [{ item, index, failure: item.planned.failure }],
    );
    for (const { failure } of failures) countFailure(failure);
    const multi = multiStatusAllowed || failures.some(({ item }) => item.injected);
    const first = failures[0];
    if (first !== undefined && !multi) return failureResponse(deps, first.failure);
    const results: Record<string, unknown>[] = [];
    items.forEach((item, index) => {
      if (!item.planned.ok) return;
      const created = item.planned.plan.target === undefined;
      const record = commit(item.planned.plan);
      after?.(record, index);
      results.push(render(record, index, created));
    });
    const errors = failures.map(({ item, failure }) => recordError(failure, item.id, item.traceId));
    if (errors.length > 0) counters.increment('hubspot.207');
    return json(errors.length > 0 ? 207 : successStatus, {
      status: 'COMPLETE',
      results,
      ...(errors.length > 0 ? { numErrors: errors.length, errors } : {}),
      ...batchTimes(startedAt, now()),
      links: {},
    });
  };

  // Batch create
  apiRoute(deps, 'POST', paths('/batch/create'), 'POST /crm/v3/objects/{objectType}/batch/create', {}, (c) =>
    withType(c, async (objectType) => {
      const startedAt = now();
      const body = await readBody(deps, c, batchCreateSchema);
      if (!body.ok) return body.response;
      const claims: BatchClaims = new Map();
      const linkers: ((id: string) => void)[] = [];
      const items = body.value.inputs.map((input) => {
        const linker = planAssociations(objectType, input.associations);
        const injected = injectedFailure();
        let planned: PlanResult;
        if (typeof linker !== 'function') planned = { ok: false, failure: linker };
        else if (injected !== undefined) planned = { ok: false, failure: injected };
        else planned = store.planWrite(objectType, undefined, input.properties, claims);
        linkers.push(typeof linker === 'function' ? linker : () => undefined);
        return {
          planned,
          id: undefined,
          traceId: input.objectWriteTraceId,
          injected: injected !== undefined,
        };
      });
      const traced = body.value.inputs.some((input) => input.objectWriteTraceId !== undefined);
      return finishBatch(
        startedAt,
        items,
        traced,
        201,
        (record, index) => ({
          ...objectJson(deps, record, undefined, Object.keys(body.value.inputs[index]?.properties ?? {})),
          ...(body.value.inputs[index]?.objectWriteTraceId !== undefined
            ? { objectWriteTraceId: body.value.inputs[index]?.objectWriteTraceId }
            : {}),
        }),
        (record, index) => linkers[index]?.(record.id),
      );
    }),
  );

  /** Shared by batch update and batch upsert. */
  const batchWrite = async (
    c: Context,
    objectType: HubspotObjectType,
    upsert: boolean,
  ): Promise<Response> => {
    const startedAt = now();
    const body = await readBody(deps, c, batchUpdateSchema);
    if (!body.ok) return body.response;
    const inputs = body.value.inputs;
    for (const input of inputs) {
      const idProperty = input.idProperty ?? 'hs_object_id';
      if (!store.isIdProperty(objectType, idProperty)) {
        return failureResponse(deps, nonUniqueIdProperty(objectType, idProperty));
      }
    }
    const targets = inputs.map((input) => store.find(objectType, input.id, input.idProperty));
    const keys = inputs.map((input, index) => {
      const target = targets[index];
      const idProperty = input.idProperty ?? 'hs_object_id';
      return target !== undefined
        ? `record:${target.id}`
        : `new:${idProperty}:${store.normalize(idProperty, input.id)}`;
    });
    const repeated = [...new Set(keys.filter((key, index) => keys.indexOf(key) !== index))];
    if (repeated.length > 0) {
      counters.increment('hubspot.duplicates', repeated.length);
      const ids = inputs
        .filter((_input, index) => repeated.includes(keys[index] ?? ''))
        .map((input) => input.id);
      return failureResponse(
        deps,
        invalidInput(
          `Duplicate IDs found in batch input: [${[...new Set(ids)].join(', ')}]. IDs must be unique`,
        ),
      );
    }
    const claims: BatchClaims = new Map();
    const items = inputs.map((input, index) => {
      const target = targets[index];
      const idProperty = input.idProperty ?? 'hs_object_id';
      const injected = injectedFailure();
      let planned: PlanResult;
      if (injected !== undefined) planned = { ok: false, failure: injected };
      else if (target !== undefined) planned = store.planWrite(objectType, target, input.properties, claims);
      else if (!upsert || idProperty === 'hs_object_id') {
        planned = {
          ok: false,
          failure: {
            httpStatus: 404,
            duplicate: false,
            body: {
              status: 'error',
              category: 'OBJECT_NOT_FOUND',
              message: `Could not find ${objectTypeLabel(objectType)} with ${idProperty} ${input.id}`,
            },
          },
        };
      } else {
        planned = store.planWrite(
          objectType,
          undefined,
          { ...input.properties, [idProperty]: input.id },
          claims,
        );
      }
      return { planned, id: input.id, traceId: input.objectWriteTraceId, injected: injected !== undefined };
    });
    const multi =
      deps.multiStatus === 'always' || inputs.some((input) => input.objectWriteTraceId !== undefined);
    return finishBatch(startedAt, items, multi, 200, (record, index, created) => ({
      ...objectJson(deps, record, undefined, Object.keys(inputs[index]?.properties ?? {})),
      ...(upsert ? { new: created } : {}),
      ...(inputs[index]?.objectWriteTraceId !== undefined
        ? { objectWriteTraceId: inputs[index]?.objectWriteTraceId }
        : {}),
    }));
  };

  apiRoute(deps, 'POST', paths('/batch/update'), 'POST /crm/v3/objects/{objectType}/batch/update', {}, (c) =>
    withType(c, (objectType) => batchWrite(c, objectType, false)),
  );
  apiRoute(deps, 'POST', paths('/batch/upsert'), 'POST /crm/v3/objects/{objectType}/batch/upsert', {}, (c) =>
    withType(c, (objectType) => batchWrite(c, objectType, true)),
  );

  // Batch read
  apiRoute(deps, 'POST', paths('/batch/read'), 'POST /crm/v3/objects/{objectType}/batch/read', {}, (c) =>
    withType(c, async (objectType) => {
      const startedAt = now();
      const body = await readBody(deps, c, batchReadSchema);
      if (!body.ok) return body.response;
      const { idProperty, properties } = body.value;
      if (idProperty !== undefined && !store.isIdProperty(objectType, idProperty)) {
        return failureResponse(deps, nonUniqueIdProperty(objectType, idProperty));
      }
      const results: Record<string, unknown>[] = [];
      const missing: string[] = [];
      const seen = new Set<string>();
      for (const input of body.value.inputs) {
        const record = store.find(objectType, input.id, idProperty);
        if (record === undefined) missing.push(input.id);
        else if (!seen.has(record.id)) {
          seen.add(record.id);
          results.push(objectJson(deps, record, properties));
        }
      }
      const errors =
        missing.length === 0
          ? []
          : [
              {
                status: 'error',
                category: 'OBJECT_NOT_FOUND',
                message: `Could not get some ${objectTypeLabel(objectType)} objects, they may be deleted or not exist. Check that ids are valid.`,
                context: { ids: missing },
              },
            ];
      return json(missing.length > 0 ? 207 : 200, {
        status: 'COMPLETE',
        results,
        ...(errors.length > 0 ? { numErrors: errors.length, errors } : {}),
        ...batchTimes(startedAt, now()),
      });
    }),
  );

  // Batch archive
  apiRoute(
    deps,
    'POST',
    paths('/batch/archive'),
    'POST /crm/v3/objects/{objectType}/batch/archive',
    {},
    (c) =>
      withType(c, async (objectType) => {
        const body = await readBody(deps, c, batchArchiveSchema);
        if (!body.ok) return body.response;
        for (const input of body.value.inputs) {
          if (store.archive(objectType, input.id)) counters.increment('hubspot.archived');
        }
        return noContent();
      }),
  );

  // Search
  apiRoute(
    deps,
    'POST',
    paths('/search'),
    'POST /crm/v3/objects/{objectType}/search',
    { search: true },
    (c) =>
      withType(c, async (objectType) => {
        const body = await readBody(deps, c, searchBodySchema);
        if (!body.ok) return body.response;
        const problem = checkFilters(body.value);
        if (problem !== undefined) return failureResponse(deps, invalidInput(problem.message));
        const names = [
          ...(body.value.filterGroups ?? []).flatMap((group) =>
            group.filters.map((filter) => filter.propertyName),
          ),
          ...(body.value.sorts ?? []).map((sort) =>
            typeof sort === 'string' ? sort.replace(/^-/, '') : sort.propertyName,
          ),
        ];
        const unknown = names.find((name) => store.property(objectType, name) === undefined);
        if (unknown !== undefined) {
          return errorResponse(deps, 400, {
            status: 'error',
            category: 'VALIDATION_ERROR',
            message: `There was a problem with the request. Property "${unknown}" does not exist`,
          });
        }
        const after = Number(body.value.after ?? '0');
        if (!Number.isInteger(after) || after < 0) {
          return failureResponse(deps, invalidInput('after must be a non-negative integer'));
        }
        if (after >= SEARCH_RESULT_CAP) {
          counters.increment('hubspot.search.capExceeded');
          return failureResponse(
            deps,
            invalidInput(
              `Search results are limited to ${SEARCH_RESULT_CAP}; after ${after} is past the last page`,
            ),
          );
        }
        const limit = body.value.limit ?? 10;
        const matched = runSearch(objectType, store.list(objectType), body.value, (name) =>
          store.property(objectType, name),
        );
        const end = Math.min(after + limit, matched.length, SEARCH_RESULT_CAP);
        const requested = body.value.properties;
        const hasNext = end < Math.min(matched.length, SEARCH_RESULT_CAP);
        return json(200, {
          total: matched.length,
          results: matched.slice(after, end).map((record) => objectJson(deps, record, requested)),
          ...(hasNext ? { paging: { next: { after: String(end), link: `?after=${end}` } } } : {}),
        });
      }),
  );
}

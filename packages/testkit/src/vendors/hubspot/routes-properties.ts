import { z } from 'zod';
import type { RouteDeps } from './http.js';
import { apiRoute, errorResponse, json, noContent, notFound, readBody } from './http.js';
import { propertyJson } from './properties.js';
import type { HubspotObjectType, HubspotPropertyDefinition } from './types.js';
import { iso, parseObjectType } from './util.js';

const optionSchema = z.object({
  label: z.string(),
  value: z.string(),
  displayOrder: z.number().int().optional(),
  hidden: z.boolean().optional(),
  description: z.string().optional(),
});
const createSchema = z.object({
  name: z
    .string()
    .regex(/^[a-z][a-z0-9_]*$/, { message: 'must start with a lower-case letter and use a-z, 0-9 and _' }),
  label: z.string().min(1),
  type: z.enum(['string', 'number', 'date', 'datetime', 'enumeration', 'bool']),
  fieldType: z.enum([
    'text',
    'textarea',
    'number',
    'select',
    'radio',
    'checkbox',
    'booleancheckbox',
    'date',
    'file',
    'phonenumber',
    'html',
    'calculation_equation',
  ]),
  groupName: z.string().min(1),
  description: z.string().optional(),
  options: z.array(optionSchema).optional(),
  hasUniqueValue: z.boolean().optional(),
  hidden: z.boolean().optional(),
  formField: z.boolean().optional(),
  displayOrder: z.number().int().optional(),
});
const updateSchema = z.object({
  label: z.string().min(1).optional(),
  description: z.string().optional(),
  groupName: z.string().min(1).optional(),
  options: z.array(optionSchema).optional(),
  hidden: z.boolean().optional(),
  formField: z.boolean().optional(),
  displayOrder: z.number().int().optional(),
});

/** Register the Properties API (`/crm/v3/properties/{objectType}`). */
export function registerPropertyRoutes(deps: RouteDeps): void {
  const { store, context } = deps;
  const withType = (
    raw: string | undefined,
    run: (objectType: HubspotObjectType) => Promise<Response> | Response,
  ) => {
    const objectType = parseObjectType(raw);
    return objectType === undefined ? notFound(deps, undefined, raw ?? '') : run(objectType);
  };
  const missing = (name: string) =>
    errorResponse(deps, 404, {
      status: 'error',
      category: 'OBJECT_NOT_FOUND',
      message: `Unable to find property ${name}`,
    });

  apiRoute(deps, 'GET', ['/crm/v3/properties/:objectType'], 'GET /crm/v3/properties/{objectType}', {}, (c) =>
    withType(c.req.param('objectType'), (objectType) =>
      json(200, { results: store.propertyDefinitions(objectType).map(propertyJson) }),
    ),
  );

  apiRoute(
    deps,
    'GET',
    ['/crm/v3/properties/:objectType/:name'],
    'GET /crm/v3/properties/{objectType}/{name}',
    {},
    (c) =>
      withType(c.req.param('objectType'), (objectType) => {
        const name = c.req.param('name') ?? '';
        const definition = store.property(objectType, name);
        return definition === undefined ? missing(name) : json(200, propertyJson(definition));
      }),
  );

  apiRoute(
    deps,
    'POST',
    ['/crm/v3/properties/:objectType'],
    'POST /crm/v3/properties/{objectType}',
    {},
    (c) =>
      withType(c.req.param('objectType'), async (objectType) => {
        const body = await readBody(deps, c, createSchema);
        if (!body.ok) return body.response;
        const input = body.value;
        if (store.property(objectType, input.name) !== undefined) {
          return errorResponse(deps, 409, {
            status: 'error',
            category: 'OBJECT_ALREADY_EXISTS',
            message: `Property named '${input.name}' already exists.`,
          });
        }
        const at = iso(context.clock.now());
        const definition: HubspotPropertyDefinition = {
          name: input.name,
          label: input.label,
          type: input.type,
          fieldType: input.fieldType,
          groupName: input.groupName,
          description: input.description ?? '',
          options: input.options ?? [],
          hasUniqueValue: input.hasUniqueValue ?? false,
          hubspotDefined: false,
          readOnlyValue: false,
          hidden: input.hidden ?? false,
          formField: input.formField ?? false,
          displayOrder: input.displayOrder ?? -1,
          createdAt: at,
          updatedAt: at,
        };
        store.putProperty(objectType, definition);
        context.counters.increment('hubspot.properties.created');
        return json(201, propertyJson(definition));
      }),
  );

  apiRoute(
    deps,
    'PATCH',
    ['/crm/v3/properties/:objectType/:name'],
    'PATCH /crm/v3/properties/{objectType}/{name}',
    {},
    (c) =>
      withType(c.req.param('objectType'), async (objectType) => {
        const name = c.req.param('name') ?? '';
        const definition = store.property(objectType, name);
        if (definition === undefined) return missing(name);
        const body = await readBody(deps, c, updateSchema);
        if (!body.ok) return body.response;
        const updated: HubspotPropertyDefinition = {
          ...definition,
          ...Object.fromEntries(Object.entries(body.value).filter(([, value]) => value !== undefined)),
          updatedAt: iso(context.clock.now()),
        };
        store.putProperty(objectType, updated);
        return json(200, propertyJson(updated));
      }),
  );

  apiRoute(
    deps,
    'DELETE',
    ['/crm/v3/properties/:objectType/:name'],
    'DELETE /crm/v3/properties/{objectType}/{name}',
    {},
    (c) =>
      withType(c.req.param('objectType'), (objectType) => {
        const name = c.req.param('name') ?? '';
        const definition = store.property(objectType, name);
        if (definition === undefined) return missing(name);
        if (definition.hubspotDefined) {
          return errorResponse(deps, 400, {
            status: 'error',
            category: 'VALIDATION_ERROR',
            message: `Property ${name} is HubSpot-defined and cannot be deleted`,
          });
        }
        store.deleteProperty(objectType, name);
        return noContent();
      }),
  );
}

import type { Context } from 'hono';
import { httpFailure, notFound, recordErrorsToFailure } from './errors.js';
import {
  deserialize,
  externalField,
  isRecord,
  liveLead,
  MAX_COLLECTION,
  majorOf,
  methodNotAllowed,
  type RouteDeps,
  readJson,
  requireLead,
  resolveId,
  selectedFields,
  V,
  versionOf,
} from './http.js';
import { ID_PREFIX } from './ids.js';
import type { SalesforceFieldDefinition } from './schema.js';
import type { LeadRecord, SaveOutcome } from './store.js';

/**
 * Register the sObject REST endpoints of Lead: the global and per-object
 * describes, create, read, update and delete by Id, and read, upsert and
 * delete by External ID (300 Multiple Choices when a key matches several).
 */
export function registerSObjectRoutes(deps: RouteDeps): void {
  const { app, count, countOutcome, schema, store, withAttributes } = deps;

  app.get(`${V}/sobjects`, (c) => {
    count('requests.sobjects.global');
    const base = `/services/data/v${versionOf(c)}/sobjects/Lead`;
    return c.json({
      encoding: 'UTF-8',
      maxBatchSize: MAX_COLLECTION,
      sobjects: [
        {
          name: 'Lead',
          label: 'Lead',
          keyPrefix: ID_PREFIX.lead,
          createable: true,
          updateable: true,
          deletable: true,
          queryable: true,
          custom: false,
          urls: { sobject: base, describe: `${base}/describe`, rowTemplate: `${base}/{ID}` },
        },
      ],
    });
  });

  app.get(`${V}/sobjects/:object/describe`, (c) => {
    count('requests.sobjects.describe');
    requireLead(c);
    return c.json(schema.describe(versionOf(c)));
  });

  app.get(`${V}/sobjects/:object`, (c) => {
    count('requests.sobjects.info');
    requireLead(c);
    const describe = schema.describe(versionOf(c));
    const { fields: _fields, ...objectDescribe } = describe;
    return c.json({ objectDescribe, recentItems: [] });
  });

  app.post(`${V}/sobjects/:object`, async (c) => {
    count('requests.sobjects.create');
    requireLead(c);
    const values = deserialize(schema, await readJson(c));
    const outcome = store.create(values);
    countOutcome(outcome);
    if (!outcome.ok) throw recordErrorsToFailure(outcome.errors);
    count('status.201');
    return c.json({ id: outcome.id, success: true, errors: [] }, 201);
  });
  app.all(`${V}/sobjects/:object`, methodNotAllowed('GET,HEAD,POST'));

  app.get(`${V}/sobjects/:object/:id`, (c) => {
    count('requests.sobjects.get');
    requireLead(c);
    const record = liveLead(store, resolveId(c.req.param('id')));
    return c.json(withAttributes(record, versionOf(c), selectedFields(schema, c)));
  });

  app.patch(`${V}/sobjects/:object/:id`, async (c) => {
    count('requests.sobjects.update');
    requireLead(c);
    const id = resolveId(c.req.param('id'));
    liveLead(store, id);
    const values = deserialize(schema, await readJson(c));
    const outcome = store.update(id, values);
    countOutcome(outcome);
    if (!outcome.ok) throw recordErrorsToFailure(outcome.errors);
    count('status.204');
    return c.body(null, 204);
  });

  app.delete(`${V}/sobjects/:object/:id`, (c) => {
    count('requests.sobjects.delete');
    requireLead(c);
    const id = resolveId(c.req.param('id'));
    const record = store.get(id);
    if (record === undefined) throw notFound();
    if (!store.delete(id)) throw httpFailure(404, 'ENTITY_IS_DELETED', 'entity is deleted');
    count('deleted');
    count('status.204');
    return c.body(null, 204);
  });
  app.all(`${V}/sobjects/:object/:id`, methodNotAllowed('GET,PATCH,DELETE'));

  const byExternalId = (
    c: Context,
  ): { field: SalesforceFieldDefinition; value: string; matches: LeadRecord[] } => {
    requireLead(c);
    const field = externalField(schema, c.req.param('field') ?? '');
    const value = c.req.param('value') ?? '';
    return { field, value, matches: field.type === 'id' ? [] : store.findBy(field, value) };
  };

  const multipleChoices = (c: Context, matches: readonly string[]) => {
    count('status.300');
    return c.json(
      matches.map((id) => `/services/data/v${versionOf(c)}/sobjects/Lead/${id}`),
      300,
    );
  };

  app.get(`${V}/sobjects/:object/:field/:value`, (c) => {
    count('requests.sobjects.getByExternalId');
    const { field, value, matches } = byExternalId(c);
    if (field.type === 'id')
      return c.json(
        withAttributes(liveLead(store, resolveId(value)), versionOf(c), selectedFields(schema, c)),
      );
    if (matches.length > 1)
      return multipleChoices(
        c,
        matches.map((record) => String(record.Id)),
      );
    const match = matches[0];
    if (match === undefined) throw notFound();
    return c.json(withAttributes(match, versionOf(c), selectedFields(schema, c)));
  });

  app.patch(`${V}/sobjects/:object/:field/:value`, async (c) => {
    count('requests.sobjects.upsert');
    const { field, value } = byExternalId(c);
    if (/\.inc$/i.test(value)) throw notFound();
    const body = await readJson(c);
    if (isRecord(body)) {
      for (const name of Object.keys(body)) {
        const named = schema.field(name);
        if (named?.name === 'Id') {
          throw httpFailure(400, 'INVALID_FIELD', 'Id is not allowed in the sObject data of an upsert', [
            'Id',
          ]);
        }
        if (named?.name === field.name) {
          throw httpFailure(
            400,
            'INVALID_FIELD',
            `The ${field.name} field should not be specified in the sobject data.`,
            [field.name],
          );
        }
      }
    }
    const values = deserialize(schema, body);
    const updateOnly = c.req.query('updateOnly') === 'true';
    let outcome: SaveOutcome;
    if (field.type === 'id') {
      const id = resolveId(value);
      liveLead(store, id);
      outcome = store.update(id, values);
    } else {
      outcome = store.upsert(field, value, values, { updateOnly });
    }
    if (!outcome.ok && 'multipleIds' in outcome) {
      count('failed');
      return multipleChoices(c, outcome.multipleIds);
    }
    countOutcome(outcome);
    if (!outcome.ok) {
      if (outcome.errors[0]?.statusCode === 'NOT_FOUND') throw notFound();
      throw recordErrorsToFailure(outcome.errors);
    }
    if (outcome.created) {
      count('status.201');
      return c.json({ id: outcome.id, success: true, errors: [], created: true }, 201);
    }
    if (majorOf(c) >= 46) {
      count('status.200');
      return c.json({ id: outcome.id, success: true, errors: [], created: false }, 200);
    }
    count('status.204');
    return c.body(null, 204);
  });

  app.delete(`${V}/sobjects/:object/:field/:value`, (c) => {
    count('requests.sobjects.deleteByExternalId');
    const { field, value, matches } = byExternalId(c);
    const ids = field.type === 'id' ? [resolveId(value)] : matches.map((record) => String(record.Id));
    if (ids.length > 1) return multipleChoices(c, ids);
    const id = ids[0];
    if (id === undefined || !store.delete(id)) throw notFound();
    count('deleted');
    count('status.204');
    return c.body(null, 204);
  });
  app.all(`${V}/sobjects/:object/:field/:value`, methodNotAllowed('GET,PATCH,DELETE'));
}

import type { Context } from 'hono';
import type { SalesforceRecordError } from './errors.js';
import { httpFailure } from './errors.js';
import {
  deserialize,
  externalField,
  isRecord,
  MAX_COLLECTION,
  methodNotAllowed,
  type RouteDeps,
  readJson,
  requireLead,
  V,
} from './http.js';
import { ID_PREFIX, normalizeId } from './ids.js';
import type { SaveOutcome } from './store.js';

/**
 * Register sObject Collections: create (`POST`), update (`PATCH`) and upsert
 * by External ID (`PATCH .../:object/:field`) of up to 200 records, each
 * with its own result, rolled back together under `allOrNone`, and failing
 * at the configured partial-failure rate with `UNABLE_TO_LOCK_ROW`.
 */
export function registerCollectionRoutes(deps: RouteDeps): void {
  const { app, count, countOutcome, schema, state, store } = deps;

  const readCollection = async (c: Context): Promise<{ allOrNone: boolean; records: unknown[] }> => {
    const body = await readJson(c);
    if (!isRecord(body) || !Array.isArray(body.records)) {
      throw httpFailure(400, 'JSON_PARSER_ERROR', 'The request body must be an object with a records array');
    }
    if (body.allOrNone !== undefined && typeof body.allOrNone !== 'boolean') {
      throw httpFailure(400, 'JSON_PARSER_ERROR', 'allOrNone must be a boolean');
    }
    if (body.records.length > MAX_COLLECTION) {
      throw httpFailure(
        400,
        'EXCEEDED_ID_LIMIT',
        `record limit reached. cannot submit more than ${MAX_COLLECTION} records into this call`,
      );
    }
    return { allOrNone: body.allOrNone === true, records: body.records };
  };

  type CollectionItem =
    | { readonly kind: 'save'; readonly run: () => SaveOutcome }
    | { readonly kind: 'error'; readonly errors: SalesforceRecordError[] };

  const recordType = (raw: unknown, required: boolean): SalesforceRecordError[] => {
    const attributes = isRecord(raw) ? raw.attributes : undefined;
    const type = isRecord(attributes) ? attributes.type : undefined;
    if (type === undefined) {
      return required
        ? [{ statusCode: 'INVALID_TYPE', message: 'Must send a concrete entity type.', fields: [] }]
        : [];
    }
    if (typeof type !== 'string' || type.toLowerCase() !== 'lead') {
      return [
        {
          statusCode: 'INVALID_TYPE',
          message: `sObject type '${String(type)}' is not supported.`,
          fields: [],
        },
      ];
    }
    return [];
  };

  const runCollection = (
    c: Context,
    allOrNone: boolean,
    items: readonly CollectionItem[],
    includeCreated: boolean,
  ) => {
    const snapshot = allOrNone ? store.snapshot() : undefined;
    const outcomes: SaveOutcome[] = items.map((item) => {
      if (item.kind === 'error') return { ok: false, errors: item.errors };
      if (state.partialFailureRate > 0 && state.random() < state.partialFailureRate) {
        return {
          ok: false,
          errors: [
            {
              statusCode: 'UNABLE_TO_LOCK_ROW',
              message: 'unable to obtain exclusive access to this record or 1 records',
              fields: [],
            },
          ],
        };
      }
      return item.run();
    });
    const rolledBack = snapshot !== undefined && outcomes.some((outcome) => !outcome.ok);
    if (rolledBack) store.restore(snapshot);
    const body = outcomes.map((outcome) => {
      if (outcome.ok && !rolledBack) {
        countOutcome(outcome);
        return {
          id: outcome.id,
          success: true,
          errors: [],
          ...(includeCreated ? { created: outcome.created } : {}),
        };
      }
      count('failed');
      const errors = outcome.ok
        ? [
            {
              statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
              message:
                'Record rolled back because not all records were valid and the request was using AllOrNone header',
              fields: [],
            },
          ]
        : outcome.errors;
      return { success: false, errors, ...(includeCreated ? { created: false } : {}) };
    });
    count('status.200');
    return c.json(body, 200);
  };

  app.patch(`${V}/composite/sobjects/:object/:field`, async (c) => {
    count('requests.composite.upsert');
    requireLead(c);
    const field = externalField(schema, c.req.param('field') ?? '');
    const { allOrNone, records } = await readCollection(c);
    const keys = records.map((raw) =>
      isRecord(raw) ? (raw[field.name] ?? raw[c.req.param('field') ?? '']) : undefined,
    );
    const keyCounts = new Map<string, number>();
    for (const key of keys) {
      if (typeof key === 'string' || typeof key === 'number') {
        const normalized = field.caseSensitive === true ? String(key) : String(key).toLowerCase();
        keyCounts.set(normalized, (keyCounts.get(normalized) ?? 0) + 1);
      }
    }
    const items: CollectionItem[] = records.map((raw, index) => {
      const typeErrors = recordType(raw, false);
      if (typeErrors.length > 0) return { kind: 'error', errors: typeErrors };
      const values = deserialize(schema, raw);
      const key = keys[index];
      values.delete(field.name);
      if (key === undefined || key === null || key === '') {
        return {
          kind: 'error',
          errors: [{ statusCode: 'MISSING_ARGUMENT', message: `${field.name} not specified`, fields: [] }],
        };
      }
      const keyText = String(key);
      if ((keyCounts.get(field.caseSensitive === true ? keyText : keyText.toLowerCase()) ?? 0) > 1) {
        return {
          kind: 'error',
          errors: [
            {
              statusCode: 'DUPLICATE_EXTERNAL_ID',
              message: `Duplicate external id specified: ${keyText}`,
              fields: [field.name],
            },
          ],
        };
      }
      if (values.has('Id')) {
        return {
          kind: 'error',
          errors: [
            {
              statusCode: 'INVALID_FIELD',
              message: 'Id is not allowed in an upsert by external id',
              fields: ['Id'],
            },
          ],
        };
      }
      if (field.type === 'id') {
        const id = normalizeId(keyText, ID_PREFIX.lead);
        if (id === undefined) {
          return {
            kind: 'error',
            errors: [
              {
                statusCode: 'MALFORMED_ID',
                message: `Lead ID: id value of incorrect type: ${keyText}`,
                fields: ['Id'],
              },
            ],
          };
        }
        return { kind: 'save', run: () => store.update(id, values) };
      }
      return { kind: 'save', run: () => store.upsert(field, keyText, values) };
    });
    return runCollection(c, allOrNone, items, true);
  });
  app.all(`${V}/composite/sobjects/:object/:field`, methodNotAllowed('PATCH'));

  app.post(`${V}/composite/sobjects`, async (c) => {
    count('requests.composite.create');
    const { allOrNone, records } = await readCollection(c);
    const items: CollectionItem[] = records.map((raw) => {
      const typeErrors = recordType(raw, true);
      if (typeErrors.length > 0) return { kind: 'error', errors: typeErrors };
      const values = deserialize(schema, raw);
      return { kind: 'save', run: () => store.create(values) };
    });
    return runCollection(c, allOrNone, items, false);
  });

  app.patch(`${V}/composite/sobjects`, async (c) => {
    count('requests.composite.update');
    const { allOrNone, records } = await readCollection(c);
    const items: CollectionItem[] = records.map((raw) => {
      const typeErrors = recordType(raw, true);
      if (typeErrors.length > 0) return { kind: 'error', errors: typeErrors };
      const values = deserialize(schema, raw);
      const rawId = values.get('Id');
      values.delete('Id');
      if (typeof rawId !== 'string' || rawId === '') {
        return {
          kind: 'error',
          errors: [
            { statusCode: 'MISSING_ARGUMENT', message: 'Id not specified in an update call', fields: [] },
          ],
        };
      }
      const id = normalizeId(rawId, ID_PREFIX.lead);
      if (id === undefined) {
        return {
          kind: 'error',
          errors: [
            {
              statusCode: 'MALFORMED_ID',
              message: `Lead ID: id value of incorrect type: ${rawId}`,
              fields: ['Id'],
            },
          ],
        };
      }
      return { kind: 'save', run: () => store.update(id, values) };
    });
    return runCollection(c, allOrNone, items, false);
  });
  app.all(`${V}/composite/sobjects`, methodNotAllowed('POST,PATCH'));
}

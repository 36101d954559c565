import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { CrmUpsertRequest, CrmUpsertResult } from '../src/contracts/crm-adapter.js';
import { ApiCallError, ConfigurationError, LeadpipeError, ValidationError } from '../src/contracts/errors.js';
import { correlateUpsertResults } from '../src/kit/correlate-results.js';
import { createCursorCodec } from '../src/kit/cursor-codec.js';
import { type DefineCrmAdapterSettings, defineCrmAdapter } from '../src/kit/define-crm-adapter.js';
import { recordErrorFromError } from '../src/kit/record-error.js';
import { type CheckedListChangesRequest, parseIsoTime } from '../src/kit/request-checks.js';

const cursorSchema = z.object({ v: z.literal(1), at: z.number().int().nonnegative() });
type Cursor = z.infer<typeof cursorSchema>;

function setup(overrides: Partial<DefineCrmAdapterSettings<Cursor>> = {}) {
  const upserts: CrmUpsertRequest[] = [];
  const listed: unknown[] = [];
  const adapter = defineCrmAdapter({
    id: 'internal-crm',
    objects: ['people', 'firms'],
    maxBatchSize: 3,
    rateLimits: { perSecond: 10 },
    propertyName: { pattern: /^[a-z_]+$/, description: 'a snake_case field name' },
    async upsert(request) {
      upserts.push(request);
      // Answers in reverse order, as a bulk API may.
      return [...request.records]
        .reverse()
        .map((record, index): CrmUpsertResult => ({ key: record.key, status: 'created', id: `id-${index}` }));
    },
    async get(request) {
      return request.keys.map((key) => ({ key, id: `id-${key}`, properties: {} }));
    },
    changes: {
      cursor: createCursorCodec(cursorSchema, 'internal-crm', 'Internal CRM'),
      maxLimit: 50,
      async list(request: CheckedListChangesRequest<Cursor>) {
        listed.push(request);
        const at = (request.cursor?.at ?? request.since ?? 0) + 1;
        return { records: [{ key: 'k', id: '1', properties: {} }], cursor: { v: 1, at }, hasMore: false };
      },
    },
    async parseWebhook() {
      return [];
    },
    ...overrides,
  });
  return { adapter, upserts, listed };
}

async function issuesOf(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(ValidationError.isInstance(error)).toBe(true);
  return (error as ValidationError).issues;
}

describe('defineCrmAdapter', () => {
  it('builds a v1 adapter from its settings', () => {
    const { adapter } = setup({ bulkThreshold: 2, limiterKey: () => 'acct-1' });
    expect(adapter.specificationVersion).toBe('v1');
    expect(adapter.adapterId).toBe('internal-crm');
    expect(adapter.capabilities).toEqual({
      maxBatchSize: 3,
      bulkThreshold: 2,
      objects: ['people', 'firms'],
      rateLimits: { perSecond: 10 },
      webhooks: true,
    });
    expect(adapter.limiterKey?.()).toBe('acct-1');
    expect(typeof adapter.doListChanges).toBe('function');
  });

  it('leaves out doListChanges and doParseWebhook when not given, and says webhooks: false', () => {
    const { adapter } = setup({ changes: undefined, parseWebhook: undefined });
    expect(adapter.doListChanges).toBeUndefined();
    expect(adapter.doParseWebhook).toBeUndefined();
    expect(adapter.capabilities.webhooks).toBe(false);
  });

  it('refuses bad settings with a ConfigurationError naming each one', () => {
    let error: unknown;
    try {
      setup({ id: 'bad id', maxBatchSize: 0, upsert: 'no' as never });
    } catch (caught) {
      error = caught;
    }
    expect(ConfigurationError.isInstance(error)).toBe(true);
    const fields = (error as ConfigurationError).issues.map((issue) => issue.field);
    expect(fields).toEqual(expect.arrayContaining(['id', 'maxBatchSize', 'upsert']));
  });

  it('returns one upsert result per record in request order, whatever order the vendor answered in', async () => {
    const { adapter } = setup();
    const results = await adapter.doUpsert(
      {
        object: 'people',
        idProperty: 'email',
        records: [
          { key: 'a@x.test', properties: {} },
          { key: 'b@x.test', properties: {} },
          { key: 'c@x.test', properties: {} },
        ],
      },
      {},
    );
    expect(results.map((result) => result.key)).toEqual(['a@x.test', 'b@x.test', 'c@x.test']);
    expect(results.map((result) => (result.status === 'failed' ? '' : result.id))).toEqual([
      'id-2',
      'id-1',
      'id-0',
    ]);
  });

  it('answers an empty request without calling the vendor', async () => {
    const { adapter, upserts } = setup();
    await expect(
      adapter.doUpsert({ object: 'people', idProperty: 'email', records: [] }, {}),
    ).resolves.toEqual([]);
    await expect(
      adapter.doGet({ object: 'people', idProperty: 'email', keys: [], properties: [] }, {}),
    ).resolves.toEqual([]);
    expect(upserts).toHaveLength(0);
  });

  it('checks upserts before sending: object, idProperty, batch size, keys and properties', async () => {
    const { adapter, upserts } = setup();
    expect(
      await issuesOf(adapter.doUpsert({ object: 'deals', idProperty: 'email', records: [] }, {})),
    ).toEqual([{ field: 'object', reason: 'must be one of people, firms, got "deals"' }]);
    expect(
      await issuesOf(adapter.doUpsert({ object: 'people', idProperty: 'E-mail', records: [] }, {})),
    ).toEqual([{ field: 'idProperty', reason: 'must be a snake_case field name, got "E-mail"' }]);
    const four = ['a', 'b', 'c', 'd'].map((key) => ({ key, properties: {} }));
    expect(
      await issuesOf(adapter.doUpsert({ object: 'people', idProperty: 'email', records: four }, {})),
    ).toEqual([{ field: 'records', reason: 'at most 3 fit in one call, got 4' }]);
    expect(
      await issuesOf(
        adapter.doUpsert(
          {
            object: 'people',
            idProperty: 'email',
            records: [
              { key: ' ', properties: {} },
              { key: 'b', properties: null as never },
            ],
          },
          {},
        ),
      ),
    ).toEqual([
      { field: 'records[0].key', reason: 'must be a non-empty string' },
      { field: 'records[1].properties', reason: 'must be an object' },
    ]);
    expect(upserts).toHaveLength(0);
  });

  it('checks reads: keys are strings, properties are names', async () => {
    const { adapter } = setup();
    expect(
      await issuesOf(
        adapter.doGet({ object: 'people', idProperty: 'email', keys: ['a', 7 as never], properties: [] }, {}),
      ),
    ).toEqual([{ field: 'keys[1]', reason: 'must be a string' }]);
    expect(
      await issuesOf(
        adapter.doGet({ object: 'people', idProperty: 'email', keys: ['a'], properties: ['Bad'] }, {}),
      ),
    ).toEqual([{ field: 'properties[0]', reason: 'must be a snake_case field name, got "Bad"' }]);
    await expect(
      adapter.doGet({ object: 'people', idProperty: 'email', keys: ['a'], properties: ['name'] }, {}),
    ).resolves.toEqual([{ key: 'a', id: 'id-a', properties: {} }]);
  });

  it('decodes the cursor it encoded, parses since, and refuses a foreign cursor, a bad since or limit', async () => {
    const { adapter, listed } = setup();
    const first = await adapter.doListChanges(
      { object: 'people', since: '2026-01-01T00:00:00.000+0000' },
      {},
    );
    expect(listed[0]).toEqual({ object: 'people', properties: [], since: Date.UTC(2026, 0, 1) });
    const second = await adapter.doListChanges({ object: 'people', cursor: first.nextCursor, limit: 10 }, {});
    expect(listed[1]).toEqual({
      object: 'people',
      properties: [],
      limit: 10,
      cursor: { v: 1, at: Date.UTC(2026, 0, 1) + 1 },
    });
    expect(JSON.parse(Buffer.from(second.nextCursor, 'base64url').toString('utf8'))).toEqual({
      v: 1,
      at: Date.UTC(2026, 0, 1) + 2,
    });
    expect(await issuesOf(adapter.doListChanges({ object: 'people', cursor: 'not-a-cursor' }, {}))).toEqual([
      { field: 'cursor', reason: 'is not a cursor returned by this Internal CRM adapter' },
    ]);
    expect(await issuesOf(adapter.doListChanges({ object: 'people', since: 'yesterday' }, {}))).toEqual([
      { field: 'since', reason: 'must be an ISO 8601 date-time' },
    ]);
    expect(await issuesOf(adapter.doListChanges({ object: 'people', limit: 51 }, {}))).toEqual([
      { field: 'limit', reason: 'must be an integer from 1 to 50, got 51' },
    ]);
    expect(listed).toHaveLength(2);
  });
});

describe('correlateUpsertResults', () => {
  it('gives a key sent twice its results in order, a record without a result missing_result, and ignores strangers', () => {
    const results = correlateUpsertResults(
      [{ key: 'a' }, { key: 'a' }, { key: 'b' }],
      [
        { key: 'x', status: 'created', id: 'x' },
        { key: 'a', status: 'created', id: '1' },
        {
          key: 'a',
          status: 'failed',
          error: { code: 'duplicate_key', message: 'twice', retryable: false },
        },
      ],
      'crm',
    );
    expect(results).toEqual([
      { key: 'a', status: 'created', id: '1' },
      { key: 'a', status: 'failed', error: { code: 'duplicate_key', message: 'twice', retryable: false } },
      {
        key: 'b',
        status: 'failed',
        error: {
          code: 'missing_result',
          message: 'crm: the CRM returned no result for this record',
          retryable: true,
        },
      },
    ]);
  });
});

describe('recordErrorFromError', () => {
  it('keeps an ApiCallError code, vendor code and wait; a spent quota stays retryable for the records', () => {
    const error = recordErrorFromError(
      new ApiCallError('quota_exceeded', {
        message: 'daily limit',
        providerId: 'crm',
        vendorCode: 'REQUEST_LIMIT_EXCEEDED',
        retryAfterMs: 900_000,
        isRetryable: false,
      }),
    );
    expect(error).toMatchObject({
      code: 'quota_exceeded',
      retryable: true,
      vendorCode: 'REQUEST_LIMIT_EXCEEDED',
      retryAfterMs: 900_000,
    });
    expect(
      recordErrorFromError(new ApiCallError('server_error', { message: 'boom', providerId: 'crm' })),
    ).toMatchObject({ code: 'server_error', retryable: true });
    expect(
      recordErrorFromError(new LeadpipeError('limiter_closed', { message: 'closed', providerId: 'crm' })),
    ).toMatchObject({ code: 'adapter_error', retryable: false });
  });

  it('makes anything else a permanent adapter_error, with secrets scrubbed', () => {
    const error = recordErrorFromError(
      new TypeError('bad token Bearer abcdefghijklmnopqrstuvwxyz0123456789'),
    );
    expect(error).toMatchObject({ code: 'adapter_error', retryable: false });
    expect(error.message).not.toContain('abcdefghijklmnopqrstuvwxyz0123456789');
  });
});

describe('parseIsoTime', () => {
  it('reads ISO 8601 with Z, +00:00 and Salesforce +0000 offsets, and nothing else', () => {
    expect(parseIsoTime('2026-01-01T00:00:00Z')).toBe(Date.UTC(2026, 0, 1));
    expect(parseIsoTime('2026-01-01T02:00:00.000+0200')).toBe(Date.UTC(2026, 0, 1));
    expect(parseIsoTime('not a time')).toBeUndefined();
    expect(parseIsoTime(12)).toBeUndefined();
  });
});

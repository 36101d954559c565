import {
  type ApiCallError,
  ConfigurationError,
  type CrmAdapterV1,
  type CrmProperties,
  type CrmRecord,
  type CrmRecordErrorCode,
  type CrmUpsertResult,
  LeadpipeError,
} from '@leadpipe/core/adapter-kit';
import type {
  ContractBackend,
  ContractExpect,
  ContractResponse,
  ContractTestFunction,
  ExpectedApiError,
} from './enrichment-provider.js';
import { describeError, errorTexts, expectApiError as expectSharedApiError, settle } from './support.js';

/** A record as it landed in the CRM, read straight from the backend (not through the adapter). */
export interface CrmStoredRecord {
  /** The CRM's own id. */
  readonly id: string;
  /** Property values as stored (CRMs often store strings: values are compared as text). */
  readonly properties: Readonly<Record<string, unknown>>;
}

/**
 * Direct read functions on the CRM behind the adapter (the emulator's state,
 * a test database), so the suite checks what landed, not what the adapter
 * said. Like the `db` of Auth.js's adapter tests.
 */
export interface CrmContractDatabase {
  /** The live record whose `idProperty` holds `key` (compared as the CRM does), or `undefined`. */
  record(
    object: string,
    idProperty: string,
    key: string,
  ): CrmStoredRecord | undefined | Promise<CrmStoredRecord | undefined>;
  /** How many live records of `object` the CRM holds. */
  count(object: string): number | Promise<number>;
}

/** Names of the checks, to skip some with `skip`. */
export type CrmContractCheck =
  | 'capabilities'
  | 'create'
  | 'idempotent'
  | 'partialUpdate'
  | 'partialFailure'
  | 'batchLimit'
  | 'get'
  | 'errors'
  | 'abort'
  | 'secrets'
  | 'missingCredentials';

/** Options of {@link crmAdapterContract}. */
export interface CrmAdapterContractOptions {
  /** Prefix of every test name. Default `CRM adapter contract`. */
  readonly name?: string;
  /** A fresh adapter pointed at the backend. Called once per check. */
  readonly createAdapter: () => CrmAdapterV1 | Promise<CrmAdapterV1>;
  /** The object written, one of `capabilities.objects`, such as `contacts` or `Lead`. */
  readonly object: string;
  /** The unique property records are keyed by, such as `email` or `External_Id__c`. */
  readonly idProperty: string;
  /**
   * A key no other call uses, from a label unique within the suite (such as
   * `create-0`): an email, an external id.
   */
  readonly key: (label: string) => string;
  /** Valid property values for a new record; `index` varies them between records. */
  readonly properties: (index: number) => CrmProperties;
  /**
   * Other valid values for some of the same properties, written over
   * `properties(index)` to check that only given properties change. Default
   * `properties(index + 1000)`.
   */
  readonly updatedProperties?: (index: number) => CrmProperties;
  /** A record with this key that the CRM rejects for its values (not for the call). */
  readonly invalidRecord: (key: string) => CrmRecord;
  /** Direct reads of the CRM's state. */
  readonly db: CrmContractDatabase;
  /** Canned answers and a request count in front of the CRM (an adapter `fetch` wrapper works). */
  readonly backend: ContractBackend;
  /** Credentials that must never appear in an error, a record error or its JSON. */
  readonly secrets?: readonly string[];
  /** The vendor's own error bodies and headers per status. Default: a generic JSON body. */
  readonly errorResponses?: Readonly<Record<number, ContractResponse>>;
  /**
   * Expected errors of a whole call per status, over the defaults: 400
   * `invalid_request`, 401 `unauthorized`, 403 `forbidden`, 404 `not_found`,
   * 429 `rate_limited`, 500 and 503 `server_error`. `null` leaves a status out.
   */
  readonly expectedErrors?: Readonly<Record<number, ExpectedApiError | null>>;
  /** Backend requests one full batch makes once the adapter is warmed up. Default 1. */
  readonly requestsPerBatch?: number;
  /** An adapter with no credential at all, for the missing-credentials check (sent nowhere). */
  readonly createAdapterWithoutCredentials?: () => CrmAdapterV1 | Promise<CrmAdapterV1>;
  /** Checks to leave out. */
  readonly skip?: readonly CrmContractCheck[];
}

/** The whole-call errors checked by default. */
export const DEFAULT_CRM_EXPECTED_ERRORS: Readonly<Record<number, ExpectedApiError>> = {
  400: { code: 'invalid_request' },
  401: { code: 'unauthorized' },
  403: { code: 'forbidden' },
  404: { code: 'not_found' },
  429: { code: 'rate_limited' },
  500: { code: 'server_error' },
  503: { code: 'server_error' },
};

/** Record error codes a CRM's rejection of a record's values may carry. */
const REJECTION_CODES: ReadonlySet<CrmRecordErrorCode> = new Set<CrmRecordErrorCode>([
  'validation_failed',
  'invalid_request',
  'duplicate_key',
  'conflict',
]);

const DEFAULT_ERROR_BODY = { message: 'answer injected by the CRM contract suite' };

function asText(value: unknown): string | undefined {
  return value === undefined || value === null ? undefined : String(value);
}

/**
 * The CRM adapter contract suite: registers one test per check with your
 * runner's `it`, asserting with its `expect`. Works for any `CrmAdapterV1`
 * (ours, or a host app's own) because the caller supplies direct reads of
 * the backend (`db`) and canned answers in front of it (`backend`).
 *
 * Checks: capabilities are consistent; new records are created, one result
 * per record, and land with their values; running the same batch twice
 * creates nothing new; an update touches only the given properties; a
 * rejected record fails alone, permanently, and does not land; a full batch
 * is one request and an oversized one is refused or split; `doGet` returns
 * what exists and leaves out what does not; every failed call maps to the
 * right code and retryability, once; an aborted call rejects `aborted`
 * having sent nothing; no secret appears in any error or record error; a
 * missing credential is a `ConfigurationError` sent nowhere.
 *
 * @example
 * ```ts
 * crmAdapterContract(it, expect, {
 *   createAdapter: () => createHubspot({ accessToken, baseUrl, fetch: backend.fetch }),
 *   object: 'contacts', idProperty: 'email', key: (label) => `${label}@contract.example`,
 *   properties: (i) => ({ firstname: `Ada${i}` }), invalidRecord: (key) => ({ key, properties: { nope: 'x' } }),
 *   db, backend, secrets: [accessToken],
 * });
 * ```
 */
export function crmAdapterContract(
  it: ContractTestFunction,
  expect: ContractExpect,
  options: CrmAdapterContractOptions,
): void {
  const prefix = options.name ?? 'CRM adapter contract';
  const skip = new Set(options.skip ?? []);
  const { backend, db, object, idProperty } = options;
  const updated = options.updatedProperties ?? ((index: number) => options.properties(index + 1000));
  const check = (name: CrmContractCheck, title: string, fn: () => Promise<void>) => {
    if (skip.has(name)) return;
    it(`${prefix}: ${title}`, async () => {
      await backend.reset?.();
      await fn();
    });
  };
  const requests = async () => Number(await backend.requestCount());
  const records = (label: string, count: number, offset = 0): CrmRecord[] =>
    Array.from({ length: count }, (_, index) => ({
      key: options.key(`${label}-${index}`),
      properties: options.properties(offset + index),
    }));
  const upsert = (adapter: CrmAdapterV1, batch: readonly CrmRecord[], signal?: AbortSignal) =>
    Promise.resolve(
      adapter.doUpsert({ object, idProperty, records: batch }, signal === undefined ? {} : { signal }),
    );

  const expectLanded = async (record: CrmRecord, id: string | undefined, label: string) => {
    const stored = await db.record(object, idProperty, record.key);
    expect(stored !== undefined, `${label}: ${record.key} must be in the CRM`).toBe(true);
    if (stored === undefined) return;
    if (id !== undefined) expect(stored.id, `${label}: the CRM id of ${record.key}`).toBe(id);
    for (const [name, value] of Object.entries(record.properties)) {
      expect(asText(stored.properties[name]), `${label}: ${record.key}.${name} as stored`).toBe(
        asText(value),
      );
    }
  };
  const expectResults = (results: readonly CrmUpsertResult[], batch: readonly CrmRecord[], label: string) => {
    expect(Array.isArray(results), `${label}: doUpsert resolves with an array`).toBe(true);
    expect(results.length, `${label}: exactly one result per record`).toBe(batch.length);
    const keys = results.map((result) => result.key).sort();
    expect(keys, `${label}: one result per key`).toEqual(batch.map((record) => record.key).sort());
  };
  const byKey = (results: readonly CrmUpsertResult[]) =>
    new Map(results.map((result) => [result.key, result]));
  const expectApiError = (adapter: CrmAdapterV1, error: unknown, expected: ExpectedApiError, label: string) =>
    expectSharedApiError(expect, error, expected, adapter.adapterId, label);

  check('capabilities', 'declares a v1 contract with consistent capabilities', async () => {
    const adapter = await options.createAdapter();
    expect(adapter.specificationVersion).toBe('v1');
    expect(typeof adapter.adapterId === 'string' && adapter.adapterId.length > 0, 'adapterId').toBe(true);
    const { maxBatchSize, objects, rateLimits, webhooks, bulkThreshold } = adapter.capabilities;
    expect(Number.isInteger(maxBatchSize) && maxBatchSize >= 1, 'maxBatchSize is a whole number >= 1').toBe(
      true,
    );
    expect(objects, 'capabilities.objects lists the object under test').toContain(object);
    if (bulkThreshold !== undefined) {
      expect(
        Number.isInteger(bulkThreshold) && bulkThreshold >= 1,
        'bulkThreshold is a whole number >= 1',
      ).toBe(true);
    }
    for (const [name, value] of Object.entries(rateLimits)) {
      if (name === 'windows' || value === undefined) continue;
      expect(
        Number.isInteger(value) && (value as number) >= 1,
        `rateLimits.${name} is a whole number >= 1`,
      ).toBe(true);
    }
    for (const window of rateLimits.windows ?? []) {
      expect(window.limit >= 1 && window.intervalMs > 0, `rateLimits.windows.${window.name}`).toBe(true);
    }
    expect(
      typeof adapter.doParseWebhook === 'function',
      'doParseWebhook exists exactly when webhooks is true',
    ).toBe(webhooks);
    if (adapter.limiterKey !== undefined) {
      const key = adapter.limiterKey();
      expect(typeof key === 'string' && key.length > 0, 'limiterKey() is a non-empty string').toBe(true);
      for (const secret of options.secrets ?? []) {
        expect(key.includes(secret), 'limiterKey() must not contain a secret').toBe(false);
      }
    }
  });

  check('create', 'creates new records, one result per record, and they land with their values', async () => {
    const adapter = await options.createAdapter();
    const batch = records('create', 3);
    const countBefore = await db.count(object);
    const results = await upsert(adapter, batch);
    expectResults(results, batch, 'create');
    const found = byKey(results);
    for (const record of batch) {
      const result = found.get(record.key);
      expect(result?.status, `create: status of ${record.key}`).toBe('created');
      const id = result !== undefined && result.status !== 'failed' ? result.id : undefined;
      expect(typeof id === 'string' && id.length > 0, `create: ${record.key} has the CRM's id`).toBe(true);
      await expectLanded(record, id, 'create');
    }
    expect((await db.count(object)) - countBefore, 'create: records added to the CRM').toBe(batch.length);
  });

  check('idempotent', 'running the same batch twice creates nothing new', async () => {
    const adapter = await options.createAdapter();
    const batch = records('idempotent', 3);
    const first = await upsert(adapter, batch);
    expectResults(first, batch, 'first run');
    const countAfterFirst = await db.count(object);
    const second = await upsert(adapter, batch);
    expectResults(second, batch, 'second run');
    expect(await db.count(object), 'second run: no record added').toBe(countAfterFirst);
    const firstIds = byKey(first);
    for (const result of second) {
      expect(['updated', 'unchanged'], `second run: status of ${result.key}`).toContain(result.status);
      const before = firstIds.get(result.key);
      const idBefore = before !== undefined && before.status !== 'failed' ? before.id : undefined;
      const idNow = result.status !== 'failed' ? result.id : undefined;
      expect(idNow, `second run: ${result.key} keeps its CRM id`).toBe(idBefore);
      const record = batch.find((item) => item.key === result.key);
      if (record !== undefined) await expectLanded(record, idBefore, 'second run');
    }
  });

  check('partialUpdate', 'an update writes the given properties and leaves the others alone', async () => {
    const adapter = await options.createAdapter();
    const key = options.key('partial-update-0');
    const original: CrmRecord = { key, properties: options.properties(7) };
    await upsert(adapter, [original]);
    const changes = updated(7);
    const results = await upsert(adapter, [{ key, properties: changes }]);
    expect(results[0]?.status, 'the update succeeds').not.toBe('failed');
    const stored = await db.record(object, idProperty, key);
    expect(stored !== undefined, 'the record is still there').toBe(true);
    for (const [name, value] of Object.entries({ ...original.properties, ...changes })) {
      expect(asText(stored?.properties[name]), `${key}.${name} after the update`).toBe(asText(value));
    }
  });

  check('partialFailure', 'a rejected record fails alone, permanently, and does not land', async () => {
    const adapter = await options.createAdapter();
    const [good1, good2] = records('partial-failure', 2);
    const bad = options.invalidRecord(options.key('partial-failure-bad'));
    const batch = [good1!, bad, good2!];
    const results = await upsert(adapter, batch);
    expectResults(results, batch, 'partial failure');
    const found = byKey(results);
    const failure = found.get(bad.key);
    expect(failure?.status, 'the rejected record fails').toBe('failed');
    if (failure?.status === 'failed') {
      expect(failure.error.retryable, 'a rejected value is not retryable').toBe(false);
      expect(REJECTION_CODES.has(failure.error.code), `a rejection code, got ${failure.error.code}`).toBe(
        true,
      );
      expect(failure.error.message.length, 'the failure says why').toBeGreaterThan(0);
      let jsonSafe = true;
      try {
        JSON.stringify(failure.error);
      } catch {
        jsonSafe = false;
      }
      expect(jsonSafe, 'the record error is JSON-safe').toBe(true);
    }
    for (const record of [good1!, good2!]) {
      const result = found.get(record.key);
      expect(result?.status, `the valid record ${record.key} is written`).toBe('created');
      await expectLanded(record, result?.status === 'created' ? result.id : undefined, 'partial failure');
    }
    expect(await db.record(object, idProperty, bad.key), 'the rejected record is not in the CRM').toBe(
      undefined,
    );
  });

  check(
    'batchLimit',
    'writes a full batch in one request and never sends more than maxBatchSize',
    async () => {
      const adapter = await options.createAdapter();
      const size = adapter.capabilities.maxBatchSize;
      await upsert(adapter, records('batch-warmup', 1));
      const full = records('batch-full', size);
      const countBefore = await db.count(object);
      const before = await requests();
      const results = await upsert(adapter, full);
      expect((await requests()) - before, 'backend requests for one full batch').toBe(
        options.requestsPerBatch ?? 1,
      );
      expectResults(results, full, 'full batch');
      expect(
        results.filter((result) => result.status === 'created').length,
        'every record of the full batch is created',
      ).toBe(size);
      expect((await db.count(object)) - countBefore, 'records added by the full batch').toBe(size);

      const over = records('batch-over', size + 1);
      const overBefore = await requests();
      const outcome = await settle(upsert(adapter, over));
      const sent = (await requests()) - overBefore;
      if (outcome.ok) {
        expectResults(outcome.value, over, 'oversized batch');
        expect(sent, 'an oversized batch must be split').toBeGreaterThanOrEqual(2);
        for (const record of over) await expectLanded(record, undefined, 'oversized batch');
      } else {
        expect(
          LeadpipeError.isInstance(outcome.error),
          `a typed error, got ${describeError(outcome.error)}`,
        ).toBe(true);
        expect(sent, 'a refused batch sends nothing').toBe(0);
        expect(await db.record(object, idProperty, over[0]!.key), 'a refused batch writes nothing').toBe(
          undefined,
        );
      }
    },
  );

  check('get', 'reads records by key and leaves out the keys it does not find', async () => {
    const adapter = await options.createAdapter();
    const batch = records('get', 2);
    await upsert(adapter, batch);
    const missing = options.key('get-missing');
    const names = Object.keys(batch[0]!.properties);
    const found = await Promise.resolve(
      adapter.doGet(
        { object, idProperty, keys: [...batch.map((record) => record.key), missing], properties: names },
        {},
      ),
    );
    expect(found.map((record) => record.key).sort(), 'the keys found').toEqual(
      batch.map((record) => record.key).sort(),
    );
    for (const snapshot of found) {
      const stored = await db.record(object, idProperty, snapshot.key);
      expect(snapshot.id, `${snapshot.key}: the CRM id`).toBe(stored?.id);
      const record = batch.find((item) => item.key === snapshot.key);
      for (const name of names) {
        expect(asText(snapshot.properties[name]), `${snapshot.key}.${name} as read`).toBe(
          asText(record?.properties[name]),
        );
      }
    }
  });

  const expectedErrors: Record<number, ExpectedApiError> = {};
  for (const [status, expected] of Object.entries({
    ...DEFAULT_CRM_EXPECTED_ERRORS,
    ...options.expectedErrors,
  })) {
    if (expected !== null && expected !== undefined) expectedErrors[Number(status)] = expected;
  }
  for (const [statusText, expected] of Object.entries(expectedErrors)) {
    const status = Number(statusText);
    check(
      'errors',
      `a whole call failing with HTTP ${status} rejects ${expected.code}, once, writing nothing`,
      async () => {
        const adapter = await options.createAdapter();
        await upsert(adapter, records(`errors-${status}-warmup`, 1));
        const batch = records(`errors-${status}`, 2);
        await backend.respondWith(
          status,
          options.errorResponses?.[status] ?? { body: DEFAULT_ERROR_BODY },
          3,
        );
        const before = await requests();
        const outcome = await settle(upsert(adapter, batch));
        expect(outcome.ok, `HTTP ${status} must reject the call`).toBe(false);
        if (outcome.ok) return;
        expectApiError(adapter, outcome.error, expected, `HTTP ${status}`);
        expect((outcome.error as ApiCallError).status, 'status on the error').toBe(status);
        if (status !== 401) {
          expect((await requests()) - before, 'retries belong to the engine: one request').toBe(1);
        }
        for (const record of batch) {
          expect(await db.record(object, idProperty, record.key), `${record.key} is not written`).toBe(
            undefined,
          );
        }
      },
    );
  }

  check('abort', 'an aborted call rejects with aborted and sends nothing', async () => {
    const adapter = await options.createAdapter();
    const controller = new AbortController();
    controller.abort(new Error('contract abort'));
    const before = await requests();
    const outcome = await settle(upsert(adapter, records('abort', 1), controller.signal));
    expect(outcome.ok, 'an aborted call must reject').toBe(false);
    if (outcome.ok) return;
    expect(
      LeadpipeError.isInstance(outcome.error) && outcome.error.code === 'aborted',
      `code aborted, got ${describeError(outcome.error)}`,
    ).toBe(true);
    expect((await requests()) - before, 'nothing is sent').toBe(0);
  });

  check('secrets', 'no secret appears in any error or record error', async () => {
    const secrets = (options.secrets ?? []).filter((secret) => secret.length >= 6);
    if (secrets.length === 0) return;
    const adapter = await options.createAdapter();
    const texts: string[] = [];
    for (const status of [400, 401, 500]) {
      await backend.respondWith(status, options.errorResponses?.[status] ?? { body: DEFAULT_ERROR_BODY }, 3);
      const outcome = await settle(upsert(adapter, records(`secrets-${status}`, 1)));
      await backend.reset?.();
      if (!outcome.ok) texts.push(...errorTexts(outcome.error));
    }
    const results = await upsert(adapter, [options.invalidRecord(options.key('secrets-bad'))]);
    texts.push(JSON.stringify(results));
    for (const result of results) if (result.status === 'failed') texts.push(result.error.message);
    for (const secret of secrets) {
      for (const text of texts) {
        expect(text.includes(secret), 'a secret leaked into an error').toBe(false);
      }
    }
  });

  check(
    'missingCredentials',
    'a missing credential is a ConfigurationError and nothing is sent',
    async () => {
      const create = options.createAdapterWithoutCredentials;
      if (create === undefined) return;
      const adapter = await create();
      const before = await requests();
      const outcome = await settle(upsert(adapter, records('missing-credentials', 1)));
      expect(outcome.ok, 'a call without credentials must reject').toBe(false);
      if (!outcome.ok) {
        expect(
          ConfigurationError.isInstance(outcome.error) && outcome.error.code === 'missing_credentials',
          `ConfigurationError(missing_credentials), got ${describeError(outcome.error)}`,
        ).toBe(true);
      }
      expect((await requests()) - before, 'nothing is sent').toBe(0);
    },
  );
}

import {
  ApiCallError,
  ConfigurationError,
  type CrmAdapterV1,
  type CrmRecordSnapshot,
  type CrmUpsertResult,
  ValidationError,
} from '@leadpipe/core';
import { apiErrorCodeForStatus } from '@leadpipe/core/adapter-kit';
import { describe, expect, it } from 'vitest';
import {
  type CrmAdapterContractOptions,
  type CrmContractCheck,
  crmAdapterContract,
} from '../src/contracts/crm-adapter-contract.js';
import type { ContractBackend } from '../src/contracts/enrichment-provider.js';

const SECRET = 'sk-memory-crm-secret-123456';

/** Ways to break the in-memory adapter, each of which one check must catch. */
interface Flaws {
  /** Create a new record on every upsert (search-then-create gone wrong). */
  readonly alwaysCreate?: boolean;
  /** Leave failed records out of the results. */
  readonly dropFailures?: boolean;
  /** Put the credential in error messages (unregistered, so nothing scrubs it). */
  readonly leakSecret?: boolean;
  /** Send a failed call twice. */
  readonly retryInside?: boolean;
  /** Ignore the abort signal. */
  readonly ignoreAbort?: boolean;
  /** Replace every property on update instead of merging. */
  readonly replaceProperties?: boolean;
  /** Send an oversized batch in one request. */
  readonly noBatchLimit?: boolean;
  /** Report a record as failed but write it anyway. */
  readonly writeRejected?: boolean;
  /** Map every failed call to server_error. */
  readonly everythingIsServerError?: boolean;
}

interface Stored {
  readonly id: string;
  properties: Record<string, unknown>;
}

/** An in-memory CRM with a fake wire: each adapter call is one "request", canned answers fail it. */
class MemoryCrm {
  readonly rows: Stored[] = [];
  readonly queue: number[] = [];
  requests = 0;
  #nextId = 1;

  readonly backend: ContractBackend = {
    respondWith: (status, _response, times = 1) => {
      for (let index = 0; index < times; index++) this.queue.push(status);
    },
    requestCount: () => this.requests,
    reset: () => {
      this.queue.length = 0;
    },
  };

  find(key: string): Stored | undefined {
    return this.rows.find((row) => row.properties.email === key);
  }

  insert(properties: Record<string, unknown>): Stored {
    const row = { id: String(this.#nextId++), properties };
    this.rows.push(row);
    return row;
  }

  /** One request: fails with the next canned status, if any. */
  send(flaws: Flaws): void {
    this.requests++;
    const status = this.queue.shift();
    if (status === undefined) return;
    if (flaws.retryInside) this.requests++;
    throw new ApiCallError(flaws.everythingIsServerError ? 'server_error' : apiErrorCodeForStatus(status), {
      message: `memory: HTTP ${status}${flaws.leakSecret ? ` with key ${SECRET}` : ''}`,
      providerId: 'memory',
      status,
    });
  }
}

function memoryAdapter(crm: MemoryCrm, flaws: Flaws = {}, withCredentials = true): CrmAdapterV1 {
  const maxBatchSize = 5;
  return {
    specificationVersion: 'v1',
    adapterId: 'memory',
    capabilities: {
      maxBatchSize,
      objects: ['contacts'],
      rateLimits: { perSecond: 10 },
      webhooks: false,
    },
    async doUpsert(request, options) {
      if (options.signal?.aborted && !flaws.ignoreAbort) {
        throw new ApiCallError('aborted', { message: 'memory: aborted', providerId: 'memory' });
      }
      if (!withCredentials) {
        throw new ConfigurationError('missing_credentials', {
          message: 'memory: no key',
          providerId: 'memory',
        });
      }
      if (request.records.length > maxBatchSize && !flaws.noBatchLimit) {
        throw new ValidationError([{ field: 'records', reason: `at most ${maxBatchSize}` }]);
      }
      crm.send(flaws);
      const results: CrmUpsertResult[] = [];
      for (const record of request.records) {
        if ('invalid' in record.properties) {
          if (flaws.writeRejected) crm.insert({ ...record.properties, email: record.key });
          if (!flaws.dropFailures) {
            results.push({
              key: record.key,
              status: 'failed',
              error: {
                code: 'validation_failed',
                message: `property "invalid" does not exist${flaws.leakSecret ? ` (key ${SECRET})` : ''}`,
                retryable: false,
              },
            });
          }
          continue;
        }
        const existing = flaws.alwaysCreate ? undefined : crm.find(record.key);
        if (existing === undefined) {
          const row = crm.insert({ ...record.properties, email: record.key });
          results.push({ key: record.key, status: 'created', id: row.id });
        } else {
          existing.properties = flaws.replaceProperties
            ? { ...record.properties, email: record.key }
            : { ...existing.properties, ...record.properties };
          results.push({ key: record.key, status: 'updated', id: existing.id });
        }
      }
      return results;
    },
    async doGet(request) {
      crm.send(flaws);
      const found: CrmRecordSnapshot[] = [];
      for (const key of request.keys) {
        const row = crm.find(key);
        if (row !== undefined) {
          found.push({ key, id: row.id, properties: row.properties as CrmRecordSnapshot['properties'] });
        }
      }
      return found;
    },
  };
}

function options(crm: MemoryCrm, flaws: Flaws = {}): CrmAdapterContractOptions {
  let serial = 0;
  return {
    name: 'memory',
    createAdapter: () => memoryAdapter(crm, flaws),
    createAdapterWithoutCredentials: () => memoryAdapter(crm, flaws, false),
    object: 'contacts',
    idProperty: 'email',
    key: (label) => `${label}-${serial++}@memory.example`,
    properties: (index) => ({ firstname: `Ada${index}`, jobtitle: `Engineer ${index}` }),
    updatedProperties: (index) => ({ jobtitle: `Director ${index}` }),
    invalidRecord: (key) => ({ key, properties: { invalid: 'x' } }),
    db: {
      record: (_object, _idProperty, key) => crm.find(key),
      count: () => crm.rows.length,
    },
    backend: crm.backend,
    secrets: [SECRET],
  };
}

/** The checks the suite registers, collected instead of run. */
function collect(contract: CrmAdapterContractOptions): Map<string, () => Promise<void>> {
  const tests = new Map<string, () => Promise<void>>();
  crmAdapterContract((name, fn) => tests.set(name, fn), expect, contract);
  return tests;
}

async function failures(flaws: Flaws, check: CrmContractCheck): Promise<number> {
  const all = collect({ ...options(new MemoryCrm(), flaws), skip: [] });
  const only = collect({
    ...options(new MemoryCrm(), flaws),
    skip: (
      [
        'capabilities',
        'create',
        'idempotent',
        'partialUpdate',
        'partialFailure',
        'batchLimit',
        'get',
        'errors',
        'abort',
        'secrets',
        'missingCredentials',
      ] as const
    ).filter((name) => name !== check),
  });
  expect(only.size).toBeGreaterThan(0);
  expect(all.size).toBeGreaterThan(only.size);
  let failed = 0;
  for (const run of only.values()) {
    try {
      await run();
    } catch {
      failed++;
    }
  }
  return failed;
}

describe('crmAdapterContract on a correct in-memory adapter', () => {
  crmAdapterContract(it, expect, options(new MemoryCrm()));
});

describe('crmAdapterContract catches broken adapters', () => {
  it.each<[string, Flaws, CrmContractCheck]>([
    ['a second run creates duplicates', { alwaysCreate: true }, 'idempotent'],
    ['failed records are left out of the results', { dropFailures: true }, 'partialFailure'],
    ['a rejected record is written anyway', { writeRejected: true }, 'partialFailure'],
    ['an update wipes properties it was not given', { replaceProperties: true }, 'partialUpdate'],
    ['an oversized batch goes out in one request', { noBatchLimit: true }, 'batchLimit'],
    ['a failed call is retried inside the adapter', { retryInside: true }, 'errors'],
    ['every failure is server_error', { everythingIsServerError: true }, 'errors'],
    ['an aborted call is sent anyway', { ignoreAbort: true }, 'abort'],
    ['a secret appears in errors', { leakSecret: true }, 'secrets'],
  ])('%s', async (_title, flaws, check) => {
    expect(await failures(flaws, check)).toBeGreaterThan(0);
  });

  it('the same checks pass on the correct adapter (the failures above come from the flaws)', async () => {
    for (const check of [
      'idempotent',
      'partialFailure',
      'partialUpdate',
      'batchLimit',
      'errors',
      'abort',
      'secrets',
    ] as const) {
      expect(await failures({}, check), check).toBe(0);
    }
  });
});

import { v7 as uuidv7 } from 'uuid';
import type {
  CrmAdapterV1,
  CrmCallOptions,
  CrmGetRequest,
  CrmPropertyValue,
  CrmRecordError,
  CrmRecordSnapshot,
  CrmUpsertRequest,
  CrmUpsertResult,
  DeadLetterEntry,
  DeadLetterQueue,
  Lead,
} from '../src/index.js';
import { type CrmSync, type CrmSyncOptions, createCrmSync } from '../src/index.js';

/** Build a valid lead with the given fields. */
export function lead(
  fields: Partial<Omit<Lead, 'id' | 'createdAt' | 'updatedAt' | 'provenance'>> = {},
): Lead {
  const at = '2026-11-25T08:00:00.000Z';
  return { id: uuidv7(), createdAt: at, updatedAt: at, provenance: {}, ...fields };
}

/** A dead-letter entry with the given id (a validation failure of `crm-a`), with overrides. */
export function deadLetterEntry(id: string, overrides: Partial<DeadLetterEntry> = {}): DeadLetterEntry {
  return {
    id,
    target: 'crm-a',
    object: 'contacts',
    idProperty: 'email',
    record: { key: `${id}@acme.com`, properties: { firstname: id } },
    leadIds: [`lead-${id}`],
    error: {
      code: 'validation_failed',
      message: 'bad',
      retryable: false,
      raw: { category: 'VALIDATION_ERROR' },
    },
    attempts: 1,
    firstFailedAt: '2026-11-25T08:00:00.000Z',
    lastFailedAt: '2026-11-25T08:00:00.000Z',
    ...overrides,
  };
}

/** Every entry of a dead-letter queue, paging `limit` at a time. */
export async function listAllDeadLetters(queue: DeadLetterQueue, limit = 100): Promise<DeadLetterEntry[]> {
  const entries: DeadLetterEntry[] = [];
  let cursor: string | undefined;
  do {
    const page = await queue.list({ cursor, limit });
    entries.push(...page.entries);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return entries;
}

/** What a fake CRM call looked like. */
export interface FakeCall {
  readonly kind: 'upsert' | 'get';
  readonly keys: readonly string[];
  readonly request: CrmUpsertRequest | CrmGetRequest;
}

/** Failure injection of {@link FakeCrm}. */
export interface FakeCrmFaults {
  /** Throw this from the whole call (the n-th call of this kind, 1-based), or nothing. */
  wholeCall?: (call: number, kind: 'upsert' | 'get') => Error | undefined;
  /** Fail this record on this attempt (1-based count of times the key was sent), or nothing. */
  record?: (key: string, attempt: number) => CrmRecordError | undefined;
  /** Return results in a scrambled order. */
  shuffle?: boolean;
  /** Leave out the result of these keys once (on their first send). */
  dropResultOnce?: ReadonlySet<string>;
}

/**
 * An in-memory CRM written for the tests: keyed upsert with
 * created/updated/unchanged, duplicate keys in one request rejected like
 * HubSpot does, per-call and per-record fault injection.
 */
export class FakeCrm implements CrmAdapterV1 {
  readonly specificationVersion = 'v1' as const;
  readonly adapterId: string;
  readonly capabilities: CrmAdapterV1['capabilities'];
  readonly records = new Map<string, { id: string; properties: Record<string, CrmPropertyValue | null> }>();
  readonly calls: FakeCall[] = [];
  faults: FakeCrmFaults;
  readonly #sends = new Map<string, number>();
  #upserts = 0;
  #gets = 0;
  #nextId = 1;

  constructor(adapterId: string, options: { maxBatchSize?: number; faults?: FakeCrmFaults } = {}) {
    this.adapterId = adapterId;
    this.capabilities = {
      maxBatchSize: options.maxBatchSize ?? 100,
      objects: ['contacts'],
      rateLimits: { maxConcurrent: 4 },
      webhooks: false,
    };
    this.faults = options.faults ?? {};
  }

  /** Put a record in the CRM directly, as if someone had typed it in. */
  seed(key: string, properties: Record<string, CrmPropertyValue | null>): string {
    const id = `${this.adapterId}-${this.#nextId++}`;
    this.records.set(key, { id, properties: { ...properties } });
    return id;
  }

  upsertCalls(): FakeCall[] {
    return this.calls.filter((call) => call.kind === 'upsert');
  }

  async doUpsert(request: CrmUpsertRequest, _options: CrmCallOptions): Promise<CrmUpsertResult[]> {
    this.#upserts += 1;
    const keys = request.records.map((record) => record.key);
    this.calls.push({ kind: 'upsert', keys, request: structuredClone(request) });
    const thrown = this.faults.wholeCall?.(this.#upserts, 'upsert');
    if (thrown) throw thrown;
    const counts = new Map<string, number>();
    for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
    const results: CrmUpsertResult[] = [];
    for (const record of request.records) {
      const attempt = (this.#sends.get(record.key) ?? 0) + 1;
      this.#sends.set(record.key, attempt);
      if (attempt === 1 && this.faults.dropResultOnce?.has(record.key)) continue;
      if ((counts.get(record.key) ?? 0) > 1) {
        results.push({
          key: record.key,
          status: 'failed',
          error: { code: 'duplicate_key', message: 'Duplicate IDs found in batch input', retryable: false },
        });
        continue;
      }
      const error = this.faults.record?.(record.key, attempt);
      if (error) {
        results.push({ key: record.key, status: 'failed', error });
        continue;
      }
      const existing = this.records.get(record.key);
      if (!existing) {
        const id = this.seed(record.key, record.properties);
        results.push({ key: record.key, status: 'created', id });
        continue;
      }
      const changed = Object.entries(record.properties).some(
        ([name, value]) => existing.properties[name] !== value,
      );
      Object.assign(existing.properties, record.properties);
      results.push({ key: record.key, status: changed ? 'updated' : 'unchanged', id: existing.id });
    }
    if (this.faults.shuffle) {
      // Deterministic scramble: odd positions reversed, then even positions.
      const odd = results.filter((_, index) => index % 2 === 1).reverse();
      const even = results.filter((_, index) => index % 2 === 0);
      return [...odd, ...even];
    }
    return results;
  }

  async doGet(request: CrmGetRequest, _options: CrmCallOptions): Promise<CrmRecordSnapshot[]> {
    this.#gets += 1;
    this.calls.push({ kind: 'get', keys: [...request.keys], request: structuredClone(request) });
    const thrown = this.faults.wholeCall?.(this.#gets, 'get');
    if (thrown) throw thrown;
    const found: CrmRecordSnapshot[] = [];
    for (const key of request.keys) {
      const record = this.records.get(key);
      if (record) found.push({ key: key.toUpperCase(), id: record.id, properties: { ...record.properties } });
    }
    return found.reverse();
  }
}

/** Fast retries for tests: the backoff is a millisecond, and nothing asserts on time. */
export const FAST_RETRY = { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 1 } as const;

const openSyncs: CrmSync[] = [];

/** `createCrmSync` with {@link FAST_RETRY}, closed by {@link closeCrmSyncs} (run it in `afterEach`). */
export function trackedCrmSync(options: CrmSyncOptions): CrmSync {
  const created = createCrmSync({ retry: FAST_RETRY, ...options });
  openSyncs.push(created);
  return created;
}

/** Close every sync {@link trackedCrmSync} made since the last call. */
export async function closeCrmSyncs(): Promise<void> {
  await Promise.all(openSyncs.splice(0).map((created) => created.close()));
}

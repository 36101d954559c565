import { afterEach, describe, expect, it } from 'vitest';
import {
  ApiCallError,
  ConfigurationError,
  type CrmAdapterV1,
  type CrmSyncEvent,
  type CrmUpsertRequest,
  type CrmUpsertResult,
  createMemoryDeadLetterQueue,
  type DeadLetterQueue,
  defineFieldMapping,
  type Lead,
  LeadpipeError,
} from '../src/index.js';
import { closeCrmSyncs, FakeCrm, lead, listAllDeadLetters, trackedCrmSync } from './crm-fixtures.js';

const contacts = defineFieldMapping({
  object: 'contacts',
  idProperty: { from: 'email', to: 'email' },
  fields: [
    { from: 'firstName', to: 'firstname' },
    { from: 'title', to: 'jobtitle' },
  ],
});

const engine = trackedCrmSync;

afterEach(closeCrmSyncs);

function leads(count: number, prefix = 'person'): Lead[] {
  return Array.from({ length: count }, (_, index) =>
    lead({ email: `${prefix}${index}@acme.com`, firstName: `P${index}` }),
  );
}

/** A CRM that is down: every upsert throws a retryable 5xx. Counts its calls. */
class DownCrm implements CrmAdapterV1 {
  readonly specificationVersion = 'v1' as const;
  readonly adapterId = 'crm-down';
  readonly capabilities: CrmAdapterV1['capabilities'] = {
    maxBatchSize: 10,
    objects: ['contacts'],
    rateLimits: { maxConcurrent: 4 },
    webhooks: false,
  };
  upserts = 0;

  async doUpsert(_request: CrmUpsertRequest): Promise<never> {
    this.upserts += 1;
    throw new ApiCallError('server_error', {
      message: 'HTTP 503: Service Unavailable',
      providerId: this.adapterId,
      isRetryable: true,
    });
  }

  async doGet(): Promise<never> {
    throw new Error('not used: the mapping guards nothing');
  }
}

describe('CRM sync session: the experiment of issue 10', () => {
  it('against a CRM that is down, 100 leads in 10 writes of 10 make at most 6 upserts and one crm.down', async () => {
    const crm = new DownCrm();
    const sync = engine({
      crms: [{ adapter: crm, mapping: contacts }],
      retry: { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 1 },
      downAfter: 2,
    });
    const downs: CrmSyncEvent[] = [];
    sync.on('crm.down', (event) => downs.push(event));
    const session = sync.open();
    const input = leads(100);
    const outcomes = [];
    for (let write = 0; write < 10; write += 1) {
      outcomes.push(...(await session.write(input.slice(write * 10, write * 10 + 10))));
    }
    const report = await session.close();

    // Two batches of 3 attempts each (1 + 2 retries) take it down; the other 8 writes never call it.
    expect(crm.upserts).toBe(6);
    expect(downs).toHaveLength(1);
    expect(downs[0]).toMatchObject({ type: 'crm.down', adapterId: 'crm-down', code: 'server_error' });
    // Nothing is dropped: every lead is dead-lettered, retryable, with its entry in the queue.
    expect(outcomes).toHaveLength(100);
    expect(outcomes.every((outcome) => outcome.status === 'deadLettered')).toBe(true);
    const entries = await listAllDeadLetters(sync.deadLetters);
    expect(entries).toHaveLength(100);
    const entryIds = new Set(entries.map((entry) => entry.id));
    for (const outcome of outcomes) {
      const [only] = outcome.targets;
      expect(only?.status).toBe('deadLettered');
      if (only?.status !== 'deadLettered') continue;
      expect(only.error.retryable).toBe(true);
      expect(entryIds.has(only.entryId)).toBe(true);
    }
    // The later writes carry the down error, naming the CRM.
    const last = outcomes[99]?.targets[0];
    expect(last?.status === 'deadLettered' && last.error.message).toMatch(/crm-down is down for this run/);
    expect(report.crms[0]).toMatchObject({ status: 'down', received: 100, deadLettered: 100, calls: 6 });
    expect(report.inputs).toBe(100);
  });

  it('keeps "down" across overlapping writes too: one crm.down, no call after it, batches in flight included', async () => {
    const crm = new DownCrm();
    const sync = engine({
      crms: [{ adapter: crm, mapping: contacts }],
      retry: { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 1 },
      downAfter: 2,
      concurrency: 2,
    });
    let downs = 0;
    let callsAtDown = -1;
    sync.on('crm.down', () => {
      downs += 1;
      callsAtDown = crm.upserts;
    });
    const session = sync.open();
    const input = leads(100);
    const writes = Array.from({ length: 10 }, (_, write) =>
      session.write(input.slice(write * 10, write * 10 + 10)),
    );
    const outcomes = (await Promise.all(writes)).flat();
    await session.close();
    expect(downs).toBe(1);
    expect(crm.upserts).toBe(callsAtDown);
    expect(crm.upserts).toBeLessThanOrEqual(6);
    expect(outcomes.filter((outcome) => outcome.status === 'deadLettered')).toHaveLength(100);
  });
});

describe('CRM sync session: outcomes are return values', () => {
  it('resolves one outcome per lead, in input order, with the record id per CRM', async () => {
    const crm = new FakeCrm('crm-a', { maxBatchSize: 10 });
    const existingId = crm.seed('known@acme.com', { firstname: 'Old' });
    const sameId = crm.seed('same@acme.com', { firstname: 'Same' });
    const sync = engine({ crms: [{ adapter: crm, mapping: contacts }] });
    const session = sync.open();
    const input = [
      lead({ email: 'new@acme.com', firstName: 'New' }),
      lead({ email: 'known@acme.com', firstName: 'Changed' }),
      lead({ firstName: 'No email' }),
      lead({ email: 'same@acme.com', firstName: 'Same' }),
    ];
    const outcomes = await session.write(input);
    expect(outcomes.map((outcome) => [outcome.index, outcome.leadId, outcome.status])).toEqual([
      [0, input[0]?.id, 'written'],
      [1, input[1]?.id, 'written'],
      [2, input[2]?.id, 'rejected'],
      [3, input[3]?.id, 'written'],
    ]);
    expect(outcomes[0]?.targets).toEqual([
      { adapterId: 'crm-a', object: 'contacts', status: 'created', id: crm.records.get('new@acme.com')?.id },
    ]);
    expect(outcomes[1]?.targets).toEqual([
      { adapterId: 'crm-a', object: 'contacts', status: 'updated', id: existingId },
    ]);
    expect(outcomes[2]?.targets).toEqual([
      {
        adapterId: 'crm-a',
        object: 'contacts',
        status: 'rejected',
        issues: [expect.objectContaining({ field: 'email' })],
      },
    ]);
    expect(outcomes[3]?.targets).toEqual([
      { adapterId: 'crm-a', object: 'contacts', status: 'unchanged', id: sameId },
    ]);
    const report = await session.close();
    expect(report.crms[0]).toMatchObject({ received: 4, created: 1, updated: 1, unchanged: 1, rejected: 1 });
  });

  it('gives leads merged into one record the same outcome', async () => {
    const crm = new FakeCrm('crm-a');
    const sync = engine({ crms: [{ adapter: crm, mapping: contacts }] });
    const session = sync.open();
    const outcomes = await session.write([
      lead({ email: 'Dup@acme.com', firstName: 'A' }),
      lead({ email: 'dup@acme.com', title: 'CTO' }),
    ]);
    expect(crm.upsertCalls()).toHaveLength(1);
    const ids = outcomes.map((outcome) => outcome.targets[0]?.status === 'created' && outcome.targets[0].id);
    expect(ids[0]).toBeTruthy();
    expect(ids[1]).toBe(ids[0]);
    expect((await session.close()).crms[0]).toMatchObject({ received: 2, merged: 1, created: 1 });
  });

  it('returns dead-lettered records with their error and dead-letter entry id', async () => {
    const crm = new FakeCrm('crm-a', {
      faults: {
        record: (key) =>
          key === 'bad@acme.com'
            ? {
                code: 'validation_failed',
                message: 'Invalid email',
                retryable: false,
                vendorCode: 'INVALID_EMAIL',
              }
            : undefined,
      },
    });
    const sync = engine({ crms: [{ adapter: crm, mapping: contacts }] });
    const session = sync.open();
    const outcomes = await session.write([
      lead({ email: 'good@acme.com', firstName: 'G' }),
      lead({ email: 'bad@acme.com', firstName: 'B' }),
    ]);
    await session.close();
    const [entry] = await listAllDeadLetters(sync.deadLetters);
    expect(outcomes[0]?.status).toBe('written');
    expect(outcomes[1]).toMatchObject({
      status: 'deadLettered',
      targets: [
        {
          status: 'deadLettered',
          entryId: entry?.id,
          error: { code: 'validation_failed', vendorCode: 'INVALID_EMAIL', retryable: false },
        },
      ],
    });
    expect(entry?.leadIds).toEqual([outcomes[1]?.leadId]);
  });

  it('a throwing crm.recordDeadLettered listener does not turn a dead-lettered outcome into written', async () => {
    const crm = new FakeCrm('crm-a', {
      faults: { record: () => ({ code: 'validation_failed', message: 'bad', retryable: false }) },
    });
    let heard = 0;
    const sync = engine({
      crms: [{ adapter: crm, mapping: contacts }],
      onEvent: () => {
        throw new Error('onEvent bug');
      },
    });
    sync.on('crm.recordDeadLettered', () => {
      heard += 1;
      throw new Error('listener bug');
    });
    const session = sync.open();
    const outcomes = await session.write(leads(3));
    const report = await session.close();
    expect(heard).toBe(3);
    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      'deadLettered',
      'deadLettered',
      'deadLettered',
    ]);
    expect(report.crms[0]).toMatchObject({ deadLettered: 3, created: 0 });
  });

  it('summarises over several CRMs: dead-lettered anywhere, else rejected anywhere, else written', async () => {
    const a = new FakeCrm('crm-a');
    const b = new FakeCrm('crm-b', {
      faults: {
        record: (key) =>
          key === 'x1@acme.com' ? { code: 'validation_failed', message: 'bad', retryable: false } : undefined,
      },
    });
    const strict = defineFieldMapping({
      object: 'contacts',
      idProperty: { from: 'email', to: 'email' },
      fields: [{ from: 'title', to: 'jobtitle', required: true }],
    });
    const sync = engine({
      crms: [
        { adapter: a, mapping: contacts },
        { adapter: b, mapping: strict },
      ],
    });
    const session = sync.open();
    const outcomes = await session.write([
      lead({ email: 'x0@acme.com', title: 'CEO' }),
      lead({ email: 'x1@acme.com', title: 'CTO' }),
      lead({ email: 'x2@acme.com' }),
    ]);
    await session.close();
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['written', 'deadLettered', 'rejected']);
    expect(outcomes[2]?.targets.map((target) => [target.adapterId, target.status])).toEqual([
      ['crm-a', 'created'],
      ['crm-b', 'rejected'],
    ]);
  });
});

describe('CRM sync session: one batcher', () => {
  it('batches to the adapter size whatever the caller writes, and reports every write on close', async () => {
    const crm = new FakeCrm('crm-a', { maxBatchSize: 10 });
    const sync = engine({ crms: [{ adapter: crm, mapping: contacts }] });
    const session = sync.open();
    const first = await session.write(leads(25, 'a'));
    expect(crm.upsertCalls().map((call) => call.keys.length)).toEqual([10, 10, 5]);
    const second = await session.write(leads(3, 'b'));
    expect(first).toHaveLength(25);
    expect(second).toHaveLength(3);
    expect(crm.upsertCalls().map((call) => call.keys.length)).toEqual([10, 10, 5, 3]);
    const report = await session.close();
    expect(report).toMatchObject({ inputs: 28, crms: [{ received: 28, created: 28, calls: 4 }] });
  });

  it('refuses writes after close', async () => {
    const sync = engine({ crms: [{ adapter: new FakeCrm('crm-a'), mapping: contacts }] });
    const session = sync.open();
    await session.write(leads(1));
    await session.close();
    const error = await session.write(leads(1)).catch((caught: unknown) => caught);
    expect(ConfigurationError.isInstance(error)).toBe(true);
    expect((error as ConfigurationError).issues[0]?.field).toBe('session');
  });

  it('rejects the write and the close when the dead-letter queue fails, rather than lose a record', async () => {
    const memory = createMemoryDeadLetterQueue();
    const broken: DeadLetterQueue = {
      ...memory,
      put: async () => {
        throw new Error('disk full');
      },
    };
    const crm = new FakeCrm('crm-a', {
      faults: { record: () => ({ code: 'validation_failed', message: 'bad', retryable: false }) },
    });
    const sync = engine({ crms: [{ adapter: crm, mapping: contacts }], deadLetters: broken });
    const session = sync.open();
    const error = await session.write(leads(2)).catch((caught: unknown) => caught);
    expect(LeadpipeError.isInstance(error) && error.code).toBe('dead_letter_failed');
    const closed = await session.close().catch((caught: unknown) => caught);
    expect(LeadpipeError.isInstance(closed) && closed.code).toBe('dead_letter_failed');
  });

  it('rejects writes with an aborted error once its signal aborts', async () => {
    const controller = new AbortController();
    const crm = new FakeCrm('crm-a', { maxBatchSize: 1 });
    const original = crm.doUpsert.bind(crm);
    crm.doUpsert = async (request, options) => {
      controller.abort();
      return original(request, options);
    };
    const sync = engine({ crms: [{ adapter: crm, mapping: contacts }] });
    const session = sync.open({ signal: controller.signal });
    const error = await session.write(leads(5)).catch((caught: unknown) => caught);
    expect(LeadpipeError.isInstance(error) && error.code).toBe('aborted');
    expect(crm.upsertCalls().length).toBeLessThan(5);
    const closed = await session.close().catch((caught: unknown) => caught);
    expect(LeadpipeError.isInstance(closed) && closed.code).toBe('aborted');
  });
});

describe('CRM sync session: cancelled before it starts', () => {
  it('rejects writes, close and sync with aborted, without a call and without throwing synchronously', async () => {
    const crm = new FakeCrm('crm-a');
    const sync = engine({ crms: [{ adapter: crm, mapping: contacts }] });
    const controller = new AbortController();
    controller.abort();
    const session = sync.open({ signal: controller.signal });
    const written = await session.write(leads(2)).catch((caught: unknown) => caught);
    expect(LeadpipeError.isInstance(written) && written.code).toBe('aborted');
    const closed = await session.close().catch((caught: unknown) => caught);
    expect(LeadpipeError.isInstance(closed) && closed.code).toBe('aborted');
    const synced = sync.sync(leads(2), { signal: controller.signal });
    const error = await synced.catch((caught: unknown) => caught);
    expect(LeadpipeError.isInstance(error) && error.code).toBe('aborted');
    expect(crm.upsertCalls()).toHaveLength(0);
  });
});

/** A CRM that refuses `firstname` values it does not know: it leaves them out with a warning unless required. */
class PicklistCrm implements CrmAdapterV1 {
  readonly specificationVersion = 'v1' as const;
  readonly adapterId = 'crm-picklist';
  readonly capabilities: CrmAdapterV1['capabilities'] = {
    maxBatchSize: 10,
    objects: ['contacts'],
    rateLimits: { maxConcurrent: 4 },
    webhooks: false,
  };
  readonly requests: CrmUpsertRequest[] = [];

  async doUpsert(request: CrmUpsertRequest): Promise<CrmUpsertResult[]> {
    this.requests.push(request);
    const required = new Set(request.requiredProperties ?? []);
    return request.records.map((record) => {
      const known = record.properties.firstname === 'Ada';
      if (known) return { key: record.key, status: 'created' as const, id: `id-${record.key}` };
      if (required.has('firstname')) {
        return {
          key: record.key,
          status: 'failed' as const,
          error: { code: 'validation_failed', message: 'firstname: not a value', retryable: false },
        };
      }
      return {
        key: record.key,
        status: 'created' as const,
        id: `id-${record.key}`,
        warnings: [{ field: 'firstname', reason: 'not a value: left out' }],
      };
    });
  }

  async doGet(): Promise<never> {
    throw new Error('not used: the mapping guards nothing');
  }
}

describe('fields an adapter leaves out', () => {
  it('tells the adapter which properties the mapping requires, and carries its per-record warnings into the outcome and the report', async () => {
    const crm = new PicklistCrm();
    const mapping = defineFieldMapping({
      object: 'contacts',
      idProperty: { from: 'email', to: 'email' },
      fields: [
        { from: 'firstName', to: 'firstname' },
        { from: 'title', to: 'jobtitle', required: true },
      ],
    });
    const session = engine({ crms: [{ adapter: crm, mapping }] }).open();
    const outcomes = await session.write([
      lead({ email: 'a@acme.com', firstName: 'Ada', title: 'CTO' }),
      lead({ email: 'b@acme.com', firstName: 'Bob', title: 'CEO' }),
    ]);
    const report = await session.close();
    expect(crm.requests[0]?.requiredProperties).toEqual(['jobtitle']);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['written', 'written']);
    expect(outcomes[0]?.targets[0]).not.toHaveProperty('warnings');
    expect(outcomes[1]?.targets[0]).toMatchObject({
      status: 'created',
      warnings: [{ field: 'firstname', reason: 'not a value: left out' }],
    });
    expect(report.crms[0]).toMatchObject({ created: 2, warned: 1, deadLettered: 0 });
  });

  it('sends no requiredProperties when the mapping requires nothing', async () => {
    const crm = new PicklistCrm();
    const session = engine({ crms: [{ adapter: crm, mapping: contacts }] }).open();
    await session.write([lead({ email: 'a@acme.com', firstName: 'Ada' })]);
    await session.close();
    expect(crm.requests[0]).not.toHaveProperty('requiredProperties');
  });
});

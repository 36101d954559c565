import { afterEach, describe, expect, it } from 'vitest';
import {
  ApiCallError,
  ConfigurationError,
  type CrmSyncEvent,
  type CrmSyncOptions,
  type CrmSyncReject,
  type CrmSyncReport,
  type CrmSyncTargetReport,
  createCrmSync,
  createLimiterRegistry,
  createMemoryDeadLetterQueue,
  type DeadLetterEntry,
  type DeadLetterQueue,
  defineFieldMapping,
  type Lead,
  LeadpipeError,
  type ProviderLimiter,
  redrive,
  registerSecret,
} from '../src/index.js';
import { closeCrmSyncs, FakeCrm, lead, trackedCrmSync } from './crm-fixtures.js';

const contacts = defineFieldMapping({
  object: 'contacts',
  idProperty: { from: 'email', to: 'email' },
  fields: [
    { from: 'firstName', to: 'firstname' },
    { from: 'title', to: 'jobtitle' },
    { from: 'company.name', to: 'company' },
  ],
});

const engine = trackedCrmSync;

afterEach(closeCrmSyncs);

function leads(count: number, prefix = 'person'): Lead[] {
  return Array.from({ length: count }, (_, index) =>
    lead({ email: `${prefix}${index}@acme.com`, firstName: `P${index}`, company: { name: 'Acme' } }),
  );
}

async function allEntries(queue: DeadLetterQueue): Promise<DeadLetterEntry[]> {
  const out: DeadLetterEntry[] = [];
  let cursor: string | undefined;
  do {
    const page = await queue.list({ cursor, limit: 50 });
    out.push(...page.entries);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return out;
}

/** The accounting identity every report must satisfy: each input ends in exactly one terminal state. */
function expectAccounted(report: CrmSyncTargetReport): void {
  expect(report.received).toBe(
    report.rejected +
      report.merged +
      report.created +
      report.updated +
      report.unchanged +
      report.deadLettered,
  );
  expect(report.failed).toBe(report.deadLettered);
}

function target(report: CrmSyncReport, adapterId: string): CrmSyncTargetReport {
  const found = report.crms.find((item) => item.adapterId === adapterId);
  if (!found) throw new Error(`no report for ${adapterId}`);
  return found;
}

const serverError = () =>
  new ApiCallError('server_error', { message: 'HubSpot answered 503', status: 503, providerId: 'crm' });

describe('createCrmSync: batching and results', () => {
  it('chunks to the adapter batch size and reports created and updated records', async () => {
    const crm = new FakeCrm('crm-a', { maxBatchSize: 100 });
    crm.seed('person7@acme.com', { firstname: 'Old' });
    crm.seed('person8@acme.com', { firstname: 'P8', company: 'Acme' });
    const sync = engine({ crms: [{ adapter: crm, mapping: contacts }] });
    const report = await sync.sync(leads(250));
    expect(crm.upsertCalls().map((call) => call.keys.length)).toEqual([100, 100, 50]);
    expect(crm.calls.some((call) => call.kind === 'get')).toBe(false);
    const crmReport = target(report, 'crm-a');
    expect(crmReport).toMatchObject({
      status: 'ok',
      received: 250,
      created: 248,
      updated: 1,
      unchanged: 1,
      calls: 3,
    });
    expectAccounted(crmReport);
    expect(report.inputs).toBe(250);
    expect(crm.records.get('person7@acme.com')?.properties.firstname).toBe('P7');
  });

  it('merges duplicate keys inside a batch by lower-cased email, later non-empty values winning', async () => {
    const crm = new FakeCrm('crm-a', { maxBatchSize: 10 });
    const first = lead({ email: 'Ada@Example.com', firstName: 'Ada', title: 'CTO' });
    const second = lead({ email: 'ada@example.COM', title: 'CEO', company: { name: 'Example' } });
    const other = lead({ email: 'bob@example.com', firstName: 'Bob' });
    const events: CrmSyncEvent[] = [];
    const sync = engine({
      crms: [{ adapter: crm, mapping: contacts }],
      onEvent: (event) => events.push(event),
    });
    const report = await sync.sync([first, second, other]);
    const [call] = crm.upsertCalls();
    expect(call?.keys).toEqual(['ada@example.com', 'bob@example.com']);
    expect(crm.records.get('ada@example.com')?.properties).toEqual({
      firstname: 'Ada',
      jobtitle: 'CEO',
      company: 'Example',
    });
    expect(target(report, 'crm-a')).toMatchObject({ received: 3, merged: 1, created: 2, deadLettered: 0 });
    expectAccounted(target(report, 'crm-a'));
    expect(events.filter((event) => event.type === 'crm.batchSent')).toHaveLength(1);
  });

  it('joins shuffled results to their inputs by key', async () => {
    const crm = new FakeCrm('crm-a', {
      maxBatchSize: 6,
      faults: {
        shuffle: true,
        record: (key) =>
          key === 'person1@acme.com' || key === 'person4@acme.com'
            ? {
                code: 'validation_failed',
                message: `bad ${key}`,
                retryable: false,
                vendorCode: 'INVALID_EMAIL',
              }
            : undefined,
      },
    });
    crm.seed('person2@acme.com', { firstname: 'Old' });
    const sync = engine({ crms: [{ adapter: crm, mapping: contacts }] });
    const report = await sync.sync(leads(6));
    expect(target(report, 'crm-a')).toMatchObject({ created: 3, updated: 1, deadLettered: 2 });
    const entries = await allEntries(sync.deadLetters);
    expect(entries.map((entry) => [entry.record.key, entry.error.message])).toEqual(
      expect.arrayContaining([
        ['person1@acme.com', 'bad person1@acme.com'],
        ['person4@acme.com', 'bad person4@acme.com'],
      ]),
    );
    expect(entries).toHaveLength(2);
  });

  it('keeps memory bounded: input is read no further ahead than the batches in flight', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const crm = new FakeCrm('crm-a', { maxBatchSize: 5 });
    const original = crm.doUpsert.bind(crm);
    crm.doUpsert = async (request, options) => {
      await gate;
      return original(request, options);
    };
    let yielded = 0;
    async function* source(): AsyncGenerator<Lead> {
      for (const item of leads(100)) {
        yielded += 1;
        yield item;
      }
    }
    const sync = engine({ crms: [{ adapter: crm, mapping: contacts }], concurrency: 2 });
    const running = sync.sync(source());
    for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setImmediate(resolve));
    // Two batches of 5 in flight: the 11th lead is not read until one of them ends.
    expect(yielded).toBe(10);
    release();
    const report = await running;
    expect(target(report, 'crm-a').created).toBe(100);
  });
});

describe('createCrmSync: retries and dead letters', () => {
  it('resubmits only the records that failed with retryable errors, and dead-letters permanent ones with the raw error', async () => {
    const crm = new FakeCrm('crm-a', {
      faults: {
        record: (key, attempt) => {
          if (key === 'person0@acme.com' && attempt === 1) {
            return {
              code: 'locked',
              message: 'UNABLE_TO_LOCK_ROW',
              retryable: true,
              vendorCode: 'UNABLE_TO_LOCK_ROW',
            };
          }
          if (key === 'person1@acme.com') {
            return {
              code: 'validation_failed',
              message: 'Property values were not valid',
              retryable: false,
              vendorCode: 'VALIDATION_ERROR',
              raw: { status: 'error', category: 'VALIDATION_ERROR', errors: [{ message: 'INVALID_EMAIL' }] },
            };
          }
          return undefined;
        },
      },
    });
    const sync = engine({
      crms: [{ adapter: crm, mapping: contacts }],
      now: () => Date.parse('2026-11-25T09:00:00Z'),
    });
    const report = await sync.sync(leads(3));
    expect(crm.upsertCalls().map((call) => call.keys)).toEqual([
      ['person0@acme.com', 'person1@acme.com', 'person2@acme.com'],
      ['person0@acme.com'],
    ]);
    expect(target(report, 'crm-a')).toMatchObject({
      created: 2,
      deadLettered: 1,
      failed: 1,
      retried: 1,
      calls: 2,
    });
    expectAccounted(target(report, 'crm-a'));
    const [entry] = await allEntries(sync.deadLetters);
    expect(entry).toMatchObject({
      target: 'crm-a',
      object: 'contacts',
      idProperty: 'email',
      record: { key: 'person1@acme.com', properties: { firstname: 'P1', company: 'Acme' } },
      attempts: 1,
      firstFailedAt: '2026-11-25T09:00:00.000Z',
      lastFailedAt: '2026-11-25T09:00:00.000Z',
      error: {
        code: 'validation_failed',
        retryable: false,
        vendorCode: 'VALIDATION_ERROR',
        raw: { status: 'error', category: 'VALIDATION_ERROR', errors: [{ message: 'INVALID_EMAIL' }] },
      },
    });
    expect(entry?.leadIds).toHaveLength(1);
  });

  it('dead-letters a record that stays retryable once retries run out, marked retryable', async () => {
    const crm = new FakeCrm('crm-a', {
      faults: {
        record: (key) =>
          key === 'person0@acme.com'
            ? { code: 'server_error', message: 'internal', retryable: true }
            : undefined,
      },
    });
    const sync = engine({ crms: [{ adapter: crm, mapping: contacts }] });
    const report = await sync.sync(leads(2));
    // First attempt plus FAST_RETRY.retries = 2 resubmissions of person0 alone.
    expect(crm.upsertCalls().map((call) => call.keys.length)).toEqual([2, 1, 1]);
    expect(target(report, 'crm-a')).toMatchObject({
      created: 1,
      deadLettered: 1,
      retried: 2,
      status: 'degraded',
    });
    const [entry] = await allEntries(sync.deadLetters);
    expect(entry).toMatchObject({ attempts: 3, error: { code: 'server_error', retryable: true } });
  });

  it('resends a record whose result the adapter left out, as it is safe to upsert again', async () => {
    const crm = new FakeCrm('crm-a', { faults: { dropResultOnce: new Set(['person1@acme.com']) } });
    const sync = engine({ crms: [{ adapter: crm, mapping: contacts }] });
    const report = await sync.sync(leads(2));
    expect(crm.upsertCalls().map((call) => call.keys)).toEqual([
      ['person0@acme.com', 'person1@acme.com'],
      ['person1@acme.com'],
    ]);
    expect(target(report, 'crm-a')).toMatchObject({ created: 2, retried: 1, deadLettered: 0 });
  });

  it('retries a whole call that failed with a 5xx, and does not retry a 400', async () => {
    let failures = 1;
    const flaky = new FakeCrm('flaky', {
      faults: { wholeCall: () => (failures-- > 0 ? serverError() : undefined) },
    });
    const invalid = new FakeCrm('invalid', {
      faults: {
        wholeCall: () =>
          new ApiCallError('invalid_request', { message: 'Property "jobtitle" does not exist', status: 400 }),
      },
    });
    const sync = engine({
      crms: [
        { adapter: flaky, mapping: contacts },
        { adapter: invalid, mapping: contacts },
      ],
    });
    const report = await sync.sync(leads(3));
    expect(target(report, 'flaky')).toMatchObject({ created: 3, calls: 2, retried: 3 });
    expect(target(report, 'invalid')).toMatchObject({
      deadLettered: 3,
      calls: 1,
      retried: 0,
      status: 'degraded',
    });
    const entries = await allEntries(sync.deadLetters);
    expect(entries.every((entry) => entry.error.code === 'invalid_request' && !entry.error.retryable)).toBe(
      true,
    );
    expect(entries[0]?.error.raw).toMatchObject({
      name: 'ApiCallError',
      code: 'invalid_request',
      status: 400,
    });
  });

  it('leaves a 429 to the limiter: the same call runs again, with no retry on top', async () => {
    let limited = 1;
    const crm = new FakeCrm('crm-a', {
      faults: {
        wholeCall: () =>
          limited-- > 0
            ? new ApiCallError('rate_limited', {
                message: 'TEN_SECONDLY_ROLLING',
                status: 429,
                retryAfterMs: 5,
              })
            : undefined,
      },
    });
    const events: CrmSyncEvent[] = [];
    const sync = engine({
      crms: [{ adapter: crm, mapping: contacts }],
      onEvent: (event) => events.push(event),
    });
    const report = await sync.sync(leads(3));
    expect(crm.upsertCalls().map((call) => call.keys.length)).toEqual([3, 3]);
    expect(target(report, 'crm-a')).toMatchObject({ created: 3, retried: 0, calls: 2, deadLettered: 0 });
    expect(events).toContainEqual({ type: 'crm.rateLimited', adapterId: 'crm-a', waitMs: 5 });
  });

  it('pauses the CRM limiter when records come back rate limited, then resends only them', async () => {
    const registry = createLimiterRegistry();
    const real = registry.get('crm-a', 'default', { maxConcurrent: 4 });
    const pauses: number[] = [];
    const limiter: ProviderLimiter = {
      id: real.id,
      key: real.key,
      schedule: (task, options) => real.schedule(task, options),
      update: (state) => real.update(state),
      pauseUntil: (epochMs, reason) => {
        pauses.push(epochMs);
        real.pauseUntil(epochMs, reason);
      },
      pausedUntil: () => real.pausedUntil(),
      estimatedWaitMs: () => real.estimatedWaitMs(),
      stats: () => real.stats(),
    };
    const crm = new FakeCrm('crm-a', {
      faults: {
        record: (key, attempt) =>
          key === 'person1@acme.com' && attempt === 1
            ? { code: 'rate_limited', message: 'REQUEST_LIMIT_EXCEEDED', retryable: true, retryAfterMs: 5 }
            : undefined,
      },
    });
    const clock = Date.now();
    const sync = engine({ crms: [{ adapter: crm, mapping: contacts, limiter }], now: () => clock });
    const report = await sync.sync(leads(2));
    expect(pauses).toEqual([clock + 5]);
    expect(crm.upsertCalls().map((call) => call.keys)).toEqual([
      ['person0@acme.com', 'person1@acme.com'],
      ['person1@acme.com'],
    ]);
    expect(target(report, 'crm-a')).toMatchObject({ created: 2, retried: 1 });
    await registry.disconnect();
  });

  it('redrives dead letters: delivered ones leave the queue, failing ones stay with more attempts', async () => {
    let broken = new Set(['person0@acme.com', 'person1@acme.com', 'person2@acme.com']);
    const crm = new FakeCrm('crm-a', {
      faults: {
        record: (key) =>
          broken.has(key)
            ? { code: 'validation_failed', message: 'picklist value', retryable: false }
            : undefined,
      },
    });
    let clock = Date.parse('2026-11-25T09:00:00Z');
    const sync = engine({ crms: [{ adapter: crm, mapping: contacts }], now: () => clock });
    await sync.sync(leads(4));
    const before = await allEntries(sync.deadLetters);
    expect(before).toHaveLength(3);
    // The host fixed the picklist for two of them.
    broken = new Set(['person2@acme.com']);
    clock += 60_000;
    const report = await redrive(sync.deadLetters, sync, (entry) => entry.record.key !== 'person1@acme.com');
    expect(report.inputs).toBe(2);
    expect(target(report, 'crm-a')).toMatchObject({ received: 2, created: 1, deadLettered: 1 });
    const after = await allEntries(sync.deadLetters);
    expect(after.map((entry) => entry.record.key).sort()).toEqual(['person1@acme.com', 'person2@acme.com']);
    const again = after.find((entry) => entry.record.key === 'person2@acme.com');
    const previous = before.find((entry) => entry.record.key === 'person2@acme.com');
    expect(again).toMatchObject({
      id: previous?.id,
      attempts: 2,
      firstFailedAt: '2026-11-25T09:00:00.000Z',
      lastFailedAt: '2026-11-25T09:01:00.000Z',
    });
    expect(crm.records.has('person0@acme.com')).toBe(true);
    // Redrive everything left: person1 now goes through.
    broken = new Set();
    const last = await redrive(sync.deadLetters, sync);
    expect(target(last, 'crm-a').created).toBe(2);
    expect(await sync.deadLetters.size()).toBe(0);
  });

  it('leaves dead letters for CRMs it does not know in the queue', async () => {
    const queue = createMemoryDeadLetterQueue();
    await queue.put({
      id: 'x1',
      target: 'salesforce',
      object: 'Lead',
      idProperty: 'Email',
      record: { key: 'a@acme.com', properties: {} },
      leadIds: ['l1'],
      error: { code: 'server_error', message: 'down', retryable: true },
      attempts: 1,
      firstFailedAt: '2026-11-25T09:00:00.000Z',
      lastFailedAt: '2026-11-25T09:00:00.000Z',
    });
    const crm = new FakeCrm('crm-a');
    const sync = engine({ crms: [{ adapter: crm, mapping: contacts }], deadLetters: queue });
    const report = await redrive(queue, sync);
    expect(report).toMatchObject({ inputs: 1, unmatched: 1 });
    expect(crm.calls).toHaveLength(0);
    expect(await queue.size()).toBe(1);
  });
});

describe('createCrmSync: several CRMs', () => {
  it('one CRM down does not stop the others; its records are dead-lettered as retryable, none dropped', async () => {
    const up = new FakeCrm('up', { maxBatchSize: 10 });
    const down = new FakeCrm('down', { maxBatchSize: 10, faults: { wholeCall: () => serverError() } });
    const events: CrmSyncEvent[] = [];
    const sync = engine({
      crms: [
        { adapter: down, mapping: contacts },
        { adapter: up, mapping: contacts },
      ],
      downAfter: 2,
      concurrency: 1,
      onEvent: (event) => events.push(event),
    });
    const report = await sync.sync(leads(50));
    expect(target(report, 'up')).toMatchObject({ status: 'ok', created: 50, deadLettered: 0 });
    const downReport = target(report, 'down');
    expect(downReport).toMatchObject({ status: 'down', received: 50, deadLettered: 50, created: 0 });
    expect(downReport.error?.code).toBe('server_error');
    expectAccounted(downReport);
    // Two batches tried with retries (3 calls each), then the CRM is down and no more calls are made.
    expect(down.upsertCalls()).toHaveLength(6);
    const entries = await allEntries(sync.deadLetters);
    expect(entries).toHaveLength(50);
    expect(entries.every((entry) => entry.target === 'down' && entry.error.retryable)).toBe(true);
    expect(new Set(entries.map((entry) => entry.record.key)).size).toBe(50);
    expect(events.filter((event) => event.type === 'crm.down')).toHaveLength(1);
    // Later, the CRM is back: redrive delivers everything.
    down.faults = {};
    const redriven = await redrive(sync.deadLetters, sync);
    expect(target(redriven, 'down')).toMatchObject({ created: 50, status: 'ok' });
    expect(await sync.deadLetters.size()).toBe(0);
  });

  it('takes a CRM down at once when it refuses the credentials', async () => {
    const denied = new FakeCrm('denied', {
      maxBatchSize: 2,
      faults: {
        wholeCall: () => new ApiCallError('unauthorized', { message: 'INVALID_SESSION_ID', status: 401 }),
      },
    });
    const sync = engine({ crms: [{ adapter: denied, mapping: contacts }], concurrency: 1 });
    const report = await sync.sync(leads(6));
    expect(denied.upsertCalls()).toHaveLength(1);
    expect(target(report, 'denied')).toMatchObject({ status: 'down', deadLettered: 6 });
    expect(target(report, 'denied').error?.code).toBe('unauthorized');
  });
});

describe('createCrmSync: mapping and conflict policy', () => {
  it('rejects leads that miss a required field before any call', async () => {
    const strict = defineFieldMapping({
      object: 'contacts',
      idProperty: { from: 'email', to: 'email' },
      fields: [{ from: 'company.name', to: 'company', required: true }],
    });
    const crm = new FakeCrm('crm-a');
    const rejects: CrmSyncReject[] = [];
    const sync = engine({
      crms: [{ adapter: crm, mapping: strict }],
      onRejected: (reject) => rejects.push(reject),
    });
    const noCompany = lead({ email: 'a@acme.com' });
    const noEmail = lead({ company: { name: 'Acme' } });
    const report = await sync.sync([noCompany, noEmail]);
    expect(crm.calls).toHaveLength(0);
    expect(target(report, 'crm-a')).toMatchObject({ received: 2, rejected: 2, created: 0, calls: 0 });
    expect(rejects).toEqual([
      {
        adapterId: 'crm-a',
        object: 'contacts',
        leadId: noCompany.id,
        issues: [{ field: 'company', reason: 'required value is missing (from company.name)' }],
      },
      {
        adapterId: 'crm-a',
        object: 'contacts',
        leadId: noEmail.id,
        issues: [{ field: 'email', reason: 'id property is missing (from email)' }],
      },
    ]);
    expect(await sync.deadLetters.size()).toBe(0);
  });

  it('applies overwrite, fillEmpty and never against the values the CRM holds', async () => {
    const guarded = defineFieldMapping({
      object: 'contacts',
      idProperty: { from: 'email', to: 'email' },
      fields: [
        { from: 'firstName', to: 'firstname' },
        { from: 'title', to: 'jobtitle', conflict: 'fillEmpty' },
        { from: 'phone', to: 'phone', conflict: 'fillEmpty' },
        { from: 'custom.source', to: 'lead_source', conflict: 'never' },
      ],
    });
    const crm = new FakeCrm('crm-a');
    crm.seed('old@acme.com', { firstname: 'Before', jobtitle: 'CEO', phone: '', lead_source: 'webinar' });
    crm.seed('same@acme.com', { firstname: 'Same', jobtitle: 'VP', lead_source: 'ads' });
    const input = { title: 'Engineer', phone: '+14155550100', custom: { source: 'leadpipe' } };
    const sync = engine({ crms: [{ adapter: crm, mapping: guarded }] });
    const report = await sync.sync([
      lead({ email: 'old@acme.com', firstName: 'After', ...input }),
      lead({ email: 'new@acme.com', firstName: 'New', ...input }),
      lead({ email: 'same@acme.com', ...input, phone: undefined }),
    ]);
    const [get, upsert] = crm.calls;
    expect(get).toMatchObject({
      kind: 'get',
      keys: ['old@acme.com', 'new@acme.com', 'same@acme.com'],
      request: { properties: ['jobtitle', 'phone', 'lead_source'] },
    });
    expect(upsert?.kind).toBe('upsert');
    // `same` has nothing left to write after the policy: not sent, counted unchanged.
    expect(upsert?.keys).toEqual(['old@acme.com', 'new@acme.com']);
    expect(crm.records.get('old@acme.com')?.properties).toEqual({
      firstname: 'After',
      jobtitle: 'CEO',
      phone: '+14155550100',
      lead_source: 'webinar',
    });
    expect(crm.records.get('new@acme.com')?.properties).toEqual({
      firstname: 'New',
      jobtitle: 'Engineer',
      phone: '+14155550100',
      lead_source: 'leadpipe',
    });
    expect(target(report, 'crm-a')).toMatchObject({ created: 1, updated: 1, unchanged: 1, calls: 2 });
  });

  it('dead-letters a batch whose current values cannot be read, instead of overwriting blindly', async () => {
    const guarded = defineFieldMapping({
      object: 'contacts',
      idProperty: { from: 'email', to: 'email' },
      fields: [{ from: 'title', to: 'jobtitle', conflict: 'never' }],
    });
    const crm = new FakeCrm('crm-a', {
      faults: { wholeCall: (_call, kind) => (kind === 'get' ? serverError() : undefined) },
    });
    const sync = engine({ crms: [{ adapter: crm, mapping: guarded }] });
    const report = await sync.sync([lead({ email: 'a@acme.com', title: 'CTO' })]);
    expect(crm.upsertCalls()).toHaveLength(0);
    expect(target(report, 'crm-a')).toMatchObject({ deadLettered: 1 });
    const [entry] = await allEntries(sync.deadLetters);
    expect(entry?.error).toMatchObject({ code: 'server_error', retryable: true });
  });
});

describe('createCrmSync: safety', () => {
  it('never stores or emits a secret from a vendor error', async () => {
    const secret = 'pat-na1-0c6f3f0e-SECRET';
    registerSecret(secret);
    const crm = new FakeCrm('crm-a', {
      faults: {
        record: () => ({
          code: 'unauthorized',
          message: `token ${secret} is not allowed`,
          retryable: false,
          raw: {
            headers: { authorization: `Bearer ${secret}` },
            url: `https://api.example.com/x?hapikey=${secret}`,
          },
        }),
      },
    });
    const other = new FakeCrm('crm-b', {
      faults: {
        wholeCall: () =>
          new ApiCallError('forbidden', {
            message: `forbidden for ${secret}`,
            responseBody: `{"access_token":"${secret}"}`,
            status: 403,
          }),
      },
    });
    const events: CrmSyncEvent[] = [];
    // A queue that stores what it is given as is: the engine must scrub before any implementation sees it.
    const entries: DeadLetterEntry[] = [];
    const verbatim: DeadLetterQueue = {
      put: async (entry) => {
        entries.push(entry);
      },
      list: async () => ({ entries }),
      remove: async () => 0,
      size: async () => entries.length,
    };
    const sync = engine({
      crms: [
        { adapter: crm, mapping: contacts },
        { adapter: other, mapping: contacts },
      ],
      deadLetters: verbatim,
      onEvent: (event) => events.push(event),
    });
    const report = await sync.sync(leads(2));
    expect(entries).toHaveLength(4);
    const stored = JSON.stringify({ entries, events, report });
    expect(stored).not.toContain(secret);
    expect(stored).toContain('[REDACTED]');
  });

  it('keeps running when a listener throws', async () => {
    const crm = new FakeCrm('crm-a');
    const sync = engine({
      crms: [{ adapter: crm, mapping: contacts }],
      onEvent: () => {
        throw new Error('listener bug');
      },
      onRejected: () => {
        throw new Error('callback bug');
      },
    });
    const report = await sync.sync([...leads(2), lead({ firstName: 'No email' })]);
    expect(target(report, 'crm-a')).toMatchObject({ created: 2, rejected: 1 });
  });

  it('rejects the run when the dead-letter queue cannot store a failure, rather than lose it', async () => {
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
    const error = await sync.sync(leads(2)).catch((caught: unknown) => caught);
    expect(LeadpipeError.isInstance(error) && error.code).toBe('dead_letter_failed');
    // Not retried as if the CRM had failed: one call only.
    expect(crm.upsertCalls()).toHaveLength(1);
  });

  it('rejects with an aborted error when cancelled', async () => {
    const controller = new AbortController();
    const crm = new FakeCrm('crm-a', { maxBatchSize: 1 });
    const original = crm.doUpsert.bind(crm);
    crm.doUpsert = async (request, options) => {
      controller.abort();
      return original(request, options);
    };
    const sync = engine({ crms: [{ adapter: crm, mapping: contacts }] });
    const error = await sync.sync(leads(5), { signal: controller.signal }).catch((caught: unknown) => caught);
    expect(LeadpipeError.isInstance(error) && error.code).toBe('aborted');
    expect(crm.upsertCalls().length).toBeLessThan(5);
  });

  it('rejects a bad configuration with an error naming the setting', () => {
    const crm = new FakeCrm('crm-a');
    const attempt = (options: CrmSyncOptions) => () => createCrmSync(options);
    expect(attempt({ crms: [] })).toThrow(ConfigurationError);
    expect(
      attempt({
        crms: [
          { adapter: crm, mapping: contacts },
          { adapter: crm, mapping: contacts },
        ],
      }),
    ).toThrow(/crms\.1: crm-a \/ contacts is listed twice/);
    expect(
      attempt({
        crms: [
          {
            adapter: crm,
            mapping: { object: 'deals', idProperty: { from: 'email', to: 'email' }, fields: [] },
          },
        ],
      }),
    ).toThrow(/crms\.0\.mapping\.object: "deals" is not one of crm-a's objects/);
    expect(
      attempt({
        crms: [
          {
            adapter: crm,
            mapping: {
              object: 'contacts',
              idProperty: { from: 'email', to: 'email' },
              fields: [{ from: 'title', to: 'jobtitle', conflict: 'sometimes' as 'never' }],
            },
          },
        ],
      }),
    ).toThrow(/crms\.0\.mapping\.fields\[0\]\.conflict/);
    expect(attempt({ crms: [{ adapter: crm, mapping: contacts }], concurrency: 0 })).toThrow(
      /concurrency: must be an integer of at least 1/,
    );
    // The error carries each problem as an issue (field and reason), checked by one zod schema.
    const caught = (() => {
      try {
        createCrmSync({
          crms: [{ adapter: crm, mapping: contacts }],
          downAfter: 1.5,
          retry: { retries: -1 },
        });
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(ConfigurationError.isInstance(caught)).toBe(true);
    expect((caught as ConfigurationError).issues).toEqual(
      expect.arrayContaining([
        { field: 'downAfter', reason: 'must be an integer of at least 1' },
        { field: 'retry.retries', reason: 'must be an integer of at least 0' },
      ]),
    );
  });
});

import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  createLeadPipeline,
  createMemoryDeadLetterQueue,
  createMemoryLeadStore,
  defineProvider,
  type EnrichRequest,
  formatReport,
  type Lead,
  type LeadStoreV1,
  type PipelineResult,
} from '../src/index.js';

/** An instant in-process provider that fills the title and company name. */
const provider = defineProvider({
  id: 'people',
  lookups: [{ requires: ['email'], supplies: ['title', 'company.name'] }],
  rateLimits: { maxConcurrent: 64 },
  cost: { perRequest: 1, perMatch: 0, chargesMisses: false },
  enrich: async ({ input }: EnrichRequest) => {
    if ((input.email ?? '').startsWith('nobody')) return null;
    return { fields: { title: 'Engineer', 'company.name': 'Acme' }, confidence: 0.9 };
  },
});

function rows(count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, index) => ({ email: `person${index}@acme.com` }));
}

/** The store, counting its upserts and the leads of each (the real memory store does the work). */
function countingStore(store: LeadStoreV1 = createMemoryLeadStore()) {
  const batches: number[] = [];
  const wrapped: LeadStoreV1 = {
    ...store,
    upsert: async (leads) => {
      batches.push(leads.length);
      return store.upsert(leads);
    },
  };
  return { store: wrapped, batches };
}

async function collect(run: AsyncIterable<PipelineResult>): Promise<PipelineResult[]> {
  const results: PipelineResult[] = [];
  for await (const result of run) results.push(result);
  return results;
}

async function storedEmails(store: LeadStoreV1): Promise<string[]> {
  const emails: string[] = [];
  for await (const record of store.export({ fields: ['email'] })) emails.push(String(record.email));
  return emails.sort();
}

describe('createLeadPipeline({ store })', () => {
  it('upserts each done lead in batches, with its outcome in the row result and the report', async () => {
    const { store, batches } = countingStore();
    const pipeline = createLeadPipeline({
      enrichment: { providers: [provider], fields: ['title', 'company.name'] },
      store,
      batchLingerMs: 1_000,
    });
    const input = [...rows(250), { email: 'PERSON3@acme.com' }, { email: 'not an email' }];
    const run = pipeline.run(input);
    const results = await collect(run);
    const report = await run;
    await pipeline.close();

    expect(report.store).toEqual({ created: 250, updated: 0, unchanged: 0, rejected: 0, failed: 0 });
    expect(report.counts).toMatchObject({
      read: 252,
      done: 251,
      duplicates: 1,
      rejected: 1,
      deadLettered: 0,
    });
    // Batched: 100 leads per upsert by default (the last one partial), never one by one.
    expect(batches.reduce((sum, size) => sum + size, 0)).toBe(250);
    expect(batches.length).toBeLessThanOrEqual(4);
    expect(Math.max(...batches)).toBe(100);
    const done = results.filter((result) => result.status === 'done' && result.duplicateOf === undefined);
    expect(done).toHaveLength(250);
    for (const result of done) {
      if (result.status !== 'done') continue;
      expect(result.store?.status).toBe('created');
      const stored = await store.get(result.store?.id ?? '');
      expect(stored?.email).toBe(result.lead.email);
      expect(stored?.title).toBe('Engineer');
    }
    // The duplicate is folded into its first row, not written again.
    const duplicate = results.find((result) => result.status === 'done' && result.duplicateOf !== undefined);
    expect(duplicate && 'store' in duplicate ? duplicate.store : undefined).toBeUndefined();
    expect(await storedEmails(store)).toHaveLength(250);
    expect(formatReport(report)).toContain(
      'lead store: 250 created, 0 updated, 0 unchanged, 0 failed, 0 rejected',
    );
  });

  it('a second run of the same leads leaves the store as it was: every lead unchanged, none twice', async () => {
    const { store } = countingStore();
    const options = {
      enrichment: { providers: [provider], fields: ['title', 'company.name'] as const },
      store,
    };
    const first = createLeadPipeline({
      ...options,
      enrichment: { ...options.enrichment, fields: ['title', 'company.name'] },
    });
    await first.run(rows(120));
    await first.close();
    const before = await store.export({ fields: ['id', 'email', 'title', 'company.name'] });
    const snapshot: unknown[] = [];
    for await (const record of before) snapshot.push(record);

    const second = createLeadPipeline({
      ...options,
      enrichment: { ...options.enrichment, fields: ['title', 'company.name'] },
    });
    const report = await second.run(rows(120));
    await second.close();
    expect(report.store).toEqual({ created: 0, updated: 0, unchanged: 120, rejected: 0, failed: 0 });
    const after: unknown[] = [];
    for await (const record of store.export({ fields: ['id', 'email', 'title', 'company.name'] }))
      after.push(record);
    expect(after).toEqual(snapshot);
    expect((await store.count()).count).toBe(120);
  });

  it('a failed upsert dead-letters the batch (target leadStore, the lead kept as JSON) and the run goes on', async () => {
    const deadLetters = createMemoryDeadLetterQueue();
    const real = createMemoryLeadStore();
    let calls = 0;
    const store: LeadStoreV1 = {
      ...real,
      upsert: async (leads) => {
        calls += 1;
        if (leads.some((lead) => lead.email === 'person7@acme.com')) {
          throw new Error('connection terminated unexpectedly');
        }
        return real.upsert(leads);
      },
    };
    const pipeline = createLeadPipeline({
      enrichment: { providers: [provider], fields: ['title'] },
      store,
      deadLetters,
      batchSize: 5,
    });
    const run = pipeline.run(rows(12));
    const results = await collect(run);
    const report = await run;
    await pipeline.close();
    expect(calls).toBeGreaterThanOrEqual(3);
    // One batch of five holds person7: those five are dead-lettered, the seven others stored.
    expect(report.store).toEqual({ created: 7, updated: 0, unchanged: 0, rejected: 0, failed: 5 });
    expect(report.counts.deadLettered).toBe(5);
    const failed = results.filter((result) => result.status === 'deadLettered');
    expect(failed).toHaveLength(5);
    for (const result of failed) {
      if (result.status !== 'deadLettered' || result.stage === 'enrich')
        throw new Error('expected a store dead letter');
      expect(result.stage).toBe('store');
      expect(result.errors[0]?.target).toBe('leadStore');
      expect(result.errors[0]?.message).toContain('connection terminated unexpectedly');
    }
    const page = await deadLetters.list();
    expect(page.entries).toHaveLength(5);
    const entry = page.entries.find((item) => item.record.key === 'email:person7@acme.com');
    expect(entry?.target).toBe('leadStore');
    const lead = JSON.parse(String(entry?.record.properties.lead)) as Lead;
    expect(lead.email).toBe('person7@acme.com');
    expect(lead.title).toBe('Engineer');
    expect(entry?.leadIds).toEqual([lead.id]);
    expect(report.deadLetters[0]).toMatchObject({ stage: 'store' });
  });

  it('a lead the store refuses is rejected with the store.<field> reasons', async () => {
    const real = createMemoryLeadStore();
    const store: LeadStoreV1 = {
      ...real,
      upsert: async (leads) => {
        const outcomes = await real.upsert(leads.filter((lead) => lead.email !== 'person2@acme.com'));
        let next = 0;
        return leads.map((lead) =>
          lead.email === 'person2@acme.com'
            ? {
                status: 'rejected' as const,
                issues: [{ field: 'id', reason: 'is the id of another stored lead' }],
              }
            : outcomes[next++]!,
        );
      },
    };
    const pipeline = createLeadPipeline({ store });
    const report = await pipeline.run(rows(4));
    await pipeline.close();
    expect(report.store).toEqual({ created: 3, updated: 0, unchanged: 0, rejected: 1, failed: 0 });
    expect(report.rejects).toEqual([
      {
        rowNumber: 3,
        stage: 'store',
        issues: [{ field: 'store.id', reason: 'is the id of another stored lead' }],
      },
    ]);
  });

  it('a dry run writes nothing to the store; a store that is not a LeadStoreV1 is a ConfigurationError naming store', async () => {
    const { store, batches } = countingStore();
    const pipeline = createLeadPipeline({ store, dryRun: true });
    const report = await pipeline.run(rows(3));
    await pipeline.close();
    expect(report.counts.done).toBe(3);
    expect(report.store).toBeUndefined();
    expect(batches).toEqual([]);
    const error = (() => {
      try {
        createLeadPipeline({ store: { upsert: 1 } as never });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(ConfigurationError.isInstance(error)).toBe(true);
    expect((error as ConfigurationError).issues?.[0]?.field).toBe('store');
  });
});

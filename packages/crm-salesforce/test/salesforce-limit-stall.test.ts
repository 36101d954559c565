import {
  type CrmLeadOutcome,
  type CrmSyncSession,
  createCrmSync,
  createLead,
  type DeadLetterQueue,
  defineFieldMapping,
  type Lead,
} from '@leadpipe/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createSalesforce, type SalesforceSettings } from '../src/index.js';
import { type SalesforceFixture, startSalesforce } from './support.js';

const mapping = defineFieldMapping({
  object: 'Lead',
  idProperty: { from: 'email', to: 'Lead_Key__c' },
  fields: [
    { from: 'lastName', to: 'LastName' },
    { from: 'company.name', to: 'Company' },
  ],
});

function leads(count: number, prefix: string): Lead[] {
  return Array.from({ length: count }, (_, index) =>
    createLead({
      email: `${prefix}${index}@stall-${index % 7}.example`,
      lastName: `Last${index}`,
      company: { name: `Company ${index % 40}` },
    }),
  );
}

const fixtures: SalesforceFixture[] = [];
afterEach(async () => {
  for (const fixture of fixtures.splice(0)) await fixture.close();
});

interface RunFigures {
  readonly done: number;
  readonly deadLettered: number;
  readonly unfinished: number;
  /** Longest wall-clock gap between two batches sent (or from the last batch to the end of the observation), ms. */
  readonly longestGapMs: number;
  readonly outcomes: readonly CrmLeadOutcome[];
  readonly adapter: ReturnType<typeof createSalesforce>;
  readonly session: CrmSyncSession;
  readonly deadLetters: DeadLetterQueue;
}

/**
 * Write `input` through one sync session, 50 leads a write (as the pipeline does), and observe for at
 * most `observeMs` of wall-clock time: how many leads ended written, dead-lettered, or not at all.
 */
async function runSession(
  sf: SalesforceFixture,
  input: readonly Lead[],
  settings: SalesforceSettings,
  observeMs: number,
  onBatchSent: (batches: number) => void,
): Promise<RunFigures> {
  const adapter = createSalesforce({
    refreshToken: sf.emulator.credentials.refreshToken,
    clientId: sf.emulator.credentials.clientId,
    clientSecret: sf.emulator.credentials.clientSecret,
    loginUrl: sf.url,
    maxBatchSize: 50,
    timeoutMs: 5000,
    ...settings,
  });
  const sent: number[] = [];
  const sync = createCrmSync({
    crms: [{ adapter, mapping }],
    retry: { retries: 4, minTimeoutMs: 1, maxTimeoutMs: 20 },
    onEvent: (event) => {
      if (event.type === 'crm.batchSent') {
        sent.push(Date.now());
        onBatchSent(sent.length);
      }
    },
  });
  const session = sync.open();
  const outcomes: CrmLeadOutcome[] = [];
  const started = Date.now();
  const writes: Promise<void>[] = [];
  for (let index = 0; index < input.length; index += 50) {
    writes.push(
      session.write(input.slice(index, index + 50)).then((written) => {
        // Outcomes are indexed within their write: make them index the whole input.
        outcomes.push(...written.map((outcome) => ({ ...outcome, index: outcome.index + index })));
      }),
    );
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled(writes),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, observeMs);
    }),
  ]);
  clearTimeout(timer);
  const ended = Date.now();
  const marks = [started, ...sent, ended];
  let longestGapMs = 0;
  for (let index = 1; index < marks.length; index++) {
    longestGapMs = Math.max(longestGapMs, (marks[index] ?? 0) - (marks[index - 1] ?? 0));
  }
  const figures: RunFigures = {
    done: outcomes.filter((outcome) => outcome.status === 'written').length,
    deadLettered: outcomes.filter((outcome) => outcome.status === 'deadLettered').length,
    unfinished: input.length - outcomes.length,
    longestGapMs,
    outcomes,
    adapter,
    session,
    deadLetters: sync.deadLetters,
  };
  console.log(
    JSON.stringify({
      case: 'salesforce-limit-stall',
      done: figures.done,
      deadLettered: figures.deadLettered,
      unfinished: figures.unfinished,
      longestGapMs,
      seconds: (ended - started) / 1000,
    }),
  );
  return figures;
}

describe('REQUEST_LIMIT_EXCEEDED in a 1,000-lead sync session against the emulator over HTTP', () => {
  it('one transient REQUEST_LIMIT_EXCEEDED (the org still has allocation left) does not stall the run: every lead ends written', async () => {
    const sf = await startSalesforce({ dailyApiRequests: 100_000 }, { seed: 11 });
    fixtures.push(sf);
    const input = leads(1000, 'transient');
    const figures = await runSession(sf, input, { quotaCooldownMs: 30_000 }, 20_000, (batches) => {
      if (batches === 5) sf.instance.faults.queue('rateLimited');
    });
    expect(sf.instance.counters.get('salesforce.faults.rateLimited')).toBe(1);
    expect(figures.unfinished).toBe(0);
    expect(figures.done).toBe(1000);
    expect(figures.longestGapMs).toBeLessThan(10_000);
    expect(new Set(sf.emulator.leads().map((lead) => lead.Lead_Key__c)).size).toBe(1000);
    // The refusal carried the org's usage (Sforce-Limit-Info): nothing else was asked.
    expect(figures.adapter.stats().limitProbes).toBe(0);
    await figures.session.close();
  }, 40_000);

  it('when the org really is out of requests, the CRM is down: every later lead, in this write and the next, is dead-lettered at once, retryable, none lost', async () => {
    const sf = await startSalesforce({ dailyApiRequests: 100_000 }, { seed: 12 });
    fixtures.push(sf);
    const input = leads(1000, 'spent');
    const started = Date.now();
    const figures = await runSession(sf, input, { quotaCooldownMs: 30_000 }, 20_000, (batches) => {
      // After five batches, the org has spent its allocation (someone else used the rest).
      if (batches === 5) sf.emulator.setDailyApiRequests(sf.emulator.apiUsage().used);
    });
    expect(figures.unfinished).toBe(0);
    expect(figures.done + figures.deadLettered).toBe(1000);
    expect(figures.done).toBeGreaterThanOrEqual(150);
    expect(figures.deadLettered).toBeGreaterThan(500);
    expect(Date.now() - started).toBeLessThan(10_000);
    const stored = new Set(sf.emulator.leads().map((lead) => String(lead.Lead_Key__c).toLowerCase()));
    for (const outcome of figures.outcomes) {
      const target = outcome.targets[0];
      if (outcome.status === 'written') continue;
      expect(target?.status).toBe('deadLettered');
      if (target?.status === 'deadLettered') {
        expect(target.error).toMatchObject({ code: 'quota_exceeded', retryable: true });
      }
      expect(stored.has(String(input[outcome.index]?.email))).toBe(false);
    }
    expect(stored.size).toBe(figures.done);
    // Later writes of the same session dead-letter at once, without a request to the org.
    const requestsBefore = sf.instance.requests.all().length;
    const more = await figures.session.write(leads(100, 'later'));
    expect(more.every((outcome) => outcome.status === 'deadLettered')).toBe(true);
    expect(sf.instance.requests.all().length).toBe(requestsBefore);
    const report = await figures.session.close();
    expect(report.crms[0]).toMatchObject({ status: 'down', deadLettered: figures.deadLettered + 100 });
    expect(report.crms[0]?.error?.code).toBe('quota_exceeded');
  }, 40_000);

  it('bursts of REQUEST_LIMIT_EXCEEDED while the org has requests left: every lead ends written, none twice', async () => {
    const sf = await startSalesforce(
      { dailyApiRequests: 100_000 },
      { seed: 5, faults: { rateLimitBurst: { rate: 0.1, length: 4 } } },
    );
    fixtures.push(sf);
    const input = leads(1000, 'burst');
    const figures = await runSession(
      sf,
      input,
      { quotaCooldownMs: 30_000, concurrencyBackoffMs: 100 },
      20_000,
      () => undefined,
    );
    expect(sf.instance.counters.get('salesforce.faults.rateLimited')).toBeGreaterThan(3);
    expect(figures.unfinished).toBe(0);
    expect(figures.done).toBe(1000);
    const stored = sf.emulator.leads().map((lead) => lead.Lead_Key__c);
    expect(new Set(stored).size).toBe(1000);
    expect(stored).toHaveLength(1000);
    await figures.session.close();
  }, 40_000);
});

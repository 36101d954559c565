import { describe, expect, it, vi } from 'vitest';
import {
  ApiCallError,
  type Cache,
  ConfigurationError,
  createEnrichmentEngine,
  createLead,
  createMemoryCache,
  type DefinedEnrichAnswer,
  defineProvider,
  type EnrichmentEngineOptions,
  type EnrichmentEvents,
  type EnrichRequest,
  type LeadField,
  type ProviderLookup,
  registerSecret,
} from '../src/index.js';

type Answer = (request: EnrichRequest, call: number) => Promise<DefinedEnrichAnswer> | DefinedEnrichAnswer;

/** An in-process provider that records its calls. */
function fakeProvider(
  id: string,
  answer: Answer,
  options: {
    lookups?: ProviderLookup[];
    cost?: { perRequest?: number; perMatch?: number; chargesMisses?: boolean };
    rateLimits?: { perSecond?: number; maxConcurrent?: number };
    batch?: number;
  } = {},
) {
  const calls: EnrichRequest[] = [];
  const batchCalls: EnrichRequest[][] = [];
  const provider = defineProvider({
    id,
    lookups: options.lookups ?? [
      { requires: ['email'], supplies: ['title', 'company.name', 'company.headcount'] },
    ],
    cost: options.cost ?? { perRequest: 0, perMatch: 1 },
    rateLimits: options.rateLimits ?? { maxConcurrent: 50 },
    enrich: async (request) => {
      calls.push(request);
      return answer(request, calls.length);
    },
    ...(options.batch
      ? {
          maxBatchSize: options.batch,
          enrichBatch: async (requests: readonly EnrichRequest[]) => {
            batchCalls.push([...requests]);
            return Promise.all(requests.map((request) => answer(request, batchCalls.length)));
          },
        }
      : {}),
  });
  return { provider, calls, batchCalls };
}

const lead = (email: string) => createLead({ email });
const fast: Partial<EnrichmentEngineOptions> = { retry: { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 5 } };

describe('waterfall', () => {
  it('tries providers in order and stops once the wanted fields are filled', async () => {
    const a = fakeProvider('a', () => ({ fields: { title: 'CTO' }, confidence: 0.9 }));
    const b = fakeProvider('b', () => ({
      fields: { title: 'Engineer', 'company.headcount': 120 },
      confidence: 0.9,
    }));
    const c = fakeProvider('c', () => ({ fields: { 'company.headcount': 999 }, confidence: 0.9 }));
    const engine = createEnrichmentEngine({ providers: [a.provider, b.provider, c.provider], ...fast });
    const outcome = await engine.enrich(lead('ada@acme.com'), { fields: ['title', 'company.headcount'] });
    expect(outcome.status).toBe('enriched');
    expect(outcome.lead.title).toBe('CTO');
    expect(outcome.lead.company?.headcount).toBe(120);
    expect(outcome.lead.provenance.title).toMatchObject({ providerId: 'a', confidence: 0.9, credits: 1 });
    expect(outcome.lead.provenance['company.headcount']).toMatchObject({ providerId: 'b' });
    expect(c.calls).toHaveLength(0);
    expect(b.calls[0]?.fields).toEqual(['company.headcount']);
    expect(outcome.credits).toBe(2);
    await engine.close();
  });

  it('skips a provider that cannot supply any missing field or lacks its inputs', async () => {
    const byLinkedin = fakeProvider('by-linkedin', () => ({ fields: { title: 'x' } }), {
      lookups: [{ requires: ['linkedinUrl'], supplies: ['title'] }],
    });
    const phones = fakeProvider('phones', () => ({ fields: { phone: '+14155550100' } }), {
      lookups: [{ requires: ['email'], supplies: ['phone'] }],
    });
    const titles = fakeProvider('titles', () => ({ fields: { title: 'VP Sales' } }));
    const engine = createEnrichmentEngine({
      providers: [byLinkedin.provider, phones.provider, titles.provider],
    });
    const skipped: string[] = [];
    engine.on('provider.skipped', (event) => skipped.push(`${event.providerId}:${event.reason}`));
    const outcome = await engine.enrich(lead('bob@acme.com'), { fields: ['title'] });
    expect(outcome.lead.title).toBe('VP Sales');
    expect(byLinkedin.calls).toHaveLength(0);
    expect(phones.calls).toHaveLength(0);
    expect(skipped).toContain('by-linkedin:missing_inputs');
    expect(skipped).toContain('phones:no_missing_fields');
    await engine.close();
  });

  it('uses fields found by one provider as inputs for the next', async () => {
    const people = fakeProvider('people', () => ({ fields: { 'company.domain': 'acme.io' } }), {
      lookups: [{ requires: ['linkedinUrl'], supplies: ['company.domain'] }],
    });
    const companies = fakeProvider(
      'companies',
      (request) => ({
        fields: { 'company.industry': request.input['company.domain'] === 'acme.io' ? 'Software' : 'wrong' },
      }),
      { lookups: [{ requires: ['company.domain'], supplies: ['company.industry'] }] },
    );
    const engine = createEnrichmentEngine({ providers: [companies.provider, people.provider] });
    const outcome = await engine.enrich(createLead({ linkedinUrl: 'https://linkedin.com/in/ada' }), {
      fields: ['company.domain', 'company.industry'],
    });
    expect(outcome.lead.company?.industry).toBe('Software');
    await engine.close();
  });

  it('asks by a preferWhenSufficient lookup when it covers what is missing, and shares that answer by its inputs', async () => {
    const people = fakeProvider('people', () => ({ fields: { title: 'CTO' } }), {
      lookups: [{ requires: ['email'], supplies: ['title'] }],
    });
    const firmo = fakeProvider(
      'firmo',
      (request) => ({
        fields: {
          ...(request.input.email === undefined ? {} : { title: 'Engineer' }),
          'company.industry': request.input['company.domain'] === 'acme.io' ? 'Software' : 'wrong',
        },
      }),
      {
        lookups: [
          { requires: ['email'], supplies: ['title', 'company.industry'] },
          { requires: ['company.domain'], supplies: ['company.industry'], preferWhenSufficient: true },
        ],
        cost: { perRequest: 0, perMatch: 1, chargesMisses: true },
      },
    );
    const engine = createEnrichmentEngine({
      providers: [people.provider, firmo.provider],
      fields: ['title', 'company.industry'],
    });
    const first = await engine.enrich(lead('ada@acme.io'));
    const second = await engine.enrich(lead('grace@acme.io'));
    // Only the company field was missing when firmo's turn came: asked by domain alone, once for both leads.
    expect(firmo.calls.map((call) => call.input)).toEqual([{ 'company.domain': 'acme.io' }]);
    expect(first.lead.company?.industry).toBe('Software');
    expect(second.lead.company?.industry).toBe('Software');
    expect(second.attempts.find((attempt) => attempt.providerId === 'firmo')).toMatchObject({
      cached: true,
      credits: 0,
    });
    expect(engine.stats().providers.firmo?.credits).toBe(1);
    await engine.close();
  });

  it('sends the whole lead when a person field is still missing, even with a preferWhenSufficient lookup', async () => {
    const firmo = fakeProvider(
      'firmo',
      () => ({ fields: { title: 'Engineer', 'company.industry': 'Software' } }),
      {
        lookups: [
          { requires: ['email'], supplies: ['title', 'company.industry'] },
          { requires: ['company.domain'], supplies: ['company.industry'], preferWhenSufficient: true },
        ],
      },
    );
    const engine = createEnrichmentEngine({
      providers: [firmo.provider],
      fields: ['title', 'company.industry'],
    });
    const outcome = await engine.enrich(lead('ada@acme.io'));
    expect(firmo.calls[0]?.input).toMatchObject({ email: 'ada@acme.io', 'company.domain': 'acme.io' });
    expect(outcome.lead.title).toBe('Engineer');
    await engine.close();
  });

  it('rejects a non-boolean preferWhenSufficient with the lookup named', () => {
    expect(() =>
      defineProvider({
        id: 'bad',
        lookups: [
          {
            requires: ['company.domain'],
            supplies: ['company.name'],
            preferWhenSufficient: 'yes' as unknown as boolean,
          },
        ],
        enrich: async () => null,
      }),
    ).toThrow(/lookups\[0\]\.preferWhenSufficient: must be a boolean/);
  });

  it('keeps looking while a field is below the confidence threshold', async () => {
    const weak = fakeProvider('weak', () => ({ fields: { title: 'Guess' }, confidence: 0.3 }));
    const strong = fakeProvider('strong', () => ({ fields: { title: 'CFO' }, confidence: 0.8 }));
    const engine = createEnrichmentEngine({
      providers: [weak.provider, strong.provider],
      minConfidence: 0.5,
    });
    const outcome = await engine.enrich(lead('c@acme.com'), { fields: ['title'] });
    expect(strong.calls).toHaveLength(1);
    expect(outcome.lead.title).toBe('CFO');
    expect(outcome.lead.provenance.title?.providerId).toBe('strong');
    await engine.close();
  });

  it('merges by highest confidence when asked, by order otherwise', async () => {
    const build = (mergePolicy: 'first' | 'highestConfidence') => {
      const a = fakeProvider('a', () => ({ fields: { title: 'From A' }, confidence: 0.6 }));
      const b = fakeProvider('b', () => ({
        fields: { title: 'From B', 'company.name': 'Acme' },
        confidence: 0.95,
      }));
      return createEnrichmentEngine({ providers: [a.provider, b.provider], mergePolicy });
    };
    const first = await build('first').enrich(lead('d@acme.com'), { fields: ['title', 'company.name'] });
    const best = await build('highestConfidence').enrich(lead('d@acme.com'), {
      fields: ['title', 'company.name'],
    });
    expect(first.lead.title).toBe('From A');
    expect(best.lead.title).toBe('From B');
    expect(best.lead.provenance.title?.confidence).toBe(0.95);
  });

  it('follows a per-field provider order', async () => {
    const a = fakeProvider('a', () => ({ fields: { title: 'A title', 'company.headcount': 10 } }));
    const b = fakeProvider('b', () => ({ fields: { title: 'B title', 'company.headcount': 20 } }));
    const engine = createEnrichmentEngine({
      providers: [a.provider, b.provider],
      fieldOrder: { 'company.headcount': ['b'] },
    });
    const outcome = await engine.enrich(lead('e@acme.com'), { fields: ['company.headcount', 'title'] });
    expect(outcome.lead.company?.headcount).toBe(20);
    expect(outcome.lead.title).toBe('B title');
    expect(a.calls).toHaveLength(0);
  });

  it('skips leads the skip rule names, without calls', async () => {
    const a = fakeProvider('a', () => ({ fields: { title: 'x' } }));
    const engine = createEnrichmentEngine({
      providers: [a.provider],
      skip: (l) => (l.email?.endsWith('@competitor.com') ? 'competitor' : false),
    });
    const outcome = await engine.enrich(lead('spy@competitor.com'));
    expect(outcome).toMatchObject({ status: 'skipped', skipReason: 'competitor' });
    expect(a.calls).toHaveLength(0);
  });

  it('drops invalid provider values with a warning and keeps the valid ones', async () => {
    const a = fakeProvider('a', () => ({ fields: { title: 'CTO', 'company.headcount': -5 } as never }));
    const engine = createEnrichmentEngine({ providers: [a.provider] });
    const outcome = await engine.enrich(lead('f@acme.com'), { fields: ['title', 'company.headcount'] });
    expect(outcome.lead.title).toBe('CTO');
    expect(outcome.lead.company?.headcount).toBeUndefined();
    expect(outcome.warnings).toEqual([
      expect.objectContaining({ providerId: 'a', field: 'company.headcount' }),
    ]);
  });

  it('drops values the lead model refuses (phone plan, headcount range conflict) and keeps the lead', async () => {
    const a = fakeProvider('a', () => ({ fields: { 'company.headcount': 120 }, confidence: 0.9 }));
    const b = fakeProvider(
      'b',
      () => ({
        fields: { phone: '+6569417426', title: 'CTO', 'company.headcountRange': '1001-5000' },
        confidence: 0.95,
      }),
      { lookups: [{ requires: ['email'], supplies: ['phone', 'title', 'company.headcountRange'] }] },
    );
    const engine = createEnrichmentEngine({
      providers: [a.provider, b.provider],
      mergePolicy: 'highestConfidence',
    });
    const outcome = await engine.enrich(lead('z@acme.com'), {
      fields: ['company.headcount', 'phone', 'title', 'company.headcountRange'],
    });
    expect(outcome.lead.title).toBe('CTO');
    expect(outcome.lead.phone).toBeUndefined();
    expect(outcome.lead.company?.headcountRange).toBe('51-200');
    expect(outcome.warnings.map((warning) => warning.field)).toEqual(
      expect.arrayContaining(['phone', 'company.headcountRange']),
    );
  });

  it('rejects bad configuration with a typed error naming the option', () => {
    const a = fakeProvider('a', () => null);
    expect(() => createEnrichmentEngine({ providers: [a.provider, a.provider] })).toThrow(/duplicate id "a"/);
    expect(() => createEnrichmentEngine({ providers: [a.provider], fields: ['nope' as LeadField] })).toThrow(
      /fields\.0: "nope" is not a Lead field/,
    );
    expect(() => createEnrichmentEngine({ providers: [a.provider], fieldOrder: { title: ['zz'] } })).toThrow(
      /unknown provider "zz"/,
    );
  });

  it('names every wrong option and why in the ConfigurationError issues', () => {
    const a = fakeProvider('a', () => null);
    let caught: unknown;
    try {
      createEnrichmentEngine({
        providers: [a.provider, a.provider],
        minConfidence: 2,
        budgets: { perRun: -1 },
        fieldOrder: { title: ['zz'] },
        breaker: { failureThreshold: 0 },
      });
    } catch (error) {
      caught = error;
    }
    expect(ConfigurationError.isInstance(caught)).toBe(true);
    const issues = (caught as ConfigurationError).issues;
    expect(issues).toEqual(
      expect.arrayContaining([
        { field: 'minConfidence', reason: 'must be between 0 and 1' },
        { field: 'budgets.perRun', reason: 'must be a non-negative number' },
        { field: 'breaker.failureThreshold', reason: 'must be at least 1' },
      ]),
    );
    expect(() => createEnrichmentEngine({ providers: [] })).toThrow(
      /providers: must list at least one provider/,
    );
    expect(() =>
      createEnrichmentEngine({ providers: [{ ...a.provider, specificationVersion: 'v2' } as never] }),
    ).toThrow(/providers\.0: unsupported specificationVersion "v2"/);
  });

  it('rejects a clock that returns a Date instead of epoch ms', () => {
    const a = fakeProvider('a', () => null);
    expect(() =>
      createEnrichmentEngine({ providers: [a.provider], now: (() => new Date()) as never }),
    ).toThrow(/now: must be a Clock: a function returning milliseconds since the epoch/);
  });

  it('rejects fields of one call that are not Lead fields, naming them', async () => {
    const a = fakeProvider('a', () => null);
    const engine = createEnrichmentEngine({ providers: [a.provider] });
    await expect(
      engine.enrich(lead('x@acme.com'), { fields: ['title', 'nope' as LeadField] }),
    ).rejects.toThrow(/enrich: fields\.1: "nope" is not a Lead field/);
    await expect(
      (async () => {
        for await (const _ of engine.enrichMany([lead('x@acme.com')], { concurrency: 0 })) {
          // nothing
        }
      })(),
    ).rejects.toThrow(/enrichMany: concurrency: must be a positive integer/);
    expect(a.calls).toHaveLength(0);
  });
});

describe('budgets', () => {
  it('does not make a call that would pass the per-lead budget', async () => {
    const a = fakeProvider('a', () => ({ fields: { title: 'x' } }), { cost: { perRequest: 0, perMatch: 2 } });
    const b = fakeProvider('b', () => ({ fields: { 'company.name': 'Acme' } }), {
      cost: { perRequest: 1, perMatch: 1 },
    });
    const engine = createEnrichmentEngine({ providers: [a.provider, b.provider], budgets: { perLead: 3 } });
    const events: unknown[] = [];
    engine.on('budget.reached', (event) => events.push(event));
    const outcome = await engine.enrich(lead('g@acme.com'), { fields: ['title', 'company.name'] });
    expect(b.calls).toHaveLength(0);
    expect(outcome.attempts.find((attempt) => attempt.providerId === 'b')).toMatchObject({
      outcome: 'skipped',
      reason: 'budget',
    });
    expect(events).toEqual([
      expect.objectContaining({ scope: 'lead', providerId: 'b', spent: 2, reserved: 0, cost: 2, budget: 3 }),
    ]);
    expect(engine.stats().budgetSkips).toBe(1);
  });

  it('never spends past the run budget, even with leads in flight together', async () => {
    const a = fakeProvider('a', async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { fields: { title: 'x' }, credits: 1 };
    });
    const engine = createEnrichmentEngine({ providers: [a.provider], budgets: { perRun: 3 } });
    const reached: EnrichmentEvents['budget.reached'][] = [];
    engine.on('budget.reached', (event) => reached.push(event));
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, index) =>
        engine.enrich(lead(`p${index}@acme.com`), { fields: ['title'] }),
      ),
    );
    expect(a.calls).toHaveLength(3);
    expect(engine.stats().credits).toBe(3);
    expect(outcomes.filter((outcome) => outcome.status === 'unchanged')).toHaveLength(5);
    // Each refusal counts the three credits spent or still held by calls in flight, plus the one it would cost.
    expect(reached).toHaveLength(5);
    for (const event of reached) {
      expect(event).toMatchObject({ scope: 'run', cost: 1, budget: 3 });
      expect(event.spent + event.reserved).toBe(3);
    }
  });
});

describe('failures', () => {
  it('retries 5xx, timeouts and network errors, then matches', async () => {
    const a = fakeProvider('a', (_request, call) => {
      if (call === 1) throw new ApiCallError('server_error', { message: 'boom', status: 503 });
      if (call === 2) throw new ApiCallError('network_error', { message: 'reset' });
      return { fields: { title: 'x' } };
    });
    const engine = createEnrichmentEngine({ providers: [a.provider], ...fast });
    const outcome = await engine.enrich(lead('h@acme.com'), { fields: ['title'] });
    expect(outcome.status).toBe('enriched');
    expect(a.calls).toHaveLength(3);
    expect(engine.stats().providers.a?.calls).toBe(3);
  });

  it('lets the limiter own a 429: waits Retry-After, runs the call again, and never counts it as a retry', async () => {
    const times: number[] = [];
    const a = fakeProvider('a', (_request, call) => {
      times.push(Date.now());
      if (call === 1)
        throw new ApiCallError('rate_limited', { message: 'slow down', status: 429, retryAfterMs: 120 });
      return { fields: { title: 'x' } };
    });
    const engine = createEnrichmentEngine({ providers: [a.provider], retry: { retries: 0 } });
    const limited: number[] = [];
    engine.on('provider.rateLimited', (event) => limited.push(event.waitMs));
    const outcome = await engine.enrich(lead('i@acme.com'), { fields: ['title'] });
    expect(outcome.status).toBe('enriched');
    expect(a.calls).toHaveLength(2);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(115);
    expect(limited).toEqual([120]);
    expect(engine.stats().providers.a?.rateLimited).toBe(1);
    await engine.close();
  });

  it('takes a provider out of the run after one call when its key never worked (the call and its one retry refused)', async () => {
    const a = fakeProvider('a', () => {
      throw new ApiCallError('unauthorized', { message: 'bad key', status: 401 });
    });
    const b = fakeProvider('b', () => ({ fields: { title: 'from b' } }));
    const engine = createEnrichmentEngine({ providers: [a.provider, b.provider], ...fast });
    const disabled: unknown[] = [];
    engine.on('provider.disabled', (event) => disabled.push(event));
    const first = await engine.enrich(lead('j1@acme.com'), { fields: ['title'] });
    const second = await engine.enrich(lead('j2@acme.com'), { fields: ['title'] });
    expect(first.lead.title).toBe('from b');
    expect(second.lead.title).toBe('from b');
    expect(a.calls).toHaveLength(2);
    expect(second.attempts[0]).toMatchObject({ providerId: 'a', outcome: 'skipped', reason: 'disabled' });
    expect(disabled).toEqual([{ providerId: 'a', code: 'unauthorized', message: 'bad key' }]);
    const stats = engine.stats().providers.a;
    expect(stats?.authRetries).toBe(1);
    expect(stats?.disabled).toMatchObject({ code: 'unauthorized', message: 'bad key', afterCalls: 2 });
  });

  it('asks once more after a 401 (an expired token or a blip) and keeps the provider when that works', async () => {
    // Every third request is refused: never twice in a row.
    const a = fakeProvider('a', (_request, call) => {
      if (call % 3 === 1) throw new ApiCallError('unauthorized', { message: 'token expired', status: 401 });
      return { fields: { title: 'from a' } };
    });
    const b = fakeProvider('b', () => ({ fields: { title: 'from b' } }));
    const engine = createEnrichmentEngine({ providers: [a.provider, b.provider], ...fast });
    const titles: (string | undefined)[] = [];
    for (let index = 0; index < 20; index++) {
      titles.push((await engine.enrich(lead(`t${index}@acme.com`), { fields: ['title'] })).lead.title);
    }
    expect(titles).toEqual(Array(20).fill('from a'));
    expect(b.calls).toHaveLength(0);
    const stats = engine.stats().providers.a;
    expect(stats?.disabled).toBeUndefined();
    expect(stats?.authRetries).toBe(a.calls.length - 20);
    expect(stats?.authRetries).toBeGreaterThan(5);
  });

  it('takes a provider whose key worked out of the run once three calls in a row are refused twice (a key revoked mid-run)', async () => {
    let revoked = false;
    const a = fakeProvider('a', () => {
      if (revoked) throw new ApiCallError('unauthorized', { message: 'key revoked', status: 401 });
      return { fields: { title: 'from a' } };
    });
    const b = fakeProvider('b', () => ({ fields: { title: 'from b' } }));
    const engine = createEnrichmentEngine({ providers: [a.provider, b.provider], ...fast });
    expect((await engine.enrich(lead('r0@acme.com'), { fields: ['title'] })).lead.title).toBe('from a');
    revoked = true;
    const after: string[] = [];
    for (let index = 1; index <= 5; index++) {
      const outcome = await engine.enrich(lead(`r${index}@acme.com`), { fields: ['title'] });
      after.push(outcome.attempts[0]?.outcome ?? 'none');
    }
    expect(after).toEqual(['failed', 'failed', 'failed', 'skipped', 'skipped']);
    expect(a.calls).toHaveLength(1 + 3 * 2);
    expect(engine.stats().providers.a?.disabled).toMatchObject({ code: 'unauthorized', afterCalls: 7 });
  });

  it('takes a provider out until its quota resets on 402', async () => {
    let now = 1_000_000;
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      const a = fakeProvider('a', (_request, call) => {
        if (call === 1)
          throw new ApiCallError('quota_exceeded', {
            message: 'over quota',
            status: 402,
            retryAfterMs: 60_000,
          });
        return { fields: { title: 'from a' } };
      });
      const b = fakeProvider('b', () => ({ fields: { title: 'from b' } }));
      const engine = createEnrichmentEngine({ providers: [a.provider, b.provider], ...fast });
      expect((await engine.enrich(lead('k1@acme.com'), { fields: ['title'] })).lead.title).toBe('from b');
      expect((await engine.enrich(lead('k2@acme.com'), { fields: ['title'] })).lead.title).toBe('from b');
      expect(a.calls).toHaveLength(1);
      now += 60_001;
      expect((await engine.enrich(lead('k3@acme.com'), { fields: ['title'] })).lead.title).toBe('from a');
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('moves the lead to the next provider on other 4xx but keeps the provider', async () => {
    const a = fakeProvider('a', (request) => {
      if (request.input.email === 'bad@acme.com')
        throw new ApiCallError('invalid_request', { message: '422', status: 422 });
      return { fields: { title: 'from a' } };
    });
    const b = fakeProvider('b', () => ({ fields: { title: 'from b' } }));
    const engine = createEnrichmentEngine({ providers: [a.provider, b.provider], ...fast });
    expect((await engine.enrich(lead('bad@acme.com'), { fields: ['title'] })).lead.title).toBe('from b');
    expect((await engine.enrich(lead('good@acme.com'), { fields: ['title'] })).lead.title).toBe('from a');
    expect(a.calls).toHaveLength(2);
  });

  it('opens the breaker after consecutive failures, then probes and recovers', async () => {
    let healthy = false;
    const a = fakeProvider('a', () => {
      if (!healthy) throw new ApiCallError('server_error', { message: 'down', status: 500 });
      return { fields: { title: 'back' } };
    });
    const engine = createEnrichmentEngine({
      providers: [a.provider],
      retry: { retries: 0 },
      breaker: { failureThreshold: 2, coolDownMs: 80 },
    });
    const opened: string[] = [];
    const closed: string[] = [];
    engine.on('breaker.opened', (event) => opened.push(event.providerId));
    engine.on('breaker.closed', (event) => closed.push(event.providerId));
    await engine.enrich(lead('l1@acme.com'), { fields: ['title'] });
    await engine.enrich(lead('l2@acme.com'), { fields: ['title'] });
    const third = await engine.enrich(lead('l3@acme.com'), { fields: ['title'] });
    expect(a.calls).toHaveLength(2);
    expect(opened).toEqual(['a']);
    expect(third.attempts[0]).toMatchObject({ outcome: 'skipped', reason: 'circuit_open' });
    healthy = true;
    await new Promise((resolve) => setTimeout(resolve, 100));
    const fourth = await engine.enrich(lead('l4@acme.com'), { fields: ['title'] });
    expect(fourth.lead.title).toBe('back');
    expect(closed).toEqual(['a']);
  });

  it('rejects with an aborted error when the signal aborts', async () => {
    const a = fakeProvider(
      'a',
      () => new Promise((resolve) => setTimeout(() => resolve({ fields: { title: 'late' } }), 200)),
    );
    const engine = createEnrichmentEngine({ providers: [a.provider] });
    const controller = new AbortController();
    const running = engine.enrich(lead('m@acme.com'), { fields: ['title'], signal: controller.signal });
    setTimeout(() => controller.abort(), 10);
    await expect(running).rejects.toMatchObject({ code: 'aborted' });
  });

  it('keeps API keys out of outcomes, events and errors', async () => {
    const apiKey = 'sk_live_SECRET_1234567890';
    registerSecret(apiKey);
    const a = fakeProvider('a', () => {
      throw new ApiCallError('invalid_request', {
        message: `rejected key ${apiKey}`,
        url: `https://x.test/find?api_key=${apiKey}`,
      });
    });
    const b = fakeProvider('b', () => {
      throw new Error(`socket hang up with Authorization: Bearer ${apiKey}`);
    });
    const engine = createEnrichmentEngine({ providers: [a.provider, b.provider], retry: { retries: 0 } });
    const events: unknown[] = [];
    engine.on('provider.failed', (event) => events.push(event));
    const outcome = await engine.enrich(lead('n@acme.com'), { fields: ['title'] });
    const everything = JSON.stringify({ outcome, events });
    expect(outcome.attempts.map((attempt) => attempt.outcome)).toEqual(['failed', 'failed']);
    expect(everything).not.toContain(apiKey);
    expect(everything).toContain('[REDACTED]');
  });
});

describe('one clock', () => {
  it('stamps provenance, quota cool-downs and breaker cool-downs with the engine clock', async () => {
    let clock = Date.parse('2026-03-02T10:00:00Z');
    let healthy = false;
    const quota = fakeProvider('quota', (_request, call) => {
      if (call === 1) throw new ApiCallError('quota_exceeded', { message: 'over quota', status: 402 });
      return { fields: { title: 'from quota' } };
    });
    const flaky = fakeProvider('flaky', () => {
      if (!healthy) throw new ApiCallError('server_error', { message: 'down', status: 500 });
      return { fields: { title: 'from flaky' } };
    });
    const engine = createEnrichmentEngine({
      providers: [quota.provider, flaky.provider],
      retry: { retries: 0 },
      breaker: { failureThreshold: 1, coolDownMs: 60_000 },
      quotaCoolDownMs: 600_000,
      now: () => clock,
    });
    const disabled: EnrichmentEvents['provider.disabled'][] = [];
    engine.on('provider.disabled', (event) => disabled.push(event));

    const first = await engine.enrich(lead('u1@acme.com'), { fields: ['title'] });
    expect(first.attempts.map((attempt) => attempt.outcome)).toEqual(['failed', 'failed']);
    expect(disabled).toEqual([
      { providerId: 'quota', code: 'quota_exceeded', untilMs: Date.parse('2026-03-02T10:10:00Z') },
    ]);

    clock += 59_000;
    const second = await engine.enrich(lead('u2@acme.com'), { fields: ['title'] });
    expect(second.attempts.map((attempt) => attempt.reason)).toEqual(['quota_exhausted', 'circuit_open']);

    healthy = true;
    clock += 2_000;
    const third = await engine.enrich(lead('u3@acme.com'), { fields: ['title'] });
    expect(third.attempts.map((attempt) => attempt.reason ?? attempt.outcome)).toEqual([
      'quota_exhausted',
      'matched',
    ]);
    expect(third.lead.provenance.title).toMatchObject({
      providerId: 'flaky',
      at: '2026-03-02T10:01:01.000Z',
    });

    clock += 600_000;
    const fourth = await engine.enrich(lead('u4@acme.com'), { fields: ['title'] });
    expect(fourth.lead.provenance.title).toMatchObject({
      providerId: 'quota',
      at: '2026-03-02T10:11:01.000Z',
    });
    await engine.close();
  });
});

describe('events', () => {
  it('a listener that throws does not break the run', async () => {
    const a = fakeProvider('a', () => ({ fields: { title: 'x' } }));
    const listenerErrors: unknown[] = [];
    const engine = createEnrichmentEngine({
      providers: [a.provider],
      onListenerError: (error) => listenerErrors.push(error),
    });
    engine.on('provider.matched', () => {
      throw new Error('listener bug');
    });
    engine.on('enrichment.finished', async () => {
      throw new Error('async listener bug');
    });
    const outcome = await engine.enrich(lead('o@acme.com'), { fields: ['title'] });
    expect(outcome.status).toBe('enriched');
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(listenerErrors).toHaveLength(2);
  });
});

describe('cache and coalescing', () => {
  /** A memory cache that counts its reads. */
  function countingCache() {
    const inner = createMemoryCache();
    const counts = { get: 0, set: 0 };
    const cache: Cache = {
      get: (key) => {
        counts.get += 1;
        return inner.get(key);
      },
      set: (key, value, ttlMs) => {
        counts.set += 1;
        return inner.set(key, value, ttlMs);
      },
      delete: (key) => inner.delete(key),
    };
    return { cache, counts };
  }

  it('reads the cache once per attempt, on a miss and on a hit', async () => {
    const a = fakeProvider('a', () => ({ fields: { title: 'x' } }));
    const { cache, counts } = countingCache();
    const engine = createEnrichmentEngine({ providers: [a.provider], cache });
    const first = await engine.enrich(lead('once@acme.com'), { fields: ['title'] });
    expect(first.attempts).toHaveLength(1);
    expect(counts).toEqual({ get: 1, set: 1 });
    const again = await engine.enrich(lead('once@acme.com'), { fields: ['title'] });
    expect(again.attempts[0]).toMatchObject({ cached: true, credits: 0 });
    expect(counts).toEqual({ get: 2, set: 1 });
    expect(a.calls).toHaveLength(1);
  });

  it('reads the cache once per attempt across a waterfall of several providers', async () => {
    const a = fakeProvider('a', () => null);
    const b = fakeProvider('b', () => ({ fields: { title: 'from b' } }));
    const { cache, counts } = countingCache();
    const engine = createEnrichmentEngine({ providers: [a.provider, b.provider], cache });
    const outcome = await engine.enrich(lead('two@acme.com'), { fields: ['title'] });
    expect(outcome.attempts.map((attempt) => attempt.outcome)).toEqual(['not_found', 'matched']);
    expect(counts.get).toBe(2);
  });

  it('does not read the cache for a lead whose identical call is already in flight', async () => {
    const a = fakeProvider('a', async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { fields: { title: 'x' } };
    });
    const { cache, counts } = countingCache();
    const engine = createEnrichmentEngine({ providers: [a.provider], cache });
    const first = engine.enrich(lead('same@acme.com'), { fields: ['title'] });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await engine.enrich(lead('same@acme.com'), { fields: ['title'] });
    await first;
    expect(a.calls).toHaveLength(1);
    expect(second.attempts[0]).toMatchObject({ outcome: 'matched', cached: true, credits: 0 });
    expect(counts.get).toBe(1);
  });

  it('makes one call for 10 concurrent requests for the same email', async () => {
    const a = fakeProvider('a', async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { fields: { title: 'x' } };
    });
    const engine = createEnrichmentEngine({ providers: [a.provider] });
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, () => engine.enrich(lead('same@acme.com'), { fields: ['title'] })),
    );
    expect(a.calls).toHaveLength(1);
    expect(outcomes.every((outcome) => outcome.lead.title === 'x')).toBe(true);
    expect(outcomes.reduce((sum, outcome) => sum + outcome.credits, 0)).toBe(1);
  });

  it('does not pay twice for a lead within the TTL, misses included', async () => {
    const a = fakeProvider(
      'a',
      (request) => (request.input.email === 'miss@acme.com' ? null : { fields: { title: 'x' } }),
      {
        cost: { perRequest: 1, perMatch: 0, chargesMisses: true },
      },
    );
    const cache = createMemoryCache();
    const engine = createEnrichmentEngine({ providers: [a.provider], cache });
    await engine.enrich(lead('hit@acme.com'), { fields: ['title'] });
    await engine.enrich(lead('miss@acme.com'), { fields: ['title'] });
    const again = await engine.enrich(lead('HIT@acme.com'), { fields: ['title'] });
    await engine.enrich(lead('miss@acme.com'), { fields: ['title'] });
    expect(a.calls).toHaveLength(2);
    expect(again.attempts[0]).toMatchObject({ cached: true, credits: 0 });
    const second = createEnrichmentEngine({ providers: [a.provider], cache });
    await second.enrich(lead('hit@acme.com'), { fields: ['title'] });
    expect(a.calls).toHaveLength(2);
    expect(second.stats().providers.a?.cacheHits).toBe(1);
  });

  it('expires misses sooner than matches', async () => {
    let now = 5_000_000;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      const a = fakeProvider('a', (request) =>
        request.input.email === 'miss@acme.com' ? null : { fields: { title: 'x' } },
      );
      const engine = createEnrichmentEngine({
        providers: [a.provider],
        cacheTtlMs: 10_000,
        notFoundTtlMs: 1_000,
      });
      await engine.enrich(lead('hit@acme.com'), { fields: ['title'] });
      await engine.enrich(lead('miss@acme.com'), { fields: ['title'] });
      now += 2_000;
      await engine.enrich(lead('hit@acme.com'), { fields: ['title'] });
      await engine.enrich(lead('miss@acme.com'), { fields: ['title'] });
      expect(a.calls.map((call) => call.input.email)).toEqual([
        'hit@acme.com',
        'miss@acme.com',
        'miss@acme.com',
      ]);
    } finally {
      vi.restoreAllMocks();
    }
  });
});

describe('batching', () => {
  it('groups leads waiting for a batch-capable provider up to its batch size', async () => {
    const a = fakeProvider('a', (request) => ({ fields: { title: `t-${request.input.email}` } }), {
      batch: 10,
    });
    const engine = createEnrichmentEngine({ providers: [a.provider], batchLingerMs: 20 });
    const outcomes = await Promise.all(
      Array.from({ length: 25 }, (_, index) =>
        engine.enrich(lead(`b${index}@acme.com`), { fields: ['title'] }),
      ),
    );
    expect(a.batchCalls.map((batch) => batch.length)).toEqual([10, 10, 5]);
    expect(a.calls).toHaveLength(0);
    expect(outcomes[7]?.lead.title).toBe('t-b7@acme.com');
    expect(engine.stats().providers.a).toMatchObject({ calls: 3, requests: 25, matches: 25 });
  });
});

describe('batching under a rate limit', () => {
  it('fills batches while they wait for a limiter slot, so quota is spent on full batches', async () => {
    const a = fakeProvider('a', (request) => ({ fields: { title: `t-${request.input.email}` } }), {
      batch: 10,
      rateLimits: { perSecond: 4, maxConcurrent: 1 },
    });
    const engine = createEnrichmentEngine({ providers: [a.provider], batchLingerMs: 5 });
    const running: Promise<unknown>[] = [];
    for (let index = 0; index < 32; index++) {
      running.push(engine.enrich(lead(`w${index}@acme.com`), { fields: ['title'] }));
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    await Promise.all(running);
    const sizes = a.batchCalls.map((batch) => batch.length);
    expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(32);
    // Sealing batches before the slot was granted made about one call per linger (10+ calls of 1-3 leads).
    expect(sizes.length).toBeLessThanOrEqual(5);
    expect(sizes.slice(1, -1).every((size) => size === 10)).toBe(true);
    await engine.close();
  });
});

describe('asynchronous providers', () => {
  const asyncProvider = () => {
    const calls: EnrichRequest[] = [];
    const provider = defineProvider({
      id: 'async',
      lookups: [{ requires: ['email'], supplies: ['title'] }],
      enrich: async (request) => {
        calls.push(request);
        return { status: 'pending', correlationId: `corr-${request.input.email}`, credits: 0 };
      },
      handleWebhook: async (request) => {
        const body = JSON.parse(String(request.rawBody)) as { id: string; title?: string; signature: string };
        if (body.signature !== 'ok') {
          const { WebhookVerificationError } = await import('../src/index.js');
          throw new WebhookVerificationError('signature_invalid', { message: 'bad signature' });
        }
        return [
          {
            correlationId: body.id,
            result: body.title
              ? { status: 'matched', fields: { title: body.title }, confidence: 0.9, credits: 1 }
              : { status: 'not_found', credits: 1 },
          },
        ];
      },
    });
    return { provider, calls };
  };

  it('resolves a pending lookup through handleWebhook', async () => {
    const { provider } = asyncProvider();
    const engine = createEnrichmentEngine({ providers: [provider], pendingTimeoutMs: 2_000 });
    engine.on('provider.pending', (event) => {
      setTimeout(() => {
        void engine.handleWebhook('async', {
          method: 'POST',
          url: '/hooks/async',
          headers: {},
          rawBody: JSON.stringify({ id: event.correlationId, title: 'Late CTO', signature: 'ok' }),
        });
      }, 10);
    });
    const outcome = await engine.enrich(lead('q@acme.com'), { fields: ['title'] });
    expect(outcome.lead.title).toBe('Late CTO');
    expect(outcome.credits).toBe(1);
  });

  it('answers 401 to a webhook that fails verification and 404 to an unknown provider', async () => {
    const { provider } = asyncProvider();
    const engine = createEnrichmentEngine({ providers: [provider] });
    const request = {
      method: 'POST',
      url: '/',
      headers: {},
      rawBody: JSON.stringify({ id: 'x', signature: 'forged' }),
    };
    expect((await engine.handleWebhook('async', request)).status).toBe(401);
    expect((await engine.handleWebhook('nobody', request)).status).toBe(404);
  });

  it('moves on after the pending timeout', async () => {
    const { provider } = asyncProvider();
    const fallback = fakeProvider('fallback', () => ({ fields: { title: 'Fallback' } }));
    const engine = createEnrichmentEngine({ providers: [provider, fallback.provider], pendingTimeoutMs: 30 });
    const outcome = await engine.enrich(lead('r@acme.com'), { fields: ['title'] });
    expect(outcome.attempts.map((attempt) => attempt.outcome)).toEqual(['pending_timeout', 'matched']);
    expect(outcome.lead.title).toBe('Fallback');
  });
});

describe('spill-over', () => {
  it('hands leads to the next capable provider when the first one would make them wait too long', async () => {
    const slow = fakeProvider('slow', () => ({ fields: { title: 'slow' } }), {
      rateLimits: { perSecond: 2, maxConcurrent: 1 },
    });
    const spare = fakeProvider('spare', () => ({ fields: { title: 'spare' } }));
    const engine = createEnrichmentEngine({
      providers: [slow.provider, spare.provider],
      spillOver: { maxQueueWaitMs: 200 },
    });
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, index) =>
        engine.enrich(lead(`s${index}@acme.com`), { fields: ['title'] }),
      ),
    );
    expect(slow.calls.length).toBeGreaterThanOrEqual(1);
    expect(slow.calls.length).toBeLessThan(6);
    expect(spare.calls.length).toBe(12 - slow.calls.length);
    expect(outcomes.some((outcome) => outcome.attempts[0]?.reason === 'spill_over')).toBe(true);
    await engine.close();
  });
});

describe('enrichMany and stats', () => {
  it('keeps the caller signal to one listener however many leads are in flight (no max-listeners warning)', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const slow = fakeProvider(
        'slow',
        async () => {
          await new Promise((resolve) => setTimeout(resolve, 2));
          return { fields: { title: 'CTO' } };
        },
        { rateLimits: { maxConcurrent: 4 } },
      );
      const engine = createEnrichmentEngine({ providers: [slow.provider], fields: ['title'] });
      const controller = new AbortController();
      let outcomes = 0;
      for await (const _outcome of engine.enrichMany(
        Array.from({ length: 80 }, (_, index) => lead(`person${index}@acme.io`)),
        { concurrency: 64, signal: controller.signal },
      )) {
        outcomes += 1;
      }
      await new Promise((resolve) => setImmediate(resolve));
      expect(outcomes).toBe(80);
      expect(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning')).toEqual([]);
      await engine.close();
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('stops enrichMany when the caller aborts, with the caller reason', async () => {
    const slow = fakeProvider('slow', async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return { fields: { title: 'CTO' } };
    });
    const engine = createEnrichmentEngine({ providers: [slow.provider], fields: ['title'] });
    const controller = new AbortController();
    const run = (async () => {
      for await (const _outcome of engine.enrichMany(
        Array.from({ length: 10 }, (_, index) => lead(`person${index}@acme.io`)),
        { concurrency: 4, signal: controller.signal },
      )) {
        // drain
      }
    })();
    setTimeout(() => controller.abort(new Error('stop now')), 10);
    await expect(run).rejects.toMatchObject({ code: 'aborted' });
    await engine.close();
  });

  it('streams outcomes with bounded concurrency and counts per provider', async () => {
    let active = 0;
    let peak = 0;
    const a = fakeProvider('a', async (request) => {
      active += 1;
      peak = Math.max(peak, active);
      await new Promise((resolve) => setTimeout(resolve, 2));
      active -= 1;
      return request.input.email?.startsWith('x') ? null : { fields: { title: 't' } };
    });
    const engine = createEnrichmentEngine({ providers: [a.provider] });
    async function* source() {
      for (let index = 0; index < 40; index++) yield lead(`${index % 4 === 0 ? 'x' : 'y'}${index}@acme.com`);
    }
    const statuses: string[] = [];
    for await (const outcome of engine.enrichMany(source(), { concurrency: 5, fields: ['title'] })) {
      statuses.push(outcome.status);
    }
    expect(statuses).toHaveLength(40);
    expect(peak).toBeLessThanOrEqual(5);
    const stats = engine.stats();
    expect(stats.providers.a).toMatchObject({ calls: 40, matches: 30, misses: 10, errors: 0 });
    expect(stats.providers.a?.latency.count).toBe(40);
    expect(stats.providers.a?.latency.p50).toBeGreaterThan(0);
    expect(stats.leads).toMatchObject({ enriched: 30, unchanged: 10 });
  });
});

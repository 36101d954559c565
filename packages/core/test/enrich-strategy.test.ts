import { describe, expect, it } from 'vitest';
import type { LeadField } from '../src/contracts/index.js';
import { defineProvider } from '../src/enrich/define-provider.js';
import {
  betaMean,
  betaObserve,
  betaPrior,
  type Candidate,
  DEFAULT_PRIOR_SHARE,
  expectedCost,
  expectedGain,
  fieldsPerCredit,
  fillableFields,
  HitRateModel,
  lookaheadValue,
  lookupKind,
  rankCandidates,
} from '../src/enrich/strategy.js';
import { createEnrichmentEngine, createLead } from '../src/index.js';

const candidate = (overrides: Partial<Candidate> & Pick<Candidate, 'providerId'>): Candidate => ({
  order: 0,
  fields: ['title'],
  matchRate: 1,
  fieldRates: { title: 1 },
  cost: { perRequest: 0, perMatch: 1, chargesMisses: false },
  free: false,
  ...overrides,
});

describe('Beta estimates', () => {
  it('a prior has the declared mean and weight; observations move the mean towards what is seen', () => {
    const prior = betaPrior(0.8, 10);
    expect(prior.alpha).toBeCloseTo(8);
    expect(prior.beta).toBeCloseTo(2);
    expect(betaMean(prior)).toBeCloseTo(0.8);
    let rate = prior;
    for (let index = 0; index < 90; index++) rate = betaObserve(rate, false, 1_000);
    // 8 hits over 100 observations, the prior's 10 included.
    expect(betaMean(rate)).toBeCloseTo(0.08);
  });

  it('never weighs more than maxWeight observations, so it keeps following a rate that changes', () => {
    let rate = betaPrior(0.5, 10);
    for (let index = 0; index < 500; index++) rate = betaObserve(rate, true, 50);
    expect(rate.alpha + rate.beta).toBeCloseTo(50);
    for (let index = 0; index < 100; index++) rate = betaObserve(rate, false, 50);
    // With unbounded weight it would still be 500/610 ≈ 0.82.
    expect(betaMean(rate)).toBeLessThan(0.2);
  });

  it('clamps a share outside [0, 1], and an empty Beta means 0.5', () => {
    expect(betaMean(betaPrior(3, 4))).toBe(1);
    expect(betaMean(betaPrior(-1, 4))).toBe(0);
    expect(betaMean({ alpha: 0, beta: 0 })).toBe(0.5);
  });
});

describe('expected gain and cost', () => {
  it('gain is the match rate times the missing fields it may fill', () => {
    const asked = candidate({
      providerId: 'a',
      fields: ['title', 'seniority'],
      matchRate: 0.5,
      fieldRates: { title: 0.8, seniority: 0.4 },
    });
    expect(expectedGain(asked)).toBeCloseTo(0.6);
  });

  it('a provider that bills matches only costs its match rate; one that bills misses costs full price', () => {
    const matchesOnly = candidate({ providerId: 'a', matchRate: 0.25 });
    const billsMisses = candidate({
      providerId: 'b',
      matchRate: 0.25,
      cost: { perRequest: 0.5, perMatch: 1, chargesMisses: true },
    });
    expect(expectedCost(matchesOnly)).toBeCloseTo(0.25);
    expect(expectedCost(billsMisses)).toBeCloseTo(1.5);
    expect(fieldsPerCredit(matchesOnly)).toBeCloseTo(1);
    expect(fieldsPerCredit(billsMisses)).toBeCloseTo(0.25 / 1.5);
  });

  it('a cached or in-flight answer is free: infinitely worth it when it may fill anything, worthless if not', () => {
    expect(expectedCost(candidate({ providerId: 'a', free: true }))).toBe(0);
    expect(fieldsPerCredit(candidate({ providerId: 'a', free: true }))).toBe(Number.POSITIVE_INFINITY);
    expect(fieldsPerCredit(candidate({ providerId: 'a', free: true, fieldRates: {} }))).toBe(0);
  });
});

describe('rankCandidates', () => {
  it('asks first the provider with the most expected missing fields per credit', () => {
    const weak = candidate({ providerId: 'weak', order: 0, matchRate: 0.9, fieldRates: { title: 0.3 } });
    const strong = candidate({ providerId: 'strong', order: 1, matchRate: 0.9, fieldRates: { title: 0.9 } });
    expect(rankCandidates([weak, strong], 0.2).map((c) => c.providerId)).toEqual(['strong', 'weak']);
  });

  it('prefers a cheaper provider with the same yield, and a free answer over any paid one', () => {
    const dear = candidate({
      providerId: 'dear',
      order: 0,
      cost: { perRequest: 0, perMatch: 3, chargesMisses: false },
    });
    const cheap = candidate({ providerId: 'cheap', order: 1 });
    const cached = candidate({ providerId: 'cached', order: 2, fieldRates: { title: 0.5 }, free: true });
    expect(rankCandidates([dear, cheap], 0.2).map((c) => c.providerId)).toEqual(['cheap', 'dear']);
    expect(rankCandidates([dear, cheap, cached], 0.2)[0]!.providerId).toBe('cached');
  });

  it('leaves out every provider whose expected gain is not worth its cost: the lead is done', () => {
    const poor = candidate({
      providerId: 'poor',
      matchRate: 0.5,
      fieldRates: { title: 0.1 },
      cost: { perRequest: 0, perMatch: 1, chargesMisses: true },
    });
    // 0.05 fields per credit.
    expect(rankCandidates([poor], 0.2)).toEqual([]);
    expect(rankCandidates([poor], 0.05).map((c) => c.providerId)).toEqual(['poor']);
    expect(rankCandidates([candidate({ providerId: 'none', fieldRates: {} })], 0)).toEqual([]);
  });

  it('breaks ties by the main order', () => {
    const first = candidate({ providerId: 'first', order: 0 });
    const second = candidate({ providerId: 'second', order: 1 });
    expect(rankCandidates([second, first], 0.2).map((c) => c.providerId)).toEqual(['first', 'second']);
  });

  it('looks ahead: a provider that fills everything beats one that fills more per credit now but leaves a field only a dear provider has', () => {
    const fields: LeadField[] = ['title', 'company.technologies'];
    // 1.8 fields per credit.
    const complete = candidate({
      providerId: 'complete',
      order: 1,
      fields,
      fieldRates: { title: 0.9, 'company.technologies': 0.9 },
    });
    // 2 fields per credit, but never the technologies...
    const partial = candidate({
      providerId: 'partial',
      order: 0,
      fields,
      fieldRates: { title: 1 },
      cost: { perRequest: 0, perMatch: 0.5, chargesMisses: false },
    });
    // ...which then cost 4 credits more.
    const dear = candidate({
      providerId: 'dear',
      order: 2,
      fields,
      fieldRates: { title: 1, 'company.technologies': 1 },
      cost: { perRequest: 0, perMatch: 4, chargesMisses: false },
    });
    expect(fieldsPerCredit(partial)).toBeGreaterThan(fieldsPerCredit(complete));
    expect(lookaheadValue(complete, [partial, dear], 0.5)).toBeGreaterThan(
      lookaheadValue(partial, [complete, dear], 0.5),
    );
    expect(rankCandidates([partial, complete, dear], 0.5).map((c) => c.providerId)).toEqual([
      'complete',
      'partial',
      'dear',
    ]);
  });

  it('weighs a later provider by the chance its fields are still missing, so a likely miss earlier makes it more valuable', () => {
    const later = candidate({ providerId: 'later', order: 1, fieldRates: { title: 0.9 } });
    const sure = candidate({ providerId: 'sure', order: 0, matchRate: 1, fieldRates: { title: 1 } });
    const unsure = candidate({ providerId: 'unsure', order: 0, matchRate: 0.5, fieldRates: { title: 1 } });
    // After a provider that always fills the title, nothing is left for `later` to fill or cost.
    expect(lookaheadValue(sure, [later], 0.2)).toBeCloseTo(1 - 0.2 * 1);
    // After one that matches half the time, `later` is asked after its misses, and fills 90% of those.
    expect(lookaheadValue(unsure, [later], 0.2)).toBeCloseTo(0.5 - 0.2 * 0.5 + 0.5 * (0.9 - 0.2 * 1));
  });
});

describe('lookupKind and fillableFields', () => {
  const provider = defineProvider({
    id: 'p',
    lookups: [
      { requires: ['email'], supplies: ['title', 'company.industry'] },
      { requires: ['company.domain'], supplies: ['company.industry'], preferWhenSufficient: true },
    ],
    enrich: async () => null,
  });
  const flat = { email: 'a@b.com', 'company.domain': 'b.com' };
  const known = new Set(Object.keys(flat));

  it('a whole-lead request is keyed by the first lookup the lead can use for a missing field', () => {
    expect(lookupKind(provider, flat, flat, ['title'], known)).toBe('lead:email');
    expect(fillableFields(provider, flat, flat, ['title', 'company.industry'], known)).toEqual([
      'title',
      'company.industry',
    ]);
  });

  it('a request narrowed to a shared lookup is keyed by its inputs and fills only what that lookup supplies', () => {
    const narrowed = { 'company.domain': 'b.com' };
    expect(lookupKind(provider, narrowed, flat, ['company.industry'], known)).toBe('shared:company.domain');
    expect(fillableFields(provider, narrowed, flat, ['company.industry', 'phone'], known)).toEqual([
      'company.industry',
    ]);
  });
});

describe('HitRateModel', () => {
  const priors = { match: 0.9, fields: { title: 0.8 }, weight: 10 };

  it('starts from the declared priors, and from 70% for what is not declared', () => {
    const model = new HitRateModel();
    const key = HitRateModel.key('p', 'lead:email', false);
    const expected = model.expect(key, priors, ['title', 'seniority']);
    expect(expected.matchRate).toBeCloseTo(0.9);
    expect(expected.fieldRates).toEqual({ title: 0.8, seniority: DEFAULT_PRIOR_SHARE });
    expect(model.expect(key, undefined, ['title']).matchRate).toBeCloseTo(DEFAULT_PRIOR_SHARE);
    expect(model.size).toBe(0);
  });

  it('learns per kind of lead: misses lower the match rate, matches without a field lower that field only', () => {
    const model = new HitRateModel();
    const byEmail = HitRateModel.key('p', 'lead:email', false);
    const byDomain = HitRateModel.key('p', 'shared:company.domain', false);
    for (let index = 0; index < 30; index++) model.observe(byEmail, priors, false, ['title'], new Set());
    for (let index = 0; index < 30; index++)
      model.observe(byDomain, priors, true, ['title', 'seniority'], new Set<LeadField>(['seniority']));
    expect(model.expect(byEmail, priors, ['title']).matchRate).toBeCloseTo(9 / 40);
    // Misses say nothing of the fields.
    expect(model.expect(byEmail, priors, ['title']).fieldRates.title).toBeCloseTo(0.8);
    const domain = model.expect(byDomain, priors, ['title', 'seniority']);
    expect(domain.matchRate).toBeCloseTo(39 / 40);
    expect(domain.fieldRates.title).toBeCloseTo(8 / 40);
    expect(domain.fieldRates.seniority).toBeCloseTo((7 + 30) / 40);
  });

  it('is bounded: beyond maxContexts, new kinds of lead are not remembered and use the priors', () => {
    const model = new HitRateModel({ maxContexts: 2 });
    for (let index = 0; index < 5; index++) {
      model.observe(HitRateModel.key(`p${index}`, 'lead:email', false), priors, false, [], new Set());
    }
    expect(model.size).toBe(2);
    expect(model.expect(HitRateModel.key('p4', 'lead:email', false), priors, []).matchRate).toBeCloseTo(0.9);
    expect(model.expect(HitRateModel.key('p0', 'lead:email', false), priors, []).matchRate).toBeLessThan(0.9);
  });

  it('tells a lead another provider missed apart from one nobody has tried', () => {
    expect(HitRateModel.key('p', 'lead:email', true)).not.toBe(HitRateModel.key('p', 'lead:email', false));
  });
});

describe('the engine with strategy cost-aware', () => {
  type Reply = Record<string, unknown> | null;
  const fake = (
    id: string,
    reply: (email: string) => Reply,
    cost = { perMatch: 1, chargesMisses: false },
  ) => {
    const calls: string[] = [];
    const provider = defineProvider({
      id,
      lookups: [{ requires: ['email'], supplies: ['title', 'seniority', 'company.industry'] }],
      cost,
      priors: { match: 0.9, fields: { title: 0.9, seniority: 0.9, 'company.industry': 0.9 } },
      enrich: async ({ input }) => {
        calls.push(input.email ?? '');
        const fields = reply(input.email ?? '');
        return fields === null ? null : { fields, confidence: 0.9 };
      },
    });
    return { provider, calls };
  };
  const FIELDS: LeadField[] = ['title', 'seniority', 'company.industry'];

  it('checks its options, naming the field and the reason', () => {
    const { provider } = fake('a', () => null);
    expect(() =>
      createEnrichmentEngine({ providers: [provider], strategy: 'cheapest' as 'cost-aware' }),
    ).toThrow(/strategy.*"fixed-order" or "cost-aware"/);
    expect(() =>
      createEnrichmentEngine({ providers: [provider], costAware: { minFieldsPerCredit: -1 } }),
    ).toThrow(/costAware\.minFieldsPerCredit.*non-negative/);
    expect(() => createEnrichmentEngine({ providers: [provider], costAware: { maxContexts: 0 } })).toThrow(
      /costAware\.maxContexts/,
    );
  });

  it('defineProvider refuses priors that are not shares', () => {
    const base = {
      id: 'p',
      lookups: [{ requires: ['email'], supplies: ['title'] }] as const,
      enrich: async () => null,
    };
    expect(() => defineProvider({ ...base, lookups: [...base.lookups], priors: { match: 2 } })).toThrow(
      /priors\.match: must be a share/,
    );
    expect(() =>
      defineProvider({ ...base, lookups: [...base.lookups], priors: { fields: { titel: 0.5 } as never } }),
    ).toThrow(/priors\.fields: "titel" is not a Lead field/);
    expect(() => defineProvider({ ...base, lookups: [...base.lookups], priors: { weight: 0 } })).toThrow(
      /priors\.weight/,
    );
  });

  it('asks a provider with the same yield at a third of the price first, whatever the order', async () => {
    const dear = fake(
      'dear',
      () => ({ title: 'CTO', seniority: 'c_suite', 'company.industry': 'Software' }),
      {
        perMatch: 3,
        chargesMisses: false,
      },
    );
    const cheap = fake('cheap', () => ({
      title: 'CTO',
      seniority: 'c_suite',
      'company.industry': 'Software',
    }));
    const engine = createEnrichmentEngine({
      providers: [dear.provider, cheap.provider],
      fields: FIELDS,
      strategy: 'cost-aware',
    });
    const outcome = await engine.enrich(createLead({ email: 'ada@acme.com' }));
    expect(outcome.attempts.map((attempt) => attempt.providerId)).toEqual(['cheap']);
    expect(dear.calls).toEqual([]);
    expect(outcome.credits).toBe(1);
    await engine.close();
  });

  it('stops when the only field left is one nobody has filled, and says why', async () => {
    // Both fill title and industry, never seniority.
    const reply = () => ({ title: 'CTO', 'company.industry': 'Software' });
    const a = fake('a', reply);
    const b = fake('b', reply, { perMatch: 1, chargesMisses: true });
    const engine = createEnrichmentEngine({
      providers: [a.provider, b.provider],
      fields: FIELDS,
      strategy: 'cost-aware',
      costAware: { minFieldsPerCredit: 0.3 },
    });
    const skipped: string[] = [];
    engine.on('provider.skipped', ({ providerId, reason }) => skipped.push(`${providerId}:${reason}`));
    const outcomes = [];
    for (let index = 0; index < 40; index++) {
      outcomes.push(await engine.enrich(createLead({ email: `p${index}@acme.com` })));
    }
    // Early on, b is still asked for the seniority (its prior says 90%)...
    expect(outcomes[0]!.attempts.map((attempt) => attempt.providerId)).toEqual(['a', 'b']);
    // ...until its answers have taught the engine it never has one: then it is not worth a credit.
    const last = outcomes.at(-1)!;
    expect(last.attempts.map((attempt) => attempt.providerId)).toEqual(['a']);
    expect(last.missing).toEqual(['seniority']);
    expect(skipped.at(-1)).toBe('b:not_worth_cost');
    // A 90% prior worth 10 observations falls under 0.3 after about 20 answers without it.
    expect(b.calls.length).toBeLessThan(30);
    // The fixed order keeps paying b for every lead.
    const fixedB = fake('b', reply, { perMatch: 1, chargesMisses: true });
    const fixed = createEnrichmentEngine({
      providers: [fake('a', reply).provider, fixedB.provider],
      fields: FIELDS,
    });
    for (let index = 0; index < 40; index++) await fixed.enrich(createLead({ email: `p${index}@acme.com` }));
    expect(fixedB.calls).toHaveLength(40);
    await engine.close();
    await fixed.close();
  });

  it('keeps fieldOrder first, budgets, and shares a cached answer for free', async () => {
    const a = fake('a', () => ({ title: 'CTO', seniority: 'c_suite', 'company.industry': 'Software' }));
    const b = fake('b', () => ({ title: 'Chief', seniority: 'c_suite', 'company.industry': 'Software' }), {
      perMatch: 5,
      chargesMisses: false,
    });
    const engine = createEnrichmentEngine({
      providers: [a.provider, b.provider],
      fields: FIELDS,
      strategy: 'cost-aware',
      fieldOrder: { title: ['b'] },
      budgets: { perLead: 4 },
    });
    const budgetHits: string[] = [];
    engine.on('budget.reached', ({ providerId }) => budgetHits.push(providerId));
    // b is listed first for the title, but costs 5 against a budget of 4 per lead: passed over, then a.
    const outcome = await engine.enrich(createLead({ email: 'ada@acme.com' }));
    expect(outcome.attempts.map((attempt) => `${attempt.providerId}:${attempt.outcome}`)).toEqual([
      'b:skipped',
      'a:matched',
    ]);
    expect(budgetHits).toEqual(['b']);
    // The same lead again: a's answer is cached, free, and asked first.
    const again = await engine.enrich(createLead({ email: 'ada@acme.com' }));
    expect(again.attempts[0]).toMatchObject({ providerId: 'b', outcome: 'skipped' });
    expect(again.attempts[1]).toMatchObject({ providerId: 'a', cached: true, credits: 0 });
    expect(a.calls).toHaveLength(1);
    await engine.close();
  });
});

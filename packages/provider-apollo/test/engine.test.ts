import { createEnrichmentEngine, createLead, type EnrichmentEngineOptions, type Lead } from '@leadpipe/core';
import { startEmulatorBackend } from '@leadpipe/testkit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createApollo } from '../src/index.js';

// The waterfall engine driving the adapter against the emulator over HTTP.
const server = await startEmulatorBackend('apollo');
const emulator = server.emulator;
const view = emulator.emulator.view;
afterAll(() => server.close());
afterEach(() => {
  emulator.faults.clear();
  emulator.reset();
});

const knownPeople = emulator.truth.people.filter((person) => {
  const fields = view.person(person);
  return fields?.title !== undefined && fields.email === person.email;
});
const knownCompanies = emulator.truth.companies.filter((company) => view.company(company)?.['company.name']);

// Generous plan limits so the limiter's even pacing does not slow the tests down.
const fastPlan = { perMinute: 60_000, perHour: 600_000, perDay: 6_000_000 };

function engineWith(apiKey = server.credentials.apiKey, extra: Partial<EnrichmentEngineOptions> = {}) {
  const apollo = createApollo({ apiKey, baseUrl: server.urls.apiUrl, rateLimits: fastPlan });
  return createEnrichmentEngine({
    providers: [apollo],
    fields: ['title', 'company.name'],
    retry: { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 5 },
    limits: { rateLimitBackoffMs: 1 },
    cache: false,
    ...extra,
  });
}

describe('apollo under the waterfall engine', () => {
  it('the engine retries a 5xx, and the lead still matches', async () => {
    const engine = engineWith();
    emulator.faults.queue('serverError');
    const outcome = await engine.enrich(createLead({ email: knownPeople[0]!.email }));
    expect(outcome.status).toBe('enriched');
    expect(outcome.lead.title).toBe(view.person(knownPeople[0]!)!.title);
    const statuses = emulator.requests.all().map((request) => request.status);
    expect(statuses).toHaveLength(2);
    expect(statuses[0]).toBeGreaterThanOrEqual(500);
    expect(statuses[1]).toBe(200);
    await engine.close();
  });

  it('the limiter owns a 429: waits, re-runs, and the lead matches', async () => {
    const engine = engineWith();
    emulator.faults.queue('rateLimited');
    const outcome = await engine.enrich(createLead({ email: knownPeople[1]!.email }));
    expect(outcome.status).toBe('enriched');
    expect(engine.stats().providers.apollo?.rateLimited).toBe(1);
    await engine.close();
  });

  it('a rejected key takes the provider out for the run after one call (asked twice): the next lead is not sent', async () => {
    const engine = engineWith('apl_not_a_real_key_000000');
    const first = await engine.enrich(createLead({ email: knownPeople[2]!.email }));
    expect(first.attempts[0]).toMatchObject({ outcome: 'failed', error: { code: 'unauthorized' } });
    const second = await engine.enrich(createLead({ email: knownPeople[3]!.email }));
    expect(second.attempts[0]).toMatchObject({ outcome: 'skipped', reason: 'disabled' });
    expect(emulator.requests.all().map((request) => request.status)).toEqual([401, 401]);
    expect(engine.stats().providers.apollo?.disabled).toMatchObject({
      code: 'unauthorized',
      message: expect.stringContaining('APOLLO_API_KEY'),
      afterCalls: 2,
    });
    await engine.close();
  });

  it('a wrong key with 40 leads in flight in bulk calls: the calls already sent and one retry, then nothing', async () => {
    const engine = engineWith('apl_not_a_real_key_000000', { batchLingerMs: 5 });
    const leads = knownPeople.slice(30, 70).map((person) => createLead({ email: person.email }));
    const outcomes = [];
    for await (const outcome of engine.enrichMany(leads, { concurrency: 16 })) outcomes.push(outcome);
    expect(outcomes).toHaveLength(40);
    const stats = engine.stats().providers.apollo;
    expect(stats?.authRetries).toBe(1);
    // At most the bulk calls 16 leads in flight fill (10 per call), and the one retry.
    expect(emulator.counters.get('apollo.401')).toBeLessThanOrEqual(2 + 1);
    expect(emulator.requests.all()).toHaveLength(stats?.disabled?.afterCalls ?? -1);
    await engine.enrich(createLead({ email: knownPeople[80]!.email }));
    expect(emulator.requests.all()).toHaveLength(stats?.disabled?.afterCalls ?? -1);
    await engine.close();
  });

  it('a 401 that was a blip (an expired token) is asked once more and the lead matches', async () => {
    const engine = engineWith();
    emulator.faults.queue('expiredToken');
    const outcome = await engine.enrich(createLead({ email: knownPeople[5]!.email }));
    expect(outcome.status).toBe('enriched');
    expect(emulator.requests.all().map((request) => request.status)).toEqual([401, 200]);
    const stats = engine.stats().providers.apollo;
    expect(stats?.authRetries).toBe(1);
    expect(stats?.disabled).toBeUndefined();
    const next = await engine.enrich(createLead({ email: knownPeople[6]!.email }));
    expect(next.status).toBe('enriched');
    await engine.close();
  });

  it('a people-only key fails company-only leads over to the next provider but keeps matching people', async () => {
    const engine = engineWith(server.credentials.restrictedApiKey, { fields: ['company.name'] });
    const company = await engine.enrich(createLead({ company: { domain: knownCompanies[0]!.domain } }));
    expect(company.attempts[0]).toMatchObject({ outcome: 'failed', error: { code: 'invalid_request' } });
    const person = await engine.enrich(createLead({ email: knownPeople[4]!.email }));
    expect(person.status).toBe('enriched');
    await engine.close();
  });

  it('batches many leads into bulk calls and counts the same credits Apollo charged, per lead and per run', async () => {
    const engine = engineWith(undefined, { batchLingerMs: 5 });
    const leads: Lead[] = [
      ...knownPeople.slice(10, 22).map((person) => createLead({ email: person.email })),
      ...knownCompanies.slice(10, 14).map((company) => createLead({ company: { domain: company.domain } })),
    ];
    let perLead = 0;
    for await (const outcome of engine.enrichMany(leads, { concurrency: 16 })) perLead += outcome.credits;
    const charged = emulator.counters.get('apollo.credits');
    expect(charged).toBe(16);
    expect(perLead).toBe(charged);
    expect(engine.stats().credits).toBe(charged);
    const bulkCalls = emulator.requests.find('POST', '/api/v1/people/bulk_match');
    expect(bulkCalls.length).toBeGreaterThanOrEqual(2);
    for (const call of bulkCalls) expect(JSON.parse(call.body).details.length).toBeLessThanOrEqual(10);
    await engine.close();
  });
});

import {
  ConfigurationError,
  createEnrichmentEngine,
  createLead,
  defineProvider,
  type EnrichMatched,
  type RateLimitState,
  ValidationError,
} from '@leadpipe/core';
import { type EmulatorInstance, headcountRangeOf, toMswHandlers } from '@leadpipe/testkit';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CLEARBIT_COMPANY_FIELDS } from '../src/clearbit-mapping.js';
import { clearbit, createClearbit } from '../src/index.js';
import { clearbitEmulator, knownCompany, knownPerson, rejectionOf, settle, unknownEmail } from './support.js';

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => {
  server.resetHandlers();
  vi.useRealTimers();
  vi.unstubAllEnvs();
});
afterAll(() => server.close());

function setup(options: Parameters<typeof clearbitEmulator>[0] = {}) {
  const emulator = clearbitEmulator(options);
  server.use(...toMswHandlers([emulator]));
  const seen: Request[] = [];
  const provider = createClearbit({
    apiKey: emulator.credentials.apiKey,
    fetch: (input, init) => {
      seen.push(new Request(input, init));
      return fetch(input, init);
    },
  });
  return { emulator, provider, seen };
}

const request = (input: Record<string, string>) => ({ leadId: 'lead-1', input, fields: [] });

function lookups(emulator: EmulatorInstance<'clearbit'>) {
  return emulator.requests.all().filter((item) => item.path.endsWith('/find'));
}

describe('lookups against the emulator', () => {
  it('finds person and company by email with the combined API, mapping v2 fields to Lead fields', async () => {
    const { emulator, provider, seen } = setup();
    const person = knownPerson(emulator);
    const expected = emulator.emulator.view.person(person)!;
    const companyExpected = emulator.emulator.view.company(emulator.truth.companyOf(person))!;
    const result = (await provider.doEnrich(request({ email: person.email }), {})) as EnrichMatched;
    expect(result.status).toBe('matched');
    expect(result.credits).toBe(1);
    expect(result.confidence).toBe(0.9);
    const fields = result.fields;
    expect(fields).toMatchObject({
      firstName: expected.firstName,
      lastName: expected.lastName,
      fullName: expected.fullName,
      title: expected.title,
      location: expected.location,
    });
    if (expected.linkedinUrl !== undefined) expect(fields.linkedinUrl).toBe(expected.linkedinUrl);
    for (const field of [
      'company.name',
      'company.domain',
      'company.industry',
      'company.headcount',
      'company.annualRevenue',
      'company.location',
    ] as const) {
      expect(fields[field]).toEqual(companyExpected[field]);
    }
    expect(fields['company.headcountRange']).toBe(headcountRangeOf(companyExpected['company.headcount']!));
    expect(fields['company.technologies']?.map((name) => name.toLowerCase()).sort()).toEqual(
      companyExpected['company.technologies']?.map((name) => name.toLowerCase()).sort(),
    );
    expect(fields.department).toBe(expected.department);
    expect(seen[0]?.headers.get('authorization')).toBe(`Bearer ${emulator.credentials.apiKey}`);
    const url = new URL(seen[0]!.url);
    expect(url.origin + url.pathname).toBe('https://person.clearbit.com/v2/combined/find');
    expect(url.searchParams.get('email')).toBe(person.email);
    expect(url.searchParams.has('webhook_url')).toBe(false);
    expect(result.raw).toMatchObject({ person: { email: person.email } });
  });

  it('maps every seniority the emulator serves to a core level within Clearbit’s bucket', async () => {
    const { emulator, provider } = setup();
    const view = emulator.emulator.view;
    const buckets: Record<string, readonly string[]> = {
      executive: ['owner', 'founder', 'c_suite', 'partner', 'vp'],
      director: ['director', 'head'],
      manager: ['manager'],
    };
    const people = emulator.truth.people
      .filter((person) => {
        const seniority = view.person(person)?.seniority;
        return seniority !== undefined && ['vp', 'head', 'founder', 'manager', 'c_suite'].includes(seniority);
      })
      .slice(0, 12);
    expect(people.length).toBeGreaterThan(5);
    let exact = 0;
    for (const person of people) {
      const result = (await provider.doEnrich(request({ email: person.email }), {})) as EnrichMatched;
      const truth = view.person(person)!.seniority!;
      const bucket = Object.entries(buckets).find(([, levels]) => levels.includes(truth))![0];
      expect(buckets[bucket]).toContain(result.fields.seniority);
      if (result.fields.seniority === truth) exact += 1;
    }
    // Titles such as "VP of Sales" or "Head of Marketing" refine the coarse bucket.
    expect(exact).toBeGreaterThan(people.length / 2);
  });

  it('finds a company by domain on the company API', async () => {
    const { emulator, provider, seen } = setup();
    const company = knownCompany(emulator);
    const expected = emulator.emulator.view.company(company)!;
    const result = (await provider.doEnrich(
      request({ 'company.domain': company.domain }),
      {},
    )) as EnrichMatched;
    expect(result).toMatchObject({ status: 'matched', credits: 1, confidence: 0.95 });
    expect(result.fields).toMatchObject({
      'company.name': expected['company.name'],
      'company.domain': expected['company.domain'],
      'company.headcount': expected['company.headcount'],
    });
    expect(
      Object.keys(result.fields).every((field) => CLEARBIT_COMPANY_FIELDS.includes(field as never)),
    ).toBe(true);
    const url = new URL(seen[0]!.url);
    expect(url.origin + url.pathname).toBe('https://company.clearbit.com/v2/companies/find');
    expect(url.searchParams.get('domain')).toBe(company.domain);
  });

  it('answers company fields alone when the person is unknown but the domain is known', async () => {
    const { emulator, provider } = setup();
    const view = emulator.emulator.view;
    const person = emulator.truth.people.find(
      (item) => view.person(item) === null && view.company(emulator.truth.companyOf(item)) !== null,
    )!;
    const result = (await provider.doEnrich(request({ email: person.email }), {})) as EnrichMatched;
    expect(result.status).toBe('matched');
    expect(result.fields.title).toBeUndefined();
    expect(result.fields['company.domain']).toBe(emulator.truth.companyOf(person).domain);
    expect(result.confidence).toBe(0.95);
  });

  it('answers 404 as a billed not_found, which the engine caches', async () => {
    const { emulator, provider } = setup();
    const email = unknownEmail(emulator);
    expect(await provider.doEnrich(request({ email }), {})).toMatchObject({
      status: 'not_found',
      credits: 1,
    });
    expect(emulator.counters.get('clearbit.credits')).toBe(1);

    const engine = createEnrichmentEngine({ providers: [provider] });
    const first = await engine.enrich(createLead({ email }), { fields: ['title'] });
    const second = await engine.enrich(createLead({ email }), { fields: ['title'] });
    expect(first.attempts[0]).toMatchObject({ outcome: 'not_found', cached: false, credits: 1 });
    expect(second.attempts[0]).toMatchObject({ outcome: 'not_found', cached: true, credits: 0 });
    expect(lookups(emulator)).toHaveLength(2);
    await engine.close();
  });

  it('rejects a lead with neither email nor domain with a ValidationError naming the field', async () => {
    const { provider, emulator } = setup();
    const error = await rejectionOf<ValidationError>(provider.doEnrich(request({ firstName: 'Ada' }), {}));
    expect(ValidationError.isInstance(error)).toBe(true);
    expect(error.issues[0]?.field).toBe('email');
    expect(lookups(emulator)).toHaveLength(0);
  });
});

describe('errors', () => {
  it('422: invalid_request naming the rejected input, not retryable; the waterfall moves on', async () => {
    const { emulator, provider } = setup();
    const roleEmail = await rejectionOf(provider.doEnrich(request({ email: 'info@acme-widgets.com' }), {}));
    expect(roleEmail).toMatchObject({ code: 'invalid_request', status: 422, isRetryable: false });
    expect(roleEmail.vendorCode).toBe('invalid_email');
    expect(roleEmail.message).toContain('email: Clearbit rejected the value');
    expect(roleEmail.message).not.toContain('info@acme-widgets.com');

    const badDomain = await rejectionOf(provider.doEnrich(request({ 'company.domain': 'acme.invalid' }), {}));
    expect(badDomain).toMatchObject({ code: 'invalid_request', vendorCode: 'invalid_domain' });
    expect(badDomain.message).toContain('company.domain:');

    const fallback = defineProvider({
      id: 'fallback',
      lookups: [{ requires: ['email'], supplies: ['title'] }],
      enrich: async () => ({ fields: { title: 'Fallback Title' } }),
    });
    const engine = createEnrichmentEngine({ providers: [provider, fallback] });
    const outcome = await engine.enrich(createLead({ email: 'info@acme-widgets.com' }), {
      fields: ['title'],
    });
    expect(outcome.attempts.map((attempt) => [attempt.providerId, attempt.outcome])).toEqual([
      ['clearbit', 'failed'],
      ['fallback', 'matched'],
    ]);
    expect(outcome.lead.title).toBe('Fallback Title');
    expect(emulator.counters.get('clearbit.credits')).toBe(0);
    await engine.close();
  });

  it('keeps failed bodies only with captureResponseBody', async () => {
    const { emulator, provider } = setup();
    const quiet = await rejectionOf(provider.doEnrich(request({ email: 'info@acme-widgets.com' }), {}));
    expect(quiet.responseBody).toBeUndefined();
    const capturing = createClearbit({ apiKey: emulator.credentials.apiKey, captureResponseBody: true });
    const loud = await rejectionOf(capturing.doEnrich(request({ email: 'info@acme-widgets.com' }), {}));
    expect(JSON.parse(loud.responseBody!)).toMatchObject({ error: { type: 'invalid_email' } });
  });

  it('401: unauthorized, and no key in the message, the JSON or the cause', async () => {
    const { emulator } = setup();
    const wrongKey = 'sk_0123456789abcdef0123456789abcdef';
    const provider = createClearbit({ apiKey: wrongKey });
    const error = await rejectionOf(provider.doEnrich(request({ email: knownPerson(emulator).email }), {}));
    expect(error).toMatchObject({ code: 'unauthorized', status: 401, vendorCode: 'invalid_api_key' });
    const everything = `${error.message} ${JSON.stringify(error.toJSON())} ${String(error.stack)}`;
    expect(everything).not.toContain(wrongKey);
    expect(everything).not.toContain(emulator.credentials.apiKey!);

    const engine = createEnrichmentEngine({ providers: [provider] });
    const disabled: string[] = [];
    engine.on('provider.disabled', (event) => disabled.push(event.code));
    await engine.enrich(createLead({ email: knownPerson(emulator).email }), { fields: ['title'] });
    const second = await engine.enrich(createLead({ email: knownPerson(emulator, 1).email }), {
      fields: ['title'],
    });
    expect(disabled).toEqual(['unauthorized']);
    expect(second.attempts[0]).toMatchObject({ outcome: 'skipped', reason: 'disabled' });
    // One call and its one retry, then nothing more.
    expect(emulator.counters.get('clearbit.http.status.401')).toBe(3);
    expect(engine.stats().providers.clearbit?.disabled).toMatchObject({
      code: 'unauthorized',
      message: expect.stringContaining('CLEARBIT_API_KEY'),
    });
    await engine.close();
  });

  it('a 401 that was a blip is asked once more: the lead matches and the provider stays in', async () => {
    const { emulator, provider } = setup();
    emulator.faults.queue('expiredToken');
    const engine = createEnrichmentEngine({ providers: [provider] });
    const outcome = await engine.enrich(createLead({ email: knownPerson(emulator).email }), {
      fields: ['title'],
    });
    expect(outcome.status).toBe('enriched');
    expect(engine.stats().providers.clearbit).toMatchObject({ authRetries: 1, calls: 2 });
    expect(engine.stats().providers.clearbit?.disabled).toBeUndefined();
    await engine.close();
  });

  it('a missing key is a ConfigurationError naming the option and the variable, read at call time', async () => {
    const { emulator } = setup();
    vi.stubEnv('CLEARBIT_API_KEY', '');
    const provider = createClearbit();
    const error = await rejectionOf<ConfigurationError>(
      provider.doEnrich(request({ email: knownPerson(emulator).email }), {}),
    );
    expect(ConfigurationError.isInstance(error)).toBe(true);
    expect(error.code).toBe('missing_credentials');
    expect(error.message).toContain("'apiKey'");
    expect(error.message).toContain('CLEARBIT_API_KEY');

    vi.stubEnv('CLEARBIT_API_KEY', emulator.credentials.apiKey!);
    expect(await provider.doEnrich(request({ email: knownPerson(emulator).email }), {})).toMatchObject({
      status: 'matched',
    });
    expect(await clearbit.doEnrich(request({ email: knownPerson(emulator).email }), {})).toMatchObject({
      status: 'matched',
    });
  });

  it('402: quota_exceeded, not retryable, and the engine keeps the provider out', async () => {
    const { emulator, provider } = setup({ monthlyQuota: 1 });
    await provider.doEnrich(request({ email: knownPerson(emulator).email }), {});
    const error = await rejectionOf(
      provider.doEnrich(request({ email: knownPerson(emulator, 1).email }), {}),
    );
    expect(error).toMatchObject({
      code: 'quota_exceeded',
      status: 402,
      vendorCode: 'over_quota',
      isRetryable: false,
    });

    const engine = createEnrichmentEngine({ providers: [provider], quotaCoolDownMs: 3_600_000 });
    const events: { code: string; untilMs?: number }[] = [];
    engine.on('provider.disabled', (event) => events.push(event));
    await engine.enrich(createLead({ email: knownPerson(emulator, 2).email }), { fields: ['title'] });
    const later = await engine.enrich(createLead({ email: knownPerson(emulator, 3).email }), {
      fields: ['title'],
    });
    expect(events.map((event) => event.code)).toEqual(['quota_exceeded']);
    expect(later.attempts[0]).toMatchObject({ outcome: 'skipped', reason: 'quota_exhausted' });
    await engine.close();
  });

  it.each(['epoch-seconds', 'seconds-remaining'] as const)(
    '429: rate_limited with the X-RateLimit-* state reaching onRateLimit (reset as %s)',
    async (rateLimitReset) => {
      const now = new Date('2026-03-02T10:00:15Z').getTime();
      vi.useFakeTimers({ now, toFake: ['Date'] });
      const { emulator, provider } = setup({ perMinute: 2, rateLimitReset });
      const states: RateLimitState[] = [];
      const onRateLimit = (state: RateLimitState) => states.push(state);
      await provider.doEnrich(request({ email: knownPerson(emulator).email }), { onRateLimit });
      await provider.doEnrich(request({ email: knownPerson(emulator, 1).email }), { onRateLimit });
      const error = await rejectionOf(
        provider.doEnrich(request({ email: knownPerson(emulator, 2).email }), { onRateLimit }),
      );
      const resetAt = new Date('2026-03-02T10:01:00Z').getTime();
      expect(states.map((state) => state.windows[0])).toEqual([
        { name: 'minute', limit: 2, remaining: 1, resetAt, intervalMs: 60_000 },
        { name: 'minute', limit: 2, remaining: 0, resetAt, intervalMs: 60_000 },
        { name: 'minute', limit: 2, remaining: 0, resetAt, intervalMs: 60_000 },
      ]);
      expect(states[2]?.retryAfterMs).toBe(45_000);
      expect(error).toMatchObject({
        code: 'rate_limited',
        status: 429,
        isRetryable: true,
        retryAfterMs: 45_000,
      });
      expect(error.rateLimit?.windows[0]).toMatchObject({ remaining: 0, resetAt });
    },
  );

  it('429: honours Retry-After when Clearbit sends one', async () => {
    const now = new Date('2026-03-02T10:00:15Z').getTime();
    vi.useFakeTimers({ now, toFake: ['Date'] });
    const { emulator, provider } = setup({ perMinute: 1, retryAfterOn429: true });
    await provider.doEnrich(request({ email: knownPerson(emulator).email }), {});
    const error = await rejectionOf(
      provider.doEnrich(request({ email: knownPerson(emulator, 1).email }), {}),
    );
    expect(error).toMatchObject({ code: 'rate_limited', retryAfterMs: 45_000 });
  });

  it('429 through the engine: the limiter pauses on the reported window and the lookup succeeds later', async () => {
    vi.useFakeTimers({ now: new Date('2026-03-02T10:00:50Z') });
    const { emulator, provider } = setup({ perMinute: 1 });
    const engine = createEnrichmentEngine({ providers: [provider] });
    const tick = (ms: number) => vi.advanceTimersByTimeAsync(ms);
    await settle(
      engine.enrich(createLead({ email: knownPerson(emulator).email }), { fields: ['title'] }),
      tick,
    );
    const outcome = await settle(
      engine.enrich(createLead({ email: knownPerson(emulator, 1).email }), { fields: ['title'] }),
      tick,
    );
    expect(outcome.attempts[0]).toMatchObject({ outcome: 'matched' });
    // The emulator allowed 1 request per minute: the second lookup was held until a new window, never sent into a 429.
    expect(lookups(emulator).map((item) => item.status)).toEqual([200, 200]);
    expect(lookups(emulator)[1]!.at).toBeGreaterThanOrEqual(new Date('2026-03-02T10:01:00Z').getTime());
    await settle(engine.close(), tick);
  });
});

describe('settings', () => {
  it.each([
    [{ mode: 'poll' }, 'mode:'],
    [{ mode: 'webhook' }, 'webhookUrl: is required'],
    [{ mode: 'webhook', webhookUrl: 'ftp://hooks.example.com' }, 'webhookUrl: must be'],
    [{ webhookUrl: 'https://hooks.example.com/clearbit' }, "webhookUrl: is only used in mode 'webhook'"],
    [{ baseUrl: 'not a url' }, 'baseUrl:'],
    [{ streamBaseUrl: 'https://user:pw@proxy.example.com' }, 'streamBaseUrl:'],
    [{ timeoutMs: 0 }, 'timeoutMs:'],
    [{ streamTimeoutMs: -1 }, 'streamTimeoutMs:'],
    [{ queuedRetryDelayMs: Number.NaN }, 'queuedRetryDelayMs:'],
    [{ queuedMaxWaitMs: -5 }, 'queuedMaxWaitMs:'],
    [{ apiKey: 42 }, 'apiKey:'],
    [{ providerId: '' }, 'providerId:'],
    [{ apiVersion: '' }, 'apiVersion:'],
  ])('rejects %j naming the field', (settings, field) => {
    let caught: unknown;
    try {
      createClearbit(settings as never);
    } catch (error) {
      caught = error;
    }
    expect(ConfigurationError.isInstance(caught)).toBe(true);
    expect((caught as ConfigurationError).code).toBe('invalid_configuration');
    expect((caught as ConfigurationError).message).toContain(field);
  });

  it('declares lookups, billing of misses and the 600/min limit', () => {
    const provider = createClearbit({ apiKey: 'sk_test_key_123456' });
    expect(provider.specificationVersion).toBe('v1');
    expect(provider.providerId).toBe('clearbit');
    expect(provider.mode).toBe('sync');
    expect(provider.capabilities.cost).toEqual({ perRequest: 0, perMatch: 1, chargesMisses: true });
    expect(provider.capabilities.rateLimits).toEqual({ perMinute: 600 });
    expect(provider.capabilities.maxBatchSize).toBe(1);
    expect(provider.capabilities.lookups.map((lookup) => lookup.requires)).toEqual([
      ['email'],
      ['company.domain'],
    ]);
    expect(provider.capabilities.lookups[0]?.supplies).toEqual(
      expect.arrayContaining(['title', 'seniority', 'linkedinUrl', 'company.headcount']),
    );
    expect(createClearbit({ rateLimits: { perMinute: 100 } }).capabilities.rateLimits).toEqual({
      perMinute: 100,
    });
  });

  it('keys limiters by a hash of the API key, never the key itself', () => {
    const a = createClearbit({ apiKey: 'sk_first_key_0001' }).limiterKey!();
    const b = createClearbit({ apiKey: 'sk_second_key_0002' }).limiterKey!();
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('first');
    vi.stubEnv('CLEARBIT_API_KEY', '');
    expect(createClearbit().limiterKey!()).toBe('default');
  });

  it('sends API-Version and extra headers, and honours baseUrl and providerId', async () => {
    const emulator = clearbitEmulator();
    server.use(...toMswHandlers([emulator], { clearbit: 'https://clearbit-proxy.example.com' }));
    const seen: Request[] = [];
    const provider = createClearbit({
      apiKey: emulator.credentials.apiKey,
      providerId: 'clearbit-eu',
      baseUrl: 'https://clearbit-proxy.example.com/',
      apiVersion: '2019-12-19',
      headers: { 'x-team': 'growth' },
      fetch: (input, init) => {
        seen.push(new Request(input, init));
        return fetch(input, init);
      },
    });
    expect(provider.providerId).toBe('clearbit-eu');
    await provider.doEnrich(request({ email: knownPerson(emulator).email }), {});
    expect(seen[0]?.url).toMatch(/^https:\/\/clearbit-proxy\.example\.com\/v2\/combined\/find\?/);
    expect(seen[0]?.headers.get('api-version')).toBe('2019-12-19');
    expect(seen[0]?.headers.get('x-team')).toBe('growth');
    const error = await rejectionOf(provider.doEnrich(request({ email: 'info@acme-widgets.com' }), {}));
    expect(error.providerId).toBe('clearbit-eu');
  });
});

import {
  ApiCallError,
  ConfigurationError,
  type EnrichRequest,
  type EnrichResult,
  type LeadField,
  type RateLimitState,
  ValidationError,
} from '@leadpipe/core';
import { startEmulatorBackend } from '@leadpipe/testkit';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createApollo } from '../src/index.js';

const server = await startEmulatorBackend('apollo');
const emulator = server.emulator;
const truth = emulator.truth;
const view = emulator.emulator.view;
afterAll(() => server.close());
afterEach(() => {
  emulator.faults.clear();
  emulator.reset();
  vi.unstubAllEnvs();
});

const provider = (overrides: Parameters<typeof createApollo>[0] = {}) =>
  createApollo({ apiKey: server.credentials.apiKey, baseUrl: server.urls.apiUrl, ...overrides });

const ALL_FIELDS: LeadField[] = ['title', 'email', 'company.name', 'company.headcount', 'phone'];
const request = (input: EnrichRequest['input'], leadId = 'lead-1', fields = ALL_FIELDS): EnrichRequest => ({
  leadId,
  input,
  fields,
});

/** People Apollo knows fully, and companies it knows (from the emulator's own view of the truth). */
const knownPeople = truth.people.filter((person) => {
  const fields = view.person(person);
  return fields !== null && fields.email === person.email && fields.title !== undefined;
});
const knownCompanies = truth.companies.filter(
  (company) => view.company(company)?.['company.name'] !== undefined,
);
const unknownPerson = truth.people.find((person) => view.person(person) === null)!;

const matched = (result: EnrichResult) => {
  expect(result.status).toBe('matched');
  if (result.status !== 'matched') throw new Error('not matched');
  return result;
};

describe('createApollo settings', () => {
  it('reads APOLLO_API_KEY when the call is made, not when the provider is created', async () => {
    const lazy = createApollo({ baseUrl: server.urls.apiUrl });
    vi.stubEnv('APOLLO_API_KEY', '');
    const missing = await lazy.doEnrich(request({ email: knownPeople[0]!.email }), {}).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(ConfigurationError.isInstance(missing) && missing.code).toBe('missing_credentials');
    expect((missing as Error).message).toContain('APOLLO_API_KEY');
    expect((missing as Error).message).toContain("'apiKey'");
    vi.stubEnv('APOLLO_API_KEY', server.credentials.apiKey!);
    expect((await lazy.doEnrich(request({ email: knownPeople[0]!.email }), {})).status).toBe('matched');
    const [sent] = emulator.requests.find('POST', '/api/v1/people/match');
    expect(sent?.headers['x-api-key']).toBe('[REDACTED]');
    expect(sent?.query.api_key).toBeUndefined();
  });

  it('names every bad setting in one ConfigurationError', () => {
    let error: unknown;
    try {
      createApollo({ baseUrl: 'ftp://x', rateLimits: { perMinute: 0 }, reveal: { webhookUrl: 'nope' } });
    } catch (caught) {
      error = caught;
    }
    expect(ConfigurationError.isInstance(error)).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain('baseUrl');
    expect(message).toContain('rateLimits.perMinute');
    expect(message).toContain('reveal.webhookUrl');
    expect(() => createApollo({ apiKey: 'k', apikey: 'typo' } as never)).toThrow(
      'apikey: is not a known option',
    );
  });

  it('rejects a request without any usable identifier as a ValidationError naming the input', async () => {
    const error = await provider()
      .doEnrich(request({ title: 'CEO' }), {})
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(ValidationError.isInstance(error)).toBe(true);
    expect((error as ValidationError).issues[0]?.field).toBe('request.input');
    expect(emulator.requests.all()).toHaveLength(0);
  });

  it('declares the lookups, batch size, bulk limits and costs', () => {
    const { capabilities } = provider({ rateLimits: { perMinute: 400, perHour: 1200, perDay: 9000 } });
    expect(capabilities.maxBatchSize).toBe(10);
    expect(capabilities.rateLimits).toEqual({
      perMinute: 40,
      perHour: 120,
      perDay: 900,
      maxConcurrent: 4,
      alignedWindows: true,
    });
    expect(capabilities.cost).toEqual({ perRequest: 0, perMatch: 1, chargesMisses: false });
    const domainOnly = capabilities.lookups.find((lookup) => lookup.requires.join() === 'company.domain');
    expect(domainOnly?.supplies.every((field) => field.startsWith('company.'))).toBe(true);
    expect(capabilities.lookups.some((lookup) => lookup.supplies.includes('phone'))).toBe(false);
  });
});

describe('single lookups', () => {
  it('matches a person by email with what Apollo holds, and charges one credit', async () => {
    const person = knownPeople[0]!;
    const truthFields = view.person(person)!;
    const result = matched(await provider().doEnrich(request({ email: person.email }), {}));
    expect(result.fields.title).toBe(truthFields.title);
    expect(result.fields.firstName).toBe(truthFields.firstName);
    expect(result.fields.email).toBe(person.email);
    expect(result.fields['company.domain']).toBe(truthFields['company.domain']);
    expect(result.fields.seniority).toBe(truthFields.seniority);
    expect(result.confidence).toBe(0.9);
    expect(result.fieldConfidence?.email).toBe(0.95);
    expect(result.credits).toBe(1);
    expect(emulator.counters.get('apollo.credits')).toBe(1);
    expect(typeof (result.raw as { request_id: unknown }).request_id).toBe('string');
  });

  it('matches by LinkedIn URL, and by name at a domain with a lower confidence', async () => {
    const person = knownPeople[1]!;
    const byLinkedin = matched(await provider().doEnrich(request({ linkedinUrl: person.linkedinUrl }), {}));
    expect(byLinkedin.fields.email).toBe(person.email);
    const company = truth.companyOf(person);
    const byName = matched(
      await provider().doEnrich(
        request({ firstName: person.firstName, lastName: person.lastName, 'company.domain': company.domain }),
        {},
      ),
    );
    expect(byName.fields.email).toBe(person.email);
    expect(byName.confidence).toBe(0.75);
  });

  it('gives a domain-only lead company fields only, from organization enrich', async () => {
    const company = knownCompanies[0]!;
    const result = matched(await provider().doEnrich(request({ 'company.domain': company.domain }), {}));
    expect(Object.keys(result.fields).every((field) => field.startsWith('company.'))).toBe(true);
    expect(result.fields['company.name']).toBe(view.company(company)!['company.name']);
    expect(result.credits).toBe(1);
    expect(emulator.requests.find('GET', '/api/v1/organizations/enrich')).toHaveLength(1);
    expect(emulator.requests.find('POST', '/api/v1/people')).toHaveLength(0);
  });

  it('turns null matches and unknown domains into not_found at no cost', async () => {
    const person = await provider().doEnrich(request({ email: unknownPerson.email }), {});
    expect(person).toMatchObject({ status: 'not_found', credits: 0 });
    const company = await provider().doEnrich(request({ 'company.domain': 'no-such-company.example' }), {});
    expect(company).toMatchObject({ status: 'not_found', credits: 0 });
    expect(emulator.counters.get('apollo.credits')).toBe(0);
  });

  it('reports success headers to onRateLimit in bulk units', async () => {
    const states: RateLimitState[] = [];
    await provider().doEnrich(request({ email: knownPeople[0]!.email }), {
      onRateLimit: (s) => states.push(s),
    });
    expect(states).toHaveLength(1);
    // people/match: 200 per minute, 1 used; the policy counts bulk calls, a tenth.
    expect(states[0]!.windows.find((window) => window.name === 'minute')).toEqual({
      name: 'minute',
      limit: 20,
      remaining: 19,
    });
  });

  it('passes namespaced provider options through, and rejects unknown ones', async () => {
    await provider().doEnrich(request({ email: knownPeople[0]!.email }), {
      providerOptions: { revealPersonalEmails: true },
    });
    expect(emulator.requests.find('POST', '/api/v1/people/match')[0]?.query.reveal_personal_emails).toBe(
      'true',
    );
    const error = await provider()
      .doEnrich(request({ email: knownPeople[0]!.email }), { providerOptions: { reveal: 'yes' } })
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(ValidationError.isInstance(error)).toBe(true);
    expect((error as ValidationError).issues[0]).toEqual({
      field: 'providerOptions.reveal',
      reason: 'is not a known option',
    });
  });
});

describe('batches', () => {
  it('sends people to bulk_match and domain-only leads to bulk organization enrich, answering in order', async () => {
    const people = knownPeople.slice(0, 5);
    const companies = knownCompanies.slice(0, 3);
    const batch: EnrichRequest[] = [
      request({ email: people[0]!.email }, 'a'),
      request({ 'company.domain': companies[0]!.domain }, 'b'),
      request({ email: unknownPerson.email }, 'c'),
      request({ email: people[1]!.email }, 'd'),
      request({ 'company.domain': 'no-such-company.example' }, 'e'),
      request({ email: people[2]!.email }, 'f'),
      request({ 'company.domain': companies[1]!.domain }, 'g'),
      request({ email: people[3]!.email }, 'h'),
      request({ 'company.domain': companies[2]!.domain }, 'i'),
      request({ email: people[4]!.email }, 'j'),
    ];
    const states: RateLimitState[] = [];
    const results = await provider().doEnrichBatch(batch, { onRateLimit: (state) => states.push(state) });
    // Bulk endpoints report their own limits (a tenth of 200 per minute), passed on unscaled.
    expect(states).toHaveLength(2);
    for (const state of states) {
      expect(state.windows.find((window) => window.name === 'minute')).toEqual({
        name: 'minute',
        limit: 20,
        remaining: 19,
      });
    }
    expect(results.map((result) => result.status)).toEqual([
      'matched',
      'matched',
      'not_found',
      'matched',
      'not_found',
      'matched',
      'matched',
      'matched',
      'matched',
      'matched',
    ]);
    expect(matched(results[0]!).fields.email).toBe(people[0]!.email);
    expect(matched(results[9]!).fields.email).toBe(people[4]!.email);
    expect(matched(results[6]!).fields['company.domain']).toBe(companies[1]!.domain);
    expect(Object.keys(matched(results[1]!).fields).every((field) => field.startsWith('company.'))).toBe(
      true,
    );
    expect(emulator.requests.find('POST', '/api/v1/people/bulk_match')).toHaveLength(1);
    expect(emulator.requests.find('POST', '/api/v1/organizations/bulk_enrich')).toHaveLength(1);
    const credits = results.reduce((sum, result) => sum + result.credits, 0);
    expect(credits).toBe(emulator.counters.get('apollo.credits'));
    expect(credits).toBe(8);
  });

  it('splits fractional credits_consumed over the matched leads', async () => {
    const fractional = await startEmulatorBackend('apollo', { options: { credits: { person: 0.5 } } });
    try {
      const apollo = createApollo({ apiKey: fractional.credentials.apiKey, baseUrl: fractional.urls.apiUrl });
      const results = await apollo.doEnrichBatch(
        [
          request({ email: knownPeople[0]!.email }, 'a'),
          request({ email: unknownPerson.email }, 'b'),
          request({ email: knownPeople[1]!.email }, 'c'),
        ],
        {},
      );
      expect(results.map((result) => result.credits)).toEqual([0.5, 0, 0.5]);
    } finally {
      await fractional.close();
    }
  });

  it('refuses more than 10 requests without calling Apollo', async () => {
    const batch = Array.from({ length: 11 }, (_, index) =>
      request({ email: `p${index}@example.com` }, `l${index}`),
    );
    const error = await provider()
      .doEnrichBatch(batch, {})
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(ValidationError.isInstance(error)).toBe(true);
    expect((error as ValidationError).issues[0]?.field).toBe('requests');
    expect(emulator.requests.all()).toHaveLength(0);
  });

  it('answers records a bulk call dropped (partial failure) as not_found, uncharged', async () => {
    const partial = await startEmulatorBackend('apollo', { options: { partialBatchFailureRate: 1 } });
    try {
      const apollo = createApollo({ apiKey: partial.credentials.apiKey, baseUrl: partial.urls.apiUrl });
      const results = await apollo.doEnrichBatch(
        [request({ email: knownPeople[0]!.email }, 'a'), request({ email: knownPeople[1]!.email }, 'b')],
        {},
      );
      expect(results).toEqual([
        { status: 'not_found', credits: 0, raw: null },
        { status: 'not_found', credits: 0, raw: null },
      ]);
    } finally {
      await partial.close();
    }
  });
});

const failure = async (promise: PromiseLike<unknown>): Promise<ApiCallError> => {
  const error = await Promise.resolve(promise).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(ApiCallError.isInstance(error), `expected an ApiCallError, got ${String(error)}`).toBe(true);
  return error as ApiCallError;
};

describe('every fault the emulator injects', () => {
  const lookup = () => provider({ timeoutMs: 300 }).doEnrich(request({ email: knownPeople[0]!.email }), {});

  it('serverError: server_error, retryable', async () => {
    emulator.faults.queue('serverError');
    const error = await failure(lookup());
    expect(error.code).toBe('server_error');
    expect(error.isRetryable).toBe(true);
    expect(error.vendorCode).toBe('UNKNOWN_ERROR');
  });

  it('rateLimited: rate_limited with the Retry-After the emulator sent', async () => {
    emulator.faults.configure({ rateLimitBurst: { rate: 1, length: 1, retryAfterSeconds: 12 } });
    const error = await failure(lookup());
    expect(error.code).toBe('rate_limited');
    expect(error.retryAfterMs).toBe(12_000);
    expect(error.message).toContain('200 calls per minute');
  });

  it('hang: timeout once the request deadline passes', async () => {
    emulator.faults.queue('hang');
    const error = await failure(lookup());
    expect(error.code).toBe('timeout');
    expect(error.isRetryable).toBe(true);
  });

  it('connectionReset: network_error', async () => {
    emulator.faults.queue('connectionReset');
    const error = await failure(lookup());
    expect(error.code).toBe('network_error');
  });

  it('malformedJson: invalid_response', async () => {
    emulator.faults.queue('malformedJson');
    const error = await failure(lookup());
    expect(error.code).toBe('invalid_response');
  });

  it('expiredToken (401 in plain text): unauthorized, not retryable, no key in sight', async () => {
    emulator.faults.queue('expiredToken');
    const error = await failure(lookup());
    expect(error.code).toBe('unauthorized');
    expect(error.isRetryable).toBe(false);
    expect(JSON.stringify(error.toJSON())).not.toContain(server.credentials.apiKey);
  });

  it('a wrong key is unauthorized and the key never shows', async () => {
    const wrongKey = 'apl_wrong_key_0123456789';
    const error = await failure(
      createApollo({ apiKey: wrongKey, baseUrl: server.urls.apiUrl }).doEnrich(
        request({ email: 'x@y.com' }),
        {},
      ),
    );
    expect(error.code).toBe('unauthorized');
    expect(error.vendorCode).toBe('invalid_api_key');
    expect(`${error.message} ${JSON.stringify(error)} ${error.stack}`).not.toContain(wrongKey);
  });

  it('a people-only key: organization lookups fall back (invalid_request, then no more calls), people still match', async () => {
    const scoped = provider({ apiKey: server.credentials.restrictedApiKey });
    const first = await failure(
      scoped.doEnrich(request({ 'company.domain': knownCompanies[0]!.domain }), {}),
    );
    expect(first.code).toBe('invalid_request');
    expect(first.vendorCode).toBe('API_INACCESSIBLE');
    expect(first.status).toBe(403);
    const second = await failure(
      scoped.doEnrich(request({ 'company.domain': knownCompanies[1]!.domain }), {}),
    );
    expect(second.vendorCode).toBe('API_INACCESSIBLE');
    expect(emulator.requests.find('GET', '/api/v1/organizations')).toHaveLength(1);
    expect((await scoped.doEnrich(request({ email: knownPeople[0]!.email }), {})).status).toBe('matched');
  });
});

describe("Apollo's own limits", () => {
  let limited: Awaited<ReturnType<typeof startEmulatorBackend<'apollo'>>>;
  beforeEach(async () => {
    limited = await startEmulatorBackend('apollo', {
      options: { rateLimits: { perMinute: 2, perDay: 3 }, rateLimitHeadersOn429: true },
    });
  });
  afterEach(() => limited.close());

  it('a spent minute window is rate_limited, and its headers reach onRateLimit', async () => {
    const apollo = createApollo({ apiKey: limited.credentials.apiKey, baseUrl: limited.urls.apiUrl });
    const states: RateLimitState[] = [];
    const options = { onRateLimit: (state: RateLimitState) => states.push(state) };
    await apollo.doEnrich(request({ email: knownPeople[0]!.email }), options);
    await apollo.doEnrich(request({ email: knownPeople[1]!.email }), options);
    const error = await failure(apollo.doEnrich(request({ email: knownPeople[2]!.email }), options));
    expect(error.code).toBe('rate_limited');
    expect(error.status).toBe(429);
    expect(states).toHaveLength(3);
    expect(states[2]!.windows.find((window) => window.name === 'minute')).toMatchObject({ remaining: 0 });
  });

  it('a spent day window is quota_exceeded: the provider is out, not retried', async () => {
    const apollo = createApollo({ apiKey: limited.credentials.apiKey, baseUrl: limited.urls.apiUrl });
    const domains = knownCompanies.slice(0, 4).map((company) => company.domain);
    const clockSkip = vi.spyOn(limited.emulator.context.clock, 'now');
    let minute = 0;
    clockSkip.mockImplementation(() => Date.UTC(2026, 0, 1, 0, minute++ * 2));
    for (const domain of domains.slice(0, 3))
      await apollo.doEnrich(request({ 'company.domain': domain }), {});
    const error = await failure(apollo.doEnrich(request({ 'company.domain': domains[3]! }), {}));
    expect(error.code).toBe('quota_exceeded');
    expect(error.isRetryable).toBe(false);
  });
});

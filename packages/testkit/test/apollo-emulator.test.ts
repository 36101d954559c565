import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toMswHandlers } from '../src/emulator/msw.js';
import { createEmulator, type EmulatorInstance } from '../src/emulator/registry.js';
import { startEmulators } from '../src/emulator/server.js';
import { createGroundTruth } from '../src/truth/index.js';
import { manualClock } from './emulator-helpers.js';

const truth = createGroundTruth({ seed: 3, people: 2000, companies: 300 });
const clock = manualClock();
let apollo: EmulatorInstance<'apollo'>;
const webhookBodies: string[] = [];
const server = setupServer();

const BASE = 'https://api.apollo.io/api/v1';

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${BASE}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apollo.credentials.apiKey!, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** A person Apollo knows, with the given fields covered. */
function knownPerson(...fields: ('email' | 'title' | 'phone')[]) {
  const found = truth.people.find((person) => {
    const view = apollo.emulator.view.person(person);
    return view !== null && fields.every((field) => view[field] !== undefined);
  });
  if (found === undefined) throw new Error('no such person in the sample');
  return found;
}

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());
beforeEach(() => {
  apollo = createEmulator('apollo', {
    seed: 3,
    clock,
    truth,
    options: { rateLimits: { perMinute: 1000, perHour: 10_000, perDay: 100_000 } },
  });
  webhookBodies.length = 0;
  server.resetHandlers(
    ...toMswHandlers([apollo]),
    http.post('https://hooks.example.com/apollo', async ({ request }) => {
      webhookBodies.push(await request.text());
      return new HttpResponse(null, { status: 204 });
    }),
  );
});
afterEach(() => apollo.close());

describe('Apollo auth', () => {
  it('answers a missing or wrong key with a plain-text 401', async () => {
    const response = await fetch(`${BASE}/people/match`, { method: 'POST' });
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await response.text()).toBe(
      'Invalid API key. See https://docs.apollo.io/reference/authentication for how to authenticate.',
    );
  });

  it('rejects an API key sent as a Bearer token', async () => {
    const response = await fetch(`${BASE}/people/match`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apollo.credentials.apiKey}` },
    });
    expect(response.status).toBe(401);
  });

  it('answers 403 API_INACCESSIBLE for a key without the scope', async () => {
    const response = await post(
      '/organizations/enrich',
      { domain: truth.companies[0]!.domain },
      {
        'x-api-key': apollo.credentials.restrictedApiKey!,
      },
    );
    expect(response.status).toBe(403);
    const body = (await response.json()) as { error: string; error_code: string };
    expect(body.error_code).toBe('API_INACCESSIBLE');
    expect(body.error).toMatch(/^This API key is not authorized to access api\/v1\/organizations\/enrich/);
  });

  it('also accepts the legacy api_key parameter', async () => {
    const response = await fetch(`${BASE}/people/match?api_key=${apollo.credentials.apiKey}`, {
      method: 'POST',
    });
    expect(response.status).toBe(200);
  });
});

describe('POST /people/match', () => {
  it('returns the person with the organization and a 64-bit request_id in raw JSON', async () => {
    const person = knownPerson('email', 'title');
    const response = await post('/people/match', { email: person.email.toUpperCase() });
    expect(response.status).toBe(200);
    const text = await response.text();
    const requestId = /"request_id":(-?\d+)/.exec(text)?.[1];
    expect(requestId).toBeDefined();
    expect(BigInt(requestId!) >= -(2n ** 63n) && BigInt(requestId!) < 2n ** 63n).toBe(true);
    const body = JSON.parse(text) as { person: Record<string, unknown> };
    expect(body.person).toMatchObject({
      id: person.id,
      organization_id: person.companyId,
      email_status: 'verified',
    });
    expect(body.person.email).toBe(apollo.emulator.view.person(person)?.email);
    expect(body.person.organization).toMatchObject({ id: person.companyId });
    expect(apollo.counters.get('apollo.credits')).toBe(1);
  });

  it('takes the parameters from the query string as the docs show', async () => {
    const person = knownPerson('email');
    const response = await fetch(`${BASE}/people/match?email=${encodeURIComponent(person.email)}`, {
      method: 'POST',
      headers: { 'x-api-key': apollo.credentials.apiKey! },
    });
    expect(((await response.json()) as { person: { id: string } }).person.id).toBe(person.id);
  });

  it('answers person: null on a miss, and charges nothing', async () => {
    const response = await post('/people/match', { email: 'ghost@nowhere-at-all.com' });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { person: unknown }).person).toBeNull();
    expect(apollo.counters.get('apollo.credits')).toBe(0);
  });

  it('answers 422 for a body that is not JSON or a parameter of the wrong type', async () => {
    expect((await post('/people/match', '{not json')).status).toBe(422);
    const response = await post('/people/match', { email: 42 });
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual({ error: 'email must be a string' });
  });

  it('requires webhook_url with reveal_phone_number', async () => {
    const response = await post('/people/match', { email: knownPerson().email, reveal_phone_number: true });
    expect(response.status).toBe(400);
  });

  it('sends the phone to the webhook later and charges 8 more credits', async () => {
    const person = knownPerson('phone');
    const response = await post('/people/match', {
      email: person.email,
      reveal_phone_number: true,
      webhook_url: 'https://hooks.example.com/apollo',
    });
    const requestId = /"request_id":(-?\d+)/.exec(await response.text())![1]!;
    await apollo.emulator.webhooks.idle();
    expect(webhookBodies).toHaveLength(1);
    expect(webhookBodies[0]).toContain(`"request_id":${requestId}`);
    const payload = JSON.parse(webhookBodies[0]!) as {
      people: { id: string; phone_numbers: { sanitized_number: string }[] }[];
    };
    expect(payload.people[0]?.id).toBe(person.id);
    expect(payload.people[0]?.phone_numbers[0]?.sanitized_number).toBe(
      apollo.emulator.view.person(person)?.phone,
    );
    expect(apollo.counters.get('apollo.credits')).toBe(9);
    const poll = () =>
      fetch(`${BASE}/webhook_result/${requestId}`, { headers: { 'x-api-key': apollo.credentials.apiKey! } });
    const pending = await poll();
    expect(pending.status).toBe(404);
    expect(await pending.json()).toMatchObject({ error: 'result_pending', retry_after_seconds: 120 });
    clock.advance(120_000);
    const polled = await poll();
    expect(polled.status).toBe(200);
    expect(await polled.text()).toBe(webhookBodies[0]);
  });

  it('gives the same answer for the same email under the same seed', async () => {
    const person = truth.people[42]!;
    const first = JSON.parse(await (await post('/people/match', { email: person.email })).text()) as {
      person: unknown;
    };
    const twin = createEmulator('apollo', { seed: 3, clock, truth });
    const second = (await (
      await twin.fetch(
        new Request(`${BASE}/people/match`, {
          method: 'POST',
          headers: { 'x-api-key': twin.credentials.apiKey!, 'content-type': 'application/json' },
          body: JSON.stringify({ email: person.email }),
        }),
      )
    ).json()) as { person: unknown };
    expect(second.person).toEqual(first.person);
  });
});

describe('POST /people/bulk_match', () => {
  it('answers 400 RECORD_LIMIT_EXCEEDED above 10 details and INVALID_REQUEST without details', async () => {
    const tooMany = await post('/people/bulk_match', {
      details: truth.people.slice(0, 11).map((person) => ({ email: person.email })),
    });
    expect(tooMany.status).toBe(400);
    expect(await tooMany.json()).toMatchObject({ status: 'failed', error_code: 'RECORD_LIMIT_EXCEEDED' });
    const missing = await post('/people/bulk_match', {});
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({
      status: 'failed',
      error_code: 'INVALID_REQUEST',
      error_message: 'invalid request, missing details',
    });
  });

  it('returns matches in order with nulls, counts and fractional credits', async () => {
    apollo = createEmulator('apollo', { seed: 3, clock, truth, options: { credits: { person: 0.5 } } });
    server.resetHandlers(...toMswHandlers([apollo]));
    const known = knownPerson('email');
    const details = [{ email: known.email }, { email: 'ghost@nowhere-at-all.com' }, { email: known.email }];
    const response = await post('/people/bulk_match', { details });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown> & { matches: ({ id: string } | null)[] };
    expect(body).toMatchObject({
      status: 'success',
      total_requested_enrichments: 3,
      unique_enriched_records: 1,
      missing_records: 1,
      credits_consumed: 0.5,
    });
    expect(body.matches.map((match) => match?.id ?? null)).toEqual([known.id, null, known.id]);
    expect(apollo.counters.get('apollo.duplicates')).toBe(1);
  });

  it('omits counts and emails for waterfall requests', async () => {
    const known = knownPerson('email');
    const response = await post('/people/bulk_match', {
      details: [{ email: known.email }],
      run_waterfall_email: true,
      webhook_url: 'https://hooks.example.com/apollo',
    });
    const body = (await response.json()) as Record<string, unknown> & { matches: Record<string, unknown>[] };
    expect(body).not.toHaveProperty('credits_consumed');
    expect(body).not.toHaveProperty('unique_enriched_records');
    expect(body.matches[0]).not.toHaveProperty('email');
    expect(body.waterfall).toMatchObject({ status: 'accepted' });
  });

  it('fails a share of records when partial batch failures are on', async () => {
    apollo = createEmulator('apollo', { seed: 3, clock, truth, options: { partialBatchFailureRate: 1 } });
    server.resetHandlers(...toMswHandlers([apollo]));
    const response = await post('/people/bulk_match', { details: [{ email: knownPerson().email }] });
    expect(((await response.json()) as { matches: unknown[] }).matches).toEqual([null]);
    expect(apollo.counters.get('apollo.batch.partialFailures')).toBe(1);
  });
});

describe('organizations', () => {
  const known = () => truth.companies.find((company) => apollo.emulator.view.company(company) !== null)!;

  it('enriches by domain with GET and POST', async () => {
    const company = known();
    const got = await fetch(`${BASE}/organizations/enrich?domain=${company.domain}`, {
      headers: { 'x-api-key': apollo.credentials.apiKey! },
    });
    const posted = await post('/organizations/enrich', { domain: company.domain });
    const body = (await got.json()) as { organization: Record<string, unknown> };
    expect(body.organization).toMatchObject({ id: company.id, primary_domain: company.domain });
    expect(await posted.json()).toEqual(body);
  });

  it('answers 422 when the domain is missing', async () => {
    const response = await post('/organizations/enrich', {});
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual({ error: "Required parameter 'domain' missing" });
  });

  it('bulk-enriches up to 10 domains', async () => {
    const domains = truth.companies.slice(0, 4).map((company) => company.domain);
    const response = await fetch(
      `${BASE}/organizations/bulk_enrich?${domains.map((d) => `domains[]=${d}`).join('&')}`,
      {
        method: 'POST',
        headers: { 'x-api-key': apollo.credentials.apiKey! },
      },
    );
    const body = (await response.json()) as {
      unique_enriched_records: number;
      missing_records: number;
      organizations: unknown[];
    };
    expect(body).toMatchObject({ status: 'success', total_requested_domains: 4, unique_domains: 4 });
    expect(body.unique_enriched_records + body.missing_records).toBe(4);
    expect(body.organizations).toHaveLength(body.unique_enriched_records);
    const tooMany = await post('/organizations/bulk_enrich', {
      details: truth.companies.slice(0, 11).map((company) => ({ domain: company.domain })),
    });
    expect(tooMany.status).toBe(400);
    expect(await tooMany.json()).toMatchObject({ error_code: 'RECORD_LIMIT_EXCEEDED' });
  });
});

describe('Apollo rate limits', () => {
  it('counts per minute with x-* headers and answers 429 JSON when exhausted; bulk gets a tenth', async () => {
    apollo = createEmulator('apollo', {
      seed: 3,
      clock,
      truth,
      options: { rateLimits: { perMinute: 20, perHour: 1000, perDay: 5000 } },
    });
    server.resetHandlers(...toMswHandlers([apollo]));
    clock.advance(60_000 - (clock.now() % 60_000));
    for (let index = 1; index <= 20; index++) {
      const response = await post('/people/match', { email: 'ghost@nowhere-at-all.com' });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-minute-requests-left')).toBe(String(20 - index));
      expect(response.headers.get('x-rate-limit-minute')).toBe('20');
      expect(response.headers.get('x-hourly-usage')).toBe(String(index));
    }
    const limited = await post('/people/match', { email: 'ghost@nowhere-at-all.com' });
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as { message: string }).message).toMatch(
      /api\/v1\/people\/match is 20 times per minute/,
    );
    expect(apollo.counters.get('apollo.429')).toBe(1);
    expect(apollo.counters.get('apollo.http.status.429')).toBe(1);
    const bulk = await post('/people/bulk_match', { details: [] });
    expect(bulk.headers.get('x-rate-limit-minute')).toBe('2');
    clock.advance(60_000);
    expect((await post('/people/match', {})).status).toBe(200);
  });
});

describe('Apollo 429 variants (UNVERIFIED upstream)', () => {
  it('can send the usage headers and retry-after on 429', async () => {
    apollo = createEmulator('apollo', {
      seed: 3,
      clock,
      truth,
      options: { rateLimits: { perMinute: 1 }, rateLimitHeadersOn429: true, retryAfterOn429: true },
    });
    server.resetHandlers(...toMswHandlers([apollo]));
    clock.advance(60_000 - (clock.now() % 60_000) + 15_000);
    await post('/people/match', {});
    const limited = await post('/people/match', {});
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-minute-requests-left')).toBe('0');
    expect(limited.headers.get('retry-after')).toBe('45');
  });

  it('sends neither by default', async () => {
    apollo = createEmulator('apollo', { seed: 3, clock, truth, options: { rateLimits: { perMinute: 1 } } });
    server.resetHandlers(...toMswHandlers([apollo]));
    clock.advance(60_000 - (clock.now() % 60_000));
    await post('/people/match', {});
    const limited = await post('/people/match', {});
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-minute-requests-left')).toBeNull();
    expect(limited.headers.get('retry-after')).toBeNull();
  });
});

describe('Apollo over a real server', () => {
  it('answers the same code on 127.0.0.1', async () => {
    server.close();
    const running = await startEmulators({ vendors: ['apollo'], seed: 3, truth });
    try {
      const base = running.urls.apollo!.apiUrl!;
      const unauthorized = await fetch(`${base}/people/match`, { method: 'POST' });
      expect(unauthorized.status).toBe(401);
      expect(await unauthorized.text()).toMatch(/^Invalid API key/);
      const person = truth.people[1]!;
      const response = await fetch(`${base}/people/match`, {
        method: 'POST',
        headers: { 'x-api-key': running.credentials.apollo!.apiKey!, 'content-type': 'application/json' },
        body: JSON.stringify({ email: person.email }),
      });
      expect(response.status).toBe(200);
      expect(running.counters.get('apollo.http.requests')).toBe(2);
    } finally {
      await running.close();
      server.listen({ onUnhandledRequest: 'error' });
    }
  });
});

import type { EnrichRequest, RateLimitState } from '@leadpipe/core';
import {
  createEmulatorClock,
  type EmulatorBackend,
  startEmulatorBackend,
  type ZoomInfoEmulatorOptions,
} from '@leadpipe/testkit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createZoomInfo, type ZoomInfoProviderSettings, type ZoomInfoTokens } from '../src/index.js';

for (const name of [
  'ZOOMINFO_API',
  'ZOOMINFO_CLIENT_ID',
  'ZOOMINFO_CLIENT_SECRET',
  'ZOOMINFO_USERNAME',
  'ZOOMINFO_PASSWORD',
]) {
  vi.stubEnv(name, '');
}

const servers: EmulatorBackend<'zoominfo'>[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** A ZoomInfo emulator over HTTP, on a clock shared with the adapter (1 emulated s = `scale` real ms... or real time). */
async function start(options: ZoomInfoEmulatorOptions = {}, timeScale = 1) {
  const clock = createEmulatorClock(timeScale);
  const server = await startEmulatorBackend('zoominfo', {
    truth: { people: 300, companies: 50 },
    clock,
    options,
  });
  servers.push(server);
  const emulator = server.emulator;
  const view = emulator.emulator.view;
  const known = emulator.truth.people.filter((person) => {
    const fields = view.person(person);
    return fields !== null && fields.email === person.email && fields.title !== undefined;
  });
  const settings = (
    api: 'gtm' | 'legacy',
    extra: ZoomInfoProviderSettings = {},
  ): ZoomInfoProviderSettings => ({
    ...(api === 'gtm'
      ? { api, clientId: server.credentials.clientId, clientSecret: server.credentials.clientSecret }
      : { api, username: server.credentials.username, password: server.credentials.password }),
    baseUrl: server.urls.baseUrl,
    clock: () => clock.now(),
    ...extra,
  });
  const paths = () =>
    emulator.requests.all().map((request) => `${request.method} ${request.path} ${request.status}`);
  return { server, emulator, view, known, settings, paths, clock };
}

const lead = (index: number, input: EnrichRequest['input']): EnrichRequest => ({
  leadId: `lead-${index}`,
  input,
  fields: ['title', 'phone', 'company.name'],
});

describe('zoominfo over the GTM API', () => {
  it('signs in with client credentials once, reads entitlements once, and batches contacts and companies', async () => {
    const { known, settings, paths, emulator } = await start();
    const provider = createZoomInfo(settings('gtm'));
    const company = emulator.truth.companyOf(known[2]!);
    const first = await provider.doEnrichBatch(
      [
        lead(0, { email: known[0]!.email }),
        lead(1, { linkedinUrl: known[1]!.linkedinUrl }),
        lead(2, { 'company.domain': company.domain }),
        lead(3, { email: 'nobody@unknown-contract-domain.com' }),
      ],
      {},
    );
    expect(first.map((result) => result.status)).toEqual(['matched', 'matched', 'matched', 'not_found']);
    if (first[0]!.status === 'matched') expect(first[0]!.fields.email).toBe(known[0]!.email);
    if (first[2]!.status === 'matched') expect(first[2]!.fields['company.domain']).toBe(company.domain);
    await provider.doEnrich(lead(4, { email: known[3]!.email }), {});
    const calls = paths();
    expect(calls.filter((call) => call.startsWith('POST /gtm/oauth/v1/token'))).toHaveLength(1);
    // One entitlement read per entity, for the provider's life.
    expect(calls.filter((call) => call.includes('/gtm/data/v1/lookup/enrich'))).toHaveLength(2);
    expect(calls.filter((call) => call.startsWith('POST /gtm/data/v1/contacts/enrich 200'))).toHaveLength(2);
    expect(calls.filter((call) => call.startsWith('POST /gtm/data/v1/companies/enrich 200'))).toHaveLength(1);
    // The LinkedIn URL went out as externalURL, in a JSON:API body.
    const contactBody = JSON.parse(
      emulator.requests.all().find((request) => request.path === '/gtm/data/v1/contacts/enrich')!.body,
    );
    expect(contactBody.data.type).toBe('ContactEnrich');
    expect(contactBody.data.attributes.matchPersonInput[1]).toEqual({ externalURL: known[1]!.linkedinUrl });
  });

  it('asks only for fields the account is entitled to, so a forbidden field never fails the batch', async () => {
    const { known, settings, emulator, view } = await start({ deniedOutputFields: ['phone', 'mobilePhone'] });
    const person = known.find((candidate) => view.person(candidate)?.phone !== undefined)!;
    const provider = createZoomInfo(settings('gtm'));
    const [result] = await provider.doEnrichBatch([lead(0, { email: person.email })], {});
    expect(result!.status).toBe('matched');
    if (result!.status === 'matched') {
      expect(result!.fields.title).toBe(view.person(person)!.title);
      expect(result!.fields.phone).toBeUndefined();
    }
    const sent = JSON.parse(
      emulator.requests.all().find((request) => request.path.endsWith('/contacts/enrich'))!.body,
    );
    expect(sent.data.attributes.outputFields).not.toContain('phone');
    expect(sent.data.attributes.outputFields).toContain('jobTitle');
    // With the entitlement, phones come back (as E.164).
    const { settings: entitled, known: people, view: fullView } = await start();
    const withPhone = people.find((candidate) => fullView.person(candidate)?.phone !== undefined)!;
    const [answer] = await createZoomInfo(entitled('gtm')).doEnrichBatch(
      [lead(0, { email: withPhone.email })],
      {},
    );
    expect(answer!.status === 'matched' && answer!.fields.phone).toBe(fullView.person(withPhone)!.phone);
  });

  it('a refused field list (entitlements changed since they were read) is read again and asked once more', async () => {
    const { known, settings, emulator, paths } = await start({ deniedOutputFields: [] });
    const provider = createZoomInfo(settings('gtm'));
    await provider.connect();
    // ZoomInfo takes the phone entitlements away after the adapter read the list.
    emulator.emulator.denyOutputFields(['phone', 'mobilePhone']);
    emulator.requests.clear();
    const [result] = await provider.doEnrichBatch([lead(0, { email: known[0]!.email })], {});
    expect(result!.status).toBe('matched');
    expect(paths()).toEqual([
      'POST /gtm/data/v1/contacts/enrich 400',
      'GET /gtm/data/v1/lookup/enrich 200',
      'POST /gtm/data/v1/contacts/enrich 200',
    ]);
  });

  it('answers from matchStatus: misses and filters are free not_found, bad input in a batch is a free miss', async () => {
    const { known, settings, emulator } = await start();
    const provider = createZoomInfo(settings('gtm', { contactAccuracyScoreMin: 99 }));
    const results = await provider.doEnrichBatch(
      [
        ...known.slice(0, 6).map((person, index) => lead(index, { email: person.email })),
        lead(6, { email: 'not-an-email@' }),
      ],
      {},
    );
    const statuses = emulator.requests
      .all()
      .filter((request) => request.path.endsWith('/contacts/enrich'))
      .map(() => 'sent');
    expect(statuses).toHaveLength(1);
    // Scores are 70-99: most of the six fall below 99 (NON_MATCH_BY_CONTACT_ACCURACY_MIN).
    const misses = results.slice(0, 6).filter((result) => result.status === 'not_found');
    expect(misses.length).toBeGreaterThan(0);
    for (const miss of misses) {
      expect(miss.credits).toBe(0);
      expect((miss.raw as { matchStatus: string }).matchStatus).toBe('NON_MATCH_BY_CONTACT_ACCURACY_MIN');
    }
    expect(results[6]).toMatchObject({
      status: 'not_found',
      credits: 0,
      raw: { matchStatus: 'INVALID_INPUT' },
    });
    // Alone, bad input is an invalid_request naming the field.
    await expect(provider.doEnrich(lead(7, { email: 'not-an-email@' }), {})).rejects.toMatchObject({
      code: 'invalid_request',
      vendorCode: 'INVALID_INPUT',
      message: expect.stringContaining('request.input.email'),
    });
  });

  it('a name at a company ZoomInfo knows, of a person it does not, is COMPANY_ONLY_MATCH: a free miss', async () => {
    const { settings, emulator } = await start();
    const company = emulator.truth.companies.find(
      (candidate) => emulator.emulator.view.company(candidate) !== null,
    )!;
    const provider = createZoomInfo(settings('gtm'));
    const result = await provider.doEnrich(
      lead(0, { firstName: 'Nobody', lastName: 'Atall', 'company.name': company.name }),
      {},
    );
    expect(result).toMatchObject({
      status: 'not_found',
      credits: 0,
      raw: { matchStatus: 'COMPANY_ONLY_MATCH' },
    });
  });

  it('credits: a record enriched again within 12 months costs nothing, as ZoomInfo charges it', async () => {
    const { known, settings, emulator } = await start();
    const provider = createZoomInfo(settings('gtm'));
    const first = await provider.doEnrich(lead(0, { email: known[0]!.email }), {});
    const again = await provider.doEnrich(lead(1, { email: known[0]!.email }), {});
    expect(first.credits).toBe(1);
    expect(again.credits).toBe(0);
    expect(emulator.counters.get('zoominfo.credits')).toBe(1);
    expect(emulator.counters.get('zoominfo.reEnriched')).toBe(1);
  });

  it('record limit exhausted (per-record LIMIT_EXCEEDED) is quota_exceeded for the batch', async () => {
    const { known, settings } = await start({ quotas: { recordLimit: 2 } });
    const provider = createZoomInfo(settings('gtm'));
    await expect(
      provider.doEnrichBatch(
        known.slice(0, 4).map((person, index) => lead(index, { email: person.email })),
        {},
      ),
    ).rejects.toMatchObject({ code: 'quota_exceeded', vendorCode: 'LIMIT_EXCEEDED', isRetryable: false });
  });

  it('reports the per-second, per-hour and per-day windows; a 429 on the day bucket is quota_exceeded until the reset', async () => {
    const { known, settings } = await start({ rateLimits: { perDay: 2 } });
    const provider = createZoomInfo(settings('gtm'));
    const states: RateLimitState[] = [];
    await provider.doEnrich(lead(0, { email: known[0]!.email }), {
      onRateLimit: (state) => states.push(state),
    });
    const names = states.at(-1)!.windows.map((window) => window.name);
    expect(names).toEqual(['second', 'hour', 'day']);
    // Two requests a day: the contact entitlement read and one enrich are spent.
    const error: unknown = await Promise.resolve(
      provider.doEnrich(lead(1, { email: known[1]!.email }), {}),
    ).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ code: 'quota_exceeded', status: 429 });
    expect((error as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
  });
});

describe('zoominfo GTM refresh-token flow', () => {
  it('refresh tokens rotate, are single-use, and one refresh runs at a time', async () => {
    const { known, settings, paths, server, emulator } = await start();
    const issued: ZoomInfoTokens[] = [];
    const provider = createZoomInfo(
      settings('gtm', {
        refreshToken: server.credentials.refreshToken,
        onTokens: (tokens) => issued.push(tokens),
      }),
    );
    // Two calls at once on a fresh provider: one refresh between them.
    const results = await Promise.all([
      provider.doEnrich(lead(0, { email: known[0]!.email }), {}),
      provider.doEnrich(lead(1, { email: known[1]!.email }), {}),
    ]);
    expect(results.map((result) => result.status)).toEqual(['matched', 'matched']);
    expect(paths().filter((call) => call.startsWith('POST /gtm/oauth/v1/token'))).toEqual([
      'POST /gtm/oauth/v1/token 200',
    ]);
    expect(issued).toHaveLength(1);
    expect(issued[0]!.refreshToken).toBeDefined();
    expect(issued[0]!.refreshToken).not.toBe(server.credentials.refreshToken);
    // The first refresh token is spent: a second provider holding it is refused.
    const stale = createZoomInfo(settings('gtm', { refreshToken: server.credentials.refreshToken }));
    await expect(stale.doEnrich(lead(2, { email: known[2]!.email }), {})).rejects.toMatchObject({
      code: 'unauthorized',
      vendorCode: 'invalid_grant',
    });
    // After a 401, the provider refreshes with the rotated token, and goes on.
    emulator.emulator.revokeTokens();
    const after = await provider.doEnrich(lead(3, { email: known[3]!.email }), {});
    expect(after.status).toBe('matched');
    expect(issued).toHaveLength(2);
    expect(emulator.counters.get('zoominfo.refreshReused')).toBe(1);
  });
});

describe('zoominfo over the legacy API', () => {
  it('a 401 signs in again once, then the call goes through', async () => {
    // ZoomInfo allows one sign-in per second: 1 emulated second = 1 real ms here.
    const { known, settings, paths, emulator } = await start({}, 1000);
    const provider = createZoomInfo(settings('legacy'));
    await provider.doEnrich(lead(0, { email: known[0]!.email }), {});
    await new Promise((resolve) => setTimeout(resolve, 5));
    emulator.emulator.revokeTokens();
    emulator.requests.clear();
    const result = await provider.doEnrich(lead(1, { email: known[1]!.email }), {});
    expect(result.status).toBe('matched');
    expect(paths()).toEqual([
      'POST /enrich/contact 401',
      'POST /authenticate 200',
      'POST /enrich/contact 200',
    ]);
  });

  it('renews the 60-minute JWT before it expires: no call ever meets an expired token', async () => {
    // 1 emulated second = 1 real ms; the JWT lives 6 minutes, renewed 5 minutes before its end.
    const { known, settings, paths } = await start({ jwtTtlSeconds: 360 }, 1000);
    const provider = createZoomInfo(settings('legacy'));
    await provider.doEnrich(lead(0, { email: known[0]!.email }), {});
    await new Promise((resolve) => setTimeout(resolve, 120)); // two emulated minutes: inside the renewal window
    await provider.doEnrich(lead(1, { email: known[1]!.email }), {});
    const calls = paths();
    expect(calls.filter((call) => call.startsWith('POST /authenticate'))).toEqual([
      'POST /authenticate 200',
      'POST /authenticate 200',
    ]);
    expect(calls.some((call) => call.endsWith(' 401'))).toBe(false);
  });

  it('a used-up record limit (403) is quota_exceeded; the legacy body and X-Usage headers are read', async () => {
    const { known, settings } = await start({ quotas: { recordLimit: 1 } });
    const provider = createZoomInfo(settings('legacy'));
    const states: RateLimitState[] = [];
    await provider.doEnrich(lead(0, { email: known[0]!.email }), {
      onRateLimit: (state) => states.push(state),
    });
    expect(states.at(-1)!.windows).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'minute', limit: 1500 }),
        expect.objectContaining({ name: 'records', limit: 1, remaining: 0 }),
      ]),
    );
    await expect(provider.doEnrich(lead(1, { email: known[1]!.email }), {})).rejects.toMatchObject({
      code: 'quota_exceeded',
      status: 403,
    });
  });

  it('the legacy envelope nests company fields; they map to company.*', async () => {
    const { known, settings, view } = await start();
    const person = known.find((candidate) => view.person(candidate)?.['company.headcount'] !== undefined)!;
    const result = await createZoomInfo(settings('legacy')).doEnrich(lead(0, { email: person.email }), {});
    const expected = view.person(person)!;
    expect(result.status).toBe('matched');
    if (result.status !== 'matched') return;
    expect(result.fields['company.headcount']).toBe(expected['company.headcount']);
    expect(result.fields['company.name']).toBe(expected['company.name']);
    expect(result.confidence).toBeGreaterThanOrEqual(0.7);
    expect(result.confidence).toBeLessThanOrEqual(0.99);
  });
});

describe('zoominfo under injected faults', () => {
  it("the emulator's usual faults reach the adapter as ZoomInfo answers them", async () => {
    const { known, settings, emulator, paths } = await start({}, 1000);
    const provider = createZoomInfo(settings('gtm'));
    await provider.connect();
    emulator.faults.queue('serverError');
    await expect(provider.doEnrich(lead(0, { email: known[0]!.email }), {})).rejects.toMatchObject({
      code: 'server_error',
      isRetryable: true,
    });
    emulator.faults.queue('rateLimited');
    const states: RateLimitState[] = [];
    await expect(
      provider.doEnrich(lead(1, { email: known[1]!.email }), { onRateLimit: (state) => states.push(state) }),
    ).rejects.toMatchObject({ code: 'rate_limited', status: 429 });
    expect(states.at(-1)!.retryAfterMs).toBeGreaterThan(0);
    // An expired token (401) is healed by one sign-in.
    emulator.requests.clear();
    emulator.faults.queue('expiredToken');
    const result = await provider.doEnrich(lead(2, { email: known[2]!.email }), {});
    expect(result.status).toBe('matched');
    expect(paths()).toEqual([
      'POST /gtm/data/v1/contacts/enrich 401',
      'POST /gtm/oauth/v1/token 200',
      'POST /gtm/data/v1/contacts/enrich 200',
    ]);
  });
});

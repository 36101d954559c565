import { ConfigurationError } from '@leadpipe/core';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../src/emulator/create-context.js';
import { sampleLatency, validateFaults } from '../src/emulator/faults.js';
import { toMswHandlers } from '../src/emulator/msw.js';
import { createEmulator, type EmulatorInstance } from '../src/emulator/registry.js';
import { startEmulators } from '../src/emulator/server.js';
import { endpointOf } from '../src/emulator/wrap.js';
import { createGroundTruth } from '../src/truth/index.js';
import { manualClock } from './emulator-helpers.js';

const truth = createGroundTruth({ seed: 9, people: 500, companies: 80 });
const server = setupServer();
const URL_MATCH = 'https://api.apollo.io/api/v1/people/match';
let apollo: EmulatorInstance<'apollo'>;

function setup(faults = {}) {
  apollo = createEmulator('apollo', { seed: 9, clock: manualClock(), truth, faults });
  server.resetHandlers(...toMswHandlers([apollo]));
}

const call = (init: RequestInit = {}) =>
  fetch(URL_MATCH, {
    method: 'POST',
    headers: { 'x-api-key': apollo.credentials.apiKey!, 'content-type': 'application/json' },
    body: JSON.stringify({ email: truth.people[0]!.email }),
    ...init,
  });

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());
afterEach(() => apollo?.close());

describe('faults seen by a plain fetch client (msw)', () => {
  it('answers a share of 5xx in the vendor shape, repeatably for a seed', async () => {
    setup({ serverErrorRate: 0.3 });
    const statuses: number[] = [];
    for (let index = 0; index < 60; index++) statuses.push((await call()).status);
    const errors = statuses.filter((status) => status >= 500).length;
    expect(errors).toBeGreaterThan(8);
    expect(errors).toBeLessThan(30);
    setup({ serverErrorRate: 0.3 });
    const again: number[] = [];
    for (let index = 0; index < 60; index++) again.push((await call()).status);
    expect(again).toEqual(statuses);
    expect(apollo.counters.get('apollo.faults.serverError')).toBe(errors);
  });

  it('sends bursts of 429 of the configured length', async () => {
    setup();
    apollo.faults.configure({ rateLimitBurst: { rate: 1, length: 3, retryAfterSeconds: 7 } });
    const first = await call();
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('7');
    expect(await first.json()).toHaveProperty('message');
    apollo.faults.clear();
    apollo.faults.configure({ rateLimitBurst: { rate: 0, length: 3 } });
    apollo.faults.queue('rateLimited', 3);
    const statuses = [];
    for (let index = 0; index < 4; index++) statuses.push((await call()).status);
    expect(statuses).toEqual([429, 429, 429, 200]);
    expect(apollo.counters.get('apollo.http.status.429')).toBe(4);
  });

  it('cuts JSON bodies short so they no longer parse', async () => {
    setup({ malformedJsonRate: 1 });
    const response = await call();
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
  });

  it('resets the connection: fetch rejects with a network error', async () => {
    setup({ connectionResetRate: 1 });
    await expect(call()).rejects.toThrow(TypeError);
    expect(apollo.requests.all()[0]?.status).toBe(0);
  });

  it('hangs until the client gives up', async () => {
    setup();
    apollo.faults.queue('hang');
    await expect(call({ signal: AbortSignal.timeout(100) })).rejects.toThrow();
    expect(apollo.counters.get('apollo.faults.hang')).toBe(1);
    expect((await call()).status).toBe(200);
  });

  it('answers 401 as an expired token', async () => {
    setup({ expiredTokenRate: 1 });
    const response = await call();
    expect(response.status).toBe(401);
    expect(await response.text()).toMatch(/^Invalid API key/);
  });

  it('never answers "token expired" from a token endpoint: refreshing still works', async () => {
    const hubspot = createEmulator('hubspot', {
      seed: 9,
      clock: manualClock(),
      truth,
      faults: { expiredTokenRate: 1 },
    });
    server.use(...toMswHandlers([hubspot]));
    const { clientId, clientSecret, refreshToken } = hubspot.credentials as Record<string, string>;
    const refreshed = await fetch('https://api.hubapi.com/oauth/v1/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: clientId!,
        client_secret: clientSecret!,
        refresh_token: refreshToken!,
      }),
    });
    expect(refreshed.status).toBe(200);
    const { access_token: token } = (await refreshed.json()) as { access_token: string };
    const api = await fetch('https://api.hubapi.com/crm/v3/objects/contacts', {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(api.status).toBe(401);
    expect(hubspot.counters.get('hubspot.faults.expiredToken')).toBe(1);
  });

  it('a queued expired token skips the token endpoint and hits the next call that carries a token', async () => {
    const hubspot = createEmulator('hubspot', { seed: 9, clock: manualClock(), truth });
    server.use(...toMswHandlers([hubspot]));
    hubspot.faults.queue('expiredToken');
    const { clientId, clientSecret, refreshToken } = hubspot.credentials as Record<string, string>;
    const refreshed = await fetch('https://api.hubapi.com/oauth/v1/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: clientId!,
        client_secret: clientSecret!,
        refresh_token: refreshToken!,
      }),
    });
    expect(refreshed.status).toBe(200);
    const { access_token: token } = (await refreshed.json()) as { access_token: string };
    const first = await fetch('https://api.hubapi.com/crm/v3/objects/contacts', {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(first.status).toBe(401);
    expect(((await first.json()) as { category: string }).category).toBe('EXPIRED_AUTHENTICATION');
    const second = await fetch('https://api.hubapi.com/crm/v3/objects/contacts', {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(second.status).toBe(200);
    expect(hubspot.counters.get('hubspot.faults.expiredToken')).toBe(1);
  });

  it('adds latency on the emulated clock', async () => {
    const clock = manualClock();
    apollo = createEmulator('apollo', { seed: 9, clock, truth, faults: { latencyMs: 250 } });
    server.resetHandlers(...toMswHandlers([apollo]));
    const before = clock.now();
    await call();
    await call();
    expect(clock.now() - before).toBe(500);
  });
});

describe('latency distributions', () => {
  it('samples with the configured mean', () => {
    const random = seededRandom(1);
    const mean = (spec: Parameters<typeof sampleLatency>[0]) => {
      let sum = 0;
      for (let index = 0; index < 4000; index++) sum += sampleLatency(spec, random);
      return sum / 4000;
    };
    expect(mean({ distribution: 'uniform', minMs: 100, maxMs: 300 })).toBeCloseTo(200, -1);
    expect(mean({ distribution: 'exponential', meanMs: 50 })).toBeGreaterThan(45);
    expect(mean({ distribution: 'exponential', meanMs: 50 })).toBeLessThan(55);
    expect(mean({ distribution: 'normal', meanMs: 80, stdDevMs: 10 })).toBeCloseTo(80, -1);
    expect(mean({ distribution: 'fixed', ms: 12 })).toBe(12);
  });

  it('rejects bad settings with a ConfigurationError naming the field', () => {
    expect(() => validateFaults({ serverErrorRate: 2 })).toThrow(ConfigurationError);
    expect(() => validateFaults({ latencyMs: { distribution: 'uniform', minMs: 5, maxMs: 1 } })).toThrow(
      /latencyMs\.maxMs/,
    );
    expect(() => validateFaults({ rateLimitBurst: { rate: 0.1, length: 0 } })).toThrow(
      /rateLimitBurst\.length/,
    );
  });
});

describe('recording and counters', () => {
  it('records requests with secrets redacted and counts per endpoint', async () => {
    setup();
    await call();
    await fetch(`https://api.apollo.io/api/v1/people/match?api_key=${apollo.credentials.apiKey}`, {
      method: 'POST',
      body: JSON.stringify({ api_key: apollo.credentials.apiKey }),
    });
    const [first, second] = apollo.requests.all();
    expect(first).toMatchObject({
      vendor: 'apollo',
      method: 'POST',
      path: '/api/v1/people/match',
      status: 200,
    });
    expect(first?.headers['x-api-key']).toBe('[REDACTED]');
    expect(second?.query.api_key).toBe('[REDACTED]');
    expect(JSON.stringify(apollo.requests.all())).not.toContain(apollo.credentials.apiKey!);
    expect(apollo.counters.get('apollo.http.endpoint.POST /api/v1/people/match')).toBe(2);
    expect(apollo.requests.find('post', '/api/v1/people')).toHaveLength(2);
  });

  it('keeps at most maxRecordedRequests, dropping the oldest', async () => {
    apollo = createEmulator('apollo', { seed: 9, clock: manualClock(), truth, maxRecordedRequests: 2 });
    server.resetHandlers(...toMswHandlers([apollo]));
    for (let index = 0; index < 3; index++) {
      await fetch(`${URL_MATCH}?n=${index}`, { method: 'POST' });
    }
    expect(apollo.requests.all().map((request) => request.query.n)).toEqual(['1', '2']);
    expect(() => createEmulator('apollo', { truth, maxRecordedRequests: -1 })).toThrow(/maxRecordedRequests/);
  });

  it('collapses ids in endpoint names', () => {
    expect(endpointOf('/crm/v3/objects/contacts/12345')).toBe('/crm/v3/objects/contacts/:id');
    expect(endpointOf('/services/data/v59.0/sobjects/Lead/Email/a%40b.com')).toBe(
      '/services/data/v59.0/sobjects/Lead/Email/:id',
    );
  });
});

describe('faults over a real server', () => {
  it('destroys the socket on a connection reset and hangs until the client aborts', async () => {
    server.close();
    const running = await startEmulators({ vendors: ['apollo'], seed: 9, truth });
    try {
      const instance = running.emulators.apollo!;
      const url = `${running.urls.apollo!.apiUrl}/people/match`;
      const headers = { 'x-api-key': instance.credentials.apiKey! };
      instance.faults.queue('connectionReset');
      const reset = await fetch(url, { method: 'POST', headers }).then(
        () => 'answered',
        (error: Error & { cause?: { code?: string } }) => error.cause?.code ?? error.name,
      );
      expect(reset).toMatch(/ECONNRESET|UND_ERR_SOCKET|other side closed|TypeError/);
      instance.faults.queue('hang');
      await expect(
        fetch(url, { method: 'POST', headers, signal: AbortSignal.timeout(150) }),
      ).rejects.toThrow();
      instance.faults.queue('serverError');
      expect((await fetch(url, { method: 'POST', headers })).status).toBeGreaterThanOrEqual(500);
      expect((await fetch(url, { method: 'POST', headers })).status).toBe(200);
    } finally {
      await running.close();
      server.listen({ onUnhandledRequest: 'error' });
    }
  });
});

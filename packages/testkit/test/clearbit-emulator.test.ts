import { createHmac, timingSafeEqual } from 'node:crypto';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatorClock } from '../src/emulator/context.js';
import { toMswHandlers } from '../src/emulator/msw.js';
import { createEmulator, type EmulatorInstance } from '../src/emulator/registry.js';
import { createGroundTruth, type TruthPerson } from '../src/truth/index.js';
import type { ClearbitEmulatorOptions } from '../src/vendors/clearbit/index.js';
import { manualClock } from './emulator-helpers.js';

const truth = createGroundTruth({ seed: 5, people: 2000, companies: 300 });
const server = setupServer();
const webhooks: { body: string; signature: string | null }[] = [];
let clock = manualClock();
let clearbit: EmulatorInstance<'clearbit'>;

function setup(options: ClearbitEmulatorOptions = {}, customClock?: EmulatorClock) {
  clock = manualClock();
  clearbit = createEmulator('clearbit', {
    seed: 5,
    clock: customClock ?? clock,
    truth,
    options: { queuedShare: 0, ...options },
  });
  webhooks.length = 0;
  server.resetHandlers(
    ...toMswHandlers([clearbit]),
    http.post('https://hooks.example.com/clearbit', async ({ request }) => {
      webhooks.push({ body: await request.text(), signature: request.headers.get('x-request-signature') });
      return new HttpResponse(null, { status: 200 });
    }),
  );
}

const bearer = () => ({ authorization: `Bearer ${clearbit.credentials.apiKey}` });
const person = (url: string, headers: Record<string, string> = bearer()) =>
  fetch(`https://person.clearbit.com/v2/people/find?${url}`, { headers });
const known = (): TruthPerson =>
  truth.people.find((item) => clearbit.emulator.view.person(item)?.title !== undefined)!;
const unknownToClearbit = (): TruthPerson =>
  truth.people.find((item) => clearbit.emulator.view.person(item) === null)!;

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());
afterEach(() => clearbit.close());

describe('Clearbit auth', () => {
  it('accepts Basic with the key as username and Bearer', async () => {
    setup();
    const email = known().email;
    const basic = `Basic ${Buffer.from(`${clearbit.credentials.apiKey}:`).toString('base64')}`;
    expect((await person(`email=${email}`, { authorization: basic })).status).toBe(200);
    expect((await person(`email=${email}`)).status).toBe(200);
  });

  it('answers 401 auth_required without a key and invalid_api_key with a wrong one, never echoing it', async () => {
    setup();
    const missing = await person('email=a@b.com', {});
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error: { type: string } }).error.type).toBe('auth_required');
    const wrong = await person('email=a@b.com', { authorization: 'Bearer sk_wrongwrongwrong' });
    const text = await wrong.text();
    expect(wrong.status).toBe(401);
    expect(JSON.parse(text).error.type).toBe('invalid_api_key');
    expect(text).not.toContain('sk_wrongwrongwrong');
  });
});

describe('Clearbit lookups', () => {
  it('returns the v2 person with rate-limit headers', async () => {
    setup();
    const target = known();
    const response = await person(`email=${target.email}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-ratelimit-limit')).toBe('600');
    expect(response.headers.get('x-ratelimit-remaining')).toBe('599');
    const body = (await response.json()) as Record<string, unknown> & { name: Record<string, unknown> };
    const fields = clearbit.emulator.view.person(target)!;
    expect(body.email).toBe(target.email);
    expect(body.name.fullName).toBe(fields.fullName ?? null);
    expect(body.employment).toMatchObject({ title: fields.title, domain: fields['company.domain'] ?? null });
  });

  it('answers company and combined lookups with v2 shapes', async () => {
    setup();
    const company = truth.companies.find((item) => clearbit.emulator.view.company(item) !== null)!;
    const response = await fetch(`https://company.clearbit.com/v2/companies/find?domain=${company.domain}`, {
      headers: bearer(),
    });
    const body = (await response.json()) as {
      domain: string;
      metrics: Record<string, unknown>;
      tech: string[];
    };
    expect(body.domain).toBe(company.domain);
    expect(body.metrics).toHaveProperty('employeesRange');
    const combined = await fetch(`https://person.clearbit.com/v2/combined/find?email=${known().email}`, {
      headers: bearer(),
    });
    expect(Object.keys((await combined.json()) as object).sort()).toEqual(['company', 'person']);
  });

  it('answers 404 unknown_record for an unknown email, and bills it', async () => {
    setup();
    const response = await person(`email=${unknownToClearbit().email}`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { type: 'unknown_record' } });
    expect(clearbit.counters.get('clearbit.credits')).toBe(1);
    await person(`email=${unknownToClearbit().email}`);
    expect(clearbit.counters.get('clearbit.credits')).toBe(1);
  });

  it('answers 422 for a malformed email, a role address and a bad top-level domain', async () => {
    setup();
    for (const email of ['not-an-email', 'info@acme.com', 'jane@acme.c0m', 'jane@acme.invalid']) {
      const response = await person(`email=${encodeURIComponent(email)}`);
      expect(response.status, email).toBe(422);
    }
    expect(clearbit.counters.get('clearbit.credits')).toBe(0);
  });

  it('answers 402 once the quota of unique lookups is used', async () => {
    setup({ monthlyQuota: 1 });
    expect((await person(`email=${known().email}`)).status).toBe(200);
    expect((await person(`email=${known().email}`)).status).toBe(200);
    const over = await person(`email=${unknownToClearbit().email}`);
    expect(over.status).toBe(402);
    expect(await over.json()).toMatchObject({ error: { type: 'over_quota' } });
    expect(clearbit.counters.get('clearbit.402')).toBe(1);
  });

  it('answers 429 with X-RateLimit-* past the per-minute limit, then recovers', async () => {
    setup({ perMinute: 2 });
    clock.advance(60_000 - (clock.now() % 60_000));
    const email = known().email;
    await person(`email=${email}`);
    await person(`email=${email}`);
    const limited = await person(`email=${email}`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(limited.headers.get('x-ratelimit-reset'))).toBe(Math.ceil((clock.now() + 60_000) / 1000));
    clock.advance(60_000);
    expect((await person(`email=${email}`)).status).toBe(200);
  });
});

describe('Clearbit queued lookups, streaming and webhooks', () => {
  it('answers 202 queued first and 200 after the indexing delay', async () => {
    setup({ queuedShare: 1, indexDelayMs: 30_000 });
    const email = known().email;
    const first = await person(`email=${email}`);
    expect(first.status).toBe(202);
    expect(await first.json()).toMatchObject({ error: { type: 'queued' } });
    clock.advance(10_000);
    expect((await person(`email=${email}`)).status).toBe(202);
    clock.advance(20_000);
    expect((await person(`email=${email}`)).status).toBe(200);
  });

  it('skips the queue with cached=true', async () => {
    setup({ queuedShare: 1 });
    expect((await person(`email=${known().email}&cached=true`)).status).toBe(200);
  });

  it('can report X-RateLimit-Reset as seconds until the reset', async () => {
    setup({ rateLimitReset: 'seconds-remaining' });
    clock.advance(60_000 - (clock.now() % 60_000) + 20_000);
    const response = await person(`email=${known().email}`);
    expect(response.headers.get('x-ratelimit-reset')).toBe('40');
  });

  it('retries a failing webhook receiver and counts the failure', async () => {
    setup({ queuedShare: 1 });
    server.use(http.post('https://hooks.example.com/down', () => new HttpResponse(null, { status: 500 })));
    await person(
      `email=${known().email}&webhook_url=${encodeURIComponent('https://hooks.example.com/down')}`,
    );
    await clearbit.emulator.webhooks.idle();
    expect(clearbit.emulator.webhooks.sent()[0]).toMatchObject({ status: 500, attempts: 3 });
    expect(clearbit.counters.get('clearbit.webhooks.failed')).toBe(1);
  });

  it('can send an empty 202 body', async () => {
    setup({ queuedShare: 1, queuedBody: 'empty' });
    const response = await person(`email=${known().email}`);
    expect(response.status).toBe(202);
    expect(await response.text()).toBe('');
  });

  it('holds a streaming call until the record is ready', async () => {
    setup({ queuedShare: 1, indexDelayMs: 30_000 });
    const before = clock.now();
    const response = await fetch(`https://person-stream.clearbit.com/v2/people/find?email=${known().email}`, {
      headers: bearer(),
    });
    expect(response.status).toBe(200);
    expect(clock.now() - before).toBe(30_000);
    expect(response.headers.get('x-ratelimit-limit')).toBeNull();
  });

  it('POSTs the result to webhook_url signed with X-Request-Signature', async () => {
    setup({ queuedShare: 1 });
    const target = known();
    const response = await person(
      `email=${target.email}&webhook_url=${encodeURIComponent('https://hooks.example.com/clearbit')}&webhook_id=lead-1`,
    );
    expect(response.status).toBe(202);
    await clearbit.emulator.webhooks.idle();
    expect(webhooks).toHaveLength(1);
    const { body, signature } = webhooks[0]!;
    const key = clearbit.credentials.apiKey!.replace(/^sk_/, '');
    const expected = Buffer.from(`sha1=${createHmac('sha1', key).update(body).digest('hex')}`);
    expect(signature).not.toBeNull();
    expect(timingSafeEqual(Buffer.from(signature!), expected)).toBe(true);
    const payload = JSON.parse(body) as { id: string; type: string; status: number; body: { email: string } };
    expect(payload).toMatchObject({ id: 'lead-1', type: 'person', status: 200 });
    expect(payload.body.email).toBe(target.email);
  });

  it('keeps holding a streaming call when its timer fires a moment early', async () => {
    // At timeScale 1000 a timer one real millisecond early is a whole emulated second early.
    const early = manualClock();
    const earlyClock: EmulatorClock = {
      ...early,
      sleep: async (ms) => early.advance(ms > 1_000 ? ms - 1_000 : ms),
    };
    setup({ queuedShare: 1, indexDelayMs: 30_000 }, earlyClock);
    const before = early.now();
    const response = await fetch(`https://person-stream.clearbit.com/v2/people/find?email=${known().email}`, {
      headers: bearer(),
    });
    expect(response.status).toBe(200);
    expect(early.now() - before).toBe(30_000);
    expect(clearbit.counters.get('clearbit.queued')).toBe(0);
  });

  it('answers 202 when the 60 s hold ends before the record is indexed', async () => {
    setup({ queuedShare: 1, indexDelayMs: 90_000 });
    const before = clock.now();
    const response = await fetch(`https://person-stream.clearbit.com/v2/people/find?email=${known().email}`, {
      headers: bearer(),
    });
    expect(response.status).toBe(202);
    expect(clock.now() - before).toBe(60_000);
    clock.advance(30_000);
    expect((await person(`email=${known().email}`)).status).toBe(200);
  });

  it('keeps holding when one sleep returns before the clock has moved', async () => {
    const lagging = manualClock();
    let sleeps = 0;
    setup(
      { queuedShare: 1, indexDelayMs: 30_000 },
      {
        ...lagging,
        sleep: async (ms) => {
          if (sleeps++ > 0) lagging.advance(ms);
        },
      },
    );
    const response = await fetch(`https://person-stream.clearbit.com/v2/people/find?email=${known().email}`, {
      headers: bearer(),
    });
    expect(response.status).toBe(200);
    expect(sleeps).toBe(2);
  });

  it('does not spin on a clock whose sleep cannot move time', async () => {
    const frozen = manualClock();
    let sleeps = 0;
    setup({ queuedShare: 1 }, { ...frozen, sleep: async () => void sleeps++ });
    const response = await fetch(`https://person-stream.clearbit.com/v2/people/find?email=${known().email}`, {
      headers: bearer(),
    });
    expect(response.status).toBe(202);
    expect(sleeps).toBe(3);
  });

  it('sends a combined lookup\'s webhook with type "person" and the {person, company} body', async () => {
    setup({ queuedShare: 1 });
    const target = known();
    const hook = encodeURIComponent('https://hooks.example.com/clearbit');
    const response = await fetch(
      `https://person.clearbit.com/v2/combined/find?email=${target.email}&webhook_url=${hook}&webhook_id=lead-2`,
      { headers: bearer() },
    );
    expect(response.status).toBe(202);
    await clearbit.emulator.webhooks.idle();
    const payload = JSON.parse(webhooks[0]!.body) as {
      type: string;
      status: number;
      body: { person: { email: string }; company: { domain: string } | null };
    };
    expect(payload.type).toBe('person');
    expect(payload.status).toBe(200);
    expect(Object.keys(payload.body).sort()).toEqual(['company', 'person']);
    expect(payload.body.person.email).toBe(target.email);
  });

  it('can name a combined webhook "person_company" instead, and rejects other names', async () => {
    setup({ queuedShare: 1, combinedWebhookType: 'person_company' });
    const hook = encodeURIComponent('https://hooks.example.com/clearbit');
    await fetch(`https://person.clearbit.com/v2/combined/find?email=${known().email}&webhook_url=${hook}`, {
      headers: bearer(),
    });
    await person(`email=${truth.people[1]!.email}&webhook_url=${hook}`);
    await clearbit.emulator.webhooks.idle();
    const types = webhooks.map((item) => (JSON.parse(item.body) as { type: string }).type).sort();
    expect(types).toEqual(['person', 'person_company']);
    clearbit.close();
    expect(() =>
      setup({ combinedWebhookType: 'combined' as ClearbitEmulatorOptions['combinedWebhookType'] }),
    ).toThrow(/combinedWebhookType/);
    setup();
  });
});

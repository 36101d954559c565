import { createEnrichmentEngine, createLead, type InboundWebhookRequest } from '@leadpipe/core';
import { type EmulatorInstance, toMswHandlers } from '@leadpipe/testkit';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createClearbit } from '../src/index.js';
import { clearbitEmulator, knownPerson, rejectionOf, settle } from './support.js';

const tick = (ms: number) => vi.advanceTimersByTimeAsync(ms);

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => {
  server.resetHandlers();
  vi.useRealTimers();
});
afterAll(() => server.close());

const HOOK_URL = 'https://hooks.leadpipe.test/clearbit';

function mount(emulator: EmulatorInstance<'clearbit'>): void {
  server.use(...toMswHandlers([emulator]));
}

function lookups(emulator: EmulatorInstance<'clearbit'>) {
  return emulator.requests.all().filter((request) => request.path.endsWith('/find'));
}

function fakeTime(): void {
  vi.useFakeTimers({ now: new Date('2026-03-02T10:00:00Z') });
}

describe('mode sync', () => {
  it('asks again after the delay until the queued lookup is ready, billed once', async () => {
    fakeTime();
    const emulator = clearbitEmulator({ queuedShare: 1, indexDelayMs: 12_000 });
    mount(emulator);
    const person = knownPerson(emulator);
    const provider = createClearbit({
      apiKey: emulator.credentials.apiKey,
      queuedRetryDelayMs: 5_000,
      queuedMaxWaitMs: 30_000,
    });
    const pending = provider.doEnrich(
      { leadId: 'l1', input: { email: person.email }, fields: ['title'] },
      {},
    );
    await vi.advanceTimersByTimeAsync(4_999);
    expect(lookups(emulator).map((request) => request.status)).toEqual([202]);
    await vi.advanceTimersByTimeAsync(10_001);
    const result = await pending;
    expect(result).toMatchObject({ status: 'matched', credits: 1 });
    expect(lookups(emulator).map((request) => request.status)).toEqual([202, 202, 202, 200]);
    expect(emulator.counters.get('clearbit.credits')).toBe(1);
  });

  it.each(['queued-error', 'empty'] as const)(
    'gives up after queuedMaxWaitMs with a retryable timeout and caches nothing (202 body %s)',
    async (queuedBody) => {
      fakeTime();
      const emulator = clearbitEmulator({ queuedShare: 1, indexDelayMs: 600_000, queuedBody });
      mount(emulator);
      const person = knownPerson(emulator);
      const provider = createClearbit({
        apiKey: emulator.credentials.apiKey,
        queuedRetryDelayMs: 5_000,
        queuedMaxWaitMs: 12_000,
      });
      const engine = createEnrichmentEngine({ providers: [provider], retry: { retries: 0 } });
      const outcomePromise = engine.enrich(createLead({ email: person.email }), { fields: ['title'] });
      const outcome = await settle(outcomePromise, tick);
      expect(outcome.attempts).toEqual([
        expect.objectContaining({
          providerId: 'clearbit',
          outcome: 'failed',
          error: expect.objectContaining({ code: 'timeout' }),
        }),
      ]);
      // 0 s, 5 s, 10 s: a fourth ask at 15 s would pass the 12 s budget.
      expect(lookups(emulator).map((request) => request.status)).toEqual([202, 202, 202]);

      const direct = provider.doEnrich(
        { leadId: 'l1', input: { email: person.email }, fields: ['title'] },
        {},
      );
      const caught = rejectionOf(direct);
      await vi.advanceTimersByTimeAsync(20_000);
      const error = await caught;
      expect(error).toMatchObject({
        code: 'timeout',
        status: 202,
        vendorCode: 'queued',
        isRetryable: true,
        retryAfterMs: 5_000,
      });
      // Nothing cached: enriching again asks Clearbit again.
      await settle(engine.enrich(createLead({ email: person.email }), { fields: ['title'] }), tick);
      expect(lookups(emulator)).toHaveLength(9);
      await settle(engine.close(), tick);
    },
  );

  it('gives up at once when queuedMaxWaitMs is 0', async () => {
    const emulator = clearbitEmulator({ queuedShare: 1 });
    mount(emulator);
    const provider = createClearbit({ apiKey: emulator.credentials.apiKey, queuedMaxWaitMs: 0 });
    const error = await rejectionOf(
      provider.doEnrich({ leadId: 'l1', input: { email: knownPerson(emulator).email }, fields: [] }, {}),
    );
    expect(error).toMatchObject({ code: 'timeout', vendorCode: 'queued' });
    expect(lookups(emulator)).toHaveLength(1);
  });

  it('stops waiting when the caller aborts', async () => {
    fakeTime();
    const emulator = clearbitEmulator({ queuedShare: 1, indexDelayMs: 600_000 });
    mount(emulator);
    const provider = createClearbit({ apiKey: emulator.credentials.apiKey });
    const controller = new AbortController();
    const caught = rejectionOf(
      provider.doEnrich(
        { leadId: 'l1', input: { email: knownPerson(emulator).email }, fields: [] },
        { signal: controller.signal },
      ),
    );
    await vi.advanceTimersByTimeAsync(1_000);
    controller.abort();
    expect(await caught).toMatchObject({ code: 'aborted' });
    expect(lookups(emulator)).toHaveLength(1);
  });
});

describe('mode stream', () => {
  it('uses the streaming host, which holds the connection until the record is ready', async () => {
    fakeTime();
    const emulator = clearbitEmulator({ queuedShare: 1, indexDelayMs: 45_000 });
    mount(emulator);
    const person = knownPerson(emulator);
    const seen: string[] = [];
    const provider = createClearbit({
      apiKey: emulator.credentials.apiKey,
      mode: 'stream',
      fetch: (input, init) => {
        seen.push(String(input instanceof Request ? input.url : input));
        return fetch(input, init);
      },
    });
    const pending = provider.doEnrich(
      { leadId: 'l1', input: { email: person.email }, fields: ['title'] },
      {},
    );
    // 45 s is past the 10 s timeout of the other modes: only the streaming timeout lets it finish.
    await vi.advanceTimersByTimeAsync(45_000);
    expect(await pending).toMatchObject({ status: 'matched' });
    expect(seen).toHaveLength(1);
    expect(new URL(seen[0]!).origin).toBe('https://person-stream.clearbit.com');
    expect(lookups(emulator).map((request) => [request.path, request.status])).toEqual([
      ['/stream/v2/combined/find', 200],
    ]);
  });

  it('looks companies up on the company streaming host', async () => {
    const emulator = clearbitEmulator();
    mount(emulator);
    const company = emulator.truth.companyOf(knownPerson(emulator));
    const seen: string[] = [];
    const provider = createClearbit({
      apiKey: emulator.credentials.apiKey,
      mode: 'stream',
      fetch: (input, init) => {
        seen.push(String(input instanceof Request ? input.url : input));
        return fetch(input, init);
      },
    });
    await provider.doEnrich({ leadId: 'l1', input: { 'company.domain': company.domain }, fields: [] }, {});
    expect(new URL(seen[0]!).origin).toBe('https://company-stream.clearbit.com');
  });

  it('gives up with a retryable timeout when the stream ends in a 202', async () => {
    fakeTime();
    const emulator = clearbitEmulator({ queuedShare: 1, indexDelayMs: 600_000, streamTimeoutMs: 60_000 });
    mount(emulator);
    const provider = createClearbit({ apiKey: emulator.credentials.apiKey, mode: 'stream' });
    const caught = rejectionOf(
      provider.doEnrich({ leadId: 'l1', input: { email: knownPerson(emulator).email }, fields: [] }, {}),
    );
    await vi.advanceTimersByTimeAsync(60_000);
    expect(await caught).toMatchObject({
      code: 'timeout',
      status: 202,
      vendorCode: 'queued',
      isRetryable: true,
    });
    expect(lookups(emulator)).toHaveLength(1);
  });

  it('times out with streamTimeoutMs when the stream is held longer', async () => {
    fakeTime();
    const emulator = clearbitEmulator({ queuedShare: 1, indexDelayMs: 600_000 });
    mount(emulator);
    const provider = createClearbit({
      apiKey: emulator.credentials.apiKey,
      mode: 'stream',
      streamTimeoutMs: 20_000,
    });
    const caught = rejectionOf(
      provider.doEnrich({ leadId: 'l1', input: { email: knownPerson(emulator).email }, fields: [] }, {}),
    );
    await vi.advanceTimersByTimeAsync(20_000);
    const error = await caught;
    expect(error).toMatchObject({ code: 'timeout', status: undefined });
    await vi.advanceTimersByTimeAsync(60_000);
  });
});

function toInbound(request: Request, rawBody: string): InboundWebhookRequest {
  return { method: request.method, url: request.url, headers: request.headers, rawBody };
}

describe('mode webhook', () => {
  it('answers pending with a webhook_id and resolves through engine.handleWebhook', async () => {
    fakeTime();
    const emulator = clearbitEmulator({ queuedShare: 1, indexDelayMs: 30_000 });
    mount(emulator);
    const person = knownPerson(emulator);
    const provider = createClearbit({
      apiKey: emulator.credentials.apiKey,
      mode: 'webhook',
      webhookUrl: HOOK_URL,
    });
    const engine = createEnrichmentEngine({ providers: [provider], pendingTimeoutMs: 300_000 });
    const replies: number[] = [];
    server.use(
      http.post(HOOK_URL, async ({ request }) => {
        const reply = await engine.handleWebhook('clearbit', toInbound(request, await request.text()));
        replies.push(reply.status);
        return new HttpResponse(reply.body, { status: reply.status });
      }),
    );
    const pendingIds: string[] = [];
    engine.on('provider.pending', (event) => pendingIds.push(event.correlationId));
    const outcomePromise = engine.enrich(createLead({ email: person.email }), {
      fields: ['title', 'company.name'],
    });
    await vi.advanceTimersByTimeAsync(29_000);
    expect(pendingIds).toHaveLength(1);
    const [request] = lookups(emulator);
    expect(request?.status).toBe(202);
    expect(request?.query).toMatchObject({ webhook_url: HOOK_URL, webhook_id: pendingIds[0] });
    const outcome = await settle(outcomePromise, tick);
    expect(replies).toEqual([200]);
    expect(outcome.status).toBe('enriched');
    expect(outcome.lead.title).toBe(emulator.emulator.view.person(person)?.title);
    expect(outcome.credits).toBe(1);
    const sent = emulator.emulator.webhooks.sent();
    expect(sent).toHaveLength(1);
    expect(JSON.parse(sent[0]!.body)).toMatchObject({ id: pendingIds[0], status: 200 });
    await settle(engine.close(), tick);
  });

  it('answers at once when Clearbit already has the record', async () => {
    const emulator = clearbitEmulator({ queuedShare: 0 });
    mount(emulator);
    const provider = createClearbit({
      apiKey: emulator.credentials.apiKey,
      mode: 'webhook',
      webhookUrl: HOOK_URL,
    });
    const result = await provider.doEnrich(
      { leadId: 'l1', input: { email: knownPerson(emulator).email }, fields: [] },
      {},
    );
    expect(result).toMatchObject({ status: 'matched', credits: 1 });
  });

  it('rejects a tampered webhook with 401 and leaves the lookup pending', async () => {
    fakeTime();
    const emulator = clearbitEmulator({ queuedShare: 1, indexDelayMs: 30_000 });
    mount(emulator);
    const person = knownPerson(emulator);
    const provider = createClearbit({
      apiKey: emulator.credentials.apiKey,
      mode: 'webhook',
      webhookUrl: HOOK_URL,
    });
    const engine = createEnrichmentEngine({ providers: [provider], pendingTimeoutMs: 60_000 });
    const replies: number[] = [];
    server.use(
      http.post(HOOK_URL, async ({ request }) => {
        const raw = (await request.text()).replace('"status":200', '"status":404');
        const reply = await engine.handleWebhook('clearbit', toInbound(request, raw));
        replies.push(reply.status);
        return new HttpResponse(reply.body, { status: reply.status });
      }),
    );
    const outcomePromise = engine.enrich(createLead({ email: person.email }), { fields: ['title'] });
    const outcome = await settle(outcomePromise, tick);
    expect(replies[0]).toBe(401);
    expect(outcome.attempts[0]).toMatchObject({ outcome: 'pending_timeout' });
    expect(outcome.lead.title).toBeUndefined();
    await settle(engine.close(), tick);
  });
});

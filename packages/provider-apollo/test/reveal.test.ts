import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createEnrichmentEngine,
  createLead,
  type EnrichmentEngine,
  type EnrichmentOutcome,
  type InboundWebhookRequest,
  WebhookVerificationError,
} from '@leadpipe/core';
import { normalizePhone } from '@leadpipe/core/adapter-kit';
import type { EmulatorClock } from '@leadpipe/testkit';
import { startEmulatorBackend } from '@leadpipe/testkit';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { type ApolloProvider, type ApolloRevealSettings, createApollo } from '../src/index.js';

// The host's webhook route (plain node:http): whatever engine is current answers it.
let engine: EnrichmentEngine | undefined;
const received: InboundWebhookRequest[] = [];
const receiverServer = createServer((incoming, outgoing) => {
  const chunks: Buffer[] = [];
  incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
  incoming.on('end', async () => {
    const request: InboundWebhookRequest = {
      method: incoming.method ?? 'POST',
      url: incoming.url ?? '/',
      headers: incoming.headers,
      rawBody: Buffer.concat(chunks).toString('utf8'),
    };
    received.push(request);
    const answer =
      engine === undefined ? { status: 503, body: '' } : await engine.handleWebhook('apollo', request);
    outgoing.writeHead(answer.status).end(answer.body ?? '');
  });
});
await new Promise<void>((resolve) => receiverServer.listen(0, '127.0.0.1', resolve));
const webhookUrl = `http://127.0.0.1:${(receiverServer.address() as AddressInfo).port}/hooks/apollo`;

const server = await startEmulatorBackend('apollo', { options: { webhookDelayMs: 5 } });
const view = server.emulator.emulator.view;
const withPhone = server.emulator.truth.people.filter((person) => {
  const fields = view.person(person);
  if (fields?.phone === undefined || fields.title === undefined || fields.email !== person.email)
    return false;
  try {
    return normalizePhone(fields.phone) === fields.phone;
  } catch {
    return false;
  }
});

const providers: ApolloProvider[] = [];
const apolloWith = (
  reveal: Omit<ApolloRevealSettings, 'webhookUrl'> & { webhookUrl?: string },
  baseUrl = server.urls.apiUrl,
  apiKey = server.credentials.apiKey,
) => {
  const provider = createApollo({ apiKey, baseUrl, reveal: { webhookUrl, ...reveal } });
  providers.push(provider);
  return provider;
};

afterEach(async () => {
  await engine?.close();
  engine = undefined;
  for (const provider of providers.splice(0)) provider.close();
  // Reset first: it cancels the webhooks still on their way, so none lands in the next test.
  server.emulator.reset();
  received.length = 0;
});
afterAll(async () => {
  await server.close();
  await new Promise<void>((resolve) => receiverServer.close(() => resolve()));
});

describe('phone reveal through the webhook', () => {
  it('resolves a pending lookup through engine.handleWebhook with the person and the phone, 1 + 8 credits', async () => {
    const person = withPhone[0]!;
    const apollo = apolloWith({});
    expect(apollo.capabilities.lookups[0]?.supplies).toContain('phone');
    engine = createEnrichmentEngine({
      providers: [apollo],
      fields: ['title', 'phone'],
      pendingTimeoutMs: 20_000,
    });
    const outcome = await engine.enrich(createLead({ email: person.email }));
    expect(outcome.lead.phone).toBe(view.person(person)!.phone);
    expect(outcome.lead.title).toBe(view.person(person)!.title);
    expect(outcome.lead.provenance.phone).toMatchObject({ providerId: 'apollo', confidence: 0.9 });
    expect(outcome.credits).toBe(9);
    expect(apollo.pendingCount()).toBe(0);
    const [call] = server.emulator.requests.find('POST', '/api/v1/people/match');
    expect(call?.query.reveal_phone_number).toBe('true');
    expect(received).toHaveLength(1);
  });

  it('sends no reveal when the phone is not wanted', async () => {
    const person = withPhone[1]!;
    engine = createEnrichmentEngine({ providers: [apolloWith({})], fields: ['title'] });
    const outcome = await engine.enrich(createLead({ email: person.email }));
    expect(outcome.lead.title).toBe(view.person(person)!.title);
    expect(
      server.emulator.requests.find('POST', '/api/v1/people/match')[0]?.query.reveal_phone_number,
    ).toBeUndefined();
  });

  it('handles the waterfall variant: emails by webhook, bulk answers without credits_consumed', async () => {
    const people = withPhone.slice(2, 4);
    const apollo = apolloWith({ phone: false, waterfallEmail: true });
    engine = createEnrichmentEngine({
      providers: [apollo],
      fields: ['email', 'title'],
      pendingTimeoutMs: 20_000,
    });
    const outcomes: EnrichmentOutcome[] = [];
    for await (const outcome of engine.enrichMany(
      people.map((person) => createLead({ linkedinUrl: person.linkedinUrl })),
    )) {
      outcomes.push(outcome);
    }
    const byLinkedin = new Map(outcomes.map((outcome) => [outcome.lead.linkedinUrl, outcome]));
    for (const person of people) {
      const outcome = byLinkedin.get(person.linkedinUrl)!;
      expect(outcome.lead.email).toBe(person.email);
      expect(outcome.lead.title).toBe(view.person(person)!.title);
      // credits_consumed is absent in waterfall answers: one credit per match from the price list.
      expect(outcome.credits).toBe(1);
    }
    const [bulk] = server.emulator.requests.find('POST', '/api/v1/people/bulk_match');
    expect(bulk?.query.run_waterfall_email).toBe('true');
    expect(JSON.parse(bulk!.body)).not.toHaveProperty('credits_consumed');
  });
});

describe('webhook verification', () => {
  const payload =
    '{"status":"success","request_id":-4611686018427387905,"people":[{"id":"abc","status":"success","phone_numbers":[{"sanitized_number":"+14155550100","status_cd":"valid_number","confidence_cd":"high"}]}]}';

  const rejection = async (apollo: ApolloProvider, url: string, rawBody = payload) =>
    apollo.doHandleWebhook({ method: 'POST', url, headers: {}, rawBody }).then(
      () => undefined,
      (error: unknown) => error,
    );

  it('refuses webhooks without the token, with a wrong one, or with a garbage body', async () => {
    const apollo = apolloWith({ webhookToken: 'a-token-of-at-least-16-chars' });
    const missing = await rejection(apollo, '/hooks/apollo');
    expect(WebhookVerificationError.isInstance(missing) && missing.code).toBe('signature_missing');
    const wrong = await rejection(apollo, '/hooks/apollo?leadpipe_token=not-the-token-at-all');
    expect(WebhookVerificationError.isInstance(wrong) && wrong.code).toBe('signature_invalid');
    const garbage = await rejection(
      apollo,
      '/hooks/apollo?leadpipe_token=a-token-of-at-least-16-chars',
      '{"people":',
    );
    expect(WebhookVerificationError.isInstance(garbage) && garbage.code).toBe('payload_invalid');
    expect(JSON.stringify([missing, wrong, garbage])).not.toContain('a-token-of-at-least-16-chars');
  });

  it('refuses a body over the cap (default 1 MiB) before parsing it, even with the right token', async () => {
    const url = '/hooks/apollo?leadpipe_token=a-token-of-at-least-16-chars';
    const apollo = apolloWith({ webhookToken: 'a-token-of-at-least-16-chars' });
    const big = `${payload.slice(0, -1)}${' '.repeat(1_048_576)}}`;
    const refused = await rejection(apollo, url, big);
    expect(WebhookVerificationError.isInstance(refused) && refused.code).toBe('payload_too_large');
    const roomy = apolloWith({ webhookToken: 'a-token-of-at-least-16-chars', maxBodyBytes: 2_000_000 });
    const parsed = await rejection(roomy, url, big);
    expect(parsed).toBeUndefined();
  });

  it('answers a forged webhook with 401 through the engine', async () => {
    engine = createEnrichmentEngine({ providers: [apolloWith({})] });
    const answer = await engine.handleWebhook('apollo', {
      method: 'POST',
      url: '/hooks/apollo?leadpipe_token=forged-forged-forged',
      headers: {},
      rawBody: payload,
    });
    expect(answer.status).toBe(401);
  });

  it('resolves a webhook for a lookup another process started: the phone, keyed by the exact request_id', async () => {
    const apollo = apolloWith({ webhookToken: 'shared-token-between-processes' });
    const resolutions = await apollo.doHandleWebhook({
      method: 'POST',
      url: '/hooks/apollo?leadpipe_token=shared-token-between-processes',
      headers: {},
      rawBody: new TextEncoder().encode(payload),
    });
    expect(resolutions).toEqual([
      {
        correlationId: '-4611686018427387905:abc',
        result: expect.objectContaining({ status: 'matched', fields: { phone: '+14155550100' }, credits: 8 }),
      },
    ]);
  });

  it('matches a single-person webhook to its lookup even when the person id differs', async () => {
    const person = withPhone[6]!;
    const apollo = apolloWith({ webhookToken: 'another-token-for-this-test' });
    const pendingResult = await apollo.doEnrich(
      { leadId: 'l', input: { email: person.email }, fields: ['phone', 'title'] },
      {},
    );
    expect(pendingResult.status).toBe('pending');
    const correlationId = pendingResult.status === 'pending' ? pendingResult.correlationId : '';
    const requestId = correlationId.slice(0, correlationId.lastIndexOf(':'));
    const [resolution] = await apollo.doHandleWebhook({
      method: 'POST',
      url: '/hooks/apollo?leadpipe_token=another-token-for-this-test',
      headers: {},
      rawBody: `{"request_id":${requestId},"people":[{"id":"some-other-id","phone_numbers":[{"sanitized_number":"+14155550123"}]}]}`,
    });
    expect(resolution?.correlationId).toBe(correlationId);
    expect(resolution?.result).toMatchObject({
      status: 'matched',
      fields: { phone: '+14155550123', title: view.person(person)!.title },
    });
    expect(apollo.pendingCount()).toBe(0);
  });

  it('keeps at most maxPending lookups waiting, dropping the oldest', async () => {
    const apollo = apolloWith({ maxPending: 1 });
    for (const person of withPhone.slice(7, 9)) {
      const result = await apollo.doEnrich(
        { leadId: person.id, input: { email: person.email }, fields: ['phone'] },
        {},
      );
      expect(result.status).toBe('pending');
    }
    expect(apollo.pendingCount()).toBe(1);
  });

  it('a provider without reveal settings accepts no webhook', async () => {
    const plain = createApollo({ apiKey: server.credentials.apiKey, baseUrl: server.urls.apiUrl });
    const error = await rejection(plain, '/hooks/apollo?leadpipe_token=x');
    expect(WebhookVerificationError.isInstance(error) && error.code).toBe('payload_invalid');
  });
});

describe('polling webhook_result when the webhook does not come', () => {
  it('polls while the result is pending, then delivers it through the engine', async () => {
    let now = Date.UTC(2026, 0, 1);
    const clock: EmulatorClock = {
      timeScale: 1,
      now: () => now,
      toRealMs: (ms) => ms,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    };
    // The webhook would only be sent after 10^9 ms: the poll has to find the result.
    const slow = await startEmulatorBackend('apollo', { clock, options: { webhookDelayMs: 1e9 } });
    try {
      const person = withPhone[4]!;
      const apollo = apolloWith(
        {
          poll: { deliver: (request) => engine?.handleWebhook('apollo', request), afterMs: 1, intervalMs: 5 },
        },
        slow.urls.apiUrl,
        slow.credentials.apiKey,
      );
      engine = createEnrichmentEngine({ providers: [apollo], fields: ['phone'], pendingTimeoutMs: 20_000 });
      const outcome = engine.enrich(createLead({ email: person.email }));
      // Generous: on a loaded machine the first poll can take more than vi.waitFor's default second.
      await vi.waitFor(
        () => {
          const polls = slow.emulator.requests.find('GET', '/api/v1/webhook_result');
          expect(polls.some((poll) => poll.status === 404)).toBe(true);
        },
        { timeout: 10_000 },
      );
      now += 2e9;
      const done = await outcome;
      expect(done.lead.phone).toBe(view.person(person)!.phone);
      const polls = slow.emulator.requests.find('GET', '/api/v1/webhook_result');
      expect(polls.at(-1)?.status).toBe(200);
      // The answer came by the poll: this emulator's webhook is still waiting for its time.
      expect(slow.emulator.emulator.webhooks.sent()).toHaveLength(0);
      expect(slow.emulator.emulator.webhooks.pending()).toBe(1);
      const settled = polls.length;
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(slow.emulator.requests.find('GET', '/api/v1/webhook_result')).toHaveLength(settled);
    } finally {
      await slow.close();
    }
  });

  it('stops polling when Apollo says the request is unknown or expired', async () => {
    let now = Date.UTC(2026, 0, 1);
    const clock: EmulatorClock = {
      timeScale: 1,
      now: () => now,
      toRealMs: (ms) => ms,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    };
    const slow = await startEmulatorBackend('apollo', { clock, options: { webhookDelayMs: 1e9 } });
    try {
      const delivered: InboundWebhookRequest[] = [];
      const apollo = apolloWith(
        { poll: { deliver: (request) => delivered.push(request), afterMs: 1, intervalMs: 5 } },
        slow.urls.apiUrl,
        slow.credentials.apiKey,
      );
      const result = await apollo.doEnrich(
        { leadId: 'l', input: { email: withPhone[5]!.email }, fields: ['phone'] },
        {},
      );
      expect(result.status).toBe('pending');
      now += 31 * 24 * 3600 * 1000;
      await vi.waitFor(
        () => {
          expect(slow.emulator.requests.find('GET', '/api/v1/webhook_result').at(-1)?.status).toBe(410);
        },
        { timeout: 10_000 },
      );
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(slow.emulator.requests.find('GET', '/api/v1/webhook_result')).toHaveLength(1);
      expect(delivered).toHaveLength(0);
    } finally {
      await slow.close();
    }
  });
});

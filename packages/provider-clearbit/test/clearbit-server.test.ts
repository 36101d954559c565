import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEnrichmentEngine, createLead } from '@leadpipe/core';
import {
  type EmulatorInstance,
  FAULT_KINDS,
  type FaultKind,
  type RunningEmulators,
  startEmulators,
  toMswHandlers,
} from '@leadpipe/testkit';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ClearbitProviderSettings, createClearbit } from '../src/index.js';
import { clearbitEmulator, knownPerson, rejectionOf, TRUTH } from './support.js';

let running: RunningEmulators;
let served: EmulatorInstance<'clearbit'>;
const mocked = clearbitEmulator();
const msw = setupServer(...toMswHandlers([mocked]));

beforeAll(async () => {
  running = await startEmulators({
    vendors: ['clearbit'],
    seed: TRUTH.seed,
    truth: TRUTH,
    timeScale: 100,
    vendorOptions: { clearbit: { queuedShare: 0 } },
  });
  served = running.emulators.clearbit!;
  msw.listen({ onUnhandledRequest: 'bypass' });
});
afterAll(async () => {
  msw.close();
  await running.close();
});
beforeEach(() => {
  served.faults.clear();
  mocked.faults.clear();
});

interface Transport {
  readonly name: string;
  readonly emulator: () => EmulatorInstance<'clearbit'>;
  readonly settings: () => ClearbitProviderSettings;
}

const transports: readonly Transport[] = [
  {
    name: 'real HTTP server',
    emulator: () => served,
    settings: () => ({
      apiKey: served.credentials.apiKey,
      baseUrl: running.urls.clearbit!.baseUrl,
      streamBaseUrl: running.urls.clearbit!.streamUrl,
    }),
  },
  { name: 'msw', emulator: () => mocked, settings: () => ({ apiKey: mocked.credentials.apiKey }) },
];

const expectations: Record<FaultKind, { code: string; isRetryable: boolean; status?: number }> = {
  serverError: { code: 'server_error', isRetryable: true },
  rateLimited: { code: 'rate_limited', isRetryable: true, status: 429 },
  hang: { code: 'timeout', isRetryable: true },
  connectionReset: { code: 'network_error', isRetryable: true },
  malformedJson: { code: 'invalid_response', isRetryable: true, status: 200 },
  expiredToken: { code: 'unauthorized', isRetryable: false, status: 401 },
};

describe.each(transports)('over $name', (transport) => {
  it('finds a person and then a company', async () => {
    const emulator = transport.emulator();
    const person = knownPerson(emulator);
    const provider = createClearbit(transport.settings());
    expect(
      await provider.doEnrich({ leadId: 'l1', input: { email: person.email }, fields: ['title'] }, {}),
    ).toMatchObject({ status: 'matched', fields: { title: emulator.emulator.view.person(person)?.title } });
    const domain = emulator.truth.companyOf(person).domain;
    expect(
      await provider.doEnrich({ leadId: 'l1', input: { 'company.domain': domain }, fields: [] }, {}),
    ).toMatchObject({ status: 'matched', fields: { 'company.domain': domain } });
  });

  it('covers every fault the emulator can inject', () => {
    expect(Object.keys(expectations).sort()).toEqual([...FAULT_KINDS].sort());
  });

  it.each(FAULT_KINDS)('maps the injected fault %s to its error code', async (kind) => {
    const emulator = transport.emulator();
    emulator.faults.configure({ rateLimitBurst: { rate: 0, retryAfterSeconds: 7 }, hangMs: 60_000 });
    emulator.faults.queue(kind);
    const provider = createClearbit({ ...transport.settings(), timeoutMs: kind === 'hang' ? 150 : 10_000 });
    const error = await rejectionOf(
      provider.doEnrich({ leadId: 'l1', input: { email: knownPerson(emulator).email }, fields: [] }, {}),
    );
    const expected = expectations[kind];
    expect(error).toMatchObject({ code: expected.code, isRetryable: expected.isRetryable });
    if (expected.status !== undefined) expect(error.status).toBe(expected.status);
    if (kind === 'rateLimited') expect(error.retryAfterMs).toBe(7_000);
    expect(JSON.stringify(error.toJSON())).not.toContain(emulator.credentials.apiKey!);
    // The next request is served normally again.
    expect(
      await provider.doEnrich(
        { leadId: 'l1', input: { email: knownPerson(emulator).email }, fields: [] },
        {},
      ),
    ).toMatchObject({ status: 'matched' });
  });

  it('times out when injected latency exceeds timeoutMs, and succeeds under it', async () => {
    const emulator = transport.emulator();
    const provider = createClearbit({ ...transport.settings(), timeoutMs: 100 });
    const input = { email: knownPerson(emulator).email };
    // 60 s emulated is 600 ms real on the server (time scale 100), 60 s real under msw: both past 100 ms.
    emulator.faults.configure({ latencyMs: 60_000 });
    expect(await rejectionOf(provider.doEnrich({ leadId: 'l1', input, fields: [] }, {}))).toMatchObject({
      code: 'timeout',
    });
    emulator.faults.configure({ latencyMs: 0 });
    expect(await provider.doEnrich({ leadId: 'l1', input, fields: [] }, {})).toMatchObject({
      status: 'matched',
    });
  });
});

describe('queued lookups over the real HTTP server', () => {
  let receiver: Server;
  let receiverUrl: string;
  let onWebhook: (request: {
    headers: Record<string, string | string[] | undefined>;
    body: string;
  }) => Promise<number>;

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        onWebhook({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') }).then(
          (status) => response.writeHead(status).end(),
          () => response.writeHead(500).end(),
        );
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/clearbit`;
  });
  afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

  it('webhook mode resolves through a real signed webhook delivered to the host', async () => {
    const queued = await startEmulators({
      vendors: ['clearbit'],
      seed: TRUTH.seed,
      truth: TRUTH,
      timeScale: 1_000,
      vendorOptions: { clearbit: { queuedShare: 1, indexDelayMs: 20_000 } },
    });
    try {
      const emulator = queued.emulators.clearbit!;
      const provider = createClearbit({
        apiKey: emulator.credentials.apiKey,
        mode: 'webhook',
        webhookUrl: receiverUrl,
        baseUrl: queued.urls.clearbit!.baseUrl,
      });
      const engine = createEnrichmentEngine({ providers: [provider] });
      onWebhook = async ({ headers, body }) =>
        (await engine.handleWebhook('clearbit', { method: 'POST', url: receiverUrl, headers, rawBody: body }))
          .status;
      const person = knownPerson(emulator);
      const outcome = await engine.enrich(createLead({ email: person.email }), { fields: ['title'] });
      expect(outcome.status).toBe('enriched');
      expect(outcome.lead.title).toBe(emulator.emulator.view.person(person)?.title);
      await emulator.emulator.webhooks.idle();
      expect(emulator.emulator.webhooks.sent().map((sent) => sent.status)).toEqual([200]);
      await engine.close();
    } finally {
      await queued.close();
    }
  });
});

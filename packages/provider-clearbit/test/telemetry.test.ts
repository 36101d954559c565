import { createEnrichmentEngine, createLead, type LeadpipeLogger } from '@leadpipe/core';
import {
  type CapturedTelemetry,
  captureTelemetry,
  type EmulatorInstance,
  type RunningEmulators,
  startEmulators,
} from '@leadpipe/testkit';
import { SpanStatusCode } from '@opentelemetry/api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createClearbit } from '../src/index.js';
import { knownPerson, TRUTH } from './support.js';

let telemetry: CapturedTelemetry;
let running: RunningEmulators;
let served: EmulatorInstance<'clearbit'>;

beforeAll(async () => {
  telemetry = captureTelemetry();
  running = await startEmulators({ vendors: ['clearbit'], seed: TRUTH.seed, truth: TRUTH, timeScale: 100 });
  served = running.emulators.clearbit!;
});
afterAll(async () => {
  await running.close();
  telemetry.uninstall();
});

it('traces Clearbit calls over HTTP, counts its 429s and credits, and never records the API key', async () => {
  const lines: unknown[] = [];
  const log = (level: string) => (context: object, message?: string) =>
    lines.push({ level, context, message });
  const logger: LeadpipeLogger = {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
  };
  const apiKey = served.credentials.apiKey!;
  const engine = createEnrichmentEngine({
    providers: [
      createClearbit({
        apiKey,
        baseUrl: running.urls.clearbit!.baseUrl,
        streamBaseUrl: running.urls.clearbit!.streamUrl,
      }),
    ],
    fields: ['title'],
    retry: { retries: 0 },
    logger,
  });
  served.faults.configure({ rateLimitBurst: { rate: 0, retryAfterSeconds: 0 } });
  served.faults.queue('rateLimited');
  const outcome = await engine.enrich(createLead({ email: knownPerson(served).email }));
  served.faults.queue('expiredToken');
  await engine.enrich(createLead({ email: knownPerson(served, 1).email }));
  await engine.close();
  expect(outcome.status).toBe('enriched');

  const spans = telemetry.spans();
  const calls = spans.filter((span) => span.name === 'leadpipe.provider.enrich');
  expect(calls.map((span) => span.attributes['error.type'] ?? 'ok')).toEqual(
    expect.arrayContaining(['rate_limited', 'ok', 'unauthorized']),
  );
  expect(calls.find((span) => span.attributes['error.type'] === 'unauthorized')?.status).toEqual({
    code: SpanStatusCode.ERROR,
    message: 'unauthorized',
  });
  for (const call of calls) expect(call.attributes['leadpipe.provider']).toBe('clearbit');
  const http = spans.filter((span) => span.name === 'GET');
  expect(http.map((span) => span.attributes['http.response.status_code'])).toEqual(
    expect.arrayContaining([429, 200, 401]),
  );
  expect(http[0]?.attributes).toMatchObject({ 'leadpipe.vendor': 'clearbit', 'server.address': '127.0.0.1' });

  const collected = await telemetry.metrics();
  const byName = (name: string) => collected.find((metric) => metric.descriptor.name === name);
  expect(byName('leadpipe.rate_limited')?.dataPoints.map((point) => [point.attributes, point.value])).toEqual(
    [[{ 'leadpipe.vendor': 'clearbit' }, 1]],
  );
  expect(byName('leadpipe.credits')?.dataPoints[0]?.value).toBeGreaterThan(0);

  const everything = JSON.stringify({
    spans: spans.map((span) => ({
      name: span.name,
      attributes: span.attributes,
      status: span.status,
      events: span.events,
    })),
    metrics: collected,
    lines,
  });
  expect(lines.length).toBeGreaterThan(0);
  expect(everything).not.toContain(apiKey);
});

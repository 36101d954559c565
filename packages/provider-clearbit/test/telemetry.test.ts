import { createEnrichmentEngine, createLead, type LeadpipeLogger } from '@leadpipe/core';
import { type EmulatorInstance, type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import { metrics, SpanStatusCode, trace } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createClearbit } from '../src/index.js';
import { knownPerson, TRUTH } from './support.js';

/** A metric reader that collects when asked. */
class CollectingReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

const exporter = new InMemorySpanExporter();
const reader = new CollectingReader();
let running: RunningEmulators;
let served: EmulatorInstance<'clearbit'>;

beforeAll(async () => {
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
  );
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  running = await startEmulators({ vendors: ['clearbit'], seed: TRUTH.seed, truth: TRUTH, timeScale: 100 });
  served = running.emulators.clearbit!;
});
afterAll(async () => {
  await running.close();
  trace.disable();
  metrics.disable();
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

  const spans = exporter.getFinishedSpans();
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

  const { resourceMetrics } = await reader.collect();
  const collected = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
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

import { createCrmSync, createLead, defineFieldMapping, type ErrorReportContext } from '@leadpipe/core';
import { type CapturedTelemetry, captureTelemetry } from '@leadpipe/testkit';
import { SpanStatusCode } from '@opentelemetry/api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHubspot } from '../src/index.js';
import { type HubspotFixture, startHubspot } from './support.js';

let telemetry: CapturedTelemetry;
let hub: HubspotFixture;

beforeAll(async () => {
  telemetry = captureTelemetry();
  hub = await startHubspot({ seed: 23, timeScale: 10 });
});
afterAll(async () => {
  await hub.close();
  telemetry.uninstall();
});

const contacts = defineFieldMapping({
  object: 'contacts',
  idProperty: { from: 'email', to: 'email' },
  fields: [{ from: 'firstName', to: 'firstname' }],
});

it('traces a HubSpot sync: the run, each batch upsert, each HTTP request; no token in spans, metrics or logs', async () => {
  const lines: unknown[] = [];
  const log = (level: string) => (context: object, message?: string) =>
    lines.push({ level, context, message });
  const reports: { error: Error; context: ErrorReportContext }[] = [];
  const adapter = createHubspot({
    accessToken: hub.token,
    baseUrl: hub.baseUrl,
    now: hub.now,
    rateLimits: { windowMs: 1_000 },
  });
  const sync = createCrmSync({
    crms: [{ adapter, mapping: contacts }],
    retry: { retries: 0, minTimeoutMs: 1, maxTimeoutMs: 1 },
    logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    onError: (error, context) => reports.push({ error, context }),
  });
  const leads = Array.from({ length: 150 }, (_, index) =>
    createLead({ email: `person${index}@otel.example`, firstName: `P${index}` }),
  );
  const report = await sync.sync(leads);
  expect(report.crms[0]).toMatchObject({ created: 150, deadLettered: 0 });
  // Expired twice in a row: the adapter's one renewal fails too, and with no retries left the record is dead-lettered.
  hub.instance.faults.queue('expiredToken');
  hub.instance.faults.queue('expiredToken');
  const failed = await sync.sync([createLead({ email: 'late@otel.example', firstName: 'Late' })]);
  expect(failed.crms[0]?.deadLettered).toBe(1);
  await sync.close();
  await adapter.close();

  const spans = telemetry.spans();
  const runs = spans.filter((span) => span.name === 'leadpipe.crm.sync');
  const upserts = spans.filter((span) => span.name === 'leadpipe.crm.upsert');
  expect(runs).toHaveLength(2);
  expect(runs[0]?.attributes).toMatchObject({ 'leadpipe.crm': 'hubspot', 'leadpipe.sync.written': 150 });
  expect(
    upserts
      .slice(0, 2)
      .map((span) => span.attributes['leadpipe.batch.size'])
      .sort(),
  ).toEqual([100, 50]);
  for (const upsert of upserts.slice(0, 2)) {
    expect(upsert.parentSpanContext?.spanId).toBe(runs[0]?.spanContext().spanId);
  }
  expect(upserts[2]?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'unauthorized' });
  expect(upserts[2]?.attributes['http.response.status_code']).toBe(401);
  const posts = spans.filter((span) => span.name === 'POST');
  expect(posts.map((span) => span.attributes['http.response.status_code'])).toEqual(
    expect.arrayContaining([200, 401]),
  );
  expect(reports.map((entry) => entry.context)).toEqual([
    { component: 'crm', code: 'unauthorized', adapterId: 'hubspot' },
  ]);

  const collected = await telemetry.metrics();
  const calls = collected.find((metric) => metric.descriptor.name === 'leadpipe.calls');
  expect(calls?.dataPoints.map((point) => [point.attributes, point.value])).toEqual(
    expect.arrayContaining([
      [{ 'leadpipe.call': 'crm', 'leadpipe.crm': 'hubspot', 'leadpipe.operation': 'upsert' }, 2],
    ]),
  );

  const everything = JSON.stringify({
    spans: spans.map((span) => ({
      name: span.name,
      attributes: span.attributes,
      status: span.status,
      events: span.events,
    })),
    metrics: collected,
    lines,
    reports: reports.map((entry) => ({ message: entry.error.message, json: entry.error })),
  });
  expect(lines.some((line) => JSON.stringify(line).includes('crm.recordDeadLettered'))).toBe(true);
  expect(everything).not.toContain(hub.token);
});

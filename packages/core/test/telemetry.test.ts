import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHttpClient, defineProvider, traceCall } from '../src/adapter-kit.js';
import {
  ConfigurationError,
  createEnrichmentEngine,
  createLead,
  createLeadPipeline,
  defineFieldMapping,
  type ErrorReportContext,
  LeadpipeError,
  observeQueueDepth,
  TELEMETRY_SCOPE,
  TELEMETRY_VERSION,
} from '../src/index.js';
import { closeCrmSyncs, FAST_RETRY, FakeCrm, lead, trackedCrmSync } from './crm-fixtures.js';
import {
  type CapturedTelemetry,
  installTelemetry,
  type LogLine,
  memoryLogger,
  points,
} from './telemetry-fixtures.js';

const API_KEY = 'sk_live_TELEMETRY_SECRET_4f9a2c';

/**
 * A vendor over real HTTP: `GET /people?email=…&api_key=…` with the key in
 * `x-api-key` as well. ada@ is found, busy@ answers 429 once then is found,
 * broken@ always answers 500 with the key echoed in the body, others 404.
 */
let server: Server;
let baseUrl: string;
const busySeen = new Set<string>();

beforeAll(async () => {
  server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://vendor');
    const email = url.searchParams.get('email') ?? '';
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': 'application/json', ...headers });
      response.end(JSON.stringify(body));
    };
    if (request.headers['x-api-key'] !== API_KEY) return send(401, { error: 'bad key' });
    if (email.startsWith('broken@')) return send(500, { error: `internal: key ${API_KEY} rejected` });
    if (email.startsWith('busy@') && !busySeen.has(email)) {
      busySeen.add(email);
      return send(429, { error: 'slow down' }, { 'retry-after': '0' });
    }
    if (email.startsWith('ada@') || email.startsWith('busy@')) return send(200, { title: 'CTO' });
    return send(404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

let telemetry: CapturedTelemetry;
beforeEach(() => {
  telemetry = installTelemetry();
});
afterEach(closeCrmSyncs);

function vendorProvider(id = 'vendor') {
  const http = createHttpClient({ providerId: id, baseUrl, headers: () => ({ 'x-api-key': API_KEY }) });
  return defineProvider({
    id,
    lookups: [{ requires: ['email'], supplies: ['title'] }],
    cost: { perRequest: 1, perMatch: 2 },
    async enrich(request, options) {
      const response = await http.request<{ title?: string }>({
        path: '/people',
        searchParams: { email: String(request.input.email), api_key: API_KEY },
        acceptStatus: [404],
        signal: options.signal,
        onRateLimit: options.onRateLimit,
      });
      return response.status === 404 ? null : { fields: { title: response.data.title ?? '' } };
    },
  });
}

function byName(spans: readonly ReadableSpan[], name: string): ReadableSpan[] {
  return spans.filter((span) => span.name === name);
}

function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

function reporter() {
  const reports: { error: Error; context: ErrorReportContext }[] = [];
  return {
    reports,
    onError: (error: Error, context: ErrorReportContext) => reports.push({ error, context }),
  };
}

describe('enrichment: spans and metrics over HTTP', () => {
  it('nests the HTTP request under the provider call under the lead, with standard attributes', async () => {
    const engine = createEnrichmentEngine({ providers: [vendorProvider()], fields: ['title'] });
    const outcome = await engine.enrich(createLead({ email: 'ada@acme.com' }));
    await engine.close();
    expect(outcome.status).toBe('enriched');

    const spans = telemetry.spans();
    const [leadSpan] = byName(spans, 'leadpipe.enrich');
    const [call] = byName(spans, 'leadpipe.provider.enrich');
    const [request] = byName(spans, 'GET');
    expect(leadSpan?.attributes).toMatchObject({ 'leadpipe.outcome': 'enriched', 'leadpipe.credits': 3 });
    expect(call?.kind).toBe(SpanKind.CLIENT);
    expect(call?.attributes).toMatchObject({
      'leadpipe.provider': 'vendor',
      'leadpipe.call': 'provider',
      'leadpipe.operation': 'enrich',
      'leadpipe.credits': 3,
      'leadpipe.outcome': 'matched',
    });
    expect(request?.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.response.status_code': 200,
      'server.address': '127.0.0.1',
      'leadpipe.vendor': 'vendor',
    });
    expect(parentOf(call as ReadableSpan)).toBe(leadSpan?.spanContext().spanId);
    expect(parentOf(request as ReadableSpan)).toBe(call?.spanContext().spanId);
    expect(call?.instrumentationScope).toMatchObject({ name: TELEMETRY_SCOPE, version: TELEMETRY_VERSION });
    expect(TELEMETRY_VERSION).toMatch(/^\d+\.\d+\.\d+/);

    expect(await points(telemetry, 'leadpipe.credits')).toEqual([
      { attributes: { 'leadpipe.provider': 'vendor' }, value: 3 },
    ]);
    expect(await points(telemetry, 'leadpipe.calls')).toEqual([
      {
        attributes: {
          'leadpipe.call': 'provider',
          'leadpipe.provider': 'vendor',
          'leadpipe.operation': 'enrich',
        },
        value: 1,
      },
    ]);
    const [duration] = await points(telemetry, 'leadpipe.call.duration');
    expect(duration?.value).toMatchObject({ count: 1 });
    const metric = (await telemetry.metrics()).find((m) => m.descriptor.name === 'leadpipe.call.duration');
    expect(metric?.descriptor.unit).toBe('ms');
  });

  it('counts a 429 and traces the retried call as a second provider span', async () => {
    const engine = createEnrichmentEngine({ providers: [vendorProvider('busy-vendor')], fields: ['title'] });
    const outcome = await engine.enrich(createLead({ email: 'busy@acme.com' }));
    await engine.close();
    expect(outcome.status).toBe('enriched');

    expect(await points(telemetry, 'leadpipe.rate_limited')).toEqual([
      { attributes: { 'leadpipe.vendor': 'busy-vendor' }, value: 1 },
    ]);
    const calls = byName(telemetry.spans(), 'leadpipe.provider.enrich');
    expect(calls.map((span) => span.attributes['error.type'] ?? 'ok')).toEqual(['rate_limited', 'ok']);
    expect(calls[0]?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'rate_limited' });
    expect(calls[0]?.attributes['http.response.status_code']).toBe(429);
    const statuses = byName(telemetry.spans(), 'GET').map(
      (span) => span.attributes['http.response.status_code'],
    );
    expect(statuses).toEqual([429, 200]);
  });

  it('marks a failed call with its error code, logs it and reports it, with no secret anywhere', async () => {
    const logger = memoryLogger();
    const { reports, onError } = reporter();
    const engine = createEnrichmentEngine({
      providers: [vendorProvider('flaky')],
      fields: ['title'],
      retry: { retries: 1, minTimeoutMs: 1, maxTimeoutMs: 1 },
      logger,
      onError,
    });
    const outcome = await engine.enrich(createLead({ email: 'broken@acme.com' }));
    await engine.close();
    expect(outcome.attempts[0]).toMatchObject({ outcome: 'failed', error: { code: 'server_error' } });

    const calls = byName(telemetry.spans(), 'leadpipe.provider.enrich');
    expect(calls).toHaveLength(2); // the first try and its one retry
    for (const span of calls) {
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'server_error' });
      expect(span.attributes).toMatchObject({
        'error.type': 'server_error',
        'http.response.status_code': 500,
      });
      expect(span.events).toEqual([]);
    }
    expect(await points(telemetry, 'leadpipe.calls')).toEqual([
      {
        attributes: {
          'leadpipe.call': 'provider',
          'leadpipe.provider': 'flaky',
          'leadpipe.operation': 'enrich',
          'error.type': 'server_error',
        },
        value: 2,
      },
    ]);

    expect(reports).toHaveLength(1);
    expect(LeadpipeError.isInstance(reports[0]?.error)).toBe(true);
    expect(reports[0]?.context).toMatchObject({
      component: 'enrich',
      code: 'server_error',
      providerId: 'flaky',
    });
    const failed = logger.lines.find((line) => line.context.event === 'provider.failed');
    expect(failed).toMatchObject({ level: 'warn', message: 'provider call failed' });
    expect(failed?.context).toMatchObject({ providerId: 'flaky', code: 'server_error' });
    expect(
      logger.lines.some((line) => line.level === 'debug' && line.context.event === 'provider.attempted'),
    ).toBe(true);

    const all = await telemetry.everything(
      logger.lines,
      reports.map((report) => ({ ...report, message: report.error.message, json: report.error })),
    );
    expect(all).toContain('server_error');
    expect(all).not.toContain(API_KEY);
    expect(all).not.toContain('api_key=');
    expect(all).not.toContain('broken@acme.com');
  });

  it('keeps running when the logger and the error hook throw', async () => {
    const throwing = () => {
      throw new Error('logger down');
    };
    const engine = createEnrichmentEngine({
      providers: [vendorProvider('loud')],
      fields: ['title'],
      retry: { retries: 0 },
      logger: { debug: throwing, info: throwing, warn: throwing, error: throwing },
      onError: throwing,
    });
    const outcomes = [
      await engine.enrich(createLead({ email: 'broken@acme.com' })),
      await engine.enrich(createLead({ email: 'ada@acme.com' })),
    ];
    await engine.close();
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['unchanged', 'enriched']);
  });

  it('refuses a logger that is not pino-shaped and an onError that is not a function, naming the field', () => {
    const attempt = (options: object) => {
      try {
        createEnrichmentEngine({ providers: [vendorProvider()], ...options });
      } catch (error) {
        return error;
      }
      return undefined;
    };
    const badLogger = attempt({ logger: { info: () => {} } });
    expect(ConfigurationError.isInstance(badLogger)).toBe(true);
    expect((badLogger as ConfigurationError).issues?.map((issue) => issue.field)).toEqual(['logger']);
    const badHook = attempt({ onError: 'sentry' });
    expect((badHook as ConfigurationError).issues?.map((issue) => issue.field)).toEqual(['onError']);
    expect(() =>
      trackedCrmSync({
        crms: [{ adapter: new FakeCrm('crm-x'), mapping: contacts }],
        logger: console as never,
      }),
    ).not.toThrow();
    expect(() =>
      trackedCrmSync({
        crms: [{ adapter: new FakeCrm('crm-y'), mapping: contacts }],
        logger: 'pino' as never,
      }),
    ).toThrow(/logger: must be a pino-compatible logger/);
  });
});

const contacts = defineFieldMapping({
  object: 'contacts',
  idProperty: { from: 'email', to: 'email' },
  fields: [{ from: 'firstName', to: 'firstname' }],
});

describe('CRM sync: spans, logs and error reports', () => {
  it('nests each batch call under the sync run, with the batch size and the run counts', async () => {
    const crm = new FakeCrm('crm-a', { maxBatchSize: 2 });
    const sync = trackedCrmSync({ crms: [{ adapter: crm, mapping: contacts }] });
    const report = await sync.sync(
      [1, 2, 3].map((n) => lead({ email: `p${n}@acme.com`, firstName: `P${n}` })),
    );
    expect(report.crms[0]?.created).toBe(3);

    const spans = telemetry.spans();
    const [run] = byName(spans, 'leadpipe.crm.sync');
    const batches = byName(spans, 'leadpipe.crm.upsert');
    expect(run?.attributes).toMatchObject({
      'leadpipe.crm': 'crm-a',
      'leadpipe.sync.inputs': 3,
      'leadpipe.sync.written': 3,
      'leadpipe.sync.dead_lettered': 0,
    });
    expect(batches.map((span) => span.attributes['leadpipe.batch.size']).sort()).toEqual([1, 2]);
    for (const batch of batches) {
      expect(parentOf(batch)).toBe(run?.spanContext().spanId);
      expect(batch.attributes).toMatchObject({ 'leadpipe.crm': 'crm-a', 'leadpipe.crm.object': 'contacts' });
    }
    expect(await points(telemetry, 'leadpipe.calls')).toEqual([
      {
        attributes: { 'leadpipe.call': 'crm', 'leadpipe.crm': 'crm-a', 'leadpipe.operation': 'upsert' },
        value: 2,
      },
    ]);
  });

  it('reports a CRM that fails for good, logs it down at error level, and keeps secrets out', async () => {
    const secret = 'pat-na1-CRM_TOKEN_SECRET_77aa';
    const crm = new FakeCrm('crm-down', {
      faults: {
        wholeCall: () =>
          new LeadpipeError('unauthorized', { message: 'the CRM refused the token', isRetryable: false }),
      },
    });
    const logger = memoryLogger();
    const { reports, onError } = reporter();
    const sync = trackedCrmSync({ crms: [{ adapter: crm, mapping: contacts }], logger, onError });
    await sync.sync([lead({ email: 'x@acme.com', firstName: secret.slice(0, 3) })]);

    const [batch] = byName(telemetry.spans(), 'leadpipe.crm.upsert');
    expect(batch?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'unauthorized' });
    expect(reports.map((report) => report.context)).toEqual([
      { component: 'crm', code: 'unauthorized', adapterId: 'crm-down' },
    ]);
    const down = logger.lines.find((line: LogLine) => line.context.event === 'crm.down');
    expect(down).toMatchObject({ level: 'error', message: 'CRM down for the rest of the run' });
    expect(logger.lines.some((line) => line.context.event === 'crm.recordDeadLettered')).toBe(true);
    expect(await telemetry.everything(logger.lines)).not.toContain(secret);
  });
});

describe('pipeline: one trace per run', () => {
  it('puts the leads and the CRM sync of a run under its span, logs start and finish', async () => {
    const logger = memoryLogger();
    const crm = new FakeCrm('crm-p');
    const pipeline = createLeadPipeline({
      enrichment: { providers: [vendorProvider('pipe-vendor')], fields: ['title'] },
      crms: [{ adapter: crm, mapping: contacts }],
      crmOptions: { retry: FAST_RETRY },
      logger,
    });
    const report = await pipeline.run([{ email: 'ada@acme.com' }, { email: 'nobody@acme.com' }]);
    await pipeline.close();
    expect(report.status).toBe('completed');

    const spans = telemetry.spans();
    const [run] = byName(spans, 'leadpipe.pipeline.run');
    expect(run?.attributes['leadpipe.outcome']).toBe('completed');
    const traceId = run?.spanContext().traceId;
    const leads = byName(spans, 'leadpipe.enrich');
    expect(leads).toHaveLength(2);
    for (const span of [
      ...leads,
      ...byName(spans, 'leadpipe.crm.sync'),
      ...byName(spans, 'leadpipe.crm.upsert'),
    ]) {
      expect(span.spanContext().traceId).toBe(traceId);
    }
    expect(logger.lines.filter((line) => line.level === 'info').map((line) => line.message)).toEqual([
      'pipeline run started',
      'pipeline run finished',
    ]);
    // The pipeline's logger reaches the engine and the CRM sync it builds.
    expect(logger.lines.some((line) => line.context.event === 'provider.matched')).toBe(true);
    expect(logger.lines.some((line) => line.context.event === 'crm.batchCompleted')).toBe(true);
  });
});

describe('traceCall for stores and queues', () => {
  it('names the span by kind and operation, times it, and rethrows a failure unchanged', async () => {
    const rows = await traceCall(
      {
        kind: 'store',
        vendor: 'postgres',
        operation: 'query',
        attributes: { 'db.system.name': 'postgresql' },
      },
      async () => [1, 2],
    );
    expect(rows).toEqual([1, 2]);
    const failure = new TypeError('connection refused');
    await expect(
      traceCall({ kind: 'queue', vendor: 'campaign-steps', operation: 'job' }, async () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    const [store, job] = telemetry.spans();
    expect(store?.name).toBe('leadpipe.store.query');
    expect(store?.attributes).toMatchObject({ 'leadpipe.store': 'postgres', 'db.system.name': 'postgresql' });
    expect(job?.name).toBe('leadpipe.queue.job');
    expect(job?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'TypeError' });
    expect(job?.attributes['leadpipe.queue']).toBe('campaign-steps');
    expect(
      (await points(telemetry, 'leadpipe.calls')).map((point) => point.attributes['leadpipe.call']),
    ).toEqual(['store', 'queue']);
  });
});

describe('observeQueueDepth', () => {
  it('reports the depth on each collection until stopped, skipping a failed read', async () => {
    let depth = 7;
    let reads = 0;
    const observation = observeQueueDepth({
      queue: 'campaign-steps',
      read: async () => {
        reads += 1;
        return depth;
      },
    });
    const failing = observeQueueDepth({
      queue: 'broken',
      read: () => {
        throw new Error('redis down');
      },
    });
    expect(await points(telemetry, 'leadpipe.queue.depth')).toEqual([
      { attributes: { 'leadpipe.queue': 'campaign-steps' }, value: 7 },
    ]);
    depth = 3;
    expect((await points(telemetry, 'leadpipe.queue.depth'))[0]?.value).toBe(3);
    observation.stop();
    failing.stop();
    depth = 99;
    await telemetry.metrics();
    expect(reads).toBe(2);
  });
});

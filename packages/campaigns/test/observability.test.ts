import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ConfigurationError,
  type CrmAdapterV1,
  createMemoryLeadStore,
  type ErrorReportContext,
  type LeadpipeLogger,
  type LeadStoreV1,
} from '@leadpipe/core';
import { createSendgrid, type SendgridProvider } from '@leadpipe/email-sendgrid';
import {
  type CapturedTelemetry,
  captureTelemetry,
  type RunningEmulators,
  startEmulators,
} from '@leadpipe/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type CampaignDefinition,
  type CampaignEngine,
  type CampaignEngineOptions,
  CampaignStepError,
  createCampaignEngine,
  createMemoryCampaignStore,
} from '../src/index.js';
import { leadOf } from './support.js';

/** `SpanStatusCode` of `@opentelemetry/api` (not a dependency of this package): UNSET 0, ERROR 2. */
const UNSET = 0;
const ERROR = 2;
const DAY = 86_400_000;
const T0 = Date.parse('2026-12-07T09:00:00Z');
const UNSUBSCRIBE_SECRET = 'unsubscribe-signing-secret-7f3a9c';
const WEBHOOK_SECRET = 'webhook-signing-secret-b81e44d2';
const sender = {
  email: 'sales@acme.example',
  name: 'Acme',
  postalAddress: 'Acme Inc, 1 Main St, Springfield',
};

/** Intro email, a two-day wait, a follow-up email. */
const drip: CampaignDefinition = {
  id: 'drip',
  triggers: [{ type: 'event', event: 'lead.created' }],
  steps: [
    {
      id: 'intro',
      type: 'email',
      template: { subject: 'Hi {{ first_name | default: "there" }}', text: 'Hello {{ first_name }}' },
    },
    { id: 'pause', type: 'wait', durationMs: 2 * DAY },
    { id: 'followup', type: 'email', template: { subject: 'Following up', text: 'Any thoughts?' } },
  ],
};

/** An email whose template names a variable no lead has: a template error for every enrollment. */
const broken: CampaignDefinition = {
  id: 'broken',
  triggers: [],
  steps: [{ id: 'oops', type: 'email', template: { subject: 'Hi {{ nickname }}', text: 'Hello' } }],
};

let telemetry: CapturedTelemetry;
let emulators: RunningEmulators;
let sendgrid: SendgridProvider;
let apiKey: string;
let webhookServer: Server;
let webhookUrl: string;

beforeAll(async () => {
  telemetry = captureTelemetry();
  emulators = await startEmulators({ vendors: ['sendgrid'], seed: 29 });
  apiKey = emulators.emulators.sendgrid!.emulator.credentials.apiKey;
  sendgrid = createSendgrid({ apiKey, baseUrl: emulators.urls.sendgrid?.baseUrl });
  webhookServer = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(200).end());
  });
  await new Promise<void>((resolve) => webhookServer.listen(0, '127.0.0.1', resolve));
  webhookUrl = `http://127.0.0.1:${(webhookServer.address() as AddressInfo).port}/hooks/lead`;
});
afterAll(async () => {
  await emulators.close();
  await new Promise((resolve) => webhookServer.close(resolve));
  telemetry.uninstall();
});

let engines: CampaignEngine[] = [];
afterEach(async () => {
  for (const engine of engines) await engine.close();
  engines = [];
});

interface LogLine {
  readonly level: keyof LeadpipeLogger;
  readonly context: Record<string, unknown>;
  readonly message: string;
}

/** A pino-shaped logger that keeps every line. */
function recordingLogger(): { logger: LeadpipeLogger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const method =
    (level: keyof LeadpipeLogger) =>
    (context: object, message?: string): void => {
      lines.push({ level, context: context as Record<string, unknown>, message: message ?? '' });
    };
  return {
    lines,
    logger: { debug: method('debug'), info: method('info'), warn: method('warn'), error: method('error') },
  };
}

interface Report {
  readonly error: Error;
  readonly context: ErrorReportContext;
}

function setup(campaigns: readonly CampaignDefinition[], extra: Partial<CampaignEngineOptions> = {}) {
  const clock = { t: T0 };
  const now = () => clock.t;
  const store = createMemoryCampaignStore();
  const leads: LeadStoreV1 = createMemoryLeadStore({ now });
  const engine = createCampaignEngine({
    campaigns,
    store,
    leads,
    email: sendgrid,
    senders: [sender],
    unsubscribe: { baseUrl: 'https://acme.example/unsubscribe', secret: UNSUBSCRIBE_SECRET },
    now,
    random: () => 0.5,
    retry: { retries: 1, minDelayMs: 1000, maxDelayMs: 10_000 },
    ...extra,
  });
  engines.push(engine);
  return { engine, store, leads, clock };
}

async function created(engine: CampaignEngine, leads: LeadStoreV1, index: number) {
  const lead = leadOf(index);
  await leads.upsert([lead]);
  await engine.handleLeadEvent({ type: 'lead.created', lead: (await leads.get(lead.id))! });
  return lead;
}

const newSpans = (before: number) => telemetry.spans().slice(before);

describe('campaign engine spans', () => {
  it('traces each wake-up as leadpipe.campaign.run with its steps as children and the SendGrid send under the email step', async () => {
    const { engine, leads, clock, store } = setup([drip]);
    const before = telemetry.spans().length;
    const lead = await created(engine, leads, 401);
    await engine.runDue();

    let spans = newSpans(before);
    const runs = spans.filter((span) => span.name === 'leadpipe.campaign.run');
    expect(runs).toHaveLength(1);
    const run = runs[0]!;
    expect(run.attributes).toMatchObject({
      'leadpipe.campaign.wake_up': 'enrollment',
      'leadpipe.campaign.id': 'drip',
      'leadpipe.campaign.steps': 2,
      'leadpipe.outcome': 'waiting',
    });
    expect(run.parentSpanContext).toBeUndefined();
    const steps = spans.filter((span) => span.name === 'leadpipe.campaign.step');
    expect(steps.map((span) => span.attributes)).toEqual([
      expect.objectContaining({
        'leadpipe.campaign.id': 'drip',
        'leadpipe.campaign.step.id': 'intro',
        'leadpipe.campaign.step.type': 'email',
        'leadpipe.campaign.step.attempt': 1,
        'leadpipe.outcome': 'ok',
      }),
      expect.objectContaining({
        'leadpipe.campaign.step.id': 'pause',
        'leadpipe.campaign.step.type': 'wait',
        'leadpipe.outcome': 'waiting',
      }),
    ]);
    for (const step of steps) {
      expect(step.parentSpanContext?.spanId).toBe(run.spanContext().spanId);
      expect(step.spanContext().traceId).toBe(run.spanContext().traceId);
      expect(step.status.code).toBe(UNSET);
    }
    // The adapter's own send span nests under the email step, and its HTTP request under that.
    const send = spans.find((span) => span.name === 'leadpipe.email.send');
    expect(send?.parentSpanContext?.spanId).toBe(steps[0]?.spanContext().spanId);
    const post = spans.find((span) => span.name === 'POST');
    expect(post?.parentSpanContext?.spanId).toBe(send?.spanContext().spanId);
    // The enrollment id is on the run; the lead's address and name are on no span.
    const [enrollment] = await store.enrollmentsOfLead(lead.id);
    expect(run.attributes['leadpipe.campaign.enrollment.id']).toBe(enrollment?.id);
    const text = JSON.stringify(spans.map((span) => span.attributes));
    expect(text).not.toContain(lead.email);
    expect(text).not.toContain('Lead401');

    // Two days later: a second run, its own trace, with the follow-up, and the enrollment completes.
    clock.t += 2 * DAY + 1000;
    const middle = telemetry.spans().length;
    await engine.runDue();
    spans = newSpans(middle);
    const second = spans.find((span) => span.name === 'leadpipe.campaign.run');
    expect(second?.attributes).toMatchObject({
      'leadpipe.campaign.steps': 2,
      'leadpipe.outcome': 'completed',
    });
    expect(second?.spanContext().traceId).not.toBe(run.spanContext().traceId);
    expect(
      spans
        .filter((span) => span.name === 'leadpipe.campaign.step')
        .map((span) => [span.attributes['leadpipe.campaign.step.id'], span.attributes['leadpipe.outcome']]),
    ).toEqual([
      ['pause', 'ok'],
      ['followup', 'ok'],
    ]);
  });

  it('marks a failed step span failed with its code: a template error at once, a send after its retries', async () => {
    const { engine, leads, clock } = setup([drip, broken]);
    const before = telemetry.spans().length;
    const lead = leadOf(402);
    await leads.upsert([lead]);
    expect(await engine.enroll('broken', lead.id)).toBe(true);
    await engine.runDue();

    let step = newSpans(before).find((span) => span.name === 'leadpipe.campaign.step');
    expect(step?.status).toEqual({ code: ERROR, message: 'template_error' });
    expect(step?.attributes).toMatchObject({
      'leadpipe.campaign.id': 'broken',
      'leadpipe.campaign.step.id': 'oops',
      'error.type': 'template_error',
      'leadpipe.outcome': 'failed',
    });
    const run = newSpans(before).find((span) => span.name === 'leadpipe.campaign.run');
    expect(run?.attributes['leadpipe.outcome']).toBe('failed');

    // SendGrid answers 5xx twice: the first attempt retries (span not failed), the second dead-letters the send.
    emulators.emulators.sendgrid!.faults.queue('serverError', 2);
    const middle = telemetry.spans().length;
    await created(engine, leads, 403);
    await engine.runDue();
    clock.t += 60_000;
    await engine.runDue();
    const steps = newSpans(middle).filter((span) => span.name === 'leadpipe.campaign.step');
    expect(
      steps.map((span) => [
        span.attributes['leadpipe.campaign.step.attempt'],
        span.attributes['leadpipe.outcome'],
      ]),
    ).toEqual([
      [1, 'retrying'],
      [2, 'failed'],
    ]);
    expect(steps[0]?.status.code).toBe(UNSET);
    step = steps[1];
    expect(step?.status).toEqual({ code: ERROR, message: 'server_error' });
    // The failed send span nests under the failed step, failed with the same code.
    const send = newSpans(middle).filter((span) => span.name === 'leadpipe.email.send')[1];
    expect(send?.parentSpanContext?.spanId).toBe(step?.spanContext().spanId);
    expect(send?.status).toEqual({ code: ERROR, message: 'server_error' });
  });
});

describe('campaign engine logs and error reports', () => {
  it('logs engine events at their levels with ids and codes, and reports steps that fail for good to onError', async () => {
    const { logger, lines } = recordingLogger();
    const reports: Report[] = [];
    const { engine, leads, clock, store } = setup([drip, broken], {
      logger,
      onError: (error, context) => reports.push({ error, context }),
    });
    await engine.start();
    const ok = await created(engine, leads, 404);
    const bad = leadOf(405);
    await leads.upsert([bad]);
    await engine.enroll('broken', bad.id);
    await engine.runDue();
    emulators.emulators.sendgrid!.faults.queue('serverError', 2);
    clock.t += 2 * DAY + 1000;
    await engine.runDue();
    clock.t += 60_000;
    await engine.runDue();

    const [okEnrollment] = await store.enrollmentsOfLead(ok.id);
    const [badEnrollment] = await store.enrollmentsOfLead(bad.id);
    expect(okEnrollment?.status).toBe('failed');
    expect(badEnrollment?.status).toBe('failed');
    const of = (message: string) => lines.filter((line) => line.message === message);
    expect(of('campaign engine started')).toEqual([
      expect.objectContaining({ level: 'info', context: expect.objectContaining({ campaigns: 2 }) }),
    ]);
    expect(
      of('lead enrolled').map((line) => [line.level, line.context.leadId, line.context.campaignId]),
    ).toEqual([
      ['debug', ok.id, 'drip'],
      ['debug', bad.id, 'broken'],
    ]);
    expect(of('campaign email sent')).toEqual([
      expect.objectContaining({
        level: 'debug',
        context: expect.objectContaining({ event: 'email.sent', stepId: 'intro', leadId: ok.id }),
      }),
    ]);
    expect(
      of('campaign step retrying').map((line) => [line.level, line.context.stepId, line.context.code]),
    ).toEqual([['info', 'followup', 'server_error']]);
    const failed = of('campaign step failed for good; dead-lettered');
    expect(
      failed.map((line) => [line.level, line.context.leadId, line.context.stepId, line.context.code]),
    ).toEqual([
      ['warn', bad.id, 'oops', 'template_error'],
      ['warn', ok.id, 'followup', 'server_error'],
    ]);
    for (const line of failed) expect(line.context).not.toHaveProperty('message');
    for (const line of lines) expect(line.context.component).toBe('leadpipe');

    // onError: the two steps that failed for good, with the code and the lead id; the retry is not reported.
    expect(reports.map((report) => report.context)).toEqual([
      { component: 'campaigns', code: 'template_error', leadId: bad.id },
      { component: 'campaigns', code: 'server_error', leadId: ok.id },
    ]);
    const error = reports[1]?.error;
    expect(error).toBeInstanceOf(CampaignStepError);
    expect(error).toMatchObject({
      name: 'CampaignStepError',
      code: 'server_error',
      campaignId: 'drip',
      stepId: 'followup',
      enrollmentId: okEnrollment?.id,
      leadId: ok.id,
      attempts: 2,
    });
    expect((await engine.deadLetters()).map((letter) => letter.code).sort()).toEqual([
      'server_error',
      'template_error',
    ]);
  });

  it('logs a failed wake-up at error, marks its run span failed and reports it once', async () => {
    const { logger, lines } = recordingLogger();
    const reports: Report[] = [];
    const { engine, leads, store } = setup([drip], {
      logger,
      onError: (error, context) => reports.push({ error, context }),
    });
    const lead = await created(engine, leads, 406);
    const getEnrollment = store.getEnrollment.bind(store);
    let failures = 1;
    store.getEnrollment = async (id) => {
      if (failures-- > 0) throw new TypeError('store unreachable');
      return getEnrollment(id);
    };
    const before = telemetry.spans().length;
    await engine.runDue();

    const run = newSpans(before).find((span) => span.name === 'leadpipe.campaign.run');
    expect(run?.status).toEqual({ code: ERROR, message: 'TypeError' });
    expect(lines.filter((line) => line.level === 'error')).toEqual([
      expect.objectContaining({
        message: 'campaign wake-up failed; it comes again',
        context: expect.objectContaining({ event: 'engine.error', code: 'TypeError' }),
      }),
    ]);
    expect(reports.map((report) => [report.error.message, report.context])).toEqual([
      ['store unreachable', { component: 'campaigns', code: 'TypeError' }],
    ]);
    // The wake-up comes again on the next run and the email goes out.
    await engine.runDue();
    expect((await store.enrollmentsOfLead(lead.id))[0]?.stepId).toBe('pause');
  });

  it('a logger and an onError hook that throw never break a run', async () => {
    const throwing = () => {
      throw new Error('observer down');
    };
    let calls = 0;
    const { engine, leads, store } = setup([drip, broken], {
      logger: { debug: throwing, info: throwing, warn: throwing, error: throwing },
      onError: () => {
        calls++;
        throw new Error('reporter down');
      },
    });
    const ok = await created(engine, leads, 407);
    const bad = leadOf(408);
    await leads.upsert([bad]);
    await engine.enroll('broken', bad.id);
    await expect(engine.runDue()).resolves.toBeUndefined();
    expect(calls).toBe(1);
    expect((await store.enrollmentsOfLead(ok.id))[0]).toMatchObject({ status: 'active', stepId: 'pause' });
    expect((await store.enrollmentsOfLead(bad.id))[0]?.status).toBe('failed');
    expect(await engine.deadLetters('broken')).toHaveLength(1);
  });

  it('a logger or onError of the wrong shape is a ConfigurationError naming the field', () => {
    const fields = (extra: Partial<CampaignEngineOptions>) => {
      try {
        setup([drip], extra);
      } catch (error) {
        expect(ConfigurationError.isInstance(error)).toBe(true);
        return (error as ConfigurationError).issues.map((issue) => issue.field);
      }
      return [];
    };
    expect(fields({ logger: { info: () => {} } as unknown as LeadpipeLogger })).toEqual(['logger']);
    expect(fields({ onError: 'sentry' as unknown as CampaignEngineOptions['onError'] })).toEqual(['onError']);
    expect(fields({ logger: recordingLogger().logger, onError: () => {} })).toEqual([]);
  });
});

describe('no secret and no lead data in spans, metrics, logs or reports', () => {
  it('runs sends, a signed webhook, retries, a template error and a CRM refusal quoting the address', async () => {
    const { logger, lines } = recordingLogger();
    const reports: Report[] = [];
    const crm: CrmAdapterV1 = {
      specificationVersion: 'v1',
      adapterId: 'test-crm',
      capabilities: {
        objects: ['contacts'],
        maxBatchSize: 10,
        rateLimits: {},
      } as unknown as CrmAdapterV1['capabilities'],
      // A vendor's refusal that quotes the record: it must stay in the dead letter.
      doUpsert: async (request) =>
        request.records.map((record) => ({
          key: record.key,
          status: 'failed' as const,
          error: { code: 'invalid_request', message: `Contact ${record.key} is invalid`, retryable: false },
        })) as never,
      doGet: async () => [],
    };
    const full: CampaignDefinition = {
      id: 'full',
      triggers: [{ type: 'event', event: 'lead.created' }],
      steps: [
        {
          id: 'hello',
          type: 'email',
          template: {
            subject: 'Hi {{ first_name }} at {{ company_name | default: "your team" }}',
            html: '<p>Hello {{ first_name }} ({{ email }})</p>',
          },
        },
        { id: 'notify', type: 'webhook', url: webhookUrl, secret: WEBHOOK_SECRET },
        {
          id: 'sync',
          type: 'crm',
          crm: 'test-crm',
          object: 'contacts',
          idProperty: 'email',
          properties: { stage: 'mql' },
        },
      ],
    };
    const { engine, leads, clock, store } = setup([full, broken], {
      logger,
      onError: (error, context) => reports.push({ error, context }),
      crms: { 'test-crm': crm },
    });
    await engine.start();
    const people = [leadOf(410), leadOf(411, { fullName: 'Grace Hopper' })];
    for (const lead of people) {
      await leads.upsert([lead]);
      await engine.handleLeadEvent({ type: 'lead.created', lead: (await leads.get(lead.id))! });
    }
    await engine.enroll('broken', people[0]!.id);
    emulators.emulators.sendgrid!.faults.queue('serverError', 1);
    await engine.runDue();
    clock.t += 60_000;
    await engine.runDue();
    await engine.close();

    // Everything ran: both sent, webhook called, the CRM refused (dead letter keeps the vendor's message).
    for (const lead of people)
      expect((await store.enrollmentsOfLead(lead.id)).map((e) => e.status)).toEqual(
        expect.arrayContaining(['failed']),
      );
    const letters = await engine.deadLetters('full');
    expect(letters.map((letter) => letter.code)).toEqual(['invalid_request', 'invalid_request']);
    expect(letters.some((letter) => letter.message.includes(people[0]!.email!))).toBe(true);
    expect(lines.some((line) => line.message === 'campaign webhook called')).toBe(true);
    expect(lines.some((line) => line.message === 'campaign step retrying')).toBe(true);
    expect(reports.map((report) => report.context.code).sort()).toEqual([
      'invalid_request',
      'invalid_request',
      'template_error',
    ]);

    // The webhook step's signed POST nests under its step span.
    const spans = telemetry.spans();
    const notify = spans.filter(
      (span) =>
        span.name === 'leadpipe.campaign.step' && span.attributes['leadpipe.campaign.step.id'] === 'notify',
    );
    expect(notify).toHaveLength(2);
    const port = Number(new URL(webhookUrl).port);
    const posts = spans.filter((span) => span.name === 'POST' && span.attributes['server.port'] === port);
    expect(posts.map((span) => span.parentSpanContext?.spanId).sort()).toEqual(
      notify.map((span) => span.spanContext().spanId).sort(),
    );

    const text = await telemetry.everything(
      lines,
      reports.map((report) => ({
        name: report.error.name,
        message: report.error.message,
        stack: report.error.stack,
        fields: { ...report.error },
        context: report.context,
      })),
    );
    expect(text).toContain('leadpipe.campaign.step');
    expect(text).toContain('invalid_request');
    for (const secret of [apiKey, UNSUBSCRIBE_SECRET, WEBHOOK_SECRET]) expect(text).not.toContain(secret);
    for (const lead of people) {
      expect(text).not.toContain(lead.email!);
      expect(text).not.toContain(lead.firstName!);
    }
    expect(text).not.toContain('Grace Hopper');
  });
});

import type { EmailMessage } from '@leadpipe/core/adapter-kit';
import { type CapturedTelemetry, captureTelemetry } from '@leadpipe/testkit';
import { SpanStatusCode } from '@opentelemetry/api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSendgrid } from '../src/index.js';
import { type SendgridFixture, startSendgrid } from './support.js';

let telemetry: CapturedTelemetry;
let sg: SendgridFixture;

beforeAll(async () => {
  telemetry = captureTelemetry();
  sg = await startSendgrid({ seed: 41 });
});
afterAll(async () => {
  await sg.close();
  telemetry.uninstall();
});

const message = (index: number, overrides: Partial<EmailMessage> = {}): EmailMessage => ({
  ledgerKey: `enr-${index}-s1`,
  from: { email: 'ada@news.example' },
  to: { email: `reader${index}@example.com` },
  subject: 'Step one',
  text: 'Hello there',
  ...overrides,
});

it('traces SendGrid sends over HTTP with accepted and refused counts, a failed send by its code, and no key', async () => {
  const provider = createSendgrid({ apiKey: sg.apiKey, baseUrl: sg.baseUrl });
  const single = await provider.doSend(message(1), {});
  expect(single.status).toBe('accepted');
  const batch = await provider.doSendBatch(
    [message(2), message(3), message(4, { to: { email: 'not an address' } })],
    {},
  );
  expect(batch.map((result) => result.status)).toEqual(['accepted', 'accepted', 'failed']);
  sg.instance.faults.queue('serverError');
  await expect(provider.doSend(message(5), {})).rejects.toMatchObject({ code: 'server_error' });

  const spans = telemetry.spans();
  const sends = spans.filter((span) => span.name.startsWith('leadpipe.email.'));
  expect(sends.map((span) => span.name)).toEqual([
    'leadpipe.email.send',
    'leadpipe.email.send_batch',
    'leadpipe.email.send',
  ]);
  expect(sends[0]?.attributes).toMatchObject({
    'leadpipe.email_provider': 'sendgrid',
    'leadpipe.call': 'email',
    'leadpipe.batch.size': 1,
    'leadpipe.email.accepted': 1,
    'leadpipe.outcome': 'ok',
  });
  expect(sends[1]?.attributes).toMatchObject({
    'leadpipe.batch.size': 3,
    'leadpipe.email.accepted': 2,
    'leadpipe.email.refused': 1,
  });
  expect(sends[1]?.status.code).toBe(SpanStatusCode.UNSET);
  expect(sends[2]?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'server_error' });
  // The batch: SendGrid refuses the bad personalization with a 400 and the rest go again (202); the fault is a 502.
  const posts = spans.filter((span) => span.name === 'POST');
  expect(posts.map((span) => span.attributes['http.response.status_code'])).toEqual([202, 400, 202, 502]);
  expect(posts.map((span) => span.status.code)).toEqual([
    SpanStatusCode.UNSET,
    SpanStatusCode.UNSET,
    SpanStatusCode.UNSET,
    SpanStatusCode.ERROR,
  ]);

  const collected = await telemetry.metrics();
  const calls = collected.find((metric) => metric.descriptor.name === 'leadpipe.calls');
  expect(calls?.dataPoints.map((point) => [point.attributes, point.value])).toEqual(
    expect.arrayContaining([
      [{ 'leadpipe.call': 'email', 'leadpipe.email_provider': 'sendgrid', 'leadpipe.operation': 'send' }, 1],
      [
        {
          'leadpipe.call': 'email',
          'leadpipe.email_provider': 'sendgrid',
          'leadpipe.operation': 'send',
          'error.type': 'server_error',
        },
        1,
      ],
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
  });
  expect(everything).not.toContain(sg.apiKey);
  expect(everything).not.toContain('reader1@example.com');
});

import {
  type CapturedTelemetry,
  captureTelemetry,
  type RunningEmulators,
  startEmulators,
} from '@leadpipe/testkit';
import { SpanStatusCode } from '@opentelemetry/api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMailgun } from '../src/index.js';
import { message } from './support.js';

let telemetry: CapturedTelemetry;
let running: RunningEmulators;

beforeAll(async () => {
  telemetry = captureTelemetry({ contextManager: false });
  running = await startEmulators({ vendors: ['mailgun'], seed: 12 });
});
afterAll(async () => {
  await running.close();
  telemetry.uninstall();
});

it('traces Mailgun sends over HTTP, marks a 5xx by its code, and never records the key or the signing key', async () => {
  const credentials = running.credentials.mailgun!;
  const mailgun = createMailgun({
    apiKey: credentials.apiKey,
    domain: credentials.domain,
    webhookSigningKey: credentials.webhookSigningKey,
    baseUrl: running.urls.mailgun!.baseUrl,
  });
  expect((await mailgun.doSend(message(), {})).status).toBe('accepted');
  running.emulators.mailgun!.faults.queue('serverError');
  await expect(mailgun.doSend(message({ ledgerKey: 'enr-43-s1' }), {})).rejects.toMatchObject({
    code: 'server_error',
  });

  const spans = telemetry.spans();
  const sends = spans.filter((span) => span.name === 'leadpipe.email.send');
  expect(sends).toHaveLength(2);
  expect(sends[0]?.attributes).toMatchObject({
    'leadpipe.email_provider': 'mailgun',
    'leadpipe.email.accepted': 1,
    'leadpipe.outcome': 'ok',
  });
  expect(sends[1]?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'server_error' });
  const posts = spans.filter((span) => span.name === 'POST');
  expect(posts.map((span) => span.attributes['http.response.status_code'])).toEqual([200, 500]);
  for (const post of posts) expect(post.parentSpanContext).toBeUndefined(); // no context manager registered here

  const everything = await telemetry.everything();
  expect(everything).toContain('leadpipe.call.duration');
  for (const secret of [credentials.apiKey, credentials.webhookSigningKey]) {
    expect(everything).not.toContain(secret);
  }
  // The sending domain is part of the request path, which spans leave out.
  expect(everything).not.toContain(`/v3/${credentials.domain}`);
});

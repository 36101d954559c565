import { randomUUID } from 'node:crypto';
import type { BusEvent } from '@leadpipe/core';
import { startRunSpan, withSpan } from '@leadpipe/core/adapter-kit';
import { type CapturedTelemetry, captureTelemetry } from '@leadpipe/testkit';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import amqp from 'amqplib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRabbitMqEventBus } from '../src/index.js';

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const queuePrefix = `otel-k-${randomUUID().slice(0, 8)}.`;
const EMAIL = 'ada.secret@otel-amqp.example';
let telemetry: CapturedTelemetry;

beforeAll(() => {
  telemetry = captureTelemetry({ propagator: new W3CTraceContextPropagator() });
});
afterAll(async () => {
  telemetry.uninstall();
  const connection = await amqp.connect(AMQP_URL);
  const channel = await connection.createChannel();
  for (const name of ['traced']) {
    await channel.deleteQueue(`${queuePrefix}${name}`);
    await channel.deleteQueue(`${queuePrefix}${name}.dead`);
  }
  await connection.close();
});

const event = (id: string, email: string): BusEvent => ({
  id,
  type: 'lead.created',
  occurredAt: new Date().toISOString(),
  payload: { email },
});

async function until(check: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

it("continues the publisher's trace in the consumer through message headers; a failed handle is an error span; no secret anywhere", async () => {
  const publisher = createRabbitMqEventBus({ url: AMQP_URL, queuePrefix, exchange: 'leadpipe.otel-k' });
  const consumer = createRabbitMqEventBus({ url: AMQP_URL, queuePrefix, exchange: 'leadpipe.otel-k' });
  const handled: string[] = [];
  try {
    const subscription = await consumer.subscribe({
      name: 'traced',
      types: ['lead.created'],
      maxDeliveries: 2,
      handler: async (received) => {
        if (received.id === 'bad') throw new Error(`cannot handle ${EMAIL}`);
        handled.push(received.id);
      },
    });
    // The publish runs inside a host's span: the whole chain is one trace.
    const host = startRunSpan('host.request');
    await withSpan(host, () => publisher.publish([event('good', EMAIL), event('bad', EMAIL)]));
    host.end();
    await until(
      () =>
        handled.includes('good') &&
        telemetry.spans().filter((span) => span.name === 'leadpipe.queue.handle').length >= 3,
    );
    await subscription.close();

    const spans = telemetry.spans();
    const [publish] = spans.filter((span) => span.name === 'leadpipe.queue.publish');
    expect(publish?.kind).toBe(SpanKind.CLIENT);
    expect(publish?.attributes).toMatchObject({
      'leadpipe.call': 'queue',
      'leadpipe.queue': 'leadpipe.otel-k',
      'leadpipe.operation': 'publish',
      'leadpipe.batch.size': 2,
      'messaging.system': 'rabbitmq',
    });
    expect(publish?.parentSpanContext?.spanId).toBe(host.spanContext().spanId);

    const handles = spans.filter((span) => span.name === 'leadpipe.queue.handle');
    for (const handle of handles) {
      // Another process would see only the headers: the consumer's span is a child of the publish span.
      expect(handle.spanContext().traceId).toBe(host.spanContext().traceId);
      expect(handle.parentSpanContext?.spanId).toBe(publish?.spanContext().spanId);
      expect(handle.attributes).toMatchObject({
        'leadpipe.queue': `${queuePrefix}traced`,
        'leadpipe.operation': 'handle',
        'leadpipe.event.type': 'lead.created',
        'messaging.system': 'rabbitmq',
      });
    }
    const failed = handles.filter((span) => span.status.code === SpanStatusCode.ERROR);
    expect(failed.map((span) => span.attributes['leadpipe.attempt']).sort()).toEqual([1, 2]);
    expect(failed[0]?.status).toEqual({ code: SpanStatusCode.ERROR, message: '_OTHER' });

    const everything = await telemetry.everything();
    for (const secret of [EMAIL, 'otel-amqp.example', 'guest:guest', AMQP_URL, 'cannot handle']) {
      expect(everything).not.toContain(secret);
    }
  } finally {
    await consumer.close();
    await publisher.close();
  }
}, 60_000);

import { randomUUID } from 'node:crypto';
import { createMemoryCache } from '@leadpipe/core';
import { type CapturedTelemetry, captureTelemetry } from '@leadpipe/testkit';
import { SpanKind } from '@opentelemetry/api';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBullMqCampaignQueue, createDistributedRun, createWorker } from '../src/index.js';
import { REDIS_URL, removeKeys, until } from './support.js';

const prefix = `otel-k-${randomUUID().slice(0, 8)}`;
const EMAIL = 'ada.secret@otel-bull.example';
let telemetry: CapturedTelemetry;

beforeAll(() => {
  telemetry = captureTelemetry({ metricTemporality: 'delta' });
});
afterAll(async () => {
  telemetry.uninstall();
  await removeKeys(prefix);
});

/** The `leadpipe.queue.depth` readings of `queue` collected now. */
async function depthOf(queue: string): Promise<unknown[]> {
  const metric = (await telemetry.metrics()).find((m) => m.descriptor.name === 'leadpipe.queue.depth');
  return (metric?.dataPoints ?? [])
    .filter((point) => point.attributes['leadpipe.queue'] === queue)
    .map((point) => point.value);
}

describe('BullMQ telemetry (local Redis)', () => {
  it('reports the waiting batches as queue depth and traces each batch job; no row data in spans or metrics', async () => {
    const queueName = `q-${randomUUID().slice(0, 8)}`;
    // A connection of the test's own: still open after the producer closes, so only `stop()` ends the readings.
    const shared = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const producer = createDistributedRun({ connection: shared, prefix, queueName, batchSize: 2 });
    let worker: ReturnType<typeof createWorker> | undefined;
    try {
      const rows = [
        { Email: EMAIL, 'First Name': 'Ada' },
        { Email: 'grace@otel-bull.example', 'First Name': 'Grace' },
        { Email: 'linus@otel-bull.example', 'First Name': 'Linus' },
      ];
      await producer.submit(rows, { runId: 'otel-run' });
      // No worker yet: both batches wait.
      expect(await depthOf(queueName)).toEqual([2]);

      worker = createWorker({
        connection: REDIS_URL,
        prefix,
        queueName,
        cache: createMemoryCache(),
        pipeline: {},
      });
      const final = await producer.wait('otel-run', { pollMs: 100 });
      expect(final).toMatchObject({ batches: 2, batchesRecorded: 2, complete: true });
      expect(await depthOf(queueName)).toEqual([0]);

      await until(() => telemetry.spans().filter((span) => span.name === 'leadpipe.queue.job').length === 2);
      const jobs = telemetry.spans().filter((span) => span.name === 'leadpipe.queue.job');
      expect(jobs.map((span) => span.attributes['leadpipe.batch.size']).sort()).toEqual([1, 2]);
      for (const job of jobs) {
        expect(job.kind).toBe(SpanKind.CLIENT);
        expect(job.attributes).toMatchObject({
          'leadpipe.call': 'queue',
          'leadpipe.queue': queueName,
          'leadpipe.operation': 'job',
          'leadpipe.job': 'distributed_run_batch',
          'messaging.system': 'bullmq',
        });
      }
      // The pipeline's run span nests under its job span.
      const runs = telemetry.spans().filter((span) => span.name === 'leadpipe.pipeline.run');
      const jobIds = new Set(jobs.map((span) => span.spanContext().spanId));
      expect(runs.filter((span) => jobIds.has(span.parentSpanContext?.spanId ?? '')).length).toBe(2);

      const everything = await telemetry.everything();
      for (const secret of [EMAIL, 'otel-bull.example', 'Grace']) expect(everything).not.toContain(secret);
    } finally {
      await worker?.close();
      await producer.close();
    }
    // Closed: the queue is no longer reported.
    expect(await depthOf(queueName)).toEqual([]);
    await shared.quit();
  }, 90_000);

  it('traces each campaign wake-up job and reports its queue depth while open', async () => {
    const queueName = `c-${randomUUID().slice(0, 8)}`;
    const queue = createBullMqCampaignQueue({ connection: REDIS_URL, prefix, queueName, backoffMs: 20 });
    try {
      const woken: string[] = [];
      await queue.enqueue({ key: `enr-${EMAIL}`, runAt: Date.now() });
      await until(async () => (await depthOf(queueName)).length === 1);
      queue.process(async (wakeUp) => {
        woken.push(wakeUp.key);
      });
      await until(() => woken.length === 1, 30_000);
      await until(() => telemetry.spans().some((span) => span.attributes['leadpipe.queue'] === queueName));
      const [job] = telemetry.spans().filter((span) => span.attributes['leadpipe.queue'] === queueName);
      expect(job?.name).toBe('leadpipe.queue.job');
      expect(job?.attributes).toMatchObject({
        'leadpipe.job': 'campaign_wake_up',
        'leadpipe.operation': 'job',
        'messaging.system': 'bullmq',
      });
      const everything = await telemetry.everything();
      expect(everything).not.toContain(EMAIL);
    } finally {
      await queue.close();
    }
    expect(await depthOf(queueName)).toEqual([]);
  }, 60_000);
});

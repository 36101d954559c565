import { randomUUID } from 'node:crypto';
import { type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDistributedRun, type DistributedRunProducer } from '../src/index.js';
import {
  apolloPaidKeys,
  emulatorSpec,
  peopleRows,
  REDIS_URL,
  removeKeys,
  repeated,
  sleep,
  startWorker,
  until,
  type WorkerChild,
} from './support.js';

/**
 * Workers as child processes against emulators served by this process
 * (so every vendor call is counted across processes), killed with SIGKILL
 * or stopped with SIGTERM in the middle of a batch. Apollo answers after
 * 100 ms, so a batch is in flight for a while.
 */

const prefix = `wc-${randomUUID().slice(0, 8)}`;
const LIMITS = { apollo: { perMinute: 60_000, perHour: 600_000, perDay: 6_000_000 } };
const LATENCY = { latencyMs: 100 };
let running: RunningEmulators;
const children: WorkerChild[] = [];
const producers: DistributedRunProducer[] = [];

beforeAll(async () => {
  running = await startEmulators({
    vendors: ['apollo', 'hubspot'],
    seed: 1,
    limits: LIMITS,
    vendorOptions: { apollo: { apiKey: `apl_${randomUUID().replaceAll('-', '')}` } },
    vendorFaults: { apollo: LATENCY },
  });
});

afterAll(async () => {
  for (const child of children) child.process.kill('SIGKILL');
  for (const producer of producers) await producer.close();
  await running?.close();
  await removeKeys(prefix);
});

function worker(queueName: string, extra: Record<string, string> = {}): WorkerChild {
  const child = startWorker({
    LP_PREFIX: prefix,
    LP_QUEUE: queueName,
    LP_EMULATORS: JSON.stringify(emulatorSpec(running, LIMITS)),
    // Short locks and limiter slots, so a killed worker's batch and slots come back within seconds.
    LP_LOCK_MS: '4000',
    LP_JOB_EXPIRY_MS: '5000',
    ...extra,
  });
  children.push(child);
  return child;
}

function producer(queueName: string): DistributedRunProducer {
  const made = createDistributedRun({ connection: REDIS_URL, prefix, queueName, batchSize: 50 });
  producers.push(made);
  return made;
}

function contactEmails(): string[] {
  return (running.emulators.hubspot?.emulator.contacts() ?? []).map((contact) =>
    String(contact.properties.email).toLowerCase(),
  );
}

describe('worker processes killed or stopped mid-batch', () => {
  it('SIGKILL mid-batch, then another worker: 0 rows lost, 0 leads paid twice, 0 duplicate CRM records', async () => {
    const queueName = `q-${randomUUID().slice(0, 8)}`;
    running.emulators.apollo?.requests.clear();
    running.emulators.hubspot?.emulator.reset();
    const rows = peopleRows(running, 300, 1000);
    const runs = producer(queueName);
    const first = worker(queueName);
    await first.ready;
    await runs.submit(rows, { runId: 'kill' });
    // Mid-batch: past the first batch, with some of the second one's leads paid for.
    await until(() => apolloPaidKeys(running.emulators.apollo?.requests.all() ?? []).length >= 70, 120_000);
    // Apollo stops answering (a hung call is not paid); the answers on the wire arrive; then the worker dies.
    running.emulators.apollo?.faults.configure({ ...LATENCY, hangRate: 1, hangMs: 600_000 });
    await sleep(800);
    const paidAtKill = apolloPaidKeys(running.emulators.apollo?.requests.all() ?? []).length;
    first.process.kill('SIGKILL');
    expect(await first.exit).toBe(-9);
    const before = await runs.progress('kill');
    expect(before.complete).toBe(false);
    running.emulators.apollo?.faults.configure(LATENCY);

    const second = worker(queueName);
    await second.ready;
    const final = await runs.wait('kill', { pollMs: 500 });
    const paid = apolloPaidKeys(running.emulators.apollo?.requests.all() ?? []);
    const contacts = contactEmails();
    console.log(
      JSON.stringify({
        test: 'worker-sigkill',
        leads: rows.length,
        terminal: final.done + final.rejected + final.deadLettered,
        batchesRecordedBeforeKill: before.batchesRecorded,
        paidAtKill,
        paid: paid.length,
        paidTwice: repeated(paid).length,
        contacts: contacts.length,
      }),
    );
    expect(paidAtKill).toBeLessThan(rows.length);
    expect(final).toMatchObject({
      batches: 6,
      batchesRecorded: 6,
      batchesFailed: 0,
      done: 300,
      complete: true,
    });
    expect(repeated(paid)).toEqual([]);
    expect(new Set(paid)).toEqual(new Set(rows.map((row) => row.Email.toLowerCase())));
    expect(contacts).toHaveLength(300);
    expect(new Set(contacts)).toEqual(new Set(rows.map((row) => row.Email.toLowerCase())));
    const written = await runs.writeResults('kill', { output: { write: () => undefined } });
    expect(written.written).toBe(300);
    second.process.kill('SIGTERM');
    expect(await second.exit).toBe(0);
  }, 240_000);

  it('SIGTERM mid-batch: the worker finishes the batch it runs, takes no other, and exits 0; the rest wait for another worker', async () => {
    const queueName = `q-${randomUUID().slice(0, 8)}`;
    const rows = peopleRows(running, 200, 2000);
    const runs = producer(queueName);
    const first = worker(queueName);
    await first.ready;
    await runs.submit(rows, { runId: 'term' });
    const queue = new Queue(queueName, { connection: { url: REDIS_URL }, prefix });
    try {
      await until(async () => (await queue.getActiveCount()) === 1, 60_000);
      first.process.kill('SIGTERM');
      expect(await first.exit).toBe(0);
      const finished = Number(/closed (\d+)/.exec(first.output())?.[1]);
      const after = await runs.progress('term');
      // The batch that was running ended recorded; nothing is left active or lost.
      expect(finished).toBeGreaterThanOrEqual(1);
      expect(after.batchesRecorded).toBe(finished);
      expect(await queue.getActiveCount()).toBe(0);
      expect(await queue.getWaitingCount()).toBe(4 - finished);

      const second = worker(queueName);
      const final = await runs.wait('term', { pollMs: 500 });
      expect(final).toMatchObject({ batchesRecorded: 4, done: 200, complete: true });
      second.process.kill('SIGTERM');
      expect(await second.exit).toBe(0);
    } finally {
      await queue.close();
    }
  }, 240_000);
});

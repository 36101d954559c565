/**
 * Issue 14 §3: N events through RabbitMQ while the consumer process is SIGKILLed and restarted. Prints
 * `{"bench":"event-bus","case":"consumer-kill","events":N,"lost":0,"duplicatesDelivered":d,"duplicatesHandled":0}`.
 *
 * The consumer (test/fixtures/consumer.ts) appends each event id it handles, through `deduplicateEvents`, to a log.
 * `duplicatesDelivered` counts redeliveries the broker made (events handled by the killed process but not acked,
 * handled again by the next one); `duplicatesHandled` counts ids one consumer process handled twice (the deduper's
 * promise: 0). Size: BENCH_EVENTS (default 100000); kills: BENCH_KILLS (default 2).
 *
 *   pnpm exec tsx --conditions=@leadpipe/source packages/events-rabbitmq/bench/consumer-kill.bench.ts
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BusEvent } from '@leadpipe/core';
import amqp from 'amqplib';
import { createRabbitMqEventBus } from '../src/index.js';

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const total = Number(process.env.BENCH_EVENTS ?? 100_000);
const kills = Number(process.env.BENCH_KILLS ?? 2);
const root = fileURLToPath(new URL('../../..', import.meta.url));
const tsxLoader = pathToFileURL(createRequire(join(root, 'package.json')).resolve('tsx')).href;
const fixture = fileURLToPath(new URL('../test/fixtures/consumer.ts', import.meta.url));
const queuePrefix = `bench-${randomUUID().slice(0, 8)}.`;
const name = 'consumer-kill';
const type = `bench${randomUUID().slice(0, 8)}.lead.created`;
const dir = await mkdtemp(join(tmpdir(), 'leadpipe-bus-bench-'));

/** One consumer process per log file, so duplicates within one process can be told from redeliveries. */
function start(log: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', tsxLoader, '--conditions=@leadpipe/source', fixture, name, type, log],
      {
        env: {
          ...process.env,
          NODE_OPTIONS: '',
          AMQP_URL,
          LEADPIPE_QUEUE_PREFIX: queuePrefix,
          LEADPIPE_EXCHANGE: 'leadpipe.bench-events',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    child.stdout?.once('data', () => resolve(child));
    child.once('error', reject);
  });
}

const linesOf = async (log: string) =>
  (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean);

const bus = createRabbitMqEventBus({ url: AMQP_URL, queuePrefix, exchange: 'leadpipe.bench-events' });
const logs = [join(dir, 'consumer-0.log')];
let consumer = await start(logs[0]!);
const publishing = (async () => {
  for (let from = 0; from < total; from += 1000) {
    const batch: BusEvent[] = [];
    for (let index = from; index < Math.min(total, from + 1000); index += 1)
      batch.push({ id: `event-${index}`, type, occurredAt: new Date().toISOString(), payload: { index } });
    await bus.publish(batch);
  }
})();
for (let kill = 1; kill <= kills; kill += 1) {
  // Kill at evenly spread points of the stream.
  const target = Math.floor((total * kill) / (kills + 1));
  for (;;) {
    const handled = (await Promise.all(logs.map(linesOf))).reduce(
      (sum, lines) => sum + new Set(lines).size,
      0,
    );
    if (handled >= target) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  consumer.kill('SIGKILL');
  await new Promise((resolve) => consumer.once('exit', resolve));
  logs.push(join(dir, `consumer-${kill}.log`));
  consumer = await start(logs[logs.length - 1]!);
}
await publishing;
let perProcess: string[][] = [];
for (;;) {
  perProcess = await Promise.all(logs.map(linesOf));
  const unique = new Set(perProcess.flat());
  if (unique.size >= total && (await bus.pending(name)) === 0) break;
  await new Promise((resolve) => setTimeout(resolve, 50));
}
consumer.kill('SIGTERM');
const all = perProcess.flat();
const unique = new Set(all);
const duplicatesHandled = perProcess.reduce((sum, lines) => sum + (lines.length - new Set(lines).size), 0);
console.log(
  JSON.stringify({
    bench: 'event-bus',
    case: 'consumer-kill',
    events: total,
    kills,
    lost: total - unique.size,
    duplicatesDelivered: all.length - unique.size,
    duplicatesHandled,
    deadLettered: await bus.deadLetterCount(name),
  }),
);
await bus.close();
const connection = await amqp.connect(AMQP_URL);
const channel = await connection.createChannel();
await channel.deleteQueue(`${queuePrefix}${name}`);
await channel.deleteQueue(`${queuePrefix}${name}.dead`);
await connection.close();
await rm(dir, { recursive: true, force: true });

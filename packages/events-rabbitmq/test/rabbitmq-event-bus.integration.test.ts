import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BusEvent, ConfigurationError } from '@leadpipe/core';
import { eventBusContract } from '@leadpipe/testkit';
import amqp from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { createRabbitMqEventBus } from '../src/index.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
// tsx's loader in this very process, so SIGKILL reaches the consumer itself.
const tsxLoader = pathToFileURL(createRequire(join(root, 'package.json')).resolve('tsx')).href;
const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
// Every name of this file under one prefix, so runs never see each other's queues.
const queuePrefix = `it-${randomUUID().slice(0, 8)}.`;
const declared = new Set<string>();
/** A bus whose subscriptions' queues are remembered, to delete them after the file. */
const open = () => {
  const bus = createRabbitMqEventBus({ url: AMQP_URL, queuePrefix, exchange: 'leadpipe.test-events' });
  const subscribe = bus.subscribe.bind(bus);
  return Object.assign(bus, {
    subscribe: (subscription: Parameters<typeof subscribe>[0]) => {
      declared.add(bus.queueOf(subscription.name));
      return subscribe(subscription);
    },
  });
};

describe('createRabbitMqEventBus against the local RabbitMQ', () => {
  eventBusContract(it, expect, { open });

  const scratch: string[] = [];
  afterAll(async () => {
    // Delete the queues this file declared (quorum queues cost the broker memory).
    const connection = await amqp.connect(AMQP_URL);
    const channel = await connection.createChannel();
    for (const queue of declared) {
      await channel.deleteQueue(queue);
      await channel.deleteQueue(`${queue}.dead`);
    }
    await connection.close();
    await Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('refuses bad settings, naming them, and keeps the password out of errors', async () => {
    expect(() => createRabbitMqEventBus({ url: 'http://x' })).toThrow(ConfigurationError);
    expect(() => createRabbitMqEventBus({ exchange: 'has space' } as never)).toThrow('exchange');
    const secret = `pw-${randomUUID()}`;
    const bus = createRabbitMqEventBus({ url: `amqp://guest:${secret}@127.0.0.1:5672` });
    const error = await bus
      .publish([{ id: 'x', type: 'lead.created', occurredAt: new Date().toISOString(), payload: {} }])
      .then(
        () => undefined,
        (caught: unknown) => caught as Error,
      );
    expect(error).toBeDefined();
    expect(`${error?.message} ${JSON.stringify(error)}`).not.toContain(secret);
    await bus.close();
  });

  it('a queue redeclared with another maxDeliveries is a configuration error naming it', async () => {
    const bus = open();
    const name = `redeclare-${randomUUID().slice(0, 8)}`;
    const handler = async () => {};
    const first = await bus.subscribe({ name, types: ['lead.created'], handler, maxDeliveries: 3 });
    await first.close();
    await expect(bus.subscribe({ name, types: ['lead.created'], handler, maxDeliveries: 4 })).rejects.toThrow(
      'maxDeliveries',
    );
    await bus.close();
  });

  it('a consumer SIGKILLed mid-stream and restarted loses nothing, and duplicates are dropped by id', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'leadpipe-rabbit-'));
    scratch.push(dir);
    const log = join(dir, 'handled.log');
    const name = `kill-${randomUUID().slice(0, 8)}`;
    declared.add(`${queuePrefix}${name}`);
    const type = `kill${randomUUID().slice(0, 8)}.lead.created`;
    const fixture = fileURLToPath(new URL('./fixtures/consumer.ts', import.meta.url));
    const start = (): Promise<ChildProcess> =>
      new Promise((resolve, reject) => {
        const child = spawn(
          process.execPath,
          ['--import', tsxLoader, '--conditions=@leadpipe/source', fixture, name, type, log],
          {
            env: { ...process.env, NODE_OPTIONS: '', AMQP_URL, LEADPIPE_QUEUE_PREFIX: queuePrefix },
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        );
        child.stdout?.once('data', () => resolve(child));
        child.once('error', reject);
        child.once('exit', (code) => reject(new Error(`consumer exited early (${code})`)));
      });
    const publisher = open();
    // The queue exists before publishing (the consumer declares it).
    let consumer = await start();
    const events: BusEvent[] = Array.from({ length: 3000 }, (_, index) => ({
      id: `event-${index}`,
      type,
      occurredAt: new Date().toISOString(),
      payload: { index },
    }));
    for (let from = 0; from < events.length; from += 500)
      await publisher.publish(events.slice(from, from + 500));
    // Kill it once it has handled some but not all.
    for (;;) {
      const handled = (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
      if (handled >= 300) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    consumer.kill('SIGKILL');
    await new Promise((resolve) => consumer.once('exit', resolve));
    // Publish the same events again (a relay resumed after a crash) and restart.
    await publisher.publish(events.slice(0, 200));
    consumer = await start();
    let lines: string[] = [];
    for (let wait = 0; wait < 3000; wait += 1) {
      lines = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
      if (new Set(lines).size >= events.length && (await publisher.pending(name)) === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    consumer.kill('SIGTERM');
    const unique = new Set(lines);
    expect(unique.size, 'every event handled').toBe(events.length);
    // Duplicates can only be events whose handling was cut by the kill before their ack, or republished ones the
    // first consumer had handled; within one consumer process each id is handled once.
    expect(lines.length - unique.size).toBeLessThanOrEqual(200 + 32);
    expect(await publisher.deadLetterCount(name)).toBe(0);
    await publisher.close();
  }, 120_000);
});

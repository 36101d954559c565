import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { CampaignWakeUp } from '@leadpipe/core';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type BullMqCampaignQueue, createBullMqCampaignQueue } from '../src/index.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `it-${randomUUID().slice(0, 8)}`;
const opened: BullMqCampaignQueue[] = [];

function open(options: Parameters<typeof createBullMqCampaignQueue>[0] = {}): BullMqCampaignQueue {
  const queue = createBullMqCampaignQueue({
    connection: REDIS_URL,
    prefix,
    queueName: `q-${randomUUID().slice(0, 8)}`,
    backoffMs: 20,
    ...options,
  });
  opened.push(queue);
  return queue;
}

async function until(check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

afterAll(async () => {
  await Promise.all(opened.map((queue) => queue.close()));
  // Remove every key this file made.
  const redis = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  await redis.quit();
});

describe('createBullMqCampaignQueue against the local Redis', () => {
  it('wakes each key at or after its time, never early; enqueuing a key again replaces its time', async () => {
    const queue = open();
    const woken: { wakeUp: CampaignWakeUp; at: number }[] = [];
    queue.process(async (wakeUp) => {
      woken.push({ wakeUp, at: Date.now() });
    });
    // Far enough ahead that the second enqueue surely finds the job still delayed, even on a loaded machine.
    const soon = Date.now() + 1500;
    await queue.enqueue({ key: 'enr-a-v1', runAt: soon });
    await queue.enqueue({ key: 'enr-b-v1', runAt: soon });
    // The same key twice: one job, at the later time.
    await queue.enqueue({ key: 'enr-b-v1', runAt: soon + 300 });
    await queue.enqueue({ key: 'enr-c-v1', runAt: Date.now() - 1000 });
    await until(() => woken.length >= 3);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(woken.map((w) => w.wakeUp.key).sort()).toEqual(['enr-a-v1', 'enr-b-v1', 'enr-c-v1']);
    for (const { wakeUp, at } of woken) expect(at).toBeGreaterThanOrEqual(wakeUp.runAt);
    expect(woken.find((w) => w.wakeUp.key === 'enr-b-v1')?.wakeUp.runAt).toBe(soon + 300);
  });

  it('a cancelled wake-up does not come; a key already handled can be enqueued again', async () => {
    const queue = open();
    const woken: string[] = [];
    queue.process(async (wakeUp) => {
      woken.push(wakeUp.key);
    });
    await queue.enqueue({ key: 'enr-x-v1', runAt: Date.now() + 2000 });
    await queue.cancel('enr-x-v1');
    await queue.enqueue({ key: 'enr-y-v1', runAt: Date.now() });
    await until(() => woken.includes('enr-y-v1'));
    await queue.enqueue({ key: 'enr-y-v1', runAt: Date.now() });
    await until(() => woken.filter((key) => key === 'enr-y-v1').length === 2);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(woken).not.toContain('enr-x-v1');
  });

  it('processes sharing a queue each get a wake-up once between them', async () => {
    const queueName = `shared-${randomUUID().slice(0, 8)}`;
    const first = open({ queueName });
    const second = open({ queueName });
    const woken: string[] = [];
    first.process(async (wakeUp) => void woken.push(`1:${wakeUp.key}`));
    second.process(async (wakeUp) => void woken.push(`2:${wakeUp.key}`));
    for (let index = 0; index < 40; index += 1)
      await first.enqueue({ key: `enr-${index}-v1`, runAt: Date.now() });
    await until(() => woken.length >= 40);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const keys = woken.map((entry) => entry.slice(2));
    expect(new Set(keys).size).toBe(40);
    expect(keys).toHaveLength(40);
  });

  it('retries a failing handler with backoff, keeps it as failed after its attempts, and redrives it', async () => {
    const errors: (string | undefined)[] = [];
    const queue = open({ attempts: 2, onError: (_error, key) => errors.push(key) });
    let failing = true;
    const runs: string[] = [];
    queue.process(async (wakeUp) => {
      runs.push(wakeUp.key);
      if (failing) throw new Error('engine down');
    });
    await queue.enqueue({ key: 'enr-f-v1', runAt: Date.now() });
    await until(async () => (await queue.failed()).length === 1);
    expect(runs).toEqual(['enr-f-v1', 'enr-f-v1']);
    const [failed] = await queue.failed();
    expect(failed?.wakeUp.key).toBe('enr-f-v1');
    expect(failed?.attempts).toBe(2);
    expect(errors).toContain('enr-f-v1');
    failing = false;
    expect(await queue.redrive(['someone-else'])).toBe(0);
    expect(await queue.redrive()).toBe(1);
    await until(() => runs.length === 3);
    await until(async () => (await queue.failed()).length === 0);
  });

  it('delivers cron wake-ups in the schedule time zone until unscheduled', async () => {
    const queue = open();
    const woken: CampaignWakeUp[] = [];
    queue.process(async (wakeUp) => void woken.push(wakeUp));
    await queue.schedule('digest', { cron: '* * * * * *', timeZone: 'Europe/Berlin' });
    // The same id again replaces the schedule rather than adding one.
    await queue.schedule('digest', { cron: '* * * * * *', timeZone: 'Europe/Berlin' });
    await until(() => woken.length >= 2);
    expect(new Set(woken.map((w) => w.key))).toEqual(new Set(['cron-digest']));
    // Consecutive runs are whole seconds apart: one schedule, not two.
    const times = woken.map((w) => w.runAt).sort((a, b) => a - b);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(900);
    await queue.unschedule('digest');
    const count = woken.length;
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(woken.length).toBeLessThanOrEqual(count + 1);
  });

  it('reads a cron pattern in the schedule time zone (09:00 in New York, whatever the server zone)', async () => {
    const queueName = `tz-${randomUUID().slice(0, 8)}`;
    const queue = open({ queueName });
    await queue.schedule('morning', { cron: '0 0 9 * * *', timeZone: 'America/New_York' });
    const inspect = new Queue(queueName, {
      connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }),
      prefix,
    });
    const scheduler = await inspect.getJobScheduler('cron-morning');
    const next = Number(scheduler?.next);
    const local = new Intl.DateTimeFormat('en-US', {
      timeZone: 'America/New_York',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    }).format(next);
    expect(local).toBe('09:00:00');
    expect(next).toBeGreaterThan(Date.now());
    await queue.unschedule('morning');
    expect(await inspect.getJobScheduler('cron-morning')).toBeUndefined();
    await inspect.close();
  });

  it('refuses bad keys and options, naming them', async () => {
    const queue = open();
    await expect(queue.enqueue({ key: 'has:colon', runAt: Date.now() })).rejects.toThrow('key');
    await expect(queue.enqueue({ key: '12345', runAt: Date.now() })).rejects.toThrow('key');
    await expect(queue.enqueue({ key: 'ok', runAt: Number.NaN })).rejects.toThrow('runAt');
    expect(() => createBullMqCampaignQueue({ connection: 'http://x' })).toThrow('connection');
    expect(() => createBullMqCampaignQueue({ queueName: 'a:b' })).toThrow('queueName');
  });
});

describe('a Redis that may evict keys', () => {
  let server: ChildProcess | undefined;
  afterAll(() => {
    server?.kill('SIGKILL');
  });

  it('is refused at start, with the policy and the fix in the message', async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    server = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--maxmemory-policy',
        'allkeys-lru',
      ],
      { stdio: 'ignore' },
    );
    const probe = new Redis({ port, lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: null });
    probe.on('error', () => {});
    await until(async () => (await probe.ping().catch(() => '')) === 'PONG');
    await probe.quit();
    const queue = createBullMqCampaignQueue({ connection: `redis://127.0.0.1:${port}` });
    await expect(queue.enqueue({ key: 'enr-a-v1', runAt: Date.now() })).rejects.toThrow(
      /maxmemory-policy is "allkeys-lru".*noeviction/,
    );
    const vouched = createBullMqCampaignQueue({
      connection: `redis://127.0.0.1:${port}`,
      assumeNoEviction: true,
    });
    await vouched.enqueue({ key: 'enr-a-v1', runAt: Date.now() + 60_000 });
    await vouched.close();
    await queue.close();
  });
});

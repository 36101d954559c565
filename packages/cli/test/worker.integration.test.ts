import { randomUUID } from 'node:crypto';
import { createDistributedRun } from '@leadpipe/bullmq';
import { type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES, emulatorOptions, runCli } from '../src/index.js';
import { capture } from './support.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `cw-${randomUUID().slice(0, 8)}`;
let running: RunningEmulators;

beforeAll(async () => {
  running = await startEmulators({
    ...emulatorOptions({ vendors: ['apollo', 'hubspot'] }),
    // A key of its own: the limiters' state on Redis is per vendor and key.
    vendorOptions: { apollo: { apiKey: `apl_${randomUUID().replaceAll('-', '')}` } },
  });
});

afterAll(async () => {
  await running?.close();
  const redis = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  await redis.quit();
});

describe('leadpipe worker', () => {
  it('takes the batches a producer submitted, enriches and syncs them, and stops with exit 0 on its signal', async () => {
    const queue = `q-${randomUUID().slice(0, 8)}`;
    running.emulators.hubspot?.emulator.reset();
    const controller = new AbortController();
    const stderr = capture();
    const exit = runCli(
      ['worker', '--redis', REDIS_URL, '--emulate', '--providers', 'apollo', '--crm', 'hubspot'].concat([
        '--queue',
        queue,
        '--prefix',
        prefix,
      ]),
      {
        stdout: capture(),
        stderr,
        env: {},
        cwd: process.cwd(),
        signal: controller.signal,
        emulators: running,
      },
    );
    const runs = createDistributedRun({ connection: REDIS_URL, prefix, queueName: queue, batchSize: 20 });
    try {
      const people = running.truth.people.slice(0, 50).map((person) => ({ Email: person.email }));
      await runs.submit(people, { runId: 'cli' });
      const final = await runs.wait('cli', { pollMs: 200 });
      expect(final).toMatchObject({ batches: 3, batchesRecorded: 3, done: 50, complete: true });
      const contacts = running.emulators.hubspot?.emulator.contacts() ?? [];
      expect(new Set(contacts.map((contact) => String(contact.properties.email).toLowerCase()))).toEqual(
        new Set(people.map((row) => row.Email.toLowerCase())),
      );
    } finally {
      controller.abort(new Error('SIGTERM'));
      await runs.close();
    }
    expect(await exit).toBe(EXIT_CODES.done);
    expect(stderr.text()).toContain('taking batches from');
    expect(stderr.text()).toMatch(/stopped after 3 batches/);
  }, 120_000);

  it('refuses bad flags before connecting, naming each', async () => {
    const stderr = capture();
    const code = await runCli(['worker', '--redis', 'http://x', '--concurrency', '0', '--crm', 'nope'], {
      stdout: capture(),
      stderr,
      env: {},
      cwd: process.cwd(),
    });
    expect(code).toBe(EXIT_CODES.usage);
    expect(stderr.text()).toContain('--redis: must be a redis:// or rediss:// URL');
    expect(stderr.text()).toContain('--concurrency: must be a whole number from 1 to 256');
    expect(stderr.text()).toContain('--crm');
    const missing = capture();
    expect(await runCli(['worker'], { stdout: capture(), stderr: missing, env: {}, cwd: '/' })).toBe(
      EXIT_CODES.usage,
    );
    expect(missing.text()).toContain('--redis: is required');
    const help = capture();
    expect(await runCli(['worker', '--help'], { stdout: help, stderr: capture(), env: {}, cwd: '/' })).toBe(
      0,
    );
    expect(help.text()).toContain('Usage: leadpipe worker --redis <url>');
  });
});

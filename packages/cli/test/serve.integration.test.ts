import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../src/io.js';
import { runCli } from '../src/run.js';
import { capture, tempDir } from './support.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

describe('leadpipe serve with Redis and RabbitMQ', () => {
  it('uses the shared Redis counter, and /ready checks the store, Redis and RabbitMQ', async () => {
    const folder = join(tempDir(), 'store');
    const stderr = capture();
    const controller = new AbortController();
    const done = runCli(
      ['serve', '--port', '0', '--store', folder, '--redis', REDIS_URL, '--amqp', AMQP_URL],
      {
        stdout: capture(),
        stderr,
        env: {},
        cwd: process.cwd(),
        signal: controller.signal,
      },
    );
    try {
      const until = Date.now() + 90_000;
      let line: string | undefined;
      while (line === undefined && Date.now() < until) {
        line = stderr
          .text()
          .split('\n')
          .find((candidate) => candidate.includes('"msg":"listening"'));
        if (line === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(line, stderr.text()).toBeDefined();
      const listening = JSON.parse(line!) as { port: number; rateLimitCounter: string };
      expect(listening.rateLimitCounter).toBe('redis');
      expect(stderr.text()).not.toContain('fell back to memory');
      expect(stderr.text()).not.toContain('guest:guest');
      const ready = await fetch(`http://127.0.0.1:${listening.port}/ready`);
      expect(await ready.json()).toEqual({
        status: 'ready',
        checks: { store: 'ok', redis: 'ok', rabbitmq: 'ok' },
      });
    } finally {
      controller.abort(new Error('SIGTERM'));
    }
    expect(await done).toBe(EXIT_CODES.done);
  }, 180_000);
});

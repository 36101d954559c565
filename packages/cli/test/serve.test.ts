import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../src/io.js';
import { runCli } from '../src/run.js';
import { parseServeArgs } from '../src/serve.js';
import { capture, tempDir } from './support.js';

/** Wait until `captured` holds a line matching `pattern`. */
async function lineMatching(
  captured: { text(): string },
  pattern: RegExp,
  timeoutMs = 60_000,
): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const line = captured
      .text()
      .split('\n')
      .find((candidate) => pattern.test(candidate));
    if (line !== undefined) return line;
    if (Date.now() > until) throw new Error(`no line matching ${pattern} in:\n${captured.text()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('leadpipe serve', () => {
  it('checks its flags, naming each bad one', () => {
    expect(() =>
      parseServeArgs(['--port', 'http', '--redis', 'localhost'], { cwd: '/tmp', env: {} }),
    ).toThrow(/--port: must be a whole number from 0 to 65535.*--redis: must be a redis/s);
    expect(() => parseServeArgs(['--port', '1'], { cwd: '/tmp', env: {} })).toThrow(/--store: is required/);
    expect(parseServeArgs(['--store', 'data'], { cwd: '/srv', env: {} })).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      keysFile: '/srv/data/api-keys.json',
      metricsAllow: ['127.0.0.1', '::1'],
    });
  });

  it('serves everything on an embedded store with no other service, says the rate-limit counter is in memory, and stops on the signal', async () => {
    const folder = join(tempDir(), 'store');
    const stdout = capture();
    const stderr = capture();
    const controller = new AbortController();
    const done = runCli(['serve', '--port', '0', '--store', folder], {
      stdout,
      stderr,
      env: {},
      cwd: process.cwd(),
      signal: controller.signal,
    });
    try {
      const listening = JSON.parse(await lineMatching(stderr, /"msg":"listening"/)) as {
        port: number;
        rateLimitCounter: string;
      };
      expect(listening.rateLimitCounter).toBe('memory');
      expect(stderr.text()).toMatch(/shared rate-limit counter fell back to memory/);
      const keyFile = join(folder, 'api-keys.json.admin-key');
      expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
      const adminKey = (await readFile(keyFile, 'utf8')).trim();
      expect(stderr.text()).not.toContain(adminKey);
      const base = `http://127.0.0.1:${listening.port}`;
      expect((await fetch(`${base}/health`)).status).toBe(200);
      expect((await fetch(`${base}/v1/leads`)).status).toBe(401);
      const auth = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
      const upsert = await fetch(`${base}/v1/leads`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ leads: [{ email: 'ada@acme.com' }] }),
      });
      expect(upsert.status).toBe(200);
      const page = (await (await fetch(`${base}/v1/leads?fields=email`, { headers: auth })).json()) as {
        leads: { email: string }[];
      };
      expect(page.leads.map((lead) => lead.email)).toEqual(['ada@acme.com']);
      expect(await (await fetch(`${base}/ready`)).json()).toEqual({
        status: 'ready',
        checks: { store: 'ok' },
      });
      expect((await fetch(`${base}/v1/dead-letters`, { headers: auth })).status).toBe(200);
    } finally {
      controller.abort(new Error('SIGTERM'));
    }
    expect(await done).toBe(EXIT_CODES.done);
    expect(stderr.text()).toContain('stopping the server');
    expect(stderr.text()).not.toContain('checkpointed');
  }, 120_000);
});

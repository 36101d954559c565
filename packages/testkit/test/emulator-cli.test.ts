import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../../', import.meta.url).pathname;

describe('leadpipe-emulator command', () => {
  it('prints one JSON line with URLs and credentials, serves, and exits cleanly on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leadpipe-emulator-'));
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({ truth: { people: 200, companies: 40 }, limits: { apollo: { perMinute: 9 } } }),
    );
    const child = spawn(
      'pnpm',
      [
        'exec',
        'tsx',
        '--conditions=@leadpipe/source',
        'packages/testkit/src/cli.ts',
        '--vendors',
        'apollo,clearbit',
        '--port',
        '0',
        '--seed',
        '1',
        '--config',
        config,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const lines = createInterface({ input: child.stdout! });
      const first = await new Promise<string>((resolve, reject) => {
        lines.once('line', resolve);
        child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
      });
      const printed = JSON.parse(first) as {
        vendors: Record<string, { baseUrl: string; apiUrl?: string; credentials: Record<string, string> }>;
        pid: number;
      };
      expect(Object.keys(printed.vendors).sort()).toEqual(['apollo', 'clearbit']);
      const apollo = printed.vendors.apollo!;
      const response = await fetch(`${apollo.apiUrl}/people/match`, {
        method: 'POST',
        headers: { 'x-api-key': apollo.credentials.apiKey! },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-rate-limit-minute')).toBe('9');
      const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
      process.kill(printed.pid, 'SIGTERM');
      const code = await exit;
      expect(code === 0 || code === null).toBe(true);
      await expect(fetch(`${apollo.baseUrl}/api/v1/people/match`, { method: 'POST' })).rejects.toThrow();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

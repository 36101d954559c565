import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { demoSubset, readRows, tempDir } from './support.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../..', import.meta.url));

/** Runs the `leadpipe` entry point as a user's shell would, from source. */
async function leadpipe(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      'pnpm',
      ['exec', 'tsx', '--conditions=@leadpipe/source', 'packages/cli/src/cli.ts', ...args],
      { cwd: root, timeout: 30_000, env: { ...process.env, NODE_OPTIONS: '' } },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('the leadpipe executable', () => {
  it('runs the command line and exits with its exit code', async () => {
    // Help, version and every usage error are tested in-process (args.test.ts); this checks the thin entry point.
    const bad = await leadpipe(['enrich', 'leads.csv', '--providers', 'nobody']);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain('leadpipe: --providers: "nobody" is not a provider');
    expect(bad.stderr).toContain('Run leadpipe --help for usage.');
  }, 30_000);
});

describe('pnpm leadpipe, from the root of a clone', () => {
  it('runs the CLI from source on a file of ones own', async () => {
    const dir = tempDir();
    const file = demoSubset(dir, 5, 'my.csv');
    let result: { code: number; stderr: string };
    try {
      await run('pnpm', ['-s', 'leadpipe', 'enrich', file, '--emulate', '--quiet'], {
        cwd: root,
        timeout: 60_000,
        env: { ...process.env, NODE_OPTIONS: '' },
      });
      result = { code: 0, stderr: '' };
    } catch (error) {
      const failed = error as { code?: number; stderr?: string };
      result = { code: failed.code ?? -1, stderr: failed.stderr ?? '' };
    }
    expect([0, 3], result.stderr).toContain(result.code);
    expect((await readRows(join(dir, 'my.enriched.csv'))).length).toBeGreaterThan(0);
  }, 60_000);
});

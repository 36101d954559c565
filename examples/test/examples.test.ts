import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

/** Runs an example exactly as a user would (`tsx` with the workspace's source condition). */
async function runExample(file: string): Promise<string> {
  const { stdout } = await run('pnpm', ['exec', 'tsx', '--conditions=@leadpipe/source', `examples/${file}`], {
    cwd: root,
    timeout: 60_000,
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  return stdout;
}

describe('examples', () => {
  it('quickstart.ts enriches across both providers and prints stats', async () => {
    const out = await runExample('quickstart.ts');
    expect(out).toContain(
      'ada@analytical.io -> enriched: Chief Technology Officer at Analytical Engines (Computer Hardware, 51-200 people)',
    );
    expect(out).toContain(
      'grace@cobol.dev -> enriched: VP Engineering at Cobol Systems (Software, 1001-5000 people)',
    );
    expect(out).toMatch(
      /someone@hopper\.ai -> partial: \? at hopper\.ai \(Artificial Intelligence, 11-50 people\)/,
    );
    const stats = JSON.parse(out.slice(out.indexOf('{')));
    expect(stats.providers.directory).toMatchObject({ calls: 3, matches: 2, misses: 1 });
    expect(stats.providers.firmographics).toMatchObject({ calls: 3, matches: 3 });
    expect(stats.credits).toBe(3.5);
  }, 60_000);
});

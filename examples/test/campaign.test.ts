import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

describe('examples/campaign.ts', () => {
  it('runs the three-step sequence to the end against the SendGrid emulator and prints the stats', async () => {
    // Run as a user would (`tsx` with the workspace's source condition), like the other examples.
    const { stdout } = await run(
      'pnpm',
      ['exec', 'tsx', '--conditions=@leadpipe/source', 'examples/campaign.ts'],
      {
        cwd: root,
        timeout: 120_000,
        env: { ...process.env, NODE_OPTIONS: '' },
      },
    );
    // Friday 12:00 UTC is 07:00 in New York: the first emails wait for 09:00 there; the follow-ups two business days on.
    expect(stdout).toContain('emulated clock at 2026-03-10T13:00:00.000Z; SendGrid holds 90 messages');
    expect(stdout).toContain('hello: 50 sent');
    expect(stdout).toContain('followup: 40 sent');
    expect(stdout).toContain("enrolled 50, completed 40 { 'email.replied': 10 }");
  }, 120_000);
});

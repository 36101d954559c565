import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createMemoryCampaignStore, isAllowedTime } from '@leadpipe/campaigns';
import { type RunningEmulators, type SendgridEmulator, startEmulators } from '@leadpipe/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emulatorOptions, runCli } from '../src/index.js';
import { capture, demoSubset, screenAfter, tempDir } from './support.js';

const exec = promisify(execFile);
const root = fileURLToPath(new URL('../../..', import.meta.url));
const CAMPAIGN = join(root, 'examples/data/campaign.yaml');
/** A Friday, 08:00 in London (UTC in December): the first send waits for 09:00, the follow-up for Tuesday. */
const START = '2026-12-04T08:00:00Z';

/** Runs the `leadpipe` entry point as a user's shell would, from source. */
async function leadpipe(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(
      'pnpm',
      ['exec', 'tsx', '--conditions=@leadpipe/source', 'packages/cli/src/cli.ts', ...args],
      { cwd: root, timeout: 120_000, env: { ...process.env, NODE_OPTIONS: '' } },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** The figures of a step's summary row: `hello email 40 10 0 0 0`. */
function stepRow(stdout: string, step: string): number[] {
  const line = stdout.split('\n').find((text) => text.trim().startsWith(`${step} `));
  if (line === undefined) throw new Error(`no row for ${step} in:\n${stdout}`);
  return line.trim().split(/\s+/).slice(2).map(Number);
}

describe('leadpipe campaign run, spawned', () => {
  it('runs a two-business-day sequence to the end in emulated time, with progress lines and a summary per step', async () => {
    const dir = tempDir();
    // Leads without a location: every one reads the sending window in the campaign's zone.
    const leads = join(dir, 'leads.csv');
    const rows = Array.from(
      { length: 40 },
      (_, i) => `lead${i}@company${i}.example,Lee${i},Smith,Company ${i}`,
    );
    writeFileSync(leads, `Email,First Name,Last Name,Company\n${rows.join('\n')}\n`);
    const state = join(dir, 'state.ndjson');
    const store = join(dir, 'store');
    const args = [
      'campaign',
      'run',
      CAMPAIGN,
      '--emulate',
      '--leads',
      leads,
      '--store',
      store,
      '--start',
      START,
    ];
    const result = await leadpipe([...args, '--reply-rate', '0.25', '--state', state]);
    expect(result.code, result.stderr).toBe(0);
    // Off a terminal: plain progress lines, as leadpipe enrich writes them.
    expect(result.stderr).toMatch(/^leadpipe: progress leads=\d+ enrolled=\d+ sent=\d+ /m);
    expect(result.stdout).toContain('emulated 2026-12-04 08:00Z to 2026-12-08');
    const enrolled = Number(/(\d+) enrolled/.exec(result.stdout)?.[1]);
    expect(enrolled).toBe(40);
    const [helloSent, helloReplied] = stepRow(result.stdout, 'hello');
    const [followupSent, followupReplied] = stepRow(result.stdout, 'followup');
    expect(helloSent).toBe(enrolled);
    expect(helloReplied).toBeGreaterThan(0);
    expect(followupReplied).toBe(0);
    // Everyone who replied left before the follow-up; everyone else got it.
    expect(followupSent).toBe(enrolled - (helloReplied ?? 0));
    expect(result.stdout).toContain(`exited (email.replied ${helloReplied})`);

    // The journal holds when each email went out: inside Mon-Fri 09:00-17:00 London, the follow-up two business days on.
    const journal = createMemoryCampaignStore({ file: state });
    const sends = await journal.listSends();
    expect(sends).toHaveLength(enrolled + (followupSent ?? 0));
    const window = {
      timeZone: 'Europe/London',
      windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'] as const, start: '09:00', end: '17:00' }],
      holidays: ['2026-12-25', '2026-12-28'],
    };
    for (const send of sends) {
      expect(send.status).toBe('sent');
      expect(isAllowedTime(send.sentAt ?? 0, window), new Date(send.sentAt ?? 0).toISOString()).toBe(true);
      const expected = send.stepId === 'hello' ? '2026-12-04T09:00:00.000Z' : '2026-12-08T09:00:00.000Z';
      expect(new Date(send.sentAt ?? 0).toISOString()).toBe(expected);
    }
    await journal.close();

    // A second run on the same state enrolls nobody again and sends nothing more.
    const again = await leadpipe([...args, '--state', state]);
    expect(again.code, again.stderr).toBe(0);
    expect(stepRow(again.stdout, 'hello')[0]).toBe(helloSent);
    const reread = createMemoryCampaignStore({ file: state });
    expect(await reread.listSends()).toHaveLength(sends.length);
    await reread.close();
  }, 180_000);

  it('refuses a run without --emulate, and a campaign file with an error, naming the path (exit 2)', async () => {
    const dir = tempDir();
    const noEmulate = await leadpipe([
      'campaign',
      'run',
      CAMPAIGN,
      '--leads',
      demoSubset(dir, 2),
      '--state',
      'x',
    ]);
    expect(noEmulate.code).toBe(2);
    expect(noEmulate.stderr).toContain('leadpipe: --emulate: is required');
    expect(noEmulate.stderr).toContain('leadpipe: --state: needs --store');

    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      [
        'id: bad',
        'sender: { from: { email: a@acme.test }, postalAddress: x, unsubscribeBaseUrl: https://acme.test/u }',
        'trigger: { event: lead.created }',
        'steps:',
        '  - wait: { businessDays: -2 }',
        '  - email: { template: missing }',
      ].join('\n'),
    );
    const checked = await leadpipe(['campaign', 'check', bad]);
    expect(checked.code).toBe(2);
    expect(checked.stderr).toContain(`leadpipe: ${bad} is not a valid campaign:`);
    expect(checked.stderr).toMatch(/^ {2}steps\[0\]\.wait\.businessDays: /m);

    const good = await leadpipe(['campaign', 'check', CAMPAIGN]);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toContain('campaign intro is valid');
    expect(good.stdout).toContain('3. followup (email)');
  }, 120_000);
});

describe('leadpipe campaign run, in process', () => {
  let running: RunningEmulators;
  let sendgrid: SendgridEmulator;
  beforeAll(async () => {
    running = await startEmulators(emulatorOptions({ vendors: ['sendgrid'] }));
    sendgrid = running.emulators.sendgrid?.emulator as SendgridEmulator;
  });
  afterAll(async () => {
    await running?.close();
  });

  it('sends one compliant email per (enrollment, step) through the SendGrid emulator and draws live progress on a terminal', async () => {
    const dir = tempDir();
    const stdout = capture();
    const stderr = capture({ isTTY: true });
    const code = await runCli(
      [
        'campaign',
        'run',
        CAMPAIGN,
        '--emulate',
        '--leads',
        demoSubset(dir, 20),
        '--start',
        START,
        '--reply-rate',
        '0',
      ],
      { stdout, stderr, env: {}, cwd: dir, emulators: running, progressIntervalMs: 0 },
    );
    expect(code, stderr.text()).toBe(0);
    const enrolled = Number(/(\d+) enrolled/.exec(stdout.text())?.[1]);
    const messages = sendgrid.messages();
    expect(messages).toHaveLength(2 * enrolled);
    const keys = messages.map((message) => message.customArgs.leadpipe_ledger_key);
    expect(new Set(keys).size).toBe(messages.length);
    for (const message of messages) {
      expect(message.headers['List-Unsubscribe']).toMatch(/^<https:\/\/acme\.test\/unsubscribe\?token=/);
      expect(message.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
      expect(message.html).toContain('Acme Ltd, 1 High Street');
    }
    expect(messages.filter((message) => message.subject.startsWith('Any questions'))).toHaveLength(enrolled);
    const screen = screenAfter(stderr.text());
    expect(screen).toContain(`emails    ${2 * enrolled} sent, 0 replied`);
    expect(screen.some((line) => line.startsWith('clock     emulated 2026-12-08 09:00Z'))).toBe(true);
  }, 120_000);

  it('stops when its signal is aborted: the summary says so and the exit code is 130', async () => {
    const dir = tempDir();
    const stdout = capture();
    const stderr = capture();
    const controller = new AbortController();
    controller.abort(new Error('SIGINT'));
    const code = await runCli(
      ['campaign', 'run', CAMPAIGN, '--emulate', '--leads', demoSubset(dir, 5), '--start', START],
      {
        stdout,
        stderr,
        env: {},
        cwd: dir,
        emulators: running,
        signal: controller.signal,
      },
    );
    expect(code, stderr.text()).toBe(130);
    expect(stdout.text()).toContain('(stopped)');
  }, 60_000);
});

describe('leadpipe campaign, usage', () => {
  const io = (dir: string) => ({ stdout: capture(), stderr: capture(), env: {}, cwd: dir });

  it('shows its help, and names every bad flag of run with the reason (exit 2)', async () => {
    const dir = tempDir();
    for (const argv of [['campaign'], ['campaign', '--help'], ['help', 'campaign']]) {
      const streams = io(dir);
      expect(await runCli(argv, streams)).toBe(0);
      expect(streams.stdout.text()).toContain('Usage: leadpipe campaign <command>');
    }
    const runHelp = io(dir);
    expect(await runCli(['campaign', 'run', '--help'], runHelp)).toBe(0);
    expect(runHelp.stdout.text()).toContain('--reply-rate <share>');
    const checkHelp = io(dir);
    expect(await runCli(['help', 'campaign', 'check'], checkHelp)).toBe(0);
    expect(checkHelp.stdout.text()).toContain('Usage: leadpipe campaign check <file>');

    const unknown = io(dir);
    expect(await runCli(['campaign', 'rn', 'x.yaml'], unknown)).toBe(2);
    expect(unknown.stderr.text()).toContain('unknown campaign command "rn" (did you mean run?)');

    const bad = io(dir);
    const code = await runCli(
      ['campaign', 'run', 'x.txt', '--emulate', '--leads', 'l.xlsx', '--reply-rate', '2', '--start', 'soon'],
      bad,
    );
    expect(code).toBe(2);
    const text = bad.stderr.text();
    expect(text).toContain('leadpipe: <file>: x.txt: must end in .json, .yaml');
    expect(text).toContain('leadpipe: --leads: l.xlsx: must end in .csv, .tsv, .ndjson or .jsonl');
    expect(text).toContain('leadpipe: --reply-rate: must be a share from 0 to 1');
    expect(text).toContain('leadpipe: --start: must be an ISO time');

    const flag = io(dir);
    expect(await runCli(['campaign', 'check', 'x.yaml', '--emulat'], flag)).toBe(2);
    expect(flag.stderr.text()).toContain("leadpipe: --emulat: Unknown option '--emulat'");
    const none = io(dir);
    expect(await runCli(['campaign', 'check'], none)).toBe(2);
    expect(none.stderr.text()).toContain('leadpipe: <file>: is required');
  });

  it('checks a campaign module by its default export, and refuses one that does not load', async () => {
    const dir = tempDir();
    const module = join(dir, 'campaign.mjs');
    writeFileSync(
      module,
      `export default ${JSON.stringify({
        id: 'from-module',
        timeZone: 'UTC',
        trigger: { condition: { when: 'company.headcount >= 50' } },
        sender: {
          from: { email: 'a@acme.test' },
          postalAddress: 'Acme Ltd, 1 High Street, London EC1A 1AA, United Kingdom',
          unsubscribeBaseUrl: 'https://acme.test/u',
        },
        steps: [
          {
            id: 'only',
            email: { template: { subject: 'Hi', html: '<a href="{{ unsubscribe_url }}">x</a>' } },
          },
        ],
      })};\n`,
    );
    const good = io(dir);
    expect(await runCli(['campaign', 'check', module], good), good.stderr.text()).toBe(0);
    expect(good.stdout.text()).toContain('campaign from-module is valid');
    expect(good.stdout.text()).toContain('1. only (email)');

    const broken = join(dir, 'broken.mjs');
    writeFileSync(broken, 'export default {;\n');
    const bad = io(dir);
    expect(await runCli(['campaign', 'check', broken], bad)).toBe(2);
    expect(bad.stderr.text()).toContain(`leadpipe: ${broken} is not a valid campaign:`);
    expect(bad.stderr.text()).toContain('cannot be loaded as a module');
  });
});

import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FIELDS, EXIT_CODES, emulatorOptions, runCli } from '../src/index.js';
import { capture, demoSubset, readRows, screenAfter, tempDir } from './support.js';

/**
 * `leadpipe submit` against the local Redis, with two `leadpipe worker
 * --emulators <file>` child processes sharing the emulators this process
 * serves, compared with a local `leadpipe enrich` of the same input.
 */

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const root = fileURLToPath(new URL('../../..', import.meta.url));
const cliPath = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const tsx = pathToFileURL(join(root, 'node_modules/tsx/dist/loader.mjs')).href;
const prefix = `cs-${randomUUID().slice(0, 8)}`;
const queue = `q-${randomUUID().slice(0, 8)}`;
const FIELDS = DEFAULT_FIELDS.join(',');
let running: RunningEmulators;
let dir: string;
const workers: { process: ChildProcess; stderr: () => string; exited: Promise<number | null> }[] = [];

function startWorker(emulatorsFile: string) {
  const child = spawn(
    process.execPath,
    [
      '--conditions=@leadpipe/source',
      '--import',
      tsx,
      cliPath,
      'worker',
      ...['--redis', REDIS_URL, '--emulators', emulatorsFile, '--providers', 'apollo', '--crm', 'hubspot'],
      ...['--fields', FIELDS, '--queue', queue, '--prefix', prefix],
    ],
    { env: { ...process.env, NODE_OPTIONS: '', NODE_PATH: join(root, 'node_modules') }, stdio: 'pipe' },
  );
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const worker = { process: child, stderr: () => err, exited };
  workers.push(worker);
  return worker;
}

async function until(check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  running = await startEmulators({
    ...emulatorOptions({ vendors: ['apollo', 'hubspot'] }),
    // A key of its own: the limiters' state on Redis is per vendor and key.
    vendorOptions: { apollo: { apiKey: `apl_${randomUUID().replaceAll('-', '')}` } },
  });
  dir = tempDir();
  // The JSON line leadpipe-emulator prints.
  const vendors: Record<string, unknown> = {};
  for (const [vendor, urls] of Object.entries(running.urls))
    vendors[vendor] = {
      ...urls,
      credentials: running.credentials[vendor as keyof typeof running.credentials],
    };
  const file = join(dir, 'emulators.json');
  writeFileSync(file, `${JSON.stringify({ vendors })}\n`);
  const started = [startWorker(file), startWorker(file)];
  await until(() => started.every((worker) => worker.stderr().includes('taking batches from')), 90_000);
}, 120_000);

afterAll(async () => {
  for (const worker of workers) worker.process.kill('SIGTERM');
  const codes = await Promise.all(workers.map((worker) => worker.exited));
  await running?.close();
  const redis = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  await redis.quit();
  expect(codes).toEqual(workers.map(() => 0));
  // The two workers ran the 9 batches once between them: the resubmit added none.
  const finished = workers.map((worker) => Number(/stopped after (\d+) batches/.exec(worker.stderr())?.[1]));
  expect(finished.reduce((sum, value) => sum + value, 0)).toBe(9);
}, 60_000);

const io = (stderr = capture(), stdout = capture(), signal?: AbortSignal) => ({
  stdout,
  stderr,
  env: {},
  cwd: dir,
  emulators: running,
  ...(signal === undefined ? {} : { signal }),
});

const byRow = (rows: Record<string, string>[]) =>
  [...rows].sort((a, b) => Number(a.leadpipe_row) - Number(b.leadpipe_row));

describe('leadpipe submit', () => {
  it('runs the input on two worker processes: the same rows, rejects and exit code as a local enrich, with progress lines; a resubmit does nothing twice', async () => {
    const input = demoSubset(dir, 60);
    // One row no identity can be found in: rejected, as a local run rejects it.
    writeFileSync(input, `${readFileSync(input, 'utf8')},NoCompany,,,,,,\n`);

    const local = await runCli(
      ['enrich', 'leads.csv', '--emulate', '--providers', 'apollo', '--crm', 'hubspot'].concat([
        '--out',
        'local/out.csv',
        '--rejects',
        'local/rejects.csv',
        '--report',
        'local/report.json',
      ]),
      io(),
    );
    expect(local).toBe(EXIT_CODES.finishedWithProblems);
    const { total } = JSON.parse(readFileSync(join(dir, 'local/report.json'), 'utf8'));
    expect(total.rejected).toBeGreaterThan(0);

    const stderr = capture();
    const stdout = capture();
    const args = ['submit', 'leads.csv', '--redis', REDIS_URL, '--queue', queue, '--prefix', prefix].concat([
      '--run-id',
      'same-input',
      '--batch-size',
      '7',
      '--out',
      'dist/out.csv',
      '--rejects',
      'dist/rejects.csv',
      '--report',
      'dist/report.json',
    ]);
    const code = await runCli(args, io(stderr, stdout));
    expect(stderr.text()).toContain('leadpipe: run same-input: 61 rows in 9 batches');
    expect(code).toBe(local);
    // The progress display's log lines, as a local run writes them, with the batches instead of the stages.
    expect(stderr.text()).toMatch(
      /leadpipe: progress read=61\/61 batches=\d+\/9 batchesFailed=0 inFlight=\d+ .*done=\d+/,
    );
    expect(stderr.text()).toMatch(
      new RegExp(
        `leadpipe: progress read=61/61 batches=9/9 .*rejected=${total.rejected} .*done=${total.done} `,
      ),
    );
    for (const line of stderr.text().match(/ done=\d+/g) ?? [])
      expect(Number(line.slice(6))).toBeLessThanOrEqual(total.done);
    expect(stdout.text()).toContain('Distributed run same-input: completed');
    expect(stdout.text()).toContain(
      `${total.done} done (${total.duplicates} duplicates), ${total.rejected} rejected`,
    );

    const localRows = byRow(await readRows(join(dir, 'local/out.csv')));
    const distributedRows = await readRows(join(dir, 'dist/out.csv'));
    expect(distributedRows).toHaveLength(total.done - total.duplicates);
    // In input order, and every value (enriched fields and where they came from) as the local run wrote it.
    expect(distributedRows).toEqual(byRow(distributedRows));
    expect(distributedRows).toEqual(localRows);
    expect(await readRows(join(dir, 'dist/rejects.csv'))).toEqual(
      await readRows(join(dir, 'local/rejects.csv')),
    );
    const report = JSON.parse(readFileSync(join(dir, 'dist/report.json'), 'utf8'));
    expect(report).toMatchObject({
      status: 'completed',
      runId: 'same-input',
      submitted: { batches: 9, rows: 61, enqueued: 9 },
      total: { done: total.done, rejected: total.rejected, deadLettered: 0 },
      written: { output: total.done - total.duplicates, rejects: total.rejected, missingBatches: [] },
    });
    // The same input under the same run id again: nothing enqueued, no vendor called, the same files; on a TTY.
    const apolloCalls = running.emulators.apollo?.requests.all().length ?? 0;
    const hubspotCalls = running.emulators.hubspot?.requests.all().length ?? 0;
    const tty = capture({ isTTY: true });
    const again = await runCli(
      ['submit', 'leads.csv', '--redis', REDIS_URL, '--queue', queue, '--prefix', prefix].concat([
        '--run-id',
        'same-input',
        '--batch-size',
        '7',
        '--out',
        'again/out.csv',
      ]),
      io(tty),
    );
    expect(again).toBe(EXIT_CODES.finishedWithProblems);
    expect(tty.text()).toContain('0 enqueued now, 9 submitted before');
    const screen = screenAfter(tty.text()).join('\n');
    expect(screen).toMatch(/rows {6}61 read of 61 \[#{20}\] 100%/);
    expect(screen).toContain('batches   9 recorded of 9, 0 failed');
    expect(running.emulators.apollo?.requests.all().length).toBe(apolloCalls);
    expect(running.emulators.hubspot?.requests.all().length).toBe(hubspotCalls);
    expect(await readRows(join(dir, 'again/out.csv'))).toEqual(distributedRows);
  }, 240_000);

  it('Ctrl-C stops following, not the run: exit 130, the batches stay queued', async () => {
    const idle = `idle-${randomUUID().slice(0, 8)}`; // a queue no worker takes from
    const input = demoSubset(dir, 30, 'idle.csv');
    const controller = new AbortController();
    const stderr = capture({
      onWrite: (chunk) => {
        if (chunk.includes('enqueued now')) setTimeout(() => controller.abort(new Error('SIGINT')), 200);
      },
    });
    const stdout = capture();
    const code = await runCli(
      ['submit', input, '--redis', REDIS_URL, '--queue', idle, '--prefix', prefix, '--batch-size', '10'],
      io(stderr, stdout, controller.signal),
    );
    expect(code).toBe(EXIT_CODES.interrupted);
    expect(stderr.text()).toContain('no longer following the run; its queued batches stay queued');
    expect(stderr.text()).toMatch(/stopped following run idle-[0-9a-f]{16}; it was not cancelled/);
    expect(stdout.text()).toMatch(/Distributed run idle-[0-9a-f]{16}: following-stopped/);
    // Still queued: submitting again finds all 3 batches there (--detach: submit, do not follow).
    const detached = capture();
    const again = capture();
    expect(
      await runCli(
        [
          'submit',
          input,
          '--redis',
          REDIS_URL,
          '--queue',
          idle,
          '--prefix',
          prefix,
          '--batch-size',
          '10',
          '--detach',
        ],
        io(again, detached),
      ),
    ).toBe(EXIT_CODES.done);
    expect(again.text()).toContain('30 rows in 3 batches');
    expect(again.text()).toContain('0 enqueued now, 3 submitted before');
    expect(detached.text()).toMatch(/^idle-[0-9a-f]{16}\n$/);
    const redis = new Redis(REDIS_URL);
    try {
      expect(await redis.llen(`${prefix}:${idle}:wait`)).toBe(3);
    } finally {
      await redis.quit();
    }
  }, 60_000);

  it('refuses bad usage before connecting, naming each flag', async () => {
    const stderr = capture();
    expect(
      await runCli(
        ['submit', 'x.txt', '--redis', 'http://r', '--batch-size', '0', '--run-id', 'a:b'],
        io(stderr),
      ),
    ).toBe(EXIT_CODES.usage);
    expect(stderr.text()).toContain('<file>: "x.txt" must end in .csv');
    expect(stderr.text()).toContain('--redis: must be a redis:// or rediss:// URL');
    expect(stderr.text()).toContain('--batch-size: must be a whole number from 1 to 10000');
    expect(stderr.text()).toContain('--run-id: must be 1 to 64 letters');
    const hint = capture();
    expect(await runCli(['enrich', 'leads.csv', '--redis', REDIS_URL], io(hint))).toBe(EXIT_CODES.usage);
    expect(hint.text()).toContain('leadpipe submit <file> --redis <url>');
    const missing = capture();
    expect(await runCli(['submit', 'missing.csv', '--redis', REDIS_URL], io(missing))).toBe(EXIT_CODES.usage);
    expect(missing.text()).toContain('does not exist');
    const help = capture();
    expect(await runCli(['help', 'submit'], io(capture(), help))).toBe(EXIT_CODES.done);
    expect(help.text()).toContain('Usage: leadpipe submit <file> --redis <url>');
  });
});

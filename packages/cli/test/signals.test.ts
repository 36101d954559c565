import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { PipelineReport } from '@leadpipe/core';
import { afterEach, describe, expect, it } from 'vitest';
import { EMULATE_FAULTS_VARIABLE } from '../src/emulate.js';
import { demoSubset, readRows, tempDir } from './support.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const cliPath = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
/** tsx's loader, by URL: the child runs in a temporary folder, where `tsx` does not resolve. */
const tsx = pathToFileURL(join(root, 'node_modules/tsx/dist/loader.mjs')).href;

/** A `leadpipe` process run from source, as a user's shell (or `timeout`, `docker stop`, systemd) runs it. */
interface Child {
  readonly process: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stderr matches `pattern`. */
  waitFor(pattern: RegExp): Promise<void>;
  /** Exit code (or 128 + signal number when killed by one) and when it exited. */
  readonly exited: Promise<{ code: number; at: number }>;
}

const children = new Set<ChildProcess>();
afterEach(() => {
  // A test that failed must not leave its child running.
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
});

function leadpipe(args: string[], cwd: string, faults?: object): Child {
  const child = spawn(
    process.execPath,
    ['--conditions=@leadpipe/source', '--import', tsx, cliPath, ...args],
    {
      cwd,
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        ...(faults === undefined ? {} : { [EMULATE_FAULTS_VARIABLE]: JSON.stringify(faults) }),
        // tsx is resolved from the repository root.
        NODE_PATH: join(root, 'node_modules'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.add(child);
  let out = '';
  let err = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
    for (const waiter of [...waiters]) {
      if (waiter.pattern.test(err)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  });
  const exited = new Promise<{ code: number; at: number }>((resolve) =>
    child.on('exit', (code, signal) =>
      resolve({
        code: code ?? 128 + (signal === 'SIGTERM' ? 15 : signal === 'SIGINT' ? 2 : 9),
        at: Date.now(),
      }),
    ),
  );
  return {
    process: child,
    stdout: () => out,
    stderr: () => err,
    waitFor: (pattern) =>
      new Promise<void>((resolve, reject) => {
        if (pattern.test(err)) return resolve();
        waiters.push({ pattern, resolve });
        void exited.then(() => reject(new Error(`exited before ${pattern}: ${err}`)));
      }),
    exited,
  };
}

function readReport(path: string): PipelineReport {
  return JSON.parse(readFileSync(path, 'utf8')) as PipelineReport;
}

/** Vendors that never answer (for 600 s of real time at --emulate's time scale). */
const HANG = { hangRate: 1, hangMs: 600_000 * 600 };

describe('leadpipe and signals (child process)', () => {
  it('SIGTERM stops like the first Ctrl-C: checkpointed, told, exit 143, and --resume finishes the rest', async () => {
    const dir = tempDir();
    demoSubset(dir, 150);
    const args = ['enrich', 'leads.csv', '--emulate', '--report', 'report.json', '--concurrency', '2'];
    // Slow vendors (a quarter of a second a call) so the run is still going when the signal comes.
    const child = leadpipe(args, dir, { latencyMs: 150_000 });
    await child.waitFor(/progress .*done=([2-9]\d|\d{3})/);
    const sentAt = Date.now();
    child.process.kill('SIGTERM');
    const { code, at } = await child.exited;
    expect(code).toBe(143);
    expect(at - sentAt).toBeLessThan(10_000);
    expect(child.stderr()).toContain('leadpipe: stopping (SIGTERM): no more rows are read');
    expect(child.stderr()).toMatch(/leadpipe: interrupted; \d+ rows are checkpointed/);
    expect(child.stdout()).toContain('Pipeline run: aborted');
    const first = readReport(join(dir, 'report.json'));
    expect(first.status).toBe('aborted');
    const written = (await readRows(join(dir, 'leads.enriched.csv'))).length;
    expect(written).toBeGreaterThanOrEqual(20);
    expect(written).toBe(first.counts.done - first.counts.duplicates);

    // The checkpoint holds what was finished: the resumed run skips it and does only the rest.
    const resumed = leadpipe([...args, '--resume'], dir);
    expect([0, 3]).toContain((await resumed.exited).code);
    const second = readReport(join(dir, 'report.json'));
    expect(second.resumed).toBe(true);
    const finishedFirst = first.counts.done + first.counts.rejected + first.counts.deadLettered;
    expect(second.counts.skipped).toBeGreaterThanOrEqual(finishedFirst);
    const emails = (await readRows(join(dir, 'leads.enriched.csv'))).map((row) => row.Email?.toLowerCase());
    expect(new Set(emails).size).toBe(emails.length);
    expect(emails.length).toBeGreaterThan(written);
  }, 60_000);

  it('Ctrl-C with every vendor hanging exits within 10 s, checkpointed, with exit code 130', async () => {
    const dir = tempDir();
    demoSubset(dir, 100);
    const child = leadpipe(
      ['enrich', 'leads.csv', '--emulate', '--crm', 'hubspot', '--report', 'r.json'],
      dir,
      HANG,
    );
    await child.waitFor(/leadpipe: enriching/);
    await delay(3_000); // the first calls are out, and hang
    const sentAt = Date.now();
    child.process.kill('SIGINT');
    const { code, at } = await child.exited;
    expect(at - sentAt).toBeLessThan(10_000);
    expect(code).toBe(130);
    expect(child.stderr()).toContain('leadpipe: stopping (SIGINT)');
    expect(child.stderr()).toContain('Run the same command with --resume to finish.');
    const report = readReport(join(dir, 'r.json'));
    expect(report.status).toBe('aborted');
    // Nothing answered, so nothing was enriched; the rows that could not be finished are said to be so.
    expect(report.counts.unfinished).toBeGreaterThan(0);
    expect(report.counts.enriched).toBe(0);
  }, 60_000);

  it('a second Ctrl-C quits at once, without waiting for the calls in flight', async () => {
    const dir = tempDir();
    demoSubset(dir, 100);
    const child = leadpipe(['enrich', 'leads.csv', '--emulate'], dir, HANG);
    await child.waitFor(/leadpipe: enriching/);
    await delay(2_000);
    child.process.kill('SIGINT');
    await child.waitFor(/leadpipe: stopping \(SIGINT\)/);
    const sentAt = Date.now();
    child.process.kill('SIGINT');
    const { code, at } = await child.exited;
    expect(code).toBe(130);
    // The first Ctrl-C would wait out the 2 s grace calls in flight get; the second does not.
    expect(at - sentAt).toBeLessThan(1_500);
    expect(child.stderr()).toContain('leadpipe: SIGINT again: quitting at once');
  }, 60_000);
});

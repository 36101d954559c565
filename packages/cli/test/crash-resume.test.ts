import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { PipelineReport } from '@leadpipe/core';
import { openPostgresStore } from '@leadpipe/store-postgres';
import { type RecordedRequest, type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emulatorOptions } from '../src/index.js';
import { readRows, tempDir } from './support.js';

/**
 * Crash and resume, for real: the `leadpipe` command runs in a child process
 * against emulators served by this test process, so what each vendor was
 * asked is counted across every run. The child is killed with SIGKILL at
 * chosen points, then resumed; the four numbers of issue 11 §1 are checked.
 */

const root = fileURLToPath(new URL('../../..', import.meta.url));
// tsx's loader in this very process (not the tsx command, which runs a second process that SIGKILL would miss).
const tsxLoader = pathToFileURL(createRequire(join(root, 'package.json')).resolve('tsx')).href;
const child = fileURLToPath(new URL('./fixtures/cli-child.ts', import.meta.url));

let running: RunningEmulators;

beforeAll(async () => {
  running = await startEmulators(emulatorOptions());
});

afterAll(async () => {
  await running?.close();
});

const PROVIDERS = ['apollo', 'clearbit'] as const;

/** Every vendor that can be frozen: its requests hang (unanswered, so unpaid) until thawed. */
function freeze(vendors: readonly ('apollo' | 'clearbit' | 'hubspot')[]): void {
  // Emulated time runs 600 times faster: this is about ten real minutes, longer than any test.
  for (const vendor of vendors) running.emulators[vendor]?.faults.configure({ hangRate: 1, hangMs: 3.6e8 });
}

function thaw(): void {
  for (const vendor of ['apollo', 'clearbit', 'hubspot'] as const) running.emulators[vendor]?.faults.clear();
}

/**
 * What each provider answered for good (200, or 404: not found), per
 * looked-up key (`person:<email>`, `company:<domain>`): a key answered twice
 * was paid twice. A 202 (Clearbit: queued, ask again later) is no answer.
 */
function answeredKeys(requests: readonly RecordedRequest[]): string[] {
  const keys: string[] = [];
  for (const request of requests) {
    if (request.status !== 200 && request.status !== 404) continue;
    let body: Record<string, unknown> = {};
    try {
      body = request.body === '' ? {} : (JSON.parse(request.body) as Record<string, unknown>);
    } catch {
      // A form body: the keys are in the query.
    }
    const emails: unknown[] = [];
    const domains: unknown[] = [];
    if (Array.isArray(body.details)) {
      for (const detail of body.details as Record<string, unknown>[]) emails.push(detail.email);
    }
    if (Array.isArray(body.domains)) domains.push(...body.domains);
    if (typeof body.email === 'string') emails.push(body.email);
    if (typeof body.domain === 'string') domains.push(body.domain);
    for (const [name, value] of Object.entries(request.query)) {
      if (name === 'email') emails.push(value);
      if (name === 'domain' || name === 'domains[]') domains.push(...value.split(','));
    }
    for (const email of emails) keys.push(`person:${String(email).toLowerCase()}`);
    for (const domain of domains) keys.push(`company:${String(domain).toLowerCase()}`);
  }
  return keys;
}

/** CSV text of `rows`, every cell quoted. */
function csv(rows: readonly (readonly string[])[]): string {
  return `${rows.map((row) => row.map((cell) => `"${cell.replaceAll('"', '""')}"`).join(',')).join('\n')}\n`;
}

function repeated(keys: readonly string[]): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const key of keys) (seen.has(key) ? twice : seen).add(key);
  return [...twice];
}

/**
 * The input: `people` people of the ground truth, with a duplicate (the
 * same email in capitals) every 40th row and an unreadable row every 97th.
 */
function writeInput(
  dir: string,
  people: number,
): { path: string; uniqueEmails: Set<string>; rows: string[][] } {
  const rows: string[][] = [['Email', 'First Name', 'Last Name', 'Company']];
  const uniqueEmails = new Set<string>();
  running.truth.people.slice(0, people).forEach((person, index) => {
    rows.push([person.email, person.firstName, person.lastName, running.truth.companyOf(person).name]);
    uniqueEmails.add(person.email.toLowerCase());
    if (index % 40 === 39) {
      const earlier = running.truth.people[index - 20];
      if (earlier) rows.push([earlier.email.toUpperCase(), earlier.firstName, earlier.lastName, '']);
    }
    if (index % 97 === 96) rows.push(['not an email', '', '', '']);
  });
  const path = join(dir, 'leads.csv');
  writeFileSync(path, csv(rows));
  return { path, uniqueEmails, rows };
}

function dataLines(path: string): number {
  if (!existsSync(path)) return 0;
  const text = readFileSync(path, 'utf8');
  return Math.max(0, text.split('\n').length - 2);
}

function sizes(paths: readonly string[]): string {
  return paths.map((path) => (existsSync(path) ? statSync(path).size : -1)).join(',');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface KillPoint {
  /** Kill once the output has at least this many rows. */
  readonly afterOutputRows: number;
  /** Vendors frozen before the kill, so that the child settles (answers in, files written) first. */
  readonly frozen: readonly ('apollo' | 'clearbit' | 'hubspot')[];
}

function startChild(dir: string, args: readonly string[]): { process: ChildProcess; exit: Promise<number> } {
  const spec = JSON.stringify({ urls: running.urls, credentials: running.credentials });
  const proc = spawn(
    process.execPath,
    ['--import', tsxLoader, '--conditions=@leadpipe/source', child, ...args],
    {
      cwd: dir,
      env: { ...process.env, NODE_OPTIONS: '', LEADPIPE_TEST_EMULATORS: spec },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exit = new Promise<number>((resolve) =>
    proc.once('exit', (code, signal) => {
      if (code !== null && code > 3) console.error(stderr);
      resolve(code ?? (signal === 'SIGKILL' ? -9 : -1));
    }),
  );
  return { process: proc, exit };
}

/** Run the command until `point`, then kill it with SIGKILL; resolves with the output rows at the kill. */
async function runUntilKilled(dir: string, args: readonly string[], point: KillPoint): Promise<number> {
  const { process: proc, exit } = startChild(dir, args);
  const out = join(dir, 'leads.enriched.csv');
  let exited: number | undefined;
  void exit.then((code) => {
    exited = code;
  });
  while (exited === undefined && dataLines(out) < point.afterOutputRows) await sleep(20);
  if (exited !== undefined) throw new Error(`the run ended (exit ${exited}) before the kill point`);
  freeze(point.frozen);
  // Let what was answered reach the files: wait until nothing changes for a while.
  const watched = [out, join(dir, 'leads.rejects.csv'), join(dir, 'leads.enriched.csv.checkpoint')];
  let last = sizes(watched);
  for (let stable = 0; stable < 10; ) {
    await sleep(50);
    const now = sizes(watched);
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
  const rows = dataLines(out);
  proc.kill('SIGKILL');
  expect(await exit).toBe(-9);
  thaw();
  return rows;
}

describe('a crash, then --resume (issue 11 §1)', () => {
  it('SIGKILL at several points, then resume: no duplicate output or reject, each lead paid once, CRM records = unique keys', async () => {
    const dir = tempDir();
    const { uniqueEmails, rows: input } = writeInput(dir, 1_500);
    const args = ['enrich', 'leads.csv', '--emulate', '--crm', 'hubspot', '-q', '--report', 'report.json'];
    for (const vendor of [...PROVIDERS, 'hubspot'] as const) running.emulators[vendor]?.requests.clear();
    running.emulators.hubspot?.emulator.reset();

    // 1: before the first checkpoint flush (every 1,000 rows), everything frozen: answers paid, rows unwritten.
    const first = await runUntilKilled(dir, args, {
      afterOutputRows: 300,
      frozen: [...PROVIDERS, 'hubspot'],
    });
    // 2: between two flushes (after the one at 1,000 rows), providers frozen, the CRM writing what it has.
    const second = await runUntilKilled(dir, [...args, '--resume'], {
      afterOutputRows: 1_100,
      frozen: [...PROVIDERS],
    });
    expect(second).toBeGreaterThan(first);
    const last = startChild(dir, [...args, '--resume']);
    const code = await last.exit;
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as PipelineReport;
    expect(report.status).toBe('completed');

    // 0 duplicate output rows; every unique lead is there.
    const rows = await readRows(join(dir, 'leads.enriched.csv'));
    const emails = rows.map((row) => String(row.Email).toLowerCase());
    const duplicateRows = emails.length - new Set(emails).size;
    // 0 duplicate rejects; every bad row is there.
    const rejects = (await readRows(join(dir, 'leads.rejects.csv'))).map((row) => Number(row.leadpipe_row));
    const duplicateRejects = rejects.length - new Set(rejects).size;
    // Exactly one provider call per unique lead (and per company) across the three runs.
    const paidTwice = PROVIDERS.map((vendor) => ({
      vendor,
      keys: answeredKeys(running.emulators[vendor]?.requests.all() ?? []),
    }));
    const apolloPeople = new Set(paidTwice[0]?.keys.filter((key) => key.startsWith('person:')));
    // CRM records = unique keys.
    const contacts = (running.emulators.hubspot?.emulator.contacts() ?? []).map((contact) =>
      String(contact.properties.email).toLowerCase(),
    );
    console.log(
      JSON.stringify({
        test: 'crash-resume',
        killedAtOutputRows: [first, second],
        duplicateRows,
        duplicateRejects,
        paidTwice: Object.fromEntries(paidTwice.map(({ vendor, keys }) => [vendor, repeated(keys).length])),
        calls: Object.fromEntries(paidTwice.map(({ vendor, keys }) => [vendor, keys.length])),
        uniqueLeads: uniqueEmails.size,
        contacts: contacts.length,
      }),
    );
    expect(duplicateRows).toBe(0);
    // Each output row names its input row (rows are written as they finish): the same lead.
    for (const row of rows) expect(input[Number(row.leadpipe_row)]?.[0]).toBe(row.Email);
    // Every row merged as a duplicate is named once, with the row it was folded into.
    const merged = await readRows(join(dir, 'leads.duplicates.csv'));
    const mergedRows = merged.map((row) => Number(row.leadpipe_row));
    expect(new Set(mergedRows).size).toBe(mergedRows.length);
    expect(mergedRows).toHaveLength(Math.floor(1_500 / 40));
    expect(report.total.duplicates).toBe(mergedRows.length);
    for (const row of merged) {
      expect(input[Number(row.leadpipe_duplicate_of)]?.[0]?.toLowerCase()).toBe(row.Email?.toLowerCase());
    }
    expect(new Set(emails)).toEqual(uniqueEmails);
    expect(duplicateRejects).toBe(0);
    expect(rejects).toHaveLength(Math.floor(1_500 / 97));
    for (const { keys } of paidTwice) expect(repeated(keys)).toEqual([]);
    expect(apolloPeople).toEqual(new Set([...uniqueEmails].map((email) => `person:${email}`)));
    expect(contacts).toHaveLength(uniqueEmails.size);
    expect(new Set(contacts)).toEqual(uniqueEmails);
    // The resumed run's exit code and report cover the earlier parts: rows rejected before the kills count.
    expect(report.total.rejected).toBe(Math.floor(1_500 / 97));
    expect(report.total.done).toBe(rows.length + report.total.duplicates);
    expect(code).toBe(3);
  }, 180_000);

  it('SIGKILL with calls in flight (nothing frozen), then resume: no duplicate row, reject or merge entry; CRM records = unique keys', async () => {
    const dir = tempDir();
    const { uniqueEmails } = writeInput(dir, 1_200);
    const args = ['enrich', 'leads.csv', '--emulate', '--crm', 'hubspot', '-q', '--report', 'report.json'];
    for (const vendor of [...PROVIDERS, 'hubspot'] as const) running.emulators[vendor]?.requests.clear();
    running.emulators.hubspot?.emulator.reset();
    const { process: proc, exit } = startChild(dir, args);
    const out = join(dir, 'leads.enriched.csv');
    // Just past the first checkpoint flush (1,000 rows), with everything moving.
    while (dataLines(out) < 1_030) await sleep(10);
    proc.kill('SIGKILL');
    expect(await exit).toBe(-9);
    const last = await startChild(dir, [...args, '--resume']).exit;
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as PipelineReport;
    expect(report.status).toBe('completed');
    expect(last).toBe(3);
    const emails = (await readRows(out)).map((row) => String(row.Email).toLowerCase());
    const rejects = (await readRows(join(dir, 'leads.rejects.csv'))).map((row) => row.leadpipe_row);
    const merged = (await readRows(join(dir, 'leads.duplicates.csv'))).map((row) => row.leadpipe_row);
    const contacts = (running.emulators.hubspot?.emulator.contacts() ?? []).map((contact) =>
      String(contact.properties.email).toLowerCase(),
    );
    const paidTwice = PROVIDERS.map(
      (vendor) => repeated(answeredKeys(running.emulators[vendor]?.requests.all() ?? [])).length,
    );
    console.log(
      JSON.stringify({
        test: 'crash-resume-hot',
        duplicateRows: emails.length - new Set(emails).size,
        duplicateRejects: rejects.length - new Set(rejects).size,
        duplicateMerges: merged.length - new Set(merged).size,
        paidTwice: Object.fromEntries(PROVIDERS.map((vendor, index) => [vendor, paidTwice[index]])),
        uniqueLeads: uniqueEmails.size,
        contacts: contacts.length,
      }),
    );
    expect(emails).toHaveLength(uniqueEmails.size);
    expect(new Set(emails)).toEqual(uniqueEmails);
    expect(new Set(rejects).size).toBe(rejects.length);
    expect(rejects).toHaveLength(Math.floor(1_200 / 97));
    expect(new Set(merged).size).toBe(merged.length);
    expect(merged).toHaveLength(Math.floor(1_200 / 40));
    expect(new Set(contacts)).toEqual(uniqueEmails);
    expect(contacts).toHaveLength(uniqueEmails.size);
    // Only an answer the vendor sent while the process died, before it reached the result log, can be paid again:
    // at most the calls in flight (16 leads at once, Apollo's batches of 10).
    for (const count of paidTwice) expect(count).toBeLessThanOrEqual(32);
  }, 180_000);

  it('SIGKILL with --store <folder> (embedded), then resume: the store holds every unique lead once, as the output has it', async () => {
    const dir = tempDir();
    const { uniqueEmails } = writeInput(dir, 1_200);
    const store = join(dir, 'store');
    const args = ['enrich', 'leads.csv', '--emulate', '--store', store, '-q', '--report', 'report.json'];
    const { process: proc, exit } = startChild(dir, args);
    const out = join(dir, 'leads.enriched.csv');
    // Past the first checkpoint flush (1,000 rows), with the store writing batches. The flush is written a little
    // after the rows on a loaded machine: wait for the checkpoint file too, or the resume has nothing to resume.
    const checkpoint = join(dir, 'leads.enriched.csv.checkpoint');
    while (dataLines(out) < 1_030 || !existsSync(checkpoint) || statSync(checkpoint).size === 0)
      await sleep(10);
    proc.kill('SIGKILL');
    expect(await exit).toBe(-9);
    const last = await startChild(dir, [...args, '--resume']).exit;
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as PipelineReport;
    expect(report.status).toBe('completed');
    expect(report.resumed).toBe(true);
    expect(last).toBe(3);
    // The resumed run wrote again the rows after the last checkpoint: those the store had are unchanged, not doubled.
    expect(report.store?.failed).toBe(0);
    expect(report.store?.updated).toBe(0);
    const rows = await readRows(out);
    const opened = await openPostgresStore({ connection: store });
    try {
      const stored = new Map<string, unknown>();
      for await (const lead of opened.leads.export({ fields: ['email', 'title', 'company.name'] })) {
        expect(stored.has(String(lead.email))).toBe(false);
        stored.set(String(lead.email), { title: lead.title, company: lead.company?.name });
      }
      console.log(
        JSON.stringify({
          test: 'crash-resume-store',
          uniqueLeads: uniqueEmails.size,
          stored: stored.size,
          resumedRun: report.store,
        }),
      );
      expect(new Set(stored.keys())).toEqual(uniqueEmails);
      // What the store holds for each lead is what the output row says (the same enrichment, not a second one).
      for (const row of rows) {
        const lead = stored.get(String(row.Email).toLowerCase()) as { title?: string; company?: string };
        expect(lead.title ?? '').toBe(row.title ?? '');
      }
    } finally {
      await opened.close();
    }
  }, 300_000);
});

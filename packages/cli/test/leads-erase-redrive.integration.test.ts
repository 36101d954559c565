import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createFileDeadLetterQueue,
  type DeadLetterEntry,
  type LeadStoreRecord,
  type PipelineReport,
} from '@leadpipe/core';
import { type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CliIo, EXIT_CODES, emulatorOptions, runCli } from '../src/index.js';
import { ageLeadsSql } from './leads-suite.js';
import { capture, demoSubset, tempDir } from './support.js';

/**
 * `leadpipe leads erase` over the files of real `leadpipe enrich --emulate`
 * runs, and `leadpipe redrive --store` of the leads a real store refused,
 * on the real PostgreSQL. Schemas of this file's own (`lp_cli_...`, not the
 * `lp_t_` prefix the integration setup drops, so a concurrent run's setup
 * cannot drop them mid-test), dropped after.
 */

function databaseUrl(): string {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
  url.pathname = '/leadpipe_store_test';
  return url.toString();
}

const schemas: string[] = [];
function newStore(): { schema: string; url: string } {
  const schema = `lp_cli_${randomBytes(6).toString('hex')}`;
  schemas.push(schema);
  return { schema, url: `${databaseUrl()}?schema=${schema}` };
}

async function sql(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl() });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** A trigger that makes every insert into the store's leads table fail: the store's upsert throws. */
const refuseSql = (schema: string) => `
  CREATE FUNCTION "${schema}".refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'the store refuses %', NEW.identity; END $$;
  CREATE TRIGGER refuse BEFORE INSERT ON "${schema}".leads FOR EACH ROW EXECUTE FUNCTION "${schema}".refuse();`;
const acceptSql = (schema: string) => `DROP TRIGGER refuse ON "${schema}".leads`;

let running: RunningEmulators;

beforeAll(async () => {
  running = await startEmulators(emulatorOptions());
}, 60_000);

afterAll(async () => {
  await running?.close();
  for (const schema of schemas) await sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
});

beforeEach(() => {
  running.emulators.hubspot?.emulator.reset();
  running.emulators.hubspot?.emulator.setFaults({});
});

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function cli(argv: string[], cwd: string, io: Partial<CliIo> = {}): Promise<Outcome> {
  const stdout = capture();
  const stderr = capture();
  const code = await runCli(argv, { env: {}, cwd, emulators: running, ...io, stdout, stderr });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

async function deadLettersIn(path: string): Promise<DeadLetterEntry[]> {
  const queue = createFileDeadLetterQueue(path);
  const entries: DeadLetterEntry[] = [];
  try {
    let cursor: string | undefined;
    do {
      const page = await queue.list(cursor === undefined ? {} : { cursor });
      entries.push(...page.entries);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  } finally {
    await queue.close();
  }
  return entries;
}

function readReport(path: string): PipelineReport {
  return JSON.parse(readFileSync(path, 'utf8')) as PipelineReport;
}

function storedEmails(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => (JSON.parse(line) as LeadStoreRecord).email ?? '');
}

describe('leadpipe leads erase: the store and the files leadpipe enrich keeps', () => {
  it('removes a person from the store, the --cache file, a dead-letters file, a checkpoint’s answers and an archive file, and says where', async () => {
    const dir = tempDir();
    const { schema, url } = newStore();
    demoSubset(dir, 30);
    // Run 1: completed, answers kept in --cache, HubSpot refuses half the records (dead letters).
    running.emulators.hubspot?.emulator.setFaults({ partialFailureRate: 0.5 });
    const first = await cli(
      [
        'enrich',
        'leads.csv',
        '--emulate',
        '--crm',
        'hubspot',
        '--store',
        url,
        '--cache',
        'answers.ndjson',
        '-q',
      ],
      dir,
    );
    expect(first.code, first.stderr).toBe(EXIT_CODES.finishedWithProblems);
    running.emulators.hubspot?.emulator.setFaults({});
    const deadLettersPath = join(dir, 'leads.dead-letters.ndjson');
    const deadLetters = await deadLettersIn(deadLettersPath);
    expect(deadLetters.length).toBeGreaterThan(2);
    expect(existsSync(join(dir, 'answers.ndjson'))).toBe(true);

    // Run 2: interrupted, so its checkpoint and the answers it paid for stay.
    mkdirSync(join(dir, 'run2'));
    const controller = new AbortController();
    const stderr = capture({
      onWrite: (chunk) => {
        const done = /done=(\d+)/.exec(chunk);
        if (done && Number(done[1]) >= 18) controller.abort(new Error('Ctrl-C'));
      },
    });
    const second = await runCli(['enrich', 'leads.csv', '--emulate', '--out', 'run2/leads.enriched.csv'], {
      env: {},
      cwd: dir,
      emulators: running,
      stdout: capture(),
      stderr,
      signal: controller.signal,
      progressIntervalMs: 0,
    });
    expect(second).toBe(EXIT_CODES.interrupted);
    const resultsPath = join(dir, 'run2/leads.enriched.csv.checkpoint.results');
    expect(existsSync(resultsPath)).toBe(true);

    // An archive: every lead archived to a file, then imported back (the store holds it in both).
    await sql(ageLeadsSql(schema, 400));
    const retained = await cli(
      ['leads', 'retain', '--archive-after', '365d', '--archive-file', 'archive.ndjson', '--store', url],
      dir,
    );
    expect(retained.code, retained.stderr).toBe(0);
    const restored = await cli(['leads', 'import', 'archive.ndjson', '--store', url], dir);
    expect(restored.code, restored.stdout).toBe(0);

    // The person: one whose record HubSpot refused, and whose answers both runs kept.
    const files = {
      cache: join(dir, 'answers.ndjson'),
      results: resultsPath,
      deadLetters: deadLettersPath,
      archive: join(dir, 'archive.ndjson'),
    };
    const mentions = (path: string, email: string) =>
      readFileSync(path, 'utf8').toLowerCase().includes(email);
    const email = deadLetters
      .map((entry) => entry.record.key.toLowerCase())
      .find((key) => Object.values(files).every((path) => mentions(path, key)));
    expect(email, 'a person in every file').toBeDefined();
    const others = storedEmails(readFileSync(files.archive, 'utf8')).filter((other) => other !== email);
    const sizes = {
      deadLetters: deadLetters.length,
      archive: others.length + 1,
    };

    const erased = await cli(
      [
        'leads',
        'erase',
        '--email',
        email!.toUpperCase(),
        '--store',
        url,
        '--run',
        'leads.enriched.csv',
        '--cache',
        'answers.ndjson',
        '--checkpoint',
        'run2/leads.enriched.csv.checkpoint',
        '--archive-file',
        'archive.ndjson',
      ],
      dir,
    );
    expect(erased.code, erased.stderr).toBe(0);
    const line = erased.stdout.trim();
    expect(line.startsWith(`${email}: erased from leads (1), `)).toBe(true);
    expect(line).toMatch(/archive \(1\)/);
    expect(line).toMatch(/answers answers\.ndjson \([1-9]\d*\)/);
    expect(line).toMatch(/answers run2\/leads\.enriched\.csv\.checkpoint\.results \([1-9]\d*\)/);
    expect(line).toMatch(/dead letters leads\.dead-letters\.ndjson \(1\)/);
    expect(line).toMatch(/archive archive\.ndjson \(1\)/);
    // The completed run's checkpoint answers are gone already: looked in, nothing there.
    expect(line).toMatch(/nothing in .*answers leads\.enriched\.csv\.checkpoint\.results/);

    // Nothing of the person is left in any file; everyone else is.
    for (const path of Object.values(files)) expect(mentions(path, email!), path).toBe(false);
    const left = await deadLettersIn(deadLettersPath);
    expect(left).toHaveLength(sizes.deadLetters - 1);
    expect(left.map((entry) => entry.id)).toEqual(
      deadLetters.filter((entry) => entry.record.key.toLowerCase() !== email).map((entry) => entry.id),
    );
    expect(storedEmails(readFileSync(files.archive, 'utf8'))).toEqual(others);
    const query = await cli(
      ['leads', 'query', '--store', url, '--fields', 'email', '--format', 'ndjson', '--limit', '100'],
      dir,
    );
    expect(storedEmails(query.stdout)).not.toContain(email);
    expect(storedEmails(query.stdout).length).toBe(others.length);

    // The interrupted run still resumes from its checkpoint, answers intact.
    const resumed = await cli(
      ['enrich', 'leads.csv', '--emulate', '--out', 'run2/leads.enriched.csv', '--resume', '-q'],
      dir,
    );
    expect([0, 3], resumed.stderr).toContain(resumed.code);

    // Again: found nowhere. Files alone, without a store, are fine too.
    const again = await cli(
      ['leads', 'erase', '--email', email!, '--cache', 'answers.ndjson', '--run', 'leads.enriched.csv'],
      dir,
    );
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(
      new RegExp(
        `^${email!.replace(/[.+]/g, '\\$&')}: not found anywhere \\(looked in answers answers\\.ndjson, `,
      ),
    );
  }, 300_000);

  it('refuses, before erasing anything, a file that is not there or not what its flag says', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'answers.ndjson'),
      '{"k":"x:email:ada@acme.example","v":{},"x":99999999999999}\n',
    );
    writeFileSync(join(dir, 'not-dead-letters.ndjson'), '{"hello":"world"}\n');
    const missing = await cli(
      [
        'leads',
        'erase',
        '--email',
        'ada@acme.example',
        '--cache',
        'answers.ndjson',
        '--dead-letters',
        'gone.ndjson',
      ],
      dir,
    );
    expect(missing.code).toBe(EXIT_CODES.usage);
    expect(missing.stderr).toMatch(/--dead-letters: .*gone\.ndjson does not exist/);
    expect(readFileSync(join(dir, 'answers.ndjson'), 'utf8')).toContain('ada@acme.example');
    const noRun = await cli(['leads', 'erase', '--email', 'ada@acme.example', '--run', 'nothing.csv'], dir);
    expect(noRun.code).toBe(EXIT_CODES.usage);
    expect(noRun.stderr).toMatch(/--run: .*nothing\.csv does not exist/);
    const badRun = await cli(['leads', 'erase', '--email', 'ada@acme.example', '--run', 'output.txt'], dir);
    expect(badRun.code).toBe(EXIT_CODES.usage);
    expect(badRun.stderr).toContain('--run: "output.txt" must be an enrich output file');
    const wrong = await cli(
      ['leads', 'erase', '--email', 'ada@acme.example', '--dead-letters', 'not-dead-letters.ndjson'],
      dir,
    );
    expect(wrong.code).toBe(EXIT_CODES.usage);
    expect(wrong.stderr).toMatch(/--dead-letters: Dead-letter file .* cannot be read/);
    const noStore = await cli(['leads', 'erase', '--email', 'ada@acme.example'], dir);
    expect(noStore.code).toBe(EXIT_CODES.usage);
    expect(noStore.stderr).toContain('--store: is required');
    const erased = await cli(
      ['leads', 'erase', '--email', 'ada@acme.example', '--cache', 'answers.ndjson'],
      dir,
    );
    expect(erased.stdout).toBe('ada@acme.example: erased from answers answers.ndjson (1)\n');
    expect(readFileSync(join(dir, 'answers.ndjson'), 'utf8')).toBe('');
  }, 60_000);
});

describe('leadpipe redrive --store: the leads the store step dead-lettered', () => {
  it('a store that fails every upsert dead-letters the leads beside the CRM’s; redrive sends each kind to its own target', async () => {
    const dir = tempDir();
    const { schema, url } = newStore();
    demoSubset(dir, 20);
    // The store opened once (its tables made), then made to fail every insert.
    const made = await cli(['leads', 'query', '--store', url, '--format', 'ndjson'], dir);
    expect(made.code, made.stderr).toBe(0);
    await sql(refuseSql(schema));
    running.emulators.hubspot?.emulator.setFaults({ partialFailureRate: 0.5 });
    const run = await cli(
      ['enrich', 'leads.csv', '--emulate', '--crm', 'hubspot', '--store', url, '-q', '--report', 'r.json'],
      dir,
    );
    running.emulators.hubspot?.emulator.setFaults({});
    expect(run.code).toBe(EXIT_CODES.finishedWithProblems);
    const report = readReport(join(dir, 'r.json'));
    const path = join(dir, 'leads.dead-letters.ndjson');
    const entries = await deadLettersIn(path);
    const forStore = entries.filter((entry) => entry.target === 'leadStore');
    const forCrm = entries.filter((entry) => entry.target !== 'leadStore');
    expect(forStore.length).toBe(report.store?.failed);
    expect(forStore.length).toBeGreaterThan(10);
    expect(forCrm.length).toBeGreaterThan(0);

    // Two targets in the file: which one is asked.
    const which = await cli(['redrive', 'leads.dead-letters.ndjson'], dir);
    expect(which.code).toBe(EXIT_CODES.usage);
    expect(which.stderr).toContain('(--store for "leadStore")');
    const both = await cli(['redrive', 'leads.dead-letters.ndjson', '--crm', 'hubspot', '--store', url], dir);
    expect(both.code).toBe(EXIT_CODES.usage);
    expect(both.stderr).toContain('--store: cannot go with --crm');

    // The store still fails: every entry stays, one attempt more, with the new error; the CRM's are left alone.
    const down = await cli(
      ['redrive', 'leads.dead-letters.ndjson', '--store', url, '--report', 'down.json'],
      dir,
    );
    expect(down.code).toBe(EXIT_CODES.failed);
    expect(down.stdout).toContain(`failed again: ${forStore.length}, still in the file with the new error`);
    expect(down.stdout).toContain(`left alone: ${forCrm.length} (for a CRM)`);
    const after = await deadLettersIn(path);
    expect(after.map((entry) => entry.id)).toEqual(entries.map((entry) => entry.id));
    for (const entry of after.filter((item) => item.target === 'leadStore')) {
      expect(entry.attempts).toBe(2);
      expect(entry.error.message).toContain('the store refuses');
    }

    // Fixed: every lead reaches the store, once; the CRM's entries stay for the CRM.
    await sql(acceptSql(schema));
    const fixed = await cli(
      ['redrive', 'leads.dead-letters.ndjson', '--store', url, '--report', 'up.json'],
      dir,
    );
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(EXIT_CODES.done);
    const up = JSON.parse(readFileSync(join(dir, 'up.json'), 'utf8')) as Record<string, number>;
    expect(up).toMatchObject({ sent: forStore.length, created: forStore.length, failed: 0, refused: 0 });
    expect(up.left).toBe(forCrm.length);
    const stored = await cli(
      ['leads', 'query', '--store', url, '--fields', 'email', '--format', 'ndjson', '--limit', '100'],
      dir,
    );
    expect(storedEmails(stored.stdout).sort()).toEqual(
      forStore.map((entry) => entry.record.key.replace(/^email:/, '')).sort(),
    );
    expect((await deadLettersIn(path)).map((entry) => entry.id)).toEqual(forCrm.map((entry) => entry.id));
    // The rest goes to HubSpot; the emptied file is removed.
    const crm = await cli(['redrive', 'leads.dead-letters.ndjson', '--emulate'], dir);
    expect(crm.code, crm.stdout).toBe(EXIT_CODES.done);
    expect(existsSync(path)).toBe(false);
  }, 300_000);

  it('a file of store entries alone goes to LEADPIPE_STORE; leads the store refuses stay with the reasons (exit 3)', async () => {
    const dir = tempDir();
    const { url } = newStore();
    const path = join(dir, 'store.dead-letters.ndjson');
    const queue = createFileDeadLetterQueue(path);
    const at = new Date().toISOString();
    const entry = (id: string, lead: string | undefined): DeadLetterEntry => ({
      id,
      target: 'leadStore',
      object: 'lead',
      idProperty: 'identity',
      record: { key: id, properties: lead === undefined ? {} : { lead } },
      leadIds: [],
      error: { code: 'adapter_error', message: 'connection refused', retryable: true },
      attempts: 1,
      firstFailedAt: at,
      lastFailedAt: at,
    });
    const good = {
      id: '0190a000-0000-7000-8000-000000000001',
      email: 'ada@newco.example',
      fullName: 'Ada Lovelace',
      provenance: {},
      custom: {},
      createdAt: at,
      updatedAt: at,
    };
    await queue.put(entry('e1', JSON.stringify(good)));
    await queue.put(entry('e2', '{not json'));
    await queue.put(entry('e3', undefined));
    await queue.put(
      entry('e4', JSON.stringify({ id: 'x', provenance: {}, custom: {}, createdAt: at, updatedAt: at })),
    );
    await queue.close();

    const none = await cli(['redrive', 'store.dead-letters.ndjson'], dir);
    expect(none.code).toBe(EXIT_CODES.usage);
    expect(none.stderr).toContain('--store: is required for records of the lead store');
    const result = await cli(['redrive', 'store.dead-letters.ndjson'], dir, { env: { LEADPIPE_STORE: url } });
    expect(result.code, result.stdout + result.stderr).toBe(EXIT_CODES.finishedWithProblems);
    expect(result.stdout).toContain('stored: 1 (1 created, 0 updated, 0 unchanged)');
    expect(result.stdout).toContain('refused: 3, still in the file with the reasons');
    const left = await deadLettersIn(path);
    expect(left.map((item) => item.id)).toEqual(['e2', 'e3', 'e4']);
    expect(left[0]!.error).toMatchObject({
      retryable: false,
      message: 'record.properties.lead is not a lead as JSON',
    });
    expect(left[1]!.error.message).toContain('the record holds no lead');
    expect(left[2]!.error.message).toMatch(/^refused by the store: /);
    // Refused for good: --retryable-only leaves them alone.
    const retry = await cli(
      ['redrive', 'store.dead-letters.ndjson', '--retryable-only', '--store', url],
      dir,
    );
    expect(retry.code).toBe(EXIT_CODES.done);
    expect(retry.stdout).toContain('0 records sent');
    expect(retry.stdout).toContain('left alone: 3 (not retryable, or for a CRM)');
  }, 120_000);
});

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { EXIT_CODES, emulatorOptions, runCli } from '@leadpipe/cli';
import { type PipelineReport, readCsv } from '@leadpipe/core';
import { type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_HEADER, DEMO_MIX, generateDemoCsv } from '../data/generate.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const demoCsv = join(root, 'examples/data/leads.csv');
const totalRows = Object.values(DEMO_MIX).reduce((sum, count) => sum + count, 0);

async function readRows(path: string): Promise<Record<string, string>[]> {
  const rows: Record<string, string>[] = [];
  for await (const row of readCsv(path)) rows.push(row.values as Record<string, string>);
  return rows;
}

const email = (row: Record<string, string>) => String(row.Email).trim().toLowerCase();

describe('examples/data/leads.csv', () => {
  it('is what generate.ts writes, with the promised mix of messy rows', async () => {
    expect(readFileSync(demoCsv, 'utf8')).toBe(generateDemoCsv());
    const rows = await readRows(demoCsv);
    expect(rows).toHaveLength(totalRows);
    expect(Object.keys(rows[0] ?? {})).toEqual(DEMO_HEADER);
    const normalized = rows.map(email);
    expect(normalized.length - new Set(normalized).size).toBe(DEMO_MIX.duplicates);
    const freeMail = rows.filter((row) => /@(gmail|outlook|yahoo|hotmail|icloud)\.com$/.test(email(row)));
    expect(freeMail).toHaveLength(DEMO_MIX.freeMail);
    expect(rows.filter((row) => row['First Name'] === '').length).toBeGreaterThan(5);
  });
});

describe('leadpipe enrich examples/data/leads.csv --emulate --crm hubspot', () => {
  let running: RunningEmulators;
  beforeAll(async () => {
    running = await startEmulators(
      emulatorOptions({ vendors: ['apollo', 'clearbit', 'zoominfo', 'hubspot'] }),
    );
  });
  afterAll(async () => {
    await running?.close();
  });

  it('enriches, rejects the bad rows, folds duplicates, and syncs every lead to HubSpot once', async () => {
    const out = mkdtempSync(join(tmpdir(), 'leadpipe-demo-'));
    let stdout = '';
    let stderr = '';
    const code = await runCli(
      [
        'enrich',
        'examples/data/leads.csv',
        '--emulate',
        '--crm',
        'hubspot',
        '--out',
        join(out, 'leads.enriched.csv'),
        '--report',
        join(out, 'report.json'),
      ],
      {
        stdout: { write: (text: string) => (stdout += text) },
        stderr: { write: (text: string) => (stderr += text) },
        env: {},
        cwd: root,
        emulators: running,
      },
    );
    expect(code).toBe(EXIT_CODES.finishedWithProblems);

    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as PipelineReport;
    const { counts } = report;
    expect(report.status).toBe('completed');
    expect(counts.read).toBe(totalRows);
    expect(counts.rejected).toBe(DEMO_MIX.badEmails);
    expect(report.rejects.every((reject) => reject.issues.some((issue) => issue.field === 'email'))).toBe(
      true,
    );
    expect(counts.duplicates).toBe(DEMO_MIX.duplicates);
    expect(counts.deadLettered).toBe(0);
    expect(counts.unfinished).toBe(0);
    expect(counts.done + counts.rejected + counts.deadLettered).toBe(counts.read);
    expect(counts.synced).toBe(counts.done - counts.duplicates);
    // Enriched: the leads that gained a field (some are known to no provider, and are done all the same).
    expect(counts.enriched).toBeLessThanOrEqual(counts.synced);
    expect(report.crms).toMatchObject([
      { adapterId: 'hubspot', object: 'contacts', status: 'ok', created: counts.synced, failed: 0 },
    ]);

    // The rejected rows, untouched, in the rejects file; no dead letters, so no dead-letters file.
    const rejected = await readRows(join(out, 'leads.rejects.csv'));
    expect(rejected.map((row) => Number(row.leadpipe_row))).toEqual(
      report.rejects.map((reject) => reject.rowNumber).sort((a, b) => a - b),
    );
    const input = await readRows(demoCsv);
    for (const row of rejected) {
      expect(row.Email).toBe(input[Number(row.leadpipe_row) - 1]?.Email);
      expect(row.leadpipe_reasons).toMatch(/^email: /);
    }
    expect(existsSync(join(out, 'leads.dead-letters.ndjson'))).toBe(false);

    const rows = await readRows(join(out, 'leads.enriched.csv'));
    expect(rows).toHaveLength(counts.synced);
    const emails = rows.map(email);
    expect(new Set(emails).size).toBe(emails.length);

    const hubspot = running.emulators.hubspot?.emulator;
    const contacts = hubspot?.contacts() ?? [];
    expect(contacts).toHaveLength(counts.synced);
    expect(new Set(contacts.map((contact) => contact.properties.email))).toEqual(new Set(emails));

    // Enriched titles come from the providers and mostly agree with the emulators' ground truth.
    const gained = rows.filter((row) =>
      Object.entries(row).some(
        ([column, value]) => column.endsWith('__source') && /^(apollo|clearbit|zoominfo)$/.test(value),
      ),
    );
    expect(gained.length).toBe(counts.enriched);
    const enriched = rows.filter(
      (row) =>
        row.title__source === 'apollo' ||
        row.title__source === 'clearbit' ||
        row.title__source === 'zoominfo',
    );
    expect(enriched.length).toBeGreaterThan(counts.synced * 0.5);
    // With the titles the file had (\`title__source\` = input), most leads now have one.
    const titled = rows.filter((row) => row.title !== '' && row.title !== undefined);
    expect(titled.length).toBeGreaterThan(counts.synced * 0.85);
    const right = enriched.filter((row) => running.truth.personByEmail(email(row))?.title === row.title);
    expect(right.length).toBeGreaterThan(enriched.length * 0.8);
    for (const row of enriched.slice(0, 20)) {
      expect(hubspot?.findContactByEmail(email(row))?.properties.jobtitle).toBe(row.title);
    }

    expect(stdout).toContain('Pipeline run: completed');
    expect(stdout).toContain(`hubspot/contacts [ok]: ${counts.synced} created`);
    expect(stderr).toContain('exit code 3');
  });
});

describe('examples/demo.ts', () => {
  it('runs the same flow as a script and prints the report', async () => {
    const { stdout } = await run(
      'pnpm',
      ['exec', 'tsx', '--conditions=@leadpipe/source', 'examples/demo.ts'],
      {
        cwd: root,
        timeout: 60_000,
        env: { ...process.env, NODE_OPTIONS: '' },
      },
    );
    expect(stdout).toContain(
      `rows: ${totalRows} read, ${totalRows - DEMO_MIX.badEmails} done (${DEMO_MIX.duplicates} duplicates)`,
    );
    const synced = totalRows - DEMO_MIX.badEmails - DEMO_MIX.duplicates;
    expect(stdout).toContain(`hubspot/contacts [ok]: ${synced} created`);
    expect(stdout).toContain(`HubSpot (emulated) now has ${synced} contacts`);
    const rows = await readRows(join(root, 'examples/out/demo.enriched.csv'));
    expect(rows).toHaveLength(synced);
  }, 60_000);
});

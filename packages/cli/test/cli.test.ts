import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createFileDeadLetterQueue, type DeadLetterEntry, type PipelineReport } from '@leadpipe/core';
import { type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CliIo, EXIT_CODES, emulatorOptions, runCli } from '../src/index.js';
import { type Captured, capture, demoSubset, readRows, tempDir } from './support.js';

let running: RunningEmulators;

beforeAll(async () => {
  running = await startEmulators(emulatorOptions());
});

afterAll(async () => {
  await running?.close();
});

beforeEach(() => {
  running.emulators.hubspot?.emulator.reset();
  running.emulators.hubspot?.emulator.setFaults({});
});

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

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function cli(
  argv: string[],
  io: Partial<CliIo> & { stderr?: Captured; stdout?: Captured } = {},
): Promise<Outcome> {
  const stdout = io.stdout ?? capture();
  const stderr = io.stderr ?? capture();
  const code = await runCli(argv, { env: {}, cwd: '/', emulators: running, ...io, stdout, stderr });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

function readReport(path: string): PipelineReport {
  return JSON.parse(readFileSync(path, 'utf8')) as PipelineReport;
}

/** The exit code a report calls for: a resumed run's counts the rows its earlier runs rejected too. */
function expectedCode(report: PipelineReport): number {
  return report.total.rejected + report.total.deadLettered > 0
    ? EXIT_CODES.finishedWithProblems
    : EXIT_CODES.done;
}

function secretsOf(emulators: RunningEmulators): string[] {
  return Object.values(emulators.credentials)
    .flatMap((credentials) => Object.values(credentials ?? {}))
    .filter((secret) => secret.length >= 6);
}

describe('leadpipe enrich without --emulate', () => {
  it('names each missing key variable, exits 2, and writes nothing', async () => {
    const dir = tempDir();
    const input = demoSubset(dir, 5);
    const bare = await cli(['enrich', input, '--crm', 'hubspot'], { env: {} });
    expect(bare.code).toBe(EXIT_CODES.usage);
    expect(bare.stderr).toContain('leadpipe: missing key: set APOLLO_API_KEY (needed by --providers apollo)');
    expect(bare.stderr).toContain(
      'leadpipe: missing key: set CLEARBIT_API_KEY (needed by --providers clearbit)',
    );
    expect(bare.stderr).toContain(
      'leadpipe: missing key: set HUBSPOT_ACCESS_TOKEN (needed by --crm hubspot)',
    );
    expect(existsSync(join(dir, 'leads.enriched.csv'))).toBe(false);

    const env = { APOLLO_API_KEY: 'apl_live_0123456789abcdef', CLEARBIT_API_KEY: '   ' };
    const partial = await cli(['enrich', input, '--providers', 'apollo,clearbit', '--crm', 'salesforce'], {
      env,
    });
    expect(partial.code).toBe(EXIT_CODES.usage);
    expect(partial.stderr).not.toContain('APOLLO_API_KEY');
    expect(partial.stderr).toContain('set CLEARBIT_API_KEY');
    expect(partial.stderr).toContain(
      'set SALESFORCE_ACCESS_TOKEN and SALESFORCE_INSTANCE_URL, or SALESFORCE_REFRESH_TOKEN and SALESFORCE_CLIENT_ID, or SALESFORCE_PRIVATE_KEY, SALESFORCE_USERNAME and SALESFORCE_CLIENT_ID (needed by --crm salesforce)',
    );
    expect(partial.stderr + partial.stdout).not.toContain(env.APOLLO_API_KEY);

    // Without --providers, a run uses the providers whose keys are set: only the CRM's keys are missing.
    const defaulted = await cli(['enrich', input, '--crm', 'salesforce'], { env });
    expect(defaulted.code).toBe(EXIT_CODES.usage);
    expect(defaulted.stderr).not.toContain('CLEARBIT_API_KEY');
    expect(defaulted.stderr).not.toContain('ZOOMINFO');
    expect(defaulted.stderr).toContain('(needed by --crm salesforce)');
    // With no provider key at all, every provider's keys are named, and how to choose.
    expect(bare.stderr).toContain('(needed by --providers zoominfo)');
    expect(bare.stderr).toContain(
      'set the keys of at least one provider, or name the providers with --providers',
    );
  });
});

describe('leadpipe enrich --emulate', () => {
  it('--dry-run enriches and writes the output, but writes nothing to the CRM', async () => {
    const dir = tempDir();
    const input = demoSubset(dir, 30);
    const hubspot = running.emulators.hubspot;
    const requestsBefore = hubspot?.requests.all().length ?? 0;
    const result = await cli(
      ['enrich', 'leads.csv', '--emulate', '--crm', 'hubspot', '--dry-run', '--report', 'report.json'],
      { cwd: dir },
    );
    const report = readReport(join(dir, 'report.json'));
    expect(result.code).toBe(expectedCode(report));
    expect(report).toMatchObject({ status: 'completed', dryRun: true, crms: [] });
    expect(report.counts.read).toBe(30);
    expect(report.counts.synced).toBe(0);
    expect(report.counts.enriched).toBeGreaterThan(20);
    expect(hubspot?.emulator.contacts()).toEqual([]);
    expect(hubspot?.requests.all().length).toBe(requestsBefore);
    const rows = await readRows(join(dir, 'leads.enriched.csv'));
    expect(rows).toHaveLength(report.counts.done - report.counts.duplicates);
    expect(
      rows.filter((row) => row.title__source === 'apollo' || row.title__source === 'clearbit').length,
    ).toBeGreaterThan(10);
    expect(result.stdout).toContain('Pipeline run (dry run): completed');
    expect(result.stdout).toContain(`output: ${join(dir, 'leads.enriched.csv')}`);
    expect(input).toBe(join(dir, 'leads.csv'));
    // No credential the emulators accept shows up anywhere the run wrote.
    const everything = [
      result.stdout,
      result.stderr,
      readFileSync(join(dir, 'report.json'), 'utf8'),
      readFileSync(join(dir, 'leads.enriched.csv'), 'utf8'),
    ].join('\n');
    for (const secret of secretsOf(running)) expect(everything).not.toContain(secret);
  });

  it('syncs Salesforce Leads keyed by email, writes NDJSON, and draws the live display on a terminal', async () => {
    const dir = tempDir();
    demoSubset(dir, 25);
    const salesforce = running.emulators.salesforce?.emulator;
    const before = salesforce?.leads().length ?? 0;
    const stderr = capture({ isTTY: true });
    const result = await cli(
      [
        'enrich',
        'leads.csv',
        '--emulate',
        '--crm',
        'salesforce',
        '--out',
        'out/leads.ndjson',
        '--report',
        'r.json',
      ],
      { cwd: dir, stderr, progressIntervalMs: 0 },
    );
    const report = readReport(join(dir, 'r.json'));
    expect(result.code).toBe(expectedCode(report));
    expect(report.crms).toMatchObject([{ adapterId: 'salesforce', object: 'Lead', status: 'ok' }]);
    expect(report.counts.synced).toBeGreaterThan(15);
    const leads = salesforce?.leads() ?? [];
    expect(leads.length - before).toBe(report.counts.synced);
    const lines = readFileSync(join(dir, 'out/leads.ndjson'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(report.counts.synced);
    for (const line of lines) {
      const email = String((JSON.parse(line) as { Email: string }).Email)
        .trim()
        .toLowerCase();
      expect(salesforce?.findLeadByExternalId(email)).toBeDefined();
    }
    expect(result.stderr).toContain('\x1b[2Krows      ');
    expect(result.stderr).toMatch(/providers apollo: \d+ calls/);
    expect(result.stdout).toContain('salesforce/Lead [ok]');
  });

  it('--resume after an interrupted run finishes the rest: no row lost, none written or synced twice', async () => {
    const total = 80;
    const dir = tempDir();
    demoSubset(dir, total);
    const args = ['enrich', 'leads.csv', '--emulate', '--crm', 'hubspot', '--report', 'report.json'];
    const credits = () => running.counters.get('apollo.credits');

    // A clean run of the same rows, for the price of the whole file.
    const clean = tempDir();
    demoSubset(clean, total);
    const creditsBefore = credits();
    const cleanRun = await cli(args, { cwd: clean });
    const fullPrice = credits() - creditsBefore;
    expect(cleanRun.code).toBe(expectedCode(readReport(join(clean, 'report.json'))));
    expect(fullPrice).toBeGreaterThan(20);
    running.emulators.hubspot?.emulator.reset();

    const controller = new AbortController();
    const stderr = capture({
      onWrite: (chunk) => {
        const done = /done=(\d+)/.exec(chunk);
        if (done && Number(done[1]) >= 25) controller.abort(new Error('Ctrl-C'));
      },
    });
    const startCredits = credits();
    const first = await cli(args, { cwd: dir, stderr, signal: controller.signal, progressIntervalMs: 0 });
    const firstReport = readReport(join(dir, 'report.json'));
    expect(first.code).toBe(EXIT_CODES.interrupted);
    expect(first.stderr).toContain('leadpipe: stopping (Ctrl-C): no more rows are read');
    expect(first.stderr).toContain('Run the same command with --resume to finish.');
    expect(firstReport.status).toBe('aborted');
    const finishedFirst =
      firstReport.counts.done + firstReport.counts.rejected + firstReport.counts.deadLettered;
    expect(finishedFirst).toBeGreaterThanOrEqual(25);
    expect(finishedFirst).toBeLessThan(total);

    const second = await cli([...args, '--resume'], { cwd: dir });
    const report = readReport(join(dir, 'report.json'));
    expect(report).toMatchObject({ status: 'completed', resumed: true });
    expect(second.code).toBe(expectedCode(report));
    // The report covers the earlier part too: its rejects count (and so the exit code says 3).
    expect(report.total.rejected).toBe(firstReport.counts.rejected + report.counts.rejected);
    expect(report.total.done).toBe(firstReport.counts.done + report.counts.done);
    if (firstReport.counts.rejected > 0) expect(second.code).toBe(EXIT_CODES.finishedWithProblems);
    expect(report.counts.skipped).toBe(finishedFirst);
    expect(report.counts.read).toBe(total);
    expect(
      report.counts.skipped + report.counts.done + report.counts.rejected + report.counts.deadLettered,
    ).toBe(total);

    // Every unique lead is in the output once, and in HubSpot once.
    const rows = await readRows(join(dir, 'leads.enriched.csv'));
    const emails = rows.map((row) => String(row.Email).trim().toLowerCase());
    expect(new Set(emails).size).toBe(emails.length);
    const cleanRows = await readRows(join(clean, 'leads.enriched.csv'));
    expect(new Set(emails)).toEqual(new Set(cleanRows.map((row) => String(row.Email).trim().toLowerCase())));
    const contacts = running.emulators.hubspot?.emulator.contacts() ?? [];
    const contactEmails = contacts.map((contact) => String(contact.properties.email));
    expect(new Set(contactEmails).size).toBe(contactEmails.length);
    expect(new Set(contactEmails)).toEqual(new Set(emails));

    // The rejects file holds the rejects of both runs, each row once.
    const rejected = (await readRows(join(dir, 'leads.rejects.csv'))).map((row) => Number(row.leadpipe_row));
    expect(rejected.length).toBeGreaterThan(0);
    expect(new Set(rejected).size).toBe(rejected.length);
    expect(rejected).toHaveLength(firstReport.counts.rejected + report.counts.rejected);

    // Only calls in flight when the run stopped can have been paid again.
    expect(credits() - startCredits).toBeLessThanOrEqual(fullPrice + firstReport.counts.unfinished);
  });

  it('--resume with no checkpoint starts over and replaces the output instead of appending to it', async () => {
    const dir = tempDir();
    demoSubset(dir, 12);
    writeFileSync(join(dir, 'leads.enriched.csv'), 'Email\nstale@old-run.example\n');
    const result = await cli(['enrich', 'leads.csv', '--emulate', '--resume', '--report', 'r.json'], {
      cwd: dir,
    });
    const report = readReport(join(dir, 'r.json'));
    expect(result.code).toBe(expectedCode(report));
    expect(result.stderr).toContain(
      `no checkpoint at ${join(dir, 'leads.enriched.csv.checkpoint')}; starting from the first row`,
    );
    expect(report).toMatchObject({ resumed: false, crms: [] });
    const rows = await readRows(join(dir, 'leads.enriched.csv'));
    expect(rows).toHaveLength(report.counts.done - report.counts.duplicates);
    expect(rows.map((row) => row.Email)).not.toContain('stale@old-run.example');
  });

  it('a run that cannot write its output fails with exit code 1 and says why', async () => {
    const dir = tempDir();
    demoSubset(dir, 5);
    mkdirSync(join(dir, 'taken.csv'));
    const result = await cli(['enrich', 'leads.csv', '--emulate', '--out', 'taken.csv'], { cwd: dir });
    expect(result.code).toBe(EXIT_CODES.failed);
    expect(result.stderr).toMatch(/leadpipe: the run failed: .*EISDIR/);
    expect(result.stdout).toBe('');
  });

  it('writes every rejected row and every dead letter to files that outlive the run', async () => {
    const dir = tempDir();
    const input = demoSubset(dir, 60);
    // One row whose email is not one, with a quote and a comma to survive the round trip.
    appendFileSync(input, 'not-an-email,"Ann ""Q""","Smith, Jr.",,,,,\n');
    // HubSpot refuses about a third of the records for good (a per-record VALIDATION_ERROR in a 207).
    running.emulators.hubspot?.emulator.setFaults({ partialFailureRate: 0.3 });
    const result = await cli(['enrich', 'leads.csv', '--emulate', '--crm', 'hubspot', '--report', 'r.json'], {
      cwd: dir,
    });
    const report = readReport(join(dir, 'r.json'));
    expect(result.code).toBe(EXIT_CODES.finishedWithProblems);
    expect(report.counts.rejected).toBeGreaterThan(0);
    expect(report.counts.deadLettered).toBeGreaterThan(0);

    // Rejects: each rejected row once, with its input values as they were and why.
    const rejectsPath = join(dir, 'leads.rejects.csv');
    const rejects = await readRows(rejectsPath);
    expect(rejects.map((row) => Number(row.leadpipe_row))).toEqual(
      report.rejects.map((reject) => reject.rowNumber).sort((a, b) => a - b),
    );
    const ann = rejects.find((row) => row.Email === 'not-an-email');
    expect(ann).toMatchObject({
      'First Name': 'Ann "Q"',
      'Last Name': 'Smith, Jr.',
      leadpipe_stage: 'validate',
    });
    expect(ann?.leadpipe_reasons).toMatch(/^email: /);

    // Dead letters: every dead-lettered lead is in the file, with HubSpot's error, and no secret.
    const deadLettersPath = join(dir, 'leads.dead-letters.ndjson');
    const entries = await deadLettersIn(deadLettersPath);
    const leadIds = new Set(entries.flatMap((entry) => entry.leadIds));
    for (const row of report.deadLetters) expect(leadIds).toContain(row.leadId);
    expect(entries.every((entry) => entry.target === 'hubspot' && entry.object === 'contacts')).toBe(true);
    expect(entries[0]?.error.code).toBeDefined();
    const file = readFileSync(deadLettersPath, 'utf8');
    for (const secret of secretsOf(running)) expect(file).not.toContain(secret);
    expect(result.stdout).toContain(`rejects: ${rejectsPath}`);
    expect(result.stdout).toContain(`dead letters: ${deadLettersPath} (${entries.length} records)`);

    // A clean run of the same input replaces both: no stale file suggests problems it did not have.
    writeFileSync(
      input,
      `${readFileSync(input, 'utf8').split('\n')[0]}\nada@acme-example.com,Ada,Lovelace,,,,,\n`,
    );
    running.emulators.hubspot?.emulator.setFaults({});
    const clean = await cli(['enrich', 'leads.csv', '--emulate', '--crm', 'hubspot', '-q'], { cwd: dir });
    expect(clean.code).toBe(EXIT_CODES.done);
    expect(existsSync(rejectsPath)).toBe(false);
    expect(existsSync(deadLettersPath)).toBe(false);
    expect(clean.stdout).not.toContain('rejects:');
  });

  it('--map sends columns with unusual headers where they belong, and refuses a header the file lacks', async () => {
    const dir = tempDir();
    const original = demoSubset(dir, 20, 'original.csv');
    const [header, ...rest] = readFileSync(original, 'utf8').split('\n');
    expect(header).toBe('Email,First Name,Last Name,Company,Website,Job Title,Phone,Country');
    writeFileSync(
      join(dir, 'odd.csv'),
      [`Primary Contact,Given,Family,Org,Site,Role,Tel,Nation`, ...rest].join('\n'),
    );
    const map = [
      '--map',
      'Primary Contact=email,Given=firstName,Family=lastName,Org=company.name',
      '--map',
      'Site=website,Role=title,Tel=phone,Nation=location.country',
    ];
    const base = ['--emulate', '--crm', 'hubspot', '-q'];
    const reference = await cli(['enrich', 'original.csv', ...base, '--report', 'original.json'], {
      cwd: dir,
    });
    const expected = readReport(join(dir, 'original.json'));
    expect(reference.code).toBe(expectedCode(expected));
    expect(expected.counts.done).toBeGreaterThan(10);

    // Unmapped, the odd headers leave the leads with no email: HubSpot's mapping (keyed by email) rejects every row.
    const unmapped = await cli(['enrich', 'odd.csv', ...base, '--report', 'unmapped.json'], {
      cwd: dir,
    });
    expect(unmapped.code).toBe(EXIT_CODES.finishedWithProblems);
    expect(readReport(join(dir, 'unmapped.json')).counts.done).toBe(0);

    running.emulators.hubspot?.emulator.reset();
    const mapped = await cli(['enrich', 'odd.csv', ...base, ...map, '--report', 'odd.json'], { cwd: dir });
    const report = readReport(join(dir, 'odd.json'));
    expect(mapped.code).toBe(expectedCode(report));
    expect(report.counts).toEqual(expected.counts);
    const rows = await readRows(join(dir, 'odd.enriched.csv'));
    expect(Object.keys(rows[0] ?? {}).slice(0, 3)).toEqual(['Primary Contact', 'Given', 'Family']);
    const first = rows.find((row) => row.Given !== '');
    const contact = running.emulators.hubspot?.emulator.findContactByEmail(
      String(first?.['Primary Contact']).trim().toLowerCase(),
    );
    expect(contact?.properties.firstname).toBe(first?.Given);

    const typo = await cli(['enrich', 'odd.csv', ...base, '--map', 'Primary Contakt=email'], { cwd: dir });
    expect(typo.code).toBe(EXIT_CODES.usage);
    expect(typo.stderr).toContain(
      `leadpipe: --map: "Primary Contakt" is not a column of ${join(dir, 'odd.csv')}`,
    );
    expect(typo.stderr).toContain('its columns are "Primary Contact", "Given", "Family"');
  });

  /** Run enrich on `dir/leads.csv` and stop it (as Ctrl-C does) once `rows` rows are done. */
  async function interrupted(dir: string, args: readonly string[], rows: number): Promise<Outcome> {
    const controller = new AbortController();
    const stderr = capture({
      onWrite: (chunk) => {
        const done = /done=(\d+)/.exec(chunk);
        if (done && Number(done[1]) >= rows) controller.abort(new Error('Ctrl-C'));
      },
    });
    const outcome = await cli([...args], {
      cwd: dir,
      stderr,
      signal: controller.signal,
      progressIntervalMs: 0,
    });
    expect(outcome.code).toBe(EXIT_CODES.interrupted);
    return outcome;
  }

  it('--resume on an input changed anywhere (here row 250, past the first 100) is refused with exit code 2, naming the line', async () => {
    const dir = tempDir();
    const input = demoSubset(dir, 300);
    await interrupted(dir, ['enrich', 'leads.csv', '--emulate'], 20);
    const lines = readFileSync(input, 'utf8').split('\n');
    lines[250] = 'new.person@example.org,New,Person,,,,,';
    writeFileSync(input, lines.join('\n'));
    const resumed = await cli(['enrich', 'leads.csv', '--emulate', '--resume', '-q'], { cwd: dir });
    expect(resumed.code).toBe(EXIT_CODES.usage);
    expect(resumed.stderr).toContain(
      `leadpipe: --resume: ${input} changed since the interrupted run (first change at line 251)`,
    );
    expect(existsSync(join(dir, 'leads.enriched.csv.checkpoint')), 'the checkpoint is left as it was').toBe(
      true,
    );

    // Touched but not changed: the quick check fails, the hash of the whole file says it is the same input.
    lines[250] = readFileSync(demoSubset(tempDir(), 300), 'utf8').split('\n')[250] ?? '';
    writeFileSync(input, lines.join('\n'));
    const again = await cli(['enrich', 'leads.csv', '--emulate', '--resume', '-q', '--report', 'r.json'], {
      cwd: dir,
    });
    expect([0, 3]).toContain(again.code);
    expect(readReport(join(dir, 'r.json'))).toMatchObject({ status: 'completed', resumed: true });
  });

  it('a run started over reuses the answers the interrupted run paid for and says so; --fresh pays again', async () => {
    const dir = tempDir();
    demoSubset(dir, 120);
    const args = ['enrich', 'leads.csv', '--emulate', '--report', 'r.json'];
    const calls = () =>
      running.counters.get('apollo.http.requests') + running.counters.get('clearbit.http.requests');
    await interrupted(dir, args, 40);
    const results = join(dir, 'leads.enriched.csv.checkpoint.results');
    expect(readFileSync(results, 'utf8').length, 'answers paid before the interruption').toBeGreaterThan(0);

    const before = calls();
    const again = await cli(args, { cwd: dir });
    const report = readReport(join(dir, 'r.json'));
    expect(again.stderr).toContain(
      `leadpipe: reusing the answers earlier runs paid for (${results}); --fresh discards them`,
    );
    expect(report.resumed).toBe(false);
    expect(report.reusedAnswers).toBeGreaterThanOrEqual(40);
    expect(again.stdout).toContain(`answers paid by earlier runs reused`);
    const paidSecond = calls() - before;
    // A completed run removes its checkpoint and, without --cache, the answers with it.
    expect(existsSync(results)).toBe(false);
    expect(existsSync(join(dir, 'leads.enriched.csv.checkpoint'))).toBe(false);

    await interrupted(dir, args, 40);
    const beforeFresh = calls();
    const fresh = await cli([...args, '--fresh'], { cwd: dir });
    expect(fresh.stderr).toContain('leadpipe: --fresh: discarding the answers earlier runs paid for');
    expect(readReport(join(dir, 'r.json')).reusedAnswers).toBe(0);
    expect(calls() - beforeFresh).toBeGreaterThan(paidSecond);
  });

  it('--cache keeps the answers across completed runs, compacted, and a later run pays nothing again', async () => {
    const dir = tempDir();
    demoSubset(dir, 60);
    const args = ['enrich', 'leads.csv', '--emulate', '--cache', 'answers.cache', '--report', 'r.json'];
    const calls = () =>
      running.counters.get('apollo.http.requests') + running.counters.get('clearbit.http.requests');
    const first = await cli(args, { cwd: dir });
    expect(first.stderr).toMatch(/leadpipe: [\d,]+ answers kept in .*answers\.cache for later runs/);
    expect(existsSync(join(dir, 'answers.cache'))).toBe(true);
    expect(existsSync(join(dir, 'leads.enriched.csv.checkpoint'))).toBe(false);
    const before = calls();
    await cli(args, { cwd: dir });
    expect(calls() - before, 'no provider call: every answer came from the cache').toBe(0);
    expect(readReport(join(dir, 'r.json')).reusedAnswers).toBeGreaterThan(0);
  });
});

describe('leadpipe redrive --emulate', () => {
  /** Run enrich while HubSpot refuses a share of the records; returns the folder and the dead-letters file. */
  async function deadLettered(rows: number, failureRate: number) {
    const dir = tempDir();
    demoSubset(dir, rows);
    running.emulators.hubspot?.emulator.setFaults({ partialFailureRate: failureRate });
    await cli(['enrich', 'leads.csv', '--emulate', '--crm', 'hubspot', '-q', '--report', 'enrich.json'], {
      cwd: dir,
    });
    running.emulators.hubspot?.emulator.setFaults({});
    const path = join(dir, 'leads.dead-letters.ndjson');
    return { dir, path, report: readReport(join(dir, 'enrich.json')), entries: await deadLettersIn(path) };
  }

  it('sends every dead letter again once HubSpot takes them, and removes the emptied file', async () => {
    const { dir, path, report, entries } = await deadLettered(40, 0.4);
    expect(entries.length).toBeGreaterThan(3);
    const contacts = () => running.emulators.hubspot?.emulator.contacts() ?? [];
    const before = contacts().length;
    expect(before).toBe(report.crms[0]?.created);

    const result = await cli(
      ['redrive', 'leads.dead-letters.ndjson', '--emulate', '--report', 'redrive.json'],
      {
        cwd: dir,
      },
    );
    expect(result.code).toBe(EXIT_CODES.done);
    expect(result.stderr).toContain(`sending ${entries.length} of ${entries.length} dead letters`);
    const redriven = JSON.parse(readFileSync(join(dir, 'redrive.json'), 'utf8')) as {
      crms: { created: number; failed: number }[];
    };
    expect(redriven.crms[0]).toMatchObject({ created: entries.length, failed: 0 });
    expect(contacts()).toHaveLength(before + entries.length);
    // Every lead the enrich run finished is now in HubSpot, each once.
    const emails = contacts().map((contact) => String(contact.properties.email));
    expect(new Set(emails).size).toBe(emails.length);
    for (const entry of entries) expect(emails).toContain(entry.record.key);
    expect(existsSync(path)).toBe(false);
    expect(result.stdout).toContain('dead letters: none left (file removed)');

    const again = await cli(['redrive', 'leads.dead-letters.ndjson', '--emulate'], { cwd: dir });
    expect(again.code).toBe(EXIT_CODES.usage);
    expect(again.stderr).toContain('does not exist');
  });

  it('keeps what HubSpot refuses again, with one more attempt, and exits 3', async () => {
    const { dir, entries } = await deadLettered(20, 0.5);
    expect(entries.length).toBeGreaterThan(0);
    running.emulators.hubspot?.emulator.setFaults({ partialFailureRate: 1 });
    const result = await cli(['redrive', 'leads.dead-letters.ndjson', '--emulate', '--crm', 'hubspot'], {
      cwd: dir,
    });
    expect(result.code).toBe(EXIT_CODES.finishedWithProblems);
    expect(result.stdout).toContain(`refused again: ${entries.length}, still in the file`);
    const after = await deadLettersIn(join(dir, 'leads.dead-letters.ndjson'));
    expect(after.map((entry) => entry.id)).toEqual(entries.map((entry) => entry.id));
    for (const [index, entry] of after.entries()) expect(entry.attempts).toBe(entries[index]!.attempts + 1);
  });

  it('--retryable-only leaves records refused for good alone', async () => {
    const { dir, path, entries } = await deadLettered(20, 0.5);
    expect(entries.every((entry) => !entry.error.retryable)).toBe(true);
    const result = await cli(['redrive', 'leads.dead-letters.ndjson', '--emulate', '--retryable-only'], {
      cwd: dir,
    });
    expect(result.code).toBe(EXIT_CODES.done);
    expect(result.stdout).toContain(`0 records sent`);
    expect(result.stdout).toContain(`left alone: ${entries.length}`);
    expect(await deadLettersIn(path)).toEqual(entries);
  });

  it('asks which CRM when the records name several, and refuses a CRM it does not know', async () => {
    const dir = tempDir();
    const entry = (id: string, target: string): DeadLetterEntry => ({
      id,
      target,
      object: 'contacts',
      idProperty: 'email',
      record: { key: `${id}@acme.com`, properties: {} },
      leadIds: [id],
      error: { code: 'validation_failed', message: 'bad', retryable: false },
      attempts: 1,
      firstFailedAt: '2026-11-25T08:00:00.000Z',
      lastFailedAt: '2026-11-25T08:00:00.000Z',
    });
    const write = async (name: string, entries: DeadLetterEntry[]) => {
      const queue = createFileDeadLetterQueue(join(dir, name));
      for (const item of entries) await queue.put(item);
      await queue.close();
    };
    await write('mixed.ndjson', [entry('a', 'hubspot'), entry('b', 'salesforce')]);
    await write('other.ndjson', [entry('c', 'pipedrive')]);

    const mixed = await cli(['redrive', 'mixed.ndjson', '--emulate'], { cwd: dir });
    expect(mixed.code).toBe(EXIT_CODES.usage);
    expect(mixed.stderr).toContain(
      'leadpipe: --crm: the records are for "hubspot", "salesforce": name the one to send to',
    );
    const other = await cli(['redrive', 'other.ndjson', '--emulate'], { cwd: dir });
    expect(other.code).toBe(EXIT_CODES.usage);
    expect(other.stderr).toContain('the records are for "pipedrive", which is not a CRM this command knows');
    // Nothing was sent, and both files are as they were.
    expect(await deadLettersIn(join(dir, 'mixed.ndjson'))).toHaveLength(2);
    expect(await deadLettersIn(join(dir, 'other.ndjson'))).toHaveLength(1);

    // Naming the CRM sends only its records; the other CRM's stay in the file, left alone.
    const hubspot = await cli(['redrive', 'mixed.ndjson', '--emulate', '--crm', 'hubspot'], { cwd: dir });
    expect(hubspot.code).toBe(EXIT_CODES.done);
    expect(hubspot.stdout).toContain('1 record sent');
    expect(hubspot.stdout).toContain('left alone: 1');
    expect((await deadLettersIn(join(dir, 'mixed.ndjson'))).map((item) => item.id)).toEqual(['b']);
  });

  it('refuses a file that is not a dead-letters file, and says when there is nothing to send', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'other.ndjson'), '{"email":"a@b.co"}\n');
    const foreign = await cli(['redrive', 'other.ndjson', '--emulate'], { cwd: dir });
    expect(foreign.code).toBe(EXIT_CODES.usage);
    expect(foreign.stderr).toMatch(/leadpipe: <file>: Dead-letter file .*other\.ndjson cannot be read/);
    expect(readFileSync(join(dir, 'other.ndjson'), 'utf8')).toBe('{"email":"a@b.co"}\n');

    const queue = createFileDeadLetterQueue(join(dir, 'empty.ndjson'));
    expect(await queue.size()).toBe(0);
    await queue.close();
    const empty = await cli(['redrive', 'empty.ndjson', '--emulate'], { cwd: dir });
    expect(empty).toMatchObject({
      code: EXIT_CODES.done,
      stdout: expect.stringContaining('no dead letters to send'),
    });
  });
});

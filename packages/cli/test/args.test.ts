import { LEAD_FIELDS, ValidationError } from '@leadpipe/core';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_FIELDS,
  ENRICH_HELP,
  EXIT_CODES,
  MAIN_HELP,
  parseCommandLine,
  REDRIVE_HELP,
  runCli,
} from '../src/index.js';
import { capture } from './support.js';

function issuesOf(argv: string[]): { field: string; reason: string }[] {
  try {
    parseCommandLine(argv, '/work');
  } catch (error) {
    if (ValidationError.isInstance(error)) return [...error.issues];
    throw error;
  }
  throw new Error('expected a ValidationError');
}

async function run(argv: string[]) {
  const stdout = capture();
  const stderr = capture();
  const code = await runCli(argv, { stdout, stderr, env: {}, cwd: '/work' });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe('parseCommandLine', () => {
  it('fills defaults and resolves paths against cwd', () => {
    const command = parseCommandLine(['enrich', 'data/leads.csv'], '/work');
    expect(command).toEqual({
      kind: 'enrich',
      options: {
        input: '/work/data/leads.csv',
        inputFormat: 'csv',
        out: '/work/data/leads.enriched.csv',
        outFormat: 'csv',
        providers: ['apollo', 'clearbit', 'zoominfo'],
        providersGiven: false,
        fields: DEFAULT_FIELDS,
        crm: undefined,
        resume: false,
        dryRun: false,
        emulate: false,
        report: undefined,
        checkpoint: '/work/data/leads.enriched.csv.checkpoint',
        fresh: false,
        cache: undefined,
        rejects: '/work/data/leads.rejects.csv',
        rejectsFormat: 'csv',
        duplicates: '/work/data/leads.duplicates.csv',
        deadLetters: '/work/data/leads.dead-letters.ndjson',
        concurrency: undefined,
        quiet: false,
      },
    });
  });

  it('reads every flag', () => {
    const command = parseCommandLine(
      [
        'enrich',
        'in.jsonl',
        '--out=out/x.ndjson',
        '--providers',
        'clearbit, apollo',
        '--fields',
        'email,title,company.headcount,title',
        '--crm',
        'salesforce',
        '--resume',
        '--dry-run',
        '--emulate',
        '--report',
        'r.json',
        '--checkpoint',
        '/tmp/c',
        '--rejects',
        'bad/rows.csv',
        '--dead-letters=dl.jsonl',
        '--concurrency',
        '4',
        '-q',
      ],
      '/w',
    );
    expect(command).toMatchObject({
      kind: 'enrich',
      options: {
        input: '/w/in.jsonl',
        inputFormat: 'ndjson',
        out: '/w/out/x.ndjson',
        outFormat: 'ndjson',
        providers: ['clearbit', 'apollo'],
        fields: ['email', 'title', 'company.headcount'],
        crm: 'salesforce',
        resume: true,
        dryRun: true,
        emulate: true,
        report: '/w/r.json',
        checkpoint: '/tmp/c',
        rejects: '/w/bad/rows.csv',
        rejectsFormat: 'csv',
        deadLetters: '/w/dl.jsonl',
        concurrency: 4,
        quiet: true,
      },
    });
  });

  it('names every bad flag with its reason, all at once', () => {
    const issues = issuesOf([
      'enrich',
      'leads.xlsx',
      '--providers',
      'apollo,lusha',
      '--fields',
      'title,shoeSize',
      '--crm',
      'pipedrive',
      '--concurrency',
      '0',
    ]);
    expect(issues).toEqual([
      { field: '<file>', reason: '"leads.xlsx" must end in .csv, .tsv, .ndjson or .jsonl' },
      { field: '--providers', reason: '"lusha" is not a provider; use apollo, clearbit, zoominfo' },
      { field: '--fields', reason: '"shoeSize" is not a lead field' },
      { field: '--fields', reason: `the lead fields are ${LEAD_FIELDS.join(', ')}` },
      { field: '--crm', reason: '"pipedrive" is not a CRM; use hubspot or salesforce' },
      { field: '--concurrency', reason: 'must be a whole number from 1 to 1000, got "0"' },
    ]);
  });

  it('refuses a missing file, a repeated provider, an output that is the input, unknown flags', () => {
    expect(issuesOf(['enrich'])).toEqual([
      { field: '<file>', reason: 'is required: the CSV, TSV or NDJSON file to enrich' },
    ]);
    expect(issuesOf(['enrich', 'a.csv', '--providers', 'apollo,apollo'])).toEqual([
      { field: '--providers', reason: '"apollo" is listed twice' },
    ]);
    expect(issuesOf(['enrich', 'a.csv', '--out', 'a.csv'])).toEqual([
      { field: '--out', reason: 'must not be the input file' },
    ]);
    expect(issuesOf(['enrich', 'a.csv', '--fields', ','])).toEqual([
      { field: '--fields', reason: 'must name at least one lead field, such as title' },
    ]);
    const [unknown] = issuesOf(['enrich', 'a.csv', '--colour']);
    expect(unknown?.field).toBe('--colour');
    const [missingValue] = issuesOf(['enrich', 'a.csv', '--out']);
    expect(missingValue?.field).toBe('--out');
    expect(issuesOf(['frobnicate'])[0]?.field).toBe('<command>');
  });

  it('puts the rejects and dead letters next to the output, in the input format, and keeps them apart', () => {
    const ndjson = parseCommandLine(['enrich', 'in/leads.jsonl', '--out', 'out/x.csv'], '/w');
    expect(ndjson).toMatchObject({
      options: {
        rejects: '/w/out/x.rejects.ndjson',
        rejectsFormat: 'ndjson',
        deadLetters: '/w/out/x.dead-letters.ndjson',
      },
    });
    expect(
      issuesOf(['enrich', 'a.csv', '--rejects', 'a.csv', '--dead-letters', 'a.enriched.csv.checkpoint']),
    ).toEqual([
      { field: '--dead-letters', reason: '"a.enriched.csv.checkpoint" must end in .ndjson or .jsonl' },
      { field: '--rejects', reason: 'must not be the same file as <file>' },
      { field: '--dead-letters', reason: 'must not be the same file as --checkpoint' },
    ]);
    expect(issuesOf(['enrich', 'a.csv', '--rejects', 'r.xlsx', '--dead-letters', 'r.csv'])).toEqual([
      { field: '--rejects', reason: '"r.xlsx" must end in .csv, .tsv, .ndjson or .jsonl' },
      { field: '--dead-letters', reason: '"r.csv" must end in .ndjson or .jsonl' },
    ]);
    expect(issuesOf(['enrich', 'a.csv', '--rejects', 'x.ndjson', '--dead-letters', 'x.ndjson'])).toEqual([
      { field: '--dead-letters', reason: 'must not be the same file as --rejects' },
    ]);
  });
});

describe('runCli usage', () => {
  it('--help and --version print and exit 0', async () => {
    const help = await run(['--help']);
    expect(help).toMatchObject({ code: EXIT_CODES.done, stdout: MAIN_HELP, stderr: '' });
    const enrichHelp = await run(['enrich', '--help']);
    expect(enrichHelp.stdout).toBe(ENRICH_HELP);
    expect(enrichHelp.stdout).toContain('APOLLO_API_KEY');
    const version = await run(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('bad usage exits 2 and names the flag on stderr', async () => {
    const bad = await run(['enrich', 'leads.csv', '--crm', 'pipedrive']);
    expect(bad.code).toBe(EXIT_CODES.usage);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain('leadpipe: --crm: "pipedrive" is not a CRM; use hubspot or salesforce');
    expect(bad.stderr).toContain('Run leadpipe --help for usage.');
    expect((await run(['--nope'])).code).toBe(2);
  });

  it('bare leadpipe prints usage', async () => {
    expect(await run([])).toMatchObject({ code: EXIT_CODES.done, stdout: MAIN_HELP, stderr: '' });
  });

  it('suggests the nearest flag, command or field for a typo', async () => {
    const flag = await run(['enrich', 'leads.csv', '--emulat']);
    expect(flag.code).toBe(EXIT_CODES.usage);
    expect(flag.stderr).toContain("leadpipe: --emulat: Unknown option '--emulat' (did you mean --emulate?)");
    expect(issuesOf(['enrich', 'a.csv', '--dryrun'])[0]?.reason).toContain('(did you mean --dry-run?)');
    expect(issuesOf(['redrive', 'd.ndjson', '--retryable'])[0]?.reason).toContain(
      '(did you mean --retryable-only?)',
    );
    expect(issuesOf(['enrihc'])[0]?.reason).toContain('unknown command "enrihc" (did you mean enrich?)');
    expect(issuesOf(['enrich', 'a.csv', '--fields', 'titel'])).toEqual([
      { field: '--fields', reason: '"titel" is not a lead field (did you mean title?)' },
      { field: '--fields', reason: `the lead fields are ${LEAD_FIELDS.join(', ')}` },
    ]);
    // Nothing near: no guess.
    expect(issuesOf(['enrich', 'a.csv', '--colour'])[0]?.reason).not.toContain('did you mean');
  });

  it('a file that does not exist exits 2 naming it', async () => {
    const missing = await run(['enrich', 'nowhere/leads.csv', '--emulate']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('<file>: /work/nowhere/leads.csv does not exist');
  });
});

describe('--map', () => {
  const columnsOf = (...maps: string[]) => {
    const command = parseCommandLine(['enrich', 'a.csv', ...maps.flatMap((map) => ['--map', map])], '/w');
    return command.kind === 'enrich' ? command.options.columns : undefined;
  };

  it('takes header=path pairs, comma-separated or repeated, with - to drop a column', () => {
    expect(columnsOf()).toBeUndefined();
    expect(
      columnsOf('Primary Contact=email, Org = company.name', 'Notes=-', 'Team=custom.team', 'Old='),
    ).toEqual({
      'Primary Contact': 'email',
      Org: 'company.name',
      Notes: null,
      Team: 'custom.team',
      Old: null,
    });
  });

  it('keeps a comma inside a header, and an = inside a header', () => {
    expect(columnsOf('Company, Inc=company.name,a=b=title')).toEqual({
      'Company, Inc': 'company.name',
      'a=b': 'title',
    });
  });

  it('names every bad pair with its reason', () => {
    const issues = issuesOf([
      'enrich',
      'a.csv',
      '--map',
      'Org=company.nme',
      '--map',
      '=email',
      '--map',
      'Mail=email,Mail=phone',
      '--map',
      'justaheader',
    ]);
    expect(issues.map((issue) => issue.field)).toEqual(['--map', '--map', '--map', '--map']);
    expect(issues[0]?.reason).toMatch(
      /^"company.nme" \(for "Org"\) is not a lead path; use one such as email/,
    );
    expect(issues[1]?.reason).toBe('"=email" names no header before "="');
    expect(issues[2]?.reason).toBe('"Mail" is mapped twice');
    expect(issues[3]?.reason).toBe('"justaheader" must be header=path, such as "Work Email=email"');
  });
});

describe('leadpipe redrive', () => {
  it('reads its file and flags, and names what is wrong', () => {
    expect(parseCommandLine(['redrive', 'out/leads.dead-letters.ndjson'], '/w')).toEqual({
      kind: 'redrive',
      options: {
        input: '/w/out/leads.dead-letters.ndjson',
        crm: undefined,
        retryableOnly: false,
        emulate: false,
        report: undefined,
        quiet: false,
      },
    });
    expect(
      parseCommandLine(
        [
          'redrive',
          'd.jsonl',
          '--crm',
          'salesforce',
          '--retryable-only',
          '--emulate',
          '--report',
          'r.json',
          '-q',
        ],
        '/w',
      ),
    ).toEqual({
      kind: 'redrive',
      options: {
        input: '/w/d.jsonl',
        crm: 'salesforce',
        retryableOnly: true,
        emulate: true,
        report: '/w/r.json',
        quiet: true,
      },
    });
    expect(issuesOf(['redrive'])[0]).toEqual({
      field: '<file>',
      reason: 'is required: the dead-letters file, such as leads.dead-letters.ndjson',
    });
    expect(issuesOf(['redrive', 'leads.csv', '--crm', 'pipedrive'])).toEqual([
      { field: '<file>', reason: '"leads.csv" must end in .ndjson or .jsonl' },
      { field: '--crm', reason: '"pipedrive" is not a CRM; use hubspot or salesforce' },
    ]);
    expect(issuesOf(['redrive', 'd.ndjson', '--report', 'd.ndjson'])).toEqual([
      { field: '--report', reason: 'must not be the dead-letters file' },
    ]);
    expect(issuesOf(['redrive', 'd.ndjson', '--providers', 'apollo'])[0]?.field).toBe('--providers');
  });

  it('has its own help', async () => {
    expect(parseCommandLine(['redrive', '--help'], '/w')).toEqual({ kind: 'help', topic: 'redrive' });
    expect(parseCommandLine(['help', 'redrive'], '/w')).toEqual({ kind: 'help', topic: 'redrive' });
    const help = await run(['redrive', '-h']);
    expect(help).toMatchObject({ code: 0, stdout: REDRIVE_HELP });
    expect((await run(['--help'])).stdout).toContain('redrive <file>');
  });
});

import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIo, EXIT_CODES, runCli } from '../src/index.js';
import { capture, tempDir } from './support.js';

/**
 * The error branches of `leadpipe leads` against the real PostgreSQL: stores
 * that cannot be opened, files that cannot be imported (naming the line and
 * the field), and what a query prints for each kind of value. A schema of
 * this file's own (`lp_cli_...`), dropped after.
 */

function databaseUrl(): string {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
  url.pathname = '/leadpipe_store_test';
  return url.toString();
}

const schema = `lp_cli_${randomBytes(6).toString('hex')}`;
const url = `${databaseUrl()}?schema=${schema}`;
const dir = tempDir();

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function cli(argv: string[], io: Partial<CliIo> = {}): Promise<Outcome> {
  const stdout = io.stdout ?? capture();
  const stderr = capture();
  const code = await runCli(argv, { env: {}, cwd: dir, ...io, stdout, stderr });
  return { code, stdout: (stdout as ReturnType<typeof capture>).text(), stderr: stderr.text() };
}

const NOW = new Date().toISOString();
/** A stored lead, as `leads export --format leads` writes it. */
function stored(id: string, fields: Record<string, unknown>): string {
  return JSON.stringify({ id, provenance: {}, custom: {}, createdAt: NOW, updatedAt: NOW, ...fields });
}

beforeAll(async () => {
  writeFileSync(
    join(dir, 'people.ndjson'),
    [
      stored('0190a000-0000-7000-8000-000000000001', {
        email: 'ada@calc.example',
        fullName: 'Ada Lovelace',
        title: 'Chief Analyst',
        seniority: 'c_suite',
        location: { city: 'London', region: 'England', countryCode: 'GB' },
        company: {
          name: 'Analytical Engines',
          domain: 'calc.example',
          headcount: 12,
          technologies: ['brass', 'steam'],
        },
        custom: { plan: 'pro', seats: 3 },
      }),
      stored('not-a-uuid', { email: 'grace@navy.example' }),
      '{"id": "0190a000-0000-7000-8000-000000000003", "provenance": {}, "email": 42}',
      'this line is not JSON',
      '',
      stored('0190a000-0000-7000-8000-000000000005', {
        email: 'alan@bletchley.example',
        fullName: 'Alan Turing',
      }),
      stored('0190a000-0000-7000-8000-000000000006', { email: 'not an email' }),
    ].join('\n'),
  );
});

afterAll(async () => {
  const client = new pg.Client({ connectionString: databaseUrl() });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
});

describe('leadpipe leads: errors and what is printed', () => {
  it('import of stored leads names the line and the field of each lead refused, and goes on with the rest (exit 3)', async () => {
    const imported = await cli(['leads', 'import', 'people.ndjson', '--store', url]);
    expect(imported.code).toBe(EXIT_CODES.finishedWithProblems);
    expect(imported.stdout).toContain(
      '(stored leads): 6 read, 2 created, 0 updated, 0 unchanged, 4 rejected',
    );
    const lines = imported.stdout.split('\n').slice(1, -1);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe('  line 2: id: must be a UUIDv7');
    expect(lines[1]).toMatch(/^ {2}line 3: .*email: /);
    expect(lines[2]).toBe('  line 4: is not JSON');
    // After a blank line: the line in the file, not the position among the leads.
    expect(lines[3]).toMatch(/^ {2}line 7: email: /);
    const missing = await cli(['leads', 'import', 'nothing.csv', '--store', url]);
    expect(missing.code).toBe(EXIT_CODES.usage);
    expect(missing.stderr).toContain('<file>: ');
    expect(missing.stderr).toContain('nothing.csv does not exist or cannot be read');
  });

  it('import of a plain TSV or NDJSON reads it like enrich: bad rows are rejected by row and field', async () => {
    writeFileSync(
      join(dir, 'rows.tsv'),
      'email\tfull name\tcompany\tcompany__source\nlinus@kernel.example\tLinus T\tKernel\tapollo\nno-email\t\t\t\n',
    );
    const tsv = await cli(['leads', 'import', 'rows.tsv', '--store', url]);
    expect(tsv.code).toBe(EXIT_CODES.finishedWithProblems);
    expect(tsv.stdout).toContain(
      '2 read, 1 created, 0 updated, 0 unchanged, 0 duplicates merged, 1 rejected',
    );
    expect(tsv.stdout).toMatch(/ {2}row 2: email: /);
    writeFileSync(join(dir, 'rows.ndjson'), '{"email":"linus@kernel.example","title":"Maintainer"}\n');
    const ndjson = await cli(['leads', 'import', 'rows.ndjson', '--store', url]);
    expect(ndjson.code, ndjson.stdout).toBe(EXIT_CODES.done);
    expect(ndjson.stdout).toContain('1 read, 0 created, 1 updated');
    const empty = join(dir, 'empty.ndjson');
    writeFileSync(empty, '');
    const none = await cli(['leads', 'import', 'empty.ndjson', '--store', url]);
    expect(none.code).toBe(EXIT_CODES.done);
    expect(none.stdout).toContain('0 read, 0 created');
  });

  it('a table shows each kind of value as text, counts in the singular, and is the default on a terminal', async () => {
    const terminal = Object.assign(capture({ isTTY: true }), {});
    const table = await cli(
      [
        'leads',
        'query',
        '--store',
        url,
        '--where',
        'emailDomain=calc.example',
        '--fields',
        'email,location,company.technologies,custom,seniority',
      ],
      { stdout: terminal },
    );
    expect(table.code, table.stderr).toBe(0);
    const [header, rule, row, summary] = table.stdout.split('\n');
    expect(header).toMatch(/^id\s+email\s+location\s+company\.technologies\s+custom\s+seniority$/);
    expect(rule).toMatch(/^-+( +-+)+$/);
    expect(row).toContain('London, England, GB');
    expect(row).toContain('brass, steam');
    expect(row).toContain('{"plan":"pro","seats":3}');
    expect(row).toContain('c_suite');
    expect(summary).toBe('1 lead of 1 matching');
    const defaults = await cli(['leads', 'query', '--store', url, '--order', 'updatedAt'], {
      stdout: capture({ isTTY: true }),
    });
    expect(defaults.stdout).toMatch(/^id\s+email\s+fullName\s+title\s+company\.name/);
    expect(defaults.stdout).toContain('3 leads of 3 matching');
  });

  it('export --format leads to standard output, and to a file in a folder it makes', async () => {
    const out = await cli(['leads', 'export', '--store', url, '--format', 'leads', '--search', 'turing']);
    expect(out.code, out.stderr).toBe(0);
    expect(
      out.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).email),
    ).toEqual(['alan@bletchley.example']);
    expect(out.stderr).toBe('');
    const file = await cli([
      'leads',
      'export',
      '--store',
      url,
      '--format',
      'ndjson',
      '--out',
      'deep/er/one.ndjson',
      '--where',
      'companyDomain=calc.example',
    ]);
    expect(file.stderr).toContain('exported 1 lead to ');
    expect(JSON.parse(readFileSync(join(dir, 'deep/er/one.ndjson'), 'utf8')).email).toBe('ada@calc.example');
  });

  it('erase takes several people at once; retain archives and purges in one go', async () => {
    const erased = await cli([
      'leads',
      'erase',
      '--store',
      url,
      '--email',
      'alan@bletchley.example',
      '--email',
      'nobody@nowhere.example',
    ]);
    expect(erased.code).toBe(0);
    const lines = erased.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^alan@bletchley\.example: erased from leads \(1\)/);
    expect(lines[1]).toMatch(/^nobody@nowhere\.example: not found anywhere/);
    const retained = await cli([
      'leads',
      'retain',
      '--store',
      url,
      '--archive-after',
      '3650d',
      '--purge-after',
      '7300',
    ]);
    expect(retained.code).toBe(0);
    expect(retained.stdout).toBe(
      'archived 0 leads not updated for 3650 days\npurged 0 archived leads not updated for 7300 days\n',
    );
  });

  it('a store that cannot be opened: a server that does not answer fails (exit 1) without its password; a folder in use is a usage error', async () => {
    const down = await cli(['leads', 'query', '--store', 'postgres://app:hunter2secret@127.0.0.1:1/crm']);
    expect(down.code).toBe(EXIT_CODES.failed);
    expect(down.stderr).toMatch(/^leadpipe: /);
    expect(down.stderr + down.stdout).not.toContain('hunter2secret');
    const folder = join(dir, 'in-use');
    mkdirSync(folder);
    // Process 1 is always alive: the folder is held.
    writeFileSync(join(folder, 'leadpipe.lock'), '1');
    const held = await cli(['leads', 'query', '--store', 'in-use']);
    expect(held.code).toBe(EXIT_CODES.usage);
    expect(held.stderr).toContain('--store: the PGlite data folder is in use by process 1');
    const envBad = await cli(['leads', 'query'], { env: { LEADPIPE_STORE: 'postgres://[bad' } });
    expect(envBad.code).toBe(EXIT_CODES.usage);
    expect(envBad.stderr).toContain('LEADPIPE_STORE: is not a valid postgres:// URL');
  });
});

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LeadStoreRecord, PipelineReport } from '@leadpipe/core';
import type { PostgresStore } from '@leadpipe/store-postgres';
import type { RunningEmulators } from '@leadpipe/testkit';
import { expect, it } from 'vitest';
import { type CliIo, runCli } from '../src/index.js';
import { capture, demoSubset, tempDir } from './support.js';

/** One store the suite runs the command against: the `--store` value, and an open store to hand in, if shared. */
export interface SuiteStore {
  /** What `--store` is given. */
  readonly arg: string;
  /** An open store the command uses instead of opening `arg` (a shared PGlite), if any. */
  readonly open?: PostgresStore;
}

/** What the suite needs from its file: emulators, and two empty stores (A and B). */
export interface LeadsSuiteContext {
  readonly emulators: () => RunningEmulators;
  readonly a: () => SuiteStore;
  readonly b: () => SuiteStore;
  /** Make every lead of store B `days` older (its update time), as if it had not been touched since. */
  readonly ageB: (days: number) => Promise<void>;
}

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The `leadpipe leads` commands and `enrich --store`, driven through
 * `runCli` against a real store (PGlite or PostgreSQL): the tests of both
 * engines' files.
 */
export function leadsCommandSuite(context: LeadsSuiteContext): void {
  const dir = tempDir();

  async function cli(store: SuiteStore, argv: string[], io: Partial<CliIo> = {}): Promise<Outcome> {
    const stdout = capture();
    const stderr = capture();
    const code = await runCli([...argv, '--store', store.arg], {
      env: {},
      cwd: dir,
      emulators: context.emulators(),
      ...(store.open === undefined ? {} : { store: store.open }),
      ...io,
      stdout,
      stderr,
    });
    return { code, stdout: stdout.text(), stderr: stderr.text() };
  }

  function ndjson(text: string): LeadStoreRecord[] {
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as LeadStoreRecord);
  }

  /** Every lead of a query, following its cursors (each page at most `limit`). */
  async function allPages(store: SuiteStore, args: string[], limit: number): Promise<LeadStoreRecord[]> {
    const records: LeadStoreRecord[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 1000; pages += 1) {
      const page = await cli(store, [
        'leads',
        'query',
        ...args,
        '--limit',
        String(limit),
        '--format',
        'ndjson',
        ...(cursor === undefined ? [] : ['--cursor', cursor]),
      ]);
      expect(page.code, page.stderr).toBe(0);
      const leads = ndjson(page.stdout);
      expect(leads.length).toBeLessThanOrEqual(limit);
      records.push(...leads);
      cursor = /--cursor (\S+)/.exec(page.stderr)?.[1];
      if (cursor === undefined) break;
    }
    return records;
  }

  const input = demoSubset(dir, 60);

  it('enrich --store upserts every done lead once; a second run leaves them unchanged', async () => {
    const a = context.a();
    const first = await cli(a, [
      'enrich',
      input,
      '--emulate',
      '--crm',
      'hubspot',
      '-q',
      '--report',
      'r1.json',
    ]);
    expect([0, 3]).toContain(first.code);
    const report = JSON.parse(readFileSync(join(dir, 'r1.json'), 'utf8')) as PipelineReport;
    const unique = report.counts.done - report.counts.duplicates;
    expect(unique).toBeGreaterThan(40);
    expect(report.store).toEqual({ created: unique, updated: 0, unchanged: 0, rejected: 0, failed: 0 });
    expect(first.stdout).toContain(`lead store: ${unique} created`);
    const stored = await allPages(a, ['--fields', 'email,title,company.name'], 100);
    expect(stored).toHaveLength(unique);
    expect(new Set(stored.map((lead) => lead.email)).size).toBe(unique);

    const second = await cli(a, [
      'enrich',
      input,
      '--emulate',
      '--crm',
      'hubspot',
      '-q',
      '--report',
      'r2.json',
    ]);
    expect(second.code).toBe(first.code);
    const again = JSON.parse(readFileSync(join(dir, 'r2.json'), 'utf8')) as PipelineReport;
    expect(again.store).toEqual({ created: 0, updated: 0, unchanged: unique, rejected: 0, failed: 0 });
    const after = await allPages(a, ['--fields', 'email,title,company.name'], 100);
    expect(after).toEqual(stored);
  }, 240_000);

  it('query: --where clauses filter, --fields picks what comes back, cursors page through without a repeat', async () => {
    const a = context.a();
    const every = await allPages(a, ['--fields', 'email,company.headcount,company.industry'], 100);
    const withHeadcount = every.filter((lead) => typeof lead.company?.headcount === 'number');
    const threshold = [...withHeadcount].sort((x, y) => x.company!.headcount! - y.company!.headcount!)[
      Math.floor(withHeadcount.length / 2)
    ]!.company!.headcount!;
    const expected = withHeadcount
      .filter((lead) => lead.company!.headcount! >= threshold)
      .map((lead) => lead.id);
    const paged = await allPages(
      a,
      ['--where', `headcount>=${threshold}`, '--fields', 'email,company.headcount'],
      3,
    );
    expect(paged.map((lead) => lead.id).sort()).toEqual([...expected].sort());
    expect(new Set(paged.map((lead) => lead.id)).size).toBe(paged.length);
    for (const lead of paged) expect(Object.keys(lead).sort()).toEqual(['company', 'email', 'id']);

    const industry = withHeadcount.find((lead) => lead.company?.industry !== undefined)!.company!.industry!;
    const both = await allPages(
      a,
      [
        '--where',
        `industry=${industry.toUpperCase()}`,
        '--where',
        `headcount>=${threshold}`,
        '--fields',
        'company.industry,company.headcount',
      ],
      100,
    );
    const wanted = every.filter(
      (lead) =>
        lead.company?.industry?.toLowerCase() === industry.toLowerCase() &&
        (lead.company?.headcount ?? -1) >= threshold,
    );
    expect(both.map((lead) => lead.id).sort()).toEqual(wanted.map((lead) => lead.id).sort());

    const table = await cli(a, [
      'leads',
      'query',
      '--where',
      `headcount>=${threshold}`,
      '--limit',
      '2',
      '--format',
      'table',
    ]);
    expect(table.code).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines[0]).toMatch(/^id\s+email\s+fullName\s+title/);
    expect(table.stdout).toContain(`2 leads of ${expected.length} matching`);
    expect(table.stdout).toMatch(/next page: --cursor \S+/);
  }, 240_000);

  it('bad input is a usage error (exit 2) naming the flag: unknown filter, bad or foreign cursor, page over 100, a custom name not allowed', async () => {
    const a = context.a();
    const cases: [string[], RegExp][] = [
      [['--where', 'colour=blue'], /--where: "colour=blue": "colour" is not a field you can filter on/],
      [['--where', 'industy=Software'], /did you mean industry\?/],
      [['--where', 'industry>=Software'], /industry takes =, not >=/],
      [['--where', 'custom.drop table=1'], /custom field name "drop table" is not allowed/],
      [['--where', "custom.x'--=1"], /custom field name "x'--" is not allowed/],
      [['--where', 'seniority=boss'], /"boss" is not a seniority/],
      [['--where', 'updatedSince=yesterday'], /updatedSince takes an ISO date/],
      [['--limit', '101'], /--limit: 101 is over the largest page, 100/],
      [['--limit', '0'], /--limit: must be a whole number from 1 to 100/],
      [['--cursor', 'not-a-cursor'], /--cursor: /],
      [['--fields', 'email,passwd'], /--fields: "passwd" is not a field a query returns/],
    ];
    for (const [args, message] of cases) {
      const outcome = await cli(a, ['leads', 'query', ...args]);
      expect(outcome.code, args.join(' ')).toBe(2);
      expect(outcome.stderr, args.join(' ')).toMatch(message);
      expect(outcome.stdout).toBe('');
    }
    // A cursor of another query is refused, not followed.
    const page = await cli(a, ['leads', 'query', '--limit', '1', '--format', 'ndjson']);
    const cursor = /--cursor (\S+)/.exec(page.stderr)?.[1];
    expect(cursor).toBeDefined();
    const foreign = await cli(a, ['leads', 'query', '--where', 'headcount>=1', '--cursor', cursor!]);
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toMatch(/--cursor: /);
    // No store: the flag is named.
    const none = await runCli(['leads', 'query'], {
      env: {},
      cwd: dir,
      stdout: capture(),
      stderr: capture(),
    });
    expect(none).toBe(2);
  }, 240_000);

  it('export writes every matching lead through the CSV and NDJSON writers; --format leads then import restores a store exactly', async () => {
    const a = context.a();
    const b = context.b();
    const count = (await allPages(a, ['--fields', 'email'], 100)).length;
    const csv = await cli(a, ['leads', 'export', '--out', 'all.csv', '--fields', 'email,title,company.name']);
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stderr).toContain(`exported ${count} leads`);
    const csvLines = readFileSync(join(dir, 'all.csv'), 'utf8').trim().split('\n');
    expect(csvLines).toHaveLength(count + 1);
    expect(csvLines[0]).toBe(
      'id,email,email__source,email__confidence,title,title__source,title__confidence,company.name,company.name__source,company.name__confidence',
    );
    const out = await cli(a, ['leads', 'export', '--format', 'ndjson', '--fields', 'email,title']);
    const lines = ndjson(out.stdout) as unknown as Record<string, unknown>[];
    expect(lines).toHaveLength(count);
    expect(Object.keys(lines[0]!)).toEqual(
      expect.arrayContaining(['id', 'email', 'email__source', 'title', 'title__source']),
    );

    const backup = await cli(a, ['leads', 'export', '--format', 'leads', '--out', 'backup.ndjson']);
    expect(backup.code).toBe(0);
    const restored = await cli(b, ['leads', 'import', 'backup.ndjson']);
    expect(restored.code, restored.stdout + restored.stderr).toBe(0);
    expect(restored.stdout).toContain(`${count} read, ${count} created, 0 updated, 0 unchanged, 0 rejected`);
    const copy = await cli(b, ['leads', 'export', '--format', 'leads']);
    const original = readFileSync(join(dir, 'backup.ndjson'), 'utf8');
    const strip = (text: string) =>
      ndjson(text).map((lead) => {
        const {
          updatedAt: _updated,
          createdAt: _created,
          ...rest
        } = lead as unknown as Record<string, unknown>;
        return rest;
      });
    expect(strip(copy.stdout)).toEqual(strip(original));
    // Importing the same again changes nothing.
    const twice = await cli(b, ['leads', 'import', 'backup.ndjson']);
    expect(twice.stdout).toContain(`0 created, 0 updated, ${count} unchanged`);
  }, 240_000);

  it('import reads a CSV like enrich (custom columns kept), custom.<name> filters find them, erase says where it removed a person', async () => {
    const b = context.b();
    writeFileSync(
      join(dir, 'plans.csv'),
      'Email,Full Name,Title,plan\nada@newco.example,Ada Lovelace,VP Engineering,pro\ngrace@newco.example,Grace Hopper,Admiral,free\nnot-an-email,,,pro\n',
    );
    const imported = await cli(b, ['leads', 'import', 'plans.csv']);
    expect(imported.code).toBe(3);
    expect(imported.stdout).toContain(
      '3 read, 2 created, 0 updated, 0 unchanged, 0 duplicates merged, 1 rejected',
    );
    expect(imported.stdout).toMatch(/row 3: email: /);
    const pro = await cli(b, [
      'leads',
      'query',
      '--where',
      'custom.plan=pro',
      '--fields',
      'email,custom',
      '--format',
      'ndjson',
    ]);
    expect(pro.code, pro.stderr).toBe(0);
    expect(ndjson(pro.stdout).map((lead) => lead.email)).toEqual(['ada@newco.example']);
    const search = await cli(b, [
      'leads',
      'query',
      '--search',
      'lovel',
      '--fields',
      'email',
      '--format',
      'ndjson',
    ]);
    expect(ndjson(search.stdout).map((lead) => lead.email)).toEqual(['ada@newco.example']);

    const erased = await cli(b, ['leads', 'erase', '--email', 'Ada@NewCo.example']);
    expect(erased.code).toBe(0);
    expect(erased.stdout).toMatch(/^ada@newco\.example: erased from leads \(1\)/);
    expect(erased.stdout).toMatch(/outbox \(\d+\)/);
    const gone = await cli(b, [
      'leads',
      'query',
      '--where',
      'emailDomain=newco.example',
      '--fields',
      'email',
      '--format',
      'ndjson',
    ]);
    expect(ndjson(gone.stdout).map((lead) => lead.email)).toEqual(['grace@newco.example']);
    const again = await cli(b, ['leads', 'erase', '--email', 'ada@newco.example']);
    expect(again.stdout).toMatch(/^ada@newco\.example: not found anywhere \(looked in leads, /);
    const bad = await cli(b, ['leads', 'erase', '--email', 'nobody']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--email: "nobody" is not an email address');
  }, 240_000);

  it('retain archives stale leads (to the archive and an NDJSON file leads import restores), then purges them', async () => {
    const b = context.b();
    const before = (await allPages(b, ['--fields', 'email'], 100)).length;
    expect(before).toBeGreaterThan(0);
    const none = await cli(b, ['leads', 'retain', '--archive-after', '365d']);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('archived 0 leads not updated for 365 days\n');
    await context.ageB(400);
    const kept = await cli(b, [
      'leads',
      'retain',
      '--archive-after',
      '500d',
      '--archive-file',
      'archive.ndjson',
    ]);
    expect(kept.stdout).toContain('archived 0 leads not updated for 500 days (0 written to');
    const all = await cli(b, [
      'leads',
      'retain',
      '--archive-after',
      '365d',
      '--archive-file',
      'archive.ndjson',
    ]);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toContain(`archived ${before} leads not updated for 365 days (${before} written to`);
    expect(await allPages(b, ['--fields', 'email'], 100)).toEqual([]);
    expect(readFileSync(join(dir, 'archive.ndjson'), 'utf8').trim().split('\n')).toHaveLength(before);
    const young = await cli(b, ['leads', 'retain', '--purge-after', '730d']);
    expect(young.stdout).toBe('purged 0 archived leads not updated for 730 days\n');
    const purged = await cli(b, ['leads', 'retain', '--purge-after', '365d']);
    expect(purged.stdout).toBe(`purged ${before} archived leads not updated for 365 days\n`);
    const back = await cli(b, ['leads', 'import', 'archive.ndjson']);
    expect(back.stdout).toContain(`${before} read, ${before} created`);
    expect(await allPages(b, ['--fields', 'email'], 100)).toHaveLength(before);
    const usage = await cli(b, ['leads', 'retain', '--archive-after', 'a year']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--archive-after: must be a number of days such as 365d');
    const zero = await cli(b, ['leads', 'retain', '--purge-after', '0d']);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('--purge-after: must be at least 1 day');
  }, 240_000);
}

/** SQL that makes every lead of `schema` `days` older, in its column and its document alike. */
export function ageLeadsSql(schema: string, days: number): string {
  const older = `(updated_at - interval '${days} days')`;
  return `UPDATE "${schema}".leads SET doc = jsonb_set(doc, '{updatedAt}', to_jsonb(to_char(${older} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))), updated_at = ${older}`;
}

import { ValidationError } from '@leadpipe/core';
import { describe, expect, it } from 'vitest';
import { LEADS_SUBCOMMANDS, parseCommandLine, parseLeadsCommand } from '../src/index.js';

const NOW = Date.parse('2026-12-06T12:00:00.000Z');

function issuesOf(run: () => unknown): { field: string; reason: string }[] {
  try {
    run();
  } catch (error) {
    if (ValidationError.isInstance(error)) return [...error.issues];
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('leadpipe leads: the command line', () => {
  it('has a help text for leads and for each of its commands', () => {
    const main = parseCommandLine(['leads', '--help'], '/');
    expect(main.kind === 'leads' && main.leads.kind === 'help' && main.leads.text).toContain(
      'Usage: leadpipe leads <command>',
    );
    for (const name of LEADS_SUBCOMMANDS) {
      for (const argv of [
        ['leads', name, '--help'],
        ['help', 'leads', name],
      ]) {
        const parsed = parseCommandLine(argv, '/');
        expect(parsed.kind === 'leads' && parsed.leads.kind === 'help' && parsed.leads.text).toContain(
          `Usage: leadpipe leads ${name}`,
        );
      }
    }
    expect(issuesOf(() => parseCommandLine(['leads', 'qurey'], '/'))[0]?.reason).toContain(
      'did you mean query?',
    );
  });

  it('turns --where clauses into the store filter, and takes LEADPIPE_STORE when --store is not given', () => {
    const parsed = parseLeadsCommand(
      [
        'query',
        '--where',
        'headcount>=200',
        '--where',
        'headcount<1000',
        '--where',
        'company.industry=Software',
        '--where',
        'country=de',
        '--where',
        'seniority=vp,director',
        '--where',
        'updatedSince=7d',
        '--where',
        'custom.plan=pro',
        '--where',
        'custom.seats=12',
        '--where',
        'custom.zip="01234"',
        '--fields',
        'email,title',
        '--limit',
        '100',
      ],
      '/work',
      { LEADPIPE_STORE: 'postgres://app:secret@db:5432/crm?schema=sales' },
      NOW,
    );
    expect(parsed.kind).toBe('command');
    if (parsed.kind !== 'command' || parsed.command.kind !== 'query') throw new Error('expected a query');
    expect(parsed.command.query.where).toEqual({
      headcount: { min: 200, max: 999 },
      industry: 'Software',
      country: 'DE',
      seniority: ['vp', 'director'],
      updatedSince: '2026-11-29T12:00:00.000Z',
      custom: { plan: 'pro', seats: 12, zip: '01234' },
    });
    expect(parsed.command.query.customFields).toEqual(['plan', 'seats', 'zip']);
    expect(parsed.command.limit).toBe(100);
    expect(parsed.command.store).toEqual({
      engine: 'postgres',
      connection: 'postgres://app:secret@db:5432/crm',
      schema: 'sales',
      display: 'postgres://app:***@db:5432/crm (schema sales)',
    });
    const folder = parseLeadsCommand(['erase', '--email', 'a@b.co', '--store', 'leads-db'], '/work', {}, NOW);
    expect(folder.kind === 'command' && folder.command.store).toMatchObject({
      engine: 'pglite',
      connection: '/work/leads-db',
    });
  });

  it('names the flag of every bad value', () => {
    expect(issuesOf(() => parseLeadsCommand(['query'], '/', {}, NOW))).toEqual([
      { field: '--store', reason: expect.stringContaining('is required') },
    ]);
    expect(
      issuesOf(() =>
        parseLeadsCommand(['query', '--store', 'postgres://h/d?schema=Bad-Name'], '/', {}, NOW),
      )[0],
    ).toMatchObject({ field: '--store', reason: expect.stringContaining('schema "Bad-Name"') });
    expect(
      issuesOf(() =>
        parseLeadsCommand(
          ['query', '--store', 'x', '--where', 'headcount>=500', '--where', 'headcount<=100'],
          '/',
          {},
          NOW,
        ),
      ),
    ).toEqual([{ field: '--where', reason: 'headcount: no number is >= 500 and <= 100' }]);
    expect(
      issuesOf(() => parseLeadsCommand(['export', '--store', 'x', '--format', 'xml'], '/', {}, NOW))[0]
        ?.field,
    ).toBe('--format');
    expect(
      issuesOf(() => parseLeadsCommand(['import', '--store', 'x', 'leads.xlsx'], '/', {}, NOW))[0]?.field,
    ).toBe('<file>');
    expect(issuesOf(() => parseLeadsCommand(['retain', '--store', 'x'], '/', {}, NOW))[0]?.field).toBe(
      '--archive-after',
    );
    expect(
      issuesOf(() =>
        parseLeadsCommand(
          ['retain', '--store', 'x', '--purge-after', '9d', '--archive-file', 'a.ndjson'],
          '/',
          {},
          NOW,
        ),
      )[0]?.field,
    ).toBe('--archive-file');
    expect(
      issuesOf(() => parseLeadsCommand(['query', '--store', 'x', '--wher', 'a=b'], '/', {}, NOW))[0],
    ).toMatchObject({
      field: '--wher',
      reason: expect.stringContaining('did you mean --where?'),
    });
  });

  it('every bad clause, field list, page, format, file and option is an issue naming its flag and the value', () => {
    const cases: [string[], string, RegExp][] = [
      [['query', '--where', 'industry'], '--where', /"industry": must be field=value/],
      [['query', '--where', 'custom.plan>=3'], '--where', /custom fields take =, not >=/],
      [
        ['query', '--where', 'custom.plan=a', '--where', 'custom.plan=b'],
        '--where',
        /custom\.plan is given twice/,
      ],
      [['query', '--where', 'headcount=many'], '--where', /headcount takes a whole number/],
      [['query', '--where', 'country=Germany'], '--where', /country takes a two-letter ISO code/],
      [['query', '--where', 'industry=A', '--where', 'industry=B'], '--where', /industry is given twice/],
      [['query', '--where', 'industry='], '--where', /industry needs a value/],
      [['query', '--where', 'title<engineer'], '--where', /title takes =, not </],
      [['query', '--where', 'updatedSince=2026-13-45'], '--where', /updatedSince takes an ISO date/],
      [['query', '--fields', ' , '], '--fields', /must name at least one field/],
      [['query', '--order', 'name'], '--order', /must be id or updatedAt, got "name"/],
      [['query', '--search', '  '], '--search', /needs some text/],
      [['query', '--limit', 'ten'], '--limit', /must be a whole number from 1 to 100, got "ten"/],
      [['query', '--cursor', ' '], '--cursor', /is empty/],
      [['query', '--format', 'csv'], '--format', /must be table or ndjson, got "csv"/],
      [['query', 'extra'], '<arguments>', /leads query takes no arguments, got extra/],
      [['query', '--limit'], '--limit', /argument (is ambiguous|missing)/],
      [['export', '--format', 'xml'], '--format', /must be ndjson, csv or leads, got "xml"/],
      [['import'], '<file>', /is required: the CSV, TSV or NDJSON file/],
      [['import', 'a.csv', 'b.csv'], '<file>', /only one file is taken, got also b\.csv/],
      [['erase'], '--email', /is required: the email of the person to erase/],
      [
        ['erase', '--email', 'a@b.co', '--dead-letters', 'dl.csv'],
        '--dead-letters',
        /must end in \.ndjson or \.jsonl/,
      ],
      [['erase', '--email', 'a@b.co', '--run', 'out.txt'], '--run', /must be an enrich output file/],
      [
        ['retain', '--archive-after', '365d', '--archive-file', 'a.csv'],
        '--archive-file',
        /must end in \.ndjson or \.jsonl/,
      ],
      [
        ['retain', '--archive-after', 'soon'],
        '--archive-after',
        /must be a number of days such as 365d, got "soon"/,
      ],
    ];
    for (const [argv, field, reason] of cases) {
      const issues = issuesOf(() => parseLeadsCommand([...argv, '--store', 'x'], '/', {}, NOW));
      expect(issues, argv.join(' ')).toContainEqual({ field, reason: expect.stringMatching(reason) });
    }
    // A bad --store value: empty, or a URL that does not parse.
    expect(issuesOf(() => parseLeadsCommand(['query', '--store', ' '], '/', {}, NOW))).toEqual([
      { field: '--store', reason: 'must be a postgres:// URL or a folder' },
    ]);
    expect(
      issuesOf(() => parseLeadsCommand(['query', '--store', 'postgres://a b:99999999'], '/', {}, NOW)),
    ).toEqual([{ field: '--store', reason: 'is not a valid postgres:// URL' }]);
    // A bad LEADPIPE_STORE is named as the variable, not as the flag.
    expect(issuesOf(() => parseLeadsCommand(['query'], '/', { LEADPIPE_STORE: '' }, NOW))[0]?.field).toBe(
      'LEADPIPE_STORE',
    );
  });

  it('takes headcount ranges, comparisons and aliases; help topics; files for erase without a store', () => {
    const where = (clauses: string[]) => {
      const parsed = parseLeadsCommand(
        ['query', '--store', 'x', ...clauses.flatMap((clause) => ['--where', clause])],
        '/',
        {},
        NOW,
      );
      if (parsed.kind !== 'command' || parsed.command.kind !== 'query') throw new Error('expected a query');
      return parsed.command.query.where;
    };
    expect(where(['headcount=50..200'])).toEqual({ headcount: { min: 50, max: 200 } });
    expect(where(['headcount=75'])).toEqual({ headcount: { min: 75, max: 75 } });
    expect(where(['headcount>10', 'headcount<100'])).toEqual({ headcount: { min: 11, max: 99 } });
    expect(where(['company.domain=acme.com', 'location.countryCode=fr', 'title=vp sales'])).toEqual({
      companyDomain: 'acme.com',
      country: 'FR',
      title: 'vp sales',
    });
    expect(where(['seniority=VP', 'updatedSince=12h', 'custom.vip=false'])).toEqual({
      seniority: 'vp',
      updatedSince: '2026-12-06T00:00:00.000Z',
      custom: { vip: false },
    });
    expect(where(['updatedSince=2026-01-31'])).toEqual({ updatedSince: '2026-01-31T00:00:00.000Z' });
    for (const argv of [['leads'], ['leads', 'help'], ['leads', 'help', 'nothing']]) {
      const parsed = parseCommandLine(argv, '/');
      expect(parsed.kind === 'leads' && parsed.leads.kind === 'help' && parsed.leads.text).toContain(
        'Usage: leadpipe leads <command>',
      );
    }
    const erase = parseLeadsCommand(
      ['erase', '--email', ' a@b.co ', '--run', 'out/leads.enriched.csv', '--cache', 'answers.ndjson'],
      '/work',
      {},
      NOW,
    );
    if (erase.kind !== 'command' || erase.command.kind !== 'erase') throw new Error('expected an erase');
    expect(erase.command.store).toBeUndefined();
    expect(erase.command.emails).toEqual(['a@b.co']);
    expect(erase.command.files).toEqual([
      { kind: 'answers', path: '/work/answers.ndjson', flag: '--cache', required: true },
      {
        kind: 'answers',
        path: '/work/out/leads.enriched.csv.checkpoint.results',
        flag: '--run',
        required: false,
      },
      { kind: 'deadLetters', path: '/work/out/leads.dead-letters.ndjson', flag: '--run', required: false },
    ]);
    const exported = parseLeadsCommand(['export', '--store', 'x', '--out', 'all.CSV'], '/work', {}, NOW);
    expect(exported.kind === 'command' && exported.command.kind === 'export' && exported.command.format).toBe(
      'csv',
    );
    const imported = parseLeadsCommand(['import', '--store', 'x', 'leads.jsonl'], '/work', {}, NOW);
    expect(imported.kind === 'command' && imported.command.kind === 'import' && imported.command.format).toBe(
      'ndjson',
    );
  });
});

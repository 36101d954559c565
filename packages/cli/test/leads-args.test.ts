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
});

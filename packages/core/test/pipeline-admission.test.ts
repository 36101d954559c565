import { describe, expect, it } from 'vitest';
import { type AdmissionContext, admitRow, toRow } from '../src/pipeline/admission.js';
import { createColumnResolver } from '../src/pipeline/columns.js';
import { createSourceRow } from '../src/pipeline/source.js';

function context(
  overrides: Partial<AdmissionContext> = {},
): AdmissionContext & { seen: Map<string, number> } {
  const seen = new Map<string, number>();
  return {
    resolver: createColumnResolver(),
    defaultCountry: undefined,
    now: new Date('2026-01-01T00:00:00Z'),
    finished: false,
    firstRowOf: (identity, rowNumber) => {
      const first = seen.get(identity);
      if (first === undefined) seen.set(identity, rowNumber);
      return first;
    },
    seen,
    ...overrides,
  };
}

describe('toRow', () => {
  it('keeps a source row its number and line, numbers plain objects by position, and refuses the rest', () => {
    const source = createSourceRow({
      rowNumber: 7,
      line: 9,
      values: { Email: 'a@acme.com' },
      columns: ['Email'],
    });
    expect(toRow(source, 1)).toMatchObject({ rowNumber: 7, line: 9, columns: ['Email'] });
    expect(toRow({ Email: 'a@acme.com', Name: 'A' }, 3)).toEqual({
      rowNumber: 3,
      line: undefined,
      values: { Email: 'a@acme.com', Name: 'A' },
      columns: ['Email', 'Name'],
      readIssues: undefined,
    });
    for (const value of ['text', ['a'], null]) {
      expect(toRow(value, 4)).toMatchObject({
        rowNumber: 4,
        readIssues: [{ field: 'row', reason: 'must be an object of column values' }],
      });
    }
  });
});

describe('admitRow', () => {
  it('admits a new lead as a task, stamped with the given time, and remembers its identity', () => {
    const ctx = context();
    const admission = admitRow(toRow({ Email: 'Ada@Acme.com' }, 1), ctx);
    expect(admission).toMatchObject({ kind: 'task', lead: { email: 'ada@acme.com' } });
    expect(admission.kind === 'task' && admission.lead.createdAt).toBe('2026-01-01T00:00:00.000Z');
    expect([...ctx.seen]).toEqual([['email:ada@acme.com', 1]]);
  });

  it('folds a later row with the same identity into the first', () => {
    const ctx = context();
    admitRow(toRow({ email: 'ada@acme.com' }, 1), ctx);
    expect(admitRow(toRow({ email: 'ADA@acme.com', title: 'CTO' }, 2), ctx)).toMatchObject({
      kind: 'duplicate',
      duplicateOf: 1,
      lead: { email: 'ada@acme.com' },
    });
  });

  it('rejects an unreadable row at read and a bad one at validate, with every reason', () => {
    expect(admitRow(toRow('nope', 1), context())).toEqual({
      kind: 'rejected',
      stage: 'read',
      issues: [{ field: 'row', reason: 'must be an object of column values' }],
    });
    const conflicting = admitRow(toRow({ Email: 'a@acme.com', 'E-mail': 'b@acme.com' }, 2), context());
    expect(conflicting).toMatchObject({ kind: 'rejected', stage: 'validate', issues: [{ field: 'email' }] });
    const invalid = admitRow(toRow({ email: 'not an email' }, 3), context());
    expect(invalid).toMatchObject({ kind: 'rejected', stage: 'validate', issues: [{ field: 'email' }] });
  });

  it('skips a finished row whatever its content, but remembers its identity for later duplicates', () => {
    const ctx = context({ finished: true });
    expect(admitRow(toRow('nope', 1), ctx)).toEqual({ kind: 'skipped' });
    expect(admitRow(toRow({ email: 'bad' }, 2), ctx)).toEqual({ kind: 'skipped' });
    expect(admitRow(toRow({ email: 'ada@acme.com' }, 3), ctx)).toEqual({ kind: 'skipped' });
    const later = admitRow(toRow({ email: 'ada@acme.com' }, 4), { ...ctx, finished: false });
    expect(later).toMatchObject({ kind: 'duplicate', duplicateOf: 3 });
  });

  it('uses the default country for phone numbers without a country code', () => {
    const admission = admitRow(
      toRow({ email: 'ada@acme.com', phone: '030 1234567' }, 1),
      context({ defaultCountry: 'DE' }),
    );
    expect(admission).toMatchObject({ kind: 'task', lead: { phone: '+49301234567' } });
  });
});

import { describe, expect, it } from 'vitest';
import { indexSnapshots, indexUpsertResults, parseChangesPage } from '../src/crm/adapter-output.js';
import { LeadpipeError } from '../src/index.js';

describe('indexUpsertResults', () => {
  it('indexes valid results by normalised key, first one winning, and leaves out invalid ones', () => {
    const results = indexUpsertResults(
      'crm-a',
      [
        { key: ' A@acme.com ', status: 'created', id: '1' },
        { key: 'a@acme.com', status: 'updated', id: '2' },
        { key: 'b@acme.com', status: 'failed', error: { code: 'locked', message: 'busy', retryable: true } },
        { key: 'c@acme.com', status: 'created' },
        { key: 'd@acme.com', status: 'failed', error: { code: 'x', message: 'no retryable flag' } },
        'garbage',
      ],
      false,
    );
    expect([...results.keys()]).toEqual(['a@acme.com', 'b@acme.com']);
    expect(results.get('a@acme.com')).toEqual({ key: ' A@acme.com ', status: 'created', id: '1' });
    expect(results.get('b@acme.com')?.status).toBe('failed');
  });

  it('keeps the case of keys when the id property is case-sensitive', () => {
    const results = indexUpsertResults('crm-a', [{ key: 'Ab1', status: 'created', id: '1' }], true);
    expect(results.has('Ab1')).toBe(true);
    expect(results.has('ab1')).toBe(false);
  });

  it('throws a retryable invalid_response when the adapter did not resolve with an array', () => {
    let caught: unknown;
    try {
      indexUpsertResults('crm-a', { results: [] }, false);
    } catch (error) {
      caught = error;
    }
    expect(LeadpipeError.isInstance(caught) && [caught.code, caught.isRetryable]).toEqual([
      'invalid_response',
      true,
    ]);
  });
});

describe('indexSnapshots', () => {
  it('indexes valid snapshots by normalised key and ignores anything else', () => {
    const snapshots = indexSnapshots(
      [
        { key: 'A@ACME.COM', id: '1', properties: { firstname: 'Ann', phone: null } },
        { key: 'b@acme.com', id: '2', properties: { nested: { no: true } } },
        null,
      ],
      undefined,
    );
    expect([...snapshots.keys()]).toEqual(['a@acme.com']);
    expect(snapshots.get('a@acme.com')?.properties).toEqual({ firstname: 'Ann', phone: null });
    expect(indexSnapshots('not a list', false).size).toBe(0);
  });
});

describe('parseChangesPage', () => {
  it('returns a valid page and names the first problem of an invalid one', () => {
    const page = { records: [{ key: 'a', id: '1', properties: {} }], nextCursor: 'c2', hasMore: true };
    expect(parseChangesPage('crm-a', page)).toEqual(page);
    expect(() => parseChangesPage('crm-a', { records: [], hasMore: false })).toThrow(
      /crm-a: doListChanges returned an invalid page \(nextCursor: /,
    );
  });
});

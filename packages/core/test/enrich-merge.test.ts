import { describe, expect, it } from 'vitest';
import type { LeadField } from '../src/contracts/index.js';
import { isFilled, mergeAnswer, missingFields, takesValue } from '../src/enrich/merge.js';
import { createLead } from '../src/lead/index.js';

const at = new Date('2026-03-02T10:00:00Z');
const base = { mergePolicy: 'first' as const, minConfidence: 0.5, at, credits: 1 };
const wanted = (...fields: LeadField[]) => new Set(fields);

describe('isFilled and missingFields', () => {
  it('counts a field filled when present at or above the confidence threshold', () => {
    const lead = mergeAnswer(
      createLead({ email: 'ada@acme.com' }),
      {
        status: 'matched',
        fields: { title: 'CTO', 'company.name': 'Acme' },
        confidence: 0.4,
        fieldConfidence: { 'company.name': 0.9 },
        credits: 1,
      },
      { ...base, providerId: 'a', wanted: wanted('title', 'company.name') },
    ).lead;
    expect(isFilled(lead, 'email', 0.5)).toBe(true);
    expect(isFilled(lead, 'title', 0.5)).toBe(false);
    expect(isFilled(lead, 'title', 0.4)).toBe(true);
    expect(missingFields(lead, ['title', 'company.name', 'phone'], 0.5)).toEqual(['title', 'phone']);
  });
});

describe('takesValue', () => {
  const choice = {
    present: true,
    existingConfidence: 0.6,
    confidence: 0.9,
    wanted: true,
    mergePolicy: 'first' as const,
    minConfidence: 0.5,
  };

  it('fills an empty field whatever the policy', () => {
    expect(takesValue({ ...choice, present: false, wanted: false, confidence: 0.1 })).toBe(true);
  });

  it('never overwrites a field not wanted in this call', () => {
    expect(takesValue({ ...choice, wanted: false, mergePolicy: 'highestConfidence' })).toBe(false);
  });

  it('first: keeps a value at the threshold, replaces one below it with a more confident one', () => {
    expect(takesValue(choice)).toBe(false);
    expect(takesValue({ ...choice, existingConfidence: 0.3 })).toBe(true);
    expect(takesValue({ ...choice, existingConfidence: 0.3, confidence: 0.2 })).toBe(false);
  });

  it('highestConfidence: replaces a value with a strictly more confident one', () => {
    expect(takesValue({ ...choice, mergePolicy: 'highestConfidence' })).toBe(true);
    expect(takesValue({ ...choice, mergePolicy: 'highestConfidence', confidence: 0.6 })).toBe(false);
  });
});

describe('mergeAnswer', () => {
  it('merges values with provenance from the context', () => {
    const merged = mergeAnswer(
      createLead({ email: 'ada@acme.com' }),
      { status: 'matched', fields: { title: 'CTO' }, confidence: 0.8, credits: 2 },
      { ...base, providerId: 'apollo', credits: 2, wanted: wanted('title') },
    );
    expect(merged.filled).toEqual(['title']);
    expect(merged.issues).toEqual([]);
    expect(merged.lead.title).toBe('CTO');
    expect(merged.lead.provenance.title).toEqual({
      providerId: 'apollo',
      confidence: 0.8,
      at: '2026-03-02T10:00:00.000Z',
      credits: 2,
    });
  });

  it('returns the same lead when nothing is taken', () => {
    const lead = createLead({ email: 'ada@acme.com', title: 'CEO' });
    const merged = mergeAnswer(
      lead,
      { status: 'matched', fields: { title: 'CTO', email: undefined }, confidence: 0.9, credits: 1 },
      { ...base, providerId: 'a', wanted: wanted('title') },
    );
    expect(merged).toEqual({ lead, filled: [], issues: [] });
  });

  it('drops a value the lead model refuses with an issue, and keeps the others', () => {
    const merged = mergeAnswer(
      createLead({ email: 'ada@acme.com' }),
      {
        status: 'matched',
        fields: { title: 'CTO', 'company.headcount': 120, 'company.headcountRange': '1001-5000' },
        confidence: 0.9,
        credits: 1,
      },
      { ...base, providerId: 'a', wanted: wanted('title', 'company.headcount', 'company.headcountRange') },
    );
    expect(merged.lead.title).toBe('CTO');
    expect(merged.filled).not.toContain('company.headcountRange');
    expect(merged.issues.map((issue) => issue.field)).toContain('company.headcountRange');
  });
});

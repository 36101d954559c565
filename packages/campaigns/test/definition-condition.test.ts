import { describe, expect, it } from 'vitest';
import {
  type Condition,
  type ConditionInput,
  conditionBecameTrue,
  evaluateCondition,
  isFieldPath,
  parseCondition,
  pickVariant,
  readField,
} from '../src/index.js';

function parsed(input: ConditionInput): Condition {
  const result = parseCondition(input);
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.condition;
}
function holds(input: ConditionInput, current: unknown, previous?: unknown): boolean {
  return evaluateCondition(parsed(input), { current, previous });
}

const lead = {
  firstName: 'Jane',
  title: 'VP of Sales',
  seniority: 'vp',
  company: { name: 'Acme', headcount: 250, technologies: ['Salesforce', 'HubSpot'] },
  custom: { score: 0, signedUpAt: '2026-11-02T10:00:00Z', tags: [] as string[] },
  email: '',
};

describe('parseCondition', () => {
  it('reads the one-line form: field, operator, and a number, quoted text, boolean or bare word', () => {
    expect(parsed('company.headcount >= 200')).toEqual({ field: 'company.headcount', op: '>=', value: 200 });
    expect(parsed('title changed')).toEqual({ field: 'title', op: 'changed' });
    expect(parsed('email exists')).toEqual({ field: 'email', op: 'exists' });
    expect(parsed('title contains "VP of"')).toEqual({ field: 'title', op: 'contains', value: 'VP of' });
    expect(parsed("seniority != 'c_suite'")).toEqual({ field: 'seniority', op: '!=', value: 'c_suite' });
    expect(parsed('custom.active = true')).toEqual({ field: 'custom.active', op: '=', value: true });
    expect(parsed('location.countryCode = DE')).toEqual({
      field: 'location.countryCode',
      op: '=',
      value: 'DE',
    });
    expect(parsed('custom.signedUpAt < 2026-12-01')).toEqual({
      field: 'custom.signedUpAt',
      op: '<',
      value: '2026-12-01',
    });
  });

  it('reports every problem at its path, and refuses prototype paths and code-like input', () => {
    const result = parseCondition({
      all: [
        { field: 'title', op: '~', value: 'x' },
        'company.headcount >>= 200',
        { any: [] },
        { field: '__proto__.x', op: 'exists' },
      ],
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues).toEqual([
      { path: ['all', 0, 'op'], message: 'expected one of =, !=, >, >=, <, <=, contains, exists, changed' },
      { path: ['all', 1], message: 'value: > needs a number or an ISO 8601 date' },
      { path: ['all', 2, 'any'], message: 'expected a list of 1 to 200 conditions' },
      { path: ['all', 3, 'field'], message: 'expected a field path such as company.headcount' },
    ]);
    expect(parseCondition('process.exit()').ok).toBe(false);
    expect(parseCondition({ field: 'title', op: '=', value: { $where: 'x' } }).ok).toBe(false);
    expect(parseCondition({ field: 'title', op: '=' }).ok).toBe(false);
    expect(parseCondition({ field: 'title', op: 'exists', value: 'yes' }).ok).toBe(false);
    expect(parseCondition({ field: 'title', op: '=', value: 'x', extra: 1 }).ok).toBe(false);
    expect(parseCondition(undefined)).toEqual({ ok: false, issues: [{ path: [], message: 'required' }] });
    expect(isFieldPath('constructor')).toBe(false);
    expect(isFieldPath('company.headcount')).toBe(true);
  });

  it('refuses conditions nested too deep', () => {
    let deep: ConditionInput = 'title exists';
    for (let level = 0; level < 20; level += 1) deep = { all: [deep] };
    expect(parseCondition(deep).ok).toBe(false);
  });
});

describe('evaluateCondition', () => {
  it('compares numbers, dates and text; a missing field is never equal or ordered', () => {
    expect(holds('company.headcount >= 200', lead)).toBe(true);
    expect(holds('company.headcount > 250', lead)).toBe(false);
    expect(holds('company.headcount <= 250', lead)).toBe(true);
    expect(holds('company.headcount < 251', lead)).toBe(true);
    expect(holds('custom.score = 0', lead)).toBe(true);
    expect(holds('custom.signedUpAt > 2026-11-01', lead)).toBe(true);
    expect(holds('custom.signedUpAt < 2026-11-01', lead)).toBe(false);
    expect(holds('seniority = vp', lead)).toBe(true);
    expect(holds('seniority = VP', lead)).toBe(false);
    expect(holds('company.revenue > 1', lead)).toBe(false);
    expect(holds('company.revenue = 1', lead)).toBe(false);
    expect(holds('company.revenue != 1', lead)).toBe(true);
    expect(holds('title > 3', lead)).toBe(false);
  });

  it('contains matches text ignoring case, and list items', () => {
    expect(holds('title contains "vp of"', lead)).toBe(true);
    expect(holds('company.technologies contains salesforce', lead)).toBe(true);
    expect(holds('company.technologies contains Marketo', lead)).toBe(false);
    expect(holds('company.headcount contains 2', lead)).toBe(false);
  });

  it('exists treats null, blank text and empty lists as absent', () => {
    expect(holds('firstName exists', lead)).toBe(true);
    expect(holds('email exists', lead)).toBe(false);
    expect(holds('custom.tags exists', lead)).toBe(false);
    expect(holds({ field: 'phone', op: 'exists', value: false }, lead)).toBe(true);
  });

  it('combines with all and any', () => {
    expect(holds({ all: ['company.headcount >= 200', 'seniority = vp'] }, lead)).toBe(true);
    expect(holds({ all: ['company.headcount >= 200', 'seniority = cto'] }, lead)).toBe(false);
    expect(
      holds({ any: ['seniority = cto', { all: ['title contains sales', 'firstName exists'] }] }, lead),
    ).toBe(true);
  });

  it('never reads through the prototype', () => {
    expect(readField({}, 'toString')).toBeUndefined();
    expect(readField({ a: [{ b: 1 }] }, 'a.0.b')).toBe(1);
    expect(evaluateCondition({ field: 'constructor.name', op: 'exists' }, { current: lead })).toBe(false);
  });

  it('changed compares with the previous version, optionally to a value', () => {
    const promoted = { ...lead, title: 'CRO' };
    expect(holds('title changed', promoted, lead)).toBe(true);
    expect(holds('title changed', lead, lead)).toBe(false);
    expect(holds('title changed', promoted)).toBe(false);
    expect(holds({ field: 'title', op: 'changed', value: 'CRO' }, promoted, lead)).toBe(true);
    expect(holds({ field: 'title', op: 'changed', value: 'CEO' }, promoted, lead)).toBe(false);
    // Deep values compare by content, not identity.
    const sameTech = { ...lead, company: { ...lead.company, technologies: ['Salesforce', 'HubSpot'] } };
    expect(holds('company.technologies changed', sameTech, lead)).toBe(false);
  });
});

describe('conditionBecameTrue', () => {
  const threshold = parsed('company.headcount >= 200');

  it('fires when a threshold is crossed, not again while it stays crossed', () => {
    const small = { company: { headcount: 150 } };
    const big = { company: { headcount: 220 } };
    const bigger = { company: { headcount: 400 } };
    expect(conditionBecameTrue(threshold, small, big)).toBe(true);
    expect(conditionBecameTrue(threshold, big, bigger)).toBe(false);
    expect(conditionBecameTrue(threshold, bigger, small)).toBe(false);
    expect(conditionBecameTrue(threshold, {}, big)).toBe(true);
    expect(conditionBecameTrue(threshold, undefined, big)).toBe(true);
  });

  it('fires on every new title with changed', () => {
    const title = parsed('title changed');
    expect(conditionBecameTrue(title, { title: 'AE' }, { title: 'VP' })).toBe(true);
    expect(conditionBecameTrue(title, { title: 'VP' }, { title: 'CRO' })).toBe(true);
    expect(conditionBecameTrue(title, { title: 'VP' }, { title: 'VP' })).toBe(false);
  });
});

describe('pickVariant', () => {
  const variants = [
    { id: 'a', weight: 3 },
    { id: 'b', weight: 1 },
  ];

  it('is stable per key and follows the weights over many keys', () => {
    expect(pickVariant(variants, 'enrollment-1:step-1')).toBe(pickVariant(variants, 'enrollment-1:step-1'));
    const counts = { a: 0, b: 0 };
    for (let index = 0; index < 10_000; index += 1)
      counts[pickVariant(variants, `enrollment-${index}:step-1`).id as 'a' | 'b'] += 1;
    expect(counts.a / 10_000).toBeGreaterThan(0.72);
    expect(counts.a / 10_000).toBeLessThan(0.78);
    expect(() => pickVariant([], 'x')).toThrow(RangeError);
  });
});

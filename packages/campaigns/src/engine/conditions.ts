import type { CampaignJsonValue, Lead } from '@leadpipe/core';
import type { CampaignCondition } from './types.js';

/** What conditions read: the lead, and the trigger's data under `data.`. */
export interface ConditionSubject {
  /** The lead (absent fields read as `undefined`). */
  readonly lead: Partial<Lead> | undefined;
  /** The enrollment's trigger data. */
  readonly data?: Readonly<Record<string, CampaignJsonValue>>;
}

/** The value at a dotted path of the lead, or of the trigger data for `data.<key>`. */
export function readPath(subject: ConditionSubject, path: string): unknown {
  const parts = path.split('.');
  let current: unknown = parts[0] === 'data' ? subject.data : subject.lead;
  for (const part of parts[0] === 'data' ? parts.slice(1) : parts) {
    if (current === null || typeof current !== 'object') return undefined;
    if (!Object.hasOwn(current, part)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

const sameValue = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

const ordered = (a: unknown, b: unknown): number | undefined => {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return undefined;
};

/** Whether the condition holds. A comparison with a missing or differently typed value is false. */
export function evaluateCondition(condition: CampaignCondition, subject: ConditionSubject): boolean {
  if ('all' in condition) return condition.all.every((part) => evaluateCondition(part, subject));
  if ('any' in condition) return condition.any.some((part) => evaluateCondition(part, subject));
  if ('not' in condition) return !evaluateCondition(condition.not, subject);
  const actual = readPath(subject, condition.field);
  const expected = condition.value;
  switch (condition.op) {
    case 'exists':
      return actual !== undefined && actual !== null && actual !== '';
    case 'eq':
      return typeof actual === 'string' && typeof expected === 'string'
        ? actual.toLowerCase() === expected.toLowerCase()
        : sameValue(actual, expected);
    case 'neq':
      return !evaluateCondition({ ...condition, op: 'eq' }, subject);
    case 'in':
      return (
        Array.isArray(expected) &&
        expected.some((value) => evaluateCondition({ field: condition.field, op: 'eq', value }, subject))
      );
    case 'contains':
      if (typeof actual === 'string' && typeof expected === 'string')
        return actual.toLowerCase().includes(expected.toLowerCase());
      return Array.isArray(actual) && actual.some((value) => sameValue(value, expected));
    default: {
      const order = ordered(actual, expected);
      if (order === undefined) return false;
      return condition.op === 'gt'
        ? order > 0
        : condition.op === 'gte'
          ? order >= 0
          : condition.op === 'lt'
            ? order < 0
            : order <= 0;
    }
  }
}

/** Whether a field's value differs between two versions of a lead (a first value counts as a change). */
export function fieldChanged(
  before: Partial<Lead> | undefined,
  after: Partial<Lead>,
  field: string,
): boolean {
  const now = readPath({ lead: after }, field);
  if (now === undefined) return false;
  return !sameValue(readPath({ lead: before }, field), now);
}

/**
 * The condition language of campaign definitions: small and safe by construction (data, not code; nothing is
 * evaluated as JavaScript). A condition is a field comparison or an `all` / `any` list of conditions.
 */

import { stableJson } from '@leadpipe/core';

/** The operators a {@link FieldCondition} can use. */
export const CONDITION_OPERATORS = [
  '=',
  '!=',
  '>',
  '>=',
  '<',
  '<=',
  'contains',
  'exists',
  'changed',
] as const;

/** One of {@link CONDITION_OPERATORS}. */
export type ConditionOperator = (typeof CONDITION_OPERATORS)[number];

/** A value a condition compares with. */
export type ConditionValue = string | number | boolean | null;

/**
 * A comparison of one field:
 * - `=` / `!=`: equal (strings exactly, numbers by value); a missing field is not equal to anything;
 * - `>`, `>=`, `<`, `<=`: numbers, or ISO 8601 dates compared as instants; false when either side is neither;
 * - `contains`: a text field contains the text (ignoring case), or a list field has the item;
 * - `exists`: the field has a value that is not null or blank (`value: false` inverts it);
 * - `changed`: the field differs from the previous version of the subject (false without one); with a `value`,
 *   it changed and now equals the value.
 */
export interface FieldCondition {
  /** A dotted path into the subject, such as `company.headcount`, `title` or `data.campaignId`. */
  readonly field: string;
  /** The operator. */
  readonly op: ConditionOperator;
  /** The value to compare with; absent for `exists` (meaning true) and a bare `changed`. */
  readonly value?: ConditionValue;
}

/** A condition: a field comparison, all of several, or any of several. */
export type Condition =
  | FieldCondition
  | {
      /** Holds when every condition holds. */
      readonly all: readonly Condition[];
    }
  | {
      /** Holds when at least one condition holds. */
      readonly any: readonly Condition[];
    };

/**
 * A condition as written: also a one-line string `field op value`, such as `company.headcount >= 200`,
 * `title changed`, `email exists` or `title contains "VP"`.
 */
export type ConditionInput =
  | string
  | FieldCondition
  | {
      /** Holds when every condition holds. */
      readonly all: readonly ConditionInput[];
    }
  | {
      /** Holds when at least one condition holds. */
      readonly any: readonly ConditionInput[];
    };

/** The answer of {@link parseCondition}. */
export type ParsedCondition =
  | {
      /** The input is a valid condition. */
      readonly ok: true;
      /** The parsed condition. */
      readonly condition: Condition;
    }
  | {
      /** The input is not a valid condition. */
      readonly ok: false;
      /** Every problem, with its path. */
      readonly issues: readonly ConditionIssue[];
    };

/** One problem found by {@link parseCondition}: where (relative path) and why. */
export interface ConditionIssue {
  /** The path inside the condition, such as `['all', 1, 'op']`. */
  readonly path: readonly (string | number)[];
  /** Why it is wrong. */
  readonly message: string;
}

const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'prototype', 'constructor']);
const FIELD_PATH = /^[A-Za-z_$][\w$-]*(\.[\w$-]+)*$/;
const MAX_DEPTH = 16;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/;
const MAX_ITEMS = 200;

/** Whether `field` is a dotted field path a condition may read (no prototype segments). */
export function isFieldPath(field: string): boolean {
  return (
    typeof field === 'string' &&
    field.length <= 200 &&
    FIELD_PATH.test(field) &&
    !field.split('.').some((segment) => FORBIDDEN_SEGMENTS.has(segment))
  );
}

const STRING_FORM =
  /^\s*([A-Za-z_$][\w$.-]*)\s*(>=|<=|!=|=|>|<|\bcontains\b|\bexists\b|\bchanged\b)\s*(.*?)\s*$/s;

function parseLiteral(text: string): ConditionValue | undefined {
  if (text === '') return undefined;
  if (/^'.*'$/s.test(text)) return text.slice(1, -1);
  if (/^".*"$/s.test(text)) {
    try {
      return JSON.parse(text) as string;
    } catch {
      return text.slice(1, -1);
    }
  }
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text === 'null') return null;
  if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(text)) return Number(text);
  return text;
}

function checkField(
  condition: Record<string, unknown>,
  path: (string | number)[],
  issues: ConditionIssue[],
): FieldCondition | undefined {
  const before = issues.length;
  for (const key of Object.keys(condition)) {
    if (key !== 'field' && key !== 'op' && key !== 'value')
      issues.push({ path: [...path, key], message: 'is not a known option' });
  }
  const { field, op, value } = condition;
  if (typeof field !== 'string' || !isFieldPath(field)) {
    issues.push({ path: [...path, 'field'], message: 'expected a field path such as company.headcount' });
  }
  if (typeof op !== 'string' || !(CONDITION_OPERATORS as readonly string[]).includes(op)) {
    issues.push({ path: [...path, 'op'], message: `expected one of ${CONDITION_OPERATORS.join(', ')}` });
  }
  const scalar = value === null || ['string', 'number', 'boolean'].includes(typeof value);
  if (value !== undefined && !scalar) {
    issues.push({ path: [...path, 'value'], message: 'expected a string, number, boolean or null' });
  } else if (typeof value === 'number' && !Number.isFinite(value)) {
    issues.push({ path: [...path, 'value'], message: 'expected a finite number' });
  } else if (op === 'exists' && value !== undefined && typeof value !== 'boolean') {
    issues.push({ path: [...path, 'value'], message: 'exists takes no value, or true / false' });
  } else if (
    typeof op === 'string' &&
    ['>', '>=', '<', '<='].includes(op) &&
    typeof value !== 'number' &&
    !(typeof value === 'string' && ISO_DATE.test(value) && Number.isFinite(Date.parse(value)))
  ) {
    issues.push({ path: [...path, 'value'], message: `${op} needs a number or an ISO 8601 date` });
  } else if (typeof op === 'string' && ['=', '!=', 'contains'].includes(op) && value === undefined) {
    issues.push({ path: [...path, 'value'], message: `${op} needs a value` });
  }
  if (issues.length > before) return undefined;
  return value === undefined
    ? { field: field as string, op: op as ConditionOperator }
    : { field: field as string, op: op as ConditionOperator, value: value as ConditionValue };
}

function parseAt(
  input: unknown,
  path: (string | number)[],
  depth: number,
  issues: ConditionIssue[],
): Condition | undefined {
  if (depth > MAX_DEPTH) {
    issues.push({ path, message: `conditions nest at most ${MAX_DEPTH} levels deep` });
    return undefined;
  }
  if (typeof input === 'string') {
    const match = STRING_FORM.exec(input);
    if (match === null) {
      issues.push({
        path,
        message: `expected "field op value" such as "company.headcount >= 200", got ${JSON.stringify(input)}`,
      });
      return undefined;
    }
    const literal = parseLiteral(match[3] ?? '');
    const before = issues.length;
    const parsed = checkField(
      literal === undefined
        ? { field: match[1], op: match[2] }
        : { field: match[1], op: match[2], value: literal },
      [],
      issues,
    );
    // Issues of the string form belong to the string itself.
    for (let index = before; index < issues.length; index += 1) {
      const issue = issues[index] as ConditionIssue;
      issues[index] = { path, message: `${issue.path.join('.')}: ${issue.message}` };
    }
    return parsed;
  }
  if (input === undefined) {
    issues.push({ path, message: 'required' });
    return undefined;
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    issues.push({
      path,
      message: 'expected a condition: "field op value", {field, op, value}, {all: [...]} or {any: [...]}',
    });
    return undefined;
  }
  const record = input as Record<string, unknown>;
  for (const combinator of ['all', 'any'] as const) {
    if (combinator in record) {
      const extra = Object.keys(record).filter((key) => key !== combinator);
      for (const key of extra) issues.push({ path: [...path, key], message: 'is not a known option' });
      const list = record[combinator];
      if (!Array.isArray(list) || list.length === 0 || list.length > MAX_ITEMS) {
        issues.push({
          path: [...path, combinator],
          message: `expected a list of 1 to ${MAX_ITEMS} conditions`,
        });
        return undefined;
      }
      const items = list.map((item, index) => parseAt(item, [...path, combinator, index], depth + 1, issues));
      if (extra.length > 0 || items.some((item) => item === undefined)) return undefined;
      return combinator === 'all' ? { all: items as Condition[] } : { any: items as Condition[] };
    }
  }
  return checkField(record, path, issues);
}

/**
 * Parses a condition as written ({@link ConditionInput}) into a {@link Condition}, collecting every problem with
 * its path instead of stopping at the first.
 *
 * @param input - the condition.
 * @returns the condition, or the issues.
 */
export function parseCondition(input: unknown): ParsedCondition {
  const issues: ConditionIssue[] = [];
  const condition = parseAt(input, [], 0, issues);
  return condition === undefined || issues.length > 0 ? { ok: false, issues } : { ok: true, condition };
}

/**
 * Reads a dotted path from a value: own properties of plain objects and array indexes only (never the prototype).
 *
 * @param subject - the object to read, such as a lead or an event.
 * @param field - the path, such as `company.headcount`.
 */
export function readField(subject: unknown, field: string): unknown {
  let current: unknown = subject;
  for (const segment of field.split('.')) {
    if (current === null || typeof current !== 'object' || FORBIDDEN_SEGMENTS.has(segment)) return undefined;
    if (!Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

function isPresent(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'string') return value.trim() !== '';
  if (Array.isArray(value)) return value.length > 0;
  return true;
}

function comparable(left: unknown, right: unknown): [number, number] | undefined {
  if (typeof left === 'number' && typeof right === 'number') return [left, right];
  if (typeof left === 'string' && typeof right === 'string' && ISO_DATE.test(left) && ISO_DATE.test(right)) {
    const a = Date.parse(left);
    const b = Date.parse(right);
    if (Number.isFinite(a) && Number.isFinite(b)) return [a, b];
  }
  return undefined;
}

function sameValue(left: unknown, right: unknown): boolean {
  if (left === right) return true;
  if (typeof left !== 'object' || typeof right !== 'object' || left === null || right === null) return false;
  return stableJson(left) === stableJson(right);
}

/** What {@link evaluateCondition} evaluates against. */
export interface ConditionSubject {
  /** The current value, such as the lead after an update or an event. */
  readonly current: unknown;
  /** The previous value, such as the lead before the update (for `changed`). */
  readonly previous?: unknown;
}

function evaluateField(condition: FieldCondition, subject: ConditionSubject): boolean {
  const actual = readField(subject.current, condition.field);
  const expected = condition.value;
  switch (condition.op) {
    case '=':
      return actual !== undefined && sameValue(actual, expected);
    case '!=':
      return !(actual !== undefined && sameValue(actual, expected));
    case '>':
    case '>=':
    case '<':
    case '<=': {
      const pair = comparable(actual, expected);
      if (pair === undefined) return false;
      const [a, b] = pair;
      return condition.op === '>'
        ? a > b
        : condition.op === '>='
          ? a >= b
          : condition.op === '<'
            ? a < b
            : a <= b;
    }
    case 'contains':
      if (typeof actual === 'string' && typeof expected === 'string') {
        return actual.toLowerCase().includes(expected.toLowerCase());
      }
      if (Array.isArray(actual)) {
        return actual.some((item) =>
          typeof item === 'string' && typeof expected === 'string'
            ? item.toLowerCase() === expected.toLowerCase()
            : sameValue(item, expected),
        );
      }
      return false;
    case 'exists':
      return isPresent(actual) === (expected === undefined ? true : expected === true);
    case 'changed': {
      if (subject.previous === undefined) return false;
      const before = readField(subject.previous, condition.field);
      const changed = isPresent(before) || isPresent(actual) ? !sameValue(before, actual) : false;
      return changed && (expected === undefined || sameValue(actual, expected));
    }
  }
}

/**
 * Evaluates a condition. Pure and total: a missing field or a type mismatch makes a comparison false (and `!=`
 * true); nothing throws for data.
 *
 * @param condition - a parsed condition (see {@link parseCondition}).
 * @param subject - the current value and, for `changed`, the previous one.
 */
export function evaluateCondition(condition: Condition, subject: ConditionSubject): boolean {
  if ('all' in condition) return condition.all.every((item) => evaluateCondition(item, subject));
  if ('any' in condition) return condition.any.some((item) => evaluateCondition(item, subject));
  return evaluateField(condition, subject);
}

/**
 * Whether a condition trigger fires on an update: the condition holds for the new value and did not hold for the
 * old one (so `company.headcount >= 200` fires once, when the headcount crosses 200, not on every later update).
 * A condition using `changed` holds only across this very update, so it fires whenever the field changes.
 *
 * @param condition - the trigger's condition.
 * @param previous - the value before the update (undefined for a new lead: then it fires when the condition holds).
 * @param current - the value after it.
 */
export function conditionBecameTrue(condition: Condition, previous: unknown, current: unknown): boolean {
  if (!evaluateCondition(condition, { current, previous })) return false;
  if (previous === undefined) return true;
  return !evaluateCondition(condition, { current: previous, previous: undefined });
}

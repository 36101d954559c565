import { httpFailure } from './errors.js';
import type { FieldValue, LeadSchema, SalesforceFieldDefinition } from './schema.js';
import { parseDatetime } from './schema.js';
import type { LeadRecord } from './store.js';

type Token =
  | { readonly kind: 'word'; readonly text: string; readonly at: number }
  | { readonly kind: 'string'; readonly text: string; readonly at: number }
  | { readonly kind: 'number'; readonly text: string; readonly at: number }
  | { readonly kind: 'datetime'; readonly text: string; readonly at: number }
  | { readonly kind: 'symbol'; readonly text: string; readonly at: number }
  | { readonly kind: 'end'; readonly text: string; readonly at: number };

/** A literal in a SOQL condition. */
type Literal =
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'datetime'; readonly value: number }
  | { readonly kind: 'boolean'; readonly value: boolean }
  | { readonly kind: 'null' };

type Condition =
  | { readonly kind: 'and' | 'or'; readonly left: Condition; readonly right: Condition }
  | { readonly kind: 'not'; readonly operand: Condition }
  | {
      readonly kind: 'compare';
      readonly field: SalesforceFieldDefinition;
      readonly operator: '=' | '!=' | '<' | '<=' | '>' | '>=' | 'LIKE';
      readonly value: Literal;
    }
  | {
      readonly kind: 'in';
      readonly field: SalesforceFieldDefinition;
      readonly negated: boolean;
      readonly values: readonly Literal[];
    };

/** A parsed SOQL query of the supported subset. */
export interface SoqlQuery {
  /** Selected fields in order; empty for `SELECT COUNT()`. */
  readonly fields: readonly SalesforceFieldDefinition[];
  readonly count: boolean;
  readonly where: Condition | undefined;
  readonly orderBy: readonly {
    readonly field: SalesforceFieldDefinition;
    readonly descending: boolean;
    readonly nullsLast: boolean;
  }[];
  readonly limit: number | undefined;
  readonly offset: number | undefined;
}

const KEYWORDS = new Set([
  'SELECT',
  'FROM',
  'WHERE',
  'AND',
  'OR',
  'NOT',
  'IN',
  'LIKE',
  'ORDER',
  'BY',
  'ASC',
  'DESC',
  'NULLS',
  'FIRST',
  'LAST',
  'LIMIT',
  'OFFSET',
  'NULL',
  'TRUE',
  'FALSE',
]);

function malformed(soql: string, at: number, message: string): Error {
  const before = soql.slice(0, at);
  const row = before.split('\n').length;
  const column = at - before.lastIndexOf('\n');
  return httpFailure(
    400,
    'MALFORMED_QUERY',
    `\n${soql}\n${' '.repeat(Math.max(0, at))}^\nERROR at Row:${row}:Column:${column}\n${message}`,
  );
}

function tokenize(soql: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < soql.length) {
    const char = soql.charAt(index);
    if (/\s/.test(char)) {
      index += 1;
      continue;
    }
    const rest = soql.slice(index);
    const datetime = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))?/.exec(
      rest,
    );
    if (datetime !== null) {
      tokens.push({ kind: 'datetime', text: datetime[0], at: index });
      index += datetime[0].length;
      continue;
    }
    const number = /^[+-]?\d+(?:\.\d+)?/.exec(rest);
    if (number !== null) {
      tokens.push({ kind: 'number', text: number[0], at: index });
      index += number[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_.]*(?::\d+)?/.exec(rest);
    if (word !== null) {
      tokens.push({ kind: 'word', text: word[0], at: index });
      index += word[0].length;
      continue;
    }
    if (char === "'") {
      let text = '';
      let position = index + 1;
      let closed = false;
      while (position < soql.length) {
        const current = soql.charAt(position);
        if (current === '\\') {
          const next = soql.charAt(position + 1);
          const escapes: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f' };
          text += escapes[next] ?? next;
          position += 2;
          continue;
        }
        if (current === "'") {
          closed = true;
          break;
        }
        text += current;
        position += 1;
      }
      if (!closed) throw malformed(soql, index, `line 1:${index} mismatched character '<EOF>' expecting '''`);
      tokens.push({ kind: 'string', text, at: index });
      index = position + 1;
      continue;
    }
    const symbol = /^(?:!=|<>|<=|>=|[=<>(),*])/.exec(rest);
    if (symbol !== null) {
      tokens.push({ kind: 'symbol', text: symbol[0] === '<>' ? '!=' : symbol[0], at: index });
      index += symbol[0].length;
      continue;
    }
    throw malformed(soql, index, `unexpected token: '${char}'`);
  }
  tokens.push({ kind: 'end', text: '<EOF>', at: soql.length });
  return tokens;
}

class Parser {
  private position = 0;
  private readonly tokens: Token[];

  constructor(
    private readonly soql: string,
    private readonly schema: LeadSchema,
    private readonly now: () => number,
  ) {
    this.tokens = tokenize(soql);
  }

  private peek(): Token {
    return this.tokens[this.position] ?? { kind: 'end', text: '<EOF>', at: this.soql.length };
  }

  private next(): Token {
    const token = this.peek();
    this.position += 1;
    return token;
  }

  private isKeyword(keyword: string): boolean {
    const token = this.peek();
    return token.kind === 'word' && token.text.toUpperCase() === keyword;
  }

  private expectKeyword(keyword: string): void {
    const token = this.next();
    if (token.kind !== 'word' || token.text.toUpperCase() !== keyword) {
      throw malformed(this.soql, token.at, `unexpected token: '${token.text}'`);
    }
  }

  private expectSymbol(symbol: string): void {
    const token = this.next();
    if (token.kind !== 'symbol' || token.text !== symbol) {
      throw malformed(this.soql, token.at, `unexpected token: '${token.text}'`);
    }
  }

  private fieldName(): SalesforceFieldDefinition {
    const token = this.next();
    if (token.kind !== 'word' || KEYWORDS.has(token.text.toUpperCase())) {
      throw malformed(this.soql, token.at, `unexpected token: '${token.text}'`);
    }
    const field = this.schema.field(token.text);
    if (field === undefined) {
      throw httpFailure(
        400,
        'INVALID_FIELD',
        `\n${this.soql}\n${' '.repeat(token.at)}^\nERROR at Row:1:Column:${token.at + 1}\nNo such column '${token.text}' on entity 'Lead'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
      );
    }
    return field;
  }

  parse(): SoqlQuery {
    this.expectKeyword('SELECT');
    const fields: SalesforceFieldDefinition[] = [];
    let count = false;
    const first = this.peek();
    if (first.kind === 'word' && first.text.toUpperCase() === 'COUNT') {
      this.next();
      this.expectSymbol('(');
      this.expectSymbol(')');
      count = true;
    } else {
      fields.push(this.fieldName());
      while (this.peek().kind === 'symbol' && this.peek().text === ',') {
        this.next();
        fields.push(this.fieldName());
      }
    }
    this.expectKeyword('FROM');
    const object = this.next();
    if (object.kind !== 'word') throw malformed(this.soql, object.at, `unexpected token: '${object.text}'`);
    if (object.text.toLowerCase() !== 'lead') {
      throw httpFailure(
        400,
        'INVALID_TYPE',
        `\n${this.soql}\n${' '.repeat(object.at)}^\nERROR at Row:1:Column:${object.at + 1}\nsObject type '${object.text}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
      );
    }
    let where: Condition | undefined;
    if (this.isKeyword('WHERE')) {
      this.next();
      where = this.orCondition();
    }
    const orderBy: { field: SalesforceFieldDefinition; descending: boolean; nullsLast: boolean }[] = [];
    if (this.isKeyword('ORDER')) {
      this.next();
      this.expectKeyword('BY');
      do {
        if (orderBy.length > 0) this.next();
        const field = this.fieldName();
        let descending = false;
        if (this.isKeyword('ASC')) this.next();
        else if (this.isKeyword('DESC')) {
          this.next();
          descending = true;
        }
        let nullsLast = descending;
        if (this.isKeyword('NULLS')) {
          this.next();
          if (this.isKeyword('FIRST')) nullsLast = false;
          else if (this.isKeyword('LAST')) nullsLast = true;
          else throw malformed(this.soql, this.peek().at, `unexpected token: '${this.peek().text}'`);
          this.next();
        }
        orderBy.push({ field, descending, nullsLast });
      } while (this.peek().kind === 'symbol' && this.peek().text === ',');
    }
    let limit: number | undefined;
    if (this.isKeyword('LIMIT')) {
      this.next();
      limit = this.integer();
    }
    let offset: number | undefined;
    if (this.isKeyword('OFFSET')) {
      this.next();
      offset = this.integer();
      if (offset > 2000) {
        throw httpFailure(400, 'NUMBER_OUTSIDE_VALID_RANGE', 'Maximum SOQL offset allowed is 2000');
      }
    }
    const end = this.peek();
    if (end.kind !== 'end') throw malformed(this.soql, end.at, `unexpected token: '${end.text}'`);
    return { fields, count, where, orderBy, limit, offset };
  }

  private integer(): number {
    const token = this.next();
    if (token.kind !== 'number' || !/^\d+$/.test(token.text)) {
      throw malformed(this.soql, token.at, `unexpected token: '${token.text}'`);
    }
    return Number.parseInt(token.text, 10);
  }

  private orCondition(): Condition {
    let left = this.andCondition();
    while (this.isKeyword('OR')) {
      this.next();
      left = { kind: 'or', left, right: this.andCondition() };
    }
    return left;
  }

  private andCondition(): Condition {
    let left = this.notCondition();
    while (this.isKeyword('AND')) {
      this.next();
      left = { kind: 'and', left, right: this.notCondition() };
    }
    return left;
  }

  private notCondition(): Condition {
    if (this.isKeyword('NOT')) {
      this.next();
      return { kind: 'not', operand: this.notCondition() };
    }
    const token = this.peek();
    if (token.kind === 'symbol' && token.text === '(') {
      this.next();
      const inner = this.orCondition();
      this.expectSymbol(')');
      return inner;
    }
    return this.comparison();
  }

  private comparison(): Condition {
    const field = this.fieldName();
    if (this.isKeyword('NOT')) {
      this.next();
      this.expectKeyword('IN');
      return { kind: 'in', field, negated: true, values: this.literalList(field) };
    }
    if (this.isKeyword('IN')) {
      this.next();
      return { kind: 'in', field, negated: false, values: this.literalList(field) };
    }
    if (this.isKeyword('LIKE')) {
      this.next();
      const value = this.literal(field);
      if (value.kind !== 'string') throw malformed(this.soql, this.peek().at, 'LIKE needs a string');
      return { kind: 'compare', field, operator: 'LIKE', value };
    }
    const operator = this.next();
    if (operator.kind !== 'symbol' || !['=', '!=', '<', '<=', '>', '>='].includes(operator.text)) {
      throw malformed(this.soql, operator.at, `unexpected token: '${operator.text}'`);
    }
    return {
      kind: 'compare',
      field,
      operator: operator.text as '=' | '!=' | '<' | '<=' | '>' | '>=',
      value: this.literal(field),
    };
  }

  private literalList(field: SalesforceFieldDefinition): Literal[] {
    this.expectSymbol('(');
    const values = [this.literal(field)];
    while (this.peek().kind === 'symbol' && this.peek().text === ',') {
      this.next();
      values.push(this.literal(field));
    }
    this.expectSymbol(')');
    return values;
  }

  private literal(field: SalesforceFieldDefinition): Literal {
    const token = this.next();
    const isNumeric = field.type === 'int' || field.type === 'double' || field.type === 'currency';
    const typeMismatch = (expected: string) =>
      httpFailure(
        400,
        'INVALID_FIELD',
        `\n${this.soql}\n${' '.repeat(token.at)}^\nERROR at Row:1:Column:${token.at + 1}\nvalue of filter criterion for field '${field.name}' must be of type ${expected} and should not be enclosed in quotes`,
      );
    if (token.kind === 'word' && token.text.toUpperCase() === 'NULL') return { kind: 'null' };
    if (
      token.kind === 'word' &&
      (token.text.toUpperCase() === 'TRUE' || token.text.toUpperCase() === 'FALSE')
    ) {
      if (field.type !== 'boolean') throw typeMismatch(field.type);
      return { kind: 'boolean', value: token.text.toUpperCase() === 'TRUE' };
    }
    if (field.type === 'datetime') {
      if (token.kind === 'datetime' && token.text.includes('T')) {
        const ms = parseDatetime(token.text);
        if (ms !== undefined) return { kind: 'datetime', value: ms };
      }
      if (token.kind === 'word') {
        const relative = this.dateLiteral(token.text);
        if (relative !== undefined) return { kind: 'datetime', value: relative };
      }
      throw typeMismatch('dateTime');
    }
    if (token.kind === 'string') {
      if (isNumeric || field.type === 'boolean')
        throw typeMismatch(field.type === 'int' ? 'int' : field.type);
      return { kind: 'string', value: token.text };
    }
    if (token.kind === 'number') {
      if (!isNumeric) throw typeMismatch('string');
      return { kind: 'number', value: Number(token.text) };
    }
    throw malformed(this.soql, token.at, `unexpected token: '${token.text}'`);
  }

  private dateLiteral(text: string): number | undefined {
    const dayMs = 86_400_000;
    const startOfToday = Math.floor(this.now() / dayMs) * dayMs;
    const upper = text.toUpperCase();
    if (upper === 'TODAY') return startOfToday;
    if (upper === 'YESTERDAY') return startOfToday - dayMs;
    const match = /^LAST_N_DAYS:(\d+)$/.exec(upper);
    if (match !== null) return startOfToday - Number(match[1]) * dayMs;
    return undefined;
  }
}

/** Parse SOQL of the supported subset against the Lead schema; throws Salesforce's 400 errors. */
export function parseSoql(soql: string, schema: LeadSchema, now: () => number): SoqlQuery {
  return new Parser(soql, schema, now).parse();
}

function compareValues(left: FieldValue, right: FieldValue): number {
  if (typeof left === 'string' && typeof right === 'string') {
    const a = left.toLowerCase();
    const b = right.toLowerCase();
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (typeof left === 'number' && typeof right === 'number') return left - right;
  if (typeof left === 'boolean' && typeof right === 'boolean') return Number(left) - Number(right);
  return String(left).localeCompare(String(right));
}

function literalValue(literal: Literal): FieldValue {
  return literal.kind === 'null' ? null : literal.value;
}

function likeToRegExp(pattern: string): RegExp {
  const source = [...pattern]
    .map((char) => (char === '%' ? '.*' : char === '_' ? '.' : char.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 'is');
}

function matches(condition: Condition, record: LeadRecord): boolean {
  switch (condition.kind) {
    case 'and':
      return matches(condition.left, record) && matches(condition.right, record);
    case 'or':
      return matches(condition.left, record) || matches(condition.right, record);
    case 'not':
      return !matches(condition.operand, record);
    case 'in': {
      const value = record[condition.field.name] ?? null;
      const found = condition.values.some((literal) => {
        const expected = literalValue(literal);
        if (value === null || expected === null) return value === expected;
        return compareValues(value, expected) === 0;
      });
      return condition.negated ? !found : found;
    }
    case 'compare': {
      const value = record[condition.field.name] ?? null;
      const expected = literalValue(condition.value);
      if (condition.operator === '=') {
        return value === null || expected === null
          ? value === expected
          : compareValues(value, expected) === 0;
      }
      if (condition.operator === '!=') {
        return value === null || expected === null
          ? value !== expected
          : compareValues(value, expected) !== 0;
      }
      if (value === null || expected === null) return false;
      if (condition.operator === 'LIKE') return likeToRegExp(String(expected)).test(String(value));
      const order = compareValues(value, expected);
      if (condition.operator === '<') return order < 0;
      if (condition.operator === '<=') return order <= 0;
      if (condition.operator === '>') return order > 0;
      return order >= 0;
    }
  }
}

/** Run `query` over `records`: filter, sort, offset and limit (paging is the caller's job). */
export function runSoql(query: SoqlQuery, records: readonly LeadRecord[]): LeadRecord[] {
  const where = query.where;
  const filtered = where === undefined ? [...records] : records.filter((record) => matches(where, record));
  if (query.orderBy.length > 0) {
    filtered.sort((a, b) => {
      for (const { field, descending, nullsLast } of query.orderBy) {
        const left = a[field.name] ?? null;
        const right = b[field.name] ?? null;
        if (left === null && right === null) continue;
        if (left === null) return nullsLast ? 1 : -1;
        if (right === null) return nullsLast ? -1 : 1;
        const order = compareValues(left, right);
        if (order !== 0) return descending ? -order : order;
      }
      return 0;
    });
  }
  const start = query.offset ?? 0;
  const end = query.limit === undefined ? undefined : start + query.limit;
  return filtered.slice(start, end);
}

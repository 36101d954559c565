import { HEADCOUNT_RANGES, type HeadcountRange } from '../contracts/fields.js';
import { invalid } from './issues.js';

const HEADCOUNT_FIELD = 'company.headcount';
const RANGE_FIELD = 'company.headcountRange';
const REVENUE_FIELD = 'company.annualRevenue';

/** Lower and upper bound (inclusive) of each standard range; the last is open. */
const BOUNDS: readonly (readonly [number, number])[] = [
  [0, 10],
  [11, 50],
  [51, 200],
  [201, 500],
  [501, 1000],
  [1001, 5000],
  [5001, 10000],
  [10001, Number.POSITIVE_INFINITY],
];

/**
 * The standard range of a headcount: `1-10`, `11-50`, `51-200`, `201-500`,
 * `501-1000`, `1001-5000`, `5001-10000` or `10001+`. A headcount of 0 falls in
 * `1-10`. Throws `ValidationError` (field `company.headcount`) unless the
 * headcount is a non-negative integer.
 *
 * @example headcountToRange(1200) // '1001-5000'
 */
export function headcountToRange(headcount: number): HeadcountRange {
  if (typeof headcount !== 'number' || !Number.isSafeInteger(headcount) || headcount < 0) {
    invalid(HEADCOUNT_FIELD, 'must be a non-negative whole number');
  }
  const index = BOUNDS.findIndex(([, upper]) => headcount <= upper);
  return HEADCOUNT_RANGES[index]!;
}

/** Whether `headcount` lies inside `range`. */
export function isHeadcountInRange(headcount: number, range: HeadcountRange): boolean {
  return headcountToRange(headcount) === range;
}

/**
 * Parse one count: `1200`, `1,200`, `1 200`, `1.2k`, `2K`. Returns undefined when
 * the text is not a count.
 */
function parseCount(text: string): number | undefined {
  const compactText = text.replace(/(\d)[,\s_'](?=\d{3}(?:\D|$))/g, '$1');
  const match = /^(\d+(?:\.\d+)?)(k|m)?$/i.exec(compactText);
  if (match === null) return undefined;
  const base = Number(match[1]);
  const unit = match[2]?.toLowerCase();
  const value = unit === 'k' ? base * 1e3 : unit === 'm' ? base * 1e6 : base;
  return Number.isSafeInteger(Math.round(value)) && Math.abs(value - Math.round(value)) < 1e-6
    ? Math.round(value)
    : undefined;
}

/**
 * Normalize a headcount range to one of the standard ranges: `51-200`,
 * `51 - 200 employees`, `2-10` (fits in `1-10`) and `10,001+` / `10000+`
 * (`10001+`) are accepted; a range that spans more than one standard range is
 * an issue. Throws `ValidationError` (field `company.headcountRange`).
 */
export function normalizeHeadcountRange(value: string): HeadcountRange {
  if (typeof value !== 'string') invalid(RANGE_FIELD, 'must be a string');
  const parsed = parseHeadcountText(value, RANGE_FIELD);
  if (parsed.headcountRange !== undefined) return parsed.headcountRange;
  return headcountToRange(parsed.headcount!);
}

/** The result of {@link parseHeadcount}: an exact headcount, a range, or both. */
export interface ParsedHeadcount {
  /** Exact headcount, when the value was a single number. */
  readonly headcount?: number;
  /** The standard range the value falls in. */
  readonly headcountRange: HeadcountRange;
}

function parseHeadcountText(value: string, field: string): ParsedHeadcount {
  if (value.length > 200) invalid(field, 'must be at most 200 characters');
  const text = value
    .trim()
    .toLowerCase()
    .replace(/\s*(employees?|people|staff|persons?|emp\.?)$/, '')
    .trim();
  if (text === '') invalid(field, 'must not be blank');
  const single = parseCount(text);
  if (single !== undefined) return { headcount: single, headcountRange: headcountToRange(single) };
  const open = /^(.+?)\s*\+$/.exec(text);
  if (open !== null) {
    const lower = parseCount(open[1]!);
    if (lower === 10000 || lower === 10001) return { headcountRange: '10001+' };
    invalid(field, 'is an open range; only 10001+ is a standard open range');
  }
  const range = /^(.+?)\s*(?:-|–|—|to)\s*(.+)$/.exec(text);
  if (range !== null) {
    const lower = parseCount(range[1]!);
    const upper = parseCount(range[2]!);
    if (lower !== undefined && upper !== undefined) {
      if (lower > upper) invalid(field, 'has a lower bound above its upper bound');
      const lowerRange = headcountToRange(lower);
      if (lowerRange !== headcountToRange(upper)) {
        invalid(field, `spans more than one standard range (${HEADCOUNT_RANGES.join(', ')})`);
      }
      return { headcountRange: lowerRange };
    }
  }
  return invalid(field, 'must be a number such as 1200 or a range such as 51-200');
}

/**
 * Parse a headcount given as a number, a formatted number (`1,200`, `1.2k`)
 * or a range (`51-200`, `10001+`). Single numbers give an exact headcount
 * and its range; ranges give only the range. Throws `ValidationError` (field
 * `company.headcount`).
 *
 * @example parseHeadcount('1,200') // { headcount: 1200, headcountRange: '1001-5000' }
 * @example parseHeadcount('51-200') // { headcountRange: '51-200' }
 */
export function parseHeadcount(value: number | string): ParsedHeadcount {
  if (typeof value === 'number') return { headcount: value, headcountRange: headcountToRange(value) };
  if (typeof value !== 'string') invalid(HEADCOUNT_FIELD, 'must be a number or a string');
  return parseHeadcountText(value, HEADCOUNT_FIELD);
}

const REVENUE_UNITS: ReadonlyMap<string, number> = new Map(
  Object.entries({
    '': 1,
    k: 1e3,
    thousand: 1e3,
    m: 1e6,
    mm: 1e6,
    mn: 1e6,
    mio: 1e6,
    million: 1e6,
    millions: 1e6,
    b: 1e9,
    bn: 1e9,
    billion: 1e9,
    billions: 1e9,
    t: 1e12,
    tn: 1e12,
    trillion: 1e12,
  }),
);

/**
 * Parse an annual revenue in US dollars: a number, or text such as
 * `$12.5M`, `3B`, `USD 1,200,000`, `500k`, `1.2 million`. Other currencies and
 * ranges are rejected rather than converted or guessed. Throws
 * `ValidationError` (field `company.annualRevenue`).
 *
 * @example parseRevenue('$12.5M') // 12500000
 */
export function parseRevenue(value: number | string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) invalid(REVENUE_FIELD, 'must be a non-negative amount');
    return value;
  }
  if (typeof value !== 'string') invalid(REVENUE_FIELD, 'must be a number or a string');
  let text = value.trim().toLowerCase();
  if (text === '') invalid(REVENUE_FIELD, 'must not be blank');
  if (text.length > 64) invalid(REVENUE_FIELD, 'must be at most 64 characters');
  if (/[€£¥₹₽₩₺]|\b(eur|gbp|jpy|chf|cad|aud|inr|cny|rmb)\b/.test(text)) {
    invalid(REVENUE_FIELD, 'must be in US dollars; other currencies are not converted');
  }
  text = text
    .replace(/^(us\$|usd|\$)\s*/, '')
    .replace(/\s*(usd|dollars?)$/, '')
    .replace(/^\$\s*/, '')
    .trim();
  if (text.startsWith('-')) invalid(REVENUE_FIELD, 'must be a non-negative amount');
  if (/\d[a-z]*\s*(-|–|—|to)\s*\$?\d/.test(text)) invalid(REVENUE_FIELD, 'is a range; give one amount');
  const match = /^(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*([a-z]*)$/.exec(text);
  const unit = match === null ? undefined : REVENUE_UNITS.get(match[3]!);
  if (match === null || unit === undefined) {
    return invalid(REVENUE_FIELD, 'must be an amount in US dollars such as 12500000 or $12.5M');
  }
  const amount = Number(`${match[1]!.replace(/,/g, '')}${match[2] ?? ''}`) * unit;
  if (!Number.isFinite(amount)) invalid(REVENUE_FIELD, 'is too large');
  return unit === 1 ? amount : Math.round(amount);
}

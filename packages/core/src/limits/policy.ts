import { ValidationError, type ValidationIssue } from '../contracts/errors.js';
import type { RateLimitPolicy } from '../contracts/rate-limit.js';

/** One window of a policy after validation, with where it came from. */
export interface NormalizedWindow {
  /** Name used in events and for matching header reports (`second`, `minute`, `10s`...). */
  readonly name: string;
  /** Requests allowed per interval, as declared. */
  readonly limit: number;
  /** Interval length in milliseconds. */
  readonly intervalMs: number;
  /** Whether the window starts on clock boundaries (multiples of `intervalMs` since the epoch). */
  readonly aligned: boolean;
}

/** A validated {@link RateLimitPolicy}: every window in one list, shortest first. */
export interface NormalizedPolicy {
  /** Every window to enforce, shortest interval first. */
  readonly windows: readonly NormalizedWindow[];
  /** Requests allowed in flight at once, when limited. */
  readonly maxConcurrent: number | undefined;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const NAMED_INTERVALS: Readonly<Record<string, number>> = {
  second: SECOND,
  secondly: SECOND,
  sec: SECOND,
  minute: MINUTE,
  minutely: MINUTE,
  min: MINUTE,
  hour: HOUR,
  hourly: HOUR,
  day: DAY,
  daily: DAY,
};

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: SECOND, m: MINUTE, h: HOUR, d: DAY };

/**
 * The interval in milliseconds a window name stands for: `second`/`secondly`,
 * `minute`, `hour`/`hourly`, `day`/`daily`, or a count and unit such as
 * `10s`, `500ms`, `15m`, `1h`, `1d`. Returns `undefined` for other names.
 */
export function windowNameToIntervalMs(name: string): number | undefined {
  const lower = name.trim().toLowerCase();
  const named = NAMED_INTERVALS[lower];
  if (named !== undefined) return named;
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(lower);
  if (match === null) return undefined;
  const unit = UNIT_MS[match[2]!];
  const count = Number(match[1]);
  return unit === undefined || !(count > 0) ? undefined : count * unit;
}

function checkLimit(issues: ValidationIssue[], field: string, value: unknown): value is number {
  if (value === undefined) return false;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    issues.push({ field, reason: `must be a whole number of at least 1, got ${String(value)}` });
    return false;
  }
  return true;
}

/**
 * Validates a {@link RateLimitPolicy} and lists all its windows, shortest
 * first. Throws a {@link ValidationError} naming every bad field.
 */
export function normalizePolicy(policy: RateLimitPolicy, field = 'policy'): NormalizedPolicy {
  const issues: ValidationIssue[] = [];
  if (typeof policy !== 'object' || policy === null) {
    throw new ValidationError([{ field, reason: 'must be an object' }]);
  }
  const windows: NormalizedWindow[] = [];
  if (policy.alignedWindows !== undefined && typeof policy.alignedWindows !== 'boolean') {
    issues.push({ field: `${field}.alignedWindows`, reason: 'must be a boolean' });
  }
  const alignedByDefault = policy.alignedWindows === true;
  const fixed: ReadonlyArray<[keyof RateLimitPolicy, string, number]> = [
    ['perSecond', 'second', SECOND],
    ['perMinute', 'minute', MINUTE],
    ['perHour', 'hour', HOUR],
    ['perDay', 'day', DAY],
  ];
  for (const [property, name, intervalMs] of fixed) {
    const value = policy[property];
    if (checkLimit(issues, `${field}.${property}`, value)) {
      windows.push({ name, limit: value, intervalMs, aligned: alignedByDefault });
    }
  }
  if (policy.windows !== undefined) {
    if (!Array.isArray(policy.windows)) {
      issues.push({ field: `${field}.windows`, reason: 'must be an array' });
    } else {
      policy.windows.forEach((window, index) => {
        const path = `${field}.windows[${index}]`;
        if (typeof window !== 'object' || window === null) {
          issues.push({ field: path, reason: 'must be an object' });
          return;
        }
        const nameOk = typeof window.name === 'string' && window.name.trim() !== '';
        if (!nameOk) issues.push({ field: `${path}.name`, reason: 'must be a non-empty string' });
        const limitOk = checkLimit(issues, `${path}.limit`, window.limit);
        const intervalOk =
          typeof window.intervalMs === 'number' &&
          Number.isFinite(window.intervalMs) &&
          window.intervalMs > 0;
        if (!intervalOk) {
          issues.push({
            field: `${path}.intervalMs`,
            reason: `must be a positive number of milliseconds, got ${String(window.intervalMs)}`,
          });
        }
        if (window.aligned !== undefined && typeof window.aligned !== 'boolean') {
          issues.push({ field: `${path}.aligned`, reason: 'must be a boolean' });
        }
        if (nameOk && limitOk && intervalOk) {
          windows.push({
            name: window.name,
            limit: window.limit,
            intervalMs: window.intervalMs,
            aligned: window.aligned === undefined ? alignedByDefault : window.aligned === true,
          });
        }
      });
    }
  }
  let maxConcurrent: number | undefined;
  if (checkLimit(issues, `${field}.maxConcurrent`, policy.maxConcurrent))
    maxConcurrent = policy.maxConcurrent;
  const names = new Set<string>();
  for (const window of windows) {
    if (names.has(window.name)) {
      issues.push({ field: `${field}.windows`, reason: `window name "${window.name}" is used twice` });
    }
    names.add(window.name);
  }
  if (issues.length > 0) throw new ValidationError(issues);
  windows.sort((a, b) => a.intervalMs - b.intervalMs || a.limit - b.limit);
  return { windows, maxConcurrent };
}

/**
 * Picks the window to pace evenly: among windows no longer than
 * `paceWindowsUpToMs`, the one whose even spacing (`intervalMs / limit`) is
 * the widest; none when every window is longer. Longer windows (hour, day)
 * are counted, not paced, so their quota can be spent at the paced rate (or
 * as fast as concurrency allows) and then waited for: spacing a daily quota
 * evenly over the day would idle a pipeline for no benefit.
 */
export function selectPacingWindow(
  windows: readonly NormalizedWindow[],
  paceWindowsUpToMs: number,
): NormalizedWindow | undefined {
  let chosen: NormalizedWindow | undefined;
  for (const window of windows) {
    if (window.intervalMs > paceWindowsUpToMs) continue;
    if (chosen === undefined || window.intervalMs / window.limit > chosen.intervalMs / chosen.limit) {
      chosen = window;
    }
  }
  return chosen;
}

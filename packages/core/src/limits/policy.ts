import { z } from 'zod';
import type { RateLimitPolicy } from '../contracts/rate-limit.js';
import { parseOptions } from '../options/parse-options.js';
import { nonEmptyTextSchema, positiveMillisecondsSchema, wholeNumberSchema } from './option-schemas.js';

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

const limitSchema = wholeNumberSchema(1);
const booleanSchema = z.boolean({ error: 'must be a boolean' });

const windowSchema = z.object(
  {
    name: nonEmptyTextSchema,
    limit: limitSchema,
    intervalMs: positiveMillisecondsSchema(),
    aligned: booleanSchema.optional(),
  },
  { error: 'must be an object' },
);

/** The zod schema of a {@link RateLimitPolicy}; keys in the order their issues are reported. */
const policySchema = z
  .object(
    {
      alignedWindows: booleanSchema.optional(),
      perSecond: limitSchema.optional(),
      perMinute: limitSchema.optional(),
      perHour: limitSchema.optional(),
      perDay: limitSchema.optional(),
      windows: z.array(windowSchema, { error: 'must be an array' }).optional(),
      maxConcurrent: limitSchema.optional(),
    },
    { error: 'must be an object' },
  )
  .transform((policy, context): NormalizedPolicy => {
    const alignedByDefault = policy.alignedWindows === true;
    const windows: NormalizedWindow[] = [];
    const fixed: ReadonlyArray<[number | undefined, string, number]> = [
      [policy.perSecond, 'second', SECOND],
      [policy.perMinute, 'minute', MINUTE],
      [policy.perHour, 'hour', HOUR],
      [policy.perDay, 'day', DAY],
    ];
    for (const [limit, name, intervalMs] of fixed) {
      if (limit !== undefined) windows.push({ name, limit, intervalMs, aligned: alignedByDefault });
    }
    for (const window of policy.windows ?? []) {
      windows.push({
        name: window.name,
        limit: window.limit,
        intervalMs: window.intervalMs,
        aligned: window.aligned ?? alignedByDefault,
      });
    }
    const names = new Set<string>();
    for (const window of windows) {
      if (names.has(window.name)) {
        context.addIssue({
          code: 'custom',
          path: ['windows'],
          message: `window name "${window.name}" is used twice`,
        });
      }
      names.add(window.name);
    }
    windows.sort((a, b) => a.intervalMs - b.intervalMs || a.limit - b.limit);
    return { windows, maxConcurrent: policy.maxConcurrent };
  });

/**
 * Validates a {@link RateLimitPolicy} and lists all its windows, shortest
 * first. Throws a `ConfigurationError` (`invalid_configuration`) whose issues
 * name every bad field (`policy.perSecond`, `policy.windows.0.intervalMs`).
 *
 * @param policy - the policy as declared.
 * @param providerId - the provider or CRM it belongs to, for the error.
 */
export function normalizePolicy(policy: RateLimitPolicy, providerId?: string): NormalizedPolicy {
  return parseOptions(
    z.object({ policy: policySchema }),
    { policy },
    {
      name: providerId === undefined ? 'Rate-limit policy' : `Rate-limit policy of "${providerId}"`,
      providerId,
    },
  ).policy;
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

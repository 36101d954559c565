import { DateTime, Duration } from 'luxon';
import { invalid, toMillis } from './internal.js';
import { addBusinessDays, type SendingCalendar } from './window.js';
import { assertTimeZone } from './zone.js';

/**
 * A length of time: an ISO 8601 duration (`P2D`, `PT30M`, `P1DT12H`), a short form (`90s`, `30m`, `4h`, `2d`,
 * `1w`, `500ms`), or an object of units.
 */
export type DurationInput =
  | string
  | {
      /** Calendar weeks (7 local days each). */
      readonly weeks?: number;
      /** Calendar days: the same wall-clock time on the target day. */
      readonly days?: number;
      /** Exact hours. */
      readonly hours?: number;
      /** Exact minutes. */
      readonly minutes?: number;
      /** Exact seconds. */
      readonly seconds?: number;
    };

/** The parts of a parsed {@link DurationInput}: calendar units (weeks, days) and exact milliseconds. */
export interface ParsedDuration {
  /** Whole calendar days (weeks count 7): added on the local calendar, so a day across DST stays 09:00 to 09:00. */
  readonly days: number;
  /** Exact milliseconds (hours, minutes, seconds). */
  readonly milliseconds: number;
}

const SHORT = /^(\d+)(ms|s|m|h|d|w)$/;

/**
 * Parses a {@link DurationInput}. Days and weeks are calendar units; hours and smaller are exact. Years and months
 * are refused (their length varies too much for a sequence step).
 *
 * @param input - the duration.
 * @param field - the option it came from, for the error.
 * @throws ConfigurationError naming `field` for anything else, a negative part, or a zero duration.
 */
export function parseDuration(input: DurationInput, field = 'duration'): ParsedDuration {
  let days = 0;
  let milliseconds = 0;
  if (typeof input === 'string') {
    const short = SHORT.exec(input.trim());
    if (short !== null) {
      const amount = Number(short[1]);
      const unit = short[2];
      if (unit === 'w') days = amount * 7;
      else if (unit === 'd') days = amount;
      else
        milliseconds =
          amount * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const)[unit as 'ms' | 's' | 'm' | 'h'];
    } else {
      const parsed = Duration.fromISO(input.trim());
      if (!parsed.isValid) {
        throw invalid(
          field,
          `expected a duration such as "2d", "30m" or "PT4H", got ${JSON.stringify(input)}`,
        );
      }
      if (parsed.years !== 0 || parsed.months !== 0 || parsed.quarters !== 0) {
        throw invalid(field, 'years and months are not supported: use days or weeks');
      }
      days = parsed.weeks * 7 + parsed.days;
      milliseconds =
        parsed.hours * 3_600_000 + parsed.minutes * 60_000 + parsed.seconds * 1000 + parsed.milliseconds;
    }
  } else if (typeof input === 'object' && input !== null) {
    const parts = [input.weeks, input.days, input.hours, input.minutes, input.seconds];
    if (
      parts.some(
        (part) => part !== undefined && (typeof part !== 'number' || !Number.isFinite(part) || part < 0),
      )
    ) {
      throw invalid(field, 'every part must be a non-negative number');
    }
    if (!Number.isInteger(input.weeks ?? 0) || !Number.isInteger(input.days ?? 0)) {
      throw invalid(field, 'weeks and days must be whole numbers');
    }
    days = (input.weeks ?? 0) * 7 + (input.days ?? 0);
    milliseconds =
      (input.hours ?? 0) * 3_600_000 + (input.minutes ?? 0) * 60_000 + (input.seconds ?? 0) * 1000;
  } else {
    throw invalid(field, 'expected a duration');
  }
  if (days < 0 || milliseconds < 0 || !Number.isFinite(days + milliseconds)) {
    throw invalid(field, 'must not be negative');
  }
  if (days === 0 && milliseconds === 0) throw invalid(field, 'must be longer than zero');
  return { days, milliseconds };
}

/**
 * `from` plus a duration in a zone: calendar days first (same wall-clock time on the target day, moved forward if
 * that time does not exist there), then the exact part.
 *
 * @param from - the start.
 * @param duration - the length.
 * @param timeZone - the zone whose calendar days count.
 */
export function addDuration(
  from: Date | number,
  duration: DurationInput | ParsedDuration,
  timeZone: string,
): Date {
  const zone = assertTimeZone(timeZone, 'timeZone');
  const parsed =
    typeof duration === 'object' && 'milliseconds' in duration ? duration : parseDuration(duration);
  const start = DateTime.fromMillis(toMillis(from, 'from'), { zone });
  return start.plus({ days: parsed.days }).plus({ milliseconds: parsed.milliseconds }).toJSDate();
}

/**
 * What a `wait` step waits for: exactly one of a duration, a number of business days, or a time.
 * `until` is an ISO 8601 date-time: with an offset (`2026-12-24T09:00:00Z`) it is that instant; without one
 * (`2026-12-24T09:00`) it is that wall-clock time in the recipient's zone; a bare clock time (`09:00`) is its next
 * occurrence in the recipient's zone at or after the wait starts.
 */
export type WaitSpec =
  | {
      /** Wait this long. */
      readonly duration: DurationInput;
    }
  | {
      /** Wait this many business days (a positive integer). */
      readonly businessDays: number;
    }
  | {
      /** Wait until this time. */
      readonly until: string;
    };

const OFFSET = /(Z|[+-]\d{2}:?\d{2})$/i;
const BARE_CLOCK = /^([01]\d|2[0-3]):([0-5]\d)$/;

/**
 * The instant a `until` wait ends (see {@link WaitSpec}).
 *
 * @param from - when the wait starts (used for a bare clock time).
 * @param until - the time.
 * @param timeZone - the recipient's zone.
 * @param field - the option it came from, for errors.
 */
export function resolveUntil(from: Date | number, until: string, timeZone: string, field = 'until'): Date {
  const zone = assertTimeZone(timeZone, 'timeZone');
  const start = DateTime.fromMillis(toMillis(from, 'from'), { zone });
  const clock = BARE_CLOCK.exec(until);
  if (clock !== null) {
    const set = (day: DateTime) =>
      day.set({ hour: Number(clock[1]), minute: Number(clock[2]), second: 0, millisecond: 0 });
    const today = set(start);
    return (today >= start ? today : set(start.plus({ days: 1 }))).toJSDate();
  }
  const parsed = OFFSET.test(until)
    ? DateTime.fromISO(until, { setZone: true })
    : DateTime.fromISO(until, { zone });
  if (!parsed.isValid || !/^\d{4}-\d{2}-\d{2}T/.test(until)) {
    throw invalid(field, `expected an ISO 8601 date-time or HH:mm, got ${JSON.stringify(until)}`);
  }
  return parsed.toJSDate();
}

/**
 * When a `wait` step started at `from` ends, in the recipient's calendar: a duration (calendar days keep the
 * wall-clock time across DST), N business days (weekends and holidays skipped, same wall-clock time), or until a
 * time (never earlier than `from`). The next step's send time is then {@link nextAllowedTime} of this.
 *
 * @param from - when the wait begins.
 * @param wait - the step.
 * @param calendar - the recipient's zone, holidays and business days.
 */
export function resolveWait(from: Date | number, wait: WaitSpec, calendar: SendingCalendar): Date {
  const fromMillis = toMillis(from, 'from');
  if ('duration' in wait)
    return addDuration(fromMillis, parseDuration(wait.duration, 'wait.duration'), calendar.timeZone);
  if ('businessDays' in wait) return addBusinessDays(fromMillis, wait.businessDays, calendar);
  if ('until' in wait) {
    const end = resolveUntil(fromMillis, wait.until, calendar.timeZone, 'wait.until');
    return new Date(Math.max(end.getTime(), fromMillis));
  }
  throw invalid('wait', 'expected one of duration, businessDays or until');
}

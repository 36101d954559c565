import { DateTime } from 'luxon';
import { invalid, toMillis } from './internal.js';
import { assertTimeZone } from './zone.js';

/** A day of the week, as written in campaign files. */
export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

/** Every {@link Weekday} in ISO order (Monday first). */
export const WEEKDAYS: readonly Weekday[] = Object.freeze(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);

/** Monday to Friday: the default business days and sending days. */
export const BUSINESS_DAYS: readonly Weekday[] = Object.freeze(['mon', 'tue', 'wed', 'thu', 'fri']);

/**
 * One sending window: on these days, from `start` to `end` in the recipient's local time. A window never spans
 * midnight: write two windows for a night shift. `end` may be `24:00`.
 */
export interface SendingWindow {
  /** The days the window is open. */
  readonly days: readonly Weekday[];
  /** Opening time, `HH:mm` (24-hour), inclusive. */
  readonly start: string;
  /** Closing time, `HH:mm` (24-hour, `24:00` allowed), exclusive; after `start`. */
  readonly end: string;
}

/** When sends are allowed for one recipient. */
export interface SendingCalendar {
  /** The IANA zone the windows and holidays are read in (the recipient's zone). */
  readonly timeZone: string;
  /**
   * The windows; a time is allowed when it is inside any of them. Empty or absent: any time of a business day
   * (the days in {@link SendingCalendar.businessDays}).
   */
  readonly windows?: readonly SendingWindow[];
  /** Dates (`YYYY-MM-DD`, in the recipient's zone) on which nothing is sent and no business day is counted. */
  readonly holidays?: readonly string[];
  /**
   * The days `businessDays` waits count, and the sending days when there are no windows. Default: the union of
   * the windows' days, or Monday to Friday without windows.
   */
  readonly businessDays?: readonly Weekday[];
}

const CLOCK = /^([01]\d|2[0-3]):([0-5]\d)$|^24:00$/;
const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

/** Whether `value` is an `HH:mm` clock time (24-hour, `24:00` allowed). */
export function isClockTime(value: string): boolean {
  return CLOCK.test(value);
}

/** Whether `value` is a calendar date `YYYY-MM-DD` that exists (no `2026-02-30`). */
export function isCalendarDate(value: string): boolean {
  return DATE.test(value) && DateTime.fromISO(value, { zone: 'UTC' }).isValid;
}

function minutesOf(clock: string, field: string): number {
  const match = CLOCK.exec(clock);
  if (match === null) throw invalid(field, `expected a time HH:mm, got ${JSON.stringify(clock)}`);
  if (clock === '24:00') return 24 * 60;
  return Number(match[1]) * 60 + Number(match[2]);
}

interface CheckedCalendar {
  readonly zone: string;
  readonly windows: readonly { days: ReadonlySet<number>; start: number; end: number }[];
  readonly holidays: ReadonlySet<string>;
  readonly businessDays: ReadonlySet<number>;
}

function weekdayNumber(day: Weekday, field: string): number {
  const index = WEEKDAYS.indexOf(day);
  if (index < 0) throw invalid(field, `expected one of ${WEEKDAYS.join(', ')}, got ${JSON.stringify(day)}`);
  return index + 1;
}

/** Checks a calendar once per call; throws a ConfigurationError naming the field that is wrong. */
function checkCalendar(calendar: SendingCalendar): CheckedCalendar {
  const zone = assertTimeZone(calendar.timeZone, 'timeZone');
  const windows = (calendar.windows ?? []).map((window, index) => {
    const field = `sendingWindows[${index}]`;
    const start = minutesOf(window.start, `${field}.start`);
    const end = minutesOf(window.end, `${field}.end`);
    if (end <= start) throw invalid(`${field}.end`, `must be after start (${window.start})`);
    if (window.days.length === 0) throw invalid(`${field}.days`, 'must name at least one day');
    return { days: new Set(window.days.map((day) => weekdayNumber(day, `${field}.days`))), start, end };
  });
  for (const [index, holiday] of (calendar.holidays ?? []).entries()) {
    if (!isCalendarDate(holiday))
      throw invalid(`holidays[${index}]`, `expected a date YYYY-MM-DD, got ${JSON.stringify(holiday)}`);
  }
  const businessDays = new Set(
    calendar.businessDays !== undefined
      ? calendar.businessDays.map((day) => weekdayNumber(day, 'businessDays'))
      : windows.length > 0
        ? windows.flatMap((window) => [...window.days])
        : BUSINESS_DAYS.map((day) => weekdayNumber(day, 'businessDays')),
  );
  if (businessDays.size === 0) throw invalid('businessDays', 'must name at least one day');
  return { zone, windows, holidays: new Set(calendar.holidays ?? []), businessDays };
}

/** The instant `minutes` after local midnight of `day`, read as a wall-clock time (a missing time moves forward). */
function wallClock(day: DateTime, minutes: number): DateTime {
  if (minutes >= 24 * 60) return day.startOf('day').plus({ days: 1 }).startOf('day');
  return day.set({ hour: Math.floor(minutes / 60), minute: minutes % 60, second: 0, millisecond: 0 });
}

function isSendingDay(day: DateTime, calendar: CheckedCalendar): boolean {
  return !calendar.holidays.has(day.toISODate() ?? '') && calendar.businessDays.has(day.weekday);
}

/** The most days {@link nextAllowedTime} looks ahead before deciding no time is ever allowed. */
const HORIZON_DAYS = 800;

/**
 * The earliest instant at or after `at` when a send is allowed: inside one of the calendar's windows (read in its
 * zone), on a day that is not a holiday. Without windows, any time of a business day that is not a holiday.
 *
 * Daylight saving: windows are wall-clock times, so a 09:00-17:00 window opens at 09:00 local time on both sides of
 * a change; a window edge that falls in the skipped hour of a spring night moves forward (02:30 opens at 03:30),
 * and on an autumn night each instant is still one instant, so nothing is allowed twice.
 *
 * @param at - the earliest time the step could run (a Date or epoch milliseconds).
 * @param calendar - the recipient's zone, windows and holidays.
 * @returns the allowed instant.
 * @throws ConfigurationError naming the field, for a bad zone, window or holiday, or a calendar that never allows
 *   a send (every day a holiday).
 */
export function nextAllowedTime(at: Date | number, calendar: SendingCalendar): Date {
  const checked = checkCalendar(calendar);
  const millis = toMillis(at);
  const from = DateTime.fromMillis(millis, { zone: checked.zone });
  let day = from.startOf('day');
  for (let offset = 0; offset < HORIZON_DAYS; offset += 1) {
    if (isSendingDay(day, checked)) {
      if (checked.windows.length === 0) {
        return new Date(Math.max(millis, day.toMillis()));
      }
      let best: number | undefined;
      for (const window of checked.windows) {
        if (!window.days.has(day.weekday)) continue;
        const open = wallClock(day, window.start).toMillis();
        const close = wallClock(day, window.end).toMillis();
        const candidate = Math.max(open, millis);
        if (candidate < close && (best === undefined || candidate < best)) best = candidate;
      }
      if (best !== undefined) return new Date(best);
    }
    day = day.plus({ days: 1 }).startOf('day');
  }
  throw invalid(
    'sendingWindows',
    `no allowed send time within ${HORIZON_DAYS} days (check the windows and holidays)`,
  );
}

/**
 * Whether a send at `at` is allowed by the calendar (the same rule as {@link nextAllowedTime}).
 *
 * @param at - the instant to test.
 * @param calendar - the recipient's zone, windows and holidays.
 */
export function isAllowedTime(at: Date | number, calendar: SendingCalendar): boolean {
  return nextAllowedTime(at, calendar).getTime() === toMillis(at);
}

/**
 * `count` business days after `from`, at the same wall-clock time in the calendar's zone: weekends (days outside
 * {@link SendingCalendar.businessDays}) and holidays are not counted. Friday 10:00 plus 2 business days is Tuesday
 * 10:00. A wall-clock time that does not exist on the target day (a spring-forward night) moves forward by the gap.
 *
 * @param from - where the wait starts.
 * @param count - a positive integer.
 * @param calendar - the recipient's zone, holidays and business days (windows only set the default business days).
 */
export function addBusinessDays(from: Date | number, count: number, calendar: SendingCalendar): Date {
  if (!Number.isInteger(count) || count < 1) throw invalid('businessDays', 'expected a positive integer');
  const checked = checkCalendar(calendar);
  const start = DateTime.fromMillis(toMillis(from), { zone: checked.zone });
  let day = start.startOf('day');
  let counted = 0;
  for (let offset = 0; counted < count; offset += 1) {
    if (offset > HORIZON_DAYS * 4) throw invalid('holidays', 'leave no business days to count');
    day = day.plus({ days: 1 }).startOf('day');
    if (isSendingDay(day, checked)) counted += 1;
  }
  return day
    .set({ hour: start.hour, minute: start.minute, second: start.second, millisecond: start.millisecond })
    .toJSDate();
}

/**
 * The local calendar date (`YYYY-MM-DD`) of an instant in a zone; the key daily counters use.
 *
 * @param at - the instant.
 * @param timeZone - an IANA zone.
 */
export function localDate(at: Date | number, timeZone: string): string {
  const zone = assertTimeZone(timeZone, 'timeZone');
  return DateTime.fromMillis(toMillis(at), { zone }).toISODate() ?? '';
}

/**
 * The start of the next local day after `at` in `timeZone` (local midnight, or the first instant of the day where
 * midnight is skipped).
 *
 * @param at - the instant.
 * @param timeZone - an IANA zone.
 */
export function startOfNextDay(at: Date | number, timeZone: string): Date {
  const zone = assertTimeZone(timeZone, 'timeZone');
  return DateTime.fromMillis(toMillis(at), { zone }).plus({ days: 1 }).startOf('day').toJSDate();
}

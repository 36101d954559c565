import { CronExpressionParser } from 'cron-parser';
import { DateTime } from 'luxon';
import { invalid, toMillis } from './internal.js';
import { assertTimeZone } from './zone.js';

/**
 * A time trigger: a cron expression read in a zone (5 fields, or 6 with seconds first, as BullMQ's job schedulers
 * read them), or one instant.
 */
export type TimeTriggerSpec =
  | {
      /** The cron expression, such as `0 9 * * 1-5`. */
      readonly cron: string;
      /** The IANA zone it is read in. */
      readonly timeZone: string;
    }
  | {
      /** An ISO 8601 date-time with an offset (`2026-12-01T09:00:00Z`), or a Date. */
      readonly at: string | Date;
    };

/**
 * Checks a cron expression the way {@link nextCronTime} reads it; throws a ConfigurationError naming `field`.
 *
 * @param expression - such as `0 9 * * 1-5`.
 * @param field - the option it came from.
 */
export function assertCron(expression: string, field = 'cron'): string {
  const fields = typeof expression === 'string' ? expression.trim().split(/\s+/) : [];
  if (!expression?.trim().startsWith('@') && (fields.length < 5 || fields.length > 6)) {
    throw invalid(
      field,
      `expected 5 cron fields (minute hour day month weekday), got ${JSON.stringify(expression)}`,
    );
  }
  try {
    CronExpressionParser.parse(expression, { tz: 'UTC' });
  } catch (error) {
    throw invalid(field, `is not a valid cron expression: ${(error as Error).message}`);
  }
  return expression;
}

/**
 * The first time strictly after `after` that a cron expression fires in a zone, by cron-parser (the parser BullMQ
 * uses, so the in-process scheduler and BullMQ agree). At daylight-saving changes: a time in the skipped spring hour
 * (02:30 on the spring night) fires once, an hour later on the wall clock (03:30); a time in the repeated autumn hour
 * fires once, at its first occurrence.
 *
 * @param expression - the cron expression.
 * @param timeZone - the IANA zone it is read in.
 * @param after - the instant to start after.
 * @throws ConfigurationError naming `cron` or `timeZone`.
 */
export function nextCronTime(expression: string, timeZone: string, after: Date | number): Date {
  assertCron(expression);
  const zone = assertTimeZone(timeZone, 'timeZone');
  const iterator = CronExpressionParser.parse(expression, {
    tz: zone,
    currentDate: new Date(toMillis(after, 'after')),
  });
  return iterator.next().toDate();
}

/**
 * The first `count` times a cron expression fires after `after` (see {@link nextCronTime}).
 *
 * @param expression - the cron expression.
 * @param timeZone - the IANA zone it is read in.
 * @param after - the instant to start after.
 * @param count - how many times, at most 10,000.
 */
export function cronTimes(expression: string, timeZone: string, after: Date | number, count: number): Date[] {
  if (!Number.isInteger(count) || count < 1 || count > 10_000) throw invalid('count', 'expected 1 to 10000');
  assertCron(expression);
  const zone = assertTimeZone(timeZone, 'timeZone');
  const iterator = CronExpressionParser.parse(expression, {
    tz: zone,
    currentDate: new Date(toMillis(after, 'after')),
  });
  const times: Date[] = [];
  for (let index = 0; index < count; index += 1) times.push(iterator.next().toDate());
  return times;
}

/**
 * Parses a one-off trigger time: an ISO 8601 date-time that carries an offset (`Z` or `+02:00`), so it names one
 * instant whatever the server's zone.
 *
 * @param at - the time, or a Date.
 * @param field - the option it came from.
 */
export function parseInstant(at: string | Date, field = 'at'): Date {
  if (at instanceof Date) return new Date(toMillis(at, field));
  if (typeof at !== 'string' || !/(Z|[+-]\d{2}:?\d{2})$/i.test(at)) {
    throw invalid(
      field,
      `expected an ISO 8601 date-time with an offset (such as 2026-12-01T09:00:00Z), got ${JSON.stringify(at)}`,
    );
  }
  const parsed = DateTime.fromISO(at, { setZone: true });
  if (!parsed.isValid) throw invalid(field, `is not a valid date-time: ${JSON.stringify(at)}`);
  return parsed.toJSDate();
}

/**
 * The next time a time trigger fires strictly after `after`, or `undefined` when a one-off time has passed.
 *
 * @param trigger - the cron or one-off time.
 * @param after - the instant to start after (the last run, or now).
 */
export function nextTriggerTime(trigger: TimeTriggerSpec, after: Date | number): Date | undefined {
  if ('cron' in trigger) return nextCronTime(trigger.cron, trigger.timeZone, after);
  const at = parseInstant(trigger.at);
  return at.getTime() > toMillis(after, 'after') ? at : undefined;
}

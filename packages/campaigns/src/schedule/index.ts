/**
 * When campaign steps run: the recipient's time zone, sending windows, weekends and holidays, `wait` steps,
 * per-mailbox daily caps and minimum gaps, and cron or one-off triggers. Every function here is pure (no clock, no
 * I/O): the engine passes the current time and the counters it stores.
 *
 * @module
 */
export {
  checkMailbox,
  type DeferralReason,
  type MailboxCheck,
  type MailboxCounters,
  type MailboxLimits,
  NO_SENDS,
  type PlannedSend,
  planSend,
  recordSend,
} from './caps.js';
export {
  assertCron,
  cronTimes,
  nextCronTime,
  nextTriggerTime,
  parseInstant,
  type TimeTriggerSpec,
} from './trigger-time.js';
export {
  addDuration,
  type DurationInput,
  type ParsedDuration,
  parseDuration,
  resolveUntil,
  resolveWait,
  type WaitSpec,
} from './wait.js';
export {
  addBusinessDays,
  BUSINESS_DAYS,
  isAllowedTime,
  isCalendarDate,
  isClockTime,
  localDate,
  nextAllowedTime,
  type SendingCalendar,
  type SendingWindow,
  startOfNextDay,
  WEEKDAYS,
  type Weekday,
} from './window.js';
export {
  assertTimeZone,
  COUNTRY_TIME_ZONES,
  isValidTimeZone,
  REGION_TIME_ZONES,
  type RecipientLocations,
  type RecipientTimeZone,
  recipientTimeZone,
  type TimeZoneSource,
  timeZoneOfLocation,
} from './zone.js';

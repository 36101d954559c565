import { ConfigurationError } from '@leadpipe/core/adapter-kit';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import {
  addBusinessDays,
  addDuration,
  assertCron,
  checkMailbox,
  cronTimes,
  isAllowedTime,
  type MailboxCounters,
  type MailboxLimits,
  NO_SENDS,
  nextAllowedTime,
  nextCronTime,
  nextTriggerTime,
  parseDuration,
  planSend,
  recipientTimeZone,
  recordSend,
  resolveWait,
  type SendingCalendar,
  timeZoneOfLocation,
} from '../src/index.js';

const NY = 'America/New_York';
const BERLIN = 'Europe/Berlin';

/** A wall-clock time in a zone, as a Date. */
function local(iso: string, zone: string): Date {
  const parsed = DateTime.fromISO(iso, { zone });
  if (!parsed.isValid) throw new Error(`bad test time ${iso}`);
  return parsed.toJSDate();
}
/** A Date shown as local wall-clock time with its offset, for readable assertions. */
function show(at: Date, zone: string): string {
  return DateTime.fromJSDate(at, { zone }).toFormat("yyyy-MM-dd'T'HH:mmZZ ccc");
}
function configurationIssue(run: () => unknown): { field: string; reason: string } {
  try {
    run();
  } catch (error) {
    expect(ConfigurationError.isInstance(error)).toBe(true);
    const issue = (error as ConfigurationError).issues[0];
    if (issue === undefined) throw new Error('no issue');
    return issue;
  }
  throw new Error('expected a ConfigurationError');
}

const officeHours = (zone: string, extra: Partial<SendingCalendar> = {}): SendingCalendar => ({
  timeZone: zone,
  windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' }],
  ...extra,
});

describe('recipientTimeZone', () => {
  it('reads the zone from the lead region, country code or English names, else the company, else the campaign', () => {
    expect(recipientTimeZone({ location: { countryCode: 'US', region: 'CA' } }, BERLIN)).toEqual({
      zone: 'America/Los_Angeles',
      source: 'lead.location',
    });
    expect(
      recipientTimeZone({ location: { country: 'United States', region: 'New York' } }, BERLIN).zone,
    ).toBe(NY);
    expect(recipientTimeZone({ location: { countryCode: 'DE', city: 'Munich' } }, NY).zone).toBe(BERLIN);
    expect(recipientTimeZone({ location: { country: 'germany' } }, NY).zone).toBe(BERLIN);
    expect(recipientTimeZone({ location: { countryCode: 'AU', region: 'New South Wales' } }, NY).zone).toBe(
      'Australia/Sydney',
    );
    expect(recipientTimeZone({ location: { countryCode: 'CA', region: 'BC' } }, NY).zone).toBe(
      'America/Vancouver',
    );
    expect(recipientTimeZone({ company: { location: { countryCode: 'JP' } } }, NY)).toEqual({
      zone: 'Asia/Tokyo',
      source: 'company.location',
    });
  });

  it('falls back to the campaign zone when the location cannot decide (a US lead without a state)', () => {
    expect(recipientTimeZone({ location: { countryCode: 'US' } }, BERLIN)).toEqual({
      zone: BERLIN,
      source: 'campaign',
    });
    expect(recipientTimeZone({ location: { countryCode: 'US', region: 'Atlantis' } }, BERLIN).source).toBe(
      'campaign',
    );
    expect(recipientTimeZone({}, 'UTC')).toEqual({ zone: 'UTC', source: 'campaign' });
    expect(recipientTimeZone(undefined, NY).zone).toBe(NY);
    expect(timeZoneOfLocation({ country: 'Narnia' })).toBeUndefined();
  });

  it('refuses an unknown campaign zone with a ConfigurationError naming the field, even when the lead decides', () => {
    expect(
      configurationIssue(() => recipientTimeZone({ location: { countryCode: 'DE' } }, 'Mars/Olympus')),
    ).toEqual({
      field: 'timeZone',
      reason: '"Mars/Olympus" is not a known IANA time zone (such as "Europe/Berlin")',
    });
    expect(configurationIssue(() => recipientTimeZone({}, 'EST5', 'campaign.timeZone')).field).toBe(
      'campaign.timeZone',
    );
  });
});

describe('nextAllowedTime', () => {
  const calendar = officeHours(NY);

  it('keeps a time inside the window and moves one outside it to the next opening, skipping the weekend', () => {
    expect(show(nextAllowedTime(local('2026-06-03T10:15', NY), calendar), NY)).toBe(
      '2026-06-03T10:15-04:00 Wed',
    );
    expect(show(nextAllowedTime(local('2026-06-03T07:00', NY), calendar), NY)).toBe(
      '2026-06-03T09:00-04:00 Wed',
    );
    expect(show(nextAllowedTime(local('2026-06-03T17:00', NY), calendar), NY)).toBe(
      '2026-06-04T09:00-04:00 Thu',
    );
    expect(show(nextAllowedTime(local('2026-06-05T18:00', NY), calendar), NY)).toBe(
      '2026-06-08T09:00-04:00 Mon',
    );
    expect(show(nextAllowedTime(local('2026-06-06T12:00', NY), calendar), NY)).toBe(
      '2026-06-08T09:00-04:00 Mon',
    );
    expect(isAllowedTime(local('2026-06-03T16:59', NY), calendar)).toBe(true);
    expect(isAllowedTime(local('2026-06-06T12:00', NY), calendar)).toBe(false);
  });

  it('reads the window in the recipient zone, not the server zone', () => {
    // 15:00 UTC is 17:00 in Berlin (closed) but 11:00 in New York (open).
    const at = new Date('2026-06-03T15:00:00Z');
    expect(nextAllowedTime(at, calendar).toISOString()).toBe('2026-06-03T15:00:00.000Z');
    expect(show(nextAllowedTime(at, officeHours(BERLIN)), BERLIN)).toBe('2026-06-04T09:00+02:00 Thu');
  });

  it('skips holidays in the recipient zone, around midnight too', () => {
    const withHolidays = officeHours(NY, { holidays: ['2026-07-03', '2026-07-06'] });
    // Thursday 23:59 before a Friday holiday and a Monday holiday: Tuesday morning.
    expect(show(nextAllowedTime(local('2026-07-02T23:59', NY), withHolidays), NY)).toBe(
      '2026-07-07T09:00-04:00 Tue',
    );
    // 00:00 on the holiday itself is the holiday.
    expect(show(nextAllowedTime(local('2026-07-03T00:00', NY), withHolidays), NY)).toBe(
      '2026-07-07T09:00-04:00 Tue',
    );
    // 04:30 UTC on 3 July is still 2 July in New York: the day before the holiday, but after its window.
    expect(show(nextAllowedTime(new Date('2026-07-03T03:30:00Z'), withHolidays), NY)).toBe(
      '2026-07-07T09:00-04:00 Tue',
    );
  });

  it('picks the earliest of several windows, and a window that ends at 24:00', () => {
    const split: SendingCalendar = {
      timeZone: BERLIN,
      windows: [
        { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '14:00', end: '17:00' },
        { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '12:00' },
        { days: ['sat'], start: '20:00', end: '24:00' },
      ],
    };
    expect(show(nextAllowedTime(local('2026-06-03T12:30', BERLIN), split), BERLIN)).toBe(
      '2026-06-03T14:00+02:00 Wed',
    );
    expect(show(nextAllowedTime(local('2026-06-03T08:00', BERLIN), split), BERLIN)).toBe(
      '2026-06-03T09:00+02:00 Wed',
    );
    expect(show(nextAllowedTime(local('2026-06-05T18:00', BERLIN), split), BERLIN)).toBe(
      '2026-06-06T20:00+02:00 Sat',
    );
    expect(show(nextAllowedTime(local('2026-06-06T23:59', BERLIN), split), BERLIN)).toBe(
      '2026-06-06T23:59+02:00 Sat',
    );
  });

  it('without windows allows any time of a business day that is not a holiday', () => {
    const days: SendingCalendar = { timeZone: NY, holidays: ['2026-06-08'] };
    expect(show(nextAllowedTime(local('2026-06-03T03:00', NY), days), NY)).toBe('2026-06-03T03:00-04:00 Wed');
    expect(show(nextAllowedTime(local('2026-06-06T03:00', NY), days), NY)).toBe('2026-06-09T00:00-04:00 Tue');
  });

  it('opens at 09:00 local on both sides of the spring and autumn changes', () => {
    // New York springs forward on Sunday 8 March 2026 and falls back on Sunday 1 November 2026.
    expect(nextAllowedTime(local('2026-03-06T18:00', NY), calendar).toISOString()).toBe(
      '2026-03-09T13:00:00.000Z',
    );
    expect(nextAllowedTime(local('2026-10-30T18:00', NY), calendar).toISOString()).toBe(
      '2026-11-02T14:00:00.000Z',
    );
    // Berlin: 29 March and 25 October 2026.
    const berlin = officeHours(BERLIN);
    expect(nextAllowedTime(local('2026-03-27T18:00', BERLIN), berlin).toISOString()).toBe(
      '2026-03-30T07:00:00.000Z',
    );
    expect(nextAllowedTime(local('2026-10-23T18:00', BERLIN), berlin).toISOString()).toBe(
      '2026-10-26T08:00:00.000Z',
    );
  });

  it('moves a window edge in the skipped spring hour forward, and never allows an instant twice in autumn', () => {
    const night: SendingCalendar = {
      timeZone: NY,
      windows: [{ days: ['sun'], start: '02:30', end: '04:00' }],
    };
    // 02:30 does not exist on 8 March in New York: the window opens at 03:30 EDT (07:30 UTC).
    expect(nextAllowedTime(new Date('2026-03-08T06:00:00Z'), night).toISOString()).toBe(
      '2026-03-08T07:30:00.000Z',
    );
    // Autumn, Berlin, a window over the repeated hour 02:00-03:00: walking five minutes at a time through the night,
    // each allowed instant is allowed once and the answers never go backwards.
    const autumn: SendingCalendar = {
      timeZone: BERLIN,
      windows: [{ days: ['sun'], start: '02:00', end: '03:00' }],
    };
    const allowed: number[] = [];
    for (
      let t = Date.parse('2026-10-24T22:00:00Z');
      t < Date.parse('2026-10-25T03:00:00Z');
      t += 5 * 60_000
    ) {
      if (isAllowedTime(t, autumn)) allowed.push(t);
      expect(nextAllowedTime(t, autumn).getTime()).toBeGreaterThanOrEqual(t);
    }
    expect(new Set(allowed).size).toBe(allowed.length);
    expect(allowed.length).toBeGreaterThanOrEqual(12);
    expect(allowed.length).toBeLessThanOrEqual(24);
  });

  it('refuses bad calendars with the field named', () => {
    expect(configurationIssue(() => nextAllowedTime(0, { timeZone: 'Nowhere/City' })).field).toBe('timeZone');
    expect(
      configurationIssue(() =>
        nextAllowedTime(0, { timeZone: NY, windows: [{ days: ['mon'], start: '17:00', end: '09:00' }] }),
      ),
    ).toEqual({ field: 'sendingWindows[0].end', reason: 'must be after start (17:00)' });
    expect(
      configurationIssue(() =>
        nextAllowedTime(0, { timeZone: NY, windows: [{ days: ['mon'], start: '9:00', end: '17:00' }] }),
      ).field,
    ).toBe('sendingWindows[0].start');
    expect(
      configurationIssue(() => nextAllowedTime(0, { timeZone: NY, holidays: ['2026-02-30'] })).field,
    ).toBe('holidays[0]');
    expect(configurationIssue(() => nextAllowedTime(Number.NaN, { timeZone: NY })).field).toBe('at');
  });
});

describe('wait steps', () => {
  const calendar = officeHours(NY, { holidays: ['2026-06-08'] });

  it('counts business days, skipping weekends and holidays, at the same wall-clock time', () => {
    expect(show(addBusinessDays(local('2026-06-03T10:00', NY), 2, officeHours(NY)), NY)).toBe(
      '2026-06-05T10:00-04:00 Fri',
    );
    expect(show(addBusinessDays(local('2026-06-05T10:00', NY), 2, officeHours(NY)), NY)).toBe(
      '2026-06-09T10:00-04:00 Tue',
    );
    // Monday 8 June is a holiday.
    expect(show(addBusinessDays(local('2026-06-05T10:00', NY), 2, calendar), NY)).toBe(
      '2026-06-10T10:00-04:00 Wed',
    );
    // A wait that starts on a Saturday: Monday is the first business day after it.
    expect(show(addBusinessDays(local('2026-06-06T10:00', NY), 1, officeHours(NY)), NY)).toBe(
      '2026-06-08T10:00-04:00 Mon',
    );
    expect(configurationIssue(() => addBusinessDays(0, 0, calendar))).toEqual({
      field: 'businessDays',
      reason: 'expected a positive integer',
    });
  });

  it('counts business days across both DST nights without losing or gaining an hour', () => {
    // Friday 6 March 10:00 EST + 2 business days = Tuesday 10 March 10:00 EDT (14:00 UTC, not 15:00).
    expect(addBusinessDays(local('2026-03-06T10:00', NY), 2, officeHours(NY)).toISOString()).toBe(
      '2026-03-10T14:00:00.000Z',
    );
    expect(addBusinessDays(local('2026-10-30T10:00', NY), 1, officeHours(NY)).toISOString()).toBe(
      '2026-11-02T15:00:00.000Z',
    );
    expect(addBusinessDays(local('2026-03-27T10:00', BERLIN), 1, officeHours(BERLIN)).toISOString()).toBe(
      '2026-03-30T08:00:00.000Z',
    );
    expect(addBusinessDays(local('2026-10-23T10:00', BERLIN), 1, officeHours(BERLIN)).toISOString()).toBe(
      '2026-10-26T09:00:00.000Z',
    );
  });

  it('adds calendar days on the wall clock and hours exactly', () => {
    expect(show(resolveWait(local('2026-03-07T09:00', NY), { duration: '1d' }, calendar), NY)).toBe(
      '2026-03-08T09:00-04:00 Sun',
    );
    // 24 hours across the spring night is 10:00 on the wall clock.
    expect(show(resolveWait(local('2026-03-07T09:00', NY), { duration: 'PT24H' }, calendar), NY)).toBe(
      '2026-03-08T10:00-04:00 Sun',
    );
    expect(
      show(resolveWait(local('2026-10-31T09:00', NY), { duration: { days: 1, hours: 2 } }, calendar), NY),
    ).toBe('2026-11-01T11:00-05:00 Sun');
    expect(addDuration(0, '90s', 'UTC').getTime()).toBe(90_000);
    expect(parseDuration('1w')).toEqual({ days: 7, milliseconds: 0 });
    expect(parseDuration('P1DT30M')).toEqual({ days: 1, milliseconds: 1_800_000 });
  });

  it('refuses durations it cannot read, naming the field', () => {
    expect(configurationIssue(() => resolveWait(0, { duration: 'soon' }, calendar)).field).toBe(
      'wait.duration',
    );
    expect(configurationIssue(() => parseDuration('0m', 'steps[1].wait.duration'))).toEqual({
      field: 'steps[1].wait.duration',
      reason: 'must be longer than zero',
    });
    expect(configurationIssue(() => parseDuration('P1M')).reason).toMatch(/months/);
    expect(configurationIssue(() => parseDuration({ hours: -1 })).reason).toMatch(/non-negative/);
  });

  it('waits until a bare clock time, a local date-time or an instant, never into the past', () => {
    const from = local('2026-06-03T10:00', NY);
    expect(show(resolveWait(from, { until: '09:00' }, calendar), NY)).toBe('2026-06-04T09:00-04:00 Thu');
    expect(show(resolveWait(from, { until: '11:30' }, calendar), NY)).toBe('2026-06-03T11:30-04:00 Wed');
    expect(show(resolveWait(from, { until: '2026-06-10T08:00' }, calendar), NY)).toBe(
      '2026-06-10T08:00-04:00 Wed',
    );
    expect(resolveWait(from, { until: '2026-06-10T08:00:00Z' }, calendar).toISOString()).toBe(
      '2026-06-10T08:00:00.000Z',
    );
    expect(resolveWait(from, { until: '2026-01-01T00:00:00Z' }, calendar).getTime()).toBe(from.getTime());
    expect(configurationIssue(() => resolveWait(from, { until: 'next week' }, calendar)).field).toBe(
      'wait.until',
    );
  });

  it('chains daily waits through both DST nights: one send per day, none skipped, none doubled', () => {
    for (const [zone, start] of [
      [NY, '2026-03-06T02:30'],
      [NY, '2026-10-30T01:30'],
      [BERLIN, '2026-03-27T02:30'],
      [BERLIN, '2026-10-23T02:30'],
    ] as const) {
      const sends: Date[] = [local(start, zone)];
      for (let day = 0; day < 4; day += 1) {
        sends.push(resolveWait(sends.at(-1) as Date, { duration: '1d' }, { timeZone: zone }));
      }
      const dates = sends.map((send) => DateTime.fromJSDate(send, { zone }).toISODate());
      expect(new Set(dates).size).toBe(5);
      const gapsHours = sends
        .slice(1)
        .map((send, index) => (send.getTime() - (sends[index] as Date).getTime()) / 3_600_000);
      for (const gap of gapsHours) expect([23, 24, 25]).toContain(gap);
    }
  });
});

describe('mailbox caps and gaps', () => {
  const limits: MailboxLimits = { dailyCap: 2, minGap: '10m', timeZone: NY };
  const calendar = officeHours(NY);

  it('allows, then defers by the minimum gap, then by the daily cap to the next local day', () => {
    const first = local('2026-06-03T10:00', NY);
    expect(checkMailbox(first, limits, NO_SENDS)).toEqual({ allowed: true });
    const afterOne = recordSend(NO_SENDS, first, limits);
    expect(afterOne).toEqual({ day: '2026-06-03', sentOnDay: 1, lastSentAt: first.getTime() });
    expect(checkMailbox(local('2026-06-03T10:05', NY), limits, afterOne)).toEqual({
      allowed: false,
      reason: 'min_gap',
      notBefore: local('2026-06-03T10:10', NY),
    });
    const afterTwo = recordSend(afterOne, local('2026-06-03T10:10', NY), limits);
    expect(checkMailbox(local('2026-06-03T16:00', NY), limits, afterTwo)).toEqual({
      allowed: false,
      reason: 'daily_cap',
      notBefore: local('2026-06-04T00:00', NY),
    });
    // A new local day starts the count again.
    expect(checkMailbox(local('2026-06-04T00:00', NY), limits, afterTwo)).toEqual({ allowed: true });
    expect(recordSend(afterTwo, local('2026-06-04T09:00', NY), limits).sentOnDay).toBe(1);
  });

  it('moves a step over the cap to the next window instead of failing it', () => {
    let counters: MailboxCounters = NO_SENDS;
    const planned: string[] = [];
    const reasons: string[][] = [];
    for (let index = 0; index < 5; index += 1) {
      const plan = planSend(local('2026-06-04T16:55', NY), calendar, limits, counters);
      planned.push(show(plan.at, NY));
      reasons.push([...plan.deferredBy]);
      counters = recordSend(counters, plan.at, limits);
    }
    expect(planned).toEqual([
      '2026-06-04T16:55-04:00 Thu',
      '2026-06-05T09:00-04:00 Fri',
      '2026-06-05T09:10-04:00 Fri',
      '2026-06-08T09:00-04:00 Mon',
      '2026-06-08T09:10-04:00 Mon',
    ]);
    expect(reasons[1]).toEqual(['min_gap', 'window']);
    expect(reasons[3]).toEqual(['min_gap', 'daily_cap', 'window']);
    for (const at of planned) expect(at).toMatch(/T(09|1\d):/);
  });

  it('refuses a bad cap or a gap in days, naming the field', () => {
    expect(configurationIssue(() => checkMailbox(0, { dailyCap: 0, timeZone: NY }, NO_SENDS)).field).toBe(
      'dailyCap',
    );
    expect(configurationIssue(() => checkMailbox(0, { minGap: '1d', timeZone: NY }, NO_SENDS)).field).toBe(
      'minGap',
    );
  });
});

describe('time triggers', () => {
  it('fires a cron in its zone, and a time in the skipped spring hour once, an hour later', () => {
    expect(nextCronTime('0 9 * * 1-5', NY, local('2026-06-05T09:00', NY)).toISOString()).toBe(
      '2026-06-08T13:00:00.000Z',
    );
    const spring = cronTimes('30 2 * * *', NY, local('2026-03-06T12:00', NY), 3).map((at) => show(at, NY));
    expect(spring).toEqual([
      '2026-03-07T02:30-05:00 Sat',
      '2026-03-08T03:30-04:00 Sun',
      '2026-03-09T02:30-04:00 Mon',
    ]);
    const berlin = cronTimes('30 2 * * *', BERLIN, local('2026-03-28T12:00', BERLIN), 2).map((at) =>
      show(at, BERLIN),
    );
    expect(berlin).toEqual(['2026-03-29T03:30+02:00 Sun', '2026-03-30T02:30+02:00 Mon']);
  });

  it('fires a time in the repeated autumn hour once', () => {
    const ny = cronTimes('30 1 * * *', NY, local('2026-10-31T12:00', NY), 2).map((at) => show(at, NY));
    expect(ny).toEqual(['2026-11-01T01:30-04:00 Sun', '2026-11-02T01:30-05:00 Mon']);
    // Hourly over 00:00-03:00 in Berlin on 25 October: each wall-clock hour once, 02:00 not twice.
    const hours = cronTimes('0 0-3 * * *', BERLIN, local('2026-10-24T12:00', BERLIN), 4).map((at) =>
      show(at, BERLIN),
    );
    expect(hours.map((at) => at.slice(0, 16))).toEqual([
      '2026-10-25T00:00',
      '2026-10-25T01:00',
      '2026-10-25T02:00',
      '2026-10-25T03:00',
    ]);
  });

  it('returns a one-off time once and refuses one without an offset', () => {
    const trigger = { at: '2026-12-01T09:00:00+01:00' };
    expect(nextTriggerTime(trigger, new Date('2026-11-30T00:00:00Z'))?.toISOString()).toBe(
      '2026-12-01T08:00:00.000Z',
    );
    expect(nextTriggerTime(trigger, new Date('2026-12-01T08:00:00Z'))).toBeUndefined();
    expect(configurationIssue(() => nextTriggerTime({ at: '2026-12-01T09:00' }, 0)).field).toBe('at');
    expect(
      nextTriggerTime(
        { cron: '0 8 1 * *', timeZone: BERLIN },
        new Date('2026-11-30T00:00:00Z'),
      )?.toISOString(),
    ).toBe('2026-12-01T07:00:00.000Z');
  });

  it('refuses a bad cron or zone, naming the field', () => {
    expect(configurationIssue(() => assertCron('61 * * * *', 'trigger.time.cron')).field).toBe(
      'trigger.time.cron',
    );
    expect(configurationIssue(() => assertCron('* * *')).reason).toMatch(/5 cron fields/);
    expect(configurationIssue(() => nextCronTime('0 9 * * *', 'Moon/Base', 0)).field).toBe('timeZone');
  });
});

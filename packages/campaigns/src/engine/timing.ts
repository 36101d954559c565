import type { LeadStoreRecord, ValidationIssue } from '@leadpipe/core';
import { nextCronTime as scheduleNextCronTime } from '../schedule/trigger-time.js';
import { resolveUntil } from '../schedule/wait.js';
import {
  addBusinessDays,
  isCalendarDate,
  isClockTime,
  localDate,
  nextAllowedTime,
  type SendingCalendar,
  startOfNextDay,
  WEEKDAYS,
} from '../schedule/window.js';
import { isValidTimeZone, recipientTimeZone } from '../schedule/zone.js';
import type { CampaignDefinition, CampaignSendingPolicy, CampaignWaitStep } from './types.js';

/**
 * When steps run. The default, {@link createScheduleTiming}, reads sending
 * windows in the recipient's zone, weekends, holidays and business days from
 * the schedule module. Every method is pure over its input.
 */
export interface CampaignTiming {
  /** Problems with a campaign's timing options (each names the field); empty when fine. */
  validate(campaign: CampaignDefinition): readonly ValidationIssue[];
  /** The earliest time at or after `at` a send to `lead` may go out under `policy`. */
  nextSendTime(input: {
    readonly at: number;
    readonly lead: LeadStoreRecord;
    readonly policy: CampaignSendingPolicy;
  }): number;
  /** When a wait step that began at `from` ends. */
  waitUntil(input: {
    readonly from: number;
    readonly lead: LeadStoreRecord;
    readonly step: CampaignWaitStep;
    readonly policy: CampaignSendingPolicy;
  }): number;
  /** The counting day of a mailbox at `at` (`YYYY-MM-DD` in the campaign's zone). */
  mailboxDay(input: { readonly at: number; readonly policy: CampaignSendingPolicy }): string;
  /**
   * When a send held back by a mailbox cap may try again: after the minimum
   * gap, or the next day's first window. Never a failure.
   */
  afterCap(input: {
    readonly cap: 'dailyCap' | 'minGap';
    readonly at: number;
    readonly lastSentAt?: number;
    readonly lead: LeadStoreRecord;
    readonly policy: CampaignSendingPolicy;
  }): number;
  /** The first time strictly after `after` the cron pattern fires in `timeZone`. */
  nextCronTime(cron: string, timeZone: string, after: number): number;
}

/** The campaign's own zone (UTC when not set). */
const campaignZone = (policy: CampaignSendingPolicy): string => policy.timeZone ?? 'UTC';

/**
 * The recipient's sending calendar under a policy: the zone from the lead's
 * location (else the campaign's, or always the campaign's with
 * `recipientTimeZone: 'campaign'`), the windows and the holidays.
 *
 * @param lead - the recipient.
 * @param policy - the campaign's sending policy.
 */
export function sendingCalendarOf(
  lead: LeadStoreRecord | undefined,
  policy: CampaignSendingPolicy,
): SendingCalendar {
  const zone =
    policy.recipientTimeZone === 'campaign'
      ? campaignZone(policy)
      : recipientTimeZone(lead, campaignZone(policy), 'sending.timeZone').zone;
  return {
    timeZone: zone,
    ...(policy.windows === undefined ? {} : { windows: policy.windows }),
    ...(policy.holidays === undefined ? {} : { holidays: policy.holidays }),
  };
}

/** Whether a policy restricts send times at all (no windows and no holidays: a send goes out when due). */
const restricts = (policy: CampaignSendingPolicy): boolean =>
  (policy.windows !== undefined && policy.windows.length > 0) ||
  (policy.holidays !== undefined && policy.holidays.length > 0);

/**
 * The engine's default timing, over the schedule module: a send goes out
 * inside the campaign's sending windows (days and `HH:mm` hours) read in the
 * recipient's zone, never on a holiday; a policy with neither windows nor
 * holidays sends when due. Waits of N business days skip weekends (the days
 * outside the windows, Monday to Friday without windows) and holidays and keep
 * the wall-clock time; `until` may be an ISO time or a bare `HH:mm` in the
 * recipient's zone. A mailbox over its daily cap moves to the next day's first
 * window, one inside its minimum gap to the first window after the gap.
 * Daylight-saving changes neither skip nor double a step (wall-clock windows
 * through luxon). Cron runs through cron-parser in the trigger's zone.
 */
export function createScheduleTiming(): CampaignTiming {
  const allowedFrom = (at: number, lead: LeadStoreRecord | undefined, policy: CampaignSendingPolicy) =>
    restricts(policy) ? nextAllowedTime(at, sendingCalendarOf(lead, policy)).getTime() : at;
  return {
    validate(campaign) {
      const issues: ValidationIssue[] = [];
      const policy = campaign.sending ?? {};
      const field = `${campaign.id}.sending`;
      if (policy.timeZone !== undefined && !isValidTimeZone(policy.timeZone))
        issues.push({ field: `${field}.timeZone`, reason: 'is not a known IANA time zone' });
      (policy.windows ?? []).forEach((window, index) => {
        const at = `${field}.windows.${index}`;
        if (
          !Array.isArray(window.days) ||
          window.days.length === 0 ||
          window.days.some((day) => !WEEKDAYS.includes(day))
        )
          issues.push({ field: `${at}.days`, reason: `expected weekdays among ${WEEKDAYS.join(', ')}` });
        if (!isClockTime(window.start)) issues.push({ field: `${at}.start`, reason: 'expected HH:mm' });
        if (!isClockTime(window.end)) issues.push({ field: `${at}.end`, reason: 'expected HH:mm' });
        else if (isClockTime(window.start) && window.end <= window.start)
          issues.push({ field: `${at}.end`, reason: 'must be after start' });
      });
      (policy.holidays ?? []).forEach((day, index) => {
        if (!isCalendarDate(day))
          issues.push({ field: `${field}.holidays.${index}`, reason: 'expected a date YYYY-MM-DD' });
      });
      if (issues.length === 0 && restricts(policy)) {
        try {
          nextAllowedTime(0, sendingCalendarOf(undefined, policy));
        } catch (error) {
          issues.push({ field: `${field}.windows`, reason: (error as Error).message });
        }
      }
      campaign.steps.forEach((step, index) => {
        if (step.type !== 'wait') return;
        if (
          step.businessDays !== undefined &&
          (!Number.isInteger(step.businessDays) || step.businessDays < 1)
        )
          issues.push({
            field: `${campaign.id}.steps.${index}.businessDays`,
            reason: 'expected a positive integer',
          });
        if (step.until !== undefined) {
          try {
            resolveUntil(0, step.until, 'UTC');
          } catch {
            issues.push({
              field: `${campaign.id}.steps.${index}.until`,
              reason: 'expected an ISO 8601 time or HH:mm',
            });
          }
        }
      });
      return issues;
    },
    nextSendTime: ({ at, lead, policy }) => allowedFrom(at, lead, policy),
    waitUntil({ from, lead, step, policy }) {
      const calendar = sendingCalendarOf(lead, policy);
      if (step.until !== undefined)
        return Math.max(from, resolveUntil(from, step.until, calendar.timeZone, 'until').getTime());
      if (step.businessDays !== undefined)
        return addBusinessDays(from, step.businessDays, calendar).getTime();
      return from + (step.durationMs ?? 0);
    },
    mailboxDay: ({ at, policy }) => localDate(at, campaignZone(policy)),
    afterCap({ cap, at, lastSentAt, lead, policy }) {
      const retry =
        cap === 'minGap'
          ? Math.max(at, (lastSentAt ?? at) + (policy.minGapMs ?? 0))
          : startOfNextDay(at, campaignZone(policy)).getTime();
      return allowedFrom(retry, lead, policy);
    },
    nextCronTime: (cron, timeZone, after) => scheduleNextCronTime(cron, timeZone, after).getTime(),
  };
}

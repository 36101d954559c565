import type { Lead, ValidationIssue } from '@leadpipe/core';
import { CronExpressionParser } from 'cron-parser';
import type { CampaignDefinition, CampaignSendingPolicy, CampaignWaitStep } from './types.js';

/**
 * When steps run: the seam the schedule module (`src/schedule/`: sending
 * windows in the recipient's zone, business days, holidays, DST) plugs into.
 * Every method is pure over its input.
 */
export interface CampaignTiming {
  /** Problems with a campaign this timing cannot schedule (each names the field); empty when fine. */
  validate(campaign: CampaignDefinition): readonly ValidationIssue[];
  /** The earliest time at or after `at` a send to `lead` may go out under `policy`. */
  nextSendTime(input: {
    readonly at: number;
    readonly lead: Lead;
    readonly policy: CampaignSendingPolicy;
  }): number;
  /** When a wait step that began at `from` ends. */
  waitUntil(input: {
    readonly from: number;
    readonly lead: Lead;
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
    readonly lead: Lead;
    readonly policy: CampaignSendingPolicy;
  }): number;
  /** The first time strictly after `after` the cron pattern fires in `timeZone`. */
  nextCronTime(cron: string, timeZone: string, after: number): number;
}

const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** `YYYY-MM-DD` of `at` in `timeZone`. */
function dayIn(at: number, timeZone: string): string {
  let format = dayFormats.get(timeZone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    dayFormats.set(timeZone, format);
  }
  return format.format(at);
}

/** The first millisecond after `at` that falls on another day in `timeZone` (found by search, so DST-proof). */
function startOfNextDay(at: number, timeZone: string): number {
  const today = dayIn(at, timeZone);
  let low = at;
  let high = at + 3_600_000;
  while (dayIn(high, timeZone) === today) {
    low = high;
    high += 3_600_000;
  }
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (dayIn(middle, timeZone) === today) low = middle;
    else high = middle;
  }
  return high;
}

/**
 * The engine's interim timing until the schedule module is wired in: no
 * sending windows (a send goes out when due), waits of a duration or until a
 * time, mailbox days in the campaign's zone, the next day after a daily cap,
 * cron through cron-parser. Campaigns with windows, holidays or business-day
 * waits are refused by `validate`, never silently sent outside them.
 */
export function createBasicTiming(): CampaignTiming {
  return {
    validate(campaign) {
      const issues: ValidationIssue[] = [];
      const unsupported = 'needs the schedule module timing (pass `timing` to createCampaignEngine)';
      if (campaign.sending?.windows !== undefined)
        issues.push({ field: `${campaign.id}.sending.windows`, reason: unsupported });
      if (campaign.sending?.holidays !== undefined)
        issues.push({ field: `${campaign.id}.sending.holidays`, reason: unsupported });
      campaign.steps.forEach((step, index) => {
        if (step.type === 'wait' && step.businessDays !== undefined) {
          issues.push({ field: `${campaign.id}.steps.${index}.businessDays`, reason: unsupported });
        }
      });
      return issues;
    },
    nextSendTime: ({ at }) => at,
    waitUntil({ from, step }) {
      if (step.until !== undefined) return Date.parse(step.until);
      return from + (step.durationMs ?? 0);
    },
    mailboxDay: ({ at, policy }) => dayIn(at, policy.timeZone ?? 'UTC'),
    afterCap({ cap, at, lastSentAt, policy }) {
      if (cap === 'minGap') return Math.max(at, (lastSentAt ?? at) + (policy.minGapMs ?? 0));
      return startOfNextDay(at, policy.timeZone ?? 'UTC');
    },
    nextCronTime(cron, timeZone, after) {
      return CronExpressionParser.parse(cron, { currentDate: new Date(after), tz: timeZone })
        .next()
        .getTime();
    },
  };
}

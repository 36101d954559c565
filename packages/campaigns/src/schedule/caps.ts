import { invalid, toMillis } from './internal.js';
import { type DurationInput, parseDuration } from './wait.js';
import { localDate, nextAllowedTime, type SendingCalendar, startOfNextDay } from './window.js';
import { assertTimeZone } from './zone.js';

/** The limits of one sending mailbox. */
export interface MailboxLimits {
  /** The most sends per local day (in {@link MailboxLimits.timeZone}); absent: no daily cap. */
  readonly dailyCap?: number;
  /** The least time between two sends from the mailbox; absent: none. Calendar days are not allowed here. */
  readonly minGap?: DurationInput;
  /** The zone whose calendar day the daily cap counts (the sender's zone, usually the campaign's). */
  readonly timeZone: string;
}

/** The counters the engine stores per mailbox; {@link recordSend} advances them. */
export interface MailboxCounters {
  /** The local date (`YYYY-MM-DD`, in the limits' zone) {@link MailboxCounters.sentOnDay} counts. */
  readonly day: string;
  /** Sends on that day. */
  readonly sentOnDay: number;
  /** Epoch milliseconds of the last send, if any. */
  readonly lastSentAt?: number;
}

/** Why a send was moved later. */
export type DeferralReason = 'window' | 'daily_cap' | 'min_gap';

/** The answer of {@link checkMailbox}. */
export type MailboxCheck =
  | {
      /** The mailbox may send now. */
      readonly allowed: true;
    }
  | {
      /** The mailbox may not send now. */
      readonly allowed: false;
      /** Which limit binds. */
      readonly reason: 'daily_cap' | 'min_gap';
      /** The earliest instant the limit allows a send (the next local day, or the last send plus the gap). */
      readonly notBefore: Date;
    };

function gapMillis(limits: MailboxLimits): number {
  if (limits.minGap === undefined) return 0;
  const parsed = parseDuration(limits.minGap, 'minGap');
  if (parsed.days !== 0) throw invalid('minGap', 'use hours, minutes or seconds');
  return parsed.milliseconds;
}

function checkLimits(limits: MailboxLimits): void {
  assertTimeZone(limits.timeZone, 'timeZone');
  if (limits.dailyCap !== undefined && (!Number.isInteger(limits.dailyCap) || limits.dailyCap < 1)) {
    throw invalid('dailyCap', 'expected a positive integer');
  }
}

/** An empty set of counters for a mailbox that has not sent yet. */
export const NO_SENDS: MailboxCounters = Object.freeze({ day: '', sentOnDay: 0 });

/**
 * Whether a mailbox may send at `at`, by its daily cap and minimum gap. Pure: reads the counters, changes nothing.
 *
 * @param at - the intended send time.
 * @param limits - the mailbox's cap, gap and zone.
 * @param counters - what the engine stored for the mailbox ({@link NO_SENDS} before the first send).
 */
export function checkMailbox(
  at: Date | number,
  limits: MailboxLimits,
  counters: MailboxCounters,
): MailboxCheck {
  checkLimits(limits);
  const millis = toMillis(at);
  const sentToday = counters.day === localDate(millis, limits.timeZone) ? counters.sentOnDay : 0;
  if (limits.dailyCap !== undefined && sentToday >= limits.dailyCap) {
    return { allowed: false, reason: 'daily_cap', notBefore: startOfNextDay(millis, limits.timeZone) };
  }
  const gap = gapMillis(limits);
  if (gap > 0 && counters.lastSentAt !== undefined && millis < counters.lastSentAt + gap) {
    return { allowed: false, reason: 'min_gap', notBefore: new Date(counters.lastSentAt + gap) };
  }
  return { allowed: true };
}

/**
 * The counters after a send at `at` (pure: returns new counters). A send on a new local day starts the count
 * again at 1.
 *
 * @param counters - the stored counters.
 * @param at - when the send happened.
 * @param limits - the mailbox's limits (for the zone of the daily count).
 */
export function recordSend(
  counters: MailboxCounters,
  at: Date | number,
  limits: MailboxLimits,
): MailboxCounters {
  const millis = toMillis(at);
  const day = localDate(millis, limits.timeZone);
  return {
    day,
    sentOnDay: counters.day === day ? counters.sentOnDay + 1 : 1,
    lastSentAt: Math.max(millis, counters.lastSentAt ?? millis),
  };
}

/** The answer of {@link planSend}. */
export interface PlannedSend {
  /** When the step may send: inside the recipient's window and within the mailbox's limits. */
  readonly at: Date;
  /** Each reason the time moved later than asked, in order (empty when `at` was allowed as asked). */
  readonly deferredBy: readonly DeferralReason[];
}

/** The most times {@link planSend} alternates between window and limits before giving up. */
const MAX_ROUNDS = 1000;

/**
 * The send time of an email step: the earliest instant at or after `at` that is inside the recipient's sending
 * window and that the mailbox's daily cap and minimum gap allow. A mailbox over its cap moves the step to the next
 * window (the next local day's opening), never fails it.
 *
 * @param at - the earliest time the step could run.
 * @param calendar - the recipient's zone, windows and holidays.
 * @param limits - the mailbox's limits.
 * @param counters - the mailbox's stored counters.
 * @throws ConfigurationError for bad options, or when no time satisfies both (an impossible calendar).
 */
export function planSend(
  at: Date | number,
  calendar: SendingCalendar,
  limits: MailboxLimits,
  counters: MailboxCounters,
): PlannedSend {
  const asked = toMillis(at);
  let candidate = asked;
  const deferredBy: DeferralReason[] = [];
  for (let round = 0; round < MAX_ROUNDS; round += 1) {
    const allowed = nextAllowedTime(candidate, calendar).getTime();
    if (allowed !== candidate) {
      if (deferredBy.at(-1) !== 'window') deferredBy.push('window');
      candidate = allowed;
    }
    const check = checkMailbox(candidate, limits, counters);
    if (check.allowed) return { at: new Date(candidate), deferredBy };
    if (deferredBy.at(-1) !== check.reason) deferredBy.push(check.reason);
    candidate = check.notBefore.getTime();
  }
  throw invalid('sendingWindows', 'no send time satisfies both the windows and the mailbox limits');
}

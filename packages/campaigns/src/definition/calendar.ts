import type { MailboxLimits } from '../schedule/caps.js';
import type { SendingCalendar } from '../schedule/window.js';
import { type RecipientLocations, recipientTimeZone } from '../schedule/zone.js';
import type { Campaign } from './types.js';

/**
 * The sending calendar of one recipient in a campaign: the recipient's zone (from the lead's location when the
 * campaign says `recipientTimeZone: lead`, else the campaign's zone), the campaign's windows and holidays. Feed it
 * to `nextAllowedTime`, `resolveWait` and `planSend`.
 *
 * @param campaign - a checked campaign.
 * @param lead - the recipient (its `location` and `company.location` are read).
 */
export function recipientCalendar(campaign: Campaign, lead: RecipientLocations | undefined): SendingCalendar {
  const zone =
    campaign.recipientTimeZone === 'lead'
      ? recipientTimeZone(lead, campaign.timeZone).zone
      : recipientTimeZone(undefined, campaign.timeZone).zone;
  return { timeZone: zone, windows: campaign.sendingWindows, holidays: campaign.holidays };
}

/**
 * The limits of a mailbox in a campaign: the mailbox's own `dailyCap` and `minGap` when set, else the campaign's
 * `caps`; the daily count runs in the campaign's zone.
 *
 * @param campaign - a checked campaign.
 * @param mailbox - the mailbox id an email step names, or undefined for the sender's `from`.
 */
export function mailboxLimits(campaign: Campaign, mailbox: string | undefined): MailboxLimits {
  const own = mailbox === undefined ? undefined : campaign.mailboxes?.[mailbox];
  const dailyCap = own?.dailyCap ?? campaign.caps.dailyPerMailbox;
  const minGap = own?.minGap ?? campaign.caps.minGap;
  return {
    timeZone: campaign.timeZone,
    ...(dailyCap === undefined ? {} : { dailyCap }),
    ...(minGap === undefined ? {} : { minGap }),
  };
}

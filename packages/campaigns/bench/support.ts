/**
 * The scenario every campaign benchmark shares (issue 13 §4): a three-step sequence (email, wait 2 business days,
 * email; exit on reply) over leads with stable ids, and what each case prints.
 */
import { createLead, type Lead } from '@leadpipe/core';
import type { CampaignDefinition, SendingCalendar } from '../src/index.js';

/** Monday 2 March 2026, 08:00 UTC: an hour before the window opens. */
export const BENCH_START = Date.parse('2026-03-02T08:00:00Z');

/** The window the sequence sends in (UTC, so leads without a location read it the same). */
export const BENCH_CALENDAR: SendingCalendar = {
  timeZone: 'UTC',
  windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' }],
  holidays: [],
};

/** The sequence: s1, two business days, s2; a reply exits (the default exit rules). */
export const BENCH_CAMPAIGN: CampaignDefinition = {
  id: 'bench',
  triggers: [],
  sending: { timeZone: 'UTC', windows: BENCH_CALENDAR.windows },
  steps: [
    { id: 's1', type: 'email', template: { subject: 'Hello {{ first_name }}', text: 'First email.' } },
    { id: 'pause', type: 'wait', businessDays: 2 },
    { id: 's2', type: 'email', template: { subject: 'Again, {{ first_name }}', text: 'Second email.' } },
  ],
};

/** The sender (CAN-SPAM postal address) and the unsubscribe endpoint the engine needs. */
export const BENCH_ENGINE = {
  senders: [{ email: 'sales@acme.example', postalAddress: 'Acme Inc, 1 Main St, Springfield, USA' }],
  unsubscribe: { baseUrl: 'https://acme.example/u', secret: 'bench-unsubscribe-secret' },
} as const;

/** Lead `index`, with the same id in every process. */
export function benchLead(index: number): Lead {
  return createLead(
    { email: `lead${index}@example.com`, firstName: `Lead${index}` },
    { id: `01900000-0000-7000-8000-${String(index).padStart(12, '0')}`, now: () => new Date(BENCH_START) },
  );
}

/** The index of a bench lead's id. */
export function indexOfLead(leadId: string): number {
  return Number(leadId.slice(-12));
}

/** Every tenth lead replies, an emulated hour after its first email: between the steps. */
export const REPLY_DELAY_MS = 3_600_000;

/** Whether lead `index` replies. */
export function replies(index: number): boolean {
  return index % 10 === 0;
}

/** The send ledger key of a bench enrollment's step (`ledgerKeyOf`). */
export { ledgerKeyOf } from '../src/index.js';

/** Print one benchmark line. */
export function printLine(fields: Readonly<Record<string, unknown>>): void {
  process.stdout.write(`${JSON.stringify({ bench: 'campaign', ...fields })}\n`);
}

/** The value at quantile `q` of sorted numbers. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

import type { DeadLetterEntry, Lead, LeadInput } from '@leadpipe/core/adapter-kit';
import { createLead } from '@leadpipe/core/adapter-kit';

export const START = Date.UTC(2026, 0, 1, 9, 0, 0);
export const DAY = 86_400_000;

/** A clock the tests move. */
export function testClock(): { now: () => number; advance: (ms: number) => void } {
  let time = START;
  return { now: () => time, advance: (ms) => (time += ms) };
}

/** A lead made at the clock's time, with provenance on its title. */
export function leadAt(now: () => number, input: LeadInput, confidence = 0.8): Lead {
  const lead = createLead(input, { now: () => new Date(now()) });
  return input.title === undefined
    ? lead
    : {
        ...lead,
        provenance: {
          ...lead.provenance,
          title: { providerId: 'apollo', confidence, at: new Date(now()).toISOString(), credits: 1 },
        },
      };
}

/** A dead letter about `email` (in its record key) and `leadId`. */
export function deadLetterAbout(id: string, email: string, leadId: string): DeadLetterEntry {
  return {
    id,
    target: 'hubspot',
    object: 'contacts',
    idProperty: 'email',
    record: { key: email, properties: { email, firstname: 'Zoë' } },
    leadIds: [leadId],
    error: { code: 'validation_failed', message: 'rejected', retryable: false },
    attempts: 1,
    firstFailedAt: '2026-01-01T09:00:00.000Z',
    lastFailedAt: '2026-01-01T09:00:00.000Z',
  };
}

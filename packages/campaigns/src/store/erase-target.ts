import type { LeadEraseTarget } from '@leadpipe/core';
import type { MemoryCampaignStore } from './memory-campaign-store.js';

/**
 * The erase target of a memory campaign store, for `eraseTargets` of
 * core's `createMemoryLeadStore`: `leads.erase(email)` then removes the
 * person's enrollments, send ledger rows, stored events and campaign dead
 * letters (reported as `campaignEnrollments`, `campaignSends`,
 * `campaignEvents`, `campaignDeadLetters`, the places the PostgreSQL store's
 * erase names) and keeps their suppression, held as a SHA-256 of the
 * address, so an erased person who unsubscribed is still never emailed.
 *
 * @example
 * ```ts
 * const campaigns = createMemoryCampaignStore();
 * const leads = createMemoryLeadStore({ eraseTargets: [campaignEraseTarget(campaigns)] });
 * ```
 */
export function campaignEraseTarget(store: Pick<MemoryCampaignStore, 'erase'>): LeadEraseTarget {
  return {
    place: 'campaigns',
    async erase(person) {
      return { ...(await store.erase(person)) };
    },
  };
}

import type { CampaignStoreV1 } from '@leadpipe/core';
import type { DashboardCampaign, DashboardCampaignsSource } from '../sources.js';

/**
 * A campaign to show: its id, or its definition (a `CampaignDefinition` of
 * `@leadpipe/campaigns` fits), whose steps give the funnel's order and whose
 * `email` steps are shown even before anything was sent.
 */
export type CampaignRef =
  | string
  | { readonly id: string; readonly steps?: readonly { readonly id: string; readonly type?: string }[] };

/**
 * Campaign funnels from a campaign store's `stats(campaignId)`, one
 * campaign after the other, on every page view. The store lists no
 * campaigns: name them (`campaigns`, or a function for a list that changes).
 *
 * @example
 * ```ts
 * import { createMemoryCampaignStore } from '@leadpipe/campaigns';
 * import { campaignsFromStore } from '@leadpipe/dashboard';
 *
 * const source = campaignsFromStore(createMemoryCampaignStore(), ['welcome', 'trial-ending']);
 * console.log(await source.list());
 * ```
 */
export function campaignsFromStore(
  store: Pick<CampaignStoreV1, 'stats'>,
  campaigns: readonly CampaignRef[] | (() => readonly CampaignRef[] | Promise<readonly CampaignRef[]>),
): DashboardCampaignsSource {
  return {
    async list(): Promise<readonly DashboardCampaign[]> {
      const refs = typeof campaigns === 'function' ? await campaigns() : campaigns;
      const out: DashboardCampaign[] = [];
      for (const ref of refs) {
        const id = typeof ref === 'string' ? ref : ref.id;
        const stats = await store.stats(id);
        const defined = typeof ref === 'string' ? [] : (ref.steps ?? []);
        const order = [
          ...defined
            .filter((step) => step.type === 'email' || stats.steps[step.id] !== undefined)
            .map((step) => step.id),
          ...Object.keys(stats.steps).filter((step) => !defined.some((known) => known.id === step)),
        ];
        out.push({
          id,
          enrolled: stats.enrolled,
          byStatus: { ...stats.byStatus },
          steps: order.map((step) => {
            const counts = stats.steps[step];
            return {
              step,
              sent: counts?.sent ?? 0,
              delivered: counts?.delivered ?? 0,
              opened: counts?.opened ?? 0,
              clicked: counts?.clicked ?? 0,
              replied: counts?.replied ?? 0,
              bounced: counts?.bounced ?? 0,
              unsubscribed: counts?.unsubscribed ?? 0,
              failed: counts?.failed ?? 0,
            };
          }),
        });
      }
      return out;
    },
  };
}

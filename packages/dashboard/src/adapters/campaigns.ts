import type { CampaignStoreV1 } from '@leadpipe/core';
import type { DashboardCampaign, DashboardCampaignsSource } from '../sources.js';

/** A step of a {@link CampaignRefDefinition}. */
export interface CampaignRefStep {
  /** The step id. */
  readonly id: string;
  /** The step type (`email`, `wait`...): email steps are shown even before anything was sent. */
  readonly type?: string;
}

/** A campaign definition, as far as the funnel needs it: a `CampaignDefinition` of `@leadpipe/campaigns` fits. */
export interface CampaignRefDefinition {
  /** The campaign id. */
  readonly id: string;
  /** The steps, in the campaign's order: the funnel's order. */
  readonly steps?: readonly CampaignRefStep[];
}

/** A campaign to show: its id, or its definition. */
export type CampaignRef = string | CampaignRefDefinition;

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

import { randomUUID } from 'node:crypto';
import type { CampaignJsonValue, LeadStoreRecord } from '@leadpipe/core';
import { conditionBecameTrue, evaluateCondition } from '../definition/condition.js';
import { eventMatches } from '../definition/match.js';
import { base, conditionSubject, type EngineContext, wakeKey } from './context.js';
import type { CampaignDefinition, CampaignStep, CampaignTrigger } from './types.js';

/** Enroll a lead in a campaign unless it is outside the audience or already enrolled. Resolves with whether it was. */
export async function enrollLead(
  context: EngineContext,
  campaign: CampaignDefinition,
  lead: LeadStoreRecord,
  trigger: string,
  data?: Readonly<Record<string, CampaignJsonValue>>,
): Promise<boolean> {
  if (
    campaign.audience !== undefined &&
    !evaluateCondition(campaign.audience, { current: conditionSubject(lead, data) })
  )
    return false;
  const at = context.now();
  const first = campaign.steps[0] as CampaignStep;
  const result = await context.store.enroll({
    id: randomUUID(),
    campaignId: campaign.id,
    campaignVersion: campaign.version ?? 1,
    leadId: lead.id,
    status: 'active',
    stepId: first.id,
    version: 1,
    nextRunAt: at,
    enrolledAt: at,
    stepStartedAt: at,
    attempts: 0,
    trigger,
    ...(data === undefined ? {} : { data }),
  });
  if (!result.created) return false;
  context.events.emit('enrollment.created', { ...base(result.enrollment), trigger });
  await context.queue.enqueue({ key: wakeKey(result.enrollment), runAt: at });
  return true;
}

/** Wake the lead's enrollments waiting for this event type (they re-check stored events at once). */
export async function wakeWaiters(context: EngineContext, leadId: string, type: string): Promise<void> {
  for (const enrollment of await context.store.enrollmentsOfLead(leadId)) {
    if (enrollment.status !== 'active') continue;
    const step = context.campaigns
      .get(enrollment.campaignId)
      ?.steps.find((candidate) => candidate.id === enrollment.stepId);
    if (step?.type !== 'waitForEvent' || !step.events.includes(type)) continue;
    const at = context.now();
    if ((enrollment.nextRunAt ?? 0) <= at) continue;
    const next = { ...enrollment, nextRunAt: at, version: enrollment.version + 1 };
    if (await context.store.updateEnrollment(next))
      await context.queue.enqueue({ key: wakeKey(next), runAt: at });
  }
}

/** Whether any campaign has an event trigger for this type. */
export function hasEventTrigger(context: EngineContext, type: string): boolean {
  return [...context.campaigns.values()].some((campaign) =>
    campaign.triggers.some((trigger) => trigger.type === 'event' && trigger.event === type),
  );
}

/** Enroll the lead in every campaign with an event trigger for this type. */
export async function enrollOnEvent(
  context: EngineContext,
  type: string,
  lead: LeadStoreRecord,
  data?: Readonly<Record<string, CampaignJsonValue>>,
): Promise<void> {
  for (const campaign of context.campaigns.values()) {
    if (
      campaign.triggers.some(
        (trigger) =>
          trigger.type === 'event' && trigger.event === type && eventMatches(trigger.match, type, data),
      )
    ) {
      await enrollLead(context, campaign, lead, type, data);
    }
  }
}

/**
 * Enroll the lead in every campaign whose condition trigger became true, or whose watched field changed. With the
 * previous lead unknown, conditions fire when they hold and field changes are not seen.
 */
export async function enrollOnChange(
  context: EngineContext,
  type: string,
  lead: LeadStoreRecord,
  previous: LeadStoreRecord | undefined,
  previousUnknown = false,
): Promise<void> {
  for (const campaign of context.campaigns.values()) {
    for (const trigger of campaign.triggers) {
      if (trigger.type === 'condition') {
        if (conditionBecameTrue(trigger.when, previous, lead))
          await enrollLead(context, campaign, lead, `${type}:condition`);
      } else if (
        trigger.type === 'changed' &&
        !previousUnknown &&
        // A first value counts as a change: compare with an empty lead when there was none before.
        conditionBecameTrue({ field: trigger.field, op: 'changed' }, previous ?? {}, lead)
      ) {
        await enrollLead(context, campaign, lead, `${type}:changed:${trigger.field}`);
      }
    }
  }
}

/** A campaign's time trigger with its queue key. */
export interface TimeTriggerEntry {
  readonly campaign: CampaignDefinition;
  readonly trigger: CampaignTrigger;
  readonly key: string;
}

/** Every cron and one-off trigger of the campaigns, keyed `<campaignId>-t<index>`. */
export function timeTriggers(context: EngineContext): readonly TimeTriggerEntry[] {
  return [...context.campaigns.values()].flatMap((campaign) =>
    campaign.triggers.flatMap((trigger, index) =>
      trigger.type === 'cron' || trigger.type === 'at'
        ? [{ campaign, trigger, key: `${campaign.id}-t${index}` }]
        : [],
    ),
  );
}

/** A time trigger fired: enroll every lead of its audience (a lead store filter), page by page. */
export async function fireAudience(
  context: EngineContext,
  campaign: CampaignDefinition,
  trigger: string,
  where: CampaignTrigger,
): Promise<void> {
  const audience = where.type === 'cron' || where.type === 'at' ? where.audience : undefined;
  let cursor: string | undefined;
  do {
    const page = await context.leads.query({
      ...(audience === undefined ? {} : { where: audience }),
      limit: 100,
      ...(cursor === undefined ? {} : { cursor }),
    });
    for (const record of page.leads) {
      const lead = await context.leads.get(record.id);
      if (lead !== undefined) await enrollLead(context, campaign, lead, trigger);
    }
    cursor = page.nextCursor;
  } while (cursor !== undefined);
}

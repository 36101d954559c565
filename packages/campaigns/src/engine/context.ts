import type {
  CampaignEnrollment,
  CampaignJsonValue,
  CampaignQueueV1,
  CampaignStoreV1,
  CampaignSuppression,
  Clock,
  LeadStoreV1,
  LimiterRegistry,
  SafeEventBus,
} from '@leadpipe/core';
import type { Observer } from '@leadpipe/core/adapter-kit';
import { eventMatches } from '../definition/match.js';
import type { TemplateRenderer } from '../templates/renderer.js';
import type { CampaignEngineOptions } from './engine.js';
import type { CampaignEngineEvents, EnrollmentEventBase } from './events.js';
import type { CampaignTiming } from './timing.js';
import {
  type CampaignDefinition,
  type CampaignExitRule,
  type CampaignStep,
  DEFAULT_EXIT_EVENTS,
} from './types.js';

/**
 * What the engine's modules share: the options with their defaults applied,
 * the store, the queue, the event bus and the campaigns by id. Built once by
 * `createCampaignEngine`.
 */
export interface EngineContext {
  readonly options: CampaignEngineOptions;
  readonly store: CampaignStoreV1;
  readonly leads: LeadStoreV1;
  readonly timing: CampaignTiming;
  readonly now: Clock;
  readonly random: () => number;
  readonly retries: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly recheckMs: number;
  readonly renderer: TemplateRenderer;
  readonly limiters: LimiterRegistry;
  readonly events: SafeEventBus<CampaignEngineEvents>;
  readonly campaigns: ReadonlyMap<string, CampaignDefinition>;
  readonly queue: CampaignQueueV1;
  /** The `logger` and `onError` options, wrapped (never throws). */
  readonly observer: Observer;
}

/** A step's outcome: how the enrollment changes. */
export type Transition =
  | { readonly kind: 'advance'; readonly to: string | undefined }
  | { readonly kind: 'reschedule'; readonly at: number }
  | { readonly kind: 'exit'; readonly reason: string }
  | { readonly kind: 'fail'; readonly code: string; readonly message: string }
  | {
      readonly kind: 'retry';
      readonly code: string;
      readonly message: string;
      readonly retryAfterMs?: number;
    };

/** The key an email step's A/B variant is picked by (`pickVariant(variants, variantKeyOf(enrollmentId, stepId))`). */
export function variantKeyOf(enrollmentId: string, stepId: string): string {
  return `${enrollmentId}\u0000${stepId}`;
}

/** The send ledger key of (enrollment, step). */
export function ledgerKeyOf(enrollmentId: string, stepId: string): string {
  return `enr-${enrollmentId}-s${stepId}`;
}

/** Event types that suppress the address, with the suppression reason. */
export const SUPPRESSING: Readonly<Record<string, CampaignSuppression['reason']>> = {
  'email.bounced': 'bounced',
  'email.complained': 'complained',
  'email.unsubscribed': 'unsubscribed',
};

/** An error's message. */
export const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** What conditions read: the lead, with the trigger's data under `data`. */
export function conditionSubject(
  lead: object,
  data: Readonly<Record<string, CampaignJsonValue>> | undefined,
): object {
  return data === undefined ? lead : { ...lead, data };
}

/** The ids every enrollment event carries. */
export const base = (enrollment: CampaignEnrollment): EnrollmentEventBase => ({
  campaignId: enrollment.campaignId,
  enrollmentId: enrollment.id,
  leadId: enrollment.leadId,
});

/** The queue key of an enrollment's next wake-up (stale versions do nothing). */
export const wakeKey = (enrollment: CampaignEnrollment): string =>
  `enr-${enrollment.id}-v${enrollment.version}`;

/** The step after `step`: its `next`, else the following one in the list (undefined at the end). */
export const stepAfter = (campaign: CampaignDefinition, step: CampaignStep): string | undefined => {
  if (step.next !== undefined) return step.next;
  const index = campaign.steps.findIndex((candidate) => candidate.id === step.id);
  return campaign.steps[index + 1]?.id;
};

/** The exit rules of a campaign, each as `{ event, match? }`. */
const exitRules = (campaign: CampaignDefinition): readonly CampaignExitRule[] =>
  (campaign.exitOn ?? DEFAULT_EXIT_EVENTS).map((rule) => (typeof rule === 'string' ? { event: rule } : rule));

/** The exit event types of a campaign. */
export const exitTypes = (campaign: CampaignDefinition): readonly string[] => [
  ...new Set(exitRules(campaign).map((rule) => rule.event)),
];

/** Whether an event exits enrollments of the campaign: a rule names its type and its data passes the rule's match. */
export const exitsOn = (
  campaign: CampaignDefinition,
  type: string,
  data: Readonly<Record<string, CampaignJsonValue>> | undefined,
): boolean => exitRules(campaign).some((rule) => rule.event === type && eventMatches(rule.match, type, data));

/** The campaigns an event exits, with the reason (the type). */
export const exitMap = (
  context: EngineContext,
  type: string,
  data?: Readonly<Record<string, CampaignJsonValue>>,
): Record<string, string> => {
  const map: Record<string, string> = {};
  for (const campaign of context.campaigns.values())
    if (exitsOn(campaign, type, data)) map[campaign.id] = type;
  return map;
};

/** Report enrollments an event exited. */
export const emitExits = (context: EngineContext, exited: readonly CampaignEnrollment[]): void => {
  for (const enrollment of exited)
    context.events.emit('enrollment.exited', { ...base(enrollment), reason: enrollment.reason ?? 'exited' });
};

/** Move an active enrollment's next run to now and wake it (after a settled review or reconciled claim). */
export const wakeNow = async (context: EngineContext, enrollment: CampaignEnrollment): Promise<void> => {
  const at = context.now();
  const next: CampaignEnrollment = { ...enrollment, nextRunAt: at, version: enrollment.version + 1 };
  if (await context.store.updateEnrollment(next))
    await context.queue.enqueue({ key: wakeKey(next), runAt: at });
};

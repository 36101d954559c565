/**
 * @packageDocumentation
 * `@leadpipe/campaigns`: act on what happens to leads. Campaigns are a
 * trigger, an audience condition and a sequence of steps (email with A/B
 * variants, webhook, lead and CRM updates, waits, wait-for-event, branch,
 * exit). The engine sends at most once per (enrollment, step) through a send
 * ledger, checks suppressions in the claim transaction, exits on replies,
 * bounces, unsubscribes and custom events before every step, retries with
 * backoff, dead-letters what fails for good, and serves a one-click
 * unsubscribe endpoint. State lives in a `CampaignStoreV1`; wake-ups come
 * from a `CampaignQueueV1` (in-process by default).
 */

export { type ConditionSubject, evaluateCondition, fieldChanged, readPath } from './engine/conditions.js';
export {
  type CampaignCustomEvent,
  type CampaignEngine,
  type CampaignEngineOptions,
  type CampaignLeadEvent,
  type CampaignRetryOptions,
  type CampaignReviewOutcome,
  createCampaignEngine,
  ledgerKeyOf,
  pickVariant,
} from './engine/engine.js';
export type { CampaignEngineEvents, EnrollmentEventBase } from './engine/events.js';
export { type CampaignTiming, createScheduleTiming, sendingCalendarOf } from './engine/timing.js';
export {
  type CampaignBranchStep,
  type CampaignCondition,
  type CampaignCrmStep,
  type CampaignDefinition,
  type CampaignEmailStep,
  type CampaignEmailTemplate,
  type CampaignEmailVariant,
  type CampaignExitStep,
  type CampaignSender,
  type CampaignSendingPolicy,
  type CampaignStep,
  type CampaignTrigger,
  type CampaignUpdateLeadStep,
  type CampaignWaitForEventStep,
  type CampaignWaitStep,
  type CampaignWebhookStep,
  DEFAULT_EXIT_EVENTS,
} from './engine/types.js';
export {
  createUnsubscribeToken,
  type UnsubscribeClaims,
  type UnsubscribeRequest,
  type UnsubscribeResponse,
  unsubscribeUrl,
  verifyUnsubscribeToken,
} from './engine/unsubscribe.js';
export {
  createInProcessQueue,
  type InProcessCampaignQueue,
  type InProcessQueueOptions,
} from './queue/in-process-queue.js';
export { createMemoryCampaignStore, type MemoryCampaignStoreOptions } from './store/memory-campaign-store.js';

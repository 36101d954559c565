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
 *
 * Campaigns are written in TypeScript (`CampaignDefinition`, or
 * `defineCampaign`) or loaded from JSON/YAML (`loadCampaign`,
 * `loadCampaignFile`) and turned into the engine's shape with
 * `toEngineCampaign`. Sends go out inside sending windows in the recipient's
 * time zone (the schedule module) and templates render with strict liquidjs
 * (the templates module).
 */

export { mailboxLimits, recipientCalendar } from './definition/calendar.js';
export {
  CONDITION_OPERATORS,
  type Condition,
  type ConditionInput,
  type ConditionIssue,
  type ConditionOperator,
  type ConditionSubject,
  type ConditionValue,
  conditionBecameTrue,
  evaluateCondition,
  type FieldCondition,
  isFieldPath,
  type ParsedCondition,
  parseCondition,
  readField,
} from './definition/condition.js';
export {
  type CampaignSourceOptions,
  defineCampaign,
  type LoadCampaignOptions,
  loadCampaign,
  loadCampaignFile,
  parseCampaign,
} from './definition/load.js';
export { type EventMatch, eventMatches, parseEventMatch } from './definition/match.js';
export { type CampaignInput, formatPath } from './definition/schema.js';
export {
  type EngineCampaign,
  type ToEngineCampaignOptions,
  toEngineCampaign,
} from './definition/to-engine.js';
export {
  type BranchCampaignStep,
  type BranchStep,
  type Campaign,
  type CampaignCaps,
  type CampaignMailbox,
  type CampaignSender as DefinedCampaignSender,
  type CampaignStep as DefinedCampaignStep,
  type CampaignTrigger as DefinedCampaignTrigger,
  type ConditionTrigger,
  type CustomExitRule,
  type EmailCampaignStep,
  type EmailStep,
  type EmailTemplateSource,
  type EmailVariant,
  type EventTrigger,
  EXIT_REASONS,
  type ExitCampaignStep,
  type ExitReason,
  type ExitRule,
  type ExitStep,
  type NamedAddress,
  STEP_KINDS,
  type StepBase,
  type StepKind,
  type TemplateRef,
  type TimeTrigger,
  type UpdateCrmCampaignStep,
  type UpdateCrmStep,
  type UpdateLeadCampaignStep,
  type UpdateLeadStep,
  type WaitCampaignStep,
  type WaitForEventCampaignStep,
  type WaitForEventStep,
  type WaitStep,
  type WebhookCampaignStep,
  type WebhookStep,
} from './definition/types.js';
export { pickVariant, type WeightedVariant } from './definition/variants.js';
export {
  type CampaignTriggerSubscription,
  type CampaignTriggerSubscriptionOptions,
  subscribeCampaignTriggers,
} from './engine/bus-triggers.js';
export {
  type CampaignCustomEvent,
  type CampaignEngine,
  type CampaignEngineOptions,
  type CampaignLeadEvent,
  type CampaignRetryOptions,
  type CampaignReviewOutcome,
  createCampaignEngine,
  ledgerKeyOf,
  variantKeyOf,
} from './engine/engine.js';
export type { CampaignEngineEvents, EnrollmentEventBase } from './engine/events.js';
export {
  CampaignStepError,
  type CampaignStepErrorDetails,
  CampaignTelemetry,
} from './engine/observe.js';
export { type CampaignTiming, createScheduleTiming, sendingCalendarOf } from './engine/timing.js';
export {
  type CampaignBranchStep,
  type CampaignCondition,
  type CampaignCrmStep,
  type CampaignDefinition,
  type CampaignEmailStep,
  type CampaignEmailTemplate,
  type CampaignEmailVariant,
  type CampaignExitRule,
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
  END_OF_CAMPAIGN,
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
export {
  checkMailbox,
  type DeferralReason,
  type MailboxCheck,
  type MailboxCounters,
  type MailboxLimits,
  NO_SENDS,
  type PlannedSend,
  planSend,
  recordSend,
} from './schedule/caps.js';
export {
  assertCron,
  cronTimes,
  nextCronTime,
  nextTriggerTime,
  parseInstant,
  type TimeTriggerSpec,
} from './schedule/trigger-time.js';
export {
  addDuration,
  type DurationInput,
  type ParsedDuration,
  parseDuration,
  resolveUntil,
  resolveWait,
  type WaitSpec,
} from './schedule/wait.js';
export {
  addBusinessDays,
  BUSINESS_DAYS,
  isAllowedTime,
  isCalendarDate,
  isClockTime,
  localDate,
  nextAllowedTime,
  type SendingCalendar,
  type SendingWindow,
  startOfNextDay,
  WEEKDAYS,
  type Weekday,
} from './schedule/window.js';
export {
  assertTimeZone,
  COUNTRY_TIME_ZONES,
  isValidTimeZone,
  REGION_TIME_ZONES,
  type RecipientLocations,
  type RecipientTimeZone,
  recipientTimeZone,
  type TimeZoneSource,
  timeZoneOfLocation,
} from './schedule/zone.js';
export { campaignEraseTarget } from './store/erase-target.js';
export {
  type CampaignEraseCounts,
  createMemoryCampaignStore,
  type MemoryCampaignStore,
  type MemoryCampaignStoreOptions,
} from './store/memory-campaign-store.js';
export { TemplateError, type TemplateErrorReason, type TemplatePart } from './templates/errors.js';
export {
  type CompiledEmailTemplate,
  createTemplateRenderer,
  type EmailTemplate,
  leadTemplateVariables,
  type RenderedEmail,
  type RenderInput,
  type TemplateRenderer,
  type TemplateRendererOptions,
  UNSUBSCRIBE_URL_VARIABLE,
} from './templates/renderer.js';

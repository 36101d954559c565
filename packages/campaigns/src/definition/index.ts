/**
 * Campaign definitions: the zod schema of a campaign (trigger, audience, steps, exit rules, sender, windows,
 * holidays, caps), loading from TypeScript objects, JSON and YAML with errors that name the path, and the small
 * condition language (field, operator, value; `all` / `any`) with its pure evaluator.
 *
 * @module
 */
export { mailboxLimits, recipientCalendar } from './calendar.js';
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
} from './condition.js';
export {
  type CampaignSourceOptions,
  defineCampaign,
  type LoadCampaignOptions,
  loadCampaign,
  loadCampaignFile,
  parseCampaign,
} from './load.js';
export { type CampaignInput, formatPath } from './schema.js';
export {
  type BranchCampaignStep,
  type BranchStep,
  type Campaign,
  type CampaignCaps,
  type CampaignMailbox,
  type CampaignSender,
  type CampaignStep,
  type CampaignTrigger,
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
} from './types.js';
export { pickVariant, type WeightedVariant } from './variants.js';

/**
 * Campaign definitions: the zod schema of a campaign (trigger, audience, steps, exit rules, sender, windows,
 * holidays, caps), loading from TypeScript objects, JSON and YAML with errors that name the path, and the small
 * condition language (field, operator, value; `all` / `any`) with its pure evaluator.
 *
 * @module
 */
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
export {
  type BranchStep,
  type Campaign,
  type CampaignInput,
  type CampaignMailbox,
  type CampaignSender,
  type CampaignStep,
  type CampaignStepInput,
  type CampaignTrigger,
  campaignSchema,
  type EmailStep,
  EXIT_REASONS,
  type ExitReason,
  type ExitRule,
  type ExitStep,
  formatPath,
  STEP_KINDS,
  type StepKind,
  type UpdateCrmStep,
  type UpdateLeadStep,
  type WaitForEventStep,
  type WaitStep,
  type WebhookStep,
} from './schema.js';
export { pickVariant, type WeightedVariant } from './variants.js';

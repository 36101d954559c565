export type { CrmSyncEvent, CrmSyncEventMap, CrmSyncEventType } from './events.js';
export {
  type CrmConflictPolicy,
  type CrmFieldMapping,
  type CrmFieldMappingDefinition,
  type CrmFieldMappingEntry,
  type CrmFieldSource,
  type CrmIdPropertyMapping,
  defineFieldMapping,
  type MapLeadResult,
  mapLead,
} from './mapping.js';
export { redrive } from './redrive.js';
export { createCrmSync } from './sync.js';
export type {
  CrmLeadOutcome,
  CrmRedeliverOptions,
  CrmSync,
  CrmSyncOptions,
  CrmSyncReject,
  CrmSyncReport,
  CrmSyncRetryOptions,
  CrmSyncRunOptions,
  CrmSyncSession,
  CrmSyncTarget,
  CrmSyncTargetReport,
  CrmTargetOutcome,
} from './types.js';
export {
  type CrmEventDeduper,
  type CrmEventDeduperOptions,
  createCrmEventDeduper,
  type ParseCrmWebhookOptions,
  parseCrmWebhook,
} from './webhooks.js';

export type { CrmSyncEvent, CrmSyncEventType } from './events.js';
export {
  type CrmConflictPolicy,
  type CrmFieldMapping,
  type CrmFieldMappingDefinition,
  type CrmFieldMappingEntry,
  type CrmFieldSource,
  type CrmIdPropertyMapping,
  defineFieldMapping,
  isFieldMapping,
  type MapLeadResult,
  mapLead,
  normalizeCrmKey,
} from './mapping.js';
export {
  type CrmRedeliverOptions,
  type CrmSync,
  type CrmSyncOptions,
  type CrmSyncReject,
  type CrmSyncReport,
  type CrmSyncRetryOptions,
  type CrmSyncRunOptions,
  type CrmSyncTarget,
  type CrmSyncTargetReport,
  createCrmSync,
  redrive,
} from './sync.js';
export {
  type CrmEventDeduper,
  type CrmEventDeduperOptions,
  createCrmEventDeduper,
  type ParseCrmWebhookOptions,
  parseCrmWebhook,
} from './webhooks.js';

export type { CrmSyncEvent, CrmSyncEventMap, CrmSyncEventType } from './events.js';
export {
  type CrmFieldMapping,
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
  type CrmEventDeduperOptions,
  createCrmEventDeduper,
  type ParseCrmWebhookOptions,
  parseCrmWebhook,
} from './webhooks.js';

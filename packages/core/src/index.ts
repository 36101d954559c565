/**
 * @packageDocumentation
 * `@leadpipe/core`: what a host application uses to run its lead pipeline.
 * The contracts (the Lead model, `EnrichmentProviderV1`, `CrmAdapterV1`, the
 * stores, errors), the waterfall enrichment engine, CRM sync sessions, the
 * streaming pipeline with its readers, writers and reports, and the built-in
 * stores. Knows no vendor by name.
 *
 * Adapter authors import `@leadpipe/core/adapter-kit` instead: the contracts
 * plus the HTTP client, rate-limit header parsing, webhook verification and
 * the lead normalisers, without any orchestration.
 */

export * from './contracts/index.js';
export {
  type CrmEventDeduperOptions,
  type CrmFieldMapping,
  type CrmLeadOutcome,
  type CrmRedeliverOptions,
  type CrmSync,
  type CrmSyncEvent,
  type CrmSyncEventMap,
  type CrmSyncEventType,
  type CrmSyncOptions,
  type CrmSyncReject,
  type CrmSyncReport,
  type CrmSyncRetryOptions,
  type CrmSyncRunOptions,
  type CrmSyncSession,
  type CrmSyncTarget,
  type CrmSyncTargetReport,
  type CrmTargetOutcome,
  createCrmEventDeduper,
  createCrmSync,
  defineFieldMapping,
  type MapLeadResult,
  mapLead,
  type ParseCrmWebhookOptions,
  parseCrmWebhook,
  redrive,
} from './crm/index.js';
export {
  createEnrichmentEngine,
  type DefinedEnrichAnswer,
  type DefineProviderSettings,
  defineProvider,
  type EnrichManyOptions,
  type EnrichmentAttempt,
  type EnrichmentEngine,
  type EnrichmentEngineOptions,
  type EnrichmentEventName,
  type EnrichmentEvents,
  type EnrichmentListener,
  type EnrichmentOutcome,
  type EnrichmentStats,
  type EnrichmentStatus,
  type EnrichOptions,
  type LatencySummary,
  type MergePolicy,
  type ProviderDisabled,
  type ProviderSkipReason,
  type ProviderStats,
  type WaterfallStrategy,
} from './enrich/index.js';
export {
  type DeduplicatedHandler,
  type DeduplicateEventsOptions,
  deduplicateEvents,
} from './events/deduplicate-events.js';
export {
  createInProcessEventBus,
  type InProcessDeadLetter,
  type InProcessEventBus,
  type InProcessEventBusOptions,
} from './events/in-process-event-bus.js';
export { type EventLogTable, logEvents } from './events/log-events.js';
export {
  createMemoryOutboxPosition,
  createOutboxRelay,
  type OutboxEventPayload,
  type OutboxPositionStore,
  type OutboxRelay,
  type OutboxRelayOptions,
  outboxBusEvent,
} from './events/outbox-relay.js';
export { SafeEventBus } from './events/safe-event-bus.js';
export { topicMatches } from './kit/bus-events.js';
export { type CursorCodec, createCursorCodec } from './kit/cursor-codec.js';
export {
  type CrmChangesSettings,
  type DefineCrmAdapterSettings,
  type DefinedChangesPage,
  type DefinedCrmAdapter,
  type DefinedCrmAdapterOf,
  type DefinedCrmChanges,
  type DefinedCrmWebhooks,
  defineCrmAdapter,
} from './kit/define-crm-adapter.js';
export {
  deadLetterEraseTarget,
  type ErasableCache,
  type ErasableCheckpointStore,
  erasableCache,
  erasableCheckpointStore,
  mentionsEmail,
} from './kit/lead-store-erase.js';
export type { CheckedListChangesRequest } from './kit/request-checks.js';
export {
  type CompanyInput,
  type CreateLeadOptions,
  createLead,
  flattenLead,
  getLeadField,
  type LeadInput,
  leadIdentityKey,
  leadInputSchema,
  type SafeCreateLeadResult,
  safeCreateLead,
} from './lead/index.js';
export { stableJson } from './lead/stable-json.js';
export {
  type CircuitState,
  createLimiterRegistry,
  type LimiterEvent,
  type LimiterRegistry,
  type LimiterRegistryOptions,
  type LimiterStats,
  type ProviderLimiter,
  type RetryOptions,
  type ScheduleOptions,
} from './limits/index.js';
export {
  type ColumnMapping,
  type ColumnResolverOptions,
  type ColumnTarget,
  type CsvHeader,
  type CsvWriterOptions,
  checkIdentityColumns,
  createCsvWriter,
  createDuplicatesWriter,
  createLeadPipeline,
  createNdjsonWriter,
  createRejectsWriter,
  type DuplicateSink,
  type DuplicatesWriter,
  type DuplicatesWriterOptions,
  formatReport,
  isColumnTarget,
  type LeadPipeline,
  type LeadPipelineOptions,
  type LeadSink,
  type LeadWriterOptions,
  type MergedRow,
  type PipelineCounts,
  type PipelineCrmDeadLetter,
  type PipelineCrmEvents,
  type PipelineDeadLetter,
  type PipelineDeadLetterError,
  type PipelineEnrichmentDeadLetter,
  type PipelineEnrichmentError,
  type PipelineEventName,
  type PipelineEvents,
  type PipelineFinishedCounts,
  type PipelineProgress,
  type PipelineReject,
  type PipelineReport,
  type PipelineResult,
  type PipelineRun,
  type PipelineRunEvents,
  type PipelineRunOptions,
  type PipelineSource,
  type PipelineStage,
  type PipelineStoreOutcome,
  type PipelineStoreReport,
  type ReadCsvOptions,
  type ReadNdjsonOptions,
  type RejectedRow,
  type RejectSink,
  type RejectsWriter,
  type RejectsWriterOptions,
  type RowFileWriter,
  readCsv,
  readCsvHeader,
  readNdjson,
  type SinkEntry,
  type SourceRow,
} from './pipeline/index.js';
export {
  compactResultLog,
  createFileCheckpointStore,
  createFileDeadLetterQueue,
  createMemoryCache,
  createMemoryDeadLetterQueue,
  createMemoryLeadStore,
  type FileCheckpointStoreOptions,
  type FileDeadLetterQueue,
  type FileDeadLetterQueueOptions,
  type MemoryCacheOptions,
  type MemoryLeadStoreOptions,
  type ResultLogCompaction,
  type SpillingHash64IndexOptions,
} from './stores/index.js';
export {
  type ErrorReportContext,
  type ErrorReporter,
  type LeadpipeLogger,
  type LogMethod,
  type ObservabilityOptions,
  observeQueueDepth,
  type QueueDepthObservation,
  type QueueDepthSource,
  TELEMETRY_SCOPE,
  TELEMETRY_VERSION,
  TelemetryAttributes,
} from './telemetry/index.js';

export {
  type ColumnMapping,
  type ColumnResolver,
  type ColumnResolverOptions,
  type ColumnTarget,
  createColumnResolver,
  isColumnTarget,
  recogniseColumn,
} from './columns.js';
export type { PipelineEventName, PipelineEvents, PipelineProgress } from './events.js';
export { createFileCheckpointStore, type FileCheckpointStoreOptions } from './file-checkpoint-store.js';
export {
  createFileDeadLetterQueue,
  type FileDeadLetterQueue,
  type FileDeadLetterQueueOptions,
} from './file-dead-letter-queue.js';
export { type Hash64, Hash64Map, hash64 } from './hash-map.js';
export {
  createLeadPipeline,
  type LeadPipeline,
  type LeadPipelineOptions,
  PipelineAbortedError,
  type PipelineRun,
  type PipelineRunOptions,
  type PipelineSource,
} from './pipeline.js';
export {
  formatReport,
  type PipelineCounts,
  type PipelineDeadLetter,
  type PipelineDeadLetterError,
  type PipelineReject,
  type PipelineReport,
  type PipelineResult,
  type PipelineStage,
  type RejectedRow,
  type RejectSink,
} from './report.js';
export { compressRows, RowRanges } from './row-ranges.js';
export {
  type CsvWriterOptions,
  createCsvWriter,
  createNdjsonWriter,
  createRejectsWriter,
  type LeadSink,
  type LeadWriterOptions,
  REJECT_COLUMNS,
  type RejectsWriter,
  type RejectsWriterOptions,
  type SinkEntry,
} from './sinks.js';
export {
  createSourceRow,
  isSourceRow,
  type ReadCsvOptions,
  type ReadNdjsonOptions,
  readCsv,
  readNdjson,
  type SourceRow,
} from './source.js';
export { SpillingHash64Index, type SpillingHash64IndexOptions } from './spilling-index.js';

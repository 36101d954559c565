export {
  type ColumnMapping,
  type ColumnResolverOptions,
  type ColumnTarget,
  checkIdentityColumns,
  isColumnTarget,
} from './columns.js';
export {
  createDuplicatesWriter,
  type DuplicateSink,
  type DuplicatesWriter,
  type DuplicatesWriterOptions,
  type MergedRow,
} from './duplicates-writer.js';
export type {
  PipelineCrmEvents,
  PipelineEventName,
  PipelineEvents,
  PipelineProgress,
  PipelineRunEvents,
} from './events.js';
export { createLeadPipeline } from './pipeline.js';
export {
  formatReport,
  type PipelineCounts,
  type PipelineCrmDeadLetter,
  type PipelineDeadLetter,
  type PipelineDeadLetterError,
  type PipelineEnrichmentDeadLetter,
  type PipelineEnrichmentError,
  type PipelineFinishedCounts,
  type PipelineReject,
  type PipelineReport,
  type PipelineResult,
  type PipelineStage,
  type PipelineStoreOutcome,
  type PipelineStoreReport,
  type RejectedRow,
  type RejectSink,
} from './report.js';
export {
  type CsvWriterOptions,
  createCsvWriter,
  createNdjsonWriter,
  createRejectsWriter,
  type LeadSink,
  type LeadWriterOptions,
  type RejectsWriter,
  type RejectsWriterOptions,
  type RowFileWriter,
  type SinkEntry,
} from './sinks.js';
export {
  type CsvHeader,
  type ReadCsvOptions,
  type ReadNdjsonOptions,
  readCsv,
  readCsvHeader,
  readNdjson,
  type SourceRow,
} from './source.js';
export type {
  LeadPipeline,
  LeadPipelineOptions,
  PipelineRun,
  PipelineRunOptions,
  PipelineSource,
} from './types.js';

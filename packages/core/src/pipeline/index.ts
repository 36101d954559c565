export {
  type ColumnMapping,
  type ColumnResolver,
  type ColumnResolverOptions,
  type ColumnTarget,
  checkIdentityColumns,
  createColumnResolver,
  isColumnTarget,
  recogniseColumn,
} from './columns.js';
export type { PipelineEventName, PipelineEvents, PipelineProgress } from './events.js';
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
  type CsvHeader,
  createSourceRow,
  isSourceRow,
  type ReadCsvOptions,
  type ReadNdjsonOptions,
  readCsv,
  readCsvHeader,
  readNdjson,
  type SourceRow,
} from './source.js';

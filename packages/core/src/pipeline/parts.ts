// What a pipeline is built from and hands each of its runs: its settings, the dedupe table, the
// engine, the column resolver, the rejects and duplicates sinks, the event bus (logged through the
// observer), the dead-letter queue and the CRM and store stages. createLeadPipeline (pipeline.ts)
// builds them once; every run (run.ts, scheduler.ts) uses them.
import type { DeadLetterQueue } from '../contracts/dead-letter-queue.js';
import type { CrmSyncEvent } from '../crm/index.js';
import type { EnrichmentEngine } from '../enrich/index.js';
import { type EventLogTable, logEvents } from '../events/log-events.js';
import { SafeEventBus } from '../events/safe-event-bus.js';
import { createMemoryDeadLetterQueue } from '../stores/memory-dead-letter-queue.js';
import type { SpillingHash64Index } from '../stores/spilling-index.js';
import { createObserver, type Observer } from '../telemetry/index.js';
import type { RunAnswerCache } from './answer-cache.js';
import { type ColumnResolver, createColumnResolver } from './columns.js';
import { type CrmStage, createCrmStage } from './crm-stage.js';
import type { DuplicateSink, DuplicatesWriter } from './duplicates-writer.js';
import type { PipelineEvents } from './events.js';
import type { PipelineSettings } from './options.js';
import type { RejectSink } from './report.js';
import type { RejectsWriter } from './sinks.js';
import { createStoreStage, type StoreStage } from './store-stage.js';
import type { LeadPipelineOptions } from './types.js';

/** How pipeline events are logged when a `logger` is given (CRM and engine events are logged by those). */
const PIPELINE_LOG_TABLE: EventLogTable<PipelineEvents> = {
  'pipeline.started': ['info', 'pipeline run started'],
  'pipeline.finished': ['info', 'pipeline run finished'],
  'row.rejected': ['debug', 'row rejected', ['issues', 'row']],
  'row.deadLettered': ['warn', 'row dead-lettered'],
};

/** What a pipeline is made of, built once and shared by its runs. */
export interface PipelineParts {
  /** The checked options. */
  readonly settings: PipelineSettings;
  /** The dedupe table. */
  readonly dedupe: SpillingHash64Index;
  /** The enrichment engine, when the pipeline enriches. */
  readonly engine: EnrichmentEngine | undefined;
  /** The engine's answer cache, which a run's checkpoint result log is attached to (own engine only). */
  readonly answers: RunAnswerCache | undefined;
  /** Maps a row's headers to lead paths. */
  readonly resolver: ColumnResolver;
  /** The rejects file, when `rejects` is one (a resumed run cuts it back). */
  readonly rejectsFile: RejectsWriter | undefined;
  /** Where rejected rows go: the `rejects` function or the rejects file's `write`. */
  readonly rejectSink: RejectSink | undefined;
  /** The duplicates file, when `duplicates` is one (a resumed run cuts it back). */
  readonly duplicatesFile: DuplicatesWriter | undefined;
  /** Where merged rows are named: the `duplicates` function or the duplicates file's `write`. */
  readonly duplicateSink: DuplicateSink | undefined;
  /** The pipeline's own events, and the CRM sync's under their own names. */
  readonly bus: SafeEventBus<PipelineEvents>;
  /** The logger and error hook. */
  readonly observer: Observer;
  /** Where dead-lettered records go. */
  readonly deadLetters: DeadLetterQueue;
  /** The CRM stage, when CRMs are configured. */
  readonly crm: CrmStage | undefined;
  /** The lead store stage, when a `store` is configured. */
  readonly storeStage: StoreStage | undefined;
  /** Whether a run is under way: one at a time per pipeline. */
  running: boolean;
}

/** Build the parts of a pipeline from its options and the engine it runs with. */
export function createPipelineParts(
  options: LeadPipelineOptions,
  settings: PipelineSettings,
  dedupe: SpillingHash64Index,
  parts: {
    readonly engine: EnrichmentEngine | undefined;
    readonly answers: RunAnswerCache | undefined;
  },
): PipelineParts {
  const { engine, answers } = parts;
  const resolver = createColumnResolver({
    ...(options.columns ? { columns: options.columns } : {}),
    ...(options.unmappedColumns ? { unmapped: options.unmappedColumns } : {}),
  });
  const { now } = settings;
  const rejectsFile = typeof options.rejects === 'object' ? options.rejects : undefined;
  const rejectSink: RejectSink | undefined =
    typeof options.rejects === 'function' ? options.rejects : rejectsFile?.write;
  const duplicatesFile = typeof options.duplicates === 'object' ? options.duplicates : undefined;
  const duplicateSink: DuplicateSink | undefined =
    typeof options.duplicates === 'function' ? options.duplicates : duplicatesFile?.write;
  const bus = new SafeEventBus<PipelineEvents>(options.onListenerError);
  const observer = createObserver(options);
  logEvents(bus, observer, PIPELINE_LOG_TABLE);
  const deadLetters = settings.deadLetters ?? createMemoryDeadLetterQueue();
  const crm: CrmStage | undefined =
    settings.crms.length === 0
      ? undefined
      : createCrmStage({
          crms: settings.crms,
          crmOptions: { logger: options.logger, onError: options.onError, ...settings.crmOptions },
          deadLetters,
          onEvent: (event: CrmSyncEvent) => {
            // Each CRM event under its own name, its payload the event.
            if (bus.hasListeners(event.type)) bus.emit(event.type, event as never);
          },
        });
  const storeStage: StoreStage | undefined =
    settings.store === undefined ? undefined : createStoreStage({ store: settings.store, deadLetters, now });
  return {
    settings,
    dedupe,
    engine,
    answers,
    resolver,
    rejectsFile,
    rejectSink,
    duplicatesFile,
    duplicateSink,
    bus,
    observer,
    deadLetters,
    crm,
    storeStage,
    running: false,
  };
}

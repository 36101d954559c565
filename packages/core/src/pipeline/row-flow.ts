// The flow of one row through a run's stages: number it, ask the checkpoint whether an earlier run
// finished it, admit it (reject, skip, fold a duplicate, or make a task), enrich its lead, then hand
// it to the CRM and store batches (batch-write.ts) or finish it as done. The scheduler loop
// (scheduler.ts) decides when a row is read; this module decides where it goes next.
import type { Lead } from '../contracts/lead.js';
import type { EnrichmentEngine, EnrichmentStatus } from '../enrich/index.js';
import { hash64 } from '../stores/hash-map.js';
import type { SpillingHash64Index } from '../stores/spilling-index.js';
import { admitRow, type Row, toRow } from './admission.js';
import type { ColumnResolver } from './columns.js';
import type { CrmBatchBuffer } from './crm-stage.js';
import { enrichLead } from './enrichment-stage.js';
import type { FinishedRows } from './finished-rows.js';
import type { RunLedger } from './ledger.js';
import type { PipelineSettings } from './options.js';
import type { StoreStageOutcome } from './store-stage.js';
import type { TerminalWriter } from './terminal-writer.js';

/** A lead on its way through the stages, with the row it came from. */
export interface Task {
  readonly row: Row;
  readonly lead: Lead;
  readonly enrichment?: EnrichmentStatus;
}

/** What a run has in flight: counted by the stages as work starts and ends, read by the scheduler loop. */
export interface RunLoad {
  /** Rows read and not yet in a terminal state (the terminal writer's `onSettled` counts them down). */
  inFlight: number;
  /** Leads the engine is enriching. */
  enriching: number;
  /** Batches being written to the CRMs and the store. */
  syncing: number;
}

/** What the row flow of one run works with. */
export interface RowFlowContext {
  /** The run's settings (`defaultCountry`, `fields`, `now`). */
  readonly settings: PipelineSettings;
  /** The run's cancellation (the caller's, a failure's or the iteration's). */
  readonly signal: AbortSignal;
  /** The signal enrichments run under: the run's, after `abortGraceMs`. */
  readonly engineSignal: AbortSignal;
  /** The enrichment engine, when the pipeline enriches. */
  readonly engine: EnrichmentEngine | undefined;
  /** Maps a row's headers to lead paths. */
  readonly resolver: ColumnResolver;
  /** The dedupe table: the first row number of each identity. */
  readonly dedupe: SpillingHash64Index;
  /** Where a row's terminal state goes. */
  readonly writer: TerminalWriter;
  /** The run's counts. */
  readonly ledger: RunLedger;
  /** The CRM and store batches, when the run writes to either; without them a lead is done once enriched. */
  readonly batches: CrmBatchBuffer<Task> | undefined;
  /** The rows the checkpoint says an earlier run finished, when the run has a checkpoint. */
  readonly finishedRows: FinishedRows | undefined;
  /** What is in flight; the flow counts rows read and leads enriching. */
  readonly load: RunLoad;
  /** Wake the scheduler loop: something it waits for changed. */
  readonly wake: () => void;
  /** Fail the run. */
  readonly fail: (error: unknown) => void;
}

/** Moves each row of one run from the source to its terminal state or to the batches. */
export class RowFlow {
  readonly #ctx: RowFlowContext;
  /** Rows numbered so far: the source's position. */
  #position = 0;

  /** @param ctx - what the flow works with. */
  constructor(ctx: RowFlowContext) {
    this.#ctx = ctx;
  }

  /** Number a value read from the source, ask the checkpoint whether it was finished, admit it. */
  async take(value: unknown): Promise<void> {
    const { finishedRows, fail } = this.#ctx;
    try {
      this.#position += 1;
      const row = toRow(value, this.#position);
      const finished = finishedRows ? await finishedRows.has(row.rowNumber) : false;
      this.#accept(row, finished);
    } catch (error) {
      fail(error);
    }
  }

  /** Finish `task` as done, with what the store did with it (when it has one). */
  done(task: Task, stored?: StoreStageOutcome): void {
    this.#ctx.writer.finish(
      {
        status: 'done',
        rowNumber: task.row.rowNumber,
        lead: task.lead,
        ...(task.enrichment === undefined ? {} : { enrichment: task.enrichment }),
        ...(stored?.kind === 'stored' ? { store: { status: stored.status, id: stored.id } } : {}),
      },
      task.row,
    );
  }

  #toCrm(task: Task): void {
    const { batches } = this.#ctx;
    if (batches) batches.add(task);
    else this.done(task);
  }

  #enrich(task: Task, enrichmentEngine: EnrichmentEngine): void {
    const { load, settings, engineSignal, ledger, signal, writer, wake } = this.#ctx;
    load.enriching += 1;
    enrichLead(enrichmentEngine, task.lead, { fields: settings.fields, signal: engineSignal })
      .then((outcome) => {
        // "Enriched" means the lead gained a field; a lead no provider knew is only done.
        if (outcome.kind === 'enriched' && (outcome.status === 'enriched' || outcome.status === 'partial'))
          ledger.enriched();
        if (signal.aborted || outcome.kind === 'aborted') {
          writer.unfinished();
        } else if (outcome.kind === 'enriched') {
          this.#toCrm({ row: task.row, lead: outcome.lead, enrichment: outcome.status });
        } else {
          writer.finish(
            {
              status: 'deadLettered',
              rowNumber: task.row.rowNumber,
              leadId: task.lead.id,
              lead: task.lead,
              stage: 'enrich',
              error: outcome.error,
            },
            task.row,
          );
        }
      })
      .finally(() => {
        load.enriching -= 1;
        wake();
      });
  }

  #accept(row: Row, finished: boolean): void {
    const { load, ledger, resolver, settings, dedupe, writer, engine } = this.#ctx;
    const { now } = settings;
    load.inFlight += 1;
    ledger.read();
    const admission = admitRow(row, {
      resolver,
      defaultCountry: settings.defaultCountry,
      now: new Date(now()),
      finished,
      firstRowOf: (identity, rowNumber) => dedupe.setIfAbsent(hash64(identity), rowNumber),
    });
    switch (admission.kind) {
      case 'rejected':
        writer.finish(
          {
            status: 'rejected',
            rowNumber: row.rowNumber,
            ...(row.line === undefined ? {} : { line: row.line }),
            stage: admission.stage,
            issues: admission.issues,
          },
          row,
        );
        return;
      case 'skipped':
        writer.finish({ status: 'skipped', rowNumber: row.rowNumber }, row);
        return;
      case 'duplicate':
        ledger.validated();
        writer.finish(
          {
            status: 'done',
            rowNumber: row.rowNumber,
            lead: admission.lead,
            duplicateOf: admission.duplicateOf,
          },
          row,
        );
        return;
      case 'task': {
        ledger.validated();
        const task: Task = { row, lead: admission.lead };
        if (engine) this.#enrich(task, engine);
        else this.#toCrm(task);
      }
    }
  }
}

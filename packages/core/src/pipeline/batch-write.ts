// The write of one batch of a run to its CRMs and its lead store at once, and how each lead of it
// ends from both outcomes: dead-lettered when either dead-lettered it (a CRM's dead letter names the
// stage `crm`), else rejected when either refused it, else done (synced, stored).

import type { CrmStageSession } from './crm-stage.js';
import type { RunLedger } from './ledger.js';
import type { PipelineDeadLetterError } from './report.js';
import type { RunLoad, Task } from './row-flow.js';
import type { StoreStage, StoreStageOutcome } from './store-stage.js';
import type { TerminalWriter } from './terminal-writer.js';

/** What a batch write of one run works with. */
export interface BatchWriteContext {
  /** The run's cancellation: a write that fails after it fired does not fail the run again. */
  readonly signal: AbortSignal;
  /** Where each lead's terminal state goes. */
  readonly writer: TerminalWriter;
  /** The run's counts (stored, synced). */
  readonly ledger: RunLedger;
  /** What is in flight; a batch write counts itself in `syncing`. */
  readonly load: RunLoad;
  /** Wake the scheduler loop once the write ended. */
  readonly wake: () => void;
  /** Fail the run. */
  readonly fail: (error: unknown) => void;
  /** Finish a lead as done, with what the store did with it. */
  readonly done: (task: Task, stored?: StoreStageOutcome) => void;
}

/** Write a batch to the CRMs and the store at once; each lead ends in one state from both outcomes. */
export function startBatch(
  ctx: BatchWriteContext,
  tasks: Task[],
  crmSession: CrmStageSession | undefined,
  storeSession: StoreStage | undefined,
): void {
  const { signal, writer, ledger, load, wake, fail, done } = ctx;
  load.syncing += 1;
  const leads = tasks.map((task) => task.lead);
  Promise.all([crmSession?.write(leads), storeSession?.write(leads)])
    .then(
      ([crmOutcomes, storeOutcomes]) => {
        tasks.forEach((task, index) => {
          const outcome = crmOutcomes?.[index] ?? { kind: 'written' };
          const stored = storeOutcomes?.[index];
          if (stored !== undefined) {
            ledger.stored(
              stored.kind === 'stored' ? stored.status : stored.kind === 'rejected' ? 'rejected' : 'failed',
            );
          }
          const { row } = task;
          if (outcome.kind === 'deadLettered' || stored?.kind === 'deadLettered') {
            const errors: PipelineDeadLetterError[] = [
              ...(outcome.kind === 'deadLettered' ? outcome.errors : []),
              ...(stored?.kind === 'deadLettered' ? [stored.error] : []),
            ];
            writer.finish(
              {
                status: 'deadLettered',
                rowNumber: row.rowNumber,
                leadId: task.lead.id,
                lead: task.lead,
                stage: outcome.kind === 'deadLettered' ? 'crm' : 'store',
                errors,
              },
              row,
            );
          } else if (outcome.kind === 'rejected' || stored?.kind === 'rejected') {
            writer.finish(
              {
                status: 'rejected',
                rowNumber: row.rowNumber,
                ...(row.line === undefined ? {} : { line: row.line }),
                stage: outcome.kind === 'rejected' ? 'crm' : 'store',
                issues: [
                  ...(outcome.kind === 'rejected' ? outcome.issues : []),
                  ...(stored?.kind === 'rejected' ? stored.issues : []),
                ],
              },
              row,
            );
          } else {
            if (crmSession) ledger.synced();
            done(task, stored);
          }
        });
      },
      (error: unknown) => {
        if (!signal.aborted) fail(error);
        for (const _task of tasks) writer.unfinished();
      },
    )
    .finally(() => {
      load.syncing -= 1;
      wake();
    });
}

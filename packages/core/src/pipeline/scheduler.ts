// The scheduler loop of one run: reads a row while there is room (fewer than `concurrency` leads
// enriching, fewer than the in-flight window of rows), starts a CRM and store batch when one is full
// or cannot fill, and sleeps until a stage wakes it; then closes the CRM session, waits for the
// terminal writer and flushes the checkpoint. Where each row goes is the row flow's (row-flow.ts);
// how a batch ends, batch-write.ts's.
import type { Checkpoint } from '../contracts/checkpoint-store.js';
import { type BatchWriteContext, startBatch } from './batch-write.js';
import { CrmBatchBuffer } from './crm-stage.js';
import { enrichmentSignal } from './enrichment-stage.js';
import { FinishedRows } from './finished-rows.js';
import type { RunLedger } from './ledger.js';
import type { PipelineParts } from './parts.js';
import type { PipelineFinishedCounts } from './report.js';
import type { ResultChannel } from './result-channel.js';
import { RowFlow, type RunLoad, type Task } from './row-flow.js';
import type { LeadSink } from './sinks.js';
import { TerminalWriter } from './terminal-writer.js';

/** What the scheduler loop of one run works with. */
export interface SchedulerContext {
  /** The pipeline's parts: settings, stages, sinks, bus. */
  readonly parts: PipelineParts;
  /** The run's cancellation (the caller's, a failure's or the iteration's). */
  readonly signal: AbortSignal;
  /** The source, pulled one row at a time. */
  readonly iterator: AsyncIterator<unknown> | Iterator<unknown>;
  /** Where done leads go. */
  readonly output: LeadSink | undefined;
  /** The run's counts. */
  readonly ledger: RunLedger;
  /** Where each row's result goes, when the run is iterated. */
  readonly channel: ResultChannel | undefined;
  /** Whether the run failed. */
  readonly failed: () => boolean;
  /** Fail the run. */
  readonly fail: (error: unknown) => void;
  /** The source threw: rows already read still finish, then the run fails with the source's error. */
  readonly sourceFailed: (error: unknown) => void;
}

/** The scheduler loop: reads rows while there is room, and moves each one through the stages. */
export async function driveRun(
  ctx: SchedulerContext,
  preRead: unknown[],
  checkpoint: Checkpoint | undefined,
  finishedBefore: PipelineFinishedCounts,
): Promise<void> {
  const { parts, signal, iterator, output, ledger, channel, failed, fail } = ctx;
  const { settings, crm, storeStage, bus } = parts;
  const { now, concurrency, batchSize, batchConcurrency, fields } = settings;
  const maxInFlight = concurrency + batchSize * (batchConcurrency + 1);
  const load: RunLoad = { inFlight: 0, enriching: 0, syncing: 0 };
  let reading = false;
  let sourceDone = false;
  let wakeUp: (() => void) | undefined;
  let woken = false;

  const wake = (): void => {
    woken = true;
    const resolve = wakeUp;
    wakeUp = undefined;
    resolve?.();
  };
  const sleep = async (): Promise<void> => {
    if (!woken) await new Promise<void>((resolve) => (wakeUp = resolve));
    woken = false;
  };
  signal.addEventListener('abort', wake, { once: true });

  const finishedRows = checkpoint ? new FinishedRows(checkpoint) : undefined;
  const engineSignal = enrichmentSignal(signal, settings.abortGraceMs);
  const writer = new TerminalWriter({
    output,
    rejects: parts.rejectSink,
    duplicates: parts.duplicateSink,
    files: { output, rejects: parts.rejectsFile, duplicates: parts.duplicatesFile },
    finishedBefore,
    fields,
    ledger,
    bus,
    channel,
    checkpoint,
    checkpointEvery: settings.checkpointEvery,
    now,
    failed,
    onFailure: fail,
    onSettled: () => {
      load.inFlight -= 1;
      wake();
    },
  });
  // One CRM session for the run: a CRM found down stays down for every later batch.
  const session = crm && !settings.dryRun ? crm.open(signal) : undefined;
  const storeWrites = settings.dryRun ? undefined : storeStage;
  if (storeWrites) ledger.expectStore();
  const batches = session || storeWrites ? new CrmBatchBuffer<Task>(settings.batchLingerMs, wake) : undefined;
  const rows = new RowFlow({
    settings,
    signal,
    engineSignal: engineSignal.signal,
    engine: parts.engine,
    resolver: parts.resolver,
    dedupe: parts.dedupe,
    writer,
    ledger,
    batches,
    finishedRows,
    load,
    wake,
    fail,
  });
  const batchWrite: BatchWriteContext = {
    signal,
    writer,
    ledger,
    load,
    wake,
    fail,
    done: (task, stored) => rows.done(task, stored),
  };

  for (const value of preRead) await rows.take(value);

  for (;;) {
    const stopping = signal.aborted || failed();
    if (!stopping && !sourceDone && !reading && load.enriching < concurrency && load.inFlight < maxInFlight) {
      reading = true;
      Promise.resolve(iterator.next())
        .then(
          async (item) => {
            if (item.done) sourceDone = true;
            else if (!signal.aborted) await rows.take(item.value);
          },
          (error: unknown) => {
            // Rows already read still finish; the run then fails with the source's error.
            sourceDone = true;
            ctx.sourceFailed(error);
          },
        )
        .finally(() => {
          reading = false;
          wake();
        });
    }
    if (batches) {
      if (stopping) {
        for (const _task of batches.clear()) writer.unfinished();
      } else {
        while (batches.length >= batchSize && load.syncing < batchConcurrency) {
          startBatch(batchWrite, batches.take(batchSize), session, storeWrites);
        }
        const cannotFill =
          load.enriching === 0 && (sourceDone || load.inFlight >= maxInFlight || batches.lingerExpired);
        if (batches.length > 0 && load.syncing < batchConcurrency && (cannotFill || batches.lingerExpired)) {
          startBatch(batchWrite, batches.take(batchSize), session, storeWrites);
        }
      }
    }
    if (
      (sourceDone || stopping) &&
      !reading &&
      load.inFlight === 0 &&
      load.syncing === 0 &&
      load.enriching === 0
    )
      break;
    await sleep();
  }
  batches?.clear();
  engineSignal.dispose();
  if (session) {
    try {
      ledger.crmReports(await session.close());
    } catch (error) {
      // A session that was aborted or failed rejects with that cause, which the run already has;
      // its report still says what reached each CRM before it stopped.
      ledger.crmReports(session.report());
      if (!signal.aborted) fail(error);
    }
  }
  await writer.idle();
  if (!sourceDone) {
    try {
      await iterator.return?.();
    } catch {
      // The source failed to close after the run stopped; nothing more to do with it.
    }
  }
  if (checkpoint && !failed()) {
    await writer.flushCheckpoint();
  } else if (checkpoint) {
    // Keep what finished before the failure, so a resume does not do it again.
    try {
      await writer.flushCheckpoint();
    } catch {
      // The original failure is the one to report.
    }
  }
}

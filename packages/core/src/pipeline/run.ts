// One run of a pipeline, from `run(source)` to its report: the checks, the run's ledger and
// cancellation, the `leadpipe.pipeline.run` span, the checkpoint (fingerprint, open, answer log,
// cutting the sinks back on a resume) around the scheduler loop (scheduler.ts), the closing of
// what the run opened, the final status and report, and the run handle (thenable, iterable).
import type { Checkpoint } from '../contracts/checkpoint-store.js';
import { ConfigurationError, PipelineAbortedError } from '../contracts/errors.js';
import type { EnrichmentStats } from '../enrich/index.js';
import {
  errorTypeOf,
  markSpanFailed,
  startRunSpan,
  TelemetryAttributes,
  withSpan,
} from '../telemetry/index.js';
import { cutBackSinks, NO_ROWS_FINISHED } from './checkpoint-state.js';
import { RunLedger, subtractStats } from './ledger.js';
import type { PipelineParts } from './parts.js';
import type { PipelineFinishedCounts, PipelineReport } from './report.js';
import { ResultChannel } from './result-channel.js';
import { fingerprintOf, iteratorOf } from './run-source.js';
import { driveRun } from './scheduler.js';
import type { PipelineRun, PipelineRunOptions, PipelineSource } from './types.js';

/** Start a run of the pipeline made of `parts` over `source` (see {@link LeadPipeline.run}). */
export function startRun(
  parts: PipelineParts,
  source: PipelineSource,
  runOptions: PipelineRunOptions = {},
): PipelineRun {
  const { settings, dedupe, engine, answers, bus, observer } = parts;
  const { now, concurrency } = settings;
  if (runOptions.resume === true && settings.checkpoints === undefined) {
    throw new ConfigurationError('invalid_configuration', {
      issues: [
        {
          field: 'resume',
          reason: 'needs the pipeline option checkpoints (such as createFileCheckpointStore(path))',
        },
      ],
      message: 'run: resume needs the pipeline option checkpoints (such as createFileCheckpointStore(path))',
    });
  }
  const iterator = iteratorOf(source);
  const controller = new AbortController();
  const userSignal = runOptions.signal;
  const output = runOptions.output;
  const ledger = new RunLedger({
    startedAt: now(),
    maxReportedRows: settings.maxReportedRows,
    dryRun: settings.dryRun,
    progressIntervalMs: settings.progressIntervalMs,
  });
  let statsBefore: EnrichmentStats | undefined;
  let finalReport: PipelineReport | undefined;
  let status: PipelineReport['status'] = 'completed';
  let failure: unknown;
  let sourceError: unknown;
  let stoppedByCaller = false;
  let resumed = false;
  let channel: ResultChannel | undefined;
  let started: Promise<PipelineReport> | undefined;

  const fail = (error: unknown): void => {
    failure ??= error;
    controller.abort(error);
  };

  function snapshot(): PipelineReport {
    if (finalReport) return finalReport;
    return ledger.report({
      now: now(),
      status,
      resumed,
      providers: engine ? subtractStats(engine.stats(), statsBefore) : {},
      reusedAnswers: answers?.reused() ?? 0,
      error: failure ?? sourceError,
    });
  }

  /** The run inside a `leadpipe.pipeline.run` span (the engine's and CRM sync's spans nest under it). */
  async function traced(): Promise<PipelineReport> {
    const span = startRunSpan('leadpipe.pipeline.run');
    try {
      const report = await withSpan(span, execute);
      span.setAttribute(TelemetryAttributes.outcome, report.status);
      return report;
    } catch (error) {
      const type = markSpanFailed(span, error);
      if (!PipelineAbortedError.isInstance(error)) {
        observer.report(
          error instanceof Error ? error : new Error(`pipeline run failed (${errorTypeOf(error)})`),
          { component: 'pipeline', code: type },
        );
      }
      throw error;
    } finally {
      span.end();
    }
  }

  async function execute(): Promise<PipelineReport> {
    if (parts.running) {
      const error = new ConfigurationError('invalid_configuration', {
        message: 'run: this pipeline is already running; wait for the run to end or create another pipeline',
      });
      // An iterated run ends its results with the error too, rather than never yielding.
      channel?.end(error);
      throw error;
    }
    parts.running = true;
    const onAbort = (): void => {
      stoppedByCaller = true;
      controller.abort(userSignal?.reason);
    };
    if (userSignal?.aborted) onAbort();
    userSignal?.addEventListener('abort', onAbort, { once: true });
    let checkpoint: Checkpoint | undefined;
    let detachResults: (() => void) | undefined;
    let finishedBefore: PipelineFinishedCounts = NO_ROWS_FINISHED;
    try {
      statsBefore = engine?.stats();
      const preRead: unknown[] = [];
      if (settings.checkpoints) {
        let fingerprint = runOptions.fingerprint;
        if (fingerprint === undefined) {
          while (preRead.length < settings.fingerprintRows) {
            const item = await iterator.next();
            if (item.done) break;
            preRead.push(item.value);
          }
          fingerprint = fingerprintOf(preRead);
        }
        checkpoint = await settings.checkpoints.open({
          fingerprint,
          resume: runOptions.resume === true,
          fresh: runOptions.fresh === true,
        });
        resumed = checkpoint.resumed;
        detachResults = answers?.attach(checkpoint.results);
        if (runOptions.resume === true) {
          // Before anything is written: rows past the last flush are done again, so they must not stay.
          finishedBefore = await cutBackSinks(checkpoint, {
            output,
            rejects: parts.rejectsFile,
            duplicates: parts.duplicatesFile,
          });
          ledger.carry(finishedBefore);
        }
      }
      bus.emit('pipeline.started', { resumed, finishedBefore: checkpoint?.finishedBefore ?? 0 });
      await driveRun(
        {
          parts,
          signal: controller.signal,
          iterator,
          output,
          ledger,
          channel,
          failed: () => failure !== undefined,
          fail,
          sourceFailed: (error) => {
            sourceError ??= error;
          },
        },
        preRead,
        checkpoint,
        finishedBefore,
      );
    } catch (error) {
      failure ??= error;
    } finally {
      userSignal?.removeEventListener('abort', onAbort);
      try {
        await output?.close?.();
      } catch (error) {
        failure ??= error;
      }
      try {
        await checkpoint?.close();
      } catch (error) {
        failure ??= error;
      }
      try {
        dedupe.close();
      } catch (error) {
        failure ??= error;
      }
      detachResults?.();
      parts.running = false;
    }
    failure ??= sourceError;
    if (stoppedByCaller) status = 'aborted';
    else if (failure !== undefined) status = 'failed';
    const report = snapshot();
    finalReport = report;
    bus.emit('pipeline.progress', ledger.progress(now()));
    bus.emit('pipeline.finished', { status: report.status, counts: report.counts });
    if (status === 'aborted') {
      const error = new PipelineAbortedError(report, userSignal?.reason ?? controller.signal.reason);
      channel?.end(error);
      throw error;
    }
    if (failure !== undefined) {
      channel?.end(failure);
      throw failure;
    }
    channel?.end();
    return report;
  }

  function start(): Promise<PipelineReport> {
    if (!started) {
      started = traced();
      started.catch(() => undefined);
    }
    return started;
  }

  return {
    // biome-ignore lint/suspicious/noThenProperty: a run is deliberately thenable (PromiseLike<PipelineReport>).
    then(onFulfilled, onRejected) {
      return start().then(onFulfilled, onRejected);
    },
    [Symbol.asyncIterator]() {
      if (started && !channel) {
        throw new ConfigurationError('invalid_configuration', {
          message: 'run: iterate the run before awaiting it; its results were not kept',
        });
      }
      channel ??= new ResultChannel(concurrency);
      const results = channel;
      start();
      return {
        next: () => results.next(),
        return: async () => {
          results.cancel();
          if (!finalReport) {
            stoppedByCaller = true;
            controller.abort(new Error('iteration stopped'));
          }
          try {
            await started;
          } catch {
            // The run's outcome is reported by awaiting it.
          }
          return { value: undefined, done: true };
        },
      };
    },
    snapshot,
  };
}

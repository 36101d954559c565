import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { createDistributedRun, type DistributedRunProgress } from '@leadpipe/bullmq';
import type { PipelineProgress } from '@leadpipe/core';
import { inputProblems, openOutput, openRejects, readInput } from './files.js';
import { type CliIo, EXIT_CODES, type ExitCode, removeIfEmpty, writeJsonReport } from './io.js';
import { count, type ProgressDisplay, type ProgressExtras } from './progress.js';
import type { SubmitCommandOptions } from './submit-args.js';

/** The report of `leadpipe submit` (`--report`): a distributed run, as this command saw it. */
interface DistributedRunReport {
  /** `completed` (every batch recorded), `failed` (some batches failed every attempt), `following-stopped` (Ctrl-C: the run goes on). */
  readonly status: 'completed' | 'failed' | 'following-stopped';
  /** The run. */
  readonly runId: string;
  /** Batches and rows submitted, and how many batches were enqueued by this command (the rest were there already). */
  readonly submitted: { readonly batches: number; readonly rows: number; readonly enqueued: number };
  /** Rows by terminal state over the whole run (every submit of it). */
  readonly total: {
    readonly done: number;
    readonly rejected: number;
    readonly deadLettered: number;
    readonly duplicates: number;
  };
  /** Batches recorded, and failed every attempt. */
  readonly batches: { readonly recorded: number; readonly failed: number };
  /** Rows written to the output and the rejects file; batches with no results (in neither file). */
  readonly written: {
    readonly output: number;
    readonly rejects: number;
    readonly missingBatches: readonly number[];
  };
  /** Wall time of this command, ms. */
  readonly durationMs: number;
  /** ISO 8601 start and end of this command. */
  readonly startedAt: string;
  /** ISO 8601. */
  readonly finishedAt: string;
}

/** The default run id: the input's name and the first 16 hex digits of its bytes' SHA-256, so the same file is the same run. */
async function defaultRunId(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const name = basename(path)
    .replace(/\.(csv|tsv|ndjson|jsonl)$/i, '')
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .slice(0, 40);
  return `${name === '' ? 'run' : name}-${hash.digest('hex').slice(0, 16)}`;
}

/**
 * Where the run stands, as the progress display of `leadpipe enrich` takes
 * it: the counts of the batches recorded (rows of running batches are in
 * the extras' `batches.finishedInFlight`; the rate counts them).
 */
function asPipelineProgress(progress: DistributedRunProgress, startedAt: number): PipelineProgress {
  const inFlight = progress.complete ? 0 : progress.finishedInFlight;
  const finished = progress.done + progress.rejected + progress.deadLettered + inFlight;
  const elapsedMs = Date.now() - startedAt;
  return {
    read: progress.rows ?? 0,
    skipped: 0,
    validated: progress.done + progress.deadLettered,
    rejected: progress.rejected,
    duplicates: progress.duplicates,
    enriched: 0,
    synced: 0,
    deadLettered: progress.deadLettered,
    done: progress.done,
    ratePerSecond: elapsedMs > 0 ? (finished * 1000) / elapsedMs : 0,
    elapsedMs,
  };
}

function extrasOf(progress: DistributedRunProgress): ProgressExtras {
  return {
    total: progress.rows,
    providers: {},
    quotas: {},
    batches: {
      total: progress.batches,
      recorded: progress.batchesRecorded,
      failed: progress.batchesFailed,
      finishedInFlight: progress.complete ? 0 : progress.finishedInFlight,
    },
  };
}

function summarize(report: DistributedRunReport, options: SubmitCommandOptions): string {
  const { total, batches, written } = report;
  const lines = [
    `Distributed run ${report.runId}: ${report.status} in ${count(report.durationMs / 1000)} s`,
    `  rows: ${count(report.submitted.rows)} submitted, ${count(total.done)} done (${count(total.duplicates)} duplicates), ${count(total.rejected)} rejected, ${count(total.deadLettered)} dead-lettered`,
    `  batches: ${count(report.submitted.batches)} (${count(report.submitted.enqueued)} enqueued now), ${count(batches.recorded)} recorded, ${count(batches.failed)} failed`,
  ];
  if (report.status !== 'following-stopped') {
    lines.push(`  output: ${options.out} (${count(written.output)} rows)`);
    if (written.rejects > 0) lines.push(`  rejects: ${options.rejects} (${count(written.rejects)} rows)`);
  }
  if (options.report !== undefined) lines.push(`  report: ${options.report}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Run `leadpipe submit <file> --redis <url>`: submit the input in batches
 * with stable ids (the same input under the same run id enqueues nothing
 * twice), follow the run with the progress display of `leadpipe enrich`,
 * then write the output and the rejects in input order and print the
 * summary. Its signal (Ctrl-C, SIGTERM) stops the following, not the run.
 */
export async function runSubmit(
  options: SubmitCommandOptions,
  io: CliIo,
  display: ProgressDisplay,
): Promise<ExitCode> {
  const { stderr, stdout } = io;
  const started = Date.now();
  const problems = await inputProblems(options);
  if (problems.length > 0) {
    for (const line of problems) stderr.write(`${line}\n`);
    return EXIT_CODES.usage;
  }
  const runId = options.runId ?? (await defaultRunId(options.input));
  const runs = createDistributedRun({
    connection: options.redis,
    queueName: options.queue,
    prefix: options.prefix,
    batchSize: options.batchSize,
  });
  try {
    await runs.ready();
    // Submitting is quick and idempotent: it runs to its end even when a signal comes meanwhile.
    const submitted = await runs.submit(readInput(options.input, options.inputFormat), { runId });
    if (!options.quiet)
      stderr.write(
        `leadpipe: run ${runId}: ${count(submitted.rows)} rows in ${count(submitted.batches)} batches on ${options.queue}; ${count(submitted.enqueued)} enqueued now, ${count(submitted.alreadySubmitted)} submitted before\n`,
      );
    if (options.redrive) {
      const redriven = await runs.redrive(runId);
      if (!options.quiet) stderr.write(`leadpipe: --redrive: ${count(redriven)} failed batches run again\n`);
    }
    if (options.detach) {
      stdout.write(`${runId}\n`);
      return EXIT_CODES.done;
    }
    let last: DistributedRunProgress | undefined;
    let final: DistributedRunProgress;
    try {
      final = await runs.wait(runId, {
        pollMs: 1000,
        ...(io.signal === undefined ? {} : { signal: io.signal }),
        onProgress: (progress) => {
          last = progress;
          if (!options.quiet) display.update(asPipelineProgress(progress, started), extrasOf(progress));
        },
      });
    } catch (error) {
      if (io.signal?.aborted !== true) throw error;
      const now = last ?? (await runs.progress(runId));
      const report = reportOf('following-stopped', runId, submitted, now, undefined, started);
      if (options.report !== undefined) await writeJsonReport(options.report, report);
      stdout.write(summarize(report, options));
      stderr.write(
        `leadpipe: stopped following run ${runId}; it was not cancelled: its batches stay queued and the workers go on. Run the same command again to follow it and write the files.\n`,
      );
      return EXIT_CODES.interrupted;
    }
    if (!options.quiet) display.finish(asPipelineProgress(final, started), extrasOf(final));
    for (const path of [options.out, options.rejects]) await mkdir(dirname(path), { recursive: true });
    const written = await runs.writeResults(runId, {
      output: await openOutput(options, false),
      rejects: openRejects(options, false),
    });
    await removeIfEmpty(options.rejects);
    const status = final.batchesFailed > 0 ? 'failed' : 'completed';
    const report = reportOf(status, runId, submitted, final, written, started);
    if (options.report !== undefined) await writeJsonReport(options.report, report);
    stdout.write(summarize(report, options));
    if (status === 'failed') {
      stderr.write(
        `leadpipe: ${count(final.batchesFailed)} batches failed every attempt; their rows are in neither file. Fix the cause, then run the same command with --redrive (exit code 1)\n`,
      );
      return EXIT_CODES.failed;
    }
    if (final.rejected > 0 || final.deadLettered > 0) {
      stderr.write(
        `leadpipe: finished with ${count(final.rejected)} rejected and ${count(final.deadLettered)} dead-lettered rows (exit code 3)\n`,
      );
      return EXIT_CODES.finishedWithProblems;
    }
    return EXIT_CODES.done;
  } finally {
    await runs.close();
  }
}

function reportOf(
  status: DistributedRunReport['status'],
  runId: string,
  submitted: { readonly batches: number; readonly rows: number; readonly enqueued: number },
  progress: DistributedRunProgress,
  written:
    | { readonly written: number; readonly rejects: number; readonly missingBatches: readonly number[] }
    | undefined,
  started: number,
): DistributedRunReport {
  return {
    status,
    runId,
    submitted: { batches: submitted.batches, rows: submitted.rows, enqueued: submitted.enqueued },
    total: {
      done: progress.done,
      rejected: progress.rejected,
      deadLettered: progress.deadLettered,
      duplicates: progress.duplicates,
    },
    batches: { recorded: progress.batchesRecorded, failed: progress.batchesFailed },
    written: {
      output: written?.written ?? 0,
      rejects: written?.rejects ?? 0,
      missingBatches: written?.missingBatches ?? [],
    },
    durationMs: Date.now() - started,
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date().toISOString(),
  };
}

import type { PipelineProgress } from '@leadpipe/core';
import type { QuotaUse } from './quota.js';

/** Where the command writes: a terminal or a plain stream (`process.stderr`, a test buffer). */
export interface CliOutput {
  /** Write text. */
  write(text: string): unknown;
  /** Whether the stream is a terminal (live display) or not (log lines). */
  readonly isTTY?: boolean;
  /** Terminal width in columns, when a terminal. */
  readonly columns?: number;
}

/** What the progress display shows besides the pipeline's own figures. */
export interface ProgressExtras {
  /** Rows in the input, once counted (for the percentage and the ETA). */
  readonly total: number | undefined;
  /** Per provider: calls and credits so far. */
  readonly providers: Readonly<
    Record<
      string,
      {
        /** Calls made to the provider (a batch call counts once, each retry again); cache hits are not calls. */
        readonly calls: number;
        /** Credits spent, in the provider's own unit (Apollo credits, Clearbit lookups); may be fractional. */
        readonly credits: number;
      }
    >
  >;
  /** Per provider: the most used quota window, from its response headers. */
  readonly quotas: Readonly<Record<string, QuotaUse>>;
  /**
   * A distributed run's batches (`leadpipe submit`): shown instead of the
   * enriched and synced counts, which its workers keep.
   */
  readonly batches?: {
    /** Batches submitted (`undefined` while the input is being submitted). */
    readonly total: number | undefined;
    /** Batches whose results are recorded. */
    readonly recorded: number;
    /** Batches that failed every attempt. */
    readonly failed: number;
    /** Rows of running batches their workers finished (not in the counts until their batch is recorded). */
    readonly finishedInFlight: number;
  };
}

/** Shows a run's progress: redrawn in place on a terminal, one log line per update otherwise. */
export interface ProgressDisplay {
  /** Show the latest figures. */
  update(progress: PipelineProgress, extras: ProgressExtras): void;
  /** On a terminal, draw the final figures and leave them on screen. */
  finish(progress: PipelineProgress | undefined, extras: ProgressExtras): void;
  /**
   * Write a message (a whole line) between updates: on a terminal the live
   * block is erased first and drawn again below the message by the next
   * update, so no stale copy of it stays on screen.
   */
  note(text: string): void;
}

function seconds(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const total = Math.max(0, Math.round(ms / 1000));
  if (total < 60) return `${total}s`;
  const minutes = Math.floor(total / 60);
  if (minutes < 60) return `${minutes}m${String(total % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

function finished(progress: PipelineProgress): number {
  return progress.done + progress.rejected + progress.deadLettered + progress.skipped;
}

/** A figure as every line of the command writes it (as `formatReport` does): `1,234`, `12.5`. */
export function count(value: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

/** Time before an ETA is shown: the first seconds' rate says little about the rest. */
const ETA_AFTER_MS = 5_000;

/**
 * Time left, in ms: rows not finished yet over the rate so far. `undefined`
 * while it would mean nothing: without a total or a rate, in the first
 * 5 s, and before 20 rows (or 1% of the rows to do,
 * up to 200) were processed in this run.
 */
export function estimateRemainingMs(
  progress: PipelineProgress,
  total: number | undefined,
): number | undefined {
  if (total === undefined || progress.ratePerSecond <= 0) return undefined;
  const processed = finished(progress) - progress.skipped;
  const enough = Math.min(200, Math.max(20, Math.ceil((total - progress.skipped) * 0.01)));
  if (progress.elapsedMs < ETA_AFTER_MS || processed < enough) return undefined;
  const left = Math.max(0, total - finished(progress));
  return (left / progress.ratePerSecond) * 1000;
}

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

function quotaText(providerId: string, extras: ProgressExtras): string {
  const stats = extras.providers[providerId];
  const quota = extras.quotas[providerId];
  const parts = [`${providerId}: ${count(stats?.calls ?? 0)} calls, ${count(stats?.credits ?? 0)} credits`];
  if (quota) {
    parts.push(
      `quota ${count(quota.used)}/${count(quota.limit)} per ${quota.window} (${percent(quota.share)})`,
    );
  }
  return parts.join(', ');
}

function bar(share: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, share)) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

/** The lines of the live display (exported for tests). */
export function progressLines(progress: PipelineProgress, extras: ProgressExtras): string[] {
  const { total } = extras;
  const done = finished(progress) + (extras.batches?.finishedInFlight ?? 0);
  const eta = estimateRemainingMs(progress, total);
  const share = total === undefined || total === 0 ? undefined : done / total;
  const lines = [
    `rows      ${count(progress.read)} read${total === undefined ? '' : ` of ${count(total)}`}${share === undefined ? '' : ` ${bar(share, 20)} ${percent(share)}`}`,
    `          ${extras.batches === undefined ? `${count(progress.enriched)} enriched, ${count(progress.synced)} synced, ` : `${count(progress.done)} done, `}${count(progress.rejected)} rejected, ${count(progress.duplicates)} duplicates, ${count(progress.deadLettered)} dead-lettered${progress.skipped > 0 ? `, ${count(progress.skipped)} skipped` : ''}`,
    `rate      ${count(progress.ratePerSecond)} rows/s, elapsed ${seconds(progress.elapsedMs)}${eta === undefined ? '' : `, ETA ${seconds(eta)}`}`,
  ];
  const { batches } = extras;
  if (batches !== undefined)
    lines.push(
      `batches   ${count(batches.recorded)} recorded${batches.total === undefined ? '' : ` of ${count(batches.total)}`}, ${count(batches.failed)} failed, ${count(batches.finishedInFlight)} rows finished in running batches`,
    );
  const providerIds = [...new Set([...Object.keys(extras.providers), ...Object.keys(extras.quotas)])];
  for (const [index, providerId] of providerIds.entries()) {
    lines.push(`${index === 0 ? 'providers ' : '          '}${quotaText(providerId, extras)}`);
  }
  return lines;
}

/** The one-line form, for logs. */
export function progressLogLine(progress: PipelineProgress, extras: ProgressExtras): string {
  const { total } = extras;
  const eta = estimateRemainingMs(progress, total);
  const fields = [
    `read=${count(progress.read)}${total === undefined ? '' : `/${count(total)}`}`,
    ...(extras.batches === undefined
      ? [`enriched=${count(progress.enriched)}`, `synced=${count(progress.synced)}`]
      : [
          `batches=${count(extras.batches.recorded)}${extras.batches.total === undefined ? '' : `/${count(extras.batches.total)}`}`,
          `batchesFailed=${count(extras.batches.failed)}`,
          `inFlight=${count(extras.batches.finishedInFlight)}`,
        ]),
    `rejected=${count(progress.rejected)}`,
    `duplicates=${count(progress.duplicates)}`,
    `deadLettered=${count(progress.deadLettered)}`,
    `done=${count(progress.done)}`,
    ...(progress.skipped > 0 ? [`skipped=${count(progress.skipped)}`] : []),
    `rate=${count(progress.ratePerSecond)}/s`,
    `elapsed=${seconds(progress.elapsedMs)}`,
    ...(eta === undefined ? [] : [`eta=${seconds(eta)}`]),
  ];
  for (const [providerId, quota] of Object.entries(extras.quotas)) {
    fields.push(`quota.${providerId}=${count(quota.used)}/${count(quota.limit)}/${quota.window}`);
  }
  return `leadpipe: progress ${fields.join(' ')}\n`;
}

/**
 * A progress display on `output`: on a terminal, a block of lines redrawn
 * in place (ANSI cursor moves, each line cut to the terminal's width); on
 * anything else, one `leadpipe: progress key=value ...` line per update.
 */
export function createProgressDisplay(output: CliOutput): ProgressDisplay {
  const live = output.isTTY === true;
  let drawn = 0;

  function draw(lines: readonly string[]): void {
    // Some terminals report 0 columns (no size known): assume 100 then.
    const columns = output.columns !== undefined && output.columns > 0 ? output.columns : 100;
    const width = Math.max(20, columns - 1);
    let text = drawn > 0 ? `\x1b[${drawn}F` : '';
    for (const line of lines)
      text += `\x1b[2K${line.length > width ? `${line.slice(0, width - 1)}…` : line}\n`;
    for (let extra = lines.length; extra < drawn; extra++) text += '\x1b[2K\n';
    drawn = Math.max(drawn, lines.length);
    output.write(text);
  }

  return {
    update(progress, extras) {
      if (live) draw(progressLines(progress, extras));
      else output.write(progressLogLine(progress, extras));
    },
    note(text) {
      // Move up to the block's first line and clear from there to the end of the screen.
      if (live && drawn > 0) output.write(`\x1b[${drawn}F\x1b[0J`);
      drawn = 0;
      output.write(text);
    },
    finish(progress, extras) {
      if (progress === undefined) return;
      // Log lines already had the run's last figures (the pipeline's final progress event).
      if (!live) return;
      draw(progressLines(progress, extras));
      drawn = 0;
    },
  };
}

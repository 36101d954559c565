import { type CliOutput, count } from './progress.js';

/** The figures `leadpipe campaign run` shows while it runs. */
export interface CampaignProgress {
  /** Leads read from the store. */
  readonly leads: number;
  /** Enrollments made. */
  readonly enrolled: number;
  /** Emails accepted by the provider. */
  readonly sent: number;
  /** Emulated replies received. */
  readonly replied: number;
  /** Enrollments exited (any reason). */
  readonly exited: number;
  /** Enrollments completed. */
  readonly completed: number;
  /** Enrollments failed (dead letters). */
  readonly failed: number;
  /** The emulated clock, epoch ms. */
  readonly emulatedAt: number;
  /** Real ms since the run started. */
  readonly elapsedMs: number;
}

/** The emulated time as the display shows it: `2026-03-02 09:00Z`. */
export function emulatedTime(at: number): string {
  return `${new Date(at).toISOString().slice(0, 16).replace('T', ' ')}Z`;
}

/** The lines of the live display. */
function campaignProgressLines(progress: CampaignProgress): string[] {
  const open = progress.enrolled - progress.completed - progress.exited - progress.failed;
  return [
    `leads     ${count(progress.leads)} read, ${count(progress.enrolled)} enrolled, ${count(open)} in progress`,
    `emails    ${count(progress.sent)} sent, ${count(progress.replied)} replied`,
    `done      ${count(progress.completed)} completed, ${count(progress.exited)} exited, ${count(progress.failed)} failed`,
    `clock     emulated ${emulatedTime(progress.emulatedAt)}, elapsed ${(progress.elapsedMs / 1000).toFixed(1)}s`,
  ];
}

/** The one-line form, for logs: `leadpipe: progress key=value ...`, as `leadpipe enrich` writes it. */
function campaignProgressLogLine(progress: CampaignProgress): string {
  const fields = [
    `leads=${count(progress.leads)}`,
    `enrolled=${count(progress.enrolled)}`,
    `sent=${count(progress.sent)}`,
    `replied=${count(progress.replied)}`,
    `completed=${count(progress.completed)}`,
    `exited=${count(progress.exited)}`,
    `failed=${count(progress.failed)}`,
    `emulated=${new Date(progress.emulatedAt).toISOString()}`,
    `elapsed=${(progress.elapsedMs / 1000).toFixed(1)}s`,
  ];
  return `leadpipe: progress ${fields.join(' ')}\n`;
}

/** Shows a campaign run's progress: redrawn in place on a terminal, one log line per update otherwise. */
export interface CampaignProgressDisplay {
  /** Show the figures, at most once per interval unless `force`. */
  update(progress: CampaignProgress, force?: boolean): void;
}

/**
 * A progress display on `output` with the conventions of `leadpipe enrich`'s:
 * on a terminal a block redrawn in place (each line cut to the width), on
 * anything else one `leadpipe: progress ...` line per update.
 */
export function createCampaignProgressDisplay(
  output: CliOutput,
  intervalMs: number | undefined,
  clock: () => number = Date.now,
): CampaignProgressDisplay {
  const live = output.isTTY === true;
  const interval = intervalMs ?? (live ? 100 : 1000);
  let drawn = 0;
  let last = Number.NEGATIVE_INFINITY;
  return {
    update(progress, force = false) {
      const at = clock();
      if (!force && at - last < interval) return;
      last = at;
      if (!live) {
        output.write(campaignProgressLogLine(progress));
        return;
      }
      const columns = output.columns !== undefined && output.columns > 0 ? output.columns : 100;
      const width = Math.max(20, columns - 1);
      let text = drawn > 0 ? `\x1b[${drawn}F` : '';
      const lines = campaignProgressLines(progress);
      for (const line of lines)
        text += `\x1b[2K${line.length > width ? `${line.slice(0, width - 1)}…` : line}\n`;
      drawn = lines.length;
      output.write(text);
    },
  };
}

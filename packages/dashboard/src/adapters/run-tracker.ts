import { randomUUID } from 'node:crypto';
import type { LeadPipeline, PipelineRun } from '@leadpipe/core';
import type { DashboardRun, DashboardRunsSource } from '../sources.js';
import { type QuotaSettings, runFromReport } from './run-view.js';

/** Options of {@link createRunTracker}. */
export interface RunTrackerOptions extends QuotaSettings {
  /** Finished runs kept in the list (the oldest finished ones are dropped first). Default 50. */
  readonly keepFinished?: number;
}

/** What {@link RunTracker.track} is told about a run besides the run itself. */
export interface TrackedRunInfo {
  /** Id shown and used in links. Default a random UUID. */
  readonly id?: string;
  /** A readable name, such as the input file. */
  readonly label?: string;
  /** Rows in the input, when known: the progress bar's end. */
  readonly totalRows?: number;
}

/** The runs of this process, live: a {@link DashboardRunsSource}. */
export interface RunTracker extends DashboardRunsSource {
  /**
   * Show `run` of `pipeline` from now on, with its progress while it runs
   * (its `snapshot()`), until it ends (the pipeline's `pipeline.finished`
   * event) and after. Call it right after `pipeline.run(...)`, before
   * awaiting or iterating the run: the tracker never starts or awaits it.
   * Resolves nothing; returns the run's id.
   */
  track(
    pipeline: Pick<LeadPipeline, 'on'>,
    run: Pick<PipelineRun, 'snapshot'>,
    info?: TrackedRunInfo,
  ): string;
}

interface Tracked {
  readonly id: string;
  readonly info: TrackedRunInfo;
  readonly run: Pick<PipelineRun, 'snapshot'>;
  running: boolean;
}

/**
 * Tracks the pipeline runs of this process for the dashboard: running ones
 * with live progress, finished ones with their final report.
 *
 * @example
 * ```ts
 * import { createLeadPipeline } from '@leadpipe/core';
 * import { createRunTracker } from '@leadpipe/dashboard';
 *
 * const runs = createRunTracker();
 * const pipeline = createLeadPipeline({});
 * const run = pipeline.run([{ email: 'ada@example.com' }]);
 * runs.track(pipeline, run, { label: 'signups', totalRows: 1 });
 * await run;
 * ```
 */
export function createRunTracker(options: RunTrackerOptions = {}): RunTracker {
  const keep = options.keepFinished ?? 50;
  const tracked: Tracked[] = [];

  const trim = () => {
    let finished = tracked.filter((entry) => !entry.running).length;
    for (let index = 0; index < tracked.length && finished > keep; ) {
      if (tracked[index]!.running) index += 1;
      else {
        tracked.splice(index, 1);
        finished -= 1;
      }
    }
  };

  return {
    track(pipeline, run, info = {}) {
      const entry: Tracked = { id: info.id ?? randomUUID(), info, run, running: true };
      tracked.push(entry);
      const off = pipeline.on('pipeline.finished', () => {
        entry.running = false;
        off();
        trim();
      });
      return entry.id;
    },
    async list(): Promise<readonly DashboardRun[]> {
      return tracked
        .map((entry) =>
          runFromReport(
            entry.run.snapshot(),
            {
              id: entry.id,
              running: entry.running,
              ...(entry.info.label === undefined ? {} : { label: entry.info.label }),
              ...(entry.info.totalRows === undefined ? {} : { totalRows: entry.info.totalRows }),
            },
            options,
          ),
        )
        .reverse();
    },
  };
}

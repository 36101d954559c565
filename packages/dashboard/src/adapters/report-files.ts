import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { PipelineReport } from '@leadpipe/core';
import type { DashboardRun, DashboardRunsSource } from '../sources.js';
import { type QuotaSettings, runFromReport } from './run-view.js';

/** Options of {@link runsFromReportFiles}. */
export interface ReportFilesOptions extends QuotaSettings {
  /** Most reports shown, newest first by start time. Default 50. */
  readonly limit?: number;
  /** Told about each `.json` file that is not a readable pipeline report (it is left out; the others are shown). */
  readonly onSkip?: (file: string, reason: string) => void;
}

function looksLikeReport(value: unknown): value is PipelineReport {
  if (typeof value !== 'object' || value === null) return false;
  const report = value as Record<string, unknown>;
  return (
    typeof report.startedAt === 'string' &&
    typeof report.finishedAt === 'string' &&
    typeof report.counts === 'object' &&
    report.counts !== null &&
    typeof report.providers === 'object' &&
    report.providers !== null &&
    ['completed', 'aborted', 'failed'].includes(report.status as string)
  );
}

/**
 * Runs from the JSON reports in `folder`: what `leadpipe enrich --report
 * <folder>/<name>.json` writes (a `PipelineReport`), one finished run per
 * file, named after the file. Read again on every page view; a file that is
 * not a report is left out (and told to `onSkip`), never failing the page.
 */
export function runsFromReportFiles(folder: string, options: ReportFilesOptions = {}): DashboardRunsSource {
  const limit = options.limit ?? 50;
  return {
    async list(): Promise<readonly DashboardRun[]> {
      const names = (await readdir(folder)).filter((name) => name.endsWith('.json'));
      const runs: DashboardRun[] = [];
      for (const name of names) {
        const file = join(folder, name);
        try {
          if (!(await stat(file)).isFile()) continue;
          const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
          if (!looksLikeReport(parsed)) {
            options.onSkip?.(file, 'is not a pipeline report');
            continue;
          }
          const id = basename(name, '.json');
          runs.push(runFromReport(parsed, { id, label: id }, options));
        } catch (error) {
          options.onSkip?.(file, error instanceof SyntaxError ? 'is not valid JSON' : 'could not be read');
        }
      }
      return runs.sort((a, b) => b.startedAt.localeCompare(a.startedAt)).slice(0, limit);
    },
  };
}

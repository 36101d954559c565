import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { type CrmSync, ValidationError } from '@leadpipe/core';
import {
  createDashboard,
  type DashboardCampaignsSource,
  type DashboardRun,
  type DashboardRunsSource,
  deadLettersFrom,
} from '@leadpipe/dashboard';
import type { ApiKeyStore, MountedApp, RunSource, RunStatus, ServerLogger } from '@leadpipe/server';
import type { PostgresStore } from '@leadpipe/store-postgres';

/**
 * The dashboard's session secret: `LEADPIPE_SESSION_SECRET` when set (at
 * least 32 characters), else the one kept in `<keys file>.session-secret`
 * (mode 600), made on first start so sessions outlive a restart. Never logged.
 */
export async function sessionSecret(
  env: Readonly<Record<string, string | undefined>>,
  keysFile: string,
): Promise<string> {
  const fromEnv = env.LEADPIPE_SESSION_SECRET?.trim();
  if (fromEnv !== undefined && fromEnv !== '') {
    if (fromEnv.length < 32)
      throw new ValidationError([
        { field: 'LEADPIPE_SESSION_SECRET', reason: 'must be at least 32 characters' },
      ]);
    return fromEnv;
  }
  const path = `${keysFile}.session-secret`;
  try {
    const kept = (await readFile(path, 'utf8')).trim();
    if (kept.length >= 32) return kept;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const made = randomBytes(32).toString('base64url');
  await writeFile(path, `${made}\n`, { mode: 0o600 });
  return made;
}

const RUN_STATUS: Record<DashboardRun['status'], RunStatus['status']> = {
  running: 'running',
  completed: 'done',
  aborted: 'aborted',
  failed: 'failed',
};

/** `/v1/runs` over the dashboard's runs (such as `runsFromReportFiles`): counts and per-provider figures as stats. */
export function runSourceFrom(runs: DashboardRunsSource): RunSource {
  const asStatus = (run: DashboardRun): RunStatus => {
    const stats: Record<string, number> = { ...run.counts };
    if (run.totalRows !== undefined) stats.totalRows = run.totalRows;
    for (const use of run.providers) {
      stats[`${use.provider}.calls`] = use.calls;
      stats[`${use.provider}.matches`] = use.matches;
      stats[`${use.provider}.credits`] = use.credits;
    }
    return {
      id: run.id,
      status: RUN_STATUS[run.status],
      startedAt: run.startedAt,
      ...(run.status === 'running' ? {} : { finishedAt: run.updatedAt }),
      stats,
    };
  };
  return {
    async list() {
      return (await runs.list()).map(asStatus);
    },
    async get(id) {
      const run = (await runs.list()).find((candidate) => candidate.id === id);
      return run === undefined ? undefined : asStatus(run);
    },
  };
}

/** The dashboard `leadpipe serve` mounts at `/dashboard`. */
export function dashboardMount(context: {
  readonly keys: ApiKeyStore;
  readonly store: PostgresStore;
  readonly sessionSecret: string;
  readonly runs?: DashboardRunsSource;
  readonly crmSync?: CrmSync;
  readonly campaigns?: DashboardCampaignsSource;
  readonly logger: ServerLogger;
}): MountedApp {
  const app = createDashboard({
    sources: {
      leads: context.store.leads,
      deadLetters: deadLettersFrom(context.store.deadLetters, context.crmSync),
      ...(context.runs === undefined ? {} : { runs: context.runs }),
      ...(context.campaigns === undefined ? {} : { campaigns: context.campaigns }),
    },
    verifyKey: (key) => context.keys.verifyKey(key),
    sessionSecret: context.sessionSecret,
    basePath: '/dashboard',
    onError: (error, what) =>
      context.logger.warn(
        { source: what, error: error instanceof Error ? error.name : typeof error },
        'the dashboard could not read a source',
      ),
  });
  return { path: '/dashboard', app };
}

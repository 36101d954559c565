import type { EnrichmentProviderV1, PipelineReport } from '@leadpipe/core';
import type { DashboardProviderUse, DashboardQuota, DashboardRun } from '../sources.js';

/** A provider as far as quotas need it: an `EnrichmentProviderV1` fits. */
export interface QuotaProvider {
  /** The provider id. */
  readonly providerId: EnrichmentProviderV1['providerId'];
  /** Its capabilities: the declared request windows. */
  readonly capabilities: Pick<EnrichmentProviderV1['capabilities'], 'rateLimits'>;
}

/** Where a run's quota figures come from. */
export interface QuotaSettings {
  /**
   * The providers of the run: each one's largest request window
   * (`rateLimits.perDay`, else `perHour`, else `perMinute`) is shown against
   * the calls the run made. A run longer than the window shows calls over
   * the whole run, an upper bound of the window's use.
   */
  readonly providers?: readonly QuotaProvider[];
  /** Credit budgets per provider id (`{ clearbit: 500 }`): shown against the credits the run spent there. Wins over `providers`. */
  readonly creditBudgets?: Readonly<Record<string, number>>;
}

/** Extra facts about a run that its report lacks. */
export interface RunFacts {
  /** Id of the run. */
  readonly id: string;
  /** A readable name, such as the input file. */
  readonly label?: string;
  /** Rows in the input, when known. */
  readonly totalRows?: number;
  /** Whether the run is still running (its report is a snapshot). */
  readonly running?: boolean;
}

function quotaOf(
  provider: string,
  calls: number,
  credits: number,
  settings: QuotaSettings,
): DashboardQuota | undefined {
  const budget = settings.creditBudgets?.[provider];
  if (budget !== undefined && budget > 0) return { unit: 'credits (budget)', used: credits, limit: budget };
  const limits = settings.providers?.find((candidate) => candidate.providerId === provider)?.capabilities
    .rateLimits;
  if (limits === undefined) return undefined;
  for (const [limit, unit] of [
    [limits.perDay, 'calls/day'],
    [limits.perHour, 'calls/hour'],
    [limits.perMinute, 'calls/minute'],
  ] as const) {
    if (limit !== undefined && limit > 0) return { unit, used: calls, limit };
  }
  return undefined;
}

/** A pipeline report (final, or a running run's snapshot) as the dashboard's {@link DashboardRun}. */
export function runFromReport(
  report: PipelineReport,
  facts: RunFacts,
  quotas: QuotaSettings = {},
): DashboardRun {
  const providers: DashboardProviderUse[] = Object.entries(report.providers).map(([provider, stats]) => {
    const quota = quotaOf(provider, stats.calls, stats.credits, quotas);
    return {
      provider,
      calls: stats.calls,
      requests: stats.requests,
      matches: stats.matches,
      misses: stats.misses,
      credits: stats.credits,
      rateLimited: stats.rateLimited,
      ...(quota === undefined ? {} : { quota }),
    };
  });
  return {
    id: facts.id,
    ...(facts.label === undefined ? {} : { label: facts.label }),
    status: facts.running === true ? 'running' : report.status,
    startedAt: report.startedAt,
    updatedAt: report.finishedAt,
    ...(facts.totalRows === undefined ? {} : { totalRows: facts.totalRows }),
    counts: {
      read: report.counts.read,
      done: report.counts.done,
      rejected: report.counts.rejected,
      deadLettered: report.counts.deadLettered,
      skipped: report.counts.skipped,
    },
    providers,
    ...(report.error === undefined
      ? {}
      : { error: { code: report.error.code, message: report.error.message } }),
  };
}

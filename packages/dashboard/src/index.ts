/**
 * @packageDocumentation
 * `@leadpipe/dashboard`: a server-rendered dashboard for leadpipe, as a Hono
 * sub-app a host mounts (`@leadpipe/server` mounts it at `/dashboard`): runs
 * with progress and per-provider quota use, coverage and credits per
 * provider, campaign funnels, and the dead-letter queue with redrive. Sign-in
 * with an API key, an HMAC-signed session cookie, CSRF tokens on every form.
 * No script, no external fetch, charts as inline SVG.
 */

export {
  type CampaignRef,
  type CampaignRefDefinition,
  type CampaignRefStep,
  campaignsFromStore,
} from './adapters/campaigns.js';
export { type DeadLettersFromOptions, deadLettersFrom } from './adapters/dead-letters.js';
export { type ReportFilesOptions, runsFromReportFiles } from './adapters/report-files.js';
export {
  createRunTracker,
  type RunTracker,
  type RunTrackerOptions,
  type TrackedRunInfo,
} from './adapters/run-tracker.js';
export { type QuotaProvider, type QuotaSettings, type RunFacts, runFromReport } from './adapters/run-view.js';
export { createDashboard } from './app.js';
export type { DashboardOptions, VerifiedKey } from './options.js';
export type { DashboardScope } from './session.js';
export type {
  DashboardCampaign,
  DashboardCampaignsSource,
  DashboardDeadLettersSource,
  DashboardFunnelStep,
  DashboardLeadsSource,
  DashboardProviderUse,
  DashboardQuota,
  DashboardRedriveResult,
  DashboardRun,
  DashboardRunCounts,
  DashboardRunError,
  DashboardRunsSource,
  DashboardSources,
} from './sources.js';

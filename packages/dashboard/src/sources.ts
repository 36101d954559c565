import type { DeadLetterListOptions, DeadLetterPage, LeadStoreCount } from '@leadpipe/core';

/** One provider's use in a run: what it was asked, found and charged. */
export interface DashboardProviderUse {
  /** The provider id, such as `clearbit`. */
  readonly provider: string;
  /** Calls made (a batch call counts once). */
  readonly calls: number;
  /** Leads sent to the provider. */
  readonly requests: number;
  /** Leads it found. */
  readonly matches: number;
  /** Leads it did not find. */
  readonly misses: number;
  /** Credits spent. */
  readonly credits: number;
  /** 429 answers received. */
  readonly rateLimited: number;
  /**
   * What the run used of a quota, when one is known: `used` of `limit` in
   * `unit` (such as calls against the provider's per-day request limit, or
   * credits against the run's credit budget).
   */
  readonly quota?: DashboardQuota;
}

/** Use of one quota. */
export interface DashboardQuota {
  /** What is counted, such as `calls/day` or `credits (run budget)`. */
  readonly unit: string;
  /** Used so far. */
  readonly used: number;
  /** The limit. */
  readonly limit: number;
}

/** Row counts of a run (a subset of the pipeline report's counts). */
export interface DashboardRunCounts {
  /** Rows read from the source. */
  readonly read: number;
  /** Rows that ended done. */
  readonly done: number;
  /** Rows rejected. */
  readonly rejected: number;
  /** Rows dead-lettered. */
  readonly deadLettered: number;
  /** Rows an earlier run finished (resume), not processed again. */
  readonly skipped: number;
}

/** Why a run did not complete. */
export interface DashboardRunError {
  /** The error's stable code. */
  readonly code: string;
  /** Its message, scrubbed of secrets. */
  readonly message: string;
}

/** A pipeline run as the dashboard shows it. */
export interface DashboardRun {
  /** Unique id of the run (shown, and used in links). */
  readonly id: string;
  /** A readable name, such as the input file. */
  readonly label?: string;
  /** `running`, or how it ended. */
  readonly status: 'running' | 'completed' | 'aborted' | 'failed';
  /** ISO 8601 start time. */
  readonly startedAt: string;
  /** ISO 8601 time of these figures (the end time once finished). */
  readonly updatedAt: string;
  /** Rows in the input, when known: the progress bar's end. */
  readonly totalRows?: number;
  /** Row counts so far. */
  readonly counts: DashboardRunCounts;
  /** Per provider, in the order the run used them. */
  readonly providers: readonly DashboardProviderUse[];
  /** Why the run did not complete (code and scrubbed message). */
  readonly error?: DashboardRunError;
}

/** Where the runs come from: {@link createRunTracker}, {@link runsFromReportFiles}, or your own. */
export interface DashboardRunsSource {
  /** The runs to show, newest first. */
  list(): Promise<readonly DashboardRun[]>;
}

/** One step of a campaign's funnel: the counts of the campaign store's step stats. */
export interface DashboardFunnelStep {
  /** The step id. */
  readonly step: string;
  /** Sends marked sent. */
  readonly sent: number;
  /** Distinct sends delivered. */
  readonly delivered: number;
  /** Distinct sends opened. */
  readonly opened: number;
  /** Distinct sends clicked. */
  readonly clicked: number;
  /** Distinct sends replied to. */
  readonly replied: number;
  /** Distinct sends bounced. */
  readonly bounced: number;
  /** Distinct sends followed by an unsubscribe. */
  readonly unsubscribed: number;
  /** Sends that failed for good. */
  readonly failed: number;
}

/** A campaign's funnel. */
export interface DashboardCampaign {
  /** The campaign id. */
  readonly id: string;
  /** Enrollments made. */
  readonly enrolled: number;
  /** Enrollments by status (`active`, `completed`, `exited`, `failed`). */
  readonly byStatus: Readonly<Record<string, number>>;
  /** The send steps, in the campaign's order. */
  readonly steps: readonly DashboardFunnelStep[];
}

/** Where the campaigns come from: {@link campaignsFromStore}, or your own. */
export interface DashboardCampaignsSource {
  /** The campaigns to show. */
  list(): Promise<readonly DashboardCampaign[]>;
}

/** What a redrive did with the entries asked for. */
export interface DashboardRedriveResult {
  /** Entries asked for. */
  readonly requested: number;
  /** Entries that went through and left the queue. */
  readonly delivered: number;
  /** Entries that failed again and stay (with one more attempt). */
  readonly failed: number;
  /** Entries no configured CRM takes (or no longer in the queue); left alone. */
  readonly skipped: number;
}

/** The dead-letter queue, read and redriven: {@link deadLettersFrom}, or your own. */
export interface DashboardDeadLettersSource {
  /** A page of entries, oldest first (the `DeadLetterQueue.list` contract). */
  list(options?: DeadLetterListOptions): Promise<DeadLetterPage>;
  /** How many entries are queued. */
  size(): Promise<number>;
  /** Send the entries with these ids again; delivered ones leave the queue. */
  redrive(ids: readonly string[]): Promise<DashboardRedriveResult>;
}

/** The lead store, for its size: a `LeadStoreV1` fits as it is. */
export interface DashboardLeadsSource {
  /** How many leads are stored (exact, or the planner's estimate). */
  count(): Promise<LeadStoreCount>;
}

/** Everything the dashboard reads. Each is optional: a page without its source says so. */
export interface DashboardSources {
  /** Pipeline runs, with progress and per-provider use. */
  readonly runs?: DashboardRunsSource;
  /** Campaign funnels. */
  readonly campaigns?: DashboardCampaignsSource;
  /** The dead-letter queue and its redrive. */
  readonly deadLetters?: DashboardDeadLettersSource;
  /** The lead store. */
  readonly leads?: DashboardLeadsSource;
}

import type { ValidationIssue } from '../contracts/errors.js';
import type { LeadField } from '../contracts/fields.js';
import type { Lead } from '../contracts/lead.js';
import type { EnrichmentStatus, ProviderSkipReason } from './events.js';
import type { ProviderStats } from './stats.js';

/** What happened with one provider for one lead. */
export interface EnrichmentAttempt {
  /** The provider. */
  readonly providerId: string;
  /** The outcome. */
  readonly outcome: 'matched' | 'not_found' | 'pending_timeout' | 'failed' | 'skipped';
  /** Whether the answer came from the cache. */
  readonly cached: boolean;
  /** Credits this attempt cost (0 from the cache). */
  readonly credits: number;
  /** Fields this attempt filled. */
  readonly filled: readonly LeadField[];
  /** Why the provider was skipped. */
  readonly reason?: ProviderSkipReason;
  /** The failure, for `failed`. */
  readonly error?: {
    /** The error's stable code, such as `server_error`, `timeout` or `unauthorized`. */
    readonly code: string;
    /** The error's message, scrubbed of secrets. */
    readonly message: string;
  };
}

/** The result of enriching one lead. */
export interface EnrichmentOutcome {
  /** The lead with every merged field and its provenance. */
  readonly lead: Lead;
  /** `enriched`: every wanted field filled; `partial`: some; `unchanged`: none; `skipped`: not attempted. */
  readonly status: EnrichmentStatus;
  /** Wanted fields filled during this call. */
  readonly filled: readonly LeadField[];
  /** Wanted fields still missing (or below the confidence threshold). */
  readonly missing: readonly LeadField[];
  /** Credits spent on this lead. */
  readonly credits: number;
  /** One entry per provider considered, in order. */
  readonly attempts: readonly EnrichmentAttempt[];
  /** Provider values dropped because they failed validation. */
  readonly warnings: readonly (ValidationIssue & {
    /** Id of the provider whose value was dropped. */
    readonly providerId: string;
  })[];
  /** Why the lead was skipped, for `skipped`. */
  readonly skipReason?: string;
  /** Wall time spent on the lead, in ms. */
  readonly durationMs: number;
}

/** Stats of an engine since it was created. */
export interface EnrichmentStats {
  /** Per provider id. */
  readonly providers: Readonly<Record<string, ProviderStats>>;
  /** Leads per final status. */
  readonly leads: Readonly<Record<EnrichmentStatus, number>>;
  /** Credits spent in all. */
  readonly credits: number;
  /** Calls not made because of a budget. */
  readonly budgetSkips: number;
}

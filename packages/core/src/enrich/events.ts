import type { LeadField } from '../contracts/fields.js';

/**
 * Why the waterfall did not call a provider for a lead. `not_worth_cost`: the
 * cost-aware strategy expected too few missing fields from it per credit.
 */
export type ProviderSkipReason =
  | 'no_missing_fields'
  | 'missing_inputs'
  | 'disabled'
  | 'quota_exhausted'
  | 'circuit_open'
  | 'budget'
  | 'spill_over'
  | 'not_worth_cost';

/**
 * Every event the enrichment engine emits, with its payload. Payloads carry
 * ids and counts, never lead data or secrets. Listeners only observe: one
 * that throws is isolated and never breaks a run.
 */
export interface EnrichmentEvents {
  /** The engine started on a lead. */
  'enrichment.started': {
    /** Id of the lead being enriched. */
    leadId: string;
    /** Fields wanted (the call's `fields`, else the engine's), including ones the lead already has. */
    fields: readonly LeadField[];
  };
  /**
   * The engine finished a lead, whatever its status. Not emitted when
   * `enrich` rejects (abort or misuse).
   */
  'enrichment.finished': {
    /** Id of the lead. */
    leadId: string;
    /** How the lead's enrichment ended, as in the outcome. */
    status: EnrichmentStatus;
    /** Wanted fields filled during this call. */
    filled: readonly LeadField[];
    /** Wanted fields still missing or below `minConfidence`. */
    missing: readonly LeadField[];
    /** Credits spent on this lead in this call (0 when skipped or answered from the cache). */
    credits: number;
    /** Wall time spent on the lead, in ms (fractional). */
    durationMs: number;
  };
  /**
   * The engine is about to ask a provider about a lead. Emitted before the
   * call, so `cached` is a prediction: the `provider.matched` or
   * `provider.notFound` that follows says where the answer really came from.
   */
  'provider.attempted': {
    /** Id of the lead. */
    leadId: string;
    /** Id of the provider about to be asked. */
    providerId: string;
    /**
     * Whether the answer is expected to be free: a cache entry or an identical
     * call in flight existed when the engine decided. Budgets and spill-over
     * are not checked for such a call.
     */
    cached: boolean;
  };
  /** A provider found a lead. */
  'provider.matched': {
    /** Id of the lead. */
    leadId: string;
    /** Id of the provider that found it. */
    providerId: string;
    /**
     * Fields whose values were merged into the lead from this answer (values
     * that lost to the merge policy or failed validation are not listed).
     */
    fields: readonly LeadField[];
    /** The provider's overall confidence in the match, 0..1 (fields may carry their own). */
    confidence: number;
    /** Credits this answer cost, a pending lookup's first call included; 0 when `cached`. */
    credits: number;
    /** Whether the answer came from the cache or from an identical call already in flight. */
    cached: boolean;
  };
  /** A provider did not find a lead. */
  'provider.notFound': {
    /** Id of the lead. */
    leadId: string;
    /** Id of the provider that did not find it. */
    providerId: string;
    /** Credits the miss cost (non-zero where misses are billed); 0 when `cached`. */
    credits: number;
    /** Whether the answer came from the cache or from an identical call already in flight. */
    cached: boolean;
  };
  /** A provider accepted a lookup and will answer by webhook. */
  'provider.pending': {
    /** Id of the lead the lookup was made for. */
    leadId: string;
    /** Id of the provider that will answer by webhook. */
    providerId: string;
    /** Id the provider's webhook will carry; pass that webhook to `handleWebhook`. */
    correlationId: string;
  };
  /** A provider call failed after the limiter and retries gave up. */
  'provider.failed': {
    /** Id of the lead. */
    leadId: string;
    /** Id of the provider whose call failed. */
    providerId: string;
    /** The error's stable code, such as `server_error`, `timeout` or `unauthorized`. */
    code: string;
    /** The error's message, scrubbed of secrets. */
    message: string;
    /** Whether the error is of a transient kind; the engine's retries are already used up. */
    retryable: boolean;
  };
  /** The waterfall passed a provider over for a lead. */
  'provider.skipped': {
    /** Id of the lead. */
    leadId: string;
    /** Id of the provider passed over. */
    providerId: string;
    /** Why the provider was not called. */
    reason: ProviderSkipReason;
  };
  /** A provider answered 429; the limiter waits `waitMs` before trying again. */
  'provider.rateLimited': {
    /** Id of the provider that answered 429. */
    providerId: string;
    /**
     * How long the provider's limiter pauses before running the call again, in
     * ms: from `Retry-After` or the reported reset, else a doubling backoff.
     */
    waitMs: number;
  };
  /** A provider was taken out of the run (auth failure) or until its quota resets. */
  'provider.disabled': {
    /** Id of the provider taken out. */
    providerId: string;
    /**
     * Why: `unauthorized` or `forbidden` (out for the engine's lifetime) or
     * `quota_exceeded` (out until `untilMs`).
     */
    code: 'unauthorized' | 'forbidden' | 'quota_exceeded';
    /** The vendor error's message, for auth failures (never a secret). */
    message?: string;
    /**
     * When the provider may be called again, in epoch ms: now plus the error's
     * `retryAfterMs`, else plus `quotaCoolDownMs`. Absent for auth failures.
     */
    untilMs?: number;
  };
  /** A call was not made because it would pass a credit budget. */
  'budget.reached': {
    /** Which budget: `lead` (`budgets.perLead`) or `run` (`budgets.perRun`). */
    scope: 'lead' | 'run';
    /** Id of the lead whose call was not made. */
    leadId: string;
    /** Id of the provider that was not called. */
    providerId: string;
    /** Credits already spent against that budget: on this lead, or by the engine. */
    spent: number;
    /**
     * Credits held for calls in flight (`run` scope; 0 for `lead`): the check
     * counts them, so a call is refused when `spent + reserved + cost > budget`.
     */
    reserved: number;
    /** What the refused call could cost: the provider's `perRequest` plus `perMatch` price. */
    cost: number;
    /** The budget, in credits. */
    budget: number;
  };
  /** A provider's circuit breaker opened after repeated failures (or a failed probe). */
  'breaker.opened': {
    /** Id of the provider whose breaker opened. */
    providerId: string;
    /** How long the breaker stays open before letting one probe call through, in ms. */
    coolDownMs: number;
  };
  /** A provider's circuit breaker closed again after a successful probe. */
  'breaker.closed': {
    /** Id of the provider whose breaker closed. */
    providerId: string;
  };
  /** A provider returned field values that failed validation; they were dropped. */
  'provider.invalidOutput': {
    /** Id of the lead. */
    leadId: string;
    /** Id of the provider that returned the values. */
    providerId: string;
    /** One entry per dropped value (also in the outcome's `warnings`). */
    issues: readonly {
      /** Path of the field whose value was dropped, such as `email` or `company.domain`. */
      field: string;
      /** Why the value was refused, scrubbed of secrets. */
      reason: string;
    }[];
  };
}

/** How a lead's enrichment ended. */
export type EnrichmentStatus = 'enriched' | 'partial' | 'unchanged' | 'skipped';

/** Name of an enrichment event. */
export type EnrichmentEventName = keyof EnrichmentEvents;

/** A listener for event `E`. */
export type EnrichmentListener<E extends EnrichmentEventName> = (payload: EnrichmentEvents[E]) => void;

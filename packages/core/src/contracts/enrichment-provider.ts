import type { LeadField, LeadFieldPatch } from './fields.js';
import type { RateLimitPolicy, RateLimitState } from './rate-limit.js';
import type { InboundWebhookRequest } from './webhook.js';

/**
 * One way a provider can look a lead up: the fields it needs as input, and
 * the fields it can answer with given them. A provider that finds people by
 * email and companies by domain declares two lookups.
 */
export interface ProviderLookup {
  /** Every one of these must be present on the lead for the lookup to apply. */
  readonly requires: readonly LeadField[];
  /** Fields this lookup can supply. */
  readonly supplies: readonly LeadField[];
  /**
   * The lookup answers from its `requires` fields alone, and is the one to use
   * whenever it supplies every field still missing that the provider can
   * supply. The engine then sends only those fields, and caches and shares
   * the answer by them: a company lookup by domain is paid once per company,
   * not once per person who works there. Default false: the engine sends the
   * whole lead and the provider picks its endpoint.
   */
  readonly preferWhenSufficient?: boolean;
}

/** How a provider charges. Credits are the provider's own unit; fractions allowed. */
export interface ProviderCostModel {
  /** Credits charged for every request, matched or not. */
  readonly perRequest: number;
  /** Extra credits charged when a request matches. */
  readonly perMatch: number;
  /** Whether a miss (not_found) is charged `perMatch` too, as Clearbit bills 404s. */
  readonly chargesMisses: boolean;
}

/**
 * What a provider expects to find, as the starting point of the cost-aware
 * waterfall's learning (`strategy: 'cost-aware'`). Each share is the mean of a
 * Beta prior worth `weight` observations; the engine then learns the real
 * rates from the provider's answers during the run. Shares are between 0
 * and 1. Every key is optional; a provider that declares nothing is assumed
 * to match 70% of lookups and carry 70% of the fields it supplies.
 *
 * @example
 * ```ts
 * priors: { match: 0.85, fields: { title: 0.95, 'company.annualRevenue': 0.45 }, weight: 20 }
 * ```
 */
export interface ProviderHitRatePriors {
  /** Share of lookups expected to match (not `not_found`). Default 0.7. */
  readonly match?: number;
  /**
   * Per field: share of matched answers expected to carry the field (at a
   * confidence that counts). Fields the provider supplies but does not list
   * default to 0.7.
   */
  readonly fields?: Partial<Record<LeadField, number>>;
  /** How many observations the priors are worth: more, slower to move. Positive. Default 10. */
  readonly weight?: number;
}

/** What a provider can do: static facts the engine plans with. */
export interface ProviderCapabilities {
  /** The lookups the provider offers. The fields it can supply are their union. */
  readonly lookups: readonly ProviderLookup[];
  /** Most requests `doEnrichBatch` accepts in one call; 1 when there is no batch call. */
  readonly maxBatchSize: number;
  /** The provider's declared limits, corrected at run time from response headers. */
  readonly rateLimits: RateLimitPolicy;
  /** What calls cost. */
  readonly cost: ProviderCostModel;
  /**
   * Expected hit rates, the priors of the cost-aware waterfall. Optional:
   * the engine assumes 70% when absent, and learns the real rates either way.
   */
  readonly priors?: ProviderHitRatePriors;
}

/** The identity and fields a provider may read from a lead. */
export type ProviderLeadInput = LeadFieldPatch;

/** One lead to enrich. */
export interface EnrichRequest {
  /** The lead's id, echoed in results and webhooks. */
  readonly leadId: string;
  /** What is known about the lead. */
  readonly input: ProviderLeadInput;
  /** Fields still wanted. A provider may return more; extras are merged only where still empty. */
  readonly fields: readonly LeadField[];
}

/** Options the engine passes to every call. */
export interface EnrichCallOptions {
  /** Aborts the call. Providers must pass it to their HTTP client. */
  readonly signal?: AbortSignal;
  /**
   * Report what response headers said about limits (on success and failure
   * alike). The engine's limiter uses it to pace later calls.
   */
  readonly onRateLimit?: (state: RateLimitState) => void;
  /** Options for this provider only, namespaced by provider id by the caller. */
  readonly providerOptions?: Readonly<Record<string, unknown>>;
}

/** A provider found the lead. */
export interface EnrichMatched {
  /** Tells a match from a miss or a pending lookup. */
  readonly status: 'matched';
  /** Field values found. Validated with zod by the engine before use. */
  readonly fields: LeadFieldPatch;
  /** Overall confidence of the match, 0..1. */
  readonly confidence: number;
  /** Per-field confidence where the provider knows better than the overall figure. */
  readonly fieldConfidence?: Partial<Record<LeadField, number>>;
  /** Credits this call cost. */
  readonly credits: number;
  /** The vendor's payload, for audit and debugging. */
  readonly raw?: unknown;
}

/** A provider looked and did not find the lead. */
export interface EnrichNotFound {
  /** Tells a miss from a match or a pending lookup. */
  readonly status: 'not_found';
  /** Credits this call cost (non-zero where misses are billed). */
  readonly credits: number;
  /** The vendor's payload. */
  readonly raw?: unknown;
}

/**
 * A provider accepted the lookup and will answer later, through a webhook
 * carrying `correlationId`.
 */
export interface EnrichPending {
  /** Tells a lookup to be answered by webhook from a match or a miss. */
  readonly status: 'pending';
  /** Id the later webhook will carry, to resolve this request. */
  readonly correlationId: string;
  /** Credits this call cost so far. */
  readonly credits: number;
  /** The vendor's payload. */
  readonly raw?: unknown;
}

/** The answer to one {@link EnrichRequest}. */
export type EnrichResult = EnrichMatched | EnrichNotFound | EnrichPending;

/** A webhook resolved a pending request: the final answer for `correlationId`. */
export interface WebhookResolution {
  /** The correlation id from the pending result. */
  readonly correlationId: string;
  /** The final result; never `pending`. */
  readonly result: EnrichMatched | EnrichNotFound;
}

/**
 * A data provider that enriches leads: the contract every enrichment adapter
 * implements (version 1). Methods are prefixed `do` because the engine calls
 * them, wrapped in limits, retries, caching and validation; host code should
 * go through the engine.
 */
export interface EnrichmentProviderV1 {
  /** Contract version. */
  readonly specificationVersion: 'v1';
  /** Stable id, such as `apollo`. Used for limits, cache keys, provenance and stats. */
  readonly providerId: string;
  /** What the provider can do. */
  readonly capabilities: ProviderCapabilities;
  /**
   * A key identifying the credential in use (a hash, never the secret), so
   * limiters are per provider and key. Optional; defaults to `default`.
   */
  readonly limiterKey?: () => string;
  /** Enrich one lead. Rejects with a `LeadpipeError` on failure. */
  doEnrich(request: EnrichRequest, options: EnrichCallOptions): PromiseLike<EnrichResult>;
  /**
   * Enrich up to `capabilities.maxBatchSize` leads in one call. Results come
   * back in request order, one per request.
   */
  doEnrichBatch?(requests: readonly EnrichRequest[], options: EnrichCallOptions): PromiseLike<EnrichResult[]>;
  /**
   * Verify and parse an inbound webhook for this provider. Rejects with a
   * `WebhookVerificationError` when the signature is missing or wrong.
   */
  doHandleWebhook?(request: InboundWebhookRequest): PromiseLike<WebhookResolution[]>;
  /**
   * Release what the provider holds (timers, pending lookups, connections).
   * Whoever built the provider calls it once, when done with it; a provider
   * that holds nothing leaves it out. Faces call `provider.close?.()`.
   */
  close?(): Promise<void>;
}

/** The current enrichment provider contract. */
export type EnrichmentProvider = EnrichmentProviderV1;

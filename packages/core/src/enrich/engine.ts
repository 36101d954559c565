import { setMaxListeners } from 'node:events';
import type { Cache } from '../contracts/cache.js';
import type {
  EnrichCallOptions,
  EnrichMatched,
  EnrichmentProviderV1,
  EnrichNotFound,
  EnrichRequest,
  EnrichResult,
} from '../contracts/enrichment-provider.js';
import {
  ApiCallError,
  CircuitOpenError,
  ConfigurationError,
  LeadpipeError,
  ValidationError,
  type ValidationIssue,
  WebhookVerificationError,
} from '../contracts/errors.js';
import { isLeadField, LEAD_FIELDS, type LeadField, type LeadFieldPatch } from '../contracts/fields.js';
import type { FieldProvenance, Lead } from '../contracts/lead.js';
import type { RateLimitState } from '../contracts/rate-limit.js';
import type { InboundWebhookRequest, WebhookResponse } from '../contracts/webhook.js';
import { SafeEventBus } from '../events/safe-event-bus.js';
import { applyLeadFields, flattenLead, getLeadField, leadIdentityKey } from '../lead/index.js';
import {
  type CircuitBreaker,
  createCircuitBreaker,
  createLimiterRegistry,
  type LimiterRegistry,
  type LimiterRegistryOptions,
  type ProviderLimiter,
  withRetry,
} from '../limits/index.js';
import { createMemoryCache } from '../stores/memory-cache.js';
import { MicroBatcher } from './batcher.js';
import type {
  EnrichmentEventName,
  EnrichmentEvents,
  EnrichmentStatus,
  ProviderSkipReason,
} from './events.js';
import { PendingLookups } from './pending.js';
import { type ProviderStats, ProviderStatsCounter } from './stats.js';
import { validateEnrichResult } from './validate-result.js';

/** How field values from several providers are merged. */
export type MergePolicy = 'first' | 'highestConfidence';

/** Options of {@link createEnrichmentEngine}. */
export interface EnrichmentEngineOptions {
  /** Providers, in the order the waterfall tries them. Ids must be unique. */
  readonly providers: readonly EnrichmentProviderV1[];
  /** Fields to fill when a call does not say. Default: every field some provider can supply. */
  readonly fields?: readonly LeadField[];
  /** A field counts as filled at or above this confidence. Default 0.5. */
  readonly minConfidence?: number;
  /**
   * `first` (default): the first provider (by order) to fill a field at or
   * above `minConfidence` keeps it. `highestConfidence`: a later provider's
   * value replaces an earlier one when it is more confident.
   */
  readonly mergePolicy?: MergePolicy;
  /**
   * Provider order per field, by provider id, such as
   * `{ email: ['apollo'], 'company.headcount': ['clearbit', 'apollo'] }`.
   * Providers not listed follow in the main order.
   */
  readonly fieldOrder?: Partial<Record<LeadField, readonly string[]>>;
  /** Credit budgets. A call that could pass one is not made, and the outcome says so. */
  readonly budgets?: {
    /** Most credits spent on one lead. */
    readonly perLead?: number;
    /** Most credits spent in this engine's lifetime (one run). */
    readonly perRun?: number;
  };
  /** Leads to leave alone: return `true` (or a reason) to skip a lead. */
  readonly skip?: (lead: Lead) => boolean | string;
  /** Result cache. Default: an in-memory LRU. `false` turns caching off (not recommended: you pay twice). */
  readonly cache?: Cache | false;
  /** How long matches stay cached, in ms. Default 30 days. */
  readonly cacheTtlMs?: number;
  /** How long misses stay cached, in ms. Default 1 day. */
  readonly notFoundTtlMs?: number;
  /**
   * Limiter settings: pass `connection` (a Bottleneck Redis or IORedis
   * connection) so several processes share each provider's quota.
   */
  readonly limits?: Omit<LimiterRegistryOptions, 'onEvent'>;
  /** Retries of 5xx, timeouts and network errors (never 429: the limiter owns those). */
  readonly retry?: {
    /** Retries after the first attempt. Default 3. */
    readonly retries?: number;
    /** Backoff before the first retry, in ms (doubles each retry, with jitter). Default 1 000. */
    readonly minTimeoutMs?: number;
    /** Longest backoff, in ms. Default 30 000. */
    readonly maxTimeoutMs?: number;
  };
  /** Circuit breaker per provider. Default: opens after 5 consecutive failures for 30 s. */
  readonly breaker?: {
    /**
     * Consecutive failed calls that open a provider's circuit. Counted: 5xx,
     * timeouts, network errors, invalid responses, 429s the limiter gave up on,
     * and errors that are not leadpipe errors. Default 5.
     */
    readonly failureThreshold?: number;
    /** How long an open circuit stays open before one probe call, in ms. Default 30 000. */
    readonly coolDownMs?: number;
  };
  /**
   * Spill-over (off by default): when a provider's queue would make a lead
   * wait longer than `maxQueueWaitMs`, the next capable provider takes it.
   */
  readonly spillOver?:
    | {
        /** Longest estimated wait for a provider's limiter, in ms, before another provider takes the lead. */
        readonly maxQueueWaitMs: number;
      }
    | false;
  /** How long a lead waits for company before a batch call goes out, in ms. Default 10. */
  readonly batchLingerMs?: number;
  /** How long to wait for a webhook after a `pending` answer, in ms. Default 120 s. */
  readonly pendingTimeoutMs?: number;
  /** How long a provider out of quota stays out when the vendor gave no reset, in ms. Default 1 hour. */
  readonly quotaCoolDownMs?: number;
  /** Options passed to each provider, keyed by provider id. */
  readonly providerOptions?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Told when an event listener throws. Default: ignored. */
  readonly onListenerError?: (error: unknown, event: string) => void;
  /** Clock for timestamps. Default `() => new Date()`. */
  readonly now?: () => Date;
}

/** Options of one `enrich` call. */
export interface EnrichOptions {
  /** Fields wanted for this lead; default the engine's `fields`. */
  readonly fields?: readonly LeadField[];
  /** Cancels queued and in-flight work for this lead. */
  readonly signal?: AbortSignal;
}

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

/** The waterfall enrichment engine. Create with {@link createEnrichmentEngine}. */
export interface EnrichmentEngine {
  /** Enrich one lead. Rejects only on abort or misuse; provider failures end in the outcome. */
  enrich(lead: Lead, options?: EnrichOptions): Promise<EnrichmentOutcome>;
  /**
   * Enrich many leads with at most `concurrency` (default 16) in flight,
   * yielding outcomes as they finish. Reads the source only as fast as it
   * enriches, so memory stays bounded.
   */
  enrichMany(
    leads: Iterable<Lead> | AsyncIterable<Lead>,
    options?: {
      readonly concurrency?: number;
      readonly fields?: readonly LeadField[];
      readonly signal?: AbortSignal;
    },
  ): AsyncIterable<EnrichmentOutcome>;
  /**
   * Take an inbound webhook for `providerId` (framework-agnostic): verify it,
   * resolve the pending lookups it answers, and tell the host what to reply.
   */
  handleWebhook(providerId: string, request: InboundWebhookRequest): Promise<WebhookResponse>;
  /** Listen to an event. Returns a function that removes the listener. */
  on<E extends EnrichmentEventName>(event: E, listener: (payload: EnrichmentEvents[E]) => void): () => void;
  /** Stats so far. */
  stats(): EnrichmentStats;
  /** Stop waiting for webhooks and release limiters (and their Redis connections). */
  close(): Promise<void>;
}

interface ProviderState {
  readonly provider: EnrichmentProviderV1;
  readonly stats: ProviderStatsCounter;
  readonly breaker: CircuitBreaker;
  limiter?: ProviderLimiter;
  batcher?: MicroBatcher<EnrichRequest, EnrichResult>;
  disabled?: { code: string };
  unavailableUntil?: number;
  /** Calls decided on but not started yet (for spill-over estimates). */
  waiting: number;
  /** Smallest spacing between calls the declared windows allow, in ms. */
  readonly paceMs: number;
}

interface CallAnswer {
  readonly result: EnrichMatched | EnrichNotFound | undefined;
  readonly cached: boolean;
  readonly credits: number;
  readonly issues: readonly ValidationIssue[];
  readonly timedOut: boolean;
}

const CACHE_PREFIX = 'leadpipe:enrich:v1:';
const HEALTH_FAILURES = new Set([
  'server_error',
  'timeout',
  'network_error',
  'invalid_response',
  'rate_limited',
]);

function toLeadpipeError(error: unknown, providerId: string): LeadpipeError {
  if (LeadpipeError.isInstance(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ApiCallError('invalid_response', {
    message: `Provider "${providerId}" failed: ${message}`,
    providerId,
    cause: error,
    isRetryable: false,
  });
}

function abortError(signal: AbortSignal | undefined): ApiCallError {
  return new ApiCallError('aborted', { message: 'Enrichment was aborted', cause: signal?.reason });
}

/**
 * Create the waterfall enrichment engine: providers tried in order, each
 * call behind a limiter (quota and 429), retries (5xx, timeouts, network)
 * and a circuit breaker, with caching, coalescing, batching, budgets,
 * per-field provider order and typed events.
 *
 * @example
 * ```ts
 * const engine = createEnrichmentEngine({ providers: [apollo, clearbit], fields: ['title', 'company.headcount'] });
 * const outcome = await engine.enrich(createLead({ email: 'ada@acme.com' }));
 * console.log(outcome.lead.title, outcome.lead.provenance.title);
 * ```
 */
export function createEnrichmentEngine(options: EnrichmentEngineOptions): EnrichmentEngine {
  validateOptions(options);
  const now = options.now ?? (() => new Date());
  const minConfidence = options.minConfidence ?? 0.5;
  const mergePolicy = options.mergePolicy ?? 'first';
  const cache = options.cache === false ? undefined : (options.cache ?? createMemoryCache());
  const cacheTtlMs = options.cacheTtlMs ?? 30 * 24 * 3_600_000;
  const notFoundTtlMs = options.notFoundTtlMs ?? 24 * 3_600_000;
  const pendingTimeoutMs = options.pendingTimeoutMs ?? 120_000;
  const quotaCoolDownMs = options.quotaCoolDownMs ?? 3_600_000;
  const batchLingerMs = options.batchLingerMs ?? 10;
  const order = options.providers.map((provider) => provider.providerId);
  const bus = new SafeEventBus<EnrichmentEvents>(options.onListenerError);
  const pending = new PendingLookups();
  const inFlight = new Map<string, Promise<CallAnswer>>();
  const leadCounts: Record<EnrichmentStatus, number> = { enriched: 0, partial: 0, unchanged: 0, skipped: 0 };
  let runCredits = 0;
  let reservedCredits = 0;
  let budgetSkips = 0;

  const states = new Map<string, ProviderState>();
  for (const provider of options.providers) {
    const providerId = provider.providerId;
    states.set(providerId, {
      provider,
      waiting: 0,
      paceMs: paceOf(provider.capabilities.rateLimits),
      stats: new ProviderStatsCounter(),
      breaker: createCircuitBreaker({
        failureThreshold: options.breaker?.failureThreshold ?? 5,
        coolDownMs: options.breaker?.coolDownMs ?? 30_000,
        onStateChange: (state) => {
          if (state === 'open') {
            bus.emit('breaker.opened', { providerId, coolDownMs: options.breaker?.coolDownMs ?? 30_000 });
          } else if (state === 'closed') {
            bus.emit('breaker.closed', { providerId });
          }
        },
      }),
    });
  }

  const registry: LimiterRegistry = createLimiterRegistry({
    ...options.limits,
    onEvent: (event) => {
      if (event.type === 'rateLimited') {
        const state = states.get(event.id);
        if (state) state.stats.rateLimited += 1;
        bus.emit('provider.rateLimited', { providerId: event.id, waitMs: event.waitMs });
      }
    },
  });

  const defaultFields: readonly LeadField[] = options.fields ?? [
    ...new Set(options.providers.flatMap((p) => p.capabilities.lookups.flatMap((l) => l.supplies))),
  ];

  function limiterOf(state: ProviderState): ProviderLimiter {
    state.limiter ??= registry.get(
      state.provider.providerId,
      state.provider.limiterKey?.() ?? 'default',
      state.provider.capabilities.rateLimits,
    );
    return state.limiter;
  }

  function callOptions(state: ProviderState, signal: AbortSignal | undefined): EnrichCallOptions {
    const limiter = limiterOf(state);
    return {
      signal,
      onRateLimit: (rateLimit: RateLimitState) => limiter.update(rateLimit),
      providerOptions: options.providerOptions?.[state.provider.providerId],
    };
  }

  /** One guarded call: breaker, then retry around the limiter around the provider. */
  async function guarded<T>(
    state: ProviderState,
    requests: number,
    signal: AbortSignal | undefined,
    call: () => PromiseLike<T>,
    onStart?: () => void,
  ): Promise<T> {
    const providerId = state.provider.providerId;
    if (!state.breaker.canRequest()) throw new CircuitOpenError(providerId, state.breaker.retryAfterMs());
    const limiter = limiterOf(state);
    try {
      const value = await withRetry(
        () =>
          limiter.schedule(
            async () => {
              onStart?.();
              state.stats.calls += 1;
              state.stats.requests += requests;
              const started = performance.now();
              try {
                return await call();
              } finally {
                state.stats.latency.record(performance.now() - started);
              }
            },
            { signal },
          ),
        { ...options.retry, signal },
      );
      state.breaker.recordSuccess();
      return value;
    } catch (error) {
      const failure = toLeadpipeError(error, providerId);
      if (HEALTH_FAILURES.has(failure.code) || !LeadpipeError.isInstance(error))
        state.breaker.recordFailure();
      throw failure;
    }
  }

  function batcherOf(state: ProviderState): MicroBatcher<EnrichRequest, EnrichResult> {
    const batch = state.provider.doEnrichBatch;
    state.batcher ??= new MicroBatcher<EnrichRequest, EnrichResult>({
      maxBatchSize: state.provider.capabilities.maxBatchSize,
      lingerMs: batchLingerMs,
      // A batch is shared by several leads, so no single lead's signal aborts it; a lead
      // aborted while still waiting simply leaves the batch before it goes out.
      run: (take) =>
        guarded(state, 0, undefined, async () => {
          const requests = take();
          state.stats.requests += requests.length;
          if (requests.length === 0) return [];
          if (requests.length === 1 || !batch) {
            return [await state.provider.doEnrich(requests[0]!, callOptions(state, undefined))];
          }
          return batch.call(state.provider, requests, callOptions(state, undefined));
        }),
    });
    return state.batcher;
  }

  function estimateCost(state: ProviderState): number {
    const cost = state.provider.capabilities.cost;
    return cost.perRequest + cost.perMatch;
  }

  async function fetchAnswer(
    state: ProviderState,
    request: EnrichRequest,
    signal: AbortSignal | undefined,
    onStart: () => void,
  ): Promise<CallAnswer> {
    const providerId = state.provider.providerId;
    const raw: EnrichResult =
      state.provider.doEnrichBatch && state.provider.capabilities.maxBatchSize > 1
        ? await batcherOf(state).submit(request, signal)
        : await guarded(
            state,
            1,
            signal,
            () => state.provider.doEnrich(request, callOptions(state, signal)),
            onStart,
          );
    const validated = validateEnrichResult(providerId, raw);
    const credits = validated.result.credits;
    state.stats.credits += credits;
    runCredits += credits;
    if (validated.result.status === 'pending') {
      state.stats.pending += 1;
      const correlationId = validated.result.correlationId;
      bus.emit('provider.pending', { leadId: request.leadId, providerId, correlationId });
      const final = await pending.wait(providerId, correlationId, pendingTimeoutMs, signal);
      if (!final)
        return { result: undefined, cached: false, credits, issues: validated.issues, timedOut: true };
      const finalValidated = validateEnrichResult(providerId, final);
      const finalResult = finalValidated.result as EnrichMatched | EnrichNotFound;
      state.stats.credits += finalResult.credits;
      runCredits += finalResult.credits;
      return {
        result: finalResult,
        cached: false,
        credits: credits + finalResult.credits,
        issues: finalValidated.issues,
        timedOut: false,
      };
    }
    return { result: validated.result, cached: false, credits, issues: validated.issues, timedOut: false };
  }

  async function answerFor(
    state: ProviderState,
    request: EnrichRequest,
    signal: AbortSignal | undefined,
    onStart: () => void,
  ): Promise<CallAnswer> {
    const providerId = state.provider.providerId;
    const identity = leadIdentityKey(request.input);
    const key = identity === undefined ? undefined : `${CACHE_PREFIX}${providerId}:${identity}`;
    if (key !== undefined && cache) {
      const hit = await cache.get(key);
      if (hit !== undefined) {
        try {
          const validated = validateEnrichResult(providerId, hit);
          if (validated.result.status !== 'pending') {
            state.stats.cacheHits += 1;
            return {
              result: validated.result,
              cached: true,
              credits: 0,
              issues: validated.issues,
              timedOut: false,
            };
          }
        } catch {
          await cache.delete(key);
        }
      }
    }
    const shared = key === undefined ? undefined : inFlight.get(key);
    if (shared) {
      const answer = await shared;
      return { ...answer, cached: true, credits: 0 };
    }
    const promise = fetchAnswer(state, request, signal, onStart).then(async (answer) => {
      if (key !== undefined && cache && answer.result) {
        const { raw: _raw, ...stored } = answer.result;
        await cache.set(key, stored, answer.result.status === 'matched' ? cacheTtlMs : notFoundTtlMs);
      }
      return answer;
    });
    if (key !== undefined) {
      inFlight.set(key, promise);
      promise.then(
        () => inFlight.delete(key),
        () => inFlight.delete(key),
      );
    }
    return promise;
  }

  function suppliable(provider: EnrichmentProviderV1, known: ReadonlySet<string>): Set<LeadField> {
    const fields = new Set<LeadField>();
    for (const lookup of provider.capabilities.lookups) {
      if (lookup.requires.every((field) => known.has(field)))
        for (const field of lookup.supplies) fields.add(field);
    }
    return fields;
  }

  /**
   * What to send `provider` for the `missing` fields: the whole lead, unless
   * a lookup marked `preferWhenSufficient` that the lead can use supplies
   * every missing field the provider can. Then only that lookup's required
   * fields are sent, so the request, its cache entry and its credits are
   * shared by every lead with the same values: a company's fields asked by
   * domain cost one lookup per company, not one per person.
   */
  function requestInput(
    provider: EnrichmentProviderV1,
    missing: readonly LeadField[],
    known: ReadonlySet<string>,
    flat: LeadFieldPatch,
  ): LeadFieldPatch {
    const usable = provider.capabilities.lookups.filter((lookup) =>
      lookup.requires.every((field) => known.has(field)),
    );
    if (!usable.some((lookup) => lookup.preferWhenSufficient === true)) return flat;
    const sought = missing.filter((field) => usable.some((lookup) => lookup.supplies.includes(field)));
    const sufficient = usable.find(
      (lookup) =>
        lookup.preferWhenSufficient === true && sought.every((field) => lookup.supplies.includes(field)),
    );
    if (sufficient === undefined) return flat;
    const input: Record<string, unknown> = {};
    for (const field of sufficient.requires) input[field] = flat[field as keyof LeadFieldPatch];
    return input as LeadFieldPatch;
  }

  function isFilled(lead: Lead, field: LeadField): boolean {
    if (getLeadField(lead, field) === undefined) return false;
    return (lead.provenance[field]?.confidence ?? 1) >= minConfidence;
  }

  function nextProvider(
    missing: readonly LeadField[],
    known: ReadonlySet<string>,
    tried: ReadonlySet<string>,
  ): ProviderState | undefined {
    for (const field of missing) {
      const preferred = options.fieldOrder?.[field] ?? [];
      for (const providerId of [...preferred, ...order]) {
        if (tried.has(providerId)) continue;
        const state = states.get(providerId);
        if (state && suppliable(state.provider, known).has(field)) return state;
      }
    }
    return undefined;
  }

  function unavailability(state: ProviderState): ProviderSkipReason | undefined {
    if (state.disabled) return 'disabled';
    if (state.unavailableUntil !== undefined) {
      if (Date.now() < state.unavailableUntil) return 'quota_exhausted';
      state.unavailableUntil = undefined;
    }
    if (state.breaker.state() === 'open') return 'circuit_open';
    return undefined;
  }

  function merge(
    lead: Lead,
    result: EnrichMatched,
    providerId: string,
    credits: number,
    wanted: ReadonlySet<LeadField>,
  ): { lead: Lead; filled: LeadField[]; issues: ValidationIssue[] } {
    const at = now();
    const patch: Record<string, unknown> = {};
    const provenance: Partial<Record<LeadField, FieldProvenance>> = {};
    for (const [key, value] of Object.entries(result.fields)) {
      if (!isLeadField(key) || value === undefined) continue;
      const confidence = result.fieldConfidence?.[key] ?? result.confidence;
      const present = getLeadField(lead, key) !== undefined;
      const existing = present ? (lead.provenance[key]?.confidence ?? 1) : -1;
      let take: boolean;
      if (!present) take = true;
      else if (!wanted.has(key)) take = false;
      else if (mergePolicy === 'highestConfidence') take = confidence > existing;
      else take = existing < minConfidence && confidence > existing;
      if (!take) continue;
      patch[key] = value;
      provenance[key] = { providerId, confidence, at: at.toISOString(), credits };
    }
    // Values passed the field schemas; the lead model also canonicalizes them (phone plans,
    // free-mail domains, headcount ranges). A value it refuses is dropped with a warning, so one
    // bad value never costs the others, and never the lead.
    const issues: ValidationIssue[] = [];
    for (let round = 0; round < 3; round++) {
      const filled = Object.keys(patch) as LeadField[];
      if (filled.length === 0) return { lead, filled, issues };
      try {
        return { lead: applyLeadFields(lead, patch as LeadFieldPatch, provenance, at), filled, issues };
      } catch (error) {
        if (!ValidationError.isInstance(error)) throw error;
        let dropped = false;
        for (const issue of error.issues) {
          const field = LEAD_FIELDS.find(
            (name) => issue.field === name || issue.field.startsWith(`${name}.`),
          );
          if (field !== undefined && field in patch) {
            delete patch[field];
            delete provenance[field];
            dropped = true;
          }
          issues.push(issue);
        }
        if (!dropped) break;
      }
    }
    return { lead, filled: [], issues };
  }

  async function enrich(lead: Lead, enrichOptions: EnrichOptions = {}): Promise<EnrichmentOutcome> {
    const signal = enrichOptions.signal;
    const started = performance.now();
    const wantedList = enrichOptions.fields ?? defaultFields;
    for (const field of wantedList) {
      if (!isLeadField(field)) {
        throw new ConfigurationError('invalid_configuration', {
          message: `fields: "${field}" is not a Lead field`,
        });
      }
    }
    const wanted = new Set(wantedList);
    bus.emit('enrichment.started', { leadId: lead.id, fields: wantedList });
    const finish = (outcome: Omit<EnrichmentOutcome, 'durationMs'>): EnrichmentOutcome => {
      const done = { ...outcome, durationMs: performance.now() - started };
      leadCounts[done.status] += 1;
      bus.emit('enrichment.finished', {
        leadId: lead.id,
        status: done.status,
        filled: done.filled,
        missing: done.missing,
        credits: done.credits,
        durationMs: done.durationMs,
      });
      return done;
    };

    const skip = options.skip?.(lead);
    if (skip) {
      return finish({
        lead,
        status: 'skipped',
        filled: [],
        missing: wantedList.filter((field) => !isFilled(lead, field)),
        credits: 0,
        attempts: [],
        warnings: [],
        skipReason: typeof skip === 'string' ? skip : 'skip rule',
      });
    }

    let current = lead;
    let leadCredits = 0;
    const initiallyMissing = new Set(wantedList.filter((field) => !isFilled(lead, field)));
    const filledNow = new Set<LeadField>();
    const tried = new Set<string>();
    const attempts: EnrichmentAttempt[] = [];
    const warnings: (ValidationIssue & { providerId: string })[] = [];
    const skipAttempt = (state: ProviderState, reason: ProviderSkipReason) => {
      attempts.push({
        providerId: state.provider.providerId,
        outcome: 'skipped',
        cached: false,
        credits: 0,
        filled: [],
        reason,
      });
      bus.emit('provider.skipped', { leadId: lead.id, providerId: state.provider.providerId, reason });
    };

    for (;;) {
      if (signal?.aborted) throw abortError(signal);
      const missing = wantedList.filter((field) => !isFilled(current, field));
      if (missing.length === 0) break;
      const flat = flattenLead(current);
      const known = new Set(Object.keys(flat));
      const state = nextProvider(missing, known, tried);
      if (!state) break;
      const providerId = state.provider.providerId;
      tried.add(providerId);

      const unavailable = unavailability(state);
      if (unavailable) {
        skipAttempt(state, unavailable);
        continue;
      }
      const estimate = estimateCost(state);
      const input = requestInput(state.provider, missing, known, flat);
      const identity = leadIdentityKey(input);
      const cacheKey = identity === undefined ? undefined : `${CACHE_PREFIX}${providerId}:${identity}`;
      const mayBeFree =
        cacheKey !== undefined &&
        (inFlight.has(cacheKey) || (cache !== undefined && (await cache.get(cacheKey)) !== undefined));
      // From here to the call, nothing awaits: budget reservations and queue estimates stay exact under concurrency.
      if (!mayBeFree) {
        const spillOver = options.spillOver;
        if (spillOver) {
          const limiter = limiterOf(state);
          const notQueued = Math.max(0, state.waiting - limiter.stats().queued);
          const wait = limiter.estimatedWaitMs() + notQueued * state.paceMs;
          if (wait > spillOver.maxQueueWaitMs) {
            const alternative = nextProvider(missing, known, tried);
            if (alternative && !unavailability(alternative)) {
              skipAttempt(state, 'spill_over');
              continue;
            }
          }
        }
        const perLead = options.budgets?.perLead;
        const perRun = options.budgets?.perRun;
        let scope: 'lead' | 'run' | undefined;
        if (estimate > 0 && perLead !== undefined && leadCredits + estimate > perLead) scope = 'lead';
        else if (estimate > 0 && perRun !== undefined && runCredits + reservedCredits + estimate > perRun)
          scope = 'run';
        if (scope) {
          budgetSkips += 1;
          state.stats.budgetSkips += 1;
          bus.emit('budget.reached', {
            scope,
            leadId: lead.id,
            providerId,
            spent: scope === 'lead' ? leadCredits : runCredits,
            reserved: scope === 'lead' ? 0 : reservedCredits,
            cost: estimate,
            budget: (scope === 'lead' ? perLead : perRun) ?? 0,
          });
          skipAttempt(state, 'budget');
          continue;
        }
      }
      const reserved = mayBeFree ? 0 : estimate;
      reservedCredits += reserved;
      state.waiting += 1;
      let started = false;
      const onStart = () => {
        if (!started) {
          started = true;
          state.waiting -= 1;
        }
      };

      bus.emit('provider.attempted', { leadId: lead.id, providerId, cached: mayBeFree });
      const request: EnrichRequest = { leadId: lead.id, input, fields: missing };
      let answer: CallAnswer;
      try {
        answer = await answerFor(state, request, signal, onStart);
      } catch (error) {
        if (signal?.aborted) throw abortError(signal);
        const failure = toLeadpipeError(error, providerId);
        if (ApiCallError.isInstance(failure) && failure.code === 'aborted') throw failure;
        if (CircuitOpenError.isInstance(failure)) {
          skipAttempt(state, 'circuit_open');
          continue;
        }
        state.stats.errors += 1;
        if (failure.code === 'unauthorized' || failure.code === 'forbidden') {
          state.disabled = { code: failure.code };
          bus.emit('provider.disabled', { providerId, code: failure.code });
        } else if (failure.code === 'quota_exceeded') {
          state.unavailableUntil = Date.now() + (failure.retryAfterMs ?? quotaCoolDownMs);
          bus.emit('provider.disabled', { providerId, code: failure.code, untilMs: state.unavailableUntil });
        }
        attempts.push({
          providerId,
          outcome: 'failed',
          cached: false,
          credits: 0,
          filled: [],
          error: { code: failure.code, message: failure.message },
        });
        bus.emit('provider.failed', {
          leadId: lead.id,
          providerId,
          code: failure.code,
          message: failure.message,
          retryable: failure.isRetryable,
        });
        continue;
      } finally {
        reservedCredits -= reserved;
        onStart();
      }

      leadCredits += answer.credits;
      for (const issue of answer.issues) warnings.push({ ...issue, providerId });
      if (answer.issues.length > 0)
        bus.emit('provider.invalidOutput', { leadId: lead.id, providerId, issues: answer.issues });
      if (answer.timedOut || !answer.result) {
        attempts.push({
          providerId,
          outcome: 'pending_timeout',
          cached: false,
          credits: answer.credits,
          filled: [],
        });
        continue;
      }
      if (answer.result.status === 'not_found') {
        state.stats.misses += 1;
        attempts.push({
          providerId,
          outcome: 'not_found',
          cached: answer.cached,
          credits: answer.credits,
          filled: [],
        });
        bus.emit('provider.notFound', {
          leadId: lead.id,
          providerId,
          credits: answer.credits,
          cached: answer.cached,
        });
        continue;
      }
      state.stats.matches += 1;
      const merged = merge(current, answer.result, providerId, answer.credits, wanted);
      current = merged.lead;
      if (merged.issues.length > 0) {
        for (const issue of merged.issues) warnings.push({ ...issue, providerId });
        bus.emit('provider.invalidOutput', { leadId: lead.id, providerId, issues: merged.issues });
      }
      for (const field of merged.filled) if (wanted.has(field)) filledNow.add(field);
      attempts.push({
        providerId,
        outcome: 'matched',
        cached: answer.cached,
        credits: answer.credits,
        filled: merged.filled,
      });
      bus.emit('provider.matched', {
        leadId: lead.id,
        providerId,
        fields: merged.filled,
        confidence: answer.result.confidence,
        credits: answer.credits,
        cached: answer.cached,
      });
    }

    if (bus.hasListeners('provider.skipped')) {
      const known = new Set(Object.keys(flattenLead(current)));
      for (const providerId of order) {
        if (tried.has(providerId)) continue;
        const provider = states.get(providerId)!.provider;
        const usable = suppliable(provider, known);
        const wouldHelp = provider.capabilities.lookups.some((l) =>
          l.supplies.some((f) => initiallyMissing.has(f)),
        );
        const couldHaveHelped = initiallyMissing.size > 0 && [...initiallyMissing].some((f) => usable.has(f));
        bus.emit('provider.skipped', {
          leadId: lead.id,
          providerId,
          reason: wouldHelp && !couldHaveHelped ? 'missing_inputs' : 'no_missing_fields',
        });
      }
    }

    const missing = wantedList.filter((field) => !isFilled(current, field));
    const status: EnrichmentStatus =
      filledNow.size === 0 ? 'unchanged' : missing.length === 0 ? 'enriched' : 'partial';
    return finish({
      lead: current,
      status,
      filled: [...filledNow],
      missing,
      credits: leadCredits,
      attempts,
      warnings,
    });
  }

  async function* enrichMany(
    leads: Iterable<Lead> | AsyncIterable<Lead>,
    manyOptions: { concurrency?: number; fields?: readonly LeadField[]; signal?: AbortSignal } = {},
  ): AsyncIterable<EnrichmentOutcome> {
    const concurrency = manyOptions.concurrency ?? 16;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new ConfigurationError('invalid_configuration', {
        message: `concurrency: must be a positive integer, got ${concurrency}`,
      });
    }
    const iterator =
      Symbol.asyncIterator in leads
        ? (leads as AsyncIterable<Lead>)[Symbol.asyncIterator]()
        : (leads as Iterable<Lead>)[Symbol.iterator]();
    const running = new Map<number, Promise<{ id: number; outcome: EnrichmentOutcome }>>();
    // The leads in flight listen to one run signal of our own (a few listeners each, removed when they
    // finish), which follows the caller's through a single listener: the caller's signal never collects
    // more than one, and Node's more-than-10-listeners warning does not fire for a bounded run.
    const userSignal = manyOptions.signal;
    const controller = userSignal === undefined ? undefined : new AbortController();
    const onAbort = () => controller?.abort(userSignal?.reason);
    if (controller !== undefined) {
      setMaxListeners(0, controller.signal);
      if (userSignal?.aborted) onAbort();
      else userSignal?.addEventListener('abort', onAbort, { once: true });
    }
    const signal = controller?.signal;
    let nextId = 0;
    let exhausted = false;
    try {
      while (!exhausted || running.size > 0) {
        while (!exhausted && running.size < concurrency) {
          if (signal?.aborted) throw abortError(signal);
          const item = await iterator.next();
          if (item.done) {
            exhausted = true;
            break;
          }
          const id = nextId++;
          running.set(
            id,
            enrich(item.value, { fields: manyOptions.fields, signal }).then((outcome) => ({ id, outcome })),
          );
        }
        if (running.size === 0) break;
        const { id, outcome } = await Promise.race(running.values());
        running.delete(id);
        yield outcome;
      }
    } finally {
      userSignal?.removeEventListener('abort', onAbort);
    }
  }

  async function handleWebhook(providerId: string, request: InboundWebhookRequest): Promise<WebhookResponse> {
    const state = states.get(providerId);
    if (!state?.provider.doHandleWebhook) {
      return {
        status: 404,
        body: JSON.stringify({ error: `no webhook handler for provider "${providerId}"` }),
      };
    }
    let resolutions: Awaited<ReturnType<NonNullable<EnrichmentProviderV1['doHandleWebhook']>>>;
    try {
      resolutions = await state.provider.doHandleWebhook(request);
    } catch (error) {
      if (WebhookVerificationError.isInstance(error)) {
        return { status: 401, body: JSON.stringify({ error: error.code }) };
      }
      const failure = toLeadpipeError(error, providerId);
      return { status: 400, body: JSON.stringify({ error: failure.code }) };
    }
    for (const resolution of resolutions) {
      let validated: ReturnType<typeof validateEnrichResult>;
      try {
        validated = validateEnrichResult(providerId, resolution.result);
      } catch {
        continue;
      }
      if (validated.result.status === 'pending') continue;
      pending.resolve(providerId, resolution.correlationId, validated.result);
    }
    return { status: 200, body: JSON.stringify({ received: resolutions.length }) };
  }

  return {
    enrich,
    enrichMany,
    handleWebhook,
    on: (event, listener) => bus.on(event, listener),
    stats: () => ({
      providers: Object.fromEntries([...states].map(([id, state]) => [id, state.stats.snapshot()])),
      leads: { ...leadCounts },
      credits: Math.round(runCredits * 1e6) / 1e6,
      budgetSkips,
    }),
    close: async () => {
      pending.clear();
      for (const state of states.values()) state.batcher?.flush();
      await registry.disconnect();
    },
  };
}

/** The smallest spacing between calls that a policy's windows allow, in ms (0 when unlimited). */
function paceOf(policy: EnrichmentProviderV1['capabilities']['rateLimits']): number {
  const windows = [
    policy.perSecond === undefined ? undefined : 1_000 / policy.perSecond,
    policy.perMinute === undefined ? undefined : 60_000 / policy.perMinute,
    policy.perHour === undefined ? undefined : 3_600_000 / policy.perHour,
    policy.perDay === undefined ? undefined : 86_400_000 / policy.perDay,
    ...(policy.windows ?? []).map((window) => window.intervalMs / window.limit),
  ].filter((value): value is number => value !== undefined && Number.isFinite(value));
  return windows.length === 0 ? 0 : Math.max(...windows);
}

function validateOptions(options: EnrichmentEngineOptions): void {
  const problems: string[] = [];
  if (!options || !Array.isArray(options.providers) || options.providers.length === 0) {
    problems.push('providers: must list at least one provider');
  } else {
    const seen = new Set<string>();
    options.providers.forEach((provider, index) => {
      if (provider?.specificationVersion !== 'v1') {
        problems.push(
          `providers[${index}]: unsupported specificationVersion ${JSON.stringify(provider?.specificationVersion)} (this @leadpipe/core supports "v1"; upgrade the adapter or core)`,
        );
        return;
      }
      if (seen.has(provider.providerId))
        problems.push(`providers[${index}]: duplicate id "${provider.providerId}"`);
      seen.add(provider.providerId);
    });
    for (const [field, ids] of Object.entries(options.fieldOrder ?? {})) {
      if (!isLeadField(field)) problems.push(`fieldOrder: "${field}" is not a Lead field`);
      for (const id of ids ?? [])
        if (!seen.has(id)) problems.push(`fieldOrder.${field}: unknown provider "${id}"`);
    }
  }
  for (const field of options?.fields ?? []) {
    if (!isLeadField(field)) problems.push(`fields: "${field}" is not a Lead field`);
  }
  const minConfidence = options?.minConfidence;
  if (minConfidence !== undefined && !(minConfidence >= 0 && minConfidence <= 1)) {
    problems.push('minConfidence: must be between 0 and 1');
  }
  for (const [name, value] of Object.entries(options?.budgets ?? {})) {
    if (value !== undefined && !(typeof value === 'number' && value >= 0)) {
      problems.push(`budgets.${name}: must be a non-negative number`);
    }
  }
  if (problems.length > 0) {
    throw new ConfigurationError('invalid_configuration', {
      message: `createEnrichmentEngine: ${problems.join('; ')}`,
    });
  }
}

import type { EnrichmentProviderV1, EnrichRequest } from '../contracts/enrichment-provider.js';
import { ApiCallError, CircuitOpenError, type ValidationIssue } from '../contracts/errors.js';
import type { LeadField, LeadFieldPatch } from '../contracts/fields.js';
import type { Lead } from '../contracts/lead.js';
import type { InboundWebhookRequest, WebhookResponse } from '../contracts/webhook.js';
import { logEvents } from '../events/log-events.js';
import { SafeEventBus } from '../events/safe-event-bus.js';
import { flattenLead } from '../lead/index.js';
import {
  markSpanFailed,
  recordCredits,
  startRunSpan,
  TelemetryAttributes,
  withSpan,
} from '../telemetry/index.js';
import { Answers, type CallAnswer } from './answers.js';
import { CreditBudget } from './budget.js';
import type {
  EnrichmentEventName,
  EnrichmentEvents,
  EnrichmentStatus,
  ProviderSkipReason,
} from './events.js';
import { abortError, toLeadpipeError } from './failure.js';
import { ENRICHMENT_LOG_TABLE } from './log-events.js';
import { mapUnordered } from './many.js';
import { mergeAnswer, missingFields } from './merge.js';
import {
  checkWantedFields,
  type EnrichManyOptions,
  type EnrichmentEngineOptions,
  type EnrichOptions,
  resolveConcurrency,
  resolveEngineOptions,
} from './options.js';
import type { EnrichmentAttempt, EnrichmentOutcome, EnrichmentStats } from './outcome.js';
import {
  costEstimate,
  nextProvider,
  requestInput,
  suppliableFields,
  unreachedReason,
  type WaterfallOrder,
} from './plan.js';
import { createProviderRuntimes } from './provider-runtime.js';
import { type Candidate, fillableFields, HitRateModel, lookupKind, rankCandidates } from './strategy.js';
import { handleProviderWebhook } from './webhooks.js';

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
    options?: EnrichManyOptions,
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

/**
 * Create the waterfall enrichment engine: providers tried in order, each
 * call behind a limiter (quota and 429), retries (5xx, timeouts, network)
 * and a circuit breaker, with caching, coalescing, batching, budgets,
 * per-field provider order and typed events.
 *
 * The engine wires its parts together: planning (`plan.ts`: which provider
 * next, with which input, and why one is passed over), merging (`merge.ts`),
 * the credit budget (`budget.ts`), each provider's runtime
 * (`provider-runtime.ts`: limiter, retries, breaker, batcher, disabling),
 * answers (`answers.ts`: cache, coalescing, pending webhooks) and webhooks
 * (`webhooks.ts`).
 *
 * @example
 * ```ts
 * const engine = createEnrichmentEngine({ providers: [apollo, clearbit], fields: ['title', 'company.headcount'] });
 * const outcome = await engine.enrich(createLead({ email: 'ada@acme.com' }));
 * console.log(outcome.lead.title, outcome.lead.provenance.title);
 * ```
 */
export function createEnrichmentEngine(options: EnrichmentEngineOptions): EnrichmentEngine {
  const settings = resolveEngineOptions(options);
  const { now, minConfidence, mergePolicy } = settings;
  const bus = new SafeEventBus<EnrichmentEvents>(settings.onListenerError);
  const { observer } = settings;
  logEvents(bus, observer, ENRICHMENT_LOG_TABLE);
  const { runtimes, limiters } = createProviderRuntimes(settings.providers, {
    now,
    bus,
    limits: settings.limits,
    breaker: settings.breaker,
    retry: settings.retry,
    batchLingerMs: settings.batchLingerMs,
    quotaCoolDownMs: settings.quotaCoolDownMs,
    providerOptions: settings.providerOptions,
  });
  const order: WaterfallOrder = {
    providers: new Map(settings.providers.map((provider) => [provider.providerId, provider])),
    fieldOrder: settings.fieldOrder,
  };
  const answers = new Answers({
    cache: settings.cache,
    cacheTtlMs: settings.cacheTtlMs,
    notFoundTtlMs: settings.notFoundTtlMs,
    pendingTimeoutMs: settings.pendingTimeoutMs,
    now,
  });
  const budget = new CreditBudget(settings.budgets);
  const costAware = settings.strategy === 'cost-aware';
  const hitRates = new HitRateModel({ maxContexts: settings.costAware.maxContexts });
  const mainOrder = new Map(settings.providers.map((provider, index) => [provider.providerId, index]));

  /** What the cost-aware strategy asks of one provider for a lead: its request and what it may fill. */
  interface Ask {
    readonly provider: EnrichmentProviderV1;
    readonly input: LeadFieldPatch;
    readonly context: string;
    readonly fields: readonly LeadField[];
  }

  /** The first provider `fieldOrder` puts ahead for a missing field, untried and able to supply it. */
  function fieldOrderFirst(
    missing: readonly LeadField[],
    known: ReadonlySet<string>,
    tried: ReadonlySet<string>,
  ): EnrichmentProviderV1 | undefined {
    for (const field of missing) {
      for (const providerId of settings.fieldOrder[field] ?? []) {
        if (tried.has(providerId)) continue;
        const provider = order.providers.get(providerId);
        if (provider && suppliableFields(provider, known).has(field)) return provider;
      }
    }
    return undefined;
  }

  /**
   * The cost-aware choice: every untried provider that can fill a missing
   * field, ranked by expected fields per credit (a cached or in-flight answer
   * is free), those not worth their cost left out. `fieldOrder` goes first.
   */
  async function rankAsks(
    missing: readonly LeadField[],
    known: ReadonlySet<string>,
    flat: LeadFieldPatch,
    tried: ReadonlySet<string>,
    missedBefore: boolean,
  ): Promise<Ask[]> {
    const asks = new Map<string, Ask>();
    const candidates: Candidate[] = [];
    for (const provider of settings.providers) {
      if (tried.has(provider.providerId)) continue;
      const input = requestInput(provider, missing, known, flat);
      const fields = fillableFields(provider, input, flat, missing, known);
      if (fields.length === 0) continue;
      const context = HitRateModel.key(
        provider.providerId,
        lookupKind(provider, input, flat, missing, known),
        missedBefore,
      );
      const expected = hitRates.expect(context, provider.capabilities.priors, fields);
      candidates.push({
        providerId: provider.providerId,
        order: mainOrder.get(provider.providerId) ?? 0,
        fields,
        ...expected,
        cost: provider.capabilities.cost,
        free: await answers.isFree(provider.providerId, input),
      });
      asks.set(provider.providerId, { provider, input, context, fields });
    }
    const ranked = rankCandidates(candidates, settings.costAware.minFieldsPerCredit).map(
      (candidate) => asks.get(candidate.providerId)!,
    );
    const first = fieldOrderFirst(missing, known, tried);
    const forced = first && asks.get(first.providerId);
    return forced ? [forced, ...ranked.filter((ask) => ask !== forced)] : ranked;
  }
  const leadCounts: Record<EnrichmentStatus, number> = { enriched: 0, partial: 0, unchanged: 0, skipped: 0 };

  /**
   * Enrich one lead inside a `leadpipe.enrich` span (the provider calls it
   * makes nest under it), with the outcome's status and credits on it.
   */
  async function enrich(lead: Lead, enrichOptions: EnrichOptions = {}): Promise<EnrichmentOutcome> {
    const span = startRunSpan('leadpipe.enrich');
    try {
      const outcome = await withSpan(span, () => enrichLead(lead, enrichOptions));
      span.setAttribute(TelemetryAttributes.outcome, outcome.status);
      span.setAttribute(TelemetryAttributes.credits, outcome.credits);
      return outcome;
    } catch (error) {
      markSpanFailed(span, error);
      throw error;
    } finally {
      span.end();
    }
  }

  async function enrichLead(lead: Lead, enrichOptions: EnrichOptions): Promise<EnrichmentOutcome> {
    const signal = enrichOptions.signal;
    // A stopwatch, not a clock: durations are measured with the monotonic timer.
    const started = performance.now();
    const wantedList = enrichOptions.fields ?? settings.defaultFields;
    checkWantedFields(wantedList);
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

    const skip = settings.skip?.(lead);
    if (skip) {
      return finish({
        lead,
        status: 'skipped',
        filled: [],
        missing: missingFields(lead, wantedList, minConfidence),
        credits: 0,
        attempts: [],
        warnings: [],
        skipReason: typeof skip === 'string' ? skip : 'skip rule',
      });
    }

    let current = lead;
    let leadCredits = 0;
    const initiallyMissing = new Set(missingFields(lead, wantedList, minConfidence));
    const filledNow = new Set<LeadField>();
    const tried = new Set<string>();
    let missedBefore = false;
    let stoppedByCost = false;
    const attempts: EnrichmentAttempt[] = [];
    const warnings: (ValidationIssue & { providerId: string })[] = [];
    const passOver = (providerId: string, reason: ProviderSkipReason) => {
      attempts.push({ providerId, outcome: 'skipped', cached: false, credits: 0, filled: [], reason });
      bus.emit('provider.skipped', { leadId: lead.id, providerId, reason });
    };
    const warn = (providerId: string, issues: readonly ValidationIssue[]) => {
      if (issues.length === 0) return;
      for (const issue of issues) warnings.push({ ...issue, providerId });
      bus.emit('provider.invalidOutput', { leadId: lead.id, providerId, issues });
    };

    for (;;) {
      if (signal?.aborted) throw abortError(signal);
      const missing = missingFields(current, wantedList, minConfidence);
      if (missing.length === 0) break;
      const flat = flattenLead(current);
      const known = new Set(Object.keys(flat));
      let provider: EnrichmentProviderV1 | undefined;
      let ask: Ask | undefined;
      let alternatives: readonly Ask[] = [];
      if (costAware) {
        const ranked = await rankAsks(missing, known, flat, tried, missedBefore);
        if (signal?.aborted) throw abortError(signal);
        ask = ranked[0];
        alternatives = ranked.slice(1);
        provider = ask?.provider;
        if (!provider) {
          stoppedByCost = true;
          break;
        }
      } else {
        provider = nextProvider(order, missing, known, tried);
        if (!provider) break;
      }
      const providerId = provider.providerId;
      const runtime = runtimes.get(providerId)!;
      tried.add(providerId);

      const unavailable = runtime.unavailability();
      if (unavailable) {
        passOver(providerId, unavailable);
        continue;
      }
      const input = ask?.input ?? requestInput(provider, missing, known, flat);
      const found = await answers.lookup(providerId, input, signal);
      // From here to the call, nothing awaits: budget reservations and queue estimates stay exact under concurrency.
      let release: () => void = () => {};
      if (found.source === 'call') {
        if (settings.spillOver && runtime.estimatedWaitMs() > settings.spillOver.maxQueueWaitMs) {
          const alternative = costAware
            ? alternatives[0]?.provider
            : nextProvider(order, missing, known, tried);
          if (alternative && !runtimes.get(alternative.providerId)!.unavailability()) {
            passOver(providerId, 'spill_over');
            continue;
          }
        }
        const cost = costEstimate(provider);
        const refusal = budget.check(leadCredits, cost);
        if (refusal) {
          runtime.stats.budgetSkips += 1;
          bus.emit('budget.reached', { ...refusal, leadId: lead.id, providerId });
          passOver(providerId, 'budget');
          continue;
        }
        release = budget.reserve(cost);
      }

      bus.emit('provider.attempted', { leadId: lead.id, providerId, cached: found.source !== 'call' });
      let answer: CallAnswer;
      try {
        if (found.source === 'cache') {
          runtime.stats.cacheHits += 1;
          answer = found.answer;
        } else if (found.source === 'inFlight') {
          answer = await found.answer;
        } else {
          const request: EnrichRequest = { leadId: lead.id, input, fields: missing };
          answer = await answers.call(
            providerId,
            found.key,
            (callSignal) => runtime.call(request, callSignal),
            signal,
            {
              onCredits: (credits) => {
                recordCredits(providerId, credits);
                runtime.stats.credits += credits;
                budget.spend(credits);
              },
              onPending: (correlationId) => {
                runtime.stats.pending += 1;
                bus.emit('provider.pending', { leadId: lead.id, providerId, correlationId });
              },
            },
          );
        }
      } catch (error) {
        if (signal?.aborted) throw abortError(signal);
        const failure = toLeadpipeError(error, providerId);
        if (ApiCallError.isInstance(failure) && failure.code === 'aborted') throw failure;
        if (CircuitOpenError.isInstance(failure)) {
          passOver(providerId, 'circuit_open');
          continue;
        }
        runtime.recordFailure(failure);
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
        observer.report(failure, { component: 'enrich', code: failure.code, providerId, leadId: lead.id });
        continue;
      } finally {
        release();
      }

      leadCredits += answer.credits;
      warn(providerId, answer.issues);
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
        runtime.stats.misses += 1;
        if (ask) hitRates.observe(ask.context, provider.capabilities.priors, false, ask.fields, new Set());
        missedBefore = true;
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
      runtime.stats.matches += 1;
      const merged = mergeAnswer(current, answer.result, {
        providerId,
        credits: answer.credits,
        wanted,
        mergePolicy,
        minConfidence,
        at: new Date(now()),
      });
      current = merged.lead;
      if (ask) {
        const stillMissing = new Set(missingFields(current, ask.fields, minConfidence));
        const filledAsked = new Set(ask.fields.filter((field) => !stillMissing.has(field)));
        hitRates.observe(ask.context, provider.capabilities.priors, true, ask.fields, filledAsked);
      }
      warn(providerId, merged.issues);
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
      const stillMissing = missingFields(current, wantedList, minConfidence);
      for (const [providerId, provider] of order.providers) {
        if (tried.has(providerId)) continue;
        const couldFill =
          stoppedByCost && stillMissing.some((field) => suppliableFields(provider, known).has(field));
        bus.emit('provider.skipped', {
          leadId: lead.id,
          providerId,
          reason: couldFill ? 'not_worth_cost' : unreachedReason(provider, initiallyMissing, known),
        });
      }
    }

    const missing = missingFields(current, wantedList, minConfidence);
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
    manyOptions: EnrichManyOptions = {},
  ): AsyncIterable<EnrichmentOutcome> {
    const concurrency = resolveConcurrency(manyOptions.concurrency);
    yield* mapUnordered(
      leads,
      concurrency,
      (lead, signal) => enrich(lead, { fields: manyOptions.fields, signal }),
      manyOptions.signal,
    );
  }

  return {
    enrich,
    enrichMany,
    handleWebhook: (providerId, request) =>
      handleProviderWebhook(
        order.providers.get(providerId),
        providerId,
        request,
        (correlationId, result) => answers.deliver(providerId, correlationId, result),
        settings.webhookMaxBodyBytes,
      ),
    on: (event, listener) => bus.on(event, listener),
    stats: () => ({
      providers: Object.fromEntries([...runtimes].map(([id, runtime]) => [id, runtime.stats.snapshot()])),
      leads: { ...leadCounts },
      credits: Math.round(budget.spent * 1e6) / 1e6,
      budgetSkips: budget.refusals,
    }),
    close: async () => {
      answers.close();
      for (const runtime of runtimes.values()) runtime.flush();
      await limiters.disconnect();
    },
  };
}

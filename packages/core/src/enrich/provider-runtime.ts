import { type Context, ROOT_CONTEXT, type Span } from '@opentelemetry/api';
import type { Clock } from '../contracts/clock.js';
import type {
  EnrichCallOptions,
  EnrichmentProviderV1,
  EnrichRequest,
  EnrichResult,
} from '../contracts/enrichment-provider.js';
import { CircuitOpenError, LeadpipeError } from '../contracts/errors.js';
import type { RateLimitPolicy, RateLimitState } from '../contracts/rate-limit.js';
import type { SafeEventBus } from '../events/safe-event-bus.js';
import {
  type CircuitBreaker,
  createCircuitBreaker,
  createLimiterRegistry,
  type LimiterRegistry,
  type LimiterRegistryOptions,
  type ProviderLimiter,
  withRetry,
} from '../limits/index.js';
import { activeContext, TelemetryAttributes, traceCall } from '../telemetry/index.js';
import { MicroBatcher } from './batcher.js';
import type { EnrichmentEvents, ProviderSkipReason } from './events.js';
import { abortError, countsAgainstHealth, toLeadpipeError } from './failure.js';
import { unavailableReason } from './plan.js';
import { ProviderStatsCounter } from './stats.js';

/** The smallest spacing between calls that a policy's windows allow, in ms (0 when unlimited). */
export function paceOf(policy: RateLimitPolicy): number {
  const windows = [
    policy.perSecond === undefined ? undefined : 1_000 / policy.perSecond,
    policy.perMinute === undefined ? undefined : 60_000 / policy.perMinute,
    policy.perHour === undefined ? undefined : 3_600_000 / policy.perHour,
    policy.perDay === undefined ? undefined : 86_400_000 / policy.perDay,
    ...(policy.windows ?? []).map((window) => window.intervalMs / window.limit),
  ].filter((value): value is number => value !== undefined && Number.isFinite(value));
  return windows.length === 0 ? 0 : Math.max(...windows);
}

/**
 * Calls in a row refused with 401 (each after its one retry) that take a
 * provider whose credentials had worked earlier in the run out of it: a key
 * revoked mid-run. A key that never worked is out after its first call.
 */
const AUTH_FAILURES_TO_DISABLE = 3;

/** Wait for `promise`, or reject with an `aborted` error as soon as `signal` aborts. */
function waitUnlessAborted(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

function isUnauthorized(error: unknown): error is LeadpipeError {
  return LeadpipeError.isInstance(error) && error.code === 'unauthorized';
}

/** Put a provider call's credits, outcome and batch size on its span; returns `value`. */
function describeAnswer<T>(span: Span, value: T): T {
  const answers: unknown[] = Array.isArray(value) ? value : [value];
  let credits = 0;
  for (const answer of answers) {
    const cost = (answer as { credits?: unknown } | null)?.credits;
    if (typeof cost === 'number' && Number.isFinite(cost)) credits += cost;
  }
  span.setAttribute(TelemetryAttributes.credits, credits);
  if (Array.isArray(value)) span.setAttribute(TelemetryAttributes.batchSize, answers.length);
  else {
    const status = (value as { status?: unknown } | null)?.status;
    if (typeof status === 'string') span.setAttribute(TelemetryAttributes.outcome, status);
  }
  return value;
}

/** What every provider's runtime shares. */
export interface ProviderRuntimeSettings {
  /** The engine's clock: breakers and quota cool-downs read it. */
  readonly now: Clock;
  /** Where breaker and disabling events go. */
  readonly bus: SafeEventBus<EnrichmentEvents>;
  /** The limiters, one per provider and key, created on first use. */
  readonly limiters: LimiterRegistry;
  /** Circuit breaker settings. */
  readonly breaker: { readonly failureThreshold: number; readonly coolDownMs: number };
  /** Retry settings for 5xx, timeouts and network errors. */
  readonly retry:
    | { readonly retries?: number; readonly minTimeoutMs?: number; readonly maxTimeoutMs?: number }
    | undefined;
  /** How long a lead waits for company before a batch call goes out, in ms. */
  readonly batchLingerMs: number;
  /** How long a provider out of quota stays out when the vendor gave no reset, in ms. */
  readonly quotaCoolDownMs: number;
  /** Options passed to the provider on each call. */
  readonly providerOptions: Readonly<Record<string, unknown>> | undefined;
}

/**
 * Everything the engine keeps about one provider while it runs: its limiter
 * (quota and 429s), retries, circuit breaker, batcher, counters, and whether
 * it is out of the run (401/403) or out of quota (402) for now. A call goes
 * breaker, then retry around the limiter around the provider.
 *
 * A 401 is not always the end: it may mean an expired token or session, or
 * a vendor's blip. The call is made once more (credentials are read again
 * for every request, so a refreshed or rotated key is used). A provider is
 * taken out of the run when that retry is refused too and its credentials
 * never worked in this run (a wrong key: out after its first call refused
 * twice; one retry is out at a time, so the calls already sent are all that
 * follow), or when three calls in a row are refused twice after they had
 * worked (a key revoked mid-run).
 */
export class ProviderRuntime {
  /** The provider. */
  readonly provider: EnrichmentProviderV1;
  /** Its counters. */
  readonly stats = new ProviderStatsCounter();
  readonly #settings: ProviderRuntimeSettings;
  readonly #breaker: CircuitBreaker;
  readonly #paceMs: number;
  #limiter: ProviderLimiter | undefined;
  #batcher: MicroBatcher<EnrichRequest, EnrichResult> | undefined;
  #disabled = false;
  /** The error a provider taken out of the run answers every later call with, without a request. */
  #disabledBy: LeadpipeError | undefined;
  /** Whether a call has succeeded in this run: the credentials are known to be right. */
  #authenticated = false;
  /** Calls in a row refused with 401 after their retry. */
  #authFailures = 0;
  /** Settles when the 401 retry out now has: other refused calls wait for its verdict. */
  #authProbe: Promise<void> | undefined;
  #unavailableUntil: number | undefined;
  /** Calls decided on but not started yet (for spill-over estimates). */
  #waiting = 0;

  /** @param provider - the provider; @param settings - see {@link ProviderRuntimeSettings}. */
  constructor(provider: EnrichmentProviderV1, settings: ProviderRuntimeSettings) {
    this.provider = provider;
    this.#settings = settings;
    this.#paceMs = paceOf(provider.capabilities.rateLimits);
    const providerId = provider.providerId;
    const { coolDownMs } = settings.breaker;
    this.#breaker = createCircuitBreaker({
      failureThreshold: settings.breaker.failureThreshold,
      coolDownMs,
      now: settings.now,
      onStateChange: (state) => {
        if (state === 'open') settings.bus.emit('breaker.opened', { providerId, coolDownMs });
        else if (state === 'closed') settings.bus.emit('breaker.closed', { providerId });
      },
    });
  }

  /** Why the provider may not be called now, or `undefined` when it may. */
  unavailability(): ProviderSkipReason | undefined {
    return unavailableReason(
      {
        disabled: this.#disabled,
        unavailableUntil: this.#unavailableUntil,
        circuitOpen: this.#breaker.state() === 'open',
      },
      this.#settings.now(),
    );
  }

  /**
   * How long a call decided on now would wait for its limiter, in ms: the
   * limiter's own estimate plus one pace step for each call decided on but
   * not yet queued.
   */
  estimatedWaitMs(): number {
    const limiter = this.#limiterOf();
    const notQueued = Math.max(0, this.#waiting - limiter.stats().queued);
    return limiter.estimatedWaitMs() + notQueued * this.#paceMs;
  }

  /**
   * Call the provider for one lead: through the batcher when it has a batch
   * call, else one guarded call. Rejects with the leadpipe error the call
   * ended with (a `CircuitOpenError` when the breaker refused it).
   */
  async call(request: EnrichRequest, signal: AbortSignal | undefined): Promise<EnrichResult> {
    this.#waiting += 1;
    let started = false;
    const onStart = () => {
      if (started) return;
      started = true;
      this.#waiting -= 1;
    };
    try {
      if (this.provider.doEnrichBatch && this.provider.capabilities.maxBatchSize > 1) {
        return await this.#batcherOf().submit(request, signal);
      }
      return await this.#guarded(
        1,
        signal,
        () => this.provider.doEnrich(request, this.#callOptions(signal)),
        onStart,
        activeContext(),
      );
    } finally {
      onStart();
    }
  }

  /**
   * Note a call that failed for good. A 403 takes the provider out of the
   * run (401s are judged per call, see the class); a 402 (quota) takes it
   * out until the vendor's reset, else for `quotaCoolDownMs`. Both are
   * announced with `provider.disabled`.
   */
  recordFailure(failure: LeadpipeError): void {
    const providerId = this.provider.providerId;
    this.stats.errors += 1;
    if (failure.code === 'forbidden') {
      this.#disable(failure);
    } else if (failure.code === 'quota_exceeded') {
      const untilMs = this.#settings.now() + (failure.retryAfterMs ?? this.#settings.quotaCoolDownMs);
      this.#unavailableUntil = untilMs;
      this.#settings.bus.emit('provider.disabled', { providerId, code: failure.code, untilMs });
    }
  }

  /** Take the provider out of the run: later calls fail with `failure` and send nothing. */
  #disable(failure: LeadpipeError): void {
    if (this.#disabled) return;
    this.#disabled = true;
    this.#disabledBy = failure;
    const code = failure.code === 'forbidden' ? 'forbidden' : 'unauthorized';
    this.stats.disabled = {
      code,
      message: failure.message,
      afterCalls: this.stats.calls,
      at: new Date(this.#settings.now()).toISOString(),
    };
    this.#settings.bus.emit('provider.disabled', {
      providerId: this.provider.providerId,
      code,
      message: failure.message,
    });
  }

  /** A call refused with 401 after its retry: a wrong key, or (three in a row) a key revoked mid-run. */
  #authRefused(failure: LeadpipeError): void {
    this.#authFailures += 1;
    if (!this.#authenticated || this.#authFailures >= AUTH_FAILURES_TO_DISABLE) this.#disable(failure);
  }

  /** Send whatever waits in the batcher now. */
  flush(): void {
    this.#batcher?.flush();
  }

  #limiterOf(): ProviderLimiter {
    this.#limiter ??= this.#settings.limiters.get(
      this.provider.providerId,
      this.provider.limiterKey?.() ?? 'default',
      this.provider.capabilities.rateLimits,
    );
    return this.#limiter;
  }

  #callOptions(signal: AbortSignal | undefined): EnrichCallOptions {
    const limiter = this.#limiterOf();
    return {
      signal,
      onRateLimit: (rateLimit: RateLimitState) => limiter.update(rateLimit),
      providerOptions: this.#settings.providerOptions,
    };
  }

  /** One guarded call: breaker, then retry around the limiter around the provider. */
  async #guarded<T>(
    requests: number,
    signal: AbortSignal | undefined,
    call: () => PromiseLike<T>,
    onStart?: () => void,
    parent: Context = ROOT_CONTEXT,
  ): Promise<T> {
    const providerId = this.provider.providerId;
    if (!this.#breaker.canRequest()) throw new CircuitOpenError(providerId, this.#breaker.retryAfterMs());
    return this.#run(requests, signal, call, onStart, parent);
  }

  /**
   * Ask a call refused with 401 once more (an expired token or session, or a
   * blip: credentials are read again). One retry at a time: a call refused
   * while another's retry is out waits for its verdict, and sends nothing
   * more when that retry took the provider out.
   */
  async #askAgain<T>(attempt: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    while (this.#authProbe !== undefined) {
      await waitUnlessAborted(this.#authProbe, signal);
      if (this.#disabledBy) throw this.#disabledBy;
    }
    let settled: () => void = () => {};
    this.#authProbe = new Promise<void>((resolve) => {
      settled = resolve;
    });
    try {
      this.stats.authRetries += 1;
      return await attempt();
    } catch (error) {
      // The verdict is in before any waiting call looks at it.
      if (isUnauthorized(error) && error !== this.#disabledBy) this.#authRefused(error);
      throw error;
    } finally {
      this.#authProbe = undefined;
      settled();
    }
  }

  async #run<T>(
    requests: number,
    signal: AbortSignal | undefined,
    call: () => PromiseLike<T>,
    onStart: (() => void) | undefined,
    parent: Context,
  ): Promise<T> {
    const providerId = this.provider.providerId;
    if (this.#disabledBy) throw this.#disabledBy;
    const limiter = this.#limiterOf();
    const attempt = () =>
      withRetry(
        () =>
          limiter.schedule(
            async () => {
              // Taken out of the run while this call waited: nothing is sent.
              if (this.#disabledBy) throw this.#disabledBy;
              onStart?.();
              this.stats.calls += 1;
              this.stats.requests += requests;
              // A stopwatch, not a clock: latency is measured with the monotonic timer.
              const started = performance.now();
              try {
                // One span per request sent: a 429 the limiter runs again, or a retry, is a span of its own.
                return await traceCall(
                  {
                    kind: 'provider',
                    vendor: providerId,
                    operation: requests === 1 ? 'enrich' : 'enrich_batch',
                    parent,
                  },
                  async (span) => describeAnswer(span, await call()),
                );
              } finally {
                this.stats.latency.record(performance.now() - started);
              }
            },
            { signal },
          ),
        { ...this.#settings.retry, signal },
      );
    try {
      let value: T;
      try {
        value = await attempt();
      } catch (error) {
        if (!isUnauthorized(error) || this.#disabledBy || signal?.aborted) throw error;
        value = await this.#askAgain(attempt, signal);
      }
      this.#authenticated = true;
      this.#authFailures = 0;
      this.#breaker.recordSuccess();
      return value;
    } catch (error) {
      const failure = toLeadpipeError(error, providerId);
      if (countsAgainstHealth(error, failure)) this.#breaker.recordFailure();
      throw failure;
    }
  }

  #batcherOf(): MicroBatcher<EnrichRequest, EnrichResult> {
    const batch = this.provider.doEnrichBatch;
    this.#batcher ??= new MicroBatcher<EnrichRequest, EnrichResult>({
      maxBatchSize: this.provider.capabilities.maxBatchSize,
      lingerMs: this.#settings.batchLingerMs,
      // A batch is shared by several leads, so no single lead's signal aborts it: an aborted
      // lead leaves it (before or after it went out), and the batch's signal aborts the call
      // only once every lead in it has left.
      run: (take, signal) =>
        this.#guarded(0, signal, async () => {
          const requests = take();
          this.stats.requests += requests.length;
          if (requests.length === 0) return [];
          if (requests.length === 1 || !batch) {
            return [await this.provider.doEnrich(requests[0]!, this.#callOptions(signal))];
          }
          return batch.call(this.provider, requests, this.#callOptions(signal));
        }),
    });
    return this.#batcher;
  }
}

/** Settings of {@link createProviderRuntimes}. */
export interface ProviderRuntimesSettings
  extends Omit<ProviderRuntimeSettings, 'limiters' | 'providerOptions'> {
  /** Limiter registry settings (its clock included). */
  readonly limits: Omit<LimiterRegistryOptions, 'onEvent'>;
  /** Options passed to each provider, keyed by provider id. */
  readonly providerOptions: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/**
 * One runtime per provider, in waterfall order, sharing one limiter registry
 * whose 429s are counted per provider and announced as `provider.rateLimited`.
 */
export function createProviderRuntimes(
  providers: readonly EnrichmentProviderV1[],
  settings: ProviderRuntimesSettings,
): { readonly runtimes: ReadonlyMap<string, ProviderRuntime>; readonly limiters: LimiterRegistry } {
  const runtimes = new Map<string, ProviderRuntime>();
  const limiters = createLimiterRegistry({
    ...settings.limits,
    onEvent: (event) => {
      if (event.type !== 'rateLimited') return;
      const runtime = runtimes.get(event.id);
      if (runtime) runtime.stats.rateLimited += 1;
      settings.bus.emit('provider.rateLimited', { providerId: event.id, waitMs: event.waitMs });
    },
  });
  for (const provider of providers) {
    runtimes.set(
      provider.providerId,
      new ProviderRuntime(provider, {
        ...settings,
        limiters,
        providerOptions: settings.providerOptions[provider.providerId],
      }),
    );
  }
  return { runtimes, limiters };
}

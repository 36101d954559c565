import type { Cache } from '../contracts/cache.js';
import type { Clock } from '../contracts/clock.js';
import type {
  EnrichMatched,
  EnrichNotFound,
  EnrichResult,
  ProviderLeadInput,
} from '../contracts/enrichment-provider.js';
import type { ValidationIssue } from '../contracts/errors.js';
import { leadIdentityKey } from '../lead/index.js';
import { abortError } from './failure.js';
import { PendingLookups } from './pending.js';
import { validateEnrichResult } from './validate-result.js';

/** A provider's final answer for one request, wherever it came from. */
export interface CallAnswer {
  /** The answer; `undefined` when a pending lookup's webhook never came. */
  readonly result: EnrichMatched | EnrichNotFound | undefined;
  /** Whether it came from the cache or from an identical call already in flight. */
  readonly cached: boolean;
  /** Credits it cost this caller (0 when `cached`). */
  readonly credits: number;
  /** Values dropped because they failed validation. */
  readonly issues: readonly ValidationIssue[];
  /** Whether a pending lookup's webhook did not come in time. */
  readonly timedOut: boolean;
}

/**
 * Where an attempt's answer will come from, found with at most one cache
 * read: the cache, an identical call in flight (already joined with the
 * caller's signal: see {@link Answers.lookup}), or a new call (`key` is its
 * cache key, `undefined` when the input has no identity to key it by).
 */
export type AnswerLookup =
  | { readonly source: 'cache'; readonly answer: CallAnswer }
  | { readonly source: 'inFlight'; readonly answer: Promise<CallAnswer> }
  | { readonly source: 'call'; readonly key: string | undefined };

/** What a new call reports as it goes, for counters and events. */
export interface CallHooks {
  /** Credits the provider charged (called once per charge: the call, then a webhook's answer). */
  readonly onCredits: (credits: number) => void;
  /** The provider answered `pending`; its webhook will carry `correlationId`. */
  readonly onPending: (correlationId: string) => void;
}

/** Options of {@link Answers}. */
export interface AnswersOptions {
  /** The answer cache; `undefined` turns caching off. */
  readonly cache: Cache | undefined;
  /** TTL of cached matches, in ms. */
  readonly cacheTtlMs: number;
  /** TTL of cached misses, in ms. */
  readonly notFoundTtlMs: number;
  /** How long to wait for a webhook after a `pending` answer, in ms. */
  readonly pendingTimeoutMs: number;
  /** The clock that ages early webhooks. */
  readonly now: Clock;
}

const CACHE_PREFIX = 'leadpipe:enrich:v1:';

/**
 * One provider call shared by every lead that asked the same thing. It runs
 * under its own signal, aborted only when every lead sharing it has aborted.
 */
class SharedCall {
  readonly #controller = new AbortController();
  readonly #onAllAborted: () => void;
  #sharers = 0;
  #aborted = 0;
  /** The call's answer, for every sharer. */
  answer!: Promise<CallAnswer>;

  /** @param onAllAborted - called once every sharer has aborted (the call is then aborted too). */
  constructor(onAllAborted: () => void) {
    this.#onAllAborted = onAllAborted;
  }

  /** The signal the call runs under. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /**
   * Share the answer with one more caller: its promise rejects with an
   * `aborted` error as soon as its own `signal` aborts, while the call goes
   * on for the others. `map` shapes the answer for this caller.
   */
  join(signal: AbortSignal | undefined, map: (answer: CallAnswer) => CallAnswer): Promise<CallAnswer> {
    this.#sharers += 1;
    if (signal === undefined) return this.answer.then(map);
    return new Promise<CallAnswer>((resolve, reject) => {
      let done = false;
      const onAbort = () => {
        if (done) return;
        done = true;
        this.#aborted += 1;
        if (this.#aborted === this.#sharers) {
          this.#onAllAborted();
          this.#controller.abort(signal.reason);
        }
        reject(abortError(signal));
      };
      const finish = () => {
        done = true;
        signal.removeEventListener('abort', onAbort);
      };
      this.answer.then(
        (answer) => {
          if (done) return;
          finish();
          resolve(map(answer));
        },
        (error: unknown) => {
          if (done) return;
          finish();
          reject(error);
        },
      );
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/**
 * The engine's answers: the cache (read at most once per attempt), identical
 * calls in flight shared by every lead that asks the same thing, and lookups
 * waiting for a webhook. A provider is never paid twice for the same input
 * within the cache TTL.
 */
export class Answers {
  readonly #options: AnswersOptions;
  readonly #inFlight = new Map<string, SharedCall>();
  readonly #pending: PendingLookups;

  /** @param options - see {@link AnswersOptions}. */
  constructor(options: AnswersOptions) {
    this.#options = options;
    this.#pending = new PendingLookups({ now: options.now });
  }

  /** The cache key of `providerId`'s answer for `input`, or `undefined` when the input has no identity. */
  keyOf(providerId: string, input: ProviderLeadInput): string | undefined {
    const identity = leadIdentityKey(input);
    return identity === undefined ? undefined : `${CACHE_PREFIX}${providerId}:${identity}`;
  }

  /**
   * Where `providerId`'s answer for `input` will come from. Reads the cache
   * at most once, and not at all when an identical call is already in flight.
   * A cached entry that no longer validates is deleted and counts as absent.
   * An identical call in flight is joined with `signal`: the caller's answer
   * rejects when its signal aborts, while the call goes on for the others.
   */
  async lookup(providerId: string, input: ProviderLeadInput, signal?: AbortSignal): Promise<AnswerLookup> {
    const key = this.keyOf(providerId, input);
    if (key === undefined) return { source: 'call', key };
    const shared = this.#shared(key, signal);
    if (shared) return { source: 'inFlight', answer: shared };
    const cache = this.#options.cache;
    if (cache) {
      const hit = await cache.get(key);
      if (hit !== undefined) {
        try {
          const validated = validateEnrichResult(providerId, hit);
          if (validated.result.status !== 'pending') {
            return {
              source: 'cache',
              answer: {
                result: validated.result,
                cached: true,
                credits: 0,
                issues: validated.issues,
                timedOut: false,
              },
            };
          }
        } catch {
          await cache.delete(key);
        }
      }
    }
    // A call for the same key may have started while the cache answered.
    const started = this.#shared(key, signal);
    return started ? { source: 'inFlight', answer: started } : { source: 'call', key };
  }

  /**
   * Whether `providerId`'s answer for `input` would cost nothing now: an
   * identical call is in flight, or a final answer is cached. Joins nothing
   * and changes nothing; reads the cache at most once. A cache that fails to
   * answer counts as a miss.
   */
  async isFree(providerId: string, input: ProviderLeadInput): Promise<boolean> {
    const key = this.keyOf(providerId, input);
    if (key === undefined) return false;
    if (this.#inFlight.has(key)) return true;
    const cache = this.#options.cache;
    if (!cache) return false;
    try {
      const hit = (await cache.get(key)) as { status?: unknown } | undefined;
      return hit !== undefined && hit !== null && hit.status !== 'pending';
    } catch {
      return false;
    }
  }

  /**
   * Get the answer from the provider with `run`, unless an identical call
   * (same `key`) is in flight by now: then share its answer. `run` is called
   * synchronously, so the in-flight entry exists before this returns. A
   * `pending` answer waits for its webhook (see {@link Answers.deliver}) up to
   * `pendingTimeoutMs`. Final answers are cached, matches and misses each
   * with their TTL.
   *
   * A keyed call is shared: `run` gets the call's own signal, aborted only
   * when every caller sharing it has aborted. A caller whose `signal` aborts
   * gets its own `aborted` rejection at once; the others still get the answer.
   */
  call(
    providerId: string,
    key: string | undefined,
    run: (signal: AbortSignal | undefined) => Promise<EnrichResult>,
    signal: AbortSignal | undefined,
    hooks: CallHooks,
  ): Promise<CallAnswer> {
    if (key === undefined) return this.#fetchAndCache(providerId, key, run(signal), signal, hooks);
    const shared = this.#shared(key, signal);
    if (shared) return shared;
    const flight = new SharedCall(() => {
      if (this.#inFlight.get(key) === flight) this.#inFlight.delete(key);
    });
    flight.answer = this.#fetchAndCache(providerId, key, run(flight.signal), flight.signal, hooks);
    this.#inFlight.set(key, flight);
    const forget = () => {
      if (this.#inFlight.get(key) === flight) this.#inFlight.delete(key);
    };
    flight.answer.then(forget, forget);
    return flight.join(signal, (answer) => answer);
  }

  /** Deliver a webhook's final answer to the lookup waiting for it. Returns whether one was waiting. */
  deliver(providerId: string, correlationId: string, result: EnrichMatched | EnrichNotFound): boolean {
    return this.#pending.resolve(providerId, correlationId, result);
  }

  /** Stop waiting for webhooks: the lookups waiting end as timed out. */
  close(): void {
    this.#pending.clear();
  }

  #shared(key: string, signal: AbortSignal | undefined): Promise<CallAnswer> | undefined {
    return this.#inFlight.get(key)?.join(signal, (answer) => ({ ...answer, cached: true, credits: 0 }));
  }

  async #fetchAndCache(
    providerId: string,
    key: string | undefined,
    called: Promise<EnrichResult>,
    signal: AbortSignal | undefined,
    hooks: CallHooks,
  ): Promise<CallAnswer> {
    const fetched = await this.#fetch(providerId, called, signal, hooks);
    const cache = this.#options.cache;
    if (key !== undefined && cache && fetched.result) {
      const { raw: _raw, ...stored } = fetched.result;
      const ttlMs =
        fetched.result.status === 'matched' ? this.#options.cacheTtlMs : this.#options.notFoundTtlMs;
      await cache.set(key, stored, ttlMs);
    }
    return fetched;
  }

  async #fetch(
    providerId: string,
    called: Promise<EnrichResult>,
    signal: AbortSignal | undefined,
    hooks: CallHooks,
  ): Promise<CallAnswer> {
    const validated = validateEnrichResult(providerId, await called);
    const credits = validated.result.credits;
    hooks.onCredits(credits);
    if (validated.result.status !== 'pending') {
      return { result: validated.result, cached: false, credits, issues: validated.issues, timedOut: false };
    }
    const correlationId = validated.result.correlationId;
    hooks.onPending(correlationId);
    const final = await this.#pending.wait(providerId, correlationId, this.#options.pendingTimeoutMs, signal);
    if (!final)
      return { result: undefined, cached: false, credits, issues: validated.issues, timedOut: true };
    const finalValidated = validateEnrichResult(providerId, final);
    const finalResult = finalValidated.result as EnrichMatched | EnrichNotFound;
    hooks.onCredits(finalResult.credits);
    return {
      result: finalResult,
      cached: false,
      credits: credits + finalResult.credits,
      issues: finalValidated.issues,
      timedOut: false,
    };
  }
}

import { type Clock, systemClock } from '../contracts/clock.js';
import type { EnrichMatched, EnrichNotFound } from '../contracts/enrichment-provider.js';
import { ApiCallError } from '../contracts/errors.js';

type FinalResult = EnrichMatched | EnrichNotFound;

interface Waiter {
  readonly resolve: (result: FinalResult | undefined) => void;
  readonly timer: ReturnType<typeof setTimeout>;
  readonly cleanup: () => void;
}

/**
 * Lookups that a provider answered `pending`, waiting for their webhook.
 * A webhook that arrives before anyone waits (a fast vendor) is kept for a
 * while, bounded in number, so the waiter still finds it.
 */
export class PendingLookups {
  readonly #waiters = new Map<string, Waiter>();
  readonly #early = new Map<string, { result: FinalResult; expiresAt: number }>();
  readonly #maxEarly: number;
  readonly #earlyTtlMs: number;
  readonly #now: Clock;

  /**
   * @param options - `maxEarly`: most early resolutions kept (default 10,000);
   * `earlyTtlMs`: how long they are kept (default 10 minutes); `now`: the clock
   * that ages them (default `Date.now`).
   */
  constructor(
    options: { readonly maxEarly?: number; readonly earlyTtlMs?: number; readonly now?: Clock } = {},
  ) {
    this.#maxEarly = options.maxEarly ?? 10_000;
    this.#earlyTtlMs = options.earlyTtlMs ?? 10 * 60_000;
    this.#now = options.now ?? systemClock;
  }

  /** How many lookups are waiting. */
  get size(): number {
    return this.#waiters.size;
  }

  /**
   * Wait for the webhook resolving `correlationId`. Resolves `undefined`
   * after `timeoutMs`; rejects with an `aborted` error if `signal` aborts.
   */
  wait(
    providerId: string,
    correlationId: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<FinalResult | undefined> {
    const key = `${providerId}\u0000${correlationId}`;
    const early = this.#early.get(key);
    if (early) {
      this.#early.delete(key);
      if (early.expiresAt > this.#now()) return Promise.resolve(early.result);
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        waiter.cleanup();
        reject(new ApiCallError('aborted', { message: 'Aborted while waiting for a webhook', providerId }));
      };
      const waiter: Waiter = {
        resolve,
        timer: setTimeout(() => {
          waiter.cleanup();
          resolve(undefined);
        }, timeoutMs),
        cleanup: () => {
          clearTimeout(waiter.timer);
          signal?.removeEventListener('abort', onAbort);
          this.#waiters.delete(key);
        },
      };
      if (signal?.aborted) {
        clearTimeout(waiter.timer);
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.set(key, waiter);
    });
  }

  /** Deliver a webhook's result. Returns whether someone was waiting for it. */
  resolve(providerId: string, correlationId: string, result: FinalResult): boolean {
    const key = `${providerId}\u0000${correlationId}`;
    const waiter = this.#waiters.get(key);
    if (waiter) {
      waiter.cleanup();
      waiter.resolve(result);
      return true;
    }
    const now = this.#now();
    for (const [earlyKey, entry] of this.#early) {
      if (entry.expiresAt <= now || this.#early.size >= this.#maxEarly) this.#early.delete(earlyKey);
      else break;
    }
    this.#early.set(key, { result, expiresAt: now + this.#earlyTtlMs });
    return false;
  }

  /** Stop every waiter (they resolve `undefined`). */
  clear(): void {
    for (const waiter of [...this.#waiters.values()]) {
      waiter.cleanup();
      waiter.resolve(undefined);
    }
    this.#early.clear();
  }
}

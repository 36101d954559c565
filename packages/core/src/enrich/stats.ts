/**
 * Latency percentiles in milliseconds. Percentiles are the upper edge of a
 * histogram bucket (about 4% wide), never above `max`; all are 0 with no samples.
 */
export interface LatencySummary {
  /** Samples recorded (for a provider: calls timed, failed ones and re-runs after a 429 included). */
  readonly count: number;
  /** Median, in ms. */
  readonly p50: number;
  /** 95th percentile, in ms. */
  readonly p95: number;
  /** 99th percentile, in ms. */
  readonly p99: number;
  /** Largest sample, in ms (rounded to 0.01). */
  readonly max: number;
}

/**
 * A latency histogram with logarithmic buckets (about 4% wide) from 0.1 ms
 * to about 10 minutes: constant memory whatever the number of samples,
 * percentiles within one bucket's width.
 */
class LatencyHistogram {
  static readonly #base = 1.04;
  static readonly #minMs = 0.1;
  readonly #buckets = new Uint32Array(512);
  #count = 0;
  #max = 0;

  /** Record one sample. */
  record(ms: number): void {
    const value = Math.max(0, ms);
    const index =
      value <= LatencyHistogram.#minMs
        ? 0
        : Math.min(
            this.#buckets.length - 1,
            1 + Math.floor(Math.log(value / LatencyHistogram.#minMs) / Math.log(LatencyHistogram.#base)),
          );
    this.#buckets[index] = (this.#buckets[index] ?? 0) + 1;
    this.#count += 1;
    if (value > this.#max) this.#max = value;
  }

  /** The value below which `quantile` (0..1) of the samples fall. */
  percentile(quantile: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(quantile * this.#count));
    let seen = 0;
    for (let index = 0; index < this.#buckets.length; index++) {
      seen += this.#buckets[index] ?? 0;
      if (seen >= rank) {
        const upper =
          index === 0 ? LatencyHistogram.#minMs : LatencyHistogram.#minMs * LatencyHistogram.#base ** index;
        return Math.min(this.#max, Math.round(upper * 100) / 100);
      }
    }
    return this.#max;
  }

  /** Count, p50, p95, p99 and max. */
  summary(): LatencySummary {
    return {
      count: this.#count,
      p50: this.percentile(0.5),
      p95: this.percentile(0.95),
      p99: this.percentile(0.99),
      max: Math.round(this.#max * 100) / 100,
    };
  }
}

/** Why and when a provider was taken out of the run. */
export interface ProviderDisabled {
  /** `unauthorized`: its credentials were refused (a wrong or revoked key); `forbidden`: it refused access (a 403). */
  readonly code: 'unauthorized' | 'forbidden';
  /** The vendor error's message (never a secret), such as which setting or variable holds the key. */
  readonly message: string;
  /** Calls made to it before it was taken out (its retries included). */
  readonly afterCalls: number;
  /** When, ISO 8601 (the engine's clock). */
  readonly at: string;
}

/** What the engine counted for one provider. */
export interface ProviderStats {
  /** Calls made to the provider (a batch call counts once). */
  readonly calls: number;
  /** Leads sent to the provider (a batch of 10 counts 10). */
  readonly requests: number;
  /** Answers served from the cache instead of a call. */
  readonly cacheHits: number;
  /** Leads the provider found. */
  readonly matches: number;
  /** Leads the provider did not find. */
  readonly misses: number;
  /** Lookups answered later by webhook. */
  readonly pending: number;
  /** Calls that failed after the limiter and retries gave up. */
  readonly errors: number;
  /** 429 answers received (each one waited out by the limiter). */
  readonly rateLimited: number;
  /** Calls refused with 401 and asked once more (an expired token or session, or a blip). */
  readonly authRetries: number;
  /**
   * Set when the provider was taken out of the run: every later lead skipped
   * it. A report shows it first: a run can end "done" with little enriched.
   */
  readonly disabled?: ProviderDisabled;
  /** Calls not made because of a credit budget. */
  readonly budgetSkips: number;
  /** Credits spent. */
  readonly credits: number;
  /** Latency of calls, excluding time queued in the limiter. */
  readonly latency: LatencySummary;
}

/** Mutable counters behind {@link ProviderStats}. */
export class ProviderStatsCounter {
  calls = 0;
  requests = 0;
  cacheHits = 0;
  matches = 0;
  misses = 0;
  pending = 0;
  errors = 0;
  rateLimited = 0;
  authRetries = 0;
  disabled: ProviderDisabled | undefined;
  budgetSkips = 0;
  credits = 0;
  readonly latency = new LatencyHistogram();

  /** A frozen copy. */
  snapshot(): ProviderStats {
    return {
      calls: this.calls,
      requests: this.requests,
      cacheHits: this.cacheHits,
      matches: this.matches,
      misses: this.misses,
      pending: this.pending,
      errors: this.errors,
      rateLimited: this.rateLimited,
      authRetries: this.authRetries,
      ...(this.disabled === undefined ? {} : { disabled: this.disabled }),
      budgetSkips: this.budgetSkips,
      credits: Math.round(this.credits * 1e6) / 1e6,
      latency: this.latency.summary(),
    };
  }
}

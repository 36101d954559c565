import type {
  EnrichCallOptions,
  EnrichmentProviderV1,
  RateLimitState,
  RateLimitWindowState,
} from '@leadpipe/core';

/** A provider's use of one quota window, as its last response headers said. */
export interface QuotaUse {
  /** Window name, such as `minute` or `day`. */
  readonly window: string;
  /** Requests the window allows. */
  readonly limit: number;
  /** Requests used in the window (limit minus remaining). */
  readonly used: number;
  /** `used / limit`, 0..1. */
  readonly share: number;
}

/**
 * Tracks what each provider's response headers say about its quotas (the
 * `onRateLimit` reports the engine's limiter already reads), for the
 * progress display.
 */
export interface QuotaTracker {
  /**
   * Wrap a provider so its rate-limit reports are recorded too. The wrapper
   * forwards every call and every report unchanged.
   */
  track(provider: EnrichmentProviderV1): EnrichmentProviderV1;
  /** The most used window of each provider that reported one (by provider id). */
  snapshot(): Readonly<Record<string, QuotaUse>>;
}

function useOf(window: RateLimitWindowState): QuotaUse | undefined {
  const { limit, remaining } = window;
  if (limit === undefined || remaining === undefined || !(limit > 0)) return undefined;
  const used = Math.min(limit, Math.max(0, limit - remaining));
  return { window: window.name, limit, used, share: used / limit };
}

/** Create a {@link QuotaTracker}. */
export function createQuotaTracker(): QuotaTracker {
  const latest = new Map<string, RateLimitState>();

  function tap(providerId: string, options: EnrichCallOptions): EnrichCallOptions {
    const forward = options.onRateLimit;
    return {
      ...options,
      onRateLimit: (state) => {
        latest.set(providerId, state);
        forward?.(state);
      },
    };
  }

  return {
    track(provider) {
      return new Proxy(provider, {
        get(target, property, receiver) {
          if (property === 'doEnrich') {
            return (request: Parameters<EnrichmentProviderV1['doEnrich']>[0], options: EnrichCallOptions) =>
              target.doEnrich(request, tap(target.providerId, options));
          }
          if (property === 'doEnrichBatch' && typeof target.doEnrichBatch === 'function') {
            const batch = target.doEnrichBatch.bind(target);
            return (
              requests: Parameters<NonNullable<EnrichmentProviderV1['doEnrichBatch']>>[0],
              options: EnrichCallOptions,
            ) => batch(requests, tap(target.providerId, options));
          }
          const value: unknown = Reflect.get(target, property, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    },
    snapshot() {
      const out: Record<string, QuotaUse> = {};
      for (const [providerId, state] of latest) {
        let most: QuotaUse | undefined;
        for (const window of state.windows) {
          const use = useOf(window);
          if (use !== undefined && (most === undefined || use.share > most.share)) most = use;
        }
        if (most !== undefined) out[providerId] = most;
      }
      return out;
    },
  };
}

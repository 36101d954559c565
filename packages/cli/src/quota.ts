import {
  type Clock,
  type EnrichCallOptions,
  type EnrichmentProviderV1,
  type RateLimitState,
  type RateLimitWindowState,
  systemClock,
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
  /**
   * The window that binds each provider that reported one (by provider id):
   * the one that allows the fewest requests a second for the rest of it
   * (requests left over the time until it resets), so a day's quota shows
   * when it is what will run out, not the minute that is busier now.
   */
  snapshot(): Readonly<Record<string, QuotaUse>>;
}

/** Window lengths by their usual names, for a window that says neither its length nor its reset. */
const NAMED_WINDOW_MS: Readonly<Record<string, number>> = {
  second: 1_000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
};

interface WindowUse extends QuotaUse {
  /** Requests a second the window allows until it resets. */
  readonly allowedPerSecond: number;
}

function useOf(window: RateLimitWindowState, now: number): WindowUse | undefined {
  const { limit, remaining } = window;
  if (limit === undefined || remaining === undefined || !(limit > 0)) return undefined;
  const used = Math.min(limit, Math.max(0, limit - remaining));
  const untilReset =
    window.resetAt !== undefined
      ? window.resetAt - now
      : (window.intervalMs ?? NAMED_WINDOW_MS[window.name.toLowerCase()] ?? Number.POSITIVE_INFINITY);
  const allowedPerSecond = (limit - used) / Math.max(1, untilReset / 1000);
  return { window: window.name, limit, used, share: used / limit, allowedPerSecond };
}

/** Options of {@link createQuotaTracker}. */
export interface QuotaTrackerOptions {
  /** Clock, for the time left until a window resets. Default the system clock. */
  readonly now?: Clock;
}

/** Create a {@link QuotaTracker}. */
export function createQuotaTracker(options: QuotaTrackerOptions = {}): QuotaTracker {
  const now = options.now ?? systemClock;
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
      const at = now();
      for (const [providerId, state] of latest) {
        let binding: WindowUse | undefined;
        for (const window of state.windows) {
          const use = useOf(window, at);
          if (use === undefined) continue;
          const tighter =
            binding === undefined ||
            use.allowedPerSecond < binding.allowedPerSecond ||
            (use.allowedPerSecond === binding.allowedPerSecond && use.share > binding.share);
          if (tighter) binding = use;
        }
        if (binding !== undefined) {
          const { allowedPerSecond: _rate, ...use } = binding;
          out[providerId] = use;
        }
      }
      return out;
    },
  };
}

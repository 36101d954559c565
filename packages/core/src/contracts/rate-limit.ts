/**
 * Limits a provider or CRM declares for itself. Every window given is
 * enforced at once; omitted windows are unlimited.
 */
export interface RateLimitPolicy {
  /** Requests allowed per second. */
  readonly perSecond?: number;
  /** Requests allowed per minute. */
  readonly perMinute?: number;
  /** Requests allowed per hour. */
  readonly perHour?: number;
  /** Requests allowed per (rolling) day. */
  readonly perDay?: number;
  /** Other windows, such as HubSpot's 10-second window. */
  readonly windows?: readonly RateLimitWindow[];
  /** Requests allowed in flight at once. */
  readonly maxConcurrent?: number;
  /**
   * Whether the vendor counts its windows on clock boundaries (each UTC
   * minute, hour and day, or multiples of a custom window's length since the
   * Unix epoch) rather than from the first request. Fixed-window vendors
   * such as Apollo work this way; declaring it lets the limiter refill when
   * the vendor does, so quota is neither wasted nor overrun. Default `false`.
   */
  readonly alignedWindows?: boolean;
}

/** One fixed-length window: at most `limit` requests per `intervalMs`. */
export interface RateLimitWindow {
  /** Name used in stats and events, such as `minute` or `10s`. */
  readonly name: string;
  /** Requests allowed per interval. */
  readonly limit: number;
  /** Interval length in milliseconds. */
  readonly intervalMs: number;
  /** Whether this window starts on clock boundaries; default the policy's `alignedWindows`. */
  readonly aligned?: boolean;
}

/**
 * What a vendor's response headers said about its limits, in one shape
 * whatever the vendor's header names. Produced by `parseRateLimitHeaders()`.
 */
export interface RateLimitState {
  /** One entry per window the headers described. */
  readonly windows: readonly RateLimitWindowState[];
  /** How long the vendor asked us to wait (from `Retry-After` or a reset), in ms. */
  readonly retryAfterMs?: number;
}

/** The state of one window as reported by a vendor. */
export interface RateLimitWindowState {
  /** Window name: `second`, `minute`, `hour`, `day`, or the vendor's own. */
  readonly name: string;
  /** The window's limit, when reported. */
  readonly limit?: number;
  /** Requests left in the window, when reported. */
  readonly remaining?: number;
  /** Epoch milliseconds at which the window resets, when reported. */
  readonly resetAt?: number;
  /** The window's length in ms, when the vendor reports it (HubSpot, IETF `w=`). */
  readonly intervalMs?: number;
}

import type { HubspotRateLimitOptions } from './types.js';

/** Which HubSpot limit a request hit. */
export type HubspotPolicy = 'TEN_SECONDLY_ROLLING' | 'DAILY' | 'SECONDLY';

/** Outcome of admitting one request. */
export interface LimitDecision {
  /** The policy that refused the request, if any. */
  readonly refusedBy: HubspotPolicy | undefined;
  /** `X-HubSpot-RateLimit-*` headers to send. */
  readonly headers: Record<string, string>;
}

/** Resolved limit settings. */
export interface ResolvedLimits {
  /** Requests per rolling window per app. */
  readonly tenSecondly: number;
  /** Window length, emulated ms. */
  readonly windowMs: number;
  /** Requests per day per account. */
  readonly daily: number;
  /** Searches per second per account. */
  readonly searchPerSecond: number;
  /** Account time zone offset from UTC, minutes. */
  readonly timeZoneOffsetMinutes: number;
  /** Whether to send the -Secondly headers. */
  readonly secondlyHeaders: boolean;
}

/** Fill in HubSpot's Free/Starter defaults. */
export function resolveLimits(options: HubspotRateLimitOptions = {}): ResolvedLimits {
  return {
    tenSecondly: options.tenSecondly ?? 100,
    windowMs: options.windowMs ?? 10_000,
    daily: options.daily ?? 250_000,
    searchPerSecond: options.searchPerSecond ?? 5,
    timeZoneOffsetMinutes: options.timeZoneOffsetMinutes ?? 0,
    secondlyHeaders: options.secondlyHeaders ?? false,
  };
}

const DAY_MS = 86_400_000;

/**
 * HubSpot's limits: a rolling window per app, a daily budget per account
 * (reset at midnight in the account's time zone) and a separate per-second
 * window for search. Refused requests are not counted.
 */
export class HubspotLimiter {
  private readonly windows = new Map<string, number[]>();
  private searchTimes: number[] = [];
  private dayStart = Number.NaN;
  private dailyUsed = 0;

  /** @param limits - settings; @param now - emulated clock */
  constructor(
    private readonly limits: ResolvedLimits,
    private readonly now: () => number,
  ) {}

  /** Forget every window and the daily count. */
  clear(): void {
    this.windows.clear();
    this.searchTimes = [];
    this.dailyUsed = 0;
    this.dayStart = Number.NaN;
  }

  /**
   * Admit or refuse one request of app `appKey`.
   * @param isSearch - the request is a CRM search (its own per-second limit applies too)
   * @param oauth - OAuth-authorized: daily headers are not sent
   */
  admit(appKey: string, isSearch: boolean, oauth: boolean): LimitDecision {
    const at = this.now();
    const offset = this.limits.timeZoneOffsetMinutes * 60_000;
    const dayStart = Math.floor((at + offset) / DAY_MS) * DAY_MS - offset;
    if (dayStart !== this.dayStart) {
      this.dayStart = dayStart;
      this.dailyUsed = 0;
    }
    const window = (this.windows.get(appKey) ?? []).filter((time) => time > at - this.limits.windowMs);
    this.windows.set(appKey, window);
    this.searchTimes = this.searchTimes.filter((time) => time > at - 1000);

    let refusedBy: HubspotPolicy | undefined;
    if (this.dailyUsed >= this.limits.daily) refusedBy = 'DAILY';
    else if (window.length >= this.limits.tenSecondly) refusedBy = 'TEN_SECONDLY_ROLLING';
    else if (isSearch && this.searchTimes.length >= this.limits.searchPerSecond) refusedBy = 'SECONDLY';
    if (refusedBy === undefined) {
      this.dailyUsed += 1;
      window.push(at);
      if (isSearch) this.searchTimes.push(at);
    }

    const headers: Record<string, string> = {
      'X-HubSpot-RateLimit-Interval-Milliseconds': String(this.limits.windowMs),
      'X-HubSpot-RateLimit-Max': String(this.limits.tenSecondly),
      'X-HubSpot-RateLimit-Remaining': String(Math.max(0, this.limits.tenSecondly - window.length)),
    };
    if (!oauth) {
      headers['X-HubSpot-RateLimit-Daily'] = String(this.limits.daily);
      headers['X-HubSpot-RateLimit-Daily-Remaining'] = String(
        Math.max(0, this.limits.daily - this.dailyUsed),
      );
    }
    if (this.limits.secondlyHeaders) {
      const perSecond = Math.max(1, Math.floor(this.limits.tenSecondly / (this.limits.windowMs / 1000)));
      const lastSecond = window.filter((time) => time > at - 1000).length;
      headers['X-HubSpot-RateLimit-Secondly'] = String(perSecond);
      headers['X-HubSpot-RateLimit-Secondly-Remaining'] = String(Math.max(0, perSecond - lastSecond));
    }
    return { refusedBy, headers };
  }
}

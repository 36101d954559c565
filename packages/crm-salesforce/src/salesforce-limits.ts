import {
  ApiCallError,
  type HeaderReader,
  type HttpErrorInfo,
  type HttpErrorOverrides,
  type PartialRateLimitState,
  type RateLimitHeaderMapping,
  type RateLimitState,
} from '@leadpipe/core/adapter-kit';
import { SALESFORCE_PROVIDER_ID } from './salesforce-auth.js';

const DAY_MS = 86_400_000;

/**
 * Read `Sforce-Limit-Info: api-usage=10018/100000` (newer orgs add
 * `; api-bursts=1/750`) as the `day` window: the org's rolling 24-hour API
 * request allocation and what is left of it. Returns `undefined` without the
 * header.
 */
function parseSforceLimitInfo(header: HeaderReader): PartialRateLimitState | undefined {
  const value = header('sforce-limit-info');
  if (value === undefined) return undefined;
  const match = /api-usage\s*=\s*(\d+)\s*\/\s*(\d+)/i.exec(value);
  if (match === null) return undefined;
  const used = Number(match[1]);
  const limit = Number(match[2]);
  return { windows: [{ name: 'day', limit, remaining: Math.max(0, limit - used), intervalMs: DAY_MS }] };
}

/** Salesforce's rate-limit header mapping for `createHttpClient`: `Sforce-Limit-Info` only (Salesforce sends no `Retry-After`). */
export const salesforceRateLimitHeaders: RateLimitHeaderMapping = {
  retryAfter: false,
  parse: (header) => parseSforceLimitInfo(header),
};

/** How long calls stop after each kind of `REQUEST_LIMIT_EXCEEDED`. */
export interface SalesforceLimitWaits {
  /** After the org's daily allocation ran out (`TotalRequests Limit exceeded`, confirmed by the org's usage figures). */
  readonly quotaCooldownMs: number;
  /**
   * After a `REQUEST_LIMIT_EXCEEDED` the org's usage does not explain: the
   * concurrent long-running request cap (`ConcurrentPerOrgLongTxn`), or a
   * refusal while the org still has requests left.
   */
  readonly concurrencyBackoffMs: number;
}

/** The org's rolling 24-hour API request allocation, as Salesforce last reported it. */
export interface SalesforceApiAllocation {
  /** Requests counted in the last 24 hours. */
  readonly used: number;
  /** Requests allowed per rolling 24 hours. */
  readonly max: number;
}

/** The allocation a parsed `Sforce-Limit-Info` header reports, if it does. */
export function allocationOf(state: RateLimitState | undefined): SalesforceApiAllocation | undefined {
  const day = state?.windows.find((window) => window.name === 'day');
  if (day?.limit === undefined || day.remaining === undefined) return undefined;
  return { used: Math.max(0, day.limit - day.remaining), max: day.limit };
}

function firstError(json: unknown): { errorCode?: string; message?: string } | undefined {
  const first = Array.isArray(json) ? json[0] : json;
  if (typeof first !== 'object' || first === null) return undefined;
  const record = first as Record<string, unknown>;
  return {
    ...(typeof record.errorCode === 'string' ? { errorCode: record.errorCode } : {}),
    ...(typeof record.message === 'string' ? { message: record.message } : {}),
  };
}

/** The `rate_limited` verdict for a `REQUEST_LIMIT_EXCEEDED` the org's allocation does not explain. */
export function transientLimit(waits: SalesforceLimitWaits, why: string): HttpErrorOverrides {
  return {
    code: 'rate_limited',
    vendorCode: 'REQUEST_LIMIT_EXCEEDED',
    retryAfterMs: waits.concurrencyBackoffMs,
    message: `REQUEST_LIMIT_EXCEEDED while ${why}: waiting ${waits.concurrencyBackoffMs} ms, then sending again`,
  };
}

/**
 * Map Salesforce's error bodies (`[{message, errorCode, fields}]`) onto
 * leadpipe codes. 403 `REQUEST_LIMIT_EXCEEDED` is read with the response's
 * `Sforce-Limit-Info`: when it shows the org's 24-hour allocation used up,
 * `quota_exceeded` (calls stop for `quotaCooldownMs`); when it shows
 * requests left, or the message names the concurrent long-running request
 * cap, `rate_limited` (the limiter waits `concurrencyBackoffMs` and sends
 * again). Without the header it is `quota_exceeded` with no `rateLimit`,
 * and the API client asks `/limits` before believing it. Salesforce's
 * message is not copied: it can quote record values.
 */
export function mapSalesforceError(
  info: HttpErrorInfo,
  waits: SalesforceLimitWaits,
): HttpErrorOverrides | undefined {
  const error = firstError(info.json);
  if (error?.errorCode === 'REQUEST_LIMIT_EXCEEDED') {
    if (/concurrent/i.test(error.message ?? '')) {
      return transientLimit(
        waits,
        'the org has too many concurrent long-running requests (ConcurrentPerOrgLongTxn)',
      );
    }
    const allocation = allocationOf(info.rateLimit);
    if (allocation !== undefined && allocation.used < allocation.max) {
      return transientLimit(
        waits,
        `the org still has ${allocation.max - allocation.used} of its ${allocation.max} daily API requests left`,
      );
    }
    return {
      code: 'quota_exceeded',
      vendorCode: 'REQUEST_LIMIT_EXCEEDED',
      retryAfterMs: waits.quotaCooldownMs,
      message:
        allocation === undefined
          ? 'the org refused the call with REQUEST_LIMIT_EXCEEDED'
          : `the org has used its API request allocation (${allocation.used}/${allocation.max} in the last 24 hours, REQUEST_LIMIT_EXCEEDED)`,
    };
  }
  if (info.status === 300) return { code: 'conflict', vendorCode: 'MULTIPLE_CHOICES' };
  return error?.errorCode === undefined ? undefined : { vendorCode: error.errorCode };
}

/**
 * Stops every call while the org's allocation is spent: after a
 * `quota_exceeded`, calls reject at once (nothing is sent) until the
 * cooldown ends.
 */
export class QuotaGate {
  #closedUntil = 0;
  readonly #now: () => number;

  /** @param now - the clock, epoch ms. */
  constructor(now: () => number) {
    this.#now = now;
  }

  /** Close the gate for `ms`. */
  close(ms: number): void {
    this.#closedUntil = Math.max(this.#closedUntil, this.#now() + ms);
  }

  /** Throw `quota_exceeded` while the gate is closed. */
  check(): void {
    const left = this.#closedUntil - this.#now();
    if (left > 0) {
      throw new ApiCallError('quota_exceeded', {
        message: `salesforce: calls are stopped for ${left} ms more: the org used its API request allocation (REQUEST_LIMIT_EXCEEDED)`,
        providerId: SALESFORCE_PROVIDER_ID,
        vendorCode: 'REQUEST_LIMIT_EXCEEDED',
        retryAfterMs: left,
      });
    }
  }
}

/**
 * A counting semaphore: at most `size` requests in flight, so long-running
 * calls (bulk uploads, big collections) stay under the org's concurrency
 * cap. Waiters are served in order and leave the queue when aborted.
 */
export class Semaphore {
  readonly #size: number;
  #active = 0;
  readonly #waiting: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  #peak = 0;

  /** @param size - slots. */
  constructor(size: number) {
    this.#size = size;
  }

  /** Most requests that were in flight at once. */
  get peak(): number {
    return this.#peak;
  }

  /** Run `task` in a slot. */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.#acquire(signal);
    try {
      return await task();
    } finally {
      this.#release();
    }
  }

  #acquire(signal: AbortSignal | undefined): Promise<void> {
    if (this.#active < this.#size) {
      this.#active += 1;
      this.#peak = Math.max(this.#peak, this.#active);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.#waiting.indexOf(waiter);
        if (index < 0) return;
        this.#waiting.splice(index, 1);
        reject(
          new ApiCallError('aborted', {
            message: 'salesforce: the call was aborted while waiting for a request slot',
            providerId: SALESFORCE_PROVIDER_ID,
            cause: signal?.reason,
          }),
        );
      };
      const waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject,
      };
      this.#waiting.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next === undefined) {
      this.#active -= 1;
      return;
    }
    next.resolve();
  }
}

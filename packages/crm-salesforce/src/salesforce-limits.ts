import {
  ApiCallError,
  type HeaderReader,
  type HttpErrorInfo,
  type HttpErrorOverrides,
  type PartialRateLimitState,
  type RateLimitHeaderMapping,
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
  /** After the org's daily allocation ran out (`TotalRequests Limit exceeded`). */
  readonly quotaCooldownMs: number;
  /** After too many concurrent long-running requests (`ConcurrentPerOrgLongTxn Limit exceeded`). */
  readonly concurrencyBackoffMs: number;
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

/**
 * Map Salesforce's error bodies (`[{message, errorCode, fields}]`) onto
 * leadpipe codes: 403 `REQUEST_LIMIT_EXCEEDED` is `quota_exceeded` (the
 * daily allocation; calls stop for `quotaCooldownMs`) or, for the
 * concurrent long-running request cap, `rate_limited` (the limiter waits
 * `concurrencyBackoffMs` and runs it again). Salesforce's message is not
 * copied: it can quote record values.
 */
export function mapSalesforceError(
  info: HttpErrorInfo,
  waits: SalesforceLimitWaits,
): HttpErrorOverrides | undefined {
  const error = firstError(info.json);
  if (error?.errorCode === 'REQUEST_LIMIT_EXCEEDED') {
    const concurrent = /concurrent/i.test(error.message ?? '');
    return concurrent
      ? {
          code: 'rate_limited',
          vendorCode: 'REQUEST_LIMIT_EXCEEDED',
          retryAfterMs: waits.concurrencyBackoffMs,
          message: 'too many concurrent long-running requests in the org (ConcurrentPerOrgLongTxn)',
        }
      : {
          code: 'quota_exceeded',
          vendorCode: 'REQUEST_LIMIT_EXCEEDED',
          retryAfterMs: waits.quotaCooldownMs,
          message: 'the org has used its API request allocation (REQUEST_LIMIT_EXCEEDED)',
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

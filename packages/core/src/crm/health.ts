import type { CrmRecordError } from '../contracts/crm-adapter.js';

/** Failures that take a CRM down at once: retrying cannot help within the run. */
const TAKES_DOWN_AT_ONCE: ReadonlySet<string> = new Set(['unauthorized', 'forbidden', 'quota_exceeded']);

/**
 * Whether `error` takes a CRM down at once: `quota_exceeded`, or an
 * `unauthorized` / `forbidden` the adapter did not mark retryable (a wrong
 * credential; an adapter marks a session that expired again right after its
 * renewal retryable, and such failures count toward `downAfter` instead).
 */
function takesDownAtOnce(error: CrmRecordError): boolean {
  if (!TAKES_DOWN_AT_ONCE.has(error.code)) return false;
  return error.code === 'quota_exceeded' || !error.retryable;
}

/**
 * Whether one CRM is down for the rest of a run: after `downAfter` calls in a
 * row failed as a whole (after their retries), or at once on `quota_exceeded`
 * or a non-retryable `unauthorized` or `forbidden`. Pure state; the run asks it before each
 * call and tells it how each batch ended.
 */
export class CrmHealth {
  readonly #adapterId: string;
  readonly #downAfter: number;
  #consecutiveFailures = 0;
  #down: CrmRecordError | undefined;

  /**
   * @param adapterId - names the CRM in the down error's message.
   * @param downAfter - whole-call failures in a row that take the CRM down.
   */
  constructor(adapterId: string, downAfter: number) {
    this.#adapterId = adapterId;
    this.#downAfter = downAfter;
  }

  /** The error the CRM's remaining records are dead-lettered with once it is down (retryable). */
  get down(): CrmRecordError | undefined {
    return this.#down;
  }

  /**
   * Whether the last batch to end failed as a whole and the CRM is not down
   * (yet): new batches then wait for those in flight, so that at most
   * `concurrency` batches fail before the CRM is taken down.
   */
  get suspect(): boolean {
    return this.#consecutiveFailures > 0 && this.#down === undefined;
  }

  /** A call reached the CRM and it answered: the run of failures is broken. */
  succeeded(): void {
    this.#consecutiveFailures = 0;
  }

  /**
   * A call failed as a whole (after retries). Returns the down error when
   * this failure took the CRM down, `undefined` otherwise (including when it
   * was down already).
   */
  failed(error: CrmRecordError): CrmRecordError | undefined {
    if (this.#down) return undefined;
    this.#consecutiveFailures += 1;
    if (!takesDownAtOnce(error) && this.#consecutiveFailures < this.#downAfter) return undefined;
    this.#down = {
      code: error.code,
      message: `${this.#adapterId} is down for this run: ${error.message}`,
      retryable: true,
      ...(error.vendorCode !== undefined ? { vendorCode: error.vendorCode } : {}),
      raw: error.raw,
    };
    return this.#down;
  }
}

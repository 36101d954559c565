import { type Clock, systemClock } from '../contracts/clock.js';
import { WebhookVerificationError } from '../contracts/errors.js';

/** Options of {@link assertFreshTimestamp}. */
export interface FreshTimestampOptions {
  /** The clock the timestamp is compared with (epoch ms), as the engine and limiter take. Default `Date.now`. */
  readonly now?: Clock;
  /** How far the timestamp may be from `now`, either way, in milliseconds. Defaults to 5 minutes. */
  readonly toleranceMs?: number;
  /** The provider or CRM the webhook claims to come from, for the error. */
  readonly providerId?: string;
  /** Where the timestamp came from (such as a header name), for the error message. Defaults to `timestamp`. */
  readonly fieldName?: string;
}

/** The default tolerance of {@link assertFreshTimestamp}: 5 minutes, as HubSpot requires. */
export const DEFAULT_TIMESTAMP_TOLERANCE_MS = 300_000;

/**
 * Reject a webhook whose signed timestamp is too old (a replay) or too far in
 * the future. Accepts a number or the header text of one, in epoch
 * milliseconds; only plain digits are accepted as text (`"1700000000000.0"`
 * is rejected, not rounded).
 *
 * @throws WebhookVerificationError `timestamp_expired` when the timestamp is
 * outside `toleranceMs` of `now`; `payload_invalid` when it is missing or not
 * a whole number of milliseconds.
 */
export function assertFreshTimestamp(
  timestampMs: number | string | null | undefined,
  options: FreshTimestampOptions = {},
): void {
  const field = options.fieldName ?? 'timestamp';
  const now = (options.now ?? systemClock)();
  const tolerance = options.toleranceMs ?? DEFAULT_TIMESTAMP_TOLERANCE_MS;
  let value: number | undefined;
  if (typeof timestampMs === 'number') value = Number.isSafeInteger(timestampMs) ? timestampMs : undefined;
  else if (typeof timestampMs === 'string' && /^\d{1,16}$/.test(timestampMs.trim()))
    value = Number(timestampMs.trim());
  if (value === undefined) {
    throw new WebhookVerificationError('payload_invalid', {
      message: `${field}: must be a whole number of epoch milliseconds, got ${
        timestampMs === undefined || timestampMs === null
          ? 'nothing'
          : JSON.stringify(String(timestampMs).slice(0, 32))
      }`,
      providerId: options.providerId,
    });
  }
  const age = now - value;
  if (Math.abs(age) > tolerance) {
    throw new WebhookVerificationError('timestamp_expired', {
      message: `${field}: the webhook was signed ${age >= 0 ? `${age} ms ago` : `${-age} ms in the future`}, outside the allowed ${tolerance} ms`,
      providerId: options.providerId,
    });
  }
}

import { ValidationError } from '@leadpipe/core/adapter-kit';

// Checks of what the campaign store writes to columns with a narrower type than TypeScript's: a bad value gets a
// ValidationError naming the field instead of a database error.

const MAX_EPOCH_MS = 8_640_000_000_000_000;

/** An epoch-millisecond time (a bigint column). */
export function checkTime(field: string, value: number): void {
  if (!Number.isSafeInteger(value) || Math.abs(value) > MAX_EPOCH_MS) {
    throw new ValidationError([{ field, reason: 'must be a whole number of epoch milliseconds' }]);
  }
}

/** A row limit. */
export function checkLimit(field: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError([{ field, reason: 'must be a whole number, 0 or more' }]);
  }
}

/** A count kept in an integer column (versions, attempts). */
export function checkCount(field: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 2_147_483_647) {
    throw new ValidationError([{ field, reason: 'must be a whole number from 0 to 2,147,483,647' }]);
  }
}

/** A value of a closed set (a status, a reason). */
export function checkOneOf(field: string, value: string, allowed: readonly string[]): void {
  if (!allowed.includes(value)) {
    throw new ValidationError([{ field, reason: `must be one of ${allowed.join(', ')}` }]);
  }
}

/** The reasons a suppression may have. */
export const SUPPRESSION_REASONS: readonly string[] = [
  'unsubscribed',
  'bounced',
  'complained',
  'do_not_contact',
];

/** The statuses an enrollment may have. */
export const ENROLLMENT_STATUSES: readonly string[] = ['active', 'completed', 'exited', 'failed'];

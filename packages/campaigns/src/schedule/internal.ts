import { ConfigurationError } from '@leadpipe/core/adapter-kit';

/** A ConfigurationError with one issue: `field: reason`. */
export function invalid(field: string, reason: string): ConfigurationError {
  return new ConfigurationError('invalid_configuration', {
    issues: [{ field, reason }],
    message: `${field}: ${reason}`,
  });
}

/** Epoch milliseconds of a Date or a number; a ConfigurationError naming `field` when it is not a finite time. */
export function toMillis(at: Date | number, field = 'at'): number {
  const millis = typeof at === 'number' ? at : at instanceof Date ? at.getTime() : Number.NaN;
  if (!Number.isFinite(millis)) throw invalid(field, 'is not a valid time');
  return millis;
}

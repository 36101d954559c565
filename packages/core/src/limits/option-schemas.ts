import { z } from 'zod';
import { type Clock, systemClock } from '../contracts/clock.js';

/** A zod message that echoes the value it rejects: `<reason>, got <value>`. */
function got(reason: string): { error: (issue: { input?: unknown }) => string } {
  return { error: (issue) => `${reason}, got ${String(issue.input)}` };
}

/** A whole number of at least `min`: `must be a whole number of at least 1, got 0`. */
export function wholeNumberSchema(min: number): z.ZodNumber {
  const message = got(`must be a whole number of at least ${min}`);
  return z.number(message).int(message).min(min, message);
}

/** A finite number of at least `min` (`of milliseconds` when `unit` says so). */
export function numberAtLeastSchema(min: number, unit?: string): z.ZodNumber {
  const message = got(`must be a number${unit === undefined ? '' : ` of ${unit}`} of at least ${min}`);
  return z.number(message).min(min, message);
}

/** A positive finite number of milliseconds. */
export function positiveMillisecondsSchema(): z.ZodNumber {
  const message = got('must be a positive number of milliseconds');
  return z.number(message).positive(message);
}

/** Any function, typed as `T` (zod cannot check a function's signature). */
export function functionSchema<T>(reason = 'must be a function'): z.ZodType<T> {
  return z.custom<T>((value) => typeof value === 'function', { error: reason });
}

/** An optional {@link Clock}, defaulting to the system clock. */
export const clockSchema = functionSchema<Clock>('must be a function returning epoch ms').default(
  () => systemClock,
);

/** A string with something in it besides spaces. */
export const nonEmptyTextSchema = z
  .string({ error: 'must be a non-empty string' })
  .refine((value) => value.trim() !== '', { error: 'must be a non-empty string' });

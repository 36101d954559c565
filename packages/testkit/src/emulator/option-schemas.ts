import { z } from 'zod';

// Zod pieces of the testkit's option schemas (checked by core's `parseOptions`): each reason echoes the
// value it refuses, `<reason>, got <value>`.

/** A zod message that echoes the value it rejects: `<reason>, got <value>`. */
function got(reason: string): { error: (issue: { input?: unknown }) => string } {
  return { error: (issue) => `${reason}, got ${String(issue.input)}` };
}

/** A finite number above 0: `must be a positive number, got 0`. */
export function positiveNumberSchema(): z.ZodNumber {
  const message = got('must be a positive number');
  return z.number(message).positive(message);
}

/** A finite number of 0 or more: `must be a non-negative number, got -1`. */
export function nonNegativeNumberSchema(): z.ZodNumber {
  const message = got('must be a non-negative number');
  return z.number(message).min(0, message);
}

/** A share in [0, 1]: `<reason>, got 2` (default reason `must be a share between 0 and 1`). */
export function shareSchema(reason = 'must be a share between 0 and 1'): z.ZodNumber {
  const message = got(reason);
  return z.number(message).min(0, message).max(1, message);
}

/** An option this schema lists (so a strict object knows it) but does not check. */
export const uncheckedOption = z.unknown().optional();

import type { z } from 'zod';
import { ConfigurationError, type ValidationIssue } from '../contracts/errors.js';

/** Where the options being checked belong, for error messages. */
export interface ParseOptionsContext {
  /** What the options configure, such as `createLimiter` or `createCrmSync`. Starts the message. */
  readonly name: string;
  /** The provider or CRM the options are for, when there is one. */
  readonly providerId?: string;
}

/** A zod issue's path as a dotted field name (`retry.retries`, `targets.0.key`). */
function fieldOf(path: readonly PropertyKey[], fallback: string): string {
  if (path.length === 0) return fallback;
  return path.map((part) => String(part)).join('.');
}

/**
 * The one option checker of leadpipe: parses `value` with `schema` and returns
 * the parsed (defaulted) options, or throws a {@link ConfigurationError} with
 * code `invalid_configuration` whose `issues` name every wrong option and why
 * (each unknown key of a strict object as `<key>: is not a known option`).
 *
 * @param schema - a zod schema of the options.
 * @param value - what the caller passed.
 * @param context - names the options in the message.
 */
export function parseOptions<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  context: ParseOptionsContext,
): z.output<Schema> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues: ValidationIssue[] = result.error.issues.flatMap((issue) =>
    // A strict object's unknown keys: one issue per key, naming it (a typo such as `apikey`).
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({
          field: fieldOf([...issue.path, key], key),
          reason: 'is not a known option',
        }))
      : [{ field: fieldOf(issue.path, 'options'), reason: issue.message }],
  );
  throw new ConfigurationError('invalid_configuration', {
    issues,
    providerId: context.providerId,
    message: `${context.name}: ${issues.map((issue) => `${issue.field}: ${issue.reason}`).join('; ')}`,
  });
}

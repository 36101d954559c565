import { TelemetryAttributes, traceCall } from '@leadpipe/core/adapter-kit';

/** `db.system.name` of every span of this package (OpenTelemetry semantic conventions). */
const DB_SYSTEM = { 'db.system.name': 'postgresql' } as const;

/**
 * Wrap the methods of `target` named in `operations` (method name to
 * operation name) in place, so each call is a `leadpipe.store.<operation>`
 * span from `traceCall` (kind `store`, `leadpipe.store` = `vendor`). Only
 * counts go on the span (`leadpipe.batch.size` when the first argument is
 * an array): never a SQL value, an email or the connection URL. Methods that
 * call each other through `target` (an export paging through `query`) get a
 * span per call, not per row.
 */
export function traceStoreMethods<T extends object>(
  target: T,
  vendor: string,
  operations: Readonly<Partial<Record<keyof T & string, string>>>,
): T {
  const methods = target as Record<string, unknown>;
  for (const [name, operation] of Object.entries(operations) as [string, string][]) {
    const original = methods[name];
    if (typeof original !== 'function') continue;
    methods[name] = (...args: unknown[]) => {
      const first = args[0];
      return traceCall(
        {
          kind: 'store',
          vendor,
          operation,
          attributes: Array.isArray(first)
            ? { ...DB_SYSTEM, [TelemetryAttributes.batchSize]: first.length }
            : DB_SYSTEM,
        },
        async () => original.apply(target, args),
      );
    };
  }
  return target;
}

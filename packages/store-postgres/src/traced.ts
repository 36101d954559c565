import type { Cache, CheckpointStore, DeadLetterQueue } from '@leadpipe/core/adapter-kit';
import { markSpanFailed, startRunSpan, TelemetryAttributes, traceCall } from '@leadpipe/core/adapter-kit';

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

/** Cache methods traced, with their span's operation. */
const CACHE_OPERATIONS = { get: 'cache_get', set: 'cache_set', delete: 'cache_delete' } as const;

/** Dead-letter queue methods traced, with their span's operation. */
const DEAD_LETTER_OPERATIONS = {
  put: 'dead_letter_put',
  list: 'dead_letter_list',
  remove: 'dead_letter_remove',
  size: 'dead_letter_size',
} as const;

/** Checkpoint methods traced: the reads and the flush (`markFinished` only buffers, so it has none). */
const CHECKPOINT_OPERATIONS = { finishedIn: 'checkpoint_finished_in', flush: 'checkpoint_flush' } as const;

/** Checkpoint answers: a cache scoped to the run. */
const CHECKPOINT_RESULT_OPERATIONS = {
  get: 'checkpoint_result_get',
  set: 'checkpoint_result_set',
  delete: 'checkpoint_result_delete',
} as const;

/** Trace a {@link Cache} on the store's database: `leadpipe.store.cache_get`, `cache_set`, `cache_delete`. */
export function traceCache(cache: Cache, vendor: string): Cache {
  return traceStoreMethods(cache, vendor, CACHE_OPERATIONS);
}

/** Trace a {@link DeadLetterQueue}: `leadpipe.store.dead_letter_put`, `_list`, `_remove`, `_size`. */
export function traceDeadLetterQueue(queue: DeadLetterQueue, vendor: string): DeadLetterQueue {
  return traceStoreMethods(queue, vendor, DEAD_LETTER_OPERATIONS);
}

/**
 * Trace a {@link CheckpointStore}: `leadpipe.store.checkpoint_open`, and on each checkpoint it opens
 * `checkpoint_finished_in`, `checkpoint_flush` and `checkpoint_result_get`/`_set`/`_delete` (its answers).
 */
export function traceCheckpointStore(store: CheckpointStore, vendor: string): CheckpointStore {
  const open = store.open.bind(store);
  const traced: CheckpointStore = {
    async open(request) {
      const checkpoint = await open(request);
      traceStoreMethods(checkpoint.results, vendor, CHECKPOINT_RESULT_OPERATIONS);
      return traceStoreMethods(checkpoint, vendor, CHECKPOINT_OPERATIONS);
    },
  };
  return traceStoreMethods(traced, vendor, { open: 'checkpoint_open' });
}

/**
 * A backup's lines, read inside one `leadpipe.store.backup` span that ends when the last line is read (or the
 * reader stops, or it fails: then with the error's code).
 */
export async function* tracedBackup(lines: AsyncIterable<string>, vendor: string): AsyncIterable<string> {
  const span = startRunSpan('leadpipe.store.backup', {
    ...DB_SYSTEM,
    [TelemetryAttributes.call]: 'store',
    [TelemetryAttributes.store]: vendor,
    [TelemetryAttributes.operation]: 'backup',
  });
  try {
    yield* lines;
  } catch (error) {
    markSpanFailed(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** A restore as one `leadpipe.store.restore` span (counts of what it restored are its return value, not attributes). */
export function tracedRestore<T>(vendor: string, restore: () => Promise<T>): Promise<T> {
  return traceCall({ kind: 'store', vendor, operation: 'restore', attributes: DB_SYSTEM }, restore);
}

import { readFile } from 'node:fs/promises';
import { createWorker } from '@leadpipe/bullmq';
import { ConfigurationError } from '@leadpipe/core';
import { createRedisCache } from '@leadpipe/store-redis';
import { connect, missingKeys, registerKeys } from './connections.js';
import { type EmulatedVendors, emulateFaults, startEmulatedVendors } from './emulate.js';
import { type CliIo, EXIT_CODES, type ExitCode, problemText } from './io.js';
import { openStore } from './store.js';
import type { WorkerCommandOptions } from './worker-args.js';

/**
 * Emulators another process serves (`leadpipe-emulator`), from the JSON
 * line it printed: `{"vendors":{"<id>":{"baseUrl":…,"credentials":{…}}}}`.
 * Closing them is that process's business.
 *
 * @throws ConfigurationError naming `--emulators` when the file is not such a line.
 */
async function sharedEmulators(path: string): Promise<EmulatedVendors> {
  const refuse = (reason: string) =>
    new ConfigurationError('invalid_configuration', { issues: [{ field: '--emulators', reason }] });
  let parsed: unknown;
  try {
    parsed = JSON.parse((await readFile(path, 'utf8')).trim().split('\n')[0] ?? '');
  } catch (error) {
    throw refuse(`could not read the JSON line leadpipe-emulator printed: ${(error as Error).message}`);
  }
  const vendors = (parsed as { vendors?: unknown } | null)?.vendors;
  if (typeof vendors !== 'object' || vendors === null)
    throw refuse('must hold the JSON line leadpipe-emulator printed ({"vendors":{...}})');
  const urls: Record<string, Record<string, string>> = {};
  const credentials: Record<string, Record<string, string>> = {};
  for (const [id, entry] of Object.entries(vendors as Record<string, Record<string, unknown>>)) {
    const { credentials: given, ...rest } = entry;
    urls[id] = Object.fromEntries(
      Object.entries(rest).filter(([, value]) => typeof value === 'string'),
    ) as Record<string, string>;
    credentials[id] = (given ?? {}) as Record<string, string>;
  }
  return { urls, credentials, close: async () => undefined };
}

/** Resolves when `signal` aborts (at once if it has). */
function stopped(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal === undefined) return;
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/**
 * Run `leadpipe worker`: build the vendors from their descriptors (or
 * against emulators), open the lead store, share limits and answers through
 * Redis, take batches until the signal (SIGTERM, Ctrl-C) stops it, then
 * finish (or, past `--grace-ms`, hand back) the running batches and exit 0.
 */
export async function runWorker(options: WorkerCommandOptions, io: CliIo): Promise<ExitCode> {
  const { stderr } = io;
  registerKeys(io.env);
  if (!options.emulate) {
    const missing = missingKeys(options.providers, options.crm, io.env);
    if (missing.length > 0) {
      for (const key of missing)
        stderr.write(`leadpipe: missing key: set ${key.variable} (needed by ${key.neededBy})\n`);
      return EXIT_CODES.usage;
    }
  }
  const faults = options.emulate ? emulateFaults(io.env) : undefined;
  const emulators =
    options.emulators !== undefined
      ? await sharedEmulators(options.emulators)
      : options.emulate
        ? (io.emulators ?? (await startEmulatedVendors(faults === undefined ? {} : { faults })))
        : undefined;
  const connections = connect(options.providers, options.crm, io.env, emulators);
  const store = options.store === undefined ? undefined : (io.store ?? (await openStore(options.store)));
  const cache = createRedisCache({ redis: options.redis, prefix: `${options.prefix}:answers:` });
  try {
    const worker = createWorker({
      connection: options.redis,
      queueName: options.queue,
      prefix: options.prefix,
      concurrency: options.concurrency,
      cache,
      pipeline: {
        enrichment: {
          providers: connections.providers,
          ...(options.fields === undefined ? {} : { fields: options.fields }),
        },
        ...(connections.crm ? { crms: [connections.crm] } : {}),
        ...(store === undefined ? {} : { store: store.leads }),
        ...(connections.batchSize === undefined ? {} : { batchSize: connections.batchSize }),
      },
      onError: (error, id) => {
        if (!options.quiet) stderr.write(`leadpipe worker: batch ${id ?? '-'}: ${problemText(error)}\n`);
      },
    });
    try {
      await worker.ready();
    } catch (error) {
      await worker.close();
      throw error;
    }
    if (!options.quiet)
      stderr.write(
        `leadpipe worker: taking batches from ${options.queue} with ${options.providers.join(' > ')}${options.crm ? `, syncing to ${options.crm}` : ''}${options.store ? `, storing in ${options.store.display}` : ''}\n`,
      );
    await stopped(io.signal);
    if (!options.quiet) stderr.write('leadpipe worker: stopping: finishing the running batches\n');
    await worker.close(options.graceMs);
    if (!options.quiet) stderr.write(`leadpipe worker: stopped after ${worker.finished} batches\n`);
    return EXIT_CODES.done;
  } finally {
    await cache.close();
    if (store !== undefined && store !== io.store) await store.close();
    await connections.close();
    if (emulators !== undefined && emulators !== io.emulators) await emulators.close();
  }
}

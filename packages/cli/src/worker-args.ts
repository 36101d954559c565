import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isLeadField, type LeadField, ValidationError, type ValidationIssue } from '@leadpipe/core';
import { parseStoreLocation, type StoreLocation } from './store.js';
import { CRM_NAMES, PROVIDER_NAMES, unknownCrm, unknownProvider } from './vendors.js';

/** The options of `leadpipe worker`, checked. */
export interface WorkerCommandOptions {
  /** Redis URL (`--redis`, else `REDIS_URL`). */
  readonly redis: string;
  /** Providers, in waterfall order. */
  readonly providers: readonly string[];
  /** Fields to fill. */
  readonly fields: readonly LeadField[] | undefined;
  /** CRM to sync into, if any. */
  readonly crm: string | undefined;
  /** Lead store every done lead is upserted into, if any. */
  readonly store: StoreLocation | undefined;
  /** Run against emulators: in this process (`--emulate`) or shared ones (`--emulators <file>`). */
  readonly emulate: boolean;
  /** The JSON line `leadpipe-emulator` printed, in a file (absolute), for emulators every worker shares. */
  readonly emulators: string | undefined;
  /** The BullMQ queue. */
  readonly queue: string;
  /** BullMQ's key prefix. */
  readonly prefix: string;
  /** Batches run at once. */
  readonly concurrency: number;
  /** On SIGTERM, how long running batches may take before they are handed back, ms (undefined: no limit). */
  readonly graceMs: number | undefined;
  /** No log lines. */
  readonly quiet: boolean;
}

/** Usage of `leadpipe worker`. */
export const WORKER_HELP = `Usage: leadpipe worker --redis <url> [options]

Take batches of distributed runs from a BullMQ queue on Redis and run each through
enrichment, the lead store and CRM sync. Start as many as you like, on any machines:
limits and the answer cache are shared through Redis, so the quota is shared and no
lead is paid twice; CRM writes are keyed upserts. A producer (leadpipe submit, or createDistributedRun of
@leadpipe/bullmq) submits the input and writes the results out.

Options:
  --redis <url>          Redis (redis:// or rediss://; default: REDIS_URL). Must be noeviction
  --providers <list>     Providers in waterfall order: ${PROVIDER_NAMES.join(',')} (default: all)
  --fields <list>        Fields to fill (default: the providers' fields)
  --crm <name>           Sync into ${CRM_NAMES.join(' or ')} (default: no CRM)
  --store <url|folder>   Also upsert every done lead into a lead store (a postgres:// URL)
  --queue <name>         The BullMQ queue (default: leadpipe-runs)
  --prefix <prefix>      BullMQ's key prefix (default: leadpipe)
  --concurrency <n>      Batches run at once by this worker (default: 1)
  --grace-ms <ms>        On SIGTERM, how long running batches may take before they are
                         handed back to the queue (default: until they finish)
  --emulate              Run against vendor emulators in this process (one worker only)
  --emulators <file>     Run against shared emulators: a file with the JSON line leadpipe-emulator
                         printed (start it with --time-scale 600 and the --emulate limits)
  -q, --quiet            No log lines
  -h, --help             Show this help

Stops on SIGTERM or Ctrl-C: takes no more batches, finishes (or hands back) the running
ones, exits 0. Keys: as for leadpipe enrich (leadpipe enrich --help lists them).
`;

const WORKER_OPTIONS = {
  redis: { type: 'string' },
  providers: { type: 'string' },
  fields: { type: 'string' },
  crm: { type: 'string' },
  store: { type: 'string' },
  queue: { type: 'string' },
  prefix: { type: 'string' },
  concurrency: { type: 'string' },
  'grace-ms': { type: 'string' },
  emulate: { type: 'boolean' },
  emulators: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The flags of `leadpipe worker`, as typed. */
export const WORKER_FLAGS: readonly string[] = Object.entries(WORKER_OPTIONS).flatMap(([name, option]) => [
  `--${name}`,
  ...('short' in option ? [`-${option.short}`] : []),
]);

/** Parse `node:util` flags of `leadpipe worker`. */
export function parseWorkerArgs(argv: readonly string[]) {
  return parseArgs({ args: [...argv], allowPositionals: false, strict: true, options: WORKER_OPTIONS });
}

function list(value: string | undefined): string[] | undefined {
  return value
    ?.split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function wholeNumber(
  value: string | undefined,
  flag: string,
  min: number,
  max: number,
  issues: ValidationIssue[],
): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) {
    issues.push({ field: flag, reason: `must be a whole number from ${min} to ${max}, got "${value}"` });
    return undefined;
  }
  return number;
}

/**
 * Check the flags of `leadpipe worker` (parsed by {@link parseWorkerArgs}).
 *
 * @throws ValidationError naming each bad flag and the reason.
 */
export function checkWorkerOptions(
  values: ReturnType<typeof parseWorkerArgs>['values'],
  cwd: string,
  env: Readonly<Record<string, string | undefined>>,
): WorkerCommandOptions {
  const issues: ValidationIssue[] = [];
  const redis = values.redis ?? env.REDIS_URL;
  if (redis === undefined)
    issues.push({ field: '--redis', reason: 'is required (or set REDIS_URL): the Redis the queue is on' });
  else if (!/^rediss?:\/\//.test(redis))
    issues.push({ field: '--redis', reason: 'must be a redis:// or rediss:// URL' });
  const providers: string[] = [];
  for (const name of list(values.providers) ?? [...PROVIDER_NAMES]) {
    if (!PROVIDER_NAMES.includes(name)) issues.push(unknownProvider(name));
    else if (!providers.includes(name)) providers.push(name);
  }
  const named: LeadField[] = [];
  for (const name of list(values.fields) ?? []) {
    if (!isLeadField(name)) issues.push({ field: '--fields', reason: `"${name}" is not a lead field` });
    else named.push(name);
  }
  const fields = named.length > 0 ? named : undefined;
  if (values.crm !== undefined && !CRM_NAMES.includes(values.crm)) issues.push(unknownCrm(values.crm));
  const store =
    values.store === undefined ? undefined : parseStoreLocation(values.store, cwd, '--store', issues);
  for (const flag of ['queue', 'prefix'] as const) {
    const value = values[flag];
    if (value !== undefined && !/^[A-Za-z0-9_-]{1,100}$/.test(value))
      issues.push({ field: `--${flag}`, reason: 'must be 1 to 100 letters, digits, - or _' });
  }
  if (values.emulate === true && values.emulators !== undefined)
    issues.push({ field: '--emulators', reason: 'cannot go with --emulate: pick one' });
  const concurrency = wholeNumber(values.concurrency, '--concurrency', 1, 256, issues) ?? 1;
  const graceMs = wholeNumber(values['grace-ms'], '--grace-ms', 0, 86_400_000, issues);
  if (issues.length > 0)
    throw new ValidationError(issues, {
      message: issues.map((issue) => `${issue.field}: ${issue.reason}`).join('\n'),
    });
  return {
    redis: redis ?? '',
    providers,
    fields,
    crm: values.crm,
    store,
    emulate: values.emulate === true || values.emulators !== undefined,
    emulators: values.emulators === undefined ? undefined : resolve(cwd, values.emulators),
    queue: values.queue ?? 'leadpipe-runs',
    prefix: values.prefix ?? 'leadpipe',
    concurrency,
    graceMs,
    quiet: values.quiet === true,
  };
}

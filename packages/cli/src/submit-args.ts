import { extname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isLeadField, type LeadField, ValidationError, type ValidationIssue } from '@leadpipe/core';
import type { FileFormat } from './args.js';

/** The options of `leadpipe submit`, checked, with paths resolved. */
export interface SubmitCommandOptions {
  /** Input file (absolute). */
  readonly input: string;
  /** Format of the input file. */
  readonly inputFormat: FileFormat;
  /** Redis URL (`--redis`, else `REDIS_URL`). */
  readonly redis: string;
  /** The run's id (`--run-id`); `undefined`: made from the input's name and a hash of its bytes. */
  readonly runId: string | undefined;
  /** Rows per batch (one BullMQ job). */
  readonly batchSize: number;
  /** The BullMQ queue (the workers' must be the same). */
  readonly queue: string;
  /** BullMQ's key prefix (the workers' must be the same). */
  readonly prefix: string;
  /** Output file (absolute). Default `<input name>.enriched.<ext>` next to the input. */
  readonly out: string;
  /** Format of the output file. */
  readonly outFormat: FileFormat;
  /** Rejected rows file (absolute). Default `<input name>.rejects.<input ext>` next to the output. */
  readonly rejects: string;
  /** Format of the rejects file. */
  readonly rejectsFormat: FileFormat;
  /** Where the JSON report goes (absolute), if anywhere. */
  readonly report: string | undefined;
  /** Enriched fields written as output columns. */
  readonly fields: readonly LeadField[];
  /** Always `undefined`: a distributed run's workers recognise the input's headers (no `--map`). */
  readonly columns: undefined;
  /** Run the run's dead-lettered batches again before following it. */
  readonly redrive: boolean;
  /** Submit and return at once, without following the run or writing the files. */
  readonly detach: boolean;
  /** No progress display or log lines; only the summary. */
  readonly quiet: boolean;
}

/** Usage of `leadpipe submit`. */
export const SUBMIT_HELP = `Usage: leadpipe submit <file> --redis <url> [options]

Run <file> (.csv, .tsv, or .ndjson / .jsonl) on the workers of a queue on Redis
(leadpipe worker), instead of in this process: submit it in batches with stable ids,
follow the run with the same progress display as leadpipe enrich, then write the
output and the rejects in input order. Submitting the same input with the same run id
again enqueues nothing already queued, running or finished: run the same command to
pick a run up again after Ctrl-C, or from another machine.

The workers choose the providers, the CRM and the lead store (leadpipe worker --help).

Options:
  --redis <url>          Redis (redis:// or rediss://; default: REDIS_URL). Must be noeviction
  --run-id <id>          The run's id: letters, digits, - and _ (default: the input's name and
                         a hash of its bytes, so the same file is the same run)
  --batch-size <n>       Rows per batch (default: 100)
  --out <file>           Output file, .csv, .tsv or .ndjson (default: <file name>.enriched.<ext>)
  --rejects <file>       Rejected rows with their reasons (default: <file name>.rejects.<ext>)
  --report <file>        Write the run's report as JSON
  --fields <list>        Enriched fields written as output columns (default: as leadpipe enrich)
  --queue <name>         The BullMQ queue (default: leadpipe-runs)
  --prefix <prefix>      BullMQ's key prefix (default: leadpipe)
  --redrive              First run the batches of this run that failed every attempt again
  --detach               Submit and exit; run the command again later to follow and write out
  -q, --quiet            No progress display; only the summary
  -h, --help             Show this help

Ctrl-C or SIGTERM stops following, not the run: the queued batches stay queued and the
workers go on; run the same command again to follow it and write the files.

Exit codes: 0 done, 1 failed (some batches failed every attempt: --redrive), 2 bad usage
or unreadable input, 3 finished, but some rows were rejected or dead-lettered,
130 stopped following by Ctrl-C and 143 by SIGTERM (the run goes on).
`;

const SUBMIT_OPTIONS = {
  redis: { type: 'string' },
  'run-id': { type: 'string' },
  'batch-size': { type: 'string' },
  out: { type: 'string' },
  rejects: { type: 'string' },
  report: { type: 'string' },
  fields: { type: 'string' },
  queue: { type: 'string' },
  prefix: { type: 'string' },
  redrive: { type: 'boolean' },
  detach: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The flags of `leadpipe submit`, as typed. */
export const SUBMIT_FLAGS: readonly string[] = Object.entries(SUBMIT_OPTIONS).flatMap(([name, option]) => [
  `--${name}`,
  ...('short' in option ? [`-${option.short}`] : []),
]);

/** Parse the `node:util` flags of `leadpipe submit`. */
export function parseSubmitArgs(argv: readonly string[]) {
  return parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: SUBMIT_OPTIONS });
}

function formatOf(path: string, flag: string, issues: ValidationIssue[]): FileFormat {
  const extension = extname(path).toLowerCase();
  if (extension === '.csv') return 'csv';
  if (extension === '.tsv') return 'tsv';
  if (extension === '.ndjson' || extension === '.jsonl') return 'ndjson';
  issues.push({ field: flag, reason: `"${path}" must end in .csv, .tsv, .ndjson or .jsonl` });
  return 'csv';
}

/**
 * Check the flags of `leadpipe submit` (parsed by {@link parseSubmitArgs});
 * `defaultFields` are `leadpipe enrich`'s. Output and rejects default as
 * `leadpipe enrich`'s do.
 *
 * @throws ValidationError naming each bad flag and the reason.
 */
export function checkSubmitOptions(
  parsed: ReturnType<typeof parseSubmitArgs>,
  cwd: string,
  env: Readonly<Record<string, string | undefined>>,
  defaultFields: readonly LeadField[],
): SubmitCommandOptions {
  const { values, positionals } = parsed;
  const issues: ValidationIssue[] = [];
  const [file, ...extra] = positionals;
  if (file === undefined)
    issues.push({ field: '<file>', reason: 'is required: the CSV, TSV or NDJSON file to run' });
  if (extra.length > 0)
    issues.push({ field: '<file>', reason: `only one file is taken, got also ${extra.join(' ')}` });
  const input = resolve(cwd, file ?? '');
  const inputFormat = file === undefined ? 'csv' : formatOf(file, '<file>', issues);
  const redis = values.redis ?? env.REDIS_URL;
  if (redis === undefined)
    issues.push({ field: '--redis', reason: 'is required (or set REDIS_URL): the Redis the queue is on' });
  else if (!/^rediss?:\/\//.test(redis))
    issues.push({ field: '--redis', reason: 'must be a redis:// or rediss:// URL' });
  const runId = values['run-id'];
  if (runId !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(runId))
    issues.push({ field: '--run-id', reason: 'must be 1 to 64 letters, digits, - or _ (no :)' });
  let batchSize = 100;
  if (values['batch-size'] !== undefined) {
    batchSize = Number(values['batch-size']);
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000)
      issues.push({
        field: '--batch-size',
        reason: `must be a whole number from 1 to 10000, got "${values['batch-size']}"`,
      });
  }
  for (const flag of ['queue', 'prefix'] as const) {
    const value = values[flag];
    if (value !== undefined && !/^[A-Za-z0-9_-]{1,100}$/.test(value))
      issues.push({ field: `--${flag}`, reason: 'must be 1 to 100 letters, digits, - or _' });
  }
  const fields: LeadField[] = [];
  for (const name of values.fields?.split(',').map((item) => item.trim()) ?? defaultFields) {
    if (name === '') continue;
    if (!isLeadField(name)) issues.push({ field: '--fields', reason: `"${name}" is not a lead field` });
    else if (!fields.includes(name)) fields.push(name);
  }
  let out = `${input.replace(/\.(csv|tsv|ndjson|jsonl)$/i, '')}.enriched.${inputFormat}`;
  let outFormat: FileFormat = inputFormat;
  if (values.out !== undefined) {
    out = resolve(cwd, values.out);
    outFormat = formatOf(values.out, '--out', issues);
  }
  const base = out.replace(/(\.enriched)?\.(csv|tsv|ndjson|jsonl)$/i, '');
  let rejects = `${base}.rejects.${inputFormat}`;
  let rejectsFormat: FileFormat = inputFormat;
  if (values.rejects !== undefined) {
    rejects = resolve(cwd, values.rejects);
    rejectsFormat = formatOf(values.rejects, '--rejects', issues);
  }
  const report = values.report === undefined ? undefined : resolve(cwd, values.report);
  if (file !== undefined) {
    const taken = new Map<string, string>([[input, '<file>']]);
    for (const [flag, path] of [
      ['--out', out],
      ['--rejects', rejects],
      ['--report', report],
    ] as const) {
      if (path === undefined) continue;
      const owner = taken.get(path);
      if (owner !== undefined) issues.push({ field: flag, reason: `must not be the same file as ${owner}` });
      taken.set(path, flag);
    }
  }
  if (values.detach === true && values.report !== undefined)
    issues.push({ field: '--report', reason: 'cannot go with --detach: a detached submit writes no report' });
  if (issues.length > 0)
    throw new ValidationError(issues, {
      message: issues.map((issue) => `${issue.field}: ${issue.reason}`).join('\n'),
    });
  return {
    input,
    inputFormat,
    redis: redis ?? '',
    runId,
    batchSize,
    queue: values.queue ?? 'leadpipe-runs',
    prefix: values.prefix ?? 'leadpipe',
    out,
    outFormat,
    rejects,
    rejectsFormat,
    report,
    fields,
    columns: undefined,
    redrive: values.redrive === true,
    detach: values.detach === true,
    quiet: values.quiet === true,
  };
}

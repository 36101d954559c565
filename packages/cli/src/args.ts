import { extname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type ColumnMapping,
  isColumnTarget,
  isLeadField,
  LEAD_FIELDS,
  type LeadField,
  ValidationError,
  type ValidationIssue,
} from '@leadpipe/core';
import { type CampaignParse, parseCampaignCommand } from './campaign-args.js';
import type { Environment } from './connections.js';
import { type LeadsParse, parseLeadsCommand } from './leads-args.js';
import { parseStoreLocation, type StoreLocation } from './store.js';
import {
  checkSubmitOptions,
  parseSubmitArgs,
  SUBMIT_FLAGS,
  type SubmitCommandOptions,
} from './submit-args.js';
import { didYouMean } from './suggest.js';
import { CRM_NAMES, PROVIDER_NAMES, unknownCrm, unknownProvider, VENDORS } from './vendors.js';
import {
  checkWorkerOptions,
  parseWorkerArgs,
  WORKER_FLAGS,
  type WorkerCommandOptions,
} from './worker-args.js';

/** An enrichment provider the command knows: the id of one of its vendor descriptors, such as `apollo`. */
export type ProviderName = string;

/** A CRM the command can sync into: the id of one of its vendor descriptors, such as `hubspot`. */
export type CrmName = string;

/** Fields filled when `--fields` is not given. */
export const DEFAULT_FIELDS: readonly LeadField[] = [
  'title',
  'seniority',
  'department',
  'linkedinUrl',
  'location',
  'company.name',
  'company.domain',
  'company.industry',
  'company.headcount',
];

/** Input and output file formats, chosen by extension: `.csv`, `.tsv` (tab-separated), `.ndjson` or `.jsonl`. */
export type FileFormat = 'csv' | 'tsv' | 'ndjson';

/** The options of `leadpipe enrich`, checked, with paths resolved. */
export interface EnrichCommandOptions {
  /** Input file (absolute). */
  readonly input: string;
  /** Format of the input file. */
  readonly inputFormat: FileFormat;
  /** Output file (absolute). Default `<input name>.enriched.<ext>` next to the input. */
  readonly out: string;
  /** Format of the output file. */
  readonly outFormat: FileFormat;
  /** Providers, in waterfall order. */
  readonly providers: readonly ProviderName[];
  /**
   * Whether `--providers` named them. Without it, a run uses every provider
   * whose keys are set (every emulated one under `--emulate`).
   */
  readonly providersGiven: boolean;
  /** Fields to fill. */
  readonly fields: readonly LeadField[];
  /** CRM to sync into, if any. */
  readonly crm: CrmName | undefined;
  /** Skip rows an earlier run of the same input finished. */
  readonly resume: boolean;
  /** Enrich and write the output, but write nothing to the CRM. */
  readonly dryRun: boolean;
  /** Run against the testkit's emulators instead of the real vendors. */
  readonly emulate: boolean;
  /** Where the JSON report goes (absolute), if anywhere. */
  readonly report: string | undefined;
  /** Checkpoint file (absolute). Default `<out>.checkpoint`. */
  readonly checkpoint: string;
  /** Discard the answers an earlier run paid for, instead of reusing them (`--fresh`). */
  readonly fresh: boolean;
  /**
   * Where provider answers are kept (absolute, `--cache`): kept, compacted,
   * after the run and shared by later runs. Default: the checkpoint's own
   * result log (`<checkpoint>.results`), removed once a run completes.
   */
  readonly cache: string | undefined;
  /** Rejected rows file (absolute). Default `<input name>.rejects.<input ext>` next to the output. */
  readonly rejects: string;
  /** Format of the rejects file. */
  readonly rejectsFormat: FileFormat;
  /**
   * The rows merged as duplicates, each with the row it was folded into
   * (absolute): `<input name>.duplicates.<input ext>` next to the output.
   */
  readonly duplicates: string;
  /** Dead-letter file (absolute, NDJSON). Default `<input name>.dead-letters.ndjson` next to the output. */
  readonly deadLetters: string;
  /** Explicit input header to lead path mapping (`--map`); other headers are recognised by name. */
  readonly columns: ColumnMapping | undefined;
  /** Leads enriched at once. */
  readonly concurrency: number | undefined;
  /** No progress display or log lines; only the summary. */
  readonly quiet: boolean;
  /** The lead store every done lead is upserted into (`--store`), if any. */
  readonly store?: StoreLocation;
}

/** The options of `leadpipe redrive`, checked, with paths resolved. */
export interface RedriveCommandOptions {
  /** The dead-letters file (absolute), as `leadpipe enrich` writes it. */
  readonly input: string;
  /** The CRM to send to; `undefined`: the one the entries were meant for. */
  readonly crm: CrmName | undefined;
  /** Send only entries whose last error was retryable (a 5xx, a timeout, a rate limit). */
  readonly retryableOnly: boolean;
  /** The lead store to send the entries of target `leadStore` to (`--store`); else `LEADPIPE_STORE`. */
  readonly store?: StoreLocation;
  /** Run against the testkit's emulators instead of the real vendors. */
  readonly emulate: boolean;
  /** Where the JSON report goes (absolute), if anywhere: a `CrmSyncReport`, or the store redrive's counts. */
  readonly report: string | undefined;
  /** No log lines; only the summary. */
  readonly quiet: boolean;
}

/** What the command line asks for. */
export type CliCommand =
  | {
      /** Show usage (`-h`, `--help` or `help`). */
      readonly kind: 'help';
      /** Which usage: `enrich`, `redrive`, `worker` or `submit` for `leadpipe <command> --help` or `leadpipe help <command>`; `main` otherwise. */
      readonly topic: 'main' | 'enrich' | 'redrive' | 'worker' | 'submit';
    }
  | {
      /** Print the version: `-v`, `--version` or `version`. */
      readonly kind: 'version';
    }
  | {
      /** Run `leadpipe enrich <file>`. */
      readonly kind: 'enrich';
      /** The enrich flags, checked, with defaults filled and paths resolved. */
      readonly options: EnrichCommandOptions;
    }
  | {
      /** Run `leadpipe redrive <file>`. */
      readonly kind: 'redrive';
      /** The command's options. */
      readonly options: RedriveCommandOptions;
    }
  | {
      /** Run `leadpipe worker`: take batches of distributed runs from Redis. */
      readonly kind: 'worker';
      /** The command's options. */
      readonly options: WorkerCommandOptions;
    }
  | {
      /** Run `leadpipe submit <file>`: a distributed run on the workers of a queue on Redis. */
      readonly kind: 'submit';
      /** The command's options. */
      readonly options: SubmitCommandOptions;
    }
  | {
      /** Run `leadpipe leads <command>`, or show its help. */
      readonly kind: 'leads';
      /** The leads command, checked, or the help text asked for. */
      readonly leads: LeadsParse;
    }
  | {
      /** Run `leadpipe campaign <command>`, or show its help. */
      readonly kind: 'campaign';
      /** The campaign command, checked, or the help text asked for. */
      readonly campaign: CampaignParse;
    }
  | {
      /** Run `leadpipe serve`; its flags are checked by `serve.ts`. */
      readonly kind: 'serve';
      /** The arguments after `serve`. */
      readonly argv: readonly string[];
    };

/** Usage of `leadpipe`. */
export const MAIN_HELP = `Usage: leadpipe <command> [options]

Commands:
  enrich <file>   Enrich a CSV, TSV or NDJSON file of leads and sync it to a CRM
  redrive <file>  Send the records of a dead-letters file to the CRM again
  leads <command> Query, export, import, erase and retain the leads of a lead store
  worker          Take batches of distributed runs from a queue on Redis (scale out)
  submit <file>   Run a file on those workers: follow it, write the output like enrich
  campaign <command>
                  Run a campaign file over a store's leads (emulated SendGrid), or check one
  serve           Serve webhooks, unsubscribe, the /v1 API, health and metrics over HTTP

Options:
  -h, --help      Show help (leadpipe <command> --help for a command's options)
  -v, --version   Show the version

Try it with no keys and no network:
  leadpipe enrich examples/data/leads.csv --emulate --crm hubspot --store examples/out/store
  leadpipe leads query --store examples/out/store --where headcount>=200
  leadpipe campaign run examples/data/campaign.yaml --emulate --leads examples/data/leads.csv
`;

/**
 * The keys section of `leadpipe enrich --help`, from the vendors'
 * descriptors: what each vendor needs, then every variable it reads.
 */
function keysHelp(): string {
  const lines: string[] = [];
  for (const vendor of VENDORS) {
    const flag = vendor.kind === 'crm' ? '--crm' : '--providers';
    const needs = vendor
      .missingVariables({})
      .map((missing) => missing.variables.split(', or ').join(',\n      or '))
      .join('; ');
    lines.push(`  ${flag} ${vendor.id}${needs === '' ? '' : ` needs ${needs}`}`);
    for (const variable of vendor.environment) {
      lines.push(`    ${variable.name.padEnd(26)} ${variable.description}`);
    }
  }
  return lines.join('\n');
}

/** Usage of `leadpipe enrich`. */
export const ENRICH_HELP = `Usage: leadpipe enrich <file> [options]

Enrich the leads of <file> (.csv, .tsv, or .ndjson / .jsonl) across providers with a
waterfall, write them out with where each value came from, and sync them to a CRM.

Options:
  --out <file>           Output file, .csv, .tsv or .ndjson (default: <file name>.enriched.<ext>)
  --providers <list>     Providers in waterfall order: ${PROVIDER_NAMES.join(',')}
                         (default: every one whose keys are set; all with --emulate)
  --fields <list>        Fields to fill, such as title,company.headcount
                         (default: ${DEFAULT_FIELDS.join(',')})
  --crm <name>           Sync into ${CRM_NAMES.join(' or ')} (default: no CRM)
  --store <url|folder>   Also upsert every done lead into a lead store: a postgres:// URL
                         (?schema=name picks the schema) or a folder for an embedded store
                         (PGlite, created when missing); query it with leadpipe leads
  --resume               Skip the rows an interrupted run of the same input finished
  --fresh                Start over for real: discard the answers an earlier run paid for
                         (without it, a run started over reuses them and says so)
  --cache <file>         Keep provider answers in <file> across runs, and reuse them
                         (default: in the checkpoint, removed once a run completes)
  --dry-run              Enrich and write the output, but write nothing to the CRM or the store
  --emulate              Run against in-process vendor emulators: no keys, no network
  --report <file>        Write the run's report as JSON
  --checkpoint <file>    Checkpoint file for --resume (default: <out>.checkpoint)
  --rejects <file>       Rejected rows with their reasons, .csv, .tsv or .ndjson
                         (default: <file name>.rejects.<ext>, next to the output;
                         rows merged as duplicates go to <file name>.duplicates.<ext>)
  --dead-letters <file>  Records a CRM (or the store) refused for good, .ndjson, kept across runs
                         with --resume (default: <file name>.dead-letters.ndjson)
  --map <header=path>    Where a column goes when its header is not recognised, such as
                         --map "Work Email=email,Org=company.name"; path - drops a column.
                         Repeat it for a header with a comma (default: recognise headers)
  --concurrency <n>      Leads enriched at once (default: 16)
  -q, --quiet            No progress display; only the summary
  -h, --help             Show this help

Keys (read from the environment; not needed with --emulate):
${keysHelp()}

Exit codes: 0 done, 1 failed, 2 bad usage, missing key or unreadable input
(nothing written), 3 finished, but some rows were rejected or dead-lettered,
130 stopped by Ctrl-C and 143 by SIGTERM (finished rows are checkpointed:
--resume finishes the rest; a second signal quits at once).
`;

/** Usage of `leadpipe redrive`. */
export const REDRIVE_HELP = `Usage: leadpipe redrive <file> [options]

Send the records of a dead-letters file (.ndjson, as leadpipe enrich writes it)
to the CRM again, or to the lead store, once what refused them is fixed. Records
taken now leave the file; records refused again stay, with the new error.

Options:
  --crm <name>           Send to ${CRM_NAMES.join(' or ')} (default: the CRM the records were meant for)
  --store <url|folder>   Send the records the lead store's upsert failed on (enrich --store) to
                         this store: a postgres:// URL or a folder (default: LEADPIPE_STORE)
  --retryable-only       Send only records whose last error was retryable (5xx, timeout, rate limit)
  --emulate              Run against in-process vendor emulators: no keys, no network
  --report <file>        Write the run's report as JSON
  -q, --quiet            No log lines; only the summary
  -h, --help             Show this help

Keys: as for leadpipe enrich (leadpipe enrich --help lists them).

Exit codes: 0 every record sent was written (records left alone stay in the file),
1 failed or the CRM went down, 2 bad usage or missing key,
3 finished, but some records were refused again (they stay in the file).
`;

function formatOf(path: string, flag: string, issues: ValidationIssue[]): FileFormat {
  const extension = extname(path).toLowerCase();
  if (extension === '.csv') return 'csv';
  if (extension === '.tsv') return 'tsv';
  if (extension === '.ndjson' || extension === '.jsonl') return 'ndjson';
  issues.push({ field: flag, reason: `"${path}" must end in .csv, .tsv, .ndjson or .jsonl` });
  return 'csv';
}

function list(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/**
 * `--map` values: `header=path` pairs, comma-separated; a piece without `=`
 * belongs to the header of the next piece (`Company, Inc=company.name`).
 * Path `-` (or nothing) drops the column.
 */
function parseColumnMapping(values: readonly string[], issues: ValidationIssue[]): ColumnMapping | undefined {
  const mapping: Record<string, string | null> = {};
  for (const value of values) {
    let carried = '';
    for (const piece of value.split(',')) {
      const pair = carried === '' ? piece : `${carried},${piece}`;
      const equals = pair.lastIndexOf('=');
      if (equals < 0) {
        carried = pair;
        continue;
      }
      carried = '';
      const header = pair.slice(0, equals).trim();
      const path = pair.slice(equals + 1).trim();
      const target = path === '' || path === '-' ? null : path;
      if (header === '') {
        issues.push({ field: '--map', reason: `"${pair.trim()}" names no header before "="` });
      } else if (!isColumnTarget(target)) {
        issues.push({
          field: '--map',
          reason: `"${path}" (for "${header}") is not a lead path; use one such as email, firstName, title, company.name, company.domain, location.country or custom.<name>, or - to drop the column`,
        });
      } else if (Object.hasOwn(mapping, header) && mapping[header] !== target) {
        issues.push({ field: '--map', reason: `"${header}" is mapped twice` });
      } else mapping[header] = target;
    }
    if (carried.trim() !== '') {
      issues.push({
        field: '--map',
        reason: `"${carried.trim()}" must be header=path, such as "Work Email=email"`,
      });
    }
  }
  return Object.keys(mapping).length > 0 ? mapping : undefined;
}

function isOneOf<T extends string>(names: readonly T[], value: string): value is T {
  return (names as readonly string[]).includes(value);
}

function usage(issues: readonly ValidationIssue[]): ValidationError {
  return new ValidationError(issues, {
    message: issues.map((issue) => `${issue.field}: ${issue.reason}`).join('\n'),
  });
}

/** The flags of a `parseArgs` options table, as typed: `--out`, `-q`. */
function flagsOf(
  options: Readonly<Record<string, { readonly type: string; readonly short?: string }>>,
): string[] {
  return Object.entries(options).flatMap(([name, option]) => [
    `--${name}`,
    ...(option.short === undefined ? [] : [`-${option.short}`]),
  ]);
}

/**
 * Run a `node:util` `parseArgs` call; its errors become a usage error naming
 * the flag, with the nearest known flag for an unknown one (`--emulat`).
 */
function parsedOrUsage<T>(parse: () => T, flags: readonly string[]): T {
  try {
    return parse();
  } catch (error) {
    // node:util parseArgs names the option in its message ("Unknown option '--x'").
    const message = error instanceof Error ? error.message : String(error);
    const flag = /'(--?[A-Za-z][\w-]*)/.exec(message)?.[1] ?? 'arguments';
    let reason = message.replace(/\. To specify a positional.*$/s, '');
    if (/^Unknown option/.test(message)) reason += didYouMean(flag, flags);
    throw usage([{ field: flag, reason }]);
  }
}

function parseEnrich(argv: readonly string[], cwd: string): CliCommand {
  const { values, positionals } = parsedOrUsage(() => parseEnrichArgs(argv), flagsOf(ENRICH_OPTIONS));
  if (values.help === true) return { kind: 'help', topic: 'enrich' };
  const issues: ValidationIssue[] = [];
  const [file, ...extra] = positionals;
  if (file === undefined)
    issues.push({ field: '<file>', reason: 'is required: the CSV, TSV or NDJSON file to enrich' });
  if (extra.length > 0)
    issues.push({ field: '<file>', reason: `only one file is taken, got also ${extra.join(' ')}` });
  const input = resolve(cwd, file ?? '');
  const inputFormat = file === undefined ? 'csv' : formatOf(file, '<file>', issues);

  const providers: ProviderName[] = [];
  for (const name of list(values.providers) ?? [...PROVIDER_NAMES]) {
    if (!isOneOf(PROVIDER_NAMES, name)) {
      issues.push(unknownProvider(name));
    } else if (providers.includes(name)) {
      issues.push({ field: '--providers', reason: `"${name}" is listed twice` });
    } else providers.push(name);
  }
  if (values.providers !== undefined && providers.length === 0 && issues.length === 0) {
    issues.push({ field: '--providers', reason: `must name at least one of ${PROVIDER_NAMES.join(', ')}` });
  }

  const fields: LeadField[] = [];
  const unknownFields: string[] = [];
  for (const name of list(values.fields) ?? [...DEFAULT_FIELDS]) {
    if (!isLeadField(name)) unknownFields.push(name);
    else if (!fields.includes(name)) fields.push(name);
  }
  for (const name of unknownFields) {
    issues.push({
      field: '--fields',
      reason: `"${name}" is not a lead field${didYouMean(name, LEAD_FIELDS)}`,
    });
  }
  if (unknownFields.length > 0) {
    issues.push({ field: '--fields', reason: `the lead fields are ${LEAD_FIELDS.join(', ')}` });
  }
  if (values.fields !== undefined && fields.length === 0 && issues.length === 0) {
    issues.push({ field: '--fields', reason: 'must name at least one lead field, such as title' });
  }

  let crm: CrmName | undefined;
  if (values.crm !== undefined) {
    if (isOneOf(CRM_NAMES, values.crm)) crm = values.crm;
    else issues.push(unknownCrm(values.crm));
  }
  let concurrency: number | undefined;
  if (values.concurrency !== undefined) {
    concurrency = Number(values.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000) {
      issues.push({
        field: '--concurrency',
        reason: `must be a whole number from 1 to 1000, got "${values.concurrency}"`,
      });
    }
  }

  const columns = parseColumnMapping(values.map ?? [], issues);
  const store =
    values.store === undefined ? undefined : parseStoreLocation(values.store, cwd, '--store', issues);

  let out = `${input.replace(/\.(csv|tsv|ndjson|jsonl)$/i, '')}.enriched.${inputFormat}`;
  let outFormat: FileFormat = inputFormat;
  if (values.out !== undefined) {
    out = resolve(cwd, values.out);
    outFormat = formatOf(values.out, '--out', issues);
  }
  if (file !== undefined && out === input)
    issues.push({ field: '--out', reason: 'must not be the input file' });
  const report = values.report === undefined ? undefined : resolve(cwd, values.report);
  if (report !== undefined && (report === input || report === out)) {
    issues.push({ field: '--report', reason: 'must not be the input or the output file' });
  }
  const checkpoint = values.checkpoint === undefined ? `${out}.checkpoint` : resolve(cwd, values.checkpoint);
  // Side files sit next to the output, named after it without its `.enriched.<ext>`.
  const base = out.replace(/(\.enriched)?\.(csv|tsv|ndjson|jsonl)$/i, '');
  let rejects = `${base}.rejects.${inputFormat}`;
  let rejectsFormat: FileFormat = inputFormat;
  if (values.rejects !== undefined) {
    rejects = resolve(cwd, values.rejects);
    rejectsFormat = formatOf(values.rejects, '--rejects', issues);
  }
  const duplicates = `${base}.duplicates.${inputFormat === 'csv' ? 'csv' : 'ndjson'}`;
  let deadLetters = `${base}.dead-letters.ndjson`;
  if (values['dead-letters'] !== undefined) {
    deadLetters = resolve(cwd, values['dead-letters']);
    if (!/\.(ndjson|jsonl)$/i.test(values['dead-letters'])) {
      issues.push({
        field: '--dead-letters',
        reason: `"${values['dead-letters']}" must end in .ndjson or .jsonl`,
      });
    }
  }
  const cache = values.cache === undefined ? undefined : resolve(cwd, values.cache);
  if (values.fresh === true && values.resume === true) {
    issues.push({
      field: '--fresh',
      reason: 'cannot go with --resume: --fresh starts over, --resume goes on',
    });
  }
  const taken = new Map<string, string>([
    [input, '<file>'],
    [out, '--out'],
    [checkpoint, '--checkpoint'],
    [`${checkpoint}.results`, '--checkpoint'],
  ]);
  if (cache !== undefined) {
    const owner = taken.get(cache);
    if (file !== undefined && owner !== undefined) {
      issues.push({ field: '--cache', reason: `must not be the same file as ${owner}` });
    }
    taken.set(cache, '--cache');
  }
  if (report !== undefined) taken.set(report, '--report');
  for (const [flag, path] of [
    ['--rejects', rejects],
    ['--dead-letters', deadLetters],
  ] as const) {
    const owner = taken.get(path);
    if (file !== undefined && owner !== undefined) {
      issues.push({ field: flag, reason: `must not be the same file as ${owner}` });
    }
    taken.set(path, flag);
  }

  if (issues.length > 0) throw usage(issues);
  return {
    kind: 'enrich',
    options: {
      input,
      inputFormat,
      out,
      outFormat,
      providers,
      providersGiven: values.providers !== undefined,
      fields,
      crm,
      resume: values.resume === true,
      dryRun: values['dry-run'] === true,
      emulate: values.emulate === true,
      report,
      checkpoint,
      fresh: values.fresh === true,
      cache,
      rejects,
      rejectsFormat,
      duplicates,
      deadLetters,
      columns,
      concurrency,
      quiet: values.quiet === true,
      ...(store === undefined ? {} : { store }),
    },
  };
}

const ENRICH_OPTIONS = {
  out: { type: 'string' },
  providers: { type: 'string' },
  fields: { type: 'string' },
  crm: { type: 'string' },
  store: { type: 'string' },
  resume: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  emulate: { type: 'boolean' },
  report: { type: 'string' },
  checkpoint: { type: 'string' },
  fresh: { type: 'boolean' },
  cache: { type: 'string' },
  rejects: { type: 'string' },
  'dead-letters': { type: 'string' },
  map: { type: 'string', multiple: true },
  concurrency: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parseEnrichArgs(argv: readonly string[]) {
  return parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: ENRICH_OPTIONS });
}

function parseRedrive(argv: readonly string[], cwd: string): CliCommand {
  const { values, positionals } = parsedOrUsage(() => parseRedriveArgs(argv), flagsOf(REDRIVE_OPTIONS));
  if (values.help === true) return { kind: 'help', topic: 'redrive' };
  const issues: ValidationIssue[] = [];
  const [file, ...extra] = positionals;
  if (file === undefined) {
    issues.push({
      field: '<file>',
      reason: 'is required: the dead-letters file, such as leads.dead-letters.ndjson',
    });
  } else if (!/\.(ndjson|jsonl)$/i.test(file)) {
    issues.push({ field: '<file>', reason: `"${file}" must end in .ndjson or .jsonl` });
  }
  if (extra.length > 0)
    issues.push({ field: '<file>', reason: `only one file is taken, got also ${extra.join(' ')}` });
  let crm: CrmName | undefined;
  if (values.crm !== undefined) {
    if (isOneOf(CRM_NAMES, values.crm)) crm = values.crm;
    else issues.push(unknownCrm(values.crm));
  }
  const store =
    values.store === undefined ? undefined : parseStoreLocation(values.store, cwd, '--store', issues);
  if (crm !== undefined && store !== undefined) {
    issues.push({ field: '--store', reason: 'cannot go with --crm: a redrive sends to one target' });
  }
  const input = resolve(cwd, file ?? '');
  const report = values.report === undefined ? undefined : resolve(cwd, values.report);
  if (file !== undefined && report === input) {
    issues.push({ field: '--report', reason: 'must not be the dead-letters file' });
  }
  if (issues.length > 0) throw usage(issues);
  return {
    kind: 'redrive',
    options: {
      input,
      crm,
      retryableOnly: values['retryable-only'] === true,
      ...(store === undefined ? {} : { store }),
      emulate: values.emulate === true,
      report,
      quiet: values.quiet === true,
    },
  };
}

const REDRIVE_OPTIONS = {
  crm: { type: 'string' },
  store: { type: 'string' },
  'retryable-only': { type: 'boolean' },
  emulate: { type: 'boolean' },
  report: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parseRedriveArgs(argv: readonly string[]) {
  return parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: REDRIVE_OPTIONS });
}

/**
 * Parse the command line (without `node` and the script), resolving paths
 * against `cwd`; `env` gives `leadpipe leads` its `LEADPIPE_STORE` default.
 * Throws a `ValidationError` whose issues name each bad flag
 * (`--providers`, `--fields`, `<file>`, `--where`) and the reason.
 */
export function parseCommandLine(argv: readonly string[], cwd: string, env: Environment = {}): CliCommand {
  const [first, ...rest] = argv;
  // Bare `leadpipe`: show what it can do.
  if (first === undefined) return { kind: 'help', topic: 'main' };
  if (first === '-h' || first === '--help' || first === 'help') {
    if (rest[0] === 'serve') return { kind: 'serve', argv: ['--help'] };
    if (rest[0] === 'leads')
      return { kind: 'leads', leads: parseLeadsCommand(['help', ...rest.slice(1)], cwd, env, Date.now()) };
    if (rest[0] === 'campaign')
      return {
        kind: 'campaign',
        campaign: parseCampaignCommand(['help', ...rest.slice(1)], cwd, env, Date.now()),
      };
    const topics = ['enrich', 'redrive', 'worker', 'submit'] as const;
    return { kind: 'help', topic: topics.find((topic) => topic === rest[0]) ?? 'main' };
  }
  if (first === '-v' || first === '--version' || first === 'version') return { kind: 'version' };
  if (first === 'enrich' && rest.some((arg) => arg === '--redis' || arg.startsWith('--redis=')))
    throw usage([
      { field: '--redis', reason: 'a run on the workers of a queue is leadpipe submit <file> --redis <url>' },
    ]);
  if (first === 'enrich') return parseEnrich(rest, cwd);
  if (first === 'submit') {
    const parsed = parsedOrUsage(() => parseSubmitArgs(rest), SUBMIT_FLAGS);
    if (parsed.values.help === true) return { kind: 'help', topic: 'submit' };
    return { kind: 'submit', options: checkSubmitOptions(parsed, cwd, env, DEFAULT_FIELDS) };
  }
  if (first === 'redrive') return parseRedrive(rest, cwd);
  if (first === 'leads') return { kind: 'leads', leads: parseLeadsCommand(rest, cwd, env, Date.now()) };
  if (first === 'worker') {
    const { values } = parsedOrUsage(() => parseWorkerArgs(rest), WORKER_FLAGS);
    if (values.help === true) return { kind: 'help', topic: 'worker' };
    return { kind: 'worker', options: checkWorkerOptions(values, cwd, env) };
  }
  if (first === 'campaign')
    return { kind: 'campaign', campaign: parseCampaignCommand(rest, cwd, env, Date.now()) };
  if (first === 'serve') return { kind: 'serve', argv: rest };
  throw usage([
    {
      field: '<command>',
      reason: first.startsWith('-')
        ? `unknown option "${first}"${didYouMean(first, ['--help', '--version'])}; try leadpipe --help`
        : `unknown command "${first}"${didYouMean(first, ['enrich', 'redrive', 'leads', 'worker', 'submit', 'campaign', 'serve', 'help', 'version'])}; the commands are enrich, redrive, leads, worker, submit, campaign and serve (try leadpipe --help)`,
    },
  ]);
}

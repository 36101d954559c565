import { extname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ValidationError, type ValidationIssue } from '@leadpipe/core';
import type { Environment } from './connections.js';
import { type StoreLocation, storeOption } from './store.js';
import { didYouMean } from './suggest.js';

/** The `leadpipe campaign` subcommands. */
export const CAMPAIGN_SUBCOMMANDS = ['run', 'check'] as const;

/** File extensions a campaign is read from. */
const CAMPAIGN_EXTENSIONS = ['.json', '.yaml', '.yml', '.js', '.mjs', '.ts', '.mts'] as const;

/** What `leadpipe campaign ...` asks for, checked. */
export type CampaignCommand =
  | {
      /** `campaign check <file>`: validate and print the steps, or every error with its path. */
      readonly kind: 'check';
      /** The campaign file (absolute). */
      readonly file: string;
    }
  | {
      /** `campaign run <file> --emulate`. */
      readonly kind: 'run';
      /** The campaign file (absolute). */
      readonly file: string;
      /** The lead store the audience is read from (`--store` or `LEADPIPE_STORE`). */
      readonly store: StoreLocation | undefined;
      /** A CSV, TSV or NDJSON file of leads (`--leads`), upserted into the store (or a memory store) first. */
      readonly leads:
        | {
            /** The file (absolute). */
            readonly path: string;
            /** Its format, from its extension. */
            readonly format: 'csv' | 'tsv' | 'ndjson';
          }
        | undefined;
      /** The campaign state journal (`--state`); `undefined`: state lives in memory for this run. */
      readonly state: string | undefined;
      /** Share of recipients who reply to their first email (`--reply-rate`, emulated). */
      readonly replyRate: number;
      /** Where the emulated clock starts (`--start`, epoch ms). */
      readonly startAt: number;
    };

/** What `leadpipe campaign <argv>` asks for: a command, or a help text. */
export type CampaignParse =
  | {
      /** Show a help text. */
      readonly kind: 'help';
      /** The text. */
      readonly text: string;
    }
  | {
      /** Run a command. */
      readonly kind: 'command';
      /** The command, checked. */
      readonly command: CampaignCommand;
    };

/** Usage of `leadpipe campaign`. */
export const CAMPAIGN_HELP = `Usage: leadpipe campaign <command> [options]

Commands:
  run <file>     Run a campaign over the leads of a store against emulated SendGrid
  check <file>   Validate a campaign file and print its steps, or every error with its path

A campaign file is JSON or YAML (.json, .yaml, .yml), or a module (.js, .mjs; .ts where
the runtime loads TypeScript) whose default export is the campaign object.

Exit codes: 0 done, 1 failed, 2 bad usage or an invalid campaign, 3 finished but some
enrollments failed (dead letters), 130 stopped.
`;

/** Usage of `leadpipe campaign run`. */
export const CAMPAIGN_RUN_HELP = `Usage: leadpipe campaign run <file> --emulate [options]

Enroll every lead of the store in the campaign of <file> and run its sequence to the
end against the emulated SendGrid, on an emulated clock: waits of days take
milliseconds, sends go out inside the campaign's sending windows in emulated time.
Live progress goes to stderr; the summary per step to stdout.

Options:
  --emulate              Send through the testkit's SendGrid emulator (required for now)
  --store <url|folder>   The lead store: a postgres:// URL or a folder (embedded PGlite)
                         (or LEADPIPE_STORE)
  --leads <file>         A CSV, TSV or NDJSON file of leads, upserted into the store (or into
                         a memory store without --store) before the run
  --state <file>         Keep campaign state (enrollments, send ledger) in this journal:
                         a second run resumes it (default: memory, for this run only);
                         needs --store, which keeps the leads' ids between runs
  --reply-rate <share>   Share of recipients who reply after their first email, from 0 to 1
                         (emulated replies, seeded by lead; default 0.1)
  --start <time>         Where the emulated clock starts, an ISO time (default now)
  -h, --help             Show this help

Example:
  leadpipe campaign run examples/data/campaign.yaml --emulate --leads examples/data/leads.csv
`;

/** Usage of `leadpipe campaign check`. */
const CAMPAIGN_CHECK_HELP = `Usage: leadpipe campaign check <file>

Validate a campaign file (the same checks campaign run makes) and print its steps,
or every problem with its path, such as steps[1].wait.businessDays: expected a
positive integer. Exits 0 when valid, 2 when not.
`;

const OPTIONS = {
  run: {
    emulate: { type: 'boolean' },
    store: { type: 'string' },
    leads: { type: 'string' },
    state: { type: 'string' },
    'reply-rate': { type: 'string' },
    start: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  check: { help: { type: 'boolean', short: 'h' } },
} as const;

function usage(issues: readonly ValidationIssue[]): ValidationError {
  return new ValidationError(issues, {
    message: issues.map((issue) => `${issue.field}: ${issue.reason}`).join('\n'),
  });
}

function leadsFormat(path: string): 'csv' | 'tsv' | 'ndjson' | undefined {
  const extension = extname(path).toLowerCase();
  if (extension === '.csv') return 'csv';
  if (extension === '.tsv') return 'tsv';
  if (extension === '.ndjson' || extension === '.jsonl') return 'ndjson';
  return undefined;
}

/** The campaign file positional, checked. */
function campaignFile(positionals: readonly string[], cwd: string, issues: ValidationIssue[]) {
  const [file, ...extra] = positionals;
  if (file === undefined) {
    issues.push({ field: '<file>', reason: 'is required: the campaign file (.json, .yaml, .yml, .js, .ts)' });
    return undefined;
  }
  if (extra.length > 0)
    issues.push({ field: '<arguments>', reason: `one campaign file only, got ${positionals.join(' ')}` });
  if (!(CAMPAIGN_EXTENSIONS as readonly string[]).includes(extname(file).toLowerCase())) {
    issues.push({
      field: '<file>',
      reason: `${file}: must end in ${CAMPAIGN_EXTENSIONS.join(', ')}`,
    });
  }
  return resolve(cwd, file);
}

/**
 * Parse `leadpipe campaign <subcommand> ...` (argv after `campaign`).
 *
 * @throws ValidationError naming each bad flag and why.
 */
export function parseCampaignCommand(
  argv: readonly string[],
  cwd: string,
  env: Environment,
  now: number,
): CampaignParse {
  const [subcommand, ...rest] = argv;
  if (subcommand === undefined || subcommand === '-h' || subcommand === '--help' || subcommand === 'help') {
    const topic = rest[0];
    if (subcommand === 'help' && topic === 'run') return { kind: 'help', text: CAMPAIGN_RUN_HELP };
    if (subcommand === 'help' && topic === 'check') return { kind: 'help', text: CAMPAIGN_CHECK_HELP };
    return { kind: 'help', text: CAMPAIGN_HELP };
  }
  if (subcommand !== 'run' && subcommand !== 'check') {
    throw usage([
      {
        field: '<command>',
        reason: `unknown campaign command "${subcommand}"${didYouMean(subcommand, CAMPAIGN_SUBCOMMANDS)}; the commands are ${CAMPAIGN_SUBCOMMANDS.join(', ')} (try leadpipe campaign --help)`,
      },
    ]);
  }
  const table = OPTIONS[subcommand];
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...rest],
      allowPositionals: true,
      strict: true,
      options: table,
    }) as typeof parsed;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const flag = /'(--?[A-Za-z][\w-]*)/.exec(message)?.[1] ?? 'arguments';
    let reason = message.replace(/\. To specify a positional.*$/s, '');
    if (/^Unknown option/.test(message))
      reason += didYouMean(
        flag,
        Object.keys(table).map((name) => `--${name}`),
      );
    throw usage([{ field: flag, reason }]);
  }
  const { values, positionals } = parsed;
  if (values.help === true)
    return { kind: 'help', text: subcommand === 'run' ? CAMPAIGN_RUN_HELP : CAMPAIGN_CHECK_HELP };
  const issues: ValidationIssue[] = [];
  const file = campaignFile(positionals, cwd, issues);
  if (subcommand === 'check') {
    if (issues.length > 0 || file === undefined) throw usage(issues);
    return { kind: 'command', command: { kind: 'check', file } };
  }

  const text = (key: string) => values[key] as string | undefined;
  if (values.emulate !== true) {
    issues.push({
      field: '--emulate',
      reason:
        'is required: campaign run sends through the emulated SendGrid only (real sending is the engine API)',
    });
  }
  const leadsPath = text('leads');
  let leads: Extract<CampaignCommand, { kind: 'run' }>['leads'];
  if (leadsPath !== undefined) {
    const format = leadsFormat(leadsPath);
    if (format === undefined)
      issues.push({ field: '--leads', reason: `${leadsPath}: must end in .csv, .tsv, .ndjson or .jsonl` });
    else leads = { path: resolve(cwd, leadsPath), format };
  }
  const store = storeOption(text('store'), env, cwd, issues, leadsPath === undefined);
  const share = text('reply-rate') ?? '0.1';
  const replyRate = Number(share);
  if (share.trim() === '' || !Number.isFinite(replyRate) || replyRate < 0 || replyRate > 1) {
    issues.push({
      field: '--reply-rate',
      reason: `must be a share from 0 to 1, such as 0.1, got "${share}"`,
    });
  }
  const start = text('start');
  const startAt = start === undefined ? now : Date.parse(start);
  if (start !== undefined && !Number.isFinite(startAt)) {
    issues.push({
      field: '--start',
      reason: `must be an ISO time such as 2026-03-02T08:00:00Z, got "${start}"`,
    });
  }
  const state = text('state');
  if (state !== undefined && state.trim() === '')
    issues.push({ field: '--state', reason: 'must be a file path' });
  else if (state !== undefined && store === undefined && !issues.some((issue) => issue.field === '--store')) {
    issues.push({
      field: '--state',
      reason:
        'needs --store: campaign state names leads by id, and only a lead store keeps their ids between runs',
    });
  }
  if (issues.length > 0 || file === undefined) throw usage(issues);
  return {
    kind: 'command',
    command: {
      kind: 'run',
      file,
      store,
      leads,
      state: state === undefined ? undefined : resolve(cwd, state),
      replyRate,
      startAt,
    },
  };
}

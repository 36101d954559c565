import { extname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  LEAD_FIELDS,
  LEAD_STORE_MAX_PAGE,
  type LeadStoreFieldName,
  type LeadStoreFilter,
  SENIORITY_LEVELS,
  type Seniority,
  ValidationError,
  type ValidationIssue,
} from '@leadpipe/core';
import type { Environment } from './connections.js';
import {
  ERASE_FILE_FLAGS,
  ERASE_FILE_HELP,
  type EraseFile,
  eraseFiles,
  eraseFilesGiven,
} from './leads-erase.js';
import { type StoreLocation, storeOption } from './store.js';
import { didYouMean } from './suggest.js';

/** The `leadpipe leads` subcommands. */
export const LEADS_SUBCOMMANDS = ['query', 'export', 'import', 'erase', 'retain'] as const;

/** One of {@link LEADS_SUBCOMMANDS}. */
export type LeadsSubcommand = (typeof LEADS_SUBCOMMANDS)[number];

/** The filters, search, fields, order and page of `leads query` and `leads export`. */
export interface LeadsQueryOptions {
  /** Filters from the `--where` clauses. */
  readonly where: LeadStoreFilter;
  /** Full-text search (`--search`). */
  readonly search: string | undefined;
  /** Fields to return (`--fields`); `undefined`: the command's default. */
  readonly fields: readonly LeadStoreFieldName[] | undefined;
  /** `id` (default) or `updatedAt` (`--order`). */
  readonly orderBy: 'id' | 'updatedAt';
  /** Custom field names the `--where` clauses filter on: the store's whitelist for this command. */
  readonly customFields: readonly string[];
}

/** What `leadpipe leads ...` asks for, checked. */
export type LeadsCommand =
  | {
      /** `leads query`: one page. */
      readonly kind: 'query';
      /** The store. */
      readonly store: StoreLocation;
      /** The query. */
      readonly query: LeadsQueryOptions;
      /** Page size, 1 to 100 (`--limit`, default 50). */
      readonly limit: number | undefined;
      /** `--cursor` of the page after the one that printed it. */
      readonly cursor: string | undefined;
      /** `table` or `ndjson` (`--format`; default: a table on a terminal, NDJSON otherwise). */
      readonly format: 'table' | 'ndjson' | undefined;
    }
  | {
      /** `leads export`: every matching lead. */
      readonly kind: 'export';
      /** The store. */
      readonly store: StoreLocation;
      /** The query (its page members unused). */
      readonly query: LeadsQueryOptions;
      /** `ndjson` or `csv` (through the pipeline's writers), or `leads` (stored leads as JSON lines, for `leads import`). */
      readonly format: 'ndjson' | 'csv' | 'leads';
      /** The file (absolute); `undefined`: standard output. */
      readonly out: string | undefined;
    }
  | {
      /** `leads import <file>`. */
      readonly kind: 'import';
      /** The store. */
      readonly store: StoreLocation;
      /** The file (absolute). */
      readonly input: string;
      /** Its format, from its extension. */
      readonly format: 'csv' | 'tsv' | 'ndjson';
    }
  | {
      /** `leads erase --email x`. */
      readonly kind: 'erase';
      /** The store; `undefined` when only files are named (no `--store`, no `LEADPIPE_STORE`). */
      readonly store: StoreLocation | undefined;
      /** The emails to erase. */
      readonly emails: readonly string[];
      /** The files of `leadpipe enrich` and `leads retain` to erase from too. */
      readonly files: readonly EraseFile[];
      /** The enrich outputs `--run` named (as given), which must exist. */
      readonly runs: readonly string[];
    }
  | {
      /** `leads retain`. */
      readonly kind: 'retain';
      /** The store. */
      readonly store: StoreLocation;
      /** Archive leads not updated for this many days. */
      readonly archiveAfterDays: number | undefined;
      /** Purge archived leads not updated for this many days. */
      readonly purgeAfterDays: number | undefined;
      /** Also append the leads archived to this NDJSON file (absolute). */
      readonly archiveFile: string | undefined;
    };

const STORE_LINE = `  --store <url|folder>   Where the leads are: a postgres:// URL (add ?schema=name for a schema
                         other than leadpipe) or a folder for an embedded store (PGlite, created
                         when missing). Default: the LEADPIPE_STORE environment variable`;

const WHERE_LINES = `  --where <clause>       A filter; repeat it, every one must hold:
                           emailDomain=acme.com      companyDomain=acme.com
                           industry=Software         (exact, any case)
                           headcount>=200  headcount<=1000  headcount=50..200
                           country=DE                (the person's country code)
                           seniority=vp,director     (any of: ${SENIORITY_LEVELS.join(', ')})
                           title=engineer            (words that must all be in the title)
                           updatedSince=2026-01-31   (an ISO date or time, or 7d / 12h ago)
                           custom.<name>=value       (true, false and numbers as such;
                                                     "quoted" stays text)
  --search <text>        Full-text search over name, title and company (prefixes match)
  --fields <list>        Fields to return, such as email,title,company.name (id always):
                         lead fields, or id, createdAt, updatedAt, custom, provenance
  --order <id|updatedAt> Order: id (oldest first, default) or updatedAt (least recently updated)`;

/** Usage of `leadpipe leads`. */
export const LEADS_HELP = `Usage: leadpipe leads <command> [options]

Work with the leads kept in a lead store (leadpipe enrich --store writes them there).

Commands:
  query    Print one page of leads matching filters, with the cursor of the next page
  export   Write every matching lead out as NDJSON or CSV
  import   Upsert the leads of a CSV, TSV or NDJSON file into the store
  erase    Remove a person (by email) from the store, and say from where
  retain   Archive leads not updated for a while, and purge old archived ones

Every command takes --store <postgres URL | folder> (or LEADPIPE_STORE).
leadpipe leads <command> --help shows a command's options.

Exit codes: 0 done, 1 failed, 2 bad usage (an unknown filter field, a bad cursor,
a page over ${LEAD_STORE_MAX_PAGE}, a custom field name that is not allowed), 3 done, but some
leads were refused (import).
`;

/** Usage of `leadpipe leads query`. */
const LEADS_QUERY_HELP = `Usage: leadpipe leads query [options]

Print one page of the leads matching every --where clause and --search, with the
cursor of the next page (pass it as --cursor with the same filters).

Options:
${STORE_LINE}
${WHERE_LINES}
  --limit <n>            Page size, 1 to ${LEAD_STORE_MAX_PAGE} (default: 50)
  --cursor <cursor>      The next-page cursor a query with the same filters printed
  --format <table|ndjson>
                         A table (default on a terminal) or one JSON object per lead
                         (default otherwise; the next cursor then goes to standard error)
  -h, --help             Show this help

Example:
  leadpipe leads query --store examples/out/store --where industry=Software \\
    --where headcount>=200 --fields email,title,company.name --limit 20
`;

/** Usage of `leadpipe leads export`. */
const LEADS_EXPORT_HELP = `Usage: leadpipe leads export [options]

Write every lead matching the filters (all leads without any), page by page.

Options:
${STORE_LINE}
${WHERE_LINES}
  --format <f>           ndjson or csv (the enrich output's columns: each field with its
                         __source and __confidence), or leads (each stored lead as JSON: ids,
                         provenance and custom fields, which leads import restores as they were)
                         (default: from --out's extension, else ndjson)
  --out <file>           Write to <file> (default: standard output)
  -h, --help             Show this help
`;

/** Usage of `leadpipe leads import`. */
const LEADS_IMPORT_HELP = `Usage: leadpipe leads import <file> [options]

Upsert the leads of <file> into the store, by identity (email, or domain for a
company-only lead), merging field by field with what the store holds.
- An NDJSON file of stored leads (leads export --format leads) is restored as it was:
  ids, provenance and custom fields.
- Any other CSV, TSV or NDJSON file is read like leadpipe enrich reads its input
  (columns recognised by name; __source and __confidence columns are dropped),
  without enriching it.

Options:
${STORE_LINE}
  -h, --help             Show this help
`;

/** Usage of `leadpipe leads erase`. */
const LEADS_ERASE_HELP = `Usage: leadpipe leads erase --email <address> [options]

Remove a person from the store: the lead, its archived copy and its outbox events,
and the cache entries, dead letters and checkpoint answers kept in the same store;
and from the files leadpipe keeps people in that the options below name: provider
answers (--cache, checkpoints), dead letters, and archive files. Prints every place
it looked in, with what it removed from each. The outputs, rejects and duplicates
files of leadpipe enrich are yours and are not touched.

Options:
  --email <address>      The person to erase; repeat it for several
${STORE_LINE}
                         (may be left out when files are named)
${ERASE_FILE_HELP}
  -h, --help             Show this help

Example:
  leadpipe leads erase --email ada@acme.com --store examples/out/store \\
    --run examples/out/leads.enriched.csv --cache answers.ndjson
`;

/** Usage of `leadpipe leads retain`. */
const LEADS_RETAIN_HELP = `Usage: leadpipe leads retain [options]

Archive the leads not updated for a while (they leave queries and exports), and
purge archived leads for good after longer.

Options:
  --archive-after <n>d   Archive leads not updated for n days, such as 365d
  --purge-after <n>d     Purge archived leads not updated for n days, such as 730d
  --archive-file <file>  Also append the leads being archived to <file> (.ndjson, stored leads
                         as JSON, which leads import restores)
${STORE_LINE}
  -h, --help             Show this help
`;

/** Help of each subcommand. */
export const LEADS_SUBCOMMAND_HELP: Readonly<Record<LeadsSubcommand, string>> = {
  query: LEADS_QUERY_HELP,
  export: LEADS_EXPORT_HELP,
  import: LEADS_IMPORT_HELP,
  erase: LEADS_ERASE_HELP,
  retain: LEADS_RETAIN_HELP,
};

/** The `--where` field names, and the lead paths taken for them. */
const WHERE_FIELDS = [
  'emailDomain',
  'companyDomain',
  'industry',
  'headcount',
  'country',
  'seniority',
  'title',
  'updatedSince',
] as const;
type WhereField = (typeof WHERE_FIELDS)[number];
const WHERE_ALIASES: Readonly<Record<string, WhereField>> = {
  'company.domain': 'companyDomain',
  'company.industry': 'industry',
  'company.headcount': 'headcount',
  'location.countryCode': 'country',
};

/** The custom field names `custom.<name>` may use (the store's whitelist pattern). */
const CUSTOM_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Fields a query can return besides the lead fields. */
const RECORD_FIELDS = ['id', 'createdAt', 'updatedAt', 'custom', 'provenance'] as const;
const RETURNABLE: readonly string[] = [...LEAD_FIELDS, ...RECORD_FIELDS];

function usage(issues: readonly ValidationIssue[]): ValidationError {
  return new ValidationError(issues, {
    message: issues.map((issue) => `${issue.field}: ${issue.reason}`).join('\n'),
  });
}

/** A `custom.<name>=value` value: `true`, `false`, a number, or text (`"..."` forces text). */
function customValue(text: string): string | number | boolean {
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) return text.slice(1, -1);
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  return text;
}

/** `updatedSince` values: an ISO date or time, or `<n>d` / `<n>h` ago. */
function sinceValue(text: string, now: number): string | undefined {
  const ago = /^(\d+)\s*([dh])$/.exec(text);
  if (ago) return new Date(now - Number(ago[1]) * (ago[2] === 'd' ? 86_400_000 : 3_600_000)).toISOString();
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined;
  const time = Date.parse(text);
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

function wholeNumber(text: string): number | undefined {
  return /^\d+$/.test(text.trim()) ? Number(text.trim()) : undefined;
}

/**
 * Parse `--where` clauses (`field=value`, `headcount>=200`) into a store
 * filter. Issues name `--where` and the clause.
 */
function parseWhere(
  clauses: readonly string[],
  now: number,
  issues: ValidationIssue[],
): { where: LeadStoreFilter; customFields: string[] } {
  const where: {
    -readonly [Key in keyof LeadStoreFilter]: LeadStoreFilter[Key];
  } = {};
  const headcount: { min?: number; max?: number } = {};
  const custom: Record<string, string | number | boolean> = {};
  const seen = new Set<string>();
  const bad = (clause: string, reason: string) =>
    issues.push({ field: '--where', reason: `"${clause}": ${reason}` });
  for (const clause of clauses) {
    const match = /^(.*?)(>=|<=|=|>|<)(.*)$/s.exec(clause);
    if (!match) {
      bad(clause, 'must be field=value (or headcount>=n, headcount<=n), such as industry=Software');
      continue;
    }
    const name = match[1]!.trim();
    const operator = match[2]!;
    const value = match[3]!.trim();
    if (name.startsWith('custom.')) {
      const customName = name.slice('custom.'.length);
      if (!CUSTOM_NAME.test(customName)) {
        bad(
          clause,
          `custom field name "${customName}" is not allowed: a letter or _, then letters, digits or _ (up to 63)`,
        );
      } else if (operator !== '=') bad(clause, `custom fields take =, not ${operator}`);
      else if (Object.hasOwn(custom, customName)) bad(clause, `custom.${customName} is given twice`);
      else custom[customName] = customValue(value);
      continue;
    }
    const field: WhereField | undefined = (WHERE_FIELDS as readonly string[]).includes(name)
      ? (name as WhereField)
      : WHERE_ALIASES[name];
    if (field === undefined) {
      bad(
        clause,
        `"${name}" is not a field you can filter on${didYouMean(name, [...WHERE_FIELDS, ...Object.keys(WHERE_ALIASES)])}; the fields are ${WHERE_FIELDS.join(', ')} and custom.<name>`,
      );
      continue;
    }
    if (field === 'headcount') {
      const range = operator === '=' ? /^(\d+)\s*\.\.\s*(\d+)$/.exec(value) : null;
      const number = wholeNumber(value);
      if (range) {
        headcount.min = Math.max(headcount.min ?? 0, Number(range[1]));
        headcount.max = Math.min(headcount.max ?? Number.MAX_SAFE_INTEGER, Number(range[2]));
      } else if (number === undefined) {
        bad(clause, 'headcount takes a whole number (or a range such as 50..200)');
      } else if (operator === '=') {
        headcount.min = number;
        headcount.max = number;
      } else if (operator === '>=' || operator === '>') {
        headcount.min = Math.max(headcount.min ?? 0, operator === '>' ? number + 1 : number);
      } else {
        headcount.max = Math.min(
          headcount.max ?? Number.MAX_SAFE_INTEGER,
          operator === '<' ? number - 1 : number,
        );
      }
      continue;
    }
    if (operator !== '=') {
      bad(clause, `${field} takes =, not ${operator} (only headcount compares)`);
      continue;
    }
    if (seen.has(field)) {
      bad(clause, `${field} is given twice`);
      continue;
    }
    seen.add(field);
    if (value === '') {
      bad(clause, `${field} needs a value`);
      continue;
    }
    switch (field) {
      case 'country':
        if (!/^[A-Za-z]{2}$/.test(value)) bad(clause, 'country takes a two-letter ISO code, such as DE');
        else where.country = value.toUpperCase();
        break;
      case 'seniority': {
        const levels = value.split(',').map((level) => level.trim().toLowerCase());
        const unknown = levels.filter((level) => !(SENIORITY_LEVELS as readonly string[]).includes(level));
        if (unknown.length > 0) {
          bad(clause, `"${unknown.join('", "')}" is not a seniority; use ${SENIORITY_LEVELS.join(', ')}`);
        } else where.seniority = levels.length === 1 ? (levels[0] as Seniority) : (levels as Seniority[]);
        break;
      }
      case 'updatedSince': {
        const since = sinceValue(value, now);
        if (since === undefined)
          bad(clause, 'updatedSince takes an ISO date or time (2026-01-31), or 7d or 12h ago');
        else where.updatedSince = since;
        break;
      }
      default:
        where[field] = value;
    }
  }
  if (headcount.min !== undefined || headcount.max !== undefined) {
    if (headcount.min !== undefined && headcount.max !== undefined && headcount.min > headcount.max) {
      issues.push({
        field: '--where',
        reason: `headcount: no number is >= ${headcount.min} and <= ${headcount.max}`,
      });
    }
    where.headcount = headcount;
  }
  const customFields = Object.keys(custom);
  if (customFields.length > 0) where.custom = custom;
  return { where, customFields };
}

function parseFields(value: string | undefined, issues: ValidationIssue[]): LeadStoreFieldName[] | undefined {
  if (value === undefined) return undefined;
  const fields: LeadStoreFieldName[] = [];
  for (const name of value.split(',').map((item) => item.trim())) {
    if (name === '') continue;
    if (!RETURNABLE.includes(name)) {
      issues.push({
        field: '--fields',
        reason: `"${name}" is not a field a query returns${didYouMean(name, RETURNABLE)}; use lead fields (${LEAD_FIELDS.slice(0, 4).join(', ')}, ...) or ${RECORD_FIELDS.join(', ')}`,
      });
    } else if (!fields.includes(name as LeadStoreFieldName)) fields.push(name as LeadStoreFieldName);
  }
  if (fields.length === 0 && issues.length === 0) {
    issues.push({ field: '--fields', reason: 'must name at least one field, such as email' });
  }
  return fields;
}

const QUERY_FLAGS = {
  store: { type: 'string' },
  where: { type: 'string', multiple: true },
  search: { type: 'string' },
  fields: { type: 'string' },
  order: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const OPTIONS = {
  query: {
    ...QUERY_FLAGS,
    limit: { type: 'string' },
    cursor: { type: 'string' },
    format: { type: 'string' },
  },
  export: { ...QUERY_FLAGS, format: { type: 'string' }, out: { type: 'string' } },
  import: { store: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  erase: {
    store: { type: 'string' },
    email: { type: 'string', multiple: true },
    ...ERASE_FILE_FLAGS,
    help: { type: 'boolean', short: 'h' },
  },
  retain: {
    store: { type: 'string' },
    'archive-after': { type: 'string' },
    'purge-after': { type: 'string' },
    'archive-file': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
} as const;

/** The flags of a subcommand's options table: `--where`, `-h`. */
function flagsOf(
  options: Readonly<Record<string, { readonly type: string; readonly short?: string }>>,
): string[] {
  return Object.entries(options).flatMap(([name, option]) => [
    `--${name}`,
    ...(option.short === undefined ? [] : [`-${option.short}`]),
  ]);
}

function days(value: string | undefined, flag: string, issues: ValidationIssue[]): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)d?$/.exec(value.trim());
  if (!match) {
    issues.push({ field: flag, reason: `must be a number of days such as 365d, got "${value}"` });
    return undefined;
  }
  const count = Number(match[1]);
  if (count < 1) issues.push({ field: flag, reason: `must be at least 1 day, got "${value}"` });
  return count;
}

/** What `leadpipe leads <argv>` asks for: a command, or the help of a topic. */
export type LeadsParse =
  | {
      /** Show a help text. */
      readonly kind: 'help';
      /** The text to print. */
      readonly text: string;
    }
  | {
      /** Run a command. */
      readonly kind: 'command';
      /** The command, checked. */
      readonly command: LeadsCommand;
    };

/**
 * Parse `leadpipe leads <subcommand> ...` (argv after `leads`). Throws a
 * `ValidationError` naming each bad flag and why.
 */
export function parseLeadsCommand(
  argv: readonly string[],
  cwd: string,
  env: Environment,
  now: number,
): LeadsParse {
  const [subcommand, ...rest] = argv;
  if (subcommand === undefined || subcommand === '-h' || subcommand === '--help' || subcommand === 'help') {
    const topic = rest[0];
    if (
      subcommand === 'help' &&
      topic !== undefined &&
      (LEADS_SUBCOMMANDS as readonly string[]).includes(topic)
    ) {
      return { kind: 'help', text: LEADS_SUBCOMMAND_HELP[topic as LeadsSubcommand] };
    }
    return { kind: 'help', text: LEADS_HELP };
  }
  if (!(LEADS_SUBCOMMANDS as readonly string[]).includes(subcommand)) {
    throw usage([
      {
        field: '<command>',
        reason: `unknown leads command "${subcommand}"${didYouMean(subcommand, LEADS_SUBCOMMANDS)}; the commands are ${LEADS_SUBCOMMANDS.join(', ')} (try leadpipe leads --help)`,
      },
    ]);
  }
  const name = subcommand as LeadsSubcommand;
  const table = OPTIONS[name];
  let parsed: { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };
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
    if (/^Unknown option/.test(message)) reason += didYouMean(flag, flagsOf(table));
    throw usage([{ field: flag, reason }]);
  }
  const { values, positionals } = parsed;
  if (values.help === true) return { kind: 'help', text: LEADS_SUBCOMMAND_HELP[name] };
  const issues: ValidationIssue[] = [];
  const text = (key: string) => values[key] as string | undefined;
  const store = storeOption(text('store'), env, cwd, issues, !(name === 'erase' && eraseFilesGiven(values)));
  if (name !== 'import' && positionals.length > 0) {
    issues.push({
      field: '<arguments>',
      reason: `leads ${name} takes no arguments, got ${positionals.join(' ')}`,
    });
  }

  const queryOf = (): LeadsQueryOptions => {
    const { where, customFields } = parseWhere((values.where as string[] | undefined) ?? [], now, issues);
    const order = text('order') ?? 'id';
    if (order !== 'id' && order !== 'updatedAt') {
      issues.push({ field: '--order', reason: `must be id or updatedAt, got "${order}"` });
    }
    const search = text('search');
    if (search !== undefined && search.trim() === '')
      issues.push({ field: '--search', reason: 'needs some text' });
    return {
      where,
      search,
      fields: parseFields(text('fields'), issues),
      orderBy: order === 'updatedAt' ? 'updatedAt' : 'id',
      customFields,
    };
  };

  let command: LeadsCommand | undefined;
  switch (name) {
    case 'query': {
      const query = queryOf();
      let limit: number | undefined;
      const given = text('limit');
      if (given !== undefined) {
        limit = wholeNumber(given);
        if (limit === undefined || limit < 1) {
          issues.push({
            field: '--limit',
            reason: `must be a whole number from 1 to ${LEAD_STORE_MAX_PAGE}, got "${given}"`,
          });
        } else if (limit > LEAD_STORE_MAX_PAGE) {
          issues.push({
            field: '--limit',
            reason: `${limit} is over the largest page, ${LEAD_STORE_MAX_PAGE}; page on with --cursor, or use leads export for everything`,
          });
        }
      }
      const cursor = text('cursor');
      if (cursor !== undefined && cursor.trim() === '')
        issues.push({ field: '--cursor', reason: 'is empty' });
      const format = text('format');
      if (format !== undefined && format !== 'table' && format !== 'ndjson') {
        issues.push({ field: '--format', reason: `must be table or ndjson, got "${format}"` });
      }
      if (store) {
        command = {
          kind: 'query',
          store,
          query,
          limit,
          cursor,
          format: format === 'table' || format === 'ndjson' ? format : undefined,
        };
      }
      break;
    }
    case 'export': {
      const query = queryOf();
      const outText = text('out');
      const out = outText === undefined ? undefined : resolve(cwd, outText);
      const extension = outText === undefined ? '' : extname(outText).toLowerCase();
      let format = text('format') ?? (extension === '.csv' ? 'csv' : 'ndjson');
      if (format !== 'ndjson' && format !== 'csv' && format !== 'leads') {
        issues.push({ field: '--format', reason: `must be ndjson, csv or leads, got "${format}"` });
        format = 'ndjson';
      }
      if (store)
        command = { kind: 'export', store, query, format: format as 'ndjson' | 'csv' | 'leads', out };
      break;
    }
    case 'import': {
      const [file, ...extra] = positionals;
      let format: 'csv' | 'tsv' | 'ndjson' = 'csv';
      if (file === undefined) {
        issues.push({
          field: '<file>',
          reason: 'is required: the CSV, TSV or NDJSON file of leads to import',
        });
      } else {
        const extension = extname(file).toLowerCase();
        if (extension === '.tsv') format = 'tsv';
        else if (extension === '.ndjson' || extension === '.jsonl') format = 'ndjson';
        else if (extension !== '.csv') {
          issues.push({ field: '<file>', reason: `"${file}" must end in .csv, .tsv, .ndjson or .jsonl` });
        }
      }
      if (extra.length > 0)
        issues.push({ field: '<file>', reason: `only one file is taken, got also ${extra.join(' ')}` });
      if (store && file !== undefined) command = { kind: 'import', store, input: resolve(cwd, file), format };
      break;
    }
    case 'erase': {
      const emails = ((values.email as string[] | undefined) ?? []).map((email) => email.trim());
      if (emails.length === 0)
        issues.push({ field: '--email', reason: 'is required: the email of the person to erase' });
      for (const email of emails) {
        if (!/^[^@\s]+@[^@\s]+$/.test(email))
          issues.push({ field: '--email', reason: `"${email}" is not an email address` });
      }
      const files = eraseFiles(values, cwd, issues);
      command = { kind: 'erase', store, emails, files, runs: (values.run as string[] | undefined) ?? [] };
      break;
    }
    case 'retain': {
      const archiveAfterDays = days(text('archive-after'), '--archive-after', issues);
      const purgeAfterDays = days(text('purge-after'), '--purge-after', issues);
      if (text('archive-after') === undefined && text('purge-after') === undefined) {
        issues.push({
          field: '--archive-after',
          reason: 'give --archive-after, --purge-after or both, such as --archive-after 365d',
        });
      }
      const file = text('archive-file');
      if (file !== undefined && text('archive-after') === undefined) {
        issues.push({
          field: '--archive-file',
          reason: 'needs --archive-after (the leads to write are the ones archived)',
        });
      }
      if (file !== undefined && !/\.(ndjson|jsonl)$/i.test(file)) {
        issues.push({ field: '--archive-file', reason: `"${file}" must end in .ndjson or .jsonl` });
      }
      if (store) {
        command = {
          kind: 'retain',
          store,
          archiveAfterDays,
          purgeAfterDays,
          archiveFile: file === undefined ? undefined : resolve(cwd, file),
        };
      }
      break;
    }
  }
  if (issues.length > 0 || command === undefined) throw usage(issues);
  return { kind: 'command', command };
}

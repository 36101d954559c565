import { readFile } from 'node:fs/promises';
import { ConfigurationError, type ValidationIssue } from '@leadpipe/core/adapter-kit';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { type CampaignInput, campaignSchema, formatPath } from './schema.js';
import type { Campaign } from './types.js';

/** Where a campaign came from, for messages. */
export interface CampaignSourceOptions {
  /** A file name or label, such as `campaigns/intro.yaml`; starts the error message. */
  readonly source?: string;
}

function issuesOf(error: z.ZodError): ValidationIssue[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        field: formatPath([...issue.path, key]),
        reason: 'is not a known option',
      }));
    }
    if (issue.code === 'invalid_union') {
      // A union of forms: report the most specific branch (the one that got furthest), not "Invalid input".
      const branches = (issue as unknown as { errors: { path: PropertyKey[]; message: string }[][] }).errors;
      const deepest = branches.flat().sort((a, b) => b.path.length - a.path.length)[0];
      if (deepest !== undefined && deepest.path.length > 0) {
        return [{ field: formatPath([...issue.path, ...deepest.path]), reason: deepest.message }];
      }
    }
    return [{ field: formatPath(issue.path), reason: issue.message }];
  });
}

function fail(issues: readonly ValidationIssue[], source: string | undefined): never {
  const name = source === undefined ? 'campaign' : `campaign ${source}`;
  throw new ConfigurationError('invalid_configuration', {
    issues,
    message: `${name}: ${issues.map((issue) => `${issue.field}: ${issue.reason}`).join('; ')}`,
  });
}

/**
 * Checks a campaign definition and fills its defaults. Throws a `ConfigurationError`
 * (`invalid_configuration`) whose issues name every wrong field by its path, such as
 * `steps[2].wait.businessDays: expected a positive integer`.
 *
 * @param input - the campaign as an object (from TypeScript, or parsed JSON or YAML).
 * @param options - the source, for the message.
 */
export function parseCampaign(input: unknown, options: CampaignSourceOptions = {}): Campaign {
  const result = campaignSchema.safeParse(input);
  if (result.success) return result.data;
  return fail(issuesOf(result.error), options.source);
}

/**
 * Defines a campaign in TypeScript, with the input type checked by the compiler and the rest (references, cron,
 * zones, templates) checked at run time like {@link parseCampaign}.
 *
 * @param input - the campaign.
 */
export function defineCampaign(input: CampaignInput): Campaign {
  return parseCampaign(input);
}

/** Options of {@link loadCampaign}. */
export interface LoadCampaignOptions extends CampaignSourceOptions {
  /** `json`, `yaml`, or by the source's extension (`.json` is JSON, anything else YAML, which also reads JSON). */
  readonly format?: 'json' | 'yaml';
}

/**
 * Parses a campaign from JSON or YAML text and checks it ({@link parseCampaign}). A syntax error is a
 * `ConfigurationError` naming `json` or `yaml` with the line and column; YAML duplicate keys are refused.
 *
 * @param text - the file's content.
 * @param options - the format and the source name.
 */
export function loadCampaign(text: string, options: LoadCampaignOptions = {}): Campaign {
  const format = options.format ?? (options.source?.toLowerCase().endsWith('.json') ? 'json' : 'yaml');
  let value: unknown;
  try {
    value =
      format === 'json'
        ? JSON.parse(text)
        : parseYaml(text, { prettyErrors: true, uniqueKeys: true, maxAliasCount: 100 });
  } catch (error) {
    const message = String((error as Error).message ?? error).split('\n')[0] ?? 'syntax error';
    return fail([{ field: format, reason: message }], options.source);
  }
  return parseCampaign(value, options);
}

/**
 * Reads a campaign file (`.json`, `.yaml` or `.yml`) and checks it ({@link loadCampaign}).
 *
 * @param path - the file.
 */
export async function loadCampaignFile(path: string): Promise<Campaign> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return fail(
      [{ field: 'file', reason: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}` }],
      path,
    );
  }
  return loadCampaign(text, { source: path });
}

import { ConfigurationError, DEFAULT_WEBHOOK_MAX_BODY_BYTES, parseOptions } from '@leadpipe/core/adapter-kit';
import { z } from 'zod';
import { HUBSPOT_OAUTH_CREDENTIALS, hubspotOAuthSettingsSchema } from './hubspot-auth.js';
import {
  accountTimeZoneSchema,
  hubspotRateLimitsSchema,
  hubspotTierSchema,
  type ResolvedHubspotLimits,
  resolveHubspotLimits,
} from './hubspot-limits.js';

/** HubSpot's API base URL. */
const HUBSPOT_BASE_URL = 'https://api.hubapi.com';

const ADAPTER_ID = /^[a-z0-9][a-z0-9._-]*$/i;

function isAbsoluteHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

const absoluteHttpUrl = z
  .string({ error: 'must be an absolute http:// or https:// URL' })
  .refine(isAbsoluteHttpUrl, { error: 'must be an absolute http:// or https:// URL' });

const aFunction = <T>() =>
  z.custom<T>((value) => typeof value === 'function', { error: 'must be a function' }).optional();

const anObjectWith = <T>(method: string) =>
  z
    .custom<T>(
      (value) =>
        typeof value === 'object' &&
        value !== null &&
        typeof (value as Record<string, unknown>)[method] === 'function',
      { error: `must be an object with a ${method}() method` },
    )
    .optional();

/** Every setting of `createHubspot`, checked at creation (credentials from the environment at the first call). */
const settingsSchema = z
  .object({
    accessToken: z.string({ error: 'must be a string' }).optional(),
    oauth: hubspotOAuthSettingsSchema.optional(),
    baseUrl: absoluteHttpUrl.optional(),
    adapterId: z
      .string({ error: 'must be letters, digits, ".", "_" or "-"' })
      .regex(ADAPTER_ID, { error: 'must be letters, digits, ".", "_" or "-"' })
      .optional(),
    tier: hubspotTierSchema.optional(),
    rateLimits: hubspotRateLimitsSchema.optional(),
    accountTimeZone: accountTimeZoneSchema.optional(),
    associateCompanies: z
      .union(
        [
          z.boolean(),
          z.object({ domain: aFunction<(record: Record<string, unknown>) => string | undefined>() }).strict(),
        ],
        { error: 'must be true, false or { domain }' },
      )
      .optional(),
    changesKeyProperty: z
      .record(z.string(), z.string({ error: 'must be a property name' }), {
        error: 'must map object names to property names',
      })
      .optional(),
    webhookSecret: z.string({ error: 'must be a string' }).optional(),
    webhookUrl: absoluteHttpUrl.optional(),
    webhookToleranceMs: z
      .number({ error: 'must be a positive number of ms' })
      .positive({ error: 'must be a positive number of ms' })
      .optional(),
    webhookMaxBodyBytes: z
      .number({ error: 'must be a whole number of bytes, at least 1' })
      .int({ error: 'must be a whole number of bytes, at least 1' })
      .min(1, { error: 'must be a whole number of bytes, at least 1' })
      .optional(),
    webhookDeduper: anObjectWith('seen'),
    fetch: aFunction<typeof globalThis.fetch>(),
    timeoutMs: z
      .number({ error: 'must be a positive number of ms' })
      .positive({ error: 'must be a positive number of ms' })
      .optional(),
    captureResponseBody: z.boolean({ error: 'must be true or false' }).optional(),
    now: aFunction<() => number>(),
    limiterRegistry: anObjectWith('get'),
  })
  .strict();

/** The settings `createHubspot` works from, with every default filled in. */
export interface CheckedHubspotSettings {
  /** Adapter id. */
  readonly adapterId: string;
  /** Base URL, without a trailing slash. */
  readonly baseUrl: string;
  /** Limits from the tier and overrides. */
  readonly limits: ResolvedHubspotLimits;
  /** IANA time zone of the account. */
  readonly accountTimeZone: string;
  /** How old a webhook may be, ms. */
  readonly webhookToleranceMs: number;
  /** The largest webhook body read, bytes. */
  readonly webhookMaxBodyBytes: number;
}

const OAUTH_CREDENTIAL_FIELDS: ReadonlySet<string> = new Set(
  HUBSPOT_OAUTH_CREDENTIALS.map((field) => `oauth.${field}`),
);

/**
 * Check `createHubspot`'s settings with zod (through core's `parseOptions`)
 * and fill in the defaults.
 *
 * @throws ConfigurationError naming every wrong setting and why: code
 * `missing_credentials` when all that is wrong is a missing OAuth credential
 * (`oauth.clientId`, `oauth.clientSecret`, `oauth.refreshToken`), else
 * `invalid_configuration`.
 */
export function checkHubspotSettings(settings: unknown): CheckedHubspotSettings {
  const given = (typeof settings === 'object' && settings !== null ? settings : {}) as {
    readonly adapterId?: unknown;
  };
  const providerId =
    typeof given.adapterId === 'string' && ADAPTER_ID.test(given.adapterId) ? given.adapterId : 'hubspot';
  let parsed: z.output<typeof settingsSchema>;
  try {
    parsed = parseOptions(settingsSchema, settings ?? {}, { name: 'createHubspot', providerId });
  } catch (error) {
    if (
      ConfigurationError.isInstance(error) &&
      error.issues.length > 0 &&
      error.issues.every((issue) => OAUTH_CREDENTIAL_FIELDS.has(issue.field))
    ) {
      throw new ConfigurationError('missing_credentials', {
        issues: error.issues,
        message: error.message,
        providerId,
      });
    }
    throw error;
  }
  return {
    adapterId: parsed.adapterId ?? 'hubspot',
    baseUrl: (parsed.baseUrl ?? HUBSPOT_BASE_URL).replace(/\/+$/, ''),
    limits: resolveHubspotLimits(parsed.tier, parsed.rateLimits),
    accountTimeZone: parsed.accountTimeZone ?? 'UTC',
    webhookToleranceMs: parsed.webhookToleranceMs ?? 300_000,
    webhookMaxBodyBytes: parsed.webhookMaxBodyBytes ?? DEFAULT_WEBHOOK_MAX_BODY_BYTES,
  };
}

import { ConfigurationError } from '@leadpipe/core/adapter-kit';
import type { EmulatorContext } from '../../emulator/context.js';
import { ID_PREFIX, salesforceId } from './ids.js';
import { derivedToken } from './oauth.js';
import { LeadSchema } from './schema.js';
import type { SalesforceCredentials, SalesforceEmulatorOptions } from './types.js';

const DEFAULT_SESSION_MS = 2 * 60 * 60 * 1000;
/** A request running longer than this counts against the concurrent long-running limit. */
export const LONG_RUNNING_MS = 20_000;
/** The oldest API version served. */
export const MIN_VERSION = 31;
/** The newest API version served. */
export const MAX_VERSION = 66;
const DEFAULT_OUTBOUND_FIELDS = ['Id', 'Email', 'LastName', 'Company', 'Lead_Key__c', 'SystemModstamp'];

/** The release name of an API version, such as `Spring '25`. */
export function releaseLabel(major: number): string {
  const step = major - MIN_VERSION;
  const season = ['Summer', 'Winter', 'Spring'][step % 3] ?? 'Summer';
  const year = (season === 'Summer' ? 14 : 15) + Math.floor(step / 3);
  return `${season} '${String(year).padStart(2, '0')}`;
}

/** `value`, or `fallback` when absent; a `ConfigurationError` naming option `name` unless a positive (or zero, with `allowZero`) number. */
export function positive(
  name: string,
  value: number | undefined,
  fallback: number,
  allowZero = false,
): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new ConfigurationError('invalid_configuration', {
      message: `Salesforce emulator option ${name}: must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${value}`,
      providerId: 'salesforce',
    });
  }
  return value;
}

/** `value`, or 0 when absent; a `ConfigurationError` naming option `name` unless within [0, 1]. */
export function rate(name: string, value: number | undefined): number {
  if (value === undefined) return 0;
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw new ConfigurationError('invalid_configuration', {
      message: `Salesforce emulator option ${name}: must be between 0 and 1, got ${value}`,
      providerId: 'salesforce',
    });
  }
  return value;
}

/** The emulator's options, checked and defaulted; what `reset()` goes back to. */
export interface SalesforceSettings {
  /** How long an access token lives, ms. */
  readonly sessionLifetimeMs: number;
  /** API requests allowed per rolling 24 hours. */
  readonly dailyApiRequests: number;
  /** Concurrent requests running over 20 s before `REQUEST_LIMIT_EXCEEDED`. */
  readonly longRunningLimit: number;
  /** Delay added to every API response, ms. */
  readonly responseDelayMs: number;
  /** SOQL page size when the request does not set one. */
  readonly defaultBatchSize: number;
  /** Emulated delay before a Bulk job starts processing, ms. */
  readonly bulkStartDelayMs: number;
  /** Bulk processing speed. */
  readonly bulkRecordsPerSecond: number;
  /** Share of records failing with `UNABLE_TO_LOCK_ROW`. */
  readonly partialFailureRate: number;
  /** The org's id (`00D...`). */
  readonly organizationId: string;
  /** Lead's fields, standard and custom. */
  readonly schema: LeadSchema;
  /** Fields an Outbound Message carries. */
  readonly outboundFields: readonly string[];
}

/**
 * Check and default the emulator's options.
 *
 * @throws ConfigurationError naming the option when one is out of range.
 */
export function resolveSettings(
  context: EmulatorContext,
  options: SalesforceEmulatorOptions,
): SalesforceSettings {
  const sessionLifetimeMs = positive('sessionLifetimeMs', options.sessionLifetimeMs, DEFAULT_SESSION_MS);
  const dailyApiRequests = positive('dailyApiRequests', options.dailyApiRequests, 100_000);
  const longRunningLimit = positive('concurrentLongRunningLimit', options.concurrentLongRunningLimit, 25);
  const responseDelayMs = positive('responseDelayMs', options.responseDelayMs, 0, true);
  const defaultBatchSize = positive('queryBatchSize', options.queryBatchSize, 2000);
  const bulkStartDelayMs = positive('bulkStartDelayMs', options.bulkStartDelayMs, 1000, true);
  const bulkRecordsPerSecond = positive('bulkRecordsPerSecond', options.bulkRecordsPerSecond, 10_000);
  const partialFailureRate = rate('partialFailureRate', options.partialFailureRate);
  const organizationId = options.organizationId ?? defaultOrganizationId(context.seed);
  if (!/^00D[a-zA-Z0-9]{12}(?:[a-zA-Z0-9]{3})?$/.test(organizationId)) {
    throw new ConfigurationError('invalid_configuration', {
      message: `Salesforce emulator option organizationId: must be a 15 or 18 character id starting with 00D, got ${organizationId}`,
      providerId: 'salesforce',
    });
  }
  const schema = new LeadSchema(options.customFields ?? []);
  for (const field of options.customFields ?? []) {
    if (!field.name.endsWith('__c')) {
      throw new ConfigurationError('invalid_configuration', {
        message: `Salesforce emulator option customFields: field ${field.name} must end with __c`,
        providerId: 'salesforce',
      });
    }
  }
  const outboundFields = options.outboundMessages?.fields ?? DEFAULT_OUTBOUND_FIELDS;
  for (const name of outboundFields) {
    if (schema.field(name) === undefined) {
      throw new ConfigurationError('invalid_configuration', {
        message: `Salesforce emulator option outboundMessages.fields: no Lead field named ${name}`,
        providerId: 'salesforce',
      });
    }
  }
  return {
    sessionLifetimeMs,
    dailyApiRequests,
    longRunningLimit,
    responseDelayMs,
    defaultBatchSize,
    bulkStartDelayMs,
    bulkRecordsPerSecond,
    partialFailureRate,
    organizationId,
    schema,
    outboundFields,
  };
}

/** The org id of an emulator seeded with `seed` when `organizationId` is not given. */
function defaultOrganizationId(seed: number): string {
  return salesforceId(ID_PREFIX.organization, seed);
}

/**
 * What a Salesforce emulator seeded with `seed` accepts: the OAuth client and
 * user of `options` or the emulator's defaults, and the access and refresh
 * tokens issued up front for the org.
 */
export function salesforceCredentials(
  seed: number,
  options: SalesforceEmulatorOptions = {},
  organizationId: string = options.organizationId ?? defaultOrganizationId(seed),
): SalesforceCredentials {
  return {
    clientId: options.clientId ?? 'emulator-client-id',
    clientSecret: options.clientSecret ?? 'emulator-client-secret',
    username: options.username ?? 'emulator@leadpipe.test',
    password: options.password ?? 'emulator-password',
    accessToken: derivedToken(organizationId, 'access', seed),
    refreshToken: `5Aep${derivedToken(organizationId, 'refresh', seed).slice(18)}`,
    organizationId,
    userId: salesforceId(ID_PREFIX.user, seed),
  };
}

import { parseOptions } from '@leadpipe/core/adapter-kit';
import { z } from 'zod';
import type { EmulatorContext } from '../../emulator/context.js';
import {
  nonNegativeNumberSchema,
  positiveNumberSchema,
  shareSchema,
  uncheckedOption,
} from '../../emulator/option-schemas.js';
import { ID_PREFIX, salesforceId } from './ids.js';
import { derivedToken } from './oauth.js';
import { LeadSchema, type SalesforceFieldDefinition } from './schema.js';
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

const ORGANIZATION_ID = /^00D[a-zA-Z0-9]{12}(?:[a-zA-Z0-9]{3})?$/;

/** The options of `createSalesforceEmulator`, checked by `parseOptions`; every key listed, unknown ones refused. */
const salesforceOptionsSchema = z
  .object(
    {
      instanceUrl: uncheckedOption,
      organizationId: z
        .string({ error: 'must be a 15 or 18 character id starting with 00D' })
        .regex(ORGANIZATION_ID, {
          error: (issue) => `must be a 15 or 18 character id starting with 00D, got ${String(issue.input)}`,
        })
        .optional(),
      clientId: uncheckedOption,
      clientSecret: uncheckedOption,
      username: uncheckedOption,
      password: uncheckedOption,
      rotateRefreshTokens: uncheckedOption,
      sessionLifetimeMs: positiveNumberSchema().optional(),
      jwtPublicKey: uncheckedOption,
      jwtAudiences: uncheckedOption,
      dailyApiRequests: positiveNumberSchema().optional(),
      concurrentLongRunningLimit: positiveNumberSchema().optional(),
      responseDelayMs: nonNegativeNumberSchema().optional(),
      queryBatchSize: positiveNumberSchema().optional(),
      bulkStartDelayMs: nonNegativeNumberSchema().optional(),
      bulkRecordsPerSecond: positiveNumberSchema().optional(),
      shuffleBulkResults: uncheckedOption,
      partialFailureRate: shareSchema('must be between 0 and 1').optional(),
      customFields: z
        .array(
          z.looseObject({
            name: z.string({ error: 'must be a field name' }).refine((name) => name.endsWith('__c'), {
              error: (issue) => `must end with __c, got ${String(issue.input)}`,
            }),
          }),
          { error: 'must be a list of field definitions' },
        )
        .optional(),
      outboundMessages: z
        .object(
          {
            url: uncheckedOption,
            fields: z.array(z.string(), { error: 'must be a list of Lead field names' }).optional(),
            fetch: uncheckedOption,
          },
          { error: 'must be an object' },
        )
        .strict()
        .optional(),
    },
    { error: 'must be an object' },
  )
  .strict()
  .superRefine((options, context) => {
    const fields = options.outboundMessages?.fields;
    if (fields === undefined) return;
    const schema = new LeadSchema(
      (options.customFields ?? []) as unknown as readonly SalesforceFieldDefinition[],
    );
    fields.forEach((name, index) => {
      if (schema.field(name) === undefined) {
        context.addIssue({
          code: 'custom',
          path: ['outboundMessages', 'fields', index],
          message: `no Lead field named ${name}`,
        });
      }
    });
  });

/** `createSalesforceEmulator`'s name in option errors. */
const CHECKED_AS = { name: 'createSalesforceEmulator', providerId: 'salesforce' } as const;

/**
 * Check one option changed at run time (`setPartialFailureRate(0.2)`) against the emulator's option schema.
 *
 * @throws ConfigurationError naming the option, as `createSalesforceEmulator` does.
 */
export function checkSalesforceOption<
  Key extends 'partialFailureRate' | 'responseDelayMs' | 'dailyApiRequests',
>(key: Key, value: SalesforceEmulatorOptions[Key]): void {
  parseOptions(salesforceOptionsSchema, { [key]: value }, CHECKED_AS);
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
 * @throws ConfigurationError (`invalid_configuration`, checked by `parseOptions`) naming every option out of
 * range or unknown: `createSalesforceEmulator: <option>: <reason>`.
 */
export function resolveSettings(
  context: EmulatorContext,
  options: SalesforceEmulatorOptions,
): SalesforceSettings {
  parseOptions(salesforceOptionsSchema, options, CHECKED_AS);
  const sessionLifetimeMs = options.sessionLifetimeMs ?? DEFAULT_SESSION_MS;
  const dailyApiRequests = options.dailyApiRequests ?? 100_000;
  const longRunningLimit = options.concurrentLongRunningLimit ?? 25;
  const responseDelayMs = options.responseDelayMs ?? 0;
  const defaultBatchSize = options.queryBatchSize ?? 2000;
  const bulkStartDelayMs = options.bulkStartDelayMs ?? 1000;
  const bulkRecordsPerSecond = options.bulkRecordsPerSecond ?? 10_000;
  const partialFailureRate = options.partialFailureRate ?? 0;
  const organizationId = options.organizationId ?? defaultOrganizationId(context.seed);
  const schema = new LeadSchema(options.customFields ?? []);
  const outboundFields = options.outboundMessages?.fields ?? DEFAULT_OUTBOUND_FIELDS;
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

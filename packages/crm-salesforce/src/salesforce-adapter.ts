import { createHash } from 'node:crypto';
import {
  type CheckedListChangesRequest,
  type CrmAdapterV1,
  type CrmCallOptions,
  type CrmChangesPage,
  type CrmEvent,
  type CrmGetRequest,
  type CrmListChangesRequest,
  type CrmRecordSnapshot,
  type CrmUpsertRequest,
  type CrmUpsertResult,
  defineCrmAdapter,
  type InboundWebhookRequest,
  parseOptions,
  type RateLimitPolicy,
} from '@leadpipe/core/adapter-kit';
import { z } from 'zod';
import { SalesforceApi } from './salesforce-api.js';
import { SALESFORCE_PROVIDER_ID, SalesforceAuth, type SalesforceAuthSettings } from './salesforce-auth.js';
import { createMemoryBulkJobStore, type SalesforceBulkJobStore } from './salesforce-bulk.js';
import { createDescriptions } from './salesforce-describe.js';
import { SALESFORCE_API_NAME } from './salesforce-fields.js';
import { buildPicklistSynonyms } from './salesforce-picklists.js';
import {
  listChanges,
  readByKeys,
  type SalesforceChangesCursor,
  salesforceCursorCodec,
} from './salesforce-reads.js';
import { upsertRecords } from './salesforce-upsert.js';
import { type ParseSalesforceWebhookOptions, parseSalesforceWebhook } from './salesforce-webhooks.js';

/** The API version used unless `apiVersion` says otherwise. */
const SALESFORCE_DEFAULT_API_VERSION = '62.0';
/** Default number of records from which one `doUpsert` goes through Bulk API 2.0 (Salesforce's own advice). */
const SALESFORCE_DEFAULT_BULK_THRESHOLD = 2000;
/** Default most records one `doUpsert` accepts: the engine's batch size. */
const SALESFORCE_DEFAULT_MAX_BATCH_SIZE = 10_000;

/** Settings of {@link createSalesforce}. Credentials: see {@link SalesforceAuthSettings}. */
export interface SalesforceSettings extends SalesforceAuthSettings {
  /** API version, such as `62.0` (v46+ needed for Collections upsert). Default `62.0`. */
  readonly apiVersion?: string;
  /**
   * The External ID field records are keyed by, such as `Lead_Key__c`: used
   * as the key of records read by `doListChanges` and webhooks (which carry
   * no `idProperty`). Upserts use the request's `idProperty`. Without it,
   * those records are keyed by their Salesforce Id.
   */
  readonly externalIdField?: string;
  /** Objects the adapter writes. Default `['Lead']`. */
  readonly objects?: readonly string[];
  /** From this many records, one `doUpsert` is one Bulk API 2.0 job instead of Collections calls. Default 2,000. */
  readonly bulkThreshold?: number;
  /**
   * Most records one `doUpsert` accepts (the sync engine's batch size).
   * Default 10,000: large enough for Bulk. Below `bulkThreshold`, a call
   * becomes Collections requests of 200 records.
   */
  readonly maxBatchSize?: number;
  /** Where in-flight Bulk jobs are remembered so a timed-out poll resumes. Default: in memory. */
  readonly jobStore?: SalesforceBulkJobStore;
  /** First wait between Bulk job polls, ms. Default 1,000. */
  readonly bulkPollIntervalMs?: number;
  /** Longest wait between Bulk job polls, ms. Default 10,000. */
  readonly bulkPollMaxIntervalMs?: number;
  /**
   * How long one `doUpsert` follows a Bulk job (from the start of the call: close, polls, result reads,
   * each repeated after a transient failure) before handing it to the next call, ms. Default 10 minutes.
   */
  readonly bulkPollTimeoutMs?: number;
  /** Requests in flight at once (long-running ones count against the org's cap of 25, 5 in Developer Edition). Default 4. */
  readonly maxConcurrentRequests?: number;
  /**
   * Adapter calls per second the engine's limiter allows. Salesforce has no
   * such limit; this ceiling only keeps the limiter from spreading the daily
   * allocation evenly over the day. Default 50.
   */
  readonly maxCallsPerSecond?: number;
  /**
   * Accepted and checked, but no longer used: the org's rolling 24-hour
   * allocation is read from Salesforce (`Sforce-Limit-Info`, `/limits`)
   * instead of counted by the engine's limiter, which cannot know when a
   * rolling window frees.
   *
   * @deprecated The allocation comes from the org; see the README's Limits section.
   */
  readonly dailyApiRequests?: number;
  /**
   * How long every call rejects at once, sending nothing, after a
   * `REQUEST_LIMIT_EXCEEDED` the org's usage confirms (its 24-hour
   * allocation is used up), ms. Default 15 minutes.
   */
  readonly quotaCooldownMs?: number;
  /**
   * How long the limiter waits before sending again after a
   * `REQUEST_LIMIT_EXCEEDED` the org's usage does not explain (the
   * concurrent long-running request cap, or a refusal while requests are
   * left), ms. Default 5,000.
   */
  readonly concurrencyBackoffMs?: number;
  /**
   * More synonyms for restricted picklists, by enriched value: the picklist
   * value (or values, first present wins) it stands for, such as
   * `{ 'Real Estate': 'Other' }`. Taken before the built-in table (see the
   * README); compared case-insensitively, `&` as `and`, punctuation ignored.
   */
  readonly picklistSynonyms?: Readonly<Record<string, string | readonly string[]>>;
  /**
   * Timeout of one HTTP request, ms. Default 120,000 (a Bulk upload can take a while). Token requests wait
   * at least 10 s: a rotated refresh token in an answer given up on would be lost.
   */
  readonly timeoutMs?: number;
  /** Records per SOQL page of `doListChanges` (200–2,000, a hint Salesforce may not follow). Default 2,000. */
  readonly queryBatchSize?: number;
  /** Org id (`00D…`) Outbound Messages must come from. Env `SALESFORCE_ORGANIZATION_ID`. */
  readonly organizationId?: string;
  /** Secret of HMAC-signed Apex/Flow callouts. Env `SALESFORCE_WEBHOOK_SECRET`. */
  readonly webhookSecret?: string;
  /** Largest webhook body read, in bytes; larger ones are refused before parsing. Default 1 MiB. */
  readonly webhookMaxBodyBytes?: number;
  /** The fetch implementation. Default the global `fetch`. */
  readonly fetch?: typeof globalThis.fetch;
  /** The clock, epoch ms (Bulk poll timeouts, quota cooldowns, webhook timestamps). Default `Date.now`. */
  readonly now?: () => number;
}

/** What {@link createSalesforce} returns: a `CrmAdapterV1` plus a few counters. */
export interface SalesforceAdapter extends CrmAdapterV1 {
  /** Upsert by External ID; see {@link createSalesforce}. */
  doUpsert(request: CrmUpsertRequest, options: CrmCallOptions): Promise<CrmUpsertResult[]>;
  /** Read by External ID through SOQL. */
  doGet(request: CrmGetRequest, options: CrmCallOptions): Promise<CrmRecordSnapshot[]>;
  /** Implemented: changes through SOQL on `SystemModstamp`. */
  doListChanges(request: CrmListChangesRequest, options: CrmCallOptions): Promise<CrmChangesPage>;
  /** Implemented: Outbound Messages and signed callouts. */
  doParseWebhook(request: InboundWebhookRequest): Promise<CrmEvent[]>;
  /** Counters of this adapter instance: REST requests, token requests, most requests in flight at once. */
  stats(): {
    /** HTTP requests sent to the instance (token requests excluded). */
    readonly requests: number;
    /** OAuth token requests sent (refreshes and JWT bearer grants). */
    readonly tokenRequests: number;
    /** Most requests to the instance in flight at the same time. */
    readonly peakConcurrency: number;
    /** `GET /limits` requests sent to check a `REQUEST_LIMIT_EXCEEDED` that came without usage figures. */
    readonly limitProbes: number;
  };
}

const positiveWholeNumber = z
  .number('must be a positive whole number')
  .int('must be a positive whole number')
  .min(1, 'must be a positive whole number')
  .optional();

/** The settings `createSalesforce` checks beyond credentials (those are checked at the first call). */
const settingsSchema = z
  .object({
    apiVersion: z
      .string('must be a string such as "62.0"')
      .refine(
        (version) => /^\d{2}\.0$/.test(version) && Number.parseInt(version, 10) >= 46,
        'must look like "62.0" and be 46.0 or later (Collections upsert)',
      )
      .optional(),
    externalIdField: z
      .string('must be a field API name such as Lead_Key__c')
      .regex(SALESFORCE_API_NAME, 'must be a field API name such as Lead_Key__c')
      .optional(),
    objects: z
      .array(
        z.string('must be an sObject API name').regex(SALESFORCE_API_NAME, 'must be an sObject API name'),
      )
      .optional(),
    queryBatchSize: z
      .number('must be between 200 and 2000')
      .min(200, 'must be between 200 and 2000')
      .max(2000, 'must be between 200 and 2000')
      .optional(),
    maxBatchSize: positiveWholeNumber,
    webhookMaxBodyBytes: positiveWholeNumber,
    bulkThreshold: positiveWholeNumber,
    maxConcurrentRequests: positiveWholeNumber,
    dailyApiRequests: positiveWholeNumber,
    bulkPollIntervalMs: positiveWholeNumber,
    bulkPollMaxIntervalMs: positiveWholeNumber,
    bulkPollTimeoutMs: positiveWholeNumber,
    quotaCooldownMs: positiveWholeNumber,
    concurrencyBackoffMs: positiveWholeNumber,
    maxCallsPerSecond: positiveWholeNumber,
    picklistSynonyms: z
      .record(
        z.string(),
        z.union([
          z.string('must map to a picklist value or a list of them'),
          z.array(z.string('must map to a picklist value or a list of them')),
        ]),
        'must be an object of enriched value → picklist value(s)',
      )
      .optional(),
  })
  .loose();

/**
 * Create the Salesforce CRM adapter: keyed upserts by External ID (sObject
 * Collections of 200 below `bulkThreshold`, one resumable Bulk API 2.0 job
 * at or above it), reads by key and incremental changes through SOQL,
 * Outbound Messages and signed callouts. Nothing is read or sent until the
 * first call; credentials fall back to `SALESFORCE_*` variables then.
 *
 * @example
 * ```ts
 * // Keep each rotated refresh token where the next run reads it (a secrets store, a file...).
 * const saveTokens = async (tokens: SalesforceTokens) => secrets.put('salesforce', tokens.refreshToken);
 * const salesforce = createSalesforce({
 *   refreshToken, clientId, clientSecret, externalIdField: 'Lead_Key__c',
 *   onTokens: saveTokens,
 * });
 * const crmSync = createCrmSync({ crms: [{ adapter: salesforce, mapping: leads }] });
 * ```
 *
 * @throws ConfigurationError `invalid_configuration` when a setting is out of range.
 */
export function createSalesforce(settings: SalesforceSettings = {}): SalesforceAdapter {
  parseOptions(settingsSchema, settings, { name: 'createSalesforce', providerId: SALESFORCE_PROVIDER_ID });
  const now = settings.now ?? Date.now;
  const maxBatchSize = settings.maxBatchSize ?? SALESFORCE_DEFAULT_MAX_BATCH_SIZE;
  const bulkThreshold = settings.bulkThreshold ?? SALESFORCE_DEFAULT_BULK_THRESHOLD;
  const maxConcurrentRequests = settings.maxConcurrentRequests ?? 4;
  const polling = {
    intervalMs: settings.bulkPollIntervalMs ?? 1000,
    maxIntervalMs: settings.bulkPollMaxIntervalMs ?? 10_000,
    timeoutMs: settings.bulkPollTimeoutMs ?? 600_000,
  };
  const objects = settings.objects ?? ['Lead'];
  const jobStore = settings.jobStore ?? createMemoryBulkJobStore();
  const auth = new SalesforceAuth(settings, settings.fetch, settings.timeoutMs);
  const api = new SalesforceApi({
    auth,
    apiVersion: settings.apiVersion ?? SALESFORCE_DEFAULT_API_VERSION,
    fetch: settings.fetch,
    timeoutMs: settings.timeoutMs ?? 120_000,
    maxConcurrentRequests,
    waits: {
      quotaCooldownMs: settings.quotaCooldownMs ?? 15 * 60_000,
      concurrencyBackoffMs: settings.concurrencyBackoffMs ?? 5000,
    },
    now,
  });
  const descriptions = createDescriptions(api);
  const synonyms = buildPicklistSynonyms(settings.picklistSynonyms);
  // No day window: Salesforce's allocation is a rolling 24 hours with no reset time, so a limiter told
  // "0 left" would wait a whole day while records stay unfinished. The org's own answer decides
  // instead (Sforce-Limit-Info, /limits): see SalesforceApi. The per-second ceiling only bounds bursts.
  const rateLimits: RateLimitPolicy = {
    perSecond: settings.maxCallsPerSecond ?? 50,
    maxConcurrent: maxConcurrentRequests,
  };

  let limiterKey: string | undefined;
  /** A hash of where the session comes from (never a secret), computed at first use so env fallbacks apply. */
  const computeLimiterKey = (): string => {
    const env = typeof process === 'undefined' ? {} : process.env;
    const basis = [
      settings.instanceUrl ?? env.SALESFORCE_INSTANCE_URL ?? '',
      settings.loginUrl ?? env.SALESFORCE_LOGIN_URL ?? '',
      settings.jwt?.clientId ?? settings.clientId ?? env.SALESFORCE_CLIENT_ID ?? '',
      settings.jwt?.username ?? env.SALESFORCE_USERNAME ?? '',
    ].join('|');
    return basis === '|||'
      ? 'default'
      : `org-${createHash('sha256').update(basis).digest('hex').slice(0, 12)}`;
  };

  const defined = defineCrmAdapter({
    id: SALESFORCE_PROVIDER_ID,
    objects,
    maxBatchSize,
    bulkThreshold,
    rateLimits,
    propertyName: { pattern: SALESFORCE_API_NAME, description: 'a field API name such as Lead_Key__c' },
    limiterKey: () => {
      limiterKey ??= computeLimiterKey();
      return limiterKey;
    },
    upsert: (request, options) =>
      upsertRecords({ api, descriptions, jobStore, polling, bulkThreshold, now, synonyms }, request, options),
    get: (request, options) => readByKeys(api, descriptions, request, options),
    changes: {
      cursor: salesforceCursorCodec,
      list: (request: CheckedListChangesRequest<SalesforceChangesCursor>, options: CrmCallOptions) =>
        listChanges(
          { api, keyField: settings.externalIdField, queryBatchSize: settings.queryBatchSize ?? 2000 },
          request,
          options,
        ),
    },
    parseWebhook: (request: InboundWebhookRequest) => {
      const options: ParseSalesforceWebhookOptions = {
        ...(settings.organizationId === undefined ? {} : { organizationId: settings.organizationId }),
        ...(settings.webhookSecret === undefined ? {} : { webhookSecret: settings.webhookSecret }),
        ...(settings.webhookMaxBodyBytes === undefined ? {} : { maxBodyBytes: settings.webhookMaxBodyBytes }),
        now,
      };
      return parseSalesforceWebhook(request, options);
    },
  });

  return {
    ...defined,
    stats: () => ({
      requests: api.requests,
      tokenRequests: auth.tokenRequests,
      peakConcurrency: api.peakConcurrency,
      limitProbes: api.limitProbes,
    }),
  };
}

/**
 * The default adapter, configured from `SALESFORCE_*` environment variables
 * (read at its first call, not at import): `SALESFORCE_REFRESH_TOKEN` +
 * `SALESFORCE_CLIENT_ID` (+ `SALESFORCE_CLIENT_SECRET`), or
 * `SALESFORCE_PRIVATE_KEY` + `SALESFORCE_USERNAME` + `SALESFORCE_CLIENT_ID`,
 * or `SALESFORCE_ACCESS_TOKEN` + `SALESFORCE_INSTANCE_URL`.
 */
export const salesforce: SalesforceAdapter = createSalesforce();

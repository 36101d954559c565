import {
  type CallSchedulerSource,
  type CheckedListChangesRequest,
  type CrmAdapterV1,
  type CrmCallOptions,
  type CrmChangesPage,
  type CrmEvent,
  type CrmEventDeduper,
  type CrmGetRequest,
  type CrmListChangesRequest,
  type CrmRecordSnapshot,
  type CrmUpsertRequest,
  type CrmUpsertResult,
  defineCrmAdapter,
  type InboundWebhookRequest,
  loadApiKey,
} from '@leadpipe/core/adapter-kit';
import { associateWithCompanies, type HubspotCompanyAssociationSettings } from './hubspot-associations.js';
import type { HubspotOAuthSettings } from './hubspot-auth.js';
import { type ChangesCursor, changesCursorCodec } from './hubspot-changes.js';
import { createHubspotClient } from './hubspot-client.js';
import {
  createDailyReset,
  type HubspotRateLimits,
  type HubspotTier,
  hubspotRateLimitPolicy,
} from './hubspot-limits.js';
import {
  createHubspotProperties,
  HUBSPOT_OBJECTS,
  HUBSPOT_PROPERTY_NAME,
  type HubspotProperty,
} from './hubspot-properties.js';
import { HUBSPOT_MAX_CHANGES_LIMIT, listChanges, readByKeys } from './hubspot-reads.js';
import { checkHubspotSettings } from './hubspot-settings.js';
import { upsertBatch } from './hubspot-upsert.js';
import { parseHubspotWebhook } from './hubspot-webhooks.js';

export type { HubspotCompanyAssociationSettings } from './hubspot-associations.js';
export type { HubspotProperty } from './hubspot-properties.js';

/** Most inputs of one CRM object batch call. */
const HUBSPOT_MAX_BATCH_SIZE = 100;

/** Settings of {@link createHubspot}. */
export interface HubspotSettings {
  /**
   * Private-app access token, sent as `Authorization: Bearer`. Default: the
   * `HUBSPOT_ACCESS_TOKEN` environment variable, read at call time. Ignored
   * when `oauth` is given.
   */
  readonly accessToken?: string;
  /** OAuth instead of a private-app token: access tokens refreshed with a single-flight refresh. */
  readonly oauth?: HubspotOAuthSettings;
  /** Base URL. Default `https://api.hubapi.com`. */
  readonly baseUrl?: string;
  /** Adapter id, for limits, reports and dead letters. Default `hubspot`. */
  readonly adapterId?: string;
  /** The account's subscription tier, which sets the default limits. Default `free`. */
  readonly tier?: HubspotTier;
  /** Limits overriding the tier's (API limit increase, or a shortened clock for tests). */
  readonly rateLimits?: HubspotRateLimits;
  /** IANA time zone of the account, for the daily limit's reset at midnight. Default `UTC`. */
  readonly accountTimeZone?: string;
  /**
   * Associate each upserted contact with the existing company whose
   * `domain` matches (one search and one association call per batch, so
   * the declared 10-second limit is divided by 3). Companies are never
   * created. Off by default.
   */
  readonly associateCompanies?: boolean | HubspotCompanyAssociationSettings;
  /**
   * Property whose value is a changed record's `key` in `doListChanges`,
   * per object. Default `email` for contacts, else `hs_object_id`.
   */
  readonly changesKeyProperty?: Readonly<Record<string, string>>;
  /**
   * The app's client secret, which webhooks are signed with. Default
   * `oauth.clientSecret`, else the `HUBSPOT_CLIENT_SECRET` environment variable.
   */
  readonly webhookSecret?: string;
  /** The public URL HubSpot posts webhooks to. Default: the request's URL, which must be absolute. */
  readonly webhookUrl?: string;
  /** How old a webhook may be, ms. Default 300 000 (HubSpot's 5 minutes). */
  readonly webhookToleranceMs?: number;
  /** Largest webhook body read, in bytes; larger ones are refused before hashing or parsing. Default 1 MiB. */
  readonly webhookMaxBodyBytes?: number;
  /** Drops webhook events already seen in earlier deliveries (share one across processes). */
  readonly webhookDeduper?: CrmEventDeduper;
  /** The fetch implementation. Default the global `fetch`. */
  readonly fetch?: typeof globalThis.fetch;
  /** Time allowed per request, ms. Default 30 000. */
  readonly timeoutMs?: number;
  /** Keep failed responses' bodies (scrubbed, truncated) on errors. Default false: they can hold lead data. */
  readonly captureResponseBody?: boolean;
  /** Clock, epoch ms: token expiry, the daily reset, webhook freshness. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * Where the adapter's search pacing (5 per second) comes from: pass core's
   * `createLimiterRegistry({ connection })` (Redis) to share it across
   * processes. Default: a pacer of the adapter's own, stopped by `close()`.
   */
  readonly limiterRegistry?: CallSchedulerSource;
}

/** The HubSpot CRM adapter: the v1 contract plus property discovery. */
export interface HubspotAdapter extends CrmAdapterV1 {
  /** Upsert up to 100 records by `idProperty`; one result per record, in the order given. */
  doUpsert(request: CrmUpsertRequest, options: CrmCallOptions): Promise<CrmUpsertResult[]>;
  /** Read up to 100 records by `idProperty`; keys with no record are left out. */
  doGet(request: CrmGetRequest, options: CrmCallOptions): Promise<CrmRecordSnapshot[]>;
  /** Always present: HubSpot pushes change events. */
  doListChanges(request: CrmListChangesRequest, options: CrmCallOptions): Promise<CrmChangesPage>;
  /** Verify (v3 signature, 5-minute window) and parse a webhook delivery. */
  doParseWebhook(request: InboundWebhookRequest): Promise<CrmEvent[]>;
  /**
   * Every property of an object (custom ones included), through the
   * Properties API. Cached for the adapter's life; `refresh` reads again.
   */
  properties(
    object: string,
    options?: { readonly refresh?: boolean; readonly signal?: AbortSignal },
  ): Promise<HubspotProperty[]>;
  /**
   * Check that `idProperty` can key upserts of `object`: contact `email`,
   * or a property with `hasUniqueValue`. `doUpsert` checks it once per
   * object and property before the first write.
   *
   * @throws ConfigurationError naming `idProperty` when it cannot.
   */
  checkIdProperty(
    object: string,
    idProperty: string,
    options?: { readonly signal?: AbortSignal },
  ): Promise<void>;
  /** Epoch ms until which the daily limit is used up, if a DAILY 429 said so. */
  dailyLimitResetsAt(): number | undefined;
  /** Stop the adapter's own limiter registry (not one passed in). */
  close(): Promise<void>;
}

/**
 * Create the HubSpot CRM adapter: keyed batch upserts of contacts (or
 * companies) by email or any `hasUniqueValue` property, 100 per call, with
 * 200 and 207 answers read record by record; batch reads; incremental
 * changes through search on the last-modified date, one time window per
 * query so none reaches the 10 000-result cap; v3-signed webhooks.
 *
 * Limits: `capabilities.rateLimits` declares the tier's 10-second window and
 * daily budget for the sync engine's limiter; `X-HubSpot-RateLimit-*`
 * headers correct it. A DAILY 429 becomes a non-retryable `quota_exceeded`
 * and the adapter refuses further calls until midnight in the account's
 * time zone. Search calls also pass the adapter's own 5-per-second limiter.
 *
 * @example
 * ```ts
 * const hubspot = createHubspot({ tier: 'professional' }); // token from HUBSPOT_ACCESS_TOKEN
 * const crmSync = createCrmSync({ crms: [{ adapter: hubspot, mapping: contacts }] });
 * ```
 * @throws ConfigurationError `invalid_configuration` naming every invalid setting and why (an unknown
 * setting too); `missing_credentials` when an OAuth credential is missing.
 */
export function createHubspot(settings: HubspotSettings = {}): HubspotAdapter {
  const { adapterId, baseUrl, limits, accountTimeZone, webhookToleranceMs, webhookMaxBodyBytes } =
    checkHubspotSettings(settings);
  const now = settings.now ?? Date.now;
  const dailyResetAt = createDailyReset(accountTimeZone);
  const associate = settings.associateCompanies ?? false;
  const domainOf = associate === false || associate === true ? undefined : associate.domain;
  const callsPerOperation = associate === false ? 1 : 3;

  const client = createHubspotClient({
    adapterId,
    baseUrl,
    accessToken: settings.accessToken,
    oauth: settings.oauth,
    fetch: settings.fetch,
    timeoutMs: settings.timeoutMs,
    captureResponseBody: settings.captureResponseBody,
    now,
    limits,
    dailyResetAt,
    callsPerOperation,
    searchSchedulers: settings.limiterRegistry,
  });
  const { properties, checkIdProperty } = createHubspotProperties(client, adapterId);

  function webhookSecret(): string {
    const secret = settings.webhookSecret ?? settings.oauth?.clientSecret;
    return loadApiKey({
      apiKey: secret,
      environmentVariableName: 'HUBSPOT_CLIENT_SECRET',
      optionName: 'webhookSecret',
      description: 'HubSpot app client secret (for webhook signatures)',
      providerId: adapterId,
    });
  }

  const defined = defineCrmAdapter({
    id: adapterId,
    objects: HUBSPOT_OBJECTS,
    maxBatchSize: HUBSPOT_MAX_BATCH_SIZE,
    rateLimits: hubspotRateLimitPolicy(limits, callsPerOperation),
    propertyName: { pattern: HUBSPOT_PROPERTY_NAME, description: 'a HubSpot property name' },
    limiterKey: () => client.limiterKey(),
    async upsert(request, callOptions) {
      client.checkDaily();
      await checkIdProperty(request.object, request.idProperty, { signal: callOptions.signal });
      const { results, written } = await upsertBatch(client, request, callOptions, adapterId);
      if (associate !== false && request.object === 'contacts' && written.length > 0) {
        const contacts = written.map(({ index, id }) => ({ record: request.records[index]!, id }));
        await associateWithCompanies(client, contacts, request.idProperty, domainOf, callOptions);
      }
      return results;
    },
    get: (request, callOptions) => readByKeys(client, request, callOptions),
    changes: {
      cursor: changesCursorCodec(adapterId),
      maxLimit: HUBSPOT_MAX_CHANGES_LIMIT,
      list: (request: CheckedListChangesRequest<ChangesCursor>, callOptions: CrmCallOptions) =>
        listChanges(client, request, callOptions, settings.changesKeyProperty),
    },
    parseWebhook: (request: InboundWebhookRequest) =>
      parseHubspotWebhook(request, {
        clientSecret: webhookSecret(),
        ...(settings.webhookUrl === undefined ? {} : { webhookUrl: settings.webhookUrl }),
        now,
        toleranceMs: webhookToleranceMs,
        maxBodyBytes: webhookMaxBodyBytes,
        providerId: adapterId,
        ...(settings.webhookDeduper === undefined ? {} : { deduper: settings.webhookDeduper }),
      }),
  });

  return {
    ...defined,
    properties,
    checkIdProperty,
    dailyLimitResetsAt: () => client.dailyLimitResetsAt(),
    async close() {
      client.close();
    },
  };
}

/** A HubSpot adapter with default settings: a private-app token from `HUBSPOT_ACCESS_TOKEN`, Free-tier limits. */
export const hubspot: HubspotAdapter = createHubspot();

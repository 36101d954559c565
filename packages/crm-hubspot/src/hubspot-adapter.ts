import {
  ApiCallError,
  ConfigurationError,
  type CrmAdapterV1,
  type CrmCallOptions,
  type CrmCapabilities,
  type CrmChangesPage,
  type CrmEvent,
  type CrmEventDeduper,
  type CrmGetRequest,
  type CrmListChangesRequest,
  type CrmPropertyValue,
  type CrmRecord,
  type CrmRecordError,
  type CrmRecordErrorCode,
  type CrmRecordSnapshot,
  type CrmUpsertRequest,
  type CrmUpsertResult,
  createHttpClient,
  createLimiterRegistry,
  domainFromEmail,
  type HttpClient,
  type HttpClientResponse,
  type HttpRequestOptions,
  type InboundWebhookRequest,
  isFreeMailDomain,
  type LimiterRegistry,
  loadApiKey,
  type ProviderLimiter,
  type RateLimitState,
  redactSecrets,
  redactValue,
  ValidationError,
  type ValidationIssue,
} from '@leadpipe/core';
import { z } from 'zod';
import {
  type HubspotOAuthSettings,
  type HubspotTokenSource,
  oauthTokenSource,
  privateAppTokenSource,
} from './hubspot-auth.js';
import {
  type ChangesCursor,
  changesSearchBody,
  decodeChangesCursor,
  encodeChangesCursor,
  nextChangesPage,
  parseHubspotTime,
} from './hubspot-changes.js';
import {
  createDailyReset,
  type HubspotRateLimits,
  type HubspotTier,
  hubspotRateLimitHeaders,
  hubspotRateLimitPolicy,
  mapHubspotError,
  type ResolvedHubspotLimits,
  resolveHubspotLimits,
  scaleRateLimitState,
} from './hubspot-limits.js';
import {
  batchResponseSchema,
  type HubspotBatchError,
  propertiesResponseSchema,
  searchResponseSchema,
} from './hubspot-schemas.js';
import { parseHubspotWebhook } from './hubspot-webhooks.js';

/** HubSpot's API base URL. */
export const HUBSPOT_BASE_URL = 'https://api.hubapi.com';

/** Most inputs of one CRM object batch call. */
export const HUBSPOT_MAX_BATCH_SIZE = 100;

/** Objects the adapter writes and reads. */
export const HUBSPOT_OBJECTS: readonly string[] = ['contacts', 'companies'];

/** Contact-to-company association by the company's domain; see {@link HubspotSettings.associateCompanies}. */
export interface HubspotCompanyAssociationSettings {
  /**
   * The company domain of a record. Default: the domain of the key when
   * upserting contacts by `email`, unless it is a free-mail domain.
   */
  readonly domain?: (record: CrmRecord) => string | undefined;
}

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
  /** Base URL. Default {@link HUBSPOT_BASE_URL}. */
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
   * The registry the adapter's own search limiter (5 per second) lives in;
   * pass one with a Redis `connection` to share it across processes.
   * Default: a registry of the adapter's own, closed by `close()`.
   */
  readonly limiterRegistry?: LimiterRegistry;
}

/** A property definition, as discovered through the Properties API. */
export interface HubspotProperty {
  /** Internal name, such as `email` or `external_id`. */
  readonly name: string;
  /** Label shown in HubSpot. */
  readonly label: string;
  /** Value type: `string`, `number`, `date`, `datetime`, `enumeration`, `bool`. */
  readonly type: string;
  /** UI field type. */
  readonly fieldType: string;
  /** Whether values are unique (such a property can be an upsert `idProperty`). */
  readonly hasUniqueValue: boolean;
  /** Whether HubSpot defined it (otherwise it is a custom property). */
  readonly hubspotDefined: boolean;
  /** Allowed values of an enumeration. */
  readonly options: readonly string[];
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

const PERMANENT_CATEGORIES: Readonly<Record<string, CrmRecordErrorCode>> = {
  VALIDATION_ERROR: 'validation_failed',
  INVALID_EMAIL: 'validation_failed',
  PROPERTY_DOESNT_EXIST: 'validation_failed',
  CONFLICT: 'duplicate_key',
  OBJECT_ALREADY_EXISTS: 'duplicate_key',
  OBJECT_NOT_FOUND: 'not_found',
  BAD_REQUEST: 'invalid_request',
  INVALID_AUTHENTICATION: 'unauthorized',
  MISSING_SCOPES: 'forbidden',
};

function recordErrorOf(error: HubspotBatchError, providerId: string): CrmRecordError {
  const category = error.category ?? 'UNKNOWN';
  const permanent = PERMANENT_CATEGORIES[category];
  const code: CrmRecordErrorCode =
    permanent ?? (category === 'RATE_LIMITS' ? 'rate_limited' : 'server_error');
  return {
    code,
    message: redactSecrets(`${providerId}: ${error.message ?? `HubSpot reported ${category}`}`).slice(
      0,
      1000,
    ),
    retryable: permanent === undefined,
    vendorCode: category,
    raw: redactValue(error),
  };
}

function stringValue(value: CrmPropertyValue): string {
  return typeof value === 'string' ? value : String(value);
}

function isAbsoluteHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

const propertyNameSchema = z.string().regex(/^[A-Za-z0-9_]+$/);

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
 * @throws ConfigurationError naming the setting when a setting is invalid.
 */
export function createHubspot(settings: HubspotSettings = {}): HubspotAdapter {
  const adapterId = settings.adapterId ?? 'hubspot';
  if (typeof adapterId !== 'string' || !/^[a-z0-9][a-z0-9._-]*$/i.test(adapterId)) {
    throw new ConfigurationError('invalid_configuration', {
      message: 'adapterId: must be letters, digits, ".", "_" or "-"',
    });
  }
  const baseUrl = (settings.baseUrl ?? HUBSPOT_BASE_URL).replace(/\/+$/, '');
  if (!isAbsoluteHttpUrl(baseUrl)) {
    throw new ConfigurationError('invalid_configuration', {
      message: 'baseUrl: must be an absolute http:// or https:// URL',
      providerId: adapterId,
    });
  }
  const now = settings.now ?? Date.now;
  const limits: ResolvedHubspotLimits = resolveHubspotLimits(settings.tier, settings.rateLimits, adapterId);
  const dailyResetAt = createDailyReset(settings.accountTimeZone ?? 'UTC', adapterId);
  const associate = settings.associateCompanies ?? false;
  const domainOf: HubspotCompanyAssociationSettings['domain'] | undefined =
    associate === false ? undefined : associate === true ? undefined : associate.domain;
  const callsPerOperation = associate === false ? 1 : 3;
  const webhookTolerance = settings.webhookToleranceMs ?? 300_000;
  if (!(Number.isFinite(webhookTolerance) && webhookTolerance > 0)) {
    throw new ConfigurationError('invalid_configuration', {
      message: 'webhookToleranceMs: must be a positive number of ms',
      providerId: adapterId,
    });
  }
  let dailyBlockedUntil: number | undefined;

  const http: HttpClient = createHttpClient({
    providerId: adapterId,
    baseUrl,
    fetch: settings.fetch,
    timeoutMs: settings.timeoutMs,
    captureResponseBody: settings.captureResponseBody,
    rateLimitHeaders: hubspotRateLimitHeaders,
    mapError: (info) =>
      mapHubspotError(info, {
        now,
        dailyResetAt,
        searchWindowMs: limits.searchWindowMs,
        onDailyLimit: (resetAt) => {
          dailyBlockedUntil = Math.max(dailyBlockedUntil ?? 0, resetAt);
        },
      }),
  });
  const tokens: HubspotTokenSource =
    settings.oauth === undefined
      ? privateAppTokenSource(settings.accessToken, adapterId)
      : oauthTokenSource(settings.oauth, http, now, adapterId);

  const ownRegistry = settings.limiterRegistry === undefined;
  let registry: LimiterRegistry | undefined = settings.limiterRegistry;
  let searchLimiter: ProviderLimiter | undefined;
  const searchLimiterOf = (): ProviderLimiter => {
    // A wider margin than the default: HubSpot counts searches in a rolling second, where network jitter eats a thin one.
    registry ??= createLimiterRegistry({ maxRateLimitRetries: 0, safetyMargin: 0.1 });
    searchLimiter ??= registry.get(`${adapterId}:search`, tokens.limiterKey(), {
      windows: [{ name: 'search', limit: limits.searchPerSecond, intervalMs: limits.searchWindowMs }],
    });
    return searchLimiter;
  };

  const propertyCache = new Map<string, Promise<HubspotProperty[]>>();
  const idPropertyChecks = new Map<string, Promise<void>>();

  function checkObject(object: unknown, field = 'object'): asserts object is string {
    if (typeof object !== 'string' || !HUBSPOT_OBJECTS.includes(object)) {
      throw new ValidationError(
        [{ field, reason: `must be one of ${HUBSPOT_OBJECTS.join(', ')}, got ${JSON.stringify(object)}` }],
        { providerId: adapterId },
      );
    }
  }

  function checkDaily(): void {
    if (dailyBlockedUntil === undefined) return;
    const at = now();
    if (at >= dailyBlockedUntil) {
      dailyBlockedUntil = undefined;
      return;
    }
    throw new ApiCallError('quota_exceeded', {
      message: `${adapterId}: the daily API limit is used up until ${new Date(dailyBlockedUntil).toISOString()}; no call is made before then`,
      providerId: adapterId,
      vendorCode: 'DAILY',
      retryAfterMs: dailyBlockedUntil - at,
      isRetryable: false,
    });
  }

  /** One authenticated call: a fresh token, one retry with a new token after a 401 (OAuth). */
  async function call<T>(
    request: HttpRequestOptions<T>,
    callOptions: CrmCallOptions,
    kind: 'write' | 'search' = 'write',
  ): Promise<HttpClientResponse<T>> {
    checkDaily();
    const signal = callOptions.signal;
    const onRateLimit = callOptions.onRateLimit;
    const forward = (state: RateLimitState): void => {
      const day = state.windows.find((window) => window.name === 'day');
      // The daily budget is the adapter's: spent, it refuses later calls until the reset (as after a
      // DAILY 429) with quota_exceeded. Reported to a limiter, it would queue them for hours instead.
      if (day?.remaining === 0) dailyBlockedUntil = Math.max(dailyBlockedUntil ?? 0, dailyResetAt(now()));
      const windows = state.windows.filter((window) => window !== day);
      if (onRateLimit !== undefined && (windows.length > 0 || state.retryAfterMs !== undefined)) {
        onRateLimit(scaleRateLimitState({ ...state, windows }, callsPerOperation));
      }
    };
    const run = async (): Promise<HttpClientResponse<T>> => {
      for (let attempt = 0; ; attempt += 1) {
        const token = await tokens.token(signal);
        try {
          return await http.request({
            ...request,
            signal,
            headers: { ...request.headers, authorization: `Bearer ${token}` },
            onRateLimit: forward,
          });
        } catch (error) {
          if (
            attempt === 0 &&
            tokens.oauth &&
            ApiCallError.isInstance(error) &&
            error.code === 'unauthorized' &&
            tokens.invalidate(token)
          ) {
            continue;
          }
          throw error;
        }
      }
    };
    return kind === 'search' ? searchLimiterOf().schedule(run, { signal }) : run();
  }

  async function properties(
    object: string,
    options: { readonly refresh?: boolean; readonly signal?: AbortSignal } = {},
  ): Promise<HubspotProperty[]> {
    checkObject(object);
    const cached = propertyCache.get(object);
    if (cached !== undefined && options.refresh !== true) return cached;
    const loading = call(
      { method: 'GET', path: `/crm/v3/properties/${object}`, schema: propertiesResponseSchema },
      { signal: options.signal },
    ).then((response) =>
      response.data.results.map((definition) => ({
        name: definition.name,
        label: definition.label,
        type: definition.type,
        fieldType: definition.fieldType,
        hasUniqueValue: definition.hasUniqueValue,
        hubspotDefined: definition.hubspotDefined,
        options: definition.options.map((option) => option.value),
      })),
    );
    propertyCache.set(object, loading);
    loading.catch(() => {
      if (propertyCache.get(object) === loading) propertyCache.delete(object);
    });
    return loading;
  }

  async function checkIdProperty(
    object: string,
    idProperty: string,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<void> {
    checkObject(object);
    if (typeof idProperty !== 'string' || !propertyNameSchema.safeParse(idProperty).success) {
      throw new ValidationError([{ field: 'idProperty', reason: 'must be a HubSpot property name' }], {
        providerId: adapterId,
      });
    }
    if (idProperty === 'hs_object_id') {
      throw new ConfigurationError('invalid_configuration', {
        message: `idProperty: hs_object_id cannot create records; upsert ${object} by email or by a property with hasUniqueValue`,
        providerId: adapterId,
      });
    }
    // HubSpot enforces unique contact emails itself, though the Properties API reports hasUniqueValue false.
    if (object === 'contacts' && idProperty === 'email') return;
    const key = `${object}\u0000${idProperty}`;
    let check = idPropertyChecks.get(key);
    if (check === undefined) {
      check = (async () => {
        const list = await properties(object, { refresh: true, signal: options.signal });
        const definition = list.find((item) => item.name === idProperty);
        if (definition === undefined) {
          throw new ConfigurationError('invalid_configuration', {
            message: `idProperty: "${idProperty}" is not a property of HubSpot ${object}; create it with hasUniqueValue: true`,
            providerId: adapterId,
          });
        }
        if (!definition.hasUniqueValue) {
          throw new ConfigurationError('invalid_configuration', {
            message: `idProperty: "${idProperty}" of HubSpot ${object} does not have hasUniqueValue; HubSpot upserts only by a unique property ("Unable to perform update/upsert by non-unique property")`,
            providerId: adapterId,
          });
        }
      })();
      idPropertyChecks.set(key, check);
      const pending = check;
      // A check that failed for a transient reason (network, 5xx) is tried again next time.
      pending.catch((error: unknown) => {
        if (!ConfigurationError.isInstance(error) && idPropertyChecks.get(key) === pending) {
          idPropertyChecks.delete(key);
        }
      });
    }
    return check;
  }

  function checkRecords(records: unknown, field: string): void {
    if (!Array.isArray(records)) {
      throw new ValidationError([{ field, reason: 'must be an array' }], { providerId: adapterId });
    }
    if (records.length > HUBSPOT_MAX_BATCH_SIZE) {
      throw new ValidationError(
        [
          {
            field,
            reason: `HubSpot takes at most ${HUBSPOT_MAX_BATCH_SIZE} per call, got ${records.length}`,
          },
        ],
        { providerId: adapterId },
      );
    }
  }

  const normalizeKey = (idProperty: string, key: string): string =>
    idProperty === 'email' ? key.trim().toLowerCase() : key;

  async function associateWithCompanies(
    written: readonly { record: CrmRecord; id: string }[],
    idProperty: string,
    callOptions: CrmCallOptions,
  ): Promise<void> {
    const byDomain = new Map<string, string[]>();
    for (const { record, id } of written) {
      let domain: string | undefined;
      if (domainOf !== undefined) domain = domainOf(record);
      else if (idProperty === 'email') {
        const fromEmail = domainFromEmail(record.key);
        domain = fromEmail !== undefined && !isFreeMailDomain(fromEmail) ? fromEmail : undefined;
      }
      const normalized = domain
        ?.trim()
        .toLowerCase()
        .replace(/^www\./, '');
      if (normalized === undefined || normalized === '') continue;
      byDomain.set(normalized, [...(byDomain.get(normalized) ?? []), id]);
    }
    if (byDomain.size === 0) return;
    const companyOf = new Map<string, string>();
    let after: string | undefined;
    do {
      const response = await call(
        {
          method: 'POST',
          path: '/crm/v3/objects/companies/search',
          json: {
            filterGroups: [
              { filters: [{ propertyName: 'domain', operator: 'IN', values: [...byDomain.keys()] }] },
            ],
            sorts: [{ propertyName: 'hs_object_id', direction: 'ASCENDING' }],
            properties: ['domain'],
            limit: 200,
            ...(after === undefined ? {} : { after }),
          },
          schema: searchResponseSchema,
        },
        callOptions,
        'search',
      );
      for (const company of response.data.results) {
        const value = company.properties?.domain;
        const domain =
          typeof value === 'string'
            ? value
                .trim()
                .toLowerCase()
                .replace(/^www\./, '')
            : undefined;
        // The oldest company with the domain wins, as HubSpot's own auto-association does.
        if (domain !== undefined && !companyOf.has(domain)) companyOf.set(domain, company.id);
      }
      after = response.data.paging?.next?.after;
    } while (after !== undefined && companyOf.size < byDomain.size);
    const inputs = [...byDomain].flatMap(([domain, contactIds]) => {
      const companyId = companyOf.get(domain);
      return companyId === undefined ? [] : contactIds.map((id) => ({ from: { id }, to: { id: companyId } }));
    });
    if (inputs.length === 0) return;
    await call(
      {
        method: 'POST',
        path: '/crm/v4/associations/contacts/companies/batch/associate/default',
        json: { inputs },
        acceptStatus: [207],
      },
      callOptions,
    );
  }

  async function doUpsert(
    request: CrmUpsertRequest,
    callOptions: CrmCallOptions,
  ): Promise<CrmUpsertResult[]> {
    checkObject(request?.object, 'object');
    checkRecords(request.records, 'records');
    const { object, idProperty, records } = request;
    const issues: ValidationIssue[] = [];
    records.forEach((record, index) => {
      if (typeof record?.key !== 'string' || record.key.trim() === '') {
        issues.push({ field: `records[${index}].key`, reason: 'must be a non-empty string' });
      }
      if (typeof record?.properties !== 'object' || record.properties === null) {
        issues.push({ field: `records[${index}].properties`, reason: 'must be an object' });
      }
    });
    if (issues.length > 0) throw new ValidationError(issues, { providerId: adapterId });
    if (records.length === 0) return [];
    checkDaily();
    await checkIdProperty(object, idProperty, { signal: callOptions.signal });

    const results = new Map<number, CrmUpsertResult>();
    const firstIndexOf = new Map<string, number>();
    const sendIndexes: number[] = [];
    records.forEach((record, index) => {
      const normalized = normalizeKey(idProperty, record.key);
      const first = firstIndexOf.get(normalized);
      if (first !== undefined) {
        results.set(index, {
          key: record.key,
          status: 'failed',
          error: {
            code: 'duplicate_key',
            message: `${adapterId}: the key appears twice in one batch (as records[${first}] too); HubSpot rejects such batches`,
            retryable: false,
          },
        });
        return;
      }
      firstIndexOf.set(normalized, index);
      sendIndexes.push(index);
    });

    const inputs = sendIndexes.map((index) => {
      const record = records[index]!;
      const properties: Record<string, string> = {};
      for (const [name, value] of Object.entries(record.properties)) {
        if (value !== undefined && value !== null) properties[name] = stringValue(value);
      }
      properties[idProperty] = record.key;
      return { id: record.key, idProperty, properties, objectWriteTraceId: String(index) };
    });
    const response = await call(
      {
        method: 'POST',
        path: `/crm/v3/objects/${object}/batch/upsert`,
        json: { inputs },
        acceptStatus: [207],
        schema: batchResponseSchema,
      },
      callOptions,
    );

    const byKey = new Map<string, number>();
    for (const index of sendIndexes) byKey.set(normalizeKey(idProperty, records[index]!.key), index);
    const indexOfTrace = (trace: string | undefined): number | undefined => {
      if (trace === undefined || !/^\d+$/.test(trace)) return undefined;
      const index = Number(trace);
      return sendIndexes.includes(index) ? index : undefined;
    };
    const written: { record: CrmRecord; id: string }[] = [];
    for (const result of response.data.results) {
      const keyValue = result.properties?.[idProperty];
      const index =
        indexOfTrace(result.objectWriteTraceId) ??
        (typeof keyValue === 'string' ? byKey.get(normalizeKey(idProperty, keyValue)) : undefined);
      if (index === undefined || results.has(index)) continue;
      const record = records[index]!;
      results.set(index, {
        key: record.key,
        status: result.new === true ? 'created' : 'updated',
        id: result.id,
      });
      written.push({ record, id: result.id });
    }
    const unassigned: HubspotBatchError[] = [];
    for (const error of response.data.errors) {
      const targets = new Set<number>();
      for (const trace of error.context?.objectWriteTraceId ?? []) {
        const index = indexOfTrace(trace);
        if (index !== undefined) targets.add(index);
      }
      if (targets.size === 0) {
        for (const id of error.context?.ids ?? []) {
          const index = byKey.get(normalizeKey(idProperty, id));
          if (index !== undefined) targets.add(index);
        }
      }
      if (targets.size === 0) unassigned.push(error);
      for (const index of targets) {
        if (results.has(index)) continue;
        results.set(index, {
          key: records[index]!.key,
          status: 'failed',
          error: recordErrorOf(error, adapterId),
        });
      }
    }
    for (const index of sendIndexes) {
      if (results.has(index)) continue;
      const first = unassigned[0];
      const error: CrmRecordError =
        first === undefined
          ? {
              code: 'missing_result',
              message: `${adapterId}: HubSpot returned neither a result nor an error for this record`,
              retryable: true,
            }
          : {
              // HubSpot did not say which record the error was about: sending this one again is safe (keyed upsert).
              ...recordErrorOf(first, adapterId),
              retryable: true,
            };
      results.set(index, { key: records[index]!.key, status: 'failed', error });
    }
    if (associate !== false && object === 'contacts' && written.length > 0) {
      await associateWithCompanies(written, idProperty, callOptions);
    }
    return records.map((_record, index) => results.get(index)!);
  }

  async function doGet(request: CrmGetRequest, callOptions: CrmCallOptions): Promise<CrmRecordSnapshot[]> {
    checkObject(request?.object, 'object');
    checkRecords(request.keys, 'keys');
    const { object, idProperty } = request;
    if (typeof idProperty !== 'string' || !propertyNameSchema.safeParse(idProperty).success) {
      throw new ValidationError([{ field: 'idProperty', reason: 'must be a HubSpot property name' }], {
        providerId: adapterId,
      });
    }
    const keys = request.keys.filter((key) => typeof key === 'string' && key.trim() !== '');
    if (keys.length === 0) return [];
    const requestKey = new Map(keys.map((key) => [normalizeKey(idProperty, key), key]));
    const wanted = [...new Set([...(request.properties ?? []), idProperty])];
    const response = await call(
      {
        method: 'POST',
        path: `/crm/v3/objects/${object}/batch/read`,
        json: {
          inputs: [...requestKey.values()].map((id) => ({ id })),
          idProperty: idProperty === 'hs_object_id' ? undefined : idProperty,
          properties: wanted,
          propertiesWithHistory: [],
        },
        acceptStatus: [207],
        schema: batchResponseSchema,
      },
      callOptions,
    );
    return response.data.results.map((result) => {
      const value = idProperty === 'hs_object_id' ? result.id : result.properties?.[idProperty];
      const raw = value === undefined || value === null ? result.id : String(value);
      const properties: Record<string, CrmPropertyValue | null> = {};
      for (const [name, item] of Object.entries(result.properties ?? {})) properties[name] = item ?? null;
      return {
        key: requestKey.get(normalizeKey(idProperty, raw)) ?? raw,
        id: result.id,
        properties,
        ...(result.updatedAt === undefined ? {} : { updatedAt: result.updatedAt }),
      };
    });
  }

  async function doListChanges(
    request: CrmListChangesRequest,
    callOptions: CrmCallOptions,
  ): Promise<CrmChangesPage> {
    checkObject(request?.object, 'object');
    const { object } = request;
    const limit = request.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) {
      throw new ValidationError(
        [{ field: 'limit', reason: `must be an integer from 1 to 200, got ${String(limit)}` }],
        {
          providerId: adapterId,
        },
      );
    }
    let cursor: ChangesCursor;
    if (request.cursor !== undefined) cursor = decodeChangesCursor(request.cursor, adapterId);
    else {
      const since = request.since === undefined ? 0 : Date.parse(request.since);
      if (Number.isNaN(since)) {
        throw new ValidationError([{ field: 'since', reason: 'must be an ISO 8601 date-time' }], {
          providerId: adapterId,
        });
      }
      cursor = { mode: 'time', t: Math.max(0, since), ids: [] };
    }
    const modifiedProperty = object === 'contacts' ? 'lastmodifieddate' : 'hs_lastmodifieddate';
    const keyProperty =
      settings.changesKeyProperty?.[object] ?? (object === 'contacts' ? 'email' : 'hs_object_id');
    const wanted = [...new Set([...(request.properties ?? []), modifiedProperty, keyProperty])];
    const response = await call(
      {
        method: 'POST',
        path: `/crm/v3/objects/${object}/search`,
        json: changesSearchBody(cursor, modifiedProperty, wanted, limit),
        schema: searchResponseSchema,
      },
      callOptions,
      'search',
    );
    const rows = response.data.results.map((result) => ({
      id: result.id,
      at: parseHubspotTime(result.properties?.[modifiedProperty] ?? result.updatedAt) ?? cursor.t,
      result,
    }));
    const page = nextChangesPage(cursor, rows, limit, response.data.paging?.next !== undefined);
    return {
      records: page.records.map(({ result, at }) => {
        const properties: Record<string, CrmPropertyValue | null> = {};
        for (const [name, item] of Object.entries(result.properties ?? {})) properties[name] = item ?? null;
        const keyValue = keyProperty === 'hs_object_id' ? result.id : result.properties?.[keyProperty];
        return {
          key: keyValue === undefined || keyValue === null || keyValue === '' ? result.id : String(keyValue),
          id: result.id,
          properties,
          updatedAt: new Date(at).toISOString(),
        };
      }),
      nextCursor: encodeChangesCursor(page.cursor),
      hasMore: page.hasMore,
    };
  }

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

  const capabilities: CrmCapabilities = {
    maxBatchSize: HUBSPOT_MAX_BATCH_SIZE,
    objects: HUBSPOT_OBJECTS,
    rateLimits: hubspotRateLimitPolicy(limits, callsPerOperation),
    webhooks: true,
  };

  return {
    specificationVersion: 'v1',
    adapterId,
    capabilities,
    limiterKey: () => tokens.limiterKey(),
    doUpsert,
    doGet,
    doListChanges,
    async doParseWebhook(request) {
      return parseHubspotWebhook(request, {
        clientSecret: webhookSecret(),
        ...(settings.webhookUrl === undefined ? {} : { webhookUrl: settings.webhookUrl }),
        now: now(),
        toleranceMs: webhookTolerance,
        providerId: adapterId,
        ...(settings.webhookDeduper === undefined ? {} : { deduper: settings.webhookDeduper }),
      });
    },
    properties,
    checkIdProperty,
    dailyLimitResetsAt: () =>
      dailyBlockedUntil !== undefined && dailyBlockedUntil > now() ? dailyBlockedUntil : undefined,
    async close() {
      if (ownRegistry && registry !== undefined) await registry.disconnect();
      registry = undefined;
      searchLimiter = undefined;
    },
  };
}

/** A HubSpot adapter with default settings: a private-app token from `HUBSPOT_ACCESS_TOKEN`, Free-tier limits. */
export const hubspot: HubspotAdapter = createHubspot();

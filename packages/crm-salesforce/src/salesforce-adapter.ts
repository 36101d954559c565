import { createHash } from 'node:crypto';
import {
  ApiCallError,
  ConfigurationError,
  type CrmAdapterV1,
  type CrmCallOptions,
  type CrmChangesPage,
  type CrmEvent,
  type CrmGetRequest,
  type CrmListChangesRequest,
  type CrmPropertyValue,
  type CrmRecordError,
  type CrmRecordSnapshot,
  type CrmUpsertRequest,
  type CrmUpsertResult,
  type InboundWebhookRequest,
  LeadpipeError,
  type RateLimitPolicy,
  ValidationError,
} from '@leadpipe/core';
import { z } from 'zod';
import { SalesforceApi } from './salesforce-api.js';
import { SALESFORCE_PROVIDER_ID, SalesforceAuth, type SalesforceAuthSettings } from './salesforce-auth.js';
import {
  type BulkRow,
  bulkUpsert,
  createMemoryBulkJobStore,
  type SalesforceBulkJobStore,
} from './salesforce-bulk.js';
import {
  describeSchema,
  isApiName,
  missingRequiredFailure,
  type PreparedRecord,
  prepareRecord,
  type SalesforceField,
  type SalesforceObjectDescription,
  soqlString,
  toDescription,
} from './salesforce-fields.js';
import { collectionResultsSchema, recordErrorFromStatusCode } from './salesforce-results.js';
import { type ParseSalesforceWebhookOptions, parseSalesforceWebhook } from './salesforce-webhooks.js';

/** The API version used unless `apiVersion` says otherwise. */
export const SALESFORCE_DEFAULT_API_VERSION = '62.0';
/** Records per sObject Collections call (Salesforce's maximum). */
export const SALESFORCE_COLLECTION_SIZE = 200;
/** Default number of records from which one `doUpsert` goes through Bulk API 2.0 (Salesforce's own advice). */
export const SALESFORCE_DEFAULT_BULK_THRESHOLD = 2000;
/** Default most records one `doUpsert` accepts: the engine's batch size. */
export const SALESFORCE_DEFAULT_MAX_BATCH_SIZE = 10_000;

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
  /** How long one `doUpsert` polls a Bulk job before handing it to the next call, ms. Default 10 minutes. */
  readonly bulkPollTimeoutMs?: number;
  /** Requests in flight at once (long-running ones count against the org's cap of 25, 5 in Developer Edition). Default 4. */
  readonly maxConcurrentRequests?: number;
  /**
   * Adapter calls per second the engine's limiter allows. Salesforce has no
   * such limit; this ceiling only keeps the limiter from spreading the daily
   * allocation evenly over the day. Default 50.
   */
  readonly maxCallsPerSecond?: number;
  /** The org's daily API request allocation, until `Sforce-Limit-Info` reports it. Default 100,000. */
  readonly dailyApiRequests?: number;
  /** How long calls stop after `REQUEST_LIMIT_EXCEEDED` (daily allocation spent), ms. Default 15 minutes. */
  readonly quotaCooldownMs?: number;
  /** How long the limiter waits after the concurrent long-running request cap was hit, ms. Default 5,000. */
  readonly concurrencyBackoffMs?: number;
  /** Timeout of one HTTP request, ms. Default 120,000 (a Bulk upload can take a while). */
  readonly timeoutMs?: number;
  /** Records per SOQL page of `doListChanges` (200–2,000, a hint Salesforce may not follow). Default 2,000. */
  readonly queryBatchSize?: number;
  /** Org id (`00D…`) Outbound Messages must come from. Env `SALESFORCE_ORGANIZATION_ID`. */
  readonly organizationId?: string;
  /** Secret of HMAC-signed Apex/Flow callouts. Env `SALESFORCE_WEBHOOK_SECRET`. */
  readonly webhookSecret?: string;
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
  };
}

const versionPattern = /^\d{2}\.0$/;

function positiveInteger(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new ConfigurationError('invalid_configuration', {
      message: `createSalesforce: ${name}: must be a positive whole number, got ${String(value)}`,
      providerId: SALESFORCE_PROVIDER_ID,
    });
  }
  return value;
}

function checkSettings(settings: SalesforceSettings): void {
  if (settings.apiVersion !== undefined) {
    const major = Number.parseInt(settings.apiVersion, 10);
    if (!versionPattern.test(settings.apiVersion) || major < 46) {
      throw new ConfigurationError('invalid_configuration', {
        message: `createSalesforce: apiVersion: must look like "62.0" and be 46.0 or later (Collections upsert), got ${JSON.stringify(settings.apiVersion)}`,
        providerId: SALESFORCE_PROVIDER_ID,
      });
    }
  }
  if (settings.externalIdField !== undefined && !isApiName(settings.externalIdField)) {
    throw new ConfigurationError('invalid_configuration', {
      message: 'createSalesforce: externalIdField: must be a field API name such as Lead_Key__c',
      providerId: SALESFORCE_PROVIDER_ID,
    });
  }
  for (const object of settings.objects ?? []) {
    if (!isApiName(object)) {
      throw new ConfigurationError('invalid_configuration', {
        message: `createSalesforce: objects: ${JSON.stringify(object)} is not an sObject API name`,
        providerId: SALESFORCE_PROVIDER_ID,
      });
    }
  }
  if (
    settings.queryBatchSize !== undefined &&
    !(settings.queryBatchSize >= 200 && settings.queryBatchSize <= 2000)
  ) {
    throw new ConfigurationError('invalid_configuration', {
      message: 'createSalesforce: queryBatchSize: must be between 200 and 2000',
      providerId: SALESFORCE_PROVIDER_ID,
    });
  }
}

const queryPageSchema = z.object({
  totalSize: z.number().optional(),
  done: z.boolean(),
  nextRecordsUrl: z.string().nullish(),
  records: z.array(z.record(z.string(), z.unknown())),
});

const cursorSchema = z.object({
  v: z.literal(1),
  // Written into SOQL unquoted: only a plain ISO 8601 time may pass.
  since: z.iso.datetime().optional(),
  afterId: z
    .string()
    .regex(/^[A-Za-z0-9]{15,18}$/)
    .optional(),
  next: z
    .string()
    .regex(/^\/services\/data\//)
    .optional(),
});

type Cursor = z.infer<typeof cursorSchema>;

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeCursor(text: string): Cursor {
  try {
    return cursorSchema.parse(JSON.parse(Buffer.from(text, 'base64url').toString('utf8')));
  } catch {
    throw new ValidationError([{ field: 'cursor', reason: 'is not a cursor this adapter returned' }], {
      providerId: SALESFORCE_PROVIDER_ID,
    });
  }
}

/** Salesforce datetimes (`2026-01-01T00:00:00.000+0000`) as ISO 8601. */
function isoOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

function snapshotValue(value: unknown): CrmPropertyValue | null {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return null;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}

function recordErrorOf(error: unknown): CrmRecordError {
  if (LeadpipeError.isInstance(error)) {
    const code = ApiCallError.isInstance(error) ? error.code : 'adapter_error';
    const retryable = error.isRetryable || code === 'quota_exceeded';
    return {
      code,
      message: error.message,
      retryable,
      ...(ApiCallError.isInstance(error) && error.vendorCode !== undefined
        ? { vendorCode: error.vendorCode }
        : {}),
      ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
      raw: error.toJSON(),
    };
  }
  return {
    code: 'adapter_error',
    message: error instanceof Error ? error.message : String(error),
    retryable: false,
  };
}

/**
 * Create the Salesforce CRM adapter: keyed upserts by External ID (sObject
 * Collections of 200 below `bulkThreshold`, one resumable Bulk API 2.0 job
 * at or above it), reads by key and incremental changes through SOQL,
 * Outbound Messages and signed callouts. Nothing is read or sent until the
 * first call; credentials fall back to `SALESFORCE_*` variables then.
 *
 * @example
 * ```ts
 * const salesforce = createSalesforce({
 *   refreshToken, clientId, clientSecret, externalIdField: 'Lead_Key__c',
 *   onTokens: (tokens) => saveTokens(tokens), // keeps rotated refresh tokens
 * });
 * const crmSync = createCrmSync({ crms: [{ adapter: salesforce, mapping: leads }] });
 * ```
 *
 * @throws ConfigurationError `invalid_configuration` when a setting is out of range.
 */
export function createSalesforce(settings: SalesforceSettings = {}): SalesforceAdapter {
  checkSettings(settings);
  const now = settings.now ?? Date.now;
  const maxBatchSize = positiveInteger(
    settings.maxBatchSize,
    'maxBatchSize',
    SALESFORCE_DEFAULT_MAX_BATCH_SIZE,
  );
  const bulkThreshold = positiveInteger(
    settings.bulkThreshold,
    'bulkThreshold',
    SALESFORCE_DEFAULT_BULK_THRESHOLD,
  );
  const maxConcurrentRequests = positiveInteger(settings.maxConcurrentRequests, 'maxConcurrentRequests', 4);
  const dailyApiRequests = positiveInteger(settings.dailyApiRequests, 'dailyApiRequests', 100_000);
  const polling = {
    intervalMs: positiveInteger(settings.bulkPollIntervalMs, 'bulkPollIntervalMs', 1000),
    maxIntervalMs: positiveInteger(settings.bulkPollMaxIntervalMs, 'bulkPollMaxIntervalMs', 10_000),
    timeoutMs: positiveInteger(settings.bulkPollTimeoutMs, 'bulkPollTimeoutMs', 600_000),
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
      quotaCooldownMs: positiveInteger(settings.quotaCooldownMs, 'quotaCooldownMs', 15 * 60_000),
      concurrencyBackoffMs: positiveInteger(settings.concurrencyBackoffMs, 'concurrencyBackoffMs', 5000),
    },
    now,
  });
  const descriptions = new Map<string, Promise<SalesforceObjectDescription>>();
  // Salesforce has no short window; a generous per-second ceiling keeps the limiter from pacing the
  // day's allocation evenly (it paces the shortest window when no window is short) while the day
  // window is still counted and corrected from Sforce-Limit-Info.
  const rateLimits: RateLimitPolicy = {
    perSecond: positiveInteger(settings.maxCallsPerSecond, 'maxCallsPerSecond', 50),
    perDay: dailyApiRequests,
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

  const checkObject = (object: unknown): string => {
    if (typeof object !== 'string' || !objects.includes(object)) {
      throw new ValidationError(
        [{ field: 'object', reason: `must be one of ${objects.join(', ')}, got ${JSON.stringify(object)}` }],
        { providerId: SALESFORCE_PROVIDER_ID },
      );
    }
    return object;
  };

  const describe = (object: string, options: CrmCallOptions): Promise<SalesforceObjectDescription> => {
    let cached = descriptions.get(object);
    if (cached === undefined) {
      cached = api
        .call({
          path: `sobjects/${object}/describe`,
          schema: describeSchema,
          ...(options.signal === undefined ? {} : { signal: options.signal }),
          onRateLimit: options.onRateLimit,
        })
        .then((response) => toDescription(response.data));
      descriptions.set(object, cached);
      cached.catch(() => descriptions.delete(object));
    }
    return cached;
  };

  const idFieldOf = (description: SalesforceObjectDescription, idProperty: unknown): SalesforceField => {
    const field =
      typeof idProperty === 'string' ? description.fields.get(idProperty.toLowerCase()) : undefined;
    if (field === undefined || !field.idLookup || field.name === 'Id') {
      throw new ValidationError(
        [
          {
            field: 'idProperty',
            reason: `${JSON.stringify(idProperty)} is not an External ID field of ${description.name}`,
          },
        ],
        { providerId: SALESFORCE_PROVIDER_ID },
      );
    }
    return field;
  };

  /** Run a SOQL query and every `nextRecordsUrl` page after it. */
  const queryAll = async (soql: string, options: CrmCallOptions): Promise<Record<string, unknown>[]> => {
    const rows: Record<string, unknown>[] = [];
    let page = (
      await api.call({
        path: 'query',
        searchParams: { q: soql },
        schema: queryPageSchema,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        onRateLimit: options.onRateLimit,
      })
    ).data;
    rows.push(...page.records);
    while (!page.done && page.nextRecordsUrl) {
      page = (
        await api.call({
          path: page.nextRecordsUrl,
          schema: queryPageSchema,
          ...(options.signal === undefined ? {} : { signal: options.signal }),
          onRateLimit: options.onRateLimit,
        })
      ).data;
      rows.push(...page.records);
    }
    return rows;
  };

  /** Records with these keys that exist, by lower-cased key. */
  const findByKeys = async (
    object: string,
    idField: SalesforceField,
    keys: readonly string[],
    fields: readonly string[],
    options: CrmCallOptions,
  ): Promise<Map<string, Record<string, unknown>>> => {
    const found = new Map<string, Record<string, unknown>>();
    const select = [...new Set(['Id', idField.name, 'SystemModstamp', ...fields])];
    for (const group of chunk(keys, 200)) {
      const soql = `SELECT ${select.join(', ')} FROM ${object} WHERE ${idField.name} IN (${group.map(soqlString).join(', ')})`;
      for (const row of await queryAll(soql, options)) {
        const key = row[idField.name];
        if (typeof key === 'string') found.set(key.toLowerCase(), row);
      }
    }
    return found;
  };

  const collectionsUpsert = async (
    object: string,
    idField: SalesforceField,
    records: readonly { key: string; values: Record<string, string | number | boolean> }[],
    options: CrmCallOptions,
  ): Promise<CrmUpsertResult[]> => {
    const chunks = chunk(records, SALESFORCE_COLLECTION_SIZE);
    const outcomes = await Promise.allSettled(
      chunks.map(async (group) => {
        const response = await api.call({
          method: 'PATCH',
          path: `composite/sobjects/${object}/${idField.name}`,
          json: {
            allOrNone: false,
            records: group.map((record) => ({
              attributes: { type: object },
              ...record.values,
              [idField.name]: record.key,
            })),
          },
          schema: collectionResultsSchema,
          ...(options.signal === undefined ? {} : { signal: options.signal }),
          onRateLimit: options.onRateLimit,
        });
        return group.map((record, index): CrmUpsertResult => {
          const result = response.data[index];
          if (result === undefined) {
            return {
              key: record.key,
              status: 'failed',
              error: {
                code: 'missing_result',
                message: 'Salesforce returned no result for this record',
                retryable: true,
              },
            };
          }
          if (result.success) {
            return {
              key: record.key,
              status: result.created === true ? 'created' : 'updated',
              id: result.id ?? '',
            };
          }
          const first = result.errors?.[0];
          return {
            key: record.key,
            status: 'failed',
            error: recordErrorFromStatusCode({
              statusCode: first?.statusCode ?? 'UNKNOWN_EXCEPTION',
              message: first?.message ?? 'the record was not saved',
              fields: first?.fields ?? [],
            }),
          };
        });
      }),
    );
    const failures = outcomes.filter((outcome) => outcome.status === 'rejected');
    if (failures.length === outcomes.length && failures[0] !== undefined) throw failures[0].reason;
    const aborted = failures.find(
      (outcome) => ApiCallError.isInstance(outcome.reason) && outcome.reason.code === 'aborted',
    );
    if (aborted !== undefined) throw aborted.reason;
    return outcomes.flatMap((outcome, index) => {
      if (outcome.status === 'fulfilled') return outcome.value;
      const error = recordErrorOf(outcome.reason);
      return (chunks[index] ?? []).map(
        (record): CrmUpsertResult => ({ key: record.key, status: 'failed', error }),
      );
    });
  };

  const adapter: SalesforceAdapter = {
    specificationVersion: 'v1',
    adapterId: SALESFORCE_PROVIDER_ID,
    capabilities: { maxBatchSize, bulkThreshold, objects, rateLimits, webhooks: true },
    limiterKey: () => {
      limiterKey ??= computeLimiterKey();
      return limiterKey;
    },

    async doUpsert(request: CrmUpsertRequest, options: CrmCallOptions = {}): Promise<CrmUpsertResult[]> {
      const object = checkObject(request?.object);
      if (!Array.isArray(request.records)) {
        throw new ValidationError([{ field: 'records', reason: 'must be an array' }], {
          providerId: SALESFORCE_PROVIDER_ID,
        });
      }
      if (request.records.length > maxBatchSize) {
        throw new ValidationError(
          [
            {
              field: 'records',
              reason: `holds ${request.records.length} records; at most ${maxBatchSize} fit in one call`,
            },
          ],
          { providerId: SALESFORCE_PROVIDER_ID },
        );
      }
      if (typeof request.idProperty !== 'string' || !isApiName(request.idProperty)) {
        throw new ValidationError(
          [{ field: 'idProperty', reason: 'must be a field API name such as Lead_Key__c' }],
          {
            providerId: SALESFORCE_PROVIDER_ID,
          },
        );
      }
      if (request.records.length === 0) return [];
      api.checkBeforeCall(options.signal);
      await api.session(options.signal);
      const description = await describe(object, options);
      const idField = idFieldOf(description, request.idProperty);

      const results = new Map<string, CrmUpsertResult>();
      const ready: { key: string; values: Record<string, string | number | boolean> }[] = [];
      const needsExisting: Extract<PreparedRecord, { ok: true }>[] = [];
      for (const record of request.records) {
        const prepared = prepareRecord(record, idField, description);
        if (!prepared.ok)
          results.set(record.key, { key: record.key, status: 'failed', error: prepared.error });
        else if (prepared.missingRequired.length > 0) needsExisting.push(prepared);
        else ready.push({ key: prepared.key, values: prepared.values });
      }
      if (needsExisting.length > 0) {
        // Records without LastName/Company can only update: keep those whose key exists.
        const existing = await findByKeys(
          object,
          idField,
          needsExisting.map((record) => record.key),
          [],
          options,
        );
        for (const record of needsExisting) {
          if (existing.has(record.key.toLowerCase())) ready.push({ key: record.key, values: record.values });
          else {
            const failure = missingRequiredFailure(record.key, object, record.missingRequired);
            if (!failure.ok)
              results.set(record.key, { key: record.key, status: 'failed', error: failure.error });
          }
        }
      }
      if (ready.length > 0) {
        const written =
          ready.length >= bulkThreshold
            ? await bulkUpsert({
                api,
                store: jobStore,
                polling,
                now,
                object,
                externalIdField: idField.name,
                rows: ready as BulkRow[],
                signal: options.signal,
                onRateLimit: options.onRateLimit,
              })
            : await collectionsUpsert(object, idField, ready, options);
        for (const result of written) results.set(result.key, result);
      }
      return request.records.map(
        (record): CrmUpsertResult =>
          results.get(record.key) ?? {
            key: record.key,
            status: 'failed',
            error: { code: 'missing_result', message: 'no result for this record', retryable: true },
          },
      );
    },

    async doGet(request: CrmGetRequest, options: CrmCallOptions = {}): Promise<CrmRecordSnapshot[]> {
      const object = checkObject(request?.object);
      if (!Array.isArray(request.keys) || !Array.isArray(request.properties)) {
        throw new ValidationError([{ field: 'keys', reason: 'keys and properties must be arrays' }], {
          providerId: SALESFORCE_PROVIDER_ID,
        });
      }
      if (typeof request.idProperty !== 'string' || !isApiName(request.idProperty)) {
        throw new ValidationError(
          [{ field: 'idProperty', reason: 'must be a field API name such as Lead_Key__c' }],
          {
            providerId: SALESFORCE_PROVIDER_ID,
          },
        );
      }
      const badField = request.properties.find((name) => typeof name !== 'string' || !isApiName(name));
      if (badField !== undefined) {
        throw new ValidationError(
          [{ field: 'properties', reason: `${JSON.stringify(badField)} is not a field API name` }],
          {
            providerId: SALESFORCE_PROVIDER_ID,
          },
        );
      }
      if (request.keys.length === 0) return [];
      api.checkBeforeCall(options.signal);
      await api.session(options.signal);
      const description = await describe(object, options);
      const idField = idFieldOf(description, request.idProperty);
      const unknown = request.properties.find((name) => !description.fields.has(name.toLowerCase()));
      if (unknown !== undefined) {
        throw new ValidationError(
          [{ field: 'properties', reason: `${unknown}: no such field on ${object}` }],
          {
            providerId: SALESFORCE_PROVIDER_ID,
          },
        );
      }
      const found = await findByKeys(object, idField, request.keys, request.properties, options);
      const snapshots: CrmRecordSnapshot[] = [];
      for (const key of request.keys) {
        const row = found.get(key.toLowerCase());
        if (row === undefined) continue;
        const properties: Record<string, CrmPropertyValue | null> = {};
        for (const name of request.properties) {
          const field = description.fields.get(name.toLowerCase());
          properties[name] = snapshotValue(row[field?.name ?? name]);
        }
        const updatedAt = isoOf(row.SystemModstamp);
        snapshots.push({
          key,
          id: String(row.Id),
          properties,
          ...(updatedAt === undefined ? {} : { updatedAt }),
        });
      }
      return snapshots;
    },

    async doListChanges(
      request: CrmListChangesRequest,
      options: CrmCallOptions = {},
    ): Promise<CrmChangesPage> {
      const object = checkObject(request?.object);
      const properties = request.properties ?? [];
      const badField = properties.find((name) => typeof name !== 'string' || !isApiName(name));
      if (badField !== undefined) {
        throw new ValidationError(
          [{ field: 'properties', reason: `${JSON.stringify(badField)} is not a field API name` }],
          {
            providerId: SALESFORCE_PROVIDER_ID,
          },
        );
      }
      let cursor: Cursor;
      if (request.cursor !== undefined) cursor = decodeCursor(request.cursor);
      else {
        const since = request.since === undefined ? undefined : isoOf(request.since);
        if (request.since !== undefined && since === undefined) {
          throw new ValidationError([{ field: 'since', reason: 'must be an ISO 8601 time' }], {
            providerId: SALESFORCE_PROVIDER_ID,
          });
        }
        cursor = { v: 1, ...(since === undefined ? {} : { since }) };
      }
      api.checkBeforeCall(options.signal);
      const keyField = settings.externalIdField;
      const select = [
        ...new Set(['Id', 'SystemModstamp', ...(keyField === undefined ? [] : [keyField]), ...properties]),
      ];
      const call = (path: string, searchParams?: Record<string, string>) =>
        api.call({
          path,
          ...(searchParams === undefined ? {} : { searchParams }),
          schema: queryPageSchema,
          headers: { 'sforce-query-options': `batchSize=${settings.queryBatchSize ?? 2000}` },
          ...(options.signal === undefined ? {} : { signal: options.signal }),
          onRateLimit: options.onRateLimit,
        });
      let page: z.infer<typeof queryPageSchema> | undefined;
      if (cursor.next !== undefined) {
        try {
          page = (await call(cursor.next)).data;
        } catch (error) {
          // Query locators expire after 15 minutes: start again from the last SystemModstamp.
          if (!(ApiCallError.isInstance(error) && error.vendorCode === 'INVALID_QUERY_LOCATOR')) throw error;
        }
      }
      if (page === undefined) {
        const where =
          cursor.since === undefined
            ? ''
            : cursor.afterId === undefined
              ? ` WHERE SystemModstamp >= ${cursor.since}`
              : ` WHERE SystemModstamp > ${cursor.since} OR (SystemModstamp = ${cursor.since} AND Id > ${soqlString(cursor.afterId)})`;
        const soql = `SELECT ${select.join(', ')} FROM ${object}${where} ORDER BY SystemModstamp ASC, Id ASC`;
        page = (await call('query', { q: soql })).data;
      }
      const records: CrmRecordSnapshot[] = [];
      let since = cursor.since;
      let afterId = cursor.afterId;
      const limit = request.limit !== undefined && request.limit >= 1 ? request.limit : undefined;
      let cut = false;
      for (const row of page.records) {
        if (limit !== undefined && records.length >= limit) {
          cut = true;
          break;
        }
        const id = String(row.Id);
        const updatedAt = isoOf(row.SystemModstamp);
        const props: Record<string, CrmPropertyValue | null> = {};
        for (const name of properties) props[name] = snapshotValue(row[name]);
        const keyValue = keyField === undefined ? undefined : row[keyField];
        records.push({
          key: typeof keyValue === 'string' && keyValue !== '' ? keyValue : id,
          id,
          properties: props,
          ...(updatedAt === undefined ? {} : { updatedAt }),
        });
        if (updatedAt !== undefined) {
          since = updatedAt;
          afterId = id;
        }
      }
      const morePages = !page.done && typeof page.nextRecordsUrl === 'string' && page.nextRecordsUrl !== '';
      // A page cut short by `limit` restarts from the last record (keyset), not from the locator.
      const next: Cursor = {
        v: 1,
        ...(since === undefined ? {} : { since }),
        ...(afterId === undefined ? {} : { afterId }),
        ...(morePages && !cut && page.nextRecordsUrl ? { next: page.nextRecordsUrl } : {}),
      };
      return { records, nextCursor: encodeCursor(next), hasMore: morePages || cut };
    },

    async doParseWebhook(request) {
      const options: ParseSalesforceWebhookOptions = {
        ...(settings.organizationId === undefined ? {} : { organizationId: settings.organizationId }),
        ...(settings.webhookSecret === undefined ? {} : { webhookSecret: settings.webhookSecret }),
        now,
      };
      return parseSalesforceWebhook(request, options);
    },

    stats: () => ({
      requests: api.requests,
      tokenRequests: auth.tokenRequests,
      peakConcurrency: api.peakConcurrency,
    }),
  };
  return adapter;
}

/**
 * The default adapter, configured from `SALESFORCE_*` environment variables
 * (read at its first call, not at import): `SALESFORCE_REFRESH_TOKEN` +
 * `SALESFORCE_CLIENT_ID` (+ `SALESFORCE_CLIENT_SECRET`), or
 * `SALESFORCE_PRIVATE_KEY` + `SALESFORCE_USERNAME` + `SALESFORCE_CLIENT_ID`,
 * or `SALESFORCE_ACCESS_TOKEN` + `SALESFORCE_INSTANCE_URL`.
 */
export const salesforce: SalesforceAdapter = createSalesforce();

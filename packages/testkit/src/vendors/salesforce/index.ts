import { parseOptions } from '@leadpipe/core/adapter-kit';
import { Hono } from 'hono';
import { z } from 'zod';
import type { EmulatorContext } from '../../emulator/context.js';
import { BulkJobs, type IngestJob } from './bulk.js';
import { notFound, SalesforceHttpFailure } from './errors.js';
import { errorResponse, type RouteDeps } from './http.js';
import { ID_PREFIX, salesforceId } from './ids.js';
import { ApiUsage, InFlightRequests } from './limits.js';
import { TokenStore } from './oauth.js';
import { deliverOutboundBatch, type OutboundDelivery, outboundEnvelope } from './outbound.js';
import { registerApiRoutes } from './routes-api.js';
import { registerBulkRoutes } from './routes-bulk.js';
import { registerCollectionRoutes } from './routes-collections.js';
import { registerOauthRoutes } from './routes-oauth.js';
import { registerQueryRoutes } from './routes-query.js';
import { registerSObjectRoutes } from './routes-sobjects.js';
import { formatDatetime, type SalesforceFieldDefinition } from './schema.js';
import { checkSalesforceOption, MAX_VERSION, resolveSettings, salesforceCredentials } from './settings.js';
import { SalesforceState } from './state.js';
import { type LeadRecord, LeadStore, type SaveOutcome } from './store.js';
import type {
  SalesforceEmulator,
  SalesforceEmulatorOptions,
  SalesforceIngestJobSummary,
  SalesforceLead,
} from './types.js';

export type { IngestJobState, IngestOperation } from './bulk.js';
export type { OutboundDelivery } from './outbound.js';
export type { FieldValue, SalesforceFieldDefinition, SalesforceFieldType } from './schema.js';
export type {
  SalesforceCredentials,
  SalesforceEmulator,
  SalesforceEmulatorOptions,
  SalesforceIngestJobSummary,
  SalesforceLead,
  SalesforceOutboundMessageOptions,
} from './types.js';

function summary(job: IngestJob): SalesforceIngestJobSummary {
  return {
    id: job.id,
    state: job.state,
    operation: job.operation,
    object: job.object,
    externalIdFieldName: job.externalIdFieldName,
    numberRecordsProcessed: job.processed,
    numberRecordsFailed: job.results.filter((result) => result.kind === 'failed').length,
    errorMessage: job.errorMessage,
  };
}

/** Queueing Outbound Messages needs the emulator's `outboundMessages` option. */
const outboundConfiguredSchema = z.object({
  outboundMessages: z.custom<object>((value) => value !== undefined, {
    error: "must be set in the emulator's options (with a url) before queueing Outbound Messages",
  }),
});

/**
 * Create the Salesforce emulator. Its Hono app answers Salesforce's real
 * paths at the root of one base URL, which serves as login host and as
 * `instance_url`: `POST /services/oauth2/token`, and under
 * `/services/data/vXX.X/` the sObject REST API for Lead (describe, CRUD,
 * upsert by External ID), sObject Collections, SOQL query/queryAll with
 * `nextRecordsUrl` paging, limits, and Bulk API 2.0 ingest jobs. The routes
 * live in `routes-*.ts`, one module per API.
 *
 * @throws ConfigurationError (`invalid_configuration`, checked by `parseOptions`) naming every option out of
 * range or unknown: `createSalesforceEmulator: dailyApiRequests: must be a positive number, got -1`.
 */
export function createSalesforceEmulator(
  context: EmulatorContext,
  options: SalesforceEmulatorOptions = {},
): SalesforceEmulator {
  const now = () => context.clock.now();
  const settings = resolveSettings(context, options);
  const { organizationId, schema, outboundFields } = settings;
  /** `findLeadByExternalId`'s field: an External ID field of Lead, resolved to its definition. */
  const findByExternalIdSchema = z.object({
    fieldName: z.string({ error: 'must be a Lead field name' }).transform((name, check) => {
      const field = schema.field(name);
      if (field?.externalId === true) return field;
      check.addIssue({ code: 'custom', message: `is not an External ID field of Lead, got ${name}` });
      return z.NEVER;
    }),
  });
  /** `queueOutboundMessages`' ids, as `{ leadIds: { <index>: id } }` so that the error names `leadIds.<index>`. */
  const queuedLeadSchema = z.object({
    leadIds: z.record(
      z.string(),
      z.string({ error: 'must be a Lead id' }).refine((id) => store.get(id) !== undefined, {
        error: (issue) => `no Lead with id ${String(issue.input)}`,
      }),
    ),
  });
  const state = new SalesforceState(settings, context.seed, options.instanceUrl);

  const credentials = salesforceCredentials(context.seed, options, organizationId);
  const { userId } = credentials;
  const tokens = new TokenStore({
    ...credentials,
    rotateRefreshTokens: options.rotateRefreshTokens ?? false,
    sessionLifetimeMs: settings.sessionLifetimeMs,
    jwtPublicKey: options.jwtPublicKey,
    jwtAudiences: options.jwtAudiences ?? ['https://login.salesforce.com', 'https://test.salesforce.com'],
    now,
  });

  const counters = context.counters;
  const count = (name: string, by = 1) => counters.increment(`salesforce.${name}`, by);
  const usage = new ApiUsage(now);
  const inFlight = new InFlightRequests(now);

  const store = new LeadStore({
    schema,
    now,
    userId,
    newId: () => {
      state.leadSequence += 1;
      return salesforceId(ID_PREFIX.lead, state.leadSequence);
    },
  });

  const queueNotification = (id: string) => {
    if (options.outboundMessages === undefined) return;
    const lead = store.get(id);
    if (lead === undefined) return;
    state.notificationSequence += 1;
    state.outboundQueue.push({
      id: salesforceId(ID_PREFIX.outboundNotification, state.notificationSequence),
      lead: { ...lead },
    });
  };

  const countOutcome = (outcome: SaveOutcome) => {
    if (outcome.ok) {
      count(outcome.created ? 'created' : 'updated');
      queueNotification(outcome.id);
    } else {
      count('failed');
    }
  };

  const bulk = new BulkJobs({
    schema,
    store,
    now,
    userId,
    newJobId: () => {
      state.jobSequence += 1;
      return salesforceId(ID_PREFIX.ingestJob, state.jobSequence);
    },
    startDelayMs: () => settings.bulkStartDelayMs,
    recordsPerSecond: () => settings.bulkRecordsPerSecond,
    injectFault: () => state.partialFailureRate > 0 && state.random() < state.partialFailureRate,
    shuffle:
      options.shuffleBulkResults === false
        ? undefined
        : <T>(items: T[]): T[] => {
            const copy = [...items];
            for (let index = copy.length - 1; index > 0; index -= 1) {
              const other = Math.floor(state.random() * (index + 1));
              [copy[index], copy[other]] = [copy[other] as T, copy[index] as T];
            }
            return copy;
          },
    onSaved: (outcome) => {
      if (outcome.ok && !outcome.created && store.get(outcome.id)?.IsDeleted === true) {
        count('deleted');
        return;
      }
      countOutcome(outcome);
    },
  });

  const registerStaticTokens = () => {
    tokens.addAccessToken(credentials.accessToken);
    tokens.addRefreshToken(credentials.refreshToken);
  };
  registerStaticTokens();

  const datetimeFields = new Set(
    schema.fields.filter((field) => field.type === 'datetime').map((field) => field.name),
  );

  const present = (record: LeadRecord, fields?: readonly SalesforceFieldDefinition[]): SalesforceLead => {
    const out: Record<string, string | number | boolean | null> = {};
    for (const field of fields ?? schema.fields) {
      const value = record[field.name] ?? null;
      out[field.name] =
        typeof value === 'number' && datetimeFields.has(field.name) ? formatDatetime(value) : value;
    }
    return out;
  };

  const app = new Hono({ strict: false });
  const deps: RouteDeps = {
    app,
    context,
    now,
    settings,
    state,
    schema,
    store,
    bulk,
    tokens,
    usage,
    inFlight,
    count,
    countOutcome,
    present,
    withAttributes: (record, version, fields) => ({
      attributes: { type: 'Lead', url: `/services/data/v${version}/sobjects/Lead/${String(record.Id)}` },
      ...present(record, fields),
    }),
    instanceUrlOf: (c) => {
      const origin = options.instanceUrl ?? new URL(c.req.url).origin;
      state.lastOrigin = origin;
      return origin;
    },
  };

  app.onError((error, c) => {
    if (error instanceof SalesforceHttpFailure) return errorResponse(deps, c, error);
    count('status.500');
    return c.json(
      [
        {
          errorCode: 'UNKNOWN_EXCEPTION',
          message: `An unexpected error occurred. Please include this ErrorId if you contact support: ${Math.floor(state.random() * 1e9)}-${Math.floor(state.random() * 1e5)} (${error.name})`,
        },
      ],
      500,
    );
  });
  app.notFound((c) => errorResponse(deps, c, notFound()));

  registerOauthRoutes(deps);
  registerApiRoutes(deps);
  registerSObjectRoutes(deps);
  registerCollectionRoutes(deps);
  registerQueryRoutes(deps);
  registerBulkRoutes(deps);

  const deliver = async (
    batch: typeof state.outboundQueue,
    url: string,
    send: typeof fetch,
  ): Promise<OutboundDelivery> => {
    const envelope = outboundEnvelope({
      organizationId,
      actionId: salesforceId(ID_PREFIX.outboundAction, 1),
      instanceUrl: state.lastOrigin,
      apiVersion: `${MAX_VERSION}.0`,
      fields: outboundFields.map((name) => schema.field(name)?.name ?? name),
      datetimeFields,
      notifications: batch,
    });
    const delivery = await deliverOutboundBatch({ url, send, envelope, batch, at: now() });
    count(delivery.acknowledged ? 'outbound.acknowledged' : 'outbound.unacknowledged');
    return delivery;
  };

  return {
    vendor: 'salesforce',
    app,
    credentials,
    leads: (query = {}) => {
      bulk.advance();
      return store
        .all()
        .filter((record) => query.includeDeleted === true || record.IsDeleted !== true)
        .map((record) => present(record));
    },
    findLeadByExternalId: (value, fieldName = 'Lead_Key__c') => {
      bulk.advance();
      const { fieldName: field } = parseOptions(
        findByExternalIdSchema,
        { fieldName },
        {
          name: 'findLeadByExternalId',
          providerId: 'salesforce',
        },
      );
      const match = store.findBy(field, value)[0];
      return match === undefined ? undefined : present(match);
    },
    jobs: () => {
      bulk.advance();
      return bulk.all().map(summary);
    },
    apiUsage: () => ({ used: usage.used(), limit: state.dailyLimit }),
    // Every REST response but `/` carries the org's usage, the refusals the wrapper injects included.
    faultHeaders: (path): Readonly<Record<string, string>> =>
      /^\/services\/data\/v\d+\.0\//.test(path)
        ? { 'Sforce-Limit-Info': `api-usage=${usage.used()}/${state.dailyLimit}` }
        : {},
    expireTokens: () => tokens.expireAll(),
    setPartialFailureRate: (value) => {
      checkSalesforceOption('partialFailureRate', value);
      state.partialFailureRate = value ?? 0;
    },
    setResponseDelayMs: (ms) => {
      checkSalesforceOption('responseDelayMs', ms);
      state.responseDelayMs = ms ?? 0;
    },
    setDailyApiRequests: (limit) => {
      checkSalesforceOption('dailyApiRequests', limit);
      state.dailyLimit = limit ?? state.dailyLimit;
    },
    queueOutboundMessages: (leadIds) => {
      const checkedAs = { name: 'queueOutboundMessages', providerId: 'salesforce' };
      parseOptions(outboundConfiguredSchema, { outboundMessages: options.outboundMessages }, checkedAs);
      // Ids are checked as they are queued (the ones before a bad id stay queued, as before).
      [...leadIds].forEach((id, index) => {
        parseOptions(queuedLeadSchema, { leadIds: { [index]: id } }, checkedAs);
        queueNotification(id);
      });
    },
    deliverOutboundMessages: async () => {
      const settings = options.outboundMessages;
      if (settings === undefined) return [];
      const pending = state.outboundQueue;
      state.outboundQueue = [];
      const attempts: OutboundDelivery[] = [];
      for (let start = 0; start < pending.length; start += 100) {
        const batch = pending.slice(start, start + 100);
        const delivery = await deliver(batch, settings.url, settings.fetch ?? fetch);
        state.deliveries.push(delivery);
        attempts.push(delivery);
        if (!delivery.acknowledged) state.outboundQueue.push(...batch);
      }
      return attempts;
    },
    outboundDeliveries: () => [...state.deliveries],
    reset: () => {
      store.clear();
      bulk.clear();
      tokens.clear();
      usage.clear();
      state.reset();
      registerStaticTokens();
    },
  };
}

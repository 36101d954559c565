import { ConfigurationError } from '@leadpipe/core';
import { type Context, Hono } from 'hono';
import type { EmulatorContext } from '../../emulator/context.js';
import { seededRandom } from '../../emulator/create-context.js';
import { BulkJobs, type IngestJob } from './bulk.js';
import type { SalesforceRecordError } from './errors.js';
import { httpFailure, notFound, recordErrorsToFailure, SalesforceHttpFailure } from './errors.js';
import { hasIdShape, ID_PREFIX, normalizeId, salesforceId } from './ids.js';
import { ApiUsage, InFlightRequests } from './limits.js';
import { derivedToken, TokenStore } from './oauth.js';
import {
  isAcknowledged,
  type OutboundDelivery,
  type OutboundNotification,
  outboundEnvelope,
} from './outbound.js';
import {
  coerceValue,
  type FieldValue,
  formatDatetime,
  LeadSchema,
  type SalesforceFieldDefinition,
} from './schema.js';
import { parseSoql, runSoql } from './soql.js';
import { type LeadRecord, LeadStore, type SaveOutcome } from './store.js';
import type {
  SalesforceCredentials,
  SalesforceEmulator,
  SalesforceEmulatorOptions,
  SalesforceIngestJobSummary,
  SalesforceLead,
} from './types.js';

export type { IngestJobState, IngestOperation } from './bulk.js';
export type { SalesforceRecordError, SalesforceRestError } from './errors.js';
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

const DEFAULT_SESSION_MS = 2 * 60 * 60 * 1000;
const LONG_RUNNING_MS = 20_000;
const QUERY_LOCATOR_TTL_MS = 15 * 60 * 1000;
const MIN_VERSION = 31;
const MAX_VERSION = 66;
const MAX_COLLECTION = 200;
const DEFAULT_OUTBOUND_FIELDS = ['Id', 'Email', 'LastName', 'Company', 'Lead_Key__c', 'SystemModstamp'];

function releaseLabel(major: number): string {
  const step = major - MIN_VERSION;
  const season = ['Summer', 'Winter', 'Spring'][step % 3] ?? 'Summer';
  const year = (season === 'Summer' ? 14 : 15) + Math.floor(step / 3);
  return `${season} '${String(year).padStart(2, '0')}`;
}

function positive(name: string, value: number | undefined, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new ConfigurationError('invalid_configuration', {
      message: `Salesforce emulator option ${name}: must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${value}`,
      providerId: 'salesforce',
    });
  }
  return value;
}

function rate(name: string, value: number | undefined): number {
  if (value === undefined) return 0;
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw new ConfigurationError('invalid_configuration', {
      message: `Salesforce emulator option ${name}: must be between 0 and 1, got ${value}`,
      providerId: 'salesforce',
    });
  }
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

interface QueryCursor {
  readonly rows: Record<string, unknown>[];
  readonly batchSize: number;
  readonly totalSize: number;
  expiresAt: number;
}

/**
 * Create the Salesforce emulator. Its Hono app answers Salesforce's real
 * paths at the root of one base URL, which serves as login host and as
 * `instance_url`: `POST /services/oauth2/token`, and under
 * `/services/data/vXX.X/` the sObject REST API for Lead (describe, CRUD,
 * upsert by External ID), sObject Collections, SOQL query/queryAll with
 * `nextRecordsUrl` paging, limits, and Bulk API 2.0 ingest jobs.
 *
 * @throws ConfigurationError when an option is out of range.
 */
export function createSalesforceEmulator(
  context: EmulatorContext,
  options: SalesforceEmulatorOptions = {},
): SalesforceEmulator {
  const now = () => context.clock.now();
  const sessionLifetimeMs = positive('sessionLifetimeMs', options.sessionLifetimeMs, DEFAULT_SESSION_MS);
  let dailyLimit = positive('dailyApiRequests', options.dailyApiRequests, 100_000);
  const longRunningLimit = positive('concurrentLongRunningLimit', options.concurrentLongRunningLimit, 25);
  let responseDelayMs = positive('responseDelayMs', options.responseDelayMs, 0, true);
  const defaultBatchSize = positive('queryBatchSize', options.queryBatchSize, 2000);
  const bulkStartDelayMs = positive('bulkStartDelayMs', options.bulkStartDelayMs, 1000, true);
  const bulkRecordsPerSecond = positive('bulkRecordsPerSecond', options.bulkRecordsPerSecond, 10_000);
  let partialFailureRate = rate('partialFailureRate', options.partialFailureRate);
  const organizationId = options.organizationId ?? salesforceId(ID_PREFIX.organization, context.seed);
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

  const userId = salesforceId(ID_PREFIX.user, context.seed);
  const credentials: SalesforceCredentials = {
    clientId: options.clientId ?? 'emulator-client-id',
    clientSecret: options.clientSecret ?? 'emulator-client-secret',
    username: options.username ?? 'emulator@leadpipe.test',
    password: options.password ?? 'emulator-password',
    accessToken: derivedToken(organizationId, 'access', context.seed),
    refreshToken: `5Aep${derivedToken(organizationId, 'refresh', context.seed).slice(18)}`,
    organizationId,
    userId,
  };
  const tokens = new TokenStore({
    ...credentials,
    rotateRefreshTokens: options.rotateRefreshTokens ?? false,
    sessionLifetimeMs,
    jwtPublicKey: options.jwtPublicKey,
    jwtAudiences: options.jwtAudiences ?? ['https://login.salesforce.com', 'https://test.salesforce.com'],
    now,
  });

  let random = seededRandom(context.seed);
  let leadSequence = 0;
  let jobSequence = 0;
  let locatorSequence = 0;
  let notificationSequence = 0;
  let lastOrigin = options.instanceUrl ?? 'http://127.0.0.1';
  const counters = context.counters;
  const count = (name: string, by = 1) => counters.increment(`salesforce.${name}`, by);
  const usage = new ApiUsage(now);
  const inFlight = new InFlightRequests(now);
  const cursors = new Map<string, QueryCursor>();
  let outboundQueue: OutboundNotification[] = [];
  const deliveries: OutboundDelivery[] = [];

  const store = new LeadStore({
    schema,
    now,
    userId,
    newId: () => {
      leadSequence += 1;
      return salesforceId(ID_PREFIX.lead, leadSequence);
    },
  });

  const queueNotification = (id: string) => {
    if (options.outboundMessages === undefined) return;
    const lead = store.get(id);
    if (lead === undefined) return;
    notificationSequence += 1;
    outboundQueue.push({
      id: salesforceId(ID_PREFIX.outboundNotification, notificationSequence),
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
      jobSequence += 1;
      return salesforceId(ID_PREFIX.ingestJob, jobSequence);
    },
    startDelayMs: () => bulkStartDelayMs,
    recordsPerSecond: () => bulkRecordsPerSecond,
    injectFault: () => partialFailureRate > 0 && random() < partialFailureRate,
    shuffle:
      options.shuffleBulkResults === false
        ? undefined
        : <T>(items: T[]): T[] => {
            const copy = [...items];
            for (let index = copy.length - 1; index > 0; index -= 1) {
              const other = Math.floor(random() * (index + 1));
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

  const withAttributes = (
    record: LeadRecord,
    version: string,
    fields?: readonly SalesforceFieldDefinition[],
  ) => ({
    attributes: { type: 'Lead', url: `/services/data/v${version}/sobjects/Lead/${String(record.Id)}` },
    ...present(record, fields),
  });

  const instanceUrlOf = (c: Context) => {
    const origin = options.instanceUrl ?? new URL(c.req.url).origin;
    lastOrigin = origin;
    return origin;
  };

  const limitHeader = () => `api-usage=${usage.used()}/${dailyLimit}`;

  const errorResponse = (c: Context, failure: SalesforceHttpFailure) => {
    count(`status.${failure.status}`);
    return c.json(failure.errors, failure.status as 400);
  };

  const app = new Hono({ strict: false });

  app.onError((error, c) => {
    if (error instanceof SalesforceHttpFailure) return errorResponse(c, error);
    count('status.500');
    return c.json(
      [
        {
          errorCode: 'UNKNOWN_EXCEPTION',
          message: `An unexpected error occurred. Please include this ErrorId if you contact support: ${Math.floor(random() * 1e9)}-${Math.floor(random() * 1e5)} (${error.name})`,
        },
      ],
      500,
    );
  });

  app.notFound((c) => errorResponse(c, notFound()));

  app.post('/services/oauth2/token', async (c) => {
    count('requests.oauth.token');
    const params = new URLSearchParams(c.req.query());
    const contentType = c.req.header('content-type') ?? '';
    if (contentType.includes('application/x-www-form-urlencoded')) {
      for (const [key, value] of new URLSearchParams(await c.req.text())) params.set(key, value);
    }
    const answer = tokens.token(params, instanceUrlOf(c));
    count(`status.${answer.status}`);
    return c.json(answer.body, answer.status as 200);
  });

  const versionsList = (c: Context) => {
    count('requests.versions');
    const versions = [];
    for (let major = MIN_VERSION; major <= MAX_VERSION; major += 1) {
      versions.push({ label: releaseLabel(major), url: `/services/data/v${major}.0`, version: `${major}.0` });
    }
    return c.json(versions);
  };
  app.get('/services/data', versionsList);

  app.use('/services/data/:version/*', async (c, next) => {
    const version = c.req.param('version');
    c.header('Sforce-Limit-Info', limitHeader());
    const match = /^v(\d+)\.0$/.exec(version);
    const major = match === null ? 0 : Number(match[1]);
    if (major < MIN_VERSION || major > MAX_VERSION) return errorResponse(c, notFound());
    bulk.advance();
    const authorization = c.req.header('authorization') ?? '';
    const token = /^(?:Bearer|OAuth)\s+(.+)$/i.exec(authorization)?.[1]?.trim() ?? '';
    if (!tokens.isValid(token)) {
      count('invalid_session');
      return errorResponse(c, httpFailure(401, 'INVALID_SESSION_ID', 'Session expired or invalid'));
    }
    if (inFlight.longRunning(LONG_RUNNING_MS) >= longRunningLimit) {
      count('limit_exceeded');
      count('concurrent_limit_exceeded');
      return errorResponse(
        c,
        httpFailure(403, 'REQUEST_LIMIT_EXCEEDED', 'ConcurrentPerOrgLongTxn Limit exceeded.'),
      );
    }
    if (usage.used() >= dailyLimit) {
      count('limit_exceeded');
      return errorResponse(c, httpFailure(403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.'));
    }
    usage.record();
    count('api_usage');
    const end = inFlight.begin();
    try {
      if (responseDelayMs > 0) await context.clock.sleep(responseDelayMs);
      bulk.advance();
      await next();
    } finally {
      end();
    }
    c.res.headers.set('Sforce-Limit-Info', limitHeader());
  });

  const V = '/services/data/:version';
  const versionOf = (c: Context) => c.req.param('version')?.slice(1) ?? '62.0';
  const majorOf = (c: Context) => Number.parseInt(versionOf(c), 10);

  const readJson = async (c: Context): Promise<unknown> => {
    const text = await c.req.text();
    if (text.trim() === '')
      throw httpFailure(400, 'JSON_PARSER_ERROR', 'No content to map due to end-of-input');
    try {
      return JSON.parse(text);
    } catch (error) {
      throw httpFailure(400, 'JSON_PARSER_ERROR', `Unexpected character: ${(error as Error).message}`);
    }
  };

  const requireLead = (c: Context) => {
    if (c.req.param('object')?.toLowerCase() !== 'lead') throw notFound();
  };

  /** Turn a JSON record into canonical field values; unknown fields and wrong JSON types fail the request. */
  const deserialize = (body: unknown): Map<string, FieldValue> => {
    if (!isRecord(body)) {
      throw httpFailure(
        400,
        'JSON_PARSER_ERROR',
        'Cannot deserialize instance of Lead from non-object value',
      );
    }
    const values = new Map<string, FieldValue>();
    for (const [name, raw] of Object.entries(body)) {
      if (name === 'attributes') continue;
      const field = schema.field(name);
      if (field === undefined) {
        throw httpFailure(400, 'INVALID_FIELD', `No such column '${name}' on sobject of type Lead`);
      }
      const coerced = coerceValue(field, raw, 'json');
      if (coerced.kind === 'value') values.set(field.name, coerced.value);
    }
    return values;
  };

  const resolveId = (raw: string): string => {
    const id = normalizeId(raw, ID_PREFIX.lead);
    if (id !== undefined) return id;
    if (!hasIdShape(raw)) {
      throw httpFailure(
        404,
        'NOT_FOUND',
        `Provided external ID field does not exist or is not accessible: ${raw}`,
      );
    }
    throw httpFailure(400, 'MALFORMED_ID', `Lead ID: id value of incorrect type: ${raw}`, ['Id']);
  };

  const liveLead = (id: string): LeadRecord => {
    const record = store.get(id);
    if (record === undefined || record.IsDeleted === true) throw notFound();
    return record;
  };

  const selectedFields = (c: Context): SalesforceFieldDefinition[] | undefined => {
    const fields = c.req.query('fields');
    if (fields === undefined) return undefined;
    return fields.split(',').map((name) => {
      const field = schema.field(name.trim());
      if (field === undefined)
        throw httpFailure(400, 'INVALID_FIELD', `No such column '${name.trim()}' on entity 'Lead'`);
      return field;
    });
  };

  const externalField = (name: string): SalesforceFieldDefinition => {
    const field = schema.field(name);
    if (field === undefined || (field.externalId !== true && field.type !== 'id')) {
      throw httpFailure(
        404,
        'NOT_FOUND',
        `Provided external ID field does not exist or is not accessible: ${name}`,
      );
    }
    return field;
  };

  const methodNotAllowed = (allowed: string) => (c: Context) => {
    throw httpFailure(
      405,
      'METHOD_NOT_ALLOWED',
      `HTTP Method '${c.req.method}' not allowed. Allowed are ${allowed}`,
    );
  };

  // Resources and limits.
  app.get(V, (c) => {
    count('requests.resources');
    const base = `/services/data/v${versionOf(c)}`;
    return c.json({
      sobjects: `${base}/sobjects`,
      query: `${base}/query`,
      queryAll: `${base}/queryAll`,
      limits: `${base}/limits`,
      composite: `${base}/composite`,
      jobs: `${base}/jobs`,
    });
  });

  app.get(`${V}/limits`, (c) => {
    count('requests.limits');
    const processedBatches = bulk.all().filter((job) => job.processingStartsAt !== undefined).length;
    return c.json({
      DailyApiRequests: { Max: dailyLimit, Remaining: Math.max(0, dailyLimit - usage.used()) },
      DailyBulkApiBatches: { Max: 15_000, Remaining: 15_000 - processedBatches },
      DailyBulkV2QueryJobs: { Max: 10_000, Remaining: 10_000 },
      DailyBulkV2QueryFileStorageMB: { Max: 976_562, Remaining: 976_562 },
    });
  });

  // sObject REST.
  app.get(`${V}/sobjects`, (c) => {
    count('requests.sobjects.global');
    const base = `/services/data/v${versionOf(c)}/sobjects/Lead`;
    return c.json({
      encoding: 'UTF-8',
      maxBatchSize: MAX_COLLECTION,
      sobjects: [
        {
          name: 'Lead',
          label: 'Lead',
          keyPrefix: ID_PREFIX.lead,
          createable: true,
          updateable: true,
          deletable: true,
          queryable: true,
          custom: false,
          urls: { sobject: base, describe: `${base}/describe`, rowTemplate: `${base}/{ID}` },
        },
      ],
    });
  });

  app.get(`${V}/sobjects/:object/describe`, (c) => {
    count('requests.sobjects.describe');
    requireLead(c);
    return c.json(schema.describe(versionOf(c)));
  });

  app.get(`${V}/sobjects/:object`, (c) => {
    count('requests.sobjects.info');
    requireLead(c);
    const describe = schema.describe(versionOf(c));
    const { fields: _fields, ...objectDescribe } = describe;
    return c.json({ objectDescribe, recentItems: [] });
  });

  app.post(`${V}/sobjects/:object`, async (c) => {
    count('requests.sobjects.create');
    requireLead(c);
    const values = deserialize(await readJson(c));
    const outcome = store.create(values);
    countOutcome(outcome);
    if (!outcome.ok) throw recordErrorsToFailure(outcome.errors);
    count('status.201');
    return c.json({ id: outcome.id, success: true, errors: [] }, 201);
  });
  app.all(`${V}/sobjects/:object`, methodNotAllowed('GET,HEAD,POST'));

  app.get(`${V}/sobjects/:object/:id`, (c) => {
    count('requests.sobjects.get');
    requireLead(c);
    const record = liveLead(resolveId(c.req.param('id')));
    return c.json(withAttributes(record, versionOf(c), selectedFields(c)));
  });

  app.patch(`${V}/sobjects/:object/:id`, async (c) => {
    count('requests.sobjects.update');
    requireLead(c);
    const id = resolveId(c.req.param('id'));
    liveLead(id);
    const values = deserialize(await readJson(c));
    const outcome = store.update(id, values);
    countOutcome(outcome);
    if (!outcome.ok) throw recordErrorsToFailure(outcome.errors);
    count('status.204');
    return c.body(null, 204);
  });

  app.delete(`${V}/sobjects/:object/:id`, (c) => {
    count('requests.sobjects.delete');
    requireLead(c);
    const id = resolveId(c.req.param('id'));
    const record = store.get(id);
    if (record === undefined) throw notFound();
    if (!store.delete(id)) throw httpFailure(404, 'ENTITY_IS_DELETED', 'entity is deleted');
    count('deleted');
    count('status.204');
    return c.body(null, 204);
  });
  app.all(`${V}/sobjects/:object/:id`, methodNotAllowed('GET,PATCH,DELETE'));

  const byExternalId = (
    c: Context,
  ): { field: SalesforceFieldDefinition; value: string; matches: LeadRecord[] } => {
    requireLead(c);
    const field = externalField(c.req.param('field') ?? '');
    const value = c.req.param('value') ?? '';
    return { field, value, matches: field.type === 'id' ? [] : store.findBy(field, value) };
  };

  const multipleChoices = (c: Context, matches: readonly string[]) => {
    count('status.300');
    return c.json(
      matches.map((id) => `/services/data/v${versionOf(c)}/sobjects/Lead/${id}`),
      300,
    );
  };

  app.get(`${V}/sobjects/:object/:field/:value`, (c) => {
    count('requests.sobjects.getByExternalId');
    const { field, value, matches } = byExternalId(c);
    if (field.type === 'id')
      return c.json(withAttributes(liveLead(resolveId(value)), versionOf(c), selectedFields(c)));
    if (matches.length > 1)
      return multipleChoices(
        c,
        matches.map((record) => String(record.Id)),
      );
    const match = matches[0];
    if (match === undefined) throw notFound();
    return c.json(withAttributes(match, versionOf(c), selectedFields(c)));
  });

  app.patch(`${V}/sobjects/:object/:field/:value`, async (c) => {
    count('requests.sobjects.upsert');
    const { field, value } = byExternalId(c);
    if (/\.inc$/i.test(value)) throw notFound();
    const body = await readJson(c);
    if (isRecord(body)) {
      for (const name of Object.keys(body)) {
        const named = schema.field(name);
        if (named?.name === 'Id') {
          throw httpFailure(400, 'INVALID_FIELD', 'Id is not allowed in the sObject data of an upsert', [
            'Id',
          ]);
        }
        if (named?.name === field.name) {
          throw httpFailure(
            400,
            'INVALID_FIELD',
            `The ${field.name} field should not be specified in the sobject data.`,
            [field.name],
          );
        }
      }
    }
    const values = deserialize(body);
    const updateOnly = c.req.query('updateOnly') === 'true';
    let outcome: SaveOutcome;
    if (field.type === 'id') {
      const id = resolveId(value);
      liveLead(id);
      outcome = store.update(id, values);
    } else {
      outcome = store.upsert(field, value, values, { updateOnly });
    }
    if (!outcome.ok && 'multipleIds' in outcome) {
      count('failed');
      return multipleChoices(c, outcome.multipleIds);
    }
    countOutcome(outcome);
    if (!outcome.ok) {
      if (outcome.errors[0]?.statusCode === 'NOT_FOUND') throw notFound();
      throw recordErrorsToFailure(outcome.errors);
    }
    if (outcome.created) {
      count('status.201');
      return c.json({ id: outcome.id, success: true, errors: [], created: true }, 201);
    }
    if (majorOf(c) >= 46) {
      count('status.200');
      return c.json({ id: outcome.id, success: true, errors: [], created: false }, 200);
    }
    count('status.204');
    return c.body(null, 204);
  });

  app.delete(`${V}/sobjects/:object/:field/:value`, (c) => {
    count('requests.sobjects.deleteByExternalId');
    const { field, value, matches } = byExternalId(c);
    const ids = field.type === 'id' ? [resolveId(value)] : matches.map((record) => String(record.Id));
    if (ids.length > 1) return multipleChoices(c, ids);
    const id = ids[0];
    if (id === undefined || !store.delete(id)) throw notFound();
    count('deleted');
    count('status.204');
    return c.body(null, 204);
  });
  app.all(`${V}/sobjects/:object/:field/:value`, methodNotAllowed('GET,PATCH,DELETE'));

  // sObject Collections.
  const readCollection = async (c: Context): Promise<{ allOrNone: boolean; records: unknown[] }> => {
    const body = await readJson(c);
    if (!isRecord(body) || !Array.isArray(body.records)) {
      throw httpFailure(400, 'JSON_PARSER_ERROR', 'The request body must be an object with a records array');
    }
    if (body.allOrNone !== undefined && typeof body.allOrNone !== 'boolean') {
      throw httpFailure(400, 'JSON_PARSER_ERROR', 'allOrNone must be a boolean');
    }
    if (body.records.length > MAX_COLLECTION) {
      throw httpFailure(
        400,
        'EXCEEDED_ID_LIMIT',
        `record limit reached. cannot submit more than ${MAX_COLLECTION} records into this call`,
      );
    }
    return { allOrNone: body.allOrNone === true, records: body.records };
  };

  type CollectionItem =
    | { readonly kind: 'save'; readonly run: () => SaveOutcome }
    | { readonly kind: 'error'; readonly errors: SalesforceRecordError[] };

  const recordType = (raw: unknown, required: boolean): SalesforceRecordError[] => {
    const attributes = isRecord(raw) ? raw.attributes : undefined;
    const type = isRecord(attributes) ? attributes.type : undefined;
    if (type === undefined) {
      return required
        ? [{ statusCode: 'INVALID_TYPE', message: 'Must send a concrete entity type.', fields: [] }]
        : [];
    }
    if (typeof type !== 'string' || type.toLowerCase() !== 'lead') {
      return [
        {
          statusCode: 'INVALID_TYPE',
          message: `sObject type '${String(type)}' is not supported.`,
          fields: [],
        },
      ];
    }
    return [];
  };

  const runCollection = (
    c: Context,
    allOrNone: boolean,
    items: readonly CollectionItem[],
    includeCreated: boolean,
  ) => {
    const snapshot = allOrNone ? store.snapshot() : undefined;
    const outcomes: SaveOutcome[] = items.map((item) => {
      if (item.kind === 'error') return { ok: false, errors: item.errors };
      if (partialFailureRate > 0 && random() < partialFailureRate) {
        return {
          ok: false,
          errors: [
            {
              statusCode: 'UNABLE_TO_LOCK_ROW',
              message: 'unable to obtain exclusive access to this record or 1 records',
              fields: [],
            },
          ],
        };
      }
      return item.run();
    });
    const rolledBack = snapshot !== undefined && outcomes.some((outcome) => !outcome.ok);
    if (rolledBack) store.restore(snapshot);
    const body = outcomes.map((outcome) => {
      if (outcome.ok && !rolledBack) {
        countOutcome(outcome);
        return {
          id: outcome.id,
          success: true,
          errors: [],
          ...(includeCreated ? { created: outcome.created } : {}),
        };
      }
      count('failed');
      const errors = outcome.ok
        ? [
            {
              statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
              message:
                'Record rolled back because not all records were valid and the request was using AllOrNone header',
              fields: [],
            },
          ]
        : outcome.errors;
      return { success: false, errors, ...(includeCreated ? { created: false } : {}) };
    });
    count('status.200');
    return c.json(body, 200);
  };

  app.patch(`${V}/composite/sobjects/:object/:field`, async (c) => {
    count('requests.composite.upsert');
    requireLead(c);
    const field = externalField(c.req.param('field') ?? '');
    const { allOrNone, records } = await readCollection(c);
    const keys = records.map((raw) =>
      isRecord(raw) ? (raw[field.name] ?? raw[c.req.param('field') ?? '']) : undefined,
    );
    const keyCounts = new Map<string, number>();
    for (const key of keys) {
      if (typeof key === 'string' || typeof key === 'number') {
        const normalized = field.caseSensitive === true ? String(key) : String(key).toLowerCase();
        keyCounts.set(normalized, (keyCounts.get(normalized) ?? 0) + 1);
      }
    }
    const items: CollectionItem[] = records.map((raw, index) => {
      const typeErrors = recordType(raw, false);
      if (typeErrors.length > 0) return { kind: 'error', errors: typeErrors };
      const values = deserialize(raw);
      const key = keys[index];
      values.delete(field.name);
      if (key === undefined || key === null || key === '') {
        return {
          kind: 'error',
          errors: [{ statusCode: 'MISSING_ARGUMENT', message: `${field.name} not specified`, fields: [] }],
        };
      }
      const keyText = String(key);
      if ((keyCounts.get(field.caseSensitive === true ? keyText : keyText.toLowerCase()) ?? 0) > 1) {
        return {
          kind: 'error',
          errors: [
            {
              statusCode: 'DUPLICATE_EXTERNAL_ID',
              message: `Duplicate external id specified: ${keyText}`,
              fields: [field.name],
            },
          ],
        };
      }
      if (values.has('Id')) {
        return {
          kind: 'error',
          errors: [
            {
              statusCode: 'INVALID_FIELD',
              message: 'Id is not allowed in an upsert by external id',
              fields: ['Id'],
            },
          ],
        };
      }
      if (field.type === 'id') {
        const id = normalizeId(keyText, ID_PREFIX.lead);
        if (id === undefined) {
          return {
            kind: 'error',
            errors: [
              {
                statusCode: 'MALFORMED_ID',
                message: `Lead ID: id value of incorrect type: ${keyText}`,
                fields: ['Id'],
              },
            ],
          };
        }
        return { kind: 'save', run: () => store.update(id, values) };
      }
      return { kind: 'save', run: () => store.upsert(field, keyText, values) };
    });
    return runCollection(c, allOrNone, items, true);
  });
  app.all(`${V}/composite/sobjects/:object/:field`, methodNotAllowed('PATCH'));

  app.post(`${V}/composite/sobjects`, async (c) => {
    count('requests.composite.create');
    const { allOrNone, records } = await readCollection(c);
    const items: CollectionItem[] = records.map((raw) => {
      const typeErrors = recordType(raw, true);
      if (typeErrors.length > 0) return { kind: 'error', errors: typeErrors };
      const values = deserialize(raw);
      return { kind: 'save', run: () => store.create(values) };
    });
    return runCollection(c, allOrNone, items, false);
  });

  app.patch(`${V}/composite/sobjects`, async (c) => {
    count('requests.composite.update');
    const { allOrNone, records } = await readCollection(c);
    const items: CollectionItem[] = records.map((raw) => {
      const typeErrors = recordType(raw, true);
      if (typeErrors.length > 0) return { kind: 'error', errors: typeErrors };
      const values = deserialize(raw);
      const rawId = values.get('Id');
      values.delete('Id');
      if (typeof rawId !== 'string' || rawId === '') {
        return {
          kind: 'error',
          errors: [
            { statusCode: 'MISSING_ARGUMENT', message: 'Id not specified in an update call', fields: [] },
          ],
        };
      }
      const id = normalizeId(rawId, ID_PREFIX.lead);
      if (id === undefined) {
        return {
          kind: 'error',
          errors: [
            {
              statusCode: 'MALFORMED_ID',
              message: `Lead ID: id value of incorrect type: ${rawId}`,
              fields: ['Id'],
            },
          ],
        };
      }
      return { kind: 'save', run: () => store.update(id, values) };
    });
    return runCollection(c, allOrNone, items, false);
  });
  app.all(`${V}/composite/sobjects`, methodNotAllowed('POST,PATCH'));

  // SOQL.
  const page = (c: Context, locator: string, cursor: QueryCursor, offset: number) => {
    const rows = cursor.rows.slice(offset, offset + cursor.batchSize);
    const nextOffset = offset + rows.length;
    const done = nextOffset >= cursor.rows.length;
    if (done) cursors.delete(locator);
    else cursor.expiresAt = now() + QUERY_LOCATOR_TTL_MS;
    return c.json({
      totalSize: cursor.totalSize,
      done,
      ...(done ? {} : { nextRecordsUrl: `/services/data/v${versionOf(c)}/query/${locator}-${nextOffset}` }),
      records: rows,
    });
  };

  const runQuery = (c: Context, includeDeleted: boolean) => {
    const soql = c.req.query('q');
    if (soql === undefined || soql.trim() === '') {
      throw httpFailure(400, 'MALFORMED_QUERY', 'A query string has to be specified');
    }
    const query = parseSoql(soql, schema, now);
    const records = store.all().filter((record) => includeDeleted || record.IsDeleted !== true);
    const result = runSoql(query, records);
    if (query.count) return c.json({ totalSize: result.length, done: true, records: [] });
    const rows = result.map((record) => withAttributes(record, versionOf(c), query.fields));
    const header = c.req.header('sforce-query-options') ?? '';
    const requested = /batchSize\s*=\s*(\d+)/i.exec(header)?.[1];
    const batchSize =
      requested === undefined
        ? defaultBatchSize
        : Math.min(2000, Math.max(200, Number.parseInt(requested, 10)));
    locatorSequence += 1;
    const locator = salesforceId(ID_PREFIX.queryLocator, locatorSequence);
    const cursor: QueryCursor = {
      rows,
      batchSize,
      totalSize: rows.length,
      expiresAt: now() + QUERY_LOCATOR_TTL_MS,
    };
    cursors.set(locator, cursor);
    return page(c, locator, cursor, 0);
  };

  const queryMore = (c: Context) => {
    const match = /^(.+)-(\d+)$/.exec(c.req.param('locator') ?? '');
    const cursor = match === null ? undefined : cursors.get(match[1] ?? '');
    if (match === null || cursor === undefined || cursor.expiresAt <= now()) {
      if (match !== null) cursors.delete(match[1] ?? '');
      throw httpFailure(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
    }
    return page(c, match[1] ?? '', cursor, Number(match[2]));
  };

  app.get(`${V}/query`, (c) => {
    count('requests.query');
    return runQuery(c, false);
  });
  app.get(`${V}/queryAll`, (c) => {
    count('requests.queryAll');
    return runQuery(c, true);
  });
  app.get(`${V}/query/:locator`, (c) => {
    count('requests.query.more');
    return queryMore(c);
  });
  app.get(`${V}/queryAll/:locator`, (c) => {
    count('requests.query.more');
    return queryMore(c);
  });

  // Bulk API 2.0 ingest.
  const J = `${V}/jobs/ingest`;
  app.post(J, async (c) => {
    count('requests.jobs.create');
    const job = bulk.create(await readJson(c), majorOf(c));
    const { numberRecordsProcessed: _p, numberRecordsFailed: _f, retries: _r, ...info } = bulk.info(job);
    const {
      totalProcessingTime: _t,
      apiActiveProcessingTime: _a,
      apexProcessingTime: _x,
      jobType: _j,
      ...created
    } = info;
    count('status.200');
    return c.json(created, 200);
  });
  app.get(J, (c) => {
    count('requests.jobs.list');
    return c.json({
      done: true,
      records: bulk.all().map((job) => bulk.info(job)),
      nextRecordsUrl: null,
    });
  });
  app.all(J, methodNotAllowed('GET,POST'));

  app.put(`${J}/:id/batches`, async (c) => {
    count('requests.jobs.upload');
    const contentType = c.req.header('content-type') ?? '';
    if (!contentType.toLowerCase().startsWith('text/csv')) {
      throw httpFailure(
        400,
        'INVALIDCONTENTTYPE',
        `Content-Type ${contentType || '(none)'} is not supported; upload job data as text/csv`,
      );
    }
    bulk.upload(c.req.param('id'), await c.req.text());
    count('status.201');
    return c.body(null, 201);
  });
  app.all(`${J}/:id/batches`, methodNotAllowed('PUT'));

  const csvResponse = (c: Context, body: string) => {
    c.header('Content-Type', 'text/csv');
    c.header('Sforce-Locator', 'null');
    c.header(
      'Sforce-NumberOfRecords',
      String(Math.max(0, body.split('\n').filter((line) => line !== '').length - 1)),
    );
    return c.body(body, 200);
  };
  app.get(`${J}/:id/successfulResults`, (c) => {
    count('requests.jobs.successfulResults');
    return csvResponse(c, bulk.successfulResults(bulk.get(c.req.param('id'))));
  });
  app.get(`${J}/:id/failedResults`, (c) => {
    count('requests.jobs.failedResults');
    return csvResponse(c, bulk.failedResults(bulk.get(c.req.param('id'))));
  });
  app.get(`${J}/:id/unprocessedrecords`, (c) => {
    count('requests.jobs.unprocessedrecords');
    return csvResponse(c, bulk.unprocessedRecords(bulk.get(c.req.param('id'))));
  });

  app.get(`${J}/:id`, (c) => {
    count('requests.jobs.get');
    return c.json(bulk.info(bulk.get(c.req.param('id'))));
  });
  app.patch(`${J}/:id`, async (c) => {
    count('requests.jobs.state');
    const job = bulk.changeState(c.req.param('id'), await readJson(c));
    return c.json(bulk.info(job));
  });
  app.delete(`${J}/:id`, (c) => {
    count('requests.jobs.delete');
    bulk.delete(c.req.param('id'));
    count('status.204');
    return c.body(null, 204);
  });
  app.all(`${J}/:id`, methodNotAllowed('GET,PATCH,DELETE'));

  const summary = (job: IngestJob): SalesforceIngestJobSummary => ({
    id: job.id,
    state: job.state,
    operation: job.operation,
    object: job.object,
    externalIdFieldName: job.externalIdFieldName,
    numberRecordsProcessed: job.processed,
    numberRecordsFailed: job.results.filter((result) => result.kind === 'failed').length,
    errorMessage: job.errorMessage,
  });

  const deliver = async (
    batch: OutboundNotification[],
    url: string,
    send: typeof fetch,
  ): Promise<OutboundDelivery> => {
    const body = outboundEnvelope({
      organizationId,
      actionId: salesforceId(ID_PREFIX.outboundAction, 1),
      instanceUrl: lastOrigin,
      apiVersion: `${MAX_VERSION}.0`,
      fields: outboundFields.map((name) => schema.field(name)?.name ?? name),
      datetimeFields,
      notifications: batch,
    });
    let status = 0;
    let answer = '';
    try {
      const response = await send(url, {
        method: 'POST',
        headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: '""' },
        body,
      });
      status = response.status;
      answer = await response.text();
    } catch {
      status = 0;
    }
    const acknowledged = status >= 200 && status < 300 && isAcknowledged(answer);
    count(acknowledged ? 'outbound.acknowledged' : 'outbound.unacknowledged');
    return {
      url,
      notificationIds: batch.map((notification) => notification.id),
      leadIds: batch.map((notification) => String(notification.lead.Id)),
      status,
      acknowledged,
      at: now(),
    };
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
      const field = schema.field(fieldName);
      if (field === undefined || field.externalId !== true) {
        throw new ConfigurationError('invalid_configuration', {
          message: `findLeadByExternalId field: ${fieldName} is not an External ID field of Lead`,
          providerId: 'salesforce',
        });
      }
      const match = store.findBy(field, value)[0];
      return match === undefined ? undefined : present(match);
    },
    jobs: () => {
      bulk.advance();
      return bulk.all().map(summary);
    },
    apiUsage: () => ({ used: usage.used(), limit: dailyLimit }),
    expireTokens: () => tokens.expireAll(),
    setPartialFailureRate: (value) => {
      partialFailureRate = rate('partialFailureRate', value);
    },
    setResponseDelayMs: (ms) => {
      responseDelayMs = positive('responseDelayMs', ms, 0, true);
    },
    setDailyApiRequests: (limit) => {
      dailyLimit = positive('dailyApiRequests', limit, dailyLimit);
    },
    queueOutboundMessages: (leadIds) => {
      if (options.outboundMessages === undefined) {
        throw new ConfigurationError('invalid_configuration', {
          message: 'Salesforce emulator option outboundMessages: set a url before queueing Outbound Messages',
          providerId: 'salesforce',
        });
      }
      for (const id of leadIds) {
        if (store.get(id) === undefined) {
          throw new ConfigurationError('invalid_configuration', {
            message: `queueOutboundMessages leadIds: no Lead with id ${id}`,
            providerId: 'salesforce',
          });
        }
        queueNotification(id);
      }
    },
    deliverOutboundMessages: async () => {
      const settings = options.outboundMessages;
      if (settings === undefined) return [];
      const pending = outboundQueue;
      outboundQueue = [];
      const attempts: OutboundDelivery[] = [];
      for (let start = 0; start < pending.length; start += 100) {
        const batch = pending.slice(start, start + 100);
        const delivery = await deliver(batch, settings.url, settings.fetch ?? fetch);
        deliveries.push(delivery);
        attempts.push(delivery);
        if (!delivery.acknowledged) outboundQueue.push(...batch);
      }
      return attempts;
    },
    outboundDeliveries: () => [...deliveries],
    reset: () => {
      store.clear();
      bulk.clear();
      tokens.clear();
      usage.clear();
      cursors.clear();
      outboundQueue = [];
      deliveries.length = 0;
      leadSequence = 0;
      jobSequence = 0;
      locatorSequence = 0;
      notificationSequence = 0;
      random = seededRandom(context.seed);
      partialFailureRate = rate('partialFailureRate', options.partialFailureRate);
      responseDelayMs = positive('responseDelayMs', options.responseDelayMs, 0, true);
      dailyLimit = positive('dailyApiRequests', options.dailyApiRequests, 100_000);
      registerStaticTokens();
    },
  };
}

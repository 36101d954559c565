import { z } from 'zod';
import type {
  CrmAdapterV1,
  CrmCallOptions,
  CrmChangesPage,
  CrmEvent,
  CrmGetRequest,
  CrmListChangesRequest,
  CrmRecordSnapshot,
  CrmUpsertRequest,
  CrmUpsertResult,
} from '../contracts/crm-adapter.js';
import type { RateLimitPolicy } from '../contracts/rate-limit.js';
import type { InboundWebhookRequest } from '../contracts/webhook.js';
import { parseOptions } from '../options/parse-options.js';
import { correlateUpsertResults } from './correlate-results.js';
import type { CursorCodec } from './cursor-codec.js';
import {
  type CheckedListChangesRequest,
  type CrmRequestRules,
  checkGetRequest,
  checkListChangesRequest,
  checkUpsertRequest,
} from './request-checks.js';

/** One page of changes as a {@link CrmChangesSettings.list} function returns it. */
export interface DefinedChangesPage<Cursor> {
  /** Records changed since the cursor, oldest change first. */
  readonly records: readonly CrmRecordSnapshot[];
  /** Where the page ended; encoded into `nextCursor` with the codec. */
  readonly cursor: Cursor;
  /** Whether more changes are already available. */
  readonly hasMore: boolean;
}

/** How a {@link defineCrmAdapter} adapter lists changes. */
export interface CrmChangesSettings<Cursor> {
  /** Turns the adapter's cursor into the opaque `nextCursor` string and back (see `createCursorCodec`). */
  readonly cursor: CursorCodec<Cursor>;
  /** Largest `limit` a request may ask for. Default: no upper bound. */
  readonly maxLimit?: number;
  /** Read one page, from a checked request whose cursor is already decoded. */
  list(
    request: CheckedListChangesRequest<Cursor>,
    options: CrmCallOptions,
  ): Promise<DefinedChangesPage<Cursor>>;
}

/** Settings of {@link defineCrmAdapter}. */
export interface DefineCrmAdapterSettings<Cursor = unknown> {
  /** Stable adapter id, such as `hubspot`. */
  readonly id: string;
  /** CRM object types the adapter writes and reads. */
  readonly objects: readonly string[];
  /** Most records one upsert or read accepts. */
  readonly maxBatchSize: number;
  /** From this many records the adapter uses the vendor's bulk API. Omit without a bulk mode. */
  readonly bulkThreshold?: number;
  /** The CRM's limits, for the caller's limiter. */
  readonly rateLimits: RateLimitPolicy;
  /** What a property name (`idProperty`, `properties`) of this CRM looks like. */
  readonly propertyName: {
    /** Matches a valid name. */
    readonly pattern: RegExp;
    /** Completes "must be …", such as `a HubSpot property name`. */
    readonly description: string;
  };
  /** Identifies the account or credential in use (never the secret). */
  limiterKey?(): string;
  /**
   * Upsert a checked, non-empty request. Return results in any order, keyed
   * as sent; a record left without a result becomes a retryable `missing_result`.
   */
  upsert(request: CrmUpsertRequest, options: CrmCallOptions): Promise<Iterable<CrmUpsertResult>>;
  /** Read a checked, non-empty request; return the records that exist. */
  get(request: CrmGetRequest, options: CrmCallOptions): Promise<Iterable<CrmRecordSnapshot>>;
  /** Listing of changes, when the CRM offers one. */
  readonly changes?: CrmChangesSettings<Cursor>;
  /** Verify and parse an inbound webhook (the vendor pushes changes); may answer at once or later. */
  parseWebhook?(request: InboundWebhookRequest): CrmEvent[] | Promise<CrmEvent[]>;
}

/** What {@link defineCrmAdapter} returns: a `CrmAdapterV1` whose calls return promises. */
export interface DefinedCrmAdapter extends CrmAdapterV1 {
  /** Checks the request, upserts, and returns one result per record in request order. */
  doUpsert(request: CrmUpsertRequest, options?: CrmCallOptions): Promise<CrmUpsertResult[]>;
  /** Checks the request and reads records by key. */
  doGet(request: CrmGetRequest, options?: CrmCallOptions): Promise<CrmRecordSnapshot[]>;
  /** Present when `changes` was given: checks the request, decodes and encodes cursors. */
  doListChanges?(request: CrmListChangesRequest, options?: CrmCallOptions): Promise<CrmChangesPage>;
  /** Present when `parseWebhook` was given. */
  doParseWebhook?(request: InboundWebhookRequest): Promise<CrmEvent[]>;
}

/** The members {@link defineCrmAdapter} adds for `changes` and `parseWebhook`, typed as present. */
export type DefinedCrmAdapterOf<Settings> = DefinedCrmAdapter &
  (Settings extends Required<Pick<DefineCrmAdapterSettings, 'changes'>> ? DefinedCrmChanges : unknown) &
  (Settings extends Required<Pick<DefineCrmAdapterSettings, 'parseWebhook'>> ? DefinedCrmWebhooks : unknown);

/** `doListChanges` of an adapter defined with `changes`. */
export interface DefinedCrmChanges {
  /** Checks the request, decodes its cursor and encodes the next one. */
  doListChanges(request: CrmListChangesRequest, options?: CrmCallOptions): Promise<CrmChangesPage>;
}

/** `doParseWebhook` of an adapter defined with `parseWebhook`. */
export interface DefinedCrmWebhooks {
  /** Verifies and parses an inbound webhook. */
  doParseWebhook(request: InboundWebhookRequest): Promise<CrmEvent[]>;
}

const isFunction = (message: string) =>
  z.custom<(...args: never[]) => unknown>((value) => typeof value === 'function', message);
const positiveInteger = z.number().int('must be an integer').positive('must be positive');

const settingsSchema = z
  .object({
    id: z
      .string('must be a string')
      .regex(/^[a-z0-9][a-z0-9._-]*$/i, 'must be letters, digits, ".", "_" or "-"'),
    objects: z
      .array(z.string().min(1), 'must be an array of object names')
      .min(1, 'must list at least one object'),
    maxBatchSize: positiveInteger,
    bulkThreshold: positiveInteger.optional(),
    rateLimits: z.object({}).loose(),
    propertyName: z.object({ pattern: z.instanceof(RegExp), description: z.string().min(1) }),
    limiterKey: isFunction('must be a function').optional(),
    upsert: isFunction('must be a function'),
    get: isFunction('must be a function'),
    changes: z
      .object({
        cursor: z.object({
          encode: isFunction('must be a function'),
          decode: isFunction('must be a function'),
        }),
        maxLimit: positiveInteger.optional(),
        list: isFunction('must be a function'),
      })
      .optional(),
    parseWebhook: isFunction('must be a function').optional(),
  })
  .loose();

/**
 * Define a CRM adapter from the vendor calls alone, as `defineProvider` does
 * for providers: the kit checks every request (object, id property, batch
 * size, record keys, property names, limit, cursor, since) with a
 * `ValidationError` naming the field before anything is sent, answers empty
 * requests without a call, joins upsert results back to the records by key
 * (one result per record, in order; none becomes `missing_result`), and
 * decodes and encodes change cursors. For a host app's own CRM, or a vendor
 * adapter package.
 *
 * @example
 * ```ts
 * const crm = defineCrmAdapter({
 *   id: 'internal-crm',
 *   objects: ['people'],
 *   maxBatchSize: 50,
 *   rateLimits: { perSecond: 10 },
 *   propertyName: { pattern: /^[a-z_]+$/, description: 'a snake_case field name' },
 *   async upsert({ records }, { signal }) {
 *     const response = await fetch('https://crm.internal/people/upsert', {
 *       method: 'POST', body: JSON.stringify(records), signal,
 *     });
 *     const body: { email: string; id: string; created: boolean }[] = await response.json();
 *     return body.map((row) => ({ key: row.email, id: row.id, status: row.created ? 'created' : 'updated' }));
 *   },
 *   async get({ keys }) { return []; },
 * });
 * ```
 * @throws ConfigurationError `invalid_configuration` naming each wrong setting.
 */
export function defineCrmAdapter<Settings extends DefineCrmAdapterSettings<unknown>>(
  settings: Settings,
): DefinedCrmAdapterOf<Settings> {
  parseOptions(settingsSchema, settings, {
    name: 'defineCrmAdapter',
    providerId: typeof settings?.id === 'string' ? settings.id : undefined,
  });
  const adapterId = settings.id;
  const rules: CrmRequestRules = {
    adapterId,
    objects: settings.objects,
    maxBatchSize: settings.maxBatchSize,
    propertyName: settings.propertyName,
  };
  const { changes, parseWebhook, limiterKey } = settings;
  const adapter: DefinedCrmAdapter = {
    specificationVersion: 'v1',
    adapterId,
    capabilities: {
      maxBatchSize: settings.maxBatchSize,
      ...(settings.bulkThreshold === undefined ? {} : { bulkThreshold: settings.bulkThreshold }),
      objects: settings.objects,
      rateLimits: settings.rateLimits,
      webhooks: parseWebhook !== undefined,
    },
    ...(limiterKey === undefined ? {} : { limiterKey: () => limiterKey.call(settings) }),
    async doUpsert(request, options = {}) {
      checkUpsertRequest(request, rules);
      if (request.records.length === 0) return [];
      return correlateUpsertResults(request.records, await settings.upsert(request, options), adapterId);
    },
    async doGet(request, options = {}) {
      checkGetRequest(request, rules);
      if (request.keys.length === 0) return [];
      return [...(await settings.get(request, options))];
    },
    ...(changes === undefined
      ? {}
      : {
          async doListChanges(request: CrmListChangesRequest, options: CrmCallOptions = {}) {
            const checked = checkListChangesRequest(request, {
              ...rules,
              decodeCursor: (text) => changes.cursor.decode(text),
              ...(changes.maxLimit === undefined ? {} : { maxLimit: changes.maxLimit }),
            });
            const page = await changes.list(checked, options);
            return {
              records: [...page.records],
              nextCursor: changes.cursor.encode(page.cursor),
              hasMore: page.hasMore,
            };
          },
        }),
    ...(parseWebhook === undefined
      ? {}
      : { doParseWebhook: async (request: InboundWebhookRequest) => parseWebhook.call(settings, request) }),
  };
  return adapter as DefinedCrmAdapterOf<Settings>;
}

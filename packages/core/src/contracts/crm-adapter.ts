import type { ApiErrorCode, ValidationIssue } from './errors.js';
import type { RateLimitPolicy, RateLimitState } from './rate-limit.js';
import type { InboundWebhookRequest } from './webhook.js';

/**
 * A value a CRM property is written with. CRMs store strings, numbers and
 * booleans; dates travel as ISO 8601 strings or epoch milliseconds, as the
 * adapter documents. Empty values are never sent: a mapping omits them.
 */
export type CrmPropertyValue = string | number | boolean;

/** Property values to write, keyed by the CRM's property name (`jobtitle`, `Title`). */
export type CrmProperties = Readonly<Record<string, CrmPropertyValue>>;

/**
 * Property values as read back from a CRM. `null` means the property exists
 * and is empty.
 */
export type CrmPropertySnapshot = Readonly<Record<string, CrmPropertyValue | null>>;

/**
 * One record to upsert. `key` is the value of the request's `idProperty`
 * (an email, an external id); adapters write it under `idProperty` and need
 * not find it in `properties`.
 */
export interface CrmRecord {
  /** Value of the unique id property, such as `ada@example.com`. */
  readonly key: string;
  /** Properties to write. Only these are touched; others keep their values. */
  readonly properties: CrmProperties;
}

/** What a CRM adapter can do: static facts the sync engine plans with. */
export interface CrmCapabilities {
  /**
   * Most records one `doUpsert` or `doGet` call accepts (HubSpot 100). The
   * sync engine sends batches of this size; an adapter with a bulk mode
   * declares `maxBatchSize >= bulkThreshold` and splits smaller batches into
   * its regular calls itself (Salesforce: 10,000, split into collections of 200).
   */
  readonly maxBatchSize: number;
  /**
   * From this many records in one call the adapter switches to the vendor's
   * bulk API (Salesforce Bulk 2.0), whose results come back unordered and
   * later. Omitted when the adapter has no bulk mode.
   */
  readonly bulkThreshold?: number;
  /** CRM object types the adapter writes, such as `contacts` or `Lead`. */
  readonly objects: readonly string[];
  /** The CRM's declared limits, corrected at run time from response headers. */
  readonly rateLimits: RateLimitPolicy;
  /** Whether `doParseWebhook` is implemented and the vendor can push change events. */
  readonly webhooks: boolean;
}

/** Options the sync engine passes to every adapter call. */
export interface CrmCallOptions {
  /** Aborts the call. Adapters must pass it to their HTTP client. */
  readonly signal?: AbortSignal;
  /**
   * Report what response headers said about limits (on success and failure
   * alike). The engine's limiter uses it to pace later calls.
   */
  readonly onRateLimit?: (state: RateLimitState) => void;
}

/** A keyed, idempotent upsert of up to `capabilities.maxBatchSize` records. */
export interface CrmUpsertRequest {
  /** CRM object type, one of `capabilities.objects`. */
  readonly object: string;
  /**
   * The property whose value is `record.key`. It must be unique in the CRM
   * (HubSpot `hasUniqueValue`, a Salesforce external id field).
   */
  readonly idProperty: string;
  /** The records. Keys are unique within a request (the engine merges duplicates). */
  readonly records: readonly CrmRecord[];
  /**
   * Properties the mapping marks `required`. An adapter that drops a value
   * the CRM would refuse (a value outside a restricted picklist) must fail
   * the record instead when the property is one of these.
   */
  readonly requiredProperties?: readonly string[];
}

/** A record was written (or found already equal). */
export interface CrmUpsertSuccess {
  /** The record's key, as sent. */
  readonly key: string;
  /** What happened: newly `created`, `updated`, or `unchanged` (the CRM already held these values). */
  readonly status: 'created' | 'updated' | 'unchanged';
  /** The CRM's own id of the record. */
  readonly id: string;
  /**
   * Properties the adapter left out to save the record, each with why (a
   * value the CRM would refuse, such as one outside a restricted picklist).
   */
  readonly warnings?: readonly ValidationIssue[];
}

/**
 * Why a record failed. Vendor-neutral codes first; the engine retries a
 * record only when {@link CrmRecordError.retryable} is true.
 * - `validation_failed`: the CRM rejected a property value;
 * - `duplicate_key`: the key matched several records, or two inputs resolved to one;
 * - `locked`: the record was locked by another write (Salesforce `UNABLE_TO_LOCK_ROW`);
 * - `missing_result`: the adapter returned no result for the record;
 * - `adapter_error`: the adapter threw something that is not a leadpipe error;
 * - any {@link ApiErrorCode} for failures the HTTP layer classified.
 */
export type CrmRecordErrorCode =
  | ApiErrorCode
  | 'validation_failed'
  | 'duplicate_key'
  | 'locked'
  | 'missing_result'
  | 'adapter_error';

/** A per-record failure, as the vendor reported it. */
export interface CrmRecordError {
  /** Vendor-neutral code. */
  readonly code: CrmRecordErrorCode;
  /** Human-readable message, scrubbed of secrets. */
  readonly message: string;
  /** Whether sending the same record again may succeed. */
  readonly retryable: boolean;
  /** The vendor's own code, such as `INVALID_EMAIL_ADDRESS` or `VALIDATION_ERROR`. */
  readonly vendorCode?: string;
  /** How long to wait before trying again, when the vendor said. */
  readonly retryAfterMs?: number;
  /**
   * The vendor's raw error for this record, JSON-safe and scrubbed of secrets
   * with `redactValue` (adapters scrub; the engine scrubs again before storing).
   */
  readonly raw?: unknown;
}

/** A record failed. */
export interface CrmUpsertFailure {
  /** The record's key, as sent. */
  readonly key: string;
  /** Always `failed`. */
  readonly status: 'failed';
  /** Why. */
  readonly error: CrmRecordError;
}

/** The outcome of one record of a {@link CrmUpsertRequest}. */
export type CrmUpsertResult = CrmUpsertSuccess | CrmUpsertFailure;

/** A read of records by key. */
export interface CrmGetRequest {
  /** CRM object type. */
  readonly object: string;
  /** The unique property the keys are values of. */
  readonly idProperty: string;
  /** Keys to read, at most `capabilities.maxBatchSize`. */
  readonly keys: readonly string[];
  /** Properties to return. Adapters may return more. */
  readonly properties: readonly string[];
}

/** A record as read from the CRM. */
export interface CrmRecordSnapshot {
  /** The record's key (value of the id property). */
  readonly key: string;
  /** The CRM's own id. */
  readonly id: string;
  /** Current property values. */
  readonly properties: CrmPropertySnapshot;
  /** ISO 8601 time of the record's last change, when the CRM says. */
  readonly updatedAt?: string;
}

/** A request for changes since a cursor. */
export interface CrmListChangesRequest {
  /** CRM object type. */
  readonly object: string;
  /**
   * Where the last page ended (`nextCursor` of the previous page). Omitted
   * for the first page, which starts at `since` or at the beginning.
   */
  readonly cursor?: string;
  /** ISO 8601 time to start from when no cursor is given. */
  readonly since?: string;
  /** Properties to return for each record. */
  readonly properties?: readonly string[];
  /** Most records in the page; the adapter may return fewer. */
  readonly limit?: number;
}

/** One page of changed records. */
export interface CrmChangesPage {
  /** Records changed since the cursor, oldest change first. */
  readonly records: readonly CrmRecordSnapshot[];
  /**
   * Opaque cursor to pass as `cursor` for the next page; store it as a
   * checkpoint. Present even on the last page, so a later run resumes there.
   */
  readonly nextCursor: string;
  /** Whether more changes are already available. */
  readonly hasMore: boolean;
}

/** What happened to a CRM record, as a webhook reported it. */
export type CrmEventType =
  | 'record.created'
  | 'record.updated'
  | 'record.deleted'
  | 'record.merged'
  | 'record.restored';

/** One change the CRM pushed to us. */
export interface CrmEvent {
  /** The vendor's event id; deliveries are at least once, so dedupe on it. */
  readonly eventId: string;
  /** What happened. */
  readonly type: CrmEventType;
  /** CRM object type. */
  readonly object: string;
  /** The CRM's own id of the record. */
  readonly recordId: string;
  /** ISO 8601 time the change happened in the CRM; deliveries arrive out of order. */
  readonly occurredAt: string;
  /** Properties that changed, with their new values, when the event carries them. */
  readonly properties?: CrmPropertySnapshot;
  /** What caused the change, such as `IMPORT` or `API`, when the vendor says. */
  readonly changeSource?: string;
  /** The vendor's payload for this event, scrubbed of secrets. */
  readonly raw?: unknown;
}

/**
 * A CRM that leads are synced into: the contract every CRM adapter
 * implements (version 1). Methods are prefixed `do` because the sync engine
 * calls them, wrapped in limits, retries, dedupe and dead-lettering; host
 * code should go through `createCrmSync()`.
 *
 * Writes are keyed, idempotent upserts only: an adapter must never search
 * for a record and then create it.
 */
export interface CrmAdapterV1 {
  /** Contract version. */
  readonly specificationVersion: 'v1';
  /** Stable id, such as `hubspot`. Used for limits, reports, events and dead letters. */
  readonly adapterId: string;
  /** What the adapter can do. */
  readonly capabilities: CrmCapabilities;
  /**
   * A key identifying the account or credential in use (a portal id, a
   * hash; never the secret), so limiters are per CRM and account. Defaults
   * to `default`.
   */
  readonly limiterKey?: () => string;
  /**
   * Upsert records by key. Resolves with exactly one result per record, in
   * any order (bulk results come back unordered; the engine joins on `key`).
   * Rejects with a `LeadpipeError` (usually an `ApiCallError`) only when the
   * whole call failed: 429, 5xx, network, auth.
   */
  doUpsert(request: CrmUpsertRequest, options: CrmCallOptions): PromiseLike<CrmUpsertResult[]>;
  /**
   * Read records by key. Resolves with the records that exist, in any order;
   * keys with no record are left out. Rejects like `doUpsert`.
   */
  doGet(request: CrmGetRequest, options: CrmCallOptions): PromiseLike<CrmRecordSnapshot[]>;
  /** Read one page of records changed since a cursor. */
  doListChanges?(request: CrmListChangesRequest, options: CrmCallOptions): PromiseLike<CrmChangesPage>;
  /**
   * Verify and parse an inbound webhook. Rejects with a
   * `WebhookVerificationError` when the signature is missing, wrong or too old.
   */
  doParseWebhook?(request: InboundWebhookRequest): PromiseLike<CrmEvent[]>;
  /**
   * Release what the adapter holds (limiters, timers, token refreshes,
   * connections). Whoever built the adapter calls it once, when done with
   * it; an adapter that holds nothing leaves it out. Faces call
   * `adapter.close?.()`.
   */
  close?(): Promise<void>;
}

/** The current CRM adapter contract. */
export type CrmAdapter = CrmAdapterV1;

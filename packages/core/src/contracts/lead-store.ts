import type { ValidationIssue } from './errors.js';
import type { LeadField, Seniority } from './fields.js';
import type { Lead } from './lead.js';

/**
 * How a stored lead and an incoming one are merged, field by field, with the
 * waterfall's rules: an empty value never overwrites one, and a field is
 * taken when the lead has none, or when
 * - `highestConfidence` (the default): the incoming value's provenance is
 *   more confident, or as confident and newer;
 * - `newest`: the incoming value's provenance is newer (or as new).
 */
export type LeadStoreMergePolicy = 'highestConfidence' | 'newest';

/** What one lead of {@link LeadStoreV1.upsert} did. */
export type LeadUpsertStatus = 'created' | 'updated' | 'unchanged' | 'rejected';

/** The outcome of one lead of {@link LeadStoreV1.upsert}, in the order given. */
export interface LeadUpsertOutcome {
  /** What happened to the lead. */
  readonly status: LeadUpsertStatus;
  /** Id of the stored lead (the stored one's, not the incoming one's, when an existing lead was merged); absent when rejected. */
  readonly id?: string;
  /** The identity key the lead was matched by (`email:…`, `domain:…`); absent when rejected. */
  readonly identity?: string;
  /** Why the lead was refused (`rejected` only): the field and the reason. */
  readonly issues?: readonly ValidationIssue[];
}

/** A range of exact headcounts, both ends included. */
export interface HeadcountFilter {
  /** Smallest headcount included. */
  readonly min?: number;
  /** Largest headcount included. */
  readonly max?: number;
}

/**
 * Filters of a lead query; every filter given must hold (AND). Text filters
 * compare case-insensitively unless noted.
 */
export interface LeadStoreFilter {
  /** Domain of the person's email, such as `acme.com`. */
  readonly emailDomain?: string;
  /** `company.domain`, such as `acme.com`. */
  readonly companyDomain?: string;
  /** `company.industry`, matched exactly but case-insensitively. */
  readonly industry?: string;
  /** `company.headcount` inside the range. */
  readonly headcount?: HeadcountFilter;
  /** ISO 3166-1 alpha-2 code of the person's `location.countryCode`, such as `DE`. */
  readonly country?: string;
  /** One seniority level, or any of several. */
  readonly seniority?: Seniority | readonly Seniority[];
  /** Words that must all appear in the title (full-text, word by word, prefixes not matched). */
  readonly title?: string;
  /** Leads updated at or after this ISO 8601 time. */
  readonly updatedSince?: string;
  /**
   * Custom fields that must equal the given value (string, number or
   * boolean). Names must be in the store's `customFields` whitelist.
   */
  readonly custom?: Readonly<Record<string, string | number | boolean>>;
}

/** A field a query can return: a lead field path, or `id`, `createdAt`, `updatedAt`, `custom`, `provenance`. */
export type LeadStoreFieldName = LeadField | 'id' | 'createdAt' | 'updatedAt' | 'custom' | 'provenance';

/** The query of {@link LeadStoreV1.query} and {@link LeadStoreV1.count}. */
export interface LeadStoreQuery {
  /** Filters, all of which must hold. */
  readonly where?: LeadStoreFilter;
  /** Full-text search over full name, title and company name: every word must match (prefixes too). */
  readonly search?: string;
  /**
   * The fields to return; `id` is always returned. Default: every field of
   * the lead. Name few: the store reads only what is asked for.
   */
  readonly fields?: readonly LeadStoreFieldName[];
  /** `id` (UUIDv7, oldest first; the default) or `updatedAt` (least recently updated first, then `id`). */
  readonly orderBy?: 'id' | 'updatedAt';
  /** Page size, 1 to 100. Default 50. */
  readonly limit?: number;
  /** `nextCursor` of the previous page of the same query. */
  readonly cursor?: string;
}

/**
 * A lead as a query returns it: `id` and the fields asked for (a lead field
 * the lead lacks is absent).
 */
export interface LeadStoreRecord extends Partial<Lead> {
  /** The lead's id, always returned. */
  readonly id: string;
}

/** One page of {@link LeadStoreV1.query}. */
export interface LeadStorePage {
  /** The leads of the page, in the query's order. */
  readonly leads: readonly LeadStoreRecord[];
  /** Cursor of the next page; absent on the last page (a full last page may still return one whose page is empty). */
  readonly nextCursor?: string;
}

/** What {@link LeadStoreV1.count} answers. */
export interface LeadStoreCount {
  /** How many leads match: exact when `exact`, else the planner's estimate. */
  readonly count: number;
  /** Whether `count` is exact. */
  readonly exact: boolean;
}

/** Where {@link LeadStoreV1.erase} removed a person from, and how many records from each place. */
export interface LeadEraseReport {
  /** The normalized email erased. */
  readonly email: string;
  /** Each place that held the person (`leads`, `outbox`, `archive`, `cache`, `deadLetters`, `checkpointResults`), with the records removed; places that held nothing are listed with 0. */
  readonly removed: Readonly<Record<string, number>>;
}

/** The person {@link LeadEraseTarget.erase} removes: their normalized email and the ids of their stored leads. */
export interface ErasedPerson {
  /** The normalized email. */
  readonly email: string;
  /** Ids of the person's leads (stored or archived) before the erase. */
  readonly leadIds: readonly string[];
}

/**
 * Another place that keeps people (an answer cache, a dead-letter queue, a
 * checkpoint's answers), which a lead store's `erase` clears too and names
 * in its report: see `eraseTargets` of `createMemoryLeadStore`.
 */
export interface LeadEraseTarget {
  /** Name of the place in the erase report, such as `cache` or `deadLetters`. */
  readonly place: string;
  /**
   * Remove every record that names the person (their email as a whole
   * address, or one of their lead ids); resolves with how many, or, for a
   * target that keeps several kinds of record (a campaign store's
   * enrollments, sends, events), with a count per kind: each key is then a
   * place of the report in `place`'s stead.
   */
  erase(person: ErasedPerson): Promise<number | Readonly<Record<string, number>>>;
}

/**
 * One field a `lead.updated` changed, with the value it held before the
 * change (the new value is the stored lead's).
 */
export interface LeadFieldChange {
  /**
   * The field's path: a lead field (`title`, `company.headcount`,
   * `location`; see `LEAD_FIELDS`) or `custom.<name>` for a custom field
   * (the name is everything after the first dot).
   */
  readonly field: string;
  /** The value before the change, as stored (JSON); absent when the lead had no value. */
  readonly before?: unknown;
}

/** An event of the outbox, written in the same transaction as the change it reports. */
export interface LeadStoreEvent {
  /** Position in the outbox: pass the last one seen as `after` to read on. */
  readonly position: string;
  /** `lead.created` or `lead.updated`. */
  readonly type: 'lead.created' | 'lead.updated';
  /** Id of the lead. */
  readonly leadId: string;
  /** ISO 8601 time of the change. */
  readonly at: string;
  /**
   * What a `lead.updated` changed: each changed field (lead fields in
   * `LEAD_FIELDS` order, then custom fields by name) with its value before,
   * written in the same transaction as the change. Only the changed fields,
   * never the whole lead; `updatedAt` and provenance are not listed.
   *
   * Optional within v1 (added after the first release; the contract version
   * stays `v1`): absent on `lead.created`, and on a `lead.updated` a store
   * wrote without it (an outbox row from before the store recorded changes,
   * a host app's store that does not). Readers treat its absence as
   * "what changed is unknown", never as "nothing changed".
   */
  readonly changes?: readonly LeadFieldChange[];
}

/** Options of {@link LeadStoreV1.readOutbox}. */
export interface LeadOutboxReadOptions {
  /** Read events after this position (exclusive). Default: from the start. */
  readonly after?: string;
  /** Most events read, 1 to 1,000. Default 100. */
  readonly limit?: number;
}

/** Options of {@link LeadStoreV1.retain}. */
export interface LeadRetentionOptions {
  /** Archive leads not updated for this many days (their `updatedAt` older than now minus the days). */
  readonly archiveAfterDays?: number;
  /** Purge archived leads not updated for this many days (measured, like `archiveAfterDays`, from their last update). */
  readonly purgeAfterDays?: number;
}

/** What {@link LeadStoreV1.retain} did. */
export interface LeadRetentionReport {
  /** Leads moved to the archive. */
  readonly archived: number;
  /** Archived leads purged for good. */
  readonly purged: number;
}

/** A lead {@link LeadStoreV1.import} refused. */
export interface LeadImportRejection {
  /** Position of the lead in the stream, from 0. */
  readonly index: number;
  /** Why it was refused. */
  readonly issues: readonly ValidationIssue[];
}

/** What {@link LeadStoreV1.import} did. */
export interface LeadImportReport {
  /** Leads read. */
  readonly read: number;
  /** Leads created. */
  readonly created: number;
  /** Leads updated. */
  readonly updated: number;
  /** Leads already stored as given. */
  readonly unchanged: number;
  /** Leads refused, with their position in the stream and the issues. */
  readonly rejected: readonly LeadImportRejection[];
}

/**
 * Where leads live, queried by the fields people filter by: the contract a
 * host app points at its own database (`@leadpipe/store-postgres`) or keeps
 * in memory for tests (`createMemoryLeadStore()`).
 *
 * Leads are keyed by their identity (`leadIdentityKey`: normalized email, or
 * domain for a company-only lead). Bad input never throws from `upsert`: the
 * lead is `rejected` with its issues and the others are stored. A bad query
 * (an unknown field, a malformed or foreign cursor, a page size over 100, a
 * custom field not whitelisted) rejects with a `ValidationError` naming the
 * field.
 */
export interface LeadStoreV1 {
  /** The contract version. */
  readonly specificationVersion: 'v1';
  /** Upsert leads by identity, merging field by field with provenance; one outcome per lead, in order. */
  upsert(leads: readonly Lead[]): Promise<readonly LeadUpsertOutcome[]>;
  /** The stored lead with this id, or `undefined`. */
  get(id: string): Promise<Lead | undefined>;
  /** The stored lead with this email (normalized before the lookup), or `undefined`. */
  getByEmail(email: string): Promise<Lead | undefined>;
  /** One page of leads matching the query. */
  query(query?: LeadStoreQuery): Promise<LeadStorePage>;
  /** How many leads match the query's `where` and `search` (its other members are ignored). */
  count(query?: LeadStoreQuery): Promise<LeadStoreCount>;
  /** Every lead matching the query's `where` and `search`, with its `fields`, page by page, as a stream. */
  export(query?: LeadStoreQuery): AsyncIterable<LeadStoreRecord>;
  /** Upsert a stream of leads in batches; memory is bounded by the batch size. */
  import(leads: AsyncIterable<Lead> | Iterable<Lead>): Promise<LeadImportReport>;
  /** Remove the person with this email from the store and every other place it keeps them; says where. */
  erase(email: string): Promise<LeadEraseReport>;
  /** Archive stale leads and purge old archived ones, by the store's clock. */
  retain(options: LeadRetentionOptions): Promise<LeadRetentionReport>;
  /** Outbox events in order, after a position. */
  readOutbox(options?: LeadOutboxReadOptions): Promise<readonly LeadStoreEvent[]>;
  /** Release connections and files. */
  close(): Promise<void>;
}

/** Largest page of {@link LeadStoreV1.query}. */
export const LEAD_STORE_MAX_PAGE = 100;

/** Page size of {@link LeadStoreV1.query} when none is given. */
export const LEAD_STORE_DEFAULT_PAGE = 50;

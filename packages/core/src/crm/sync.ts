import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import type {
  CrmAdapterV1,
  CrmCallOptions,
  CrmChangesPage,
  CrmListChangesRequest,
  CrmProperties,
  CrmPropertyValue,
  CrmRecord,
  CrmRecordError,
  CrmRecordErrorCode,
  CrmRecordSnapshot,
  CrmUpsertResult,
} from '../contracts/crm-adapter.js';
import type { DeadLetterEntry, DeadLetterQueue } from '../contracts/dead-letter-queue.js';
import { ApiCallError, ConfigurationError, LeadpipeError, ValidationError } from '../contracts/errors.js';
import type { Lead } from '../contracts/lead.js';
import { redactSecrets, redactValue } from '../contracts/secrets.js';
import {
  createLimiterRegistry,
  type LimiterRegistry,
  type LimiterRegistryOptions,
  type ProviderLimiter,
  withRetry,
} from '../limits/index.js';
import { createMemoryDeadLetterQueue } from '../stores/memory-dead-letter-queue.js';
import { type CrmSyncEvent, emitCrmEvent } from './events.js';
import {
  type CrmFieldMapping,
  type CrmFieldMappingDefinition,
  defineFieldMapping,
  isFieldMapping,
  mapLead,
  mergeCrmProperties,
  normalizeCrmKey,
} from './mapping.js';

/** One CRM to sync into: an adapter and how leads map onto one of its objects. */
export interface CrmSyncTarget {
  /** The CRM adapter. */
  readonly adapter: CrmAdapterV1;
  /** The mapping; a plain definition is checked with `defineFieldMapping()`. */
  readonly mapping: CrmFieldMapping | CrmFieldMappingDefinition;
  /**
   * A limiter to use instead of the registry's one for this adapter, such as
   * one shared with other code calling the same account.
   */
  readonly limiter?: ProviderLimiter;
}

/** Backoff of retries (5xx, timeouts, network, retryable record failures). Passed to `withRetry`. */
export interface CrmSyncRetryOptions {
  /** Retries after the first attempt. */
  readonly retries?: number;
  /** First backoff, in ms. */
  readonly minTimeoutMs?: number;
  /** Longest backoff, in ms. */
  readonly maxTimeoutMs?: number;
}

/** A lead that could not be mapped for a CRM, and why. */
export interface CrmSyncReject {
  /** The CRM adapter. */
  readonly adapterId: string;
  /** The CRM object. */
  readonly object: string;
  /** The lead's id (`unknown` when the input was not a lead). */
  readonly leadId: string;
  /** Every reason, naming the CRM property. */
  readonly issues: readonly {
    /** The CRM property refused, such as `jobtitle` (`lead` when the input was not a lead). */
    readonly field: string;
    /** Why, such as a missing required value or a transform that threw (scrubbed of secrets). */
    readonly reason: string;
  }[];
}

/** Options of {@link createCrmSync}. */
export interface CrmSyncOptions {
  /** The CRMs to sync into, each with its mapping. (adapterId, object) pairs must be unique. */
  readonly crms: readonly CrmSyncTarget[];
  /** Where permanently failed records go. Default: an in-memory queue. */
  readonly deadLetters?: DeadLetterQueue;
  /**
   * The limiter registry, to share limits with the enrichment engine or
   * across processes (Redis). Default: a registry of the engine's own,
   * disconnected by `close()`.
   */
  readonly limiterRegistry?: LimiterRegistry;
  /**
   * Options of the engine's own registry when `limiterRegistry` is not given.
   * Its 429s are also reported as `crm.rateLimited` events.
   */
  readonly limits?: LimiterRegistryOptions;
  /** Backoff of retries. */
  readonly retry?: CrmSyncRetryOptions;
  /** Batches in flight at once per CRM. Default 2. */
  readonly concurrency?: number;
  /**
   * After this many batches in a row fail as a whole (after retries), a CRM
   * is considered down for the rest of the run: its remaining records go
   * straight to the dead-letter queue, marked retryable, to be redriven
   * later. Auth failures (`unauthorized`, `forbidden`) and `quota_exceeded`
   * take a CRM down at once. Default 3.
   */
  readonly downAfter?: number;
  /** Clock, in epoch ms, for dead-letter times and durations. Default `Date.now`. */
  readonly now?: () => number;
  /** Observes the run. Payloads are scrubbed; a throwing listener is ignored. */
  readonly onEvent?: (event: CrmSyncEvent) => void;
  /** Told about every lead rejected by a mapping (also counted and emitted as `crm.recordRejected`). */
  readonly onRejected?: (reject: CrmSyncReject) => void;
}

/**
 * What happened in one CRM during a run. Every input ends in exactly one of
 * `rejected`, `merged` (folded into another input with the same key),
 * `created`, `updated`, `unchanged` or `deadLettered`, so
 * `received = rejected + merged + created + updated + unchanged + deadLettered`.
 */
export interface CrmSyncTargetReport {
  /** The CRM adapter. */
  readonly adapterId: string;
  /** The CRM object. */
  readonly object: string;
  /** `ok`: nothing failed; `degraded`: some records were dead-lettered; `down`: the CRM went down. */
  readonly status: 'ok' | 'degraded' | 'down';
  /** Inputs (leads, or dead letters on redelivery) seen for this CRM. */
  readonly received: number;
  /** Leads the mapping rejected before any call. */
  readonly rejected: number;
  /** Inputs merged into another with the same key in the same batch. */
  readonly merged: number;
  /** Records created. */
  readonly created: number;
  /** Records updated. */
  readonly updated: number;
  /** Records the CRM already held as sent, or with nothing left to write after the conflict policy. */
  readonly unchanged: number;
  /** Records that ended in failure. Every one is on the dead-letter queue. */
  readonly failed: number;
  /** Records put on the dead-letter queue. */
  readonly deadLettered: number;
  /** Record resubmissions after retryable failures (a record sent three times counts 2). */
  readonly retried: number;
  /** Adapter calls made (`doUpsert` and `doGet`), retries included. */
  readonly calls: number;
  /** Why the CRM went down, when it did. */
  readonly error?: {
    /** Code of the failure that took the CRM down, such as `unauthorized` or `server_error`. */
    readonly code: string;
    /** `<adapterId> is down for this run: ` and that failure's message, scrubbed of secrets. */
    readonly message: string;
  };
}

/** The result of a run: one report per CRM. */
export interface CrmSyncReport {
  /** Inputs read (leads, or dead-letter entries on redelivery). */
  readonly inputs: number;
  /** Dead-letter entries left alone because no configured CRM matches their target and object. */
  readonly unmatched: number;
  /** Run time in ms, by the engine's clock. */
  readonly durationMs: number;
  /** One report per configured CRM, in configuration order. */
  readonly crms: readonly CrmSyncTargetReport[];
}

/** Options of one run. */
export interface CrmSyncRunOptions {
  /** Cancels the run: it rejects with an `aborted` error, and in-flight calls are aborted. */
  readonly signal?: AbortSignal;
}

/** Options of {@link CrmSync.redeliver}. */
export interface CrmRedeliverOptions extends CrmSyncRunOptions {
  /**
   * The queue the entries come from: delivered entries are removed from it,
   * and entries that fail again are updated in it (same id). Default: the
   * engine's own queue.
   */
  readonly queue?: DeadLetterQueue;
}

/** The CRM sync engine. Build it with {@link createCrmSync}. */
export interface CrmSync {
  /** The queue permanent failures go to. */
  readonly deadLetters: DeadLetterQueue;
  /**
   * Map every lead for every CRM and upsert them in batches. Resolves with a
   * report once every lead is in a terminal state in every CRM; one CRM
   * failing does not stop the others. Rejects only when cancelled or when
   * the dead-letter queue itself fails.
   */
  sync(leads: AsyncIterable<Lead> | Iterable<Lead>, options?: CrmSyncRunOptions): Promise<CrmSyncReport>;
  /**
   * Send dead-lettered records again (see {@link redrive}). Each entry goes to
   * the configured CRM matching its target and object; entries matching none
   * are left in the queue and counted as `unmatched`.
   */
  redeliver(
    entries: AsyncIterable<DeadLetterEntry> | Iterable<DeadLetterEntry>,
    options?: CrmRedeliverOptions,
  ): Promise<CrmSyncReport>;
  /**
   * Page through the records changed in one configured CRM since a cursor,
   * through its limiter and retries, until the CRM has no more. Store each
   * page's `nextCursor` as the checkpoint of the next run. Rejects with a
   * `ConfigurationError` when no configured CRM matches `adapterId` and
   * `request.object`, or when the adapter cannot list changes.
   */
  listChanges(
    adapterId: string,
    request: CrmListChangesRequest,
    options?: CrmSyncRunOptions,
  ): AsyncGenerator<CrmChangesPage, void, undefined>;
  /** Disconnect the engine's own limiter registry (not one passed in). */
  close(): Promise<void>;
}

interface Item {
  readonly key: string;
  record: CrmRecord;
  readonly leadIds: string[];
  readonly entryIds: string[];
  priorAttempts: number;
  firstFailedAt: string | undefined;
}

interface Pending {
  readonly item: Item;
  readonly send: CrmRecord;
  attempts: number;
  lastError: CrmRecordError | undefined;
}

interface Counts {
  received: number;
  rejected: number;
  merged: number;
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  deadLettered: number;
  retried: number;
  calls: number;
}

const RECORD_ERROR_CODES: ReadonlySet<string> = new Set<CrmRecordErrorCode>([
  'rate_limited',
  'quota_exceeded',
  'unauthorized',
  'forbidden',
  'invalid_request',
  'not_found',
  'conflict',
  'server_error',
  'timeout',
  'network_error',
  'invalid_response',
  'aborted',
  'validation_failed',
  'duplicate_key',
  'locked',
  'missing_result',
  'adapter_error',
]);

const TAKES_DOWN_AT_ONCE: ReadonlySet<string> = new Set(['unauthorized', 'forbidden', 'quota_exceeded']);

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const upsertResultSchema = z.union([
  z.object({ key: z.string(), status: z.enum(['created', 'updated', 'unchanged']), id: z.string() }),
  z.object({
    key: z.string(),
    status: z.literal('failed'),
    error: z.object({
      code: z.string(),
      message: z.string(),
      retryable: z.boolean(),
      vendorCode: z.string().optional(),
      retryAfterMs: z.number().nonnegative().optional(),
      raw: z.unknown().optional(),
    }),
  }),
]);
const snapshotSchema = z.object({
  key: z.string(),
  id: z.string(),
  properties: z.record(z.string(), scalar.nullable()),
  updatedAt: z.string().optional(),
});
const changesPageSchema = z.object({
  records: z.array(snapshotSchema),
  nextCursor: z.string(),
  hasMore: z.boolean(),
});

/** Turn whatever a call threw into a record error, keeping the vendor's error as `raw`. */
function toRecordError(error: unknown): CrmRecordError {
  if (LeadpipeError.isInstance(error)) {
    const code: CrmRecordErrorCode = ValidationError.isInstance(error)
      ? 'validation_failed'
      : RECORD_ERROR_CODES.has(error.code)
        ? (error.code as CrmRecordErrorCode)
        : 'adapter_error';
    return {
      code,
      message: error.message,
      // A quota resets: such records wait in the dead-letter queue for a redrive, never dropped as permanent.
      retryable: error.isRetryable || error.code === 'quota_exceeded',
      ...(ApiCallError.isInstance(error) && error.vendorCode !== undefined
        ? { vendorCode: error.vendorCode }
        : {}),
      ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
      raw: error.toJSON(),
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    code: 'adapter_error',
    message: redactSecrets(message),
    retryable: false,
    raw: redactValue(error instanceof Error ? { name: error.name, message } : error),
  };
}

function scrubRecordError(error: CrmRecordError): CrmRecordError {
  const code = RECORD_ERROR_CODES.has(error.code) ? error.code : 'adapter_error';
  return redactValue({ ...error, code, message: redactSecrets(String(error.message)) });
}

function isEmptyValue(value: CrmPropertyValue | null | undefined): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

/**
 * Drop the properties a record must not overwrite, given what the CRM holds.
 * A record the CRM does not hold yet (no snapshot) is sent whole.
 */
function applyConflictPolicy(
  properties: CrmProperties,
  guarded: CrmFieldMapping['guardedProperties'],
  snapshot: CrmRecordSnapshot | undefined,
): CrmProperties {
  if (!snapshot) return properties;
  const out: Record<string, CrmPropertyValue> = {};
  for (const [name, value] of Object.entries(properties)) {
    const policy = guarded[name];
    if (policy === 'never') continue;
    if (policy === 'fillEmpty' && !isEmptyValue(snapshot.properties[name])) continue;
    out[name] = value;
  }
  return out;
}

/** Thrown inside the engine to stop a batch whose CRM went down; never escapes it. */
class CrmDownError extends LeadpipeError {
  readonly recordError: CrmRecordError;

  constructor(recordError: CrmRecordError) {
    super('crm_down', { message: recordError.message, isRetryable: false });
    this.recordError = recordError;
  }
}

/**
 * The dead-letter queue failed to store or remove an entry. Ends the run
 * (rejected with code `dead_letter_failed`): going on could lose records.
 */
class DeadLetterWriteError extends LeadpipeError {
  constructor(cause: unknown) {
    super('dead_letter_failed', {
      message: `The dead-letter queue failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      isRetryable: false,
      cause,
    });
  }
}

function abortError(signal: AbortSignal): ApiCallError {
  return new ApiCallError('aborted', { message: 'CRM sync was cancelled', cause: signal.reason });
}

interface ResolvedTarget {
  readonly adapter: CrmAdapterV1;
  readonly mapping: CrmFieldMapping;
  readonly limiter: ProviderLimiter | undefined;
  readonly batchSize: number;
}

function validateOptions(options: CrmSyncOptions): ResolvedTarget[] {
  const problems: string[] = [];
  if (!options || !Array.isArray(options.crms) || options.crms.length === 0) {
    throw new ConfigurationError('invalid_configuration', {
      message: 'createCrmSync: crms: must list at least one CRM',
    });
  }
  const integerAtLeast = (value: number | undefined, min: number, name: string): void => {
    if (value !== undefined && !(Number.isInteger(value) && value >= min)) {
      problems.push(`${name}: must be an integer of at least ${min}`);
    }
  };
  integerAtLeast(options.concurrency, 1, 'concurrency');
  integerAtLeast(options.downAfter, 1, 'downAfter');
  const seen = new Set<string>();
  const targets: ResolvedTarget[] = [];
  options.crms.forEach((target, index) => {
    const adapter = target?.adapter;
    if (adapter?.specificationVersion !== 'v1' || typeof adapter.adapterId !== 'string') {
      problems.push(`crms[${index}].adapter: must be a CrmAdapterV1 (specificationVersion "v1")`);
      return;
    }
    const batchSize = adapter.capabilities?.maxBatchSize;
    if (!(Number.isInteger(batchSize) && batchSize >= 1)) {
      problems.push(`crms[${index}].adapter.capabilities.maxBatchSize: must be a positive integer`);
      return;
    }
    let mapping: CrmFieldMapping;
    try {
      mapping = isFieldMapping(target.mapping) ? target.mapping : defineFieldMapping(target.mapping);
    } catch (error) {
      if (!ValidationError.isInstance(error)) throw error;
      for (const issue of error.issues)
        problems.push(`crms[${index}].mapping.${issue.field}: ${issue.reason}`);
      return;
    }
    if (!adapter.capabilities.objects.includes(mapping.object)) {
      problems.push(
        `crms[${index}].mapping.object: "${mapping.object}" is not one of ${adapter.adapterId}'s objects (${adapter.capabilities.objects.join(', ')})`,
      );
    }
    const id = `${adapter.adapterId}\u0000${mapping.object}`;
    if (seen.has(id))
      problems.push(`crms[${index}]: ${adapter.adapterId} / ${mapping.object} is listed twice`);
    seen.add(id);
    targets.push({ adapter, mapping, limiter: target.limiter, batchSize });
  });
  if (problems.length > 0) {
    throw new ConfigurationError('invalid_configuration', {
      message: `createCrmSync: ${problems.join('; ')}`,
    });
  }
  return targets;
}

/**
 * Create the CRM sync engine: leads in, keyed idempotent upserts out, into
 * one or several CRMs at once.
 *
 * Per CRM, leads are mapped (rejects never reach the CRM), gathered into
 * batches of the adapter's `maxBatchSize` with duplicate keys merged (later
 * non-empty values win), and each batch goes through the CRM's limiter
 * (which owns 429s) inside `withRetry` (which owns 5xx, timeouts and network
 * errors). Records that fail with a retryable error are sent again, alone;
 * permanent failures, and retryable ones once retries run out, go to the
 * dead-letter queue with the vendor's raw error. Results are joined to
 * inputs by key, so adapters may answer in any order.
 *
 * Conflict policy: when a mapping has `fillEmpty` or `never` properties, the
 * engine first reads the batch's records by key (`doGet`, one extra call per
 * batch) and drops the properties that must not be written; the write is
 * still the keyed upsert, so a record can never be created twice. The
 * trade-off: a value written in the CRM between that read and the upsert can
 * be overwritten. Mappings with `overwrite` properties only never read.
 *
 * Memory is bounded by `concurrency` × `maxBatchSize` per CRM: reading the
 * input waits while a CRM has `concurrency` batches in flight.
 *
 * @example
 * ```ts
 * const crmSync = createCrmSync({ crms: [{ adapter: hubspot, mapping: contacts }] });
 * const report = await crmSync.sync(leads);
 * await redrive(crmSync.deadLetters, crmSync); // later: send dead letters again
 * ```
 */
export function createCrmSync(options: CrmSyncOptions): CrmSync {
  const targets = validateOptions(options);
  const deadLetters = options.deadLetters ?? createMemoryDeadLetterQueue();
  const ownRegistry = options.limiterRegistry === undefined;
  let registry: LimiterRegistry | undefined = options.limiterRegistry;
  const now = options.now ?? Date.now;
  const concurrency = options.concurrency ?? 2;
  const downAfter = options.downAfter ?? 3;
  const onEvent = options.onEvent;

  function limiterOf(target: ResolvedTarget): ProviderLimiter {
    if (target.limiter) return target.limiter;
    registry ??= createLimiterRegistry({
      ...options.limits,
      onEvent: (event) => {
        options.limits?.onEvent?.(event);
        if (event.type === 'rateLimited' && targets.some((item) => item.adapter.adapterId === event.id)) {
          emitCrmEvent(onEvent, { type: 'crm.rateLimited', adapterId: event.id, waitMs: event.waitMs });
        }
      },
    });
    return registry.get(
      target.adapter.adapterId,
      target.adapter.limiterKey?.() ?? 'default',
      target.adapter.capabilities.rateLimits,
    );
  }

  /** The work of one run in one CRM. */
  class TargetRun {
    readonly counts: Counts = {
      received: 0,
      rejected: 0,
      merged: 0,
      created: 0,
      updated: 0,
      unchanged: 0,
      failed: 0,
      deadLettered: 0,
      retried: 0,
      calls: 0,
    };
    readonly #target: ResolvedTarget;
    readonly #queue: DeadLetterQueue;
    readonly #signal: AbortSignal;
    readonly #adapterId: string;
    readonly #object: string;
    readonly #inFlight = new Set<Promise<void>>();
    #buffer = new Map<string, Item>();
    #limiter: ProviderLimiter | undefined;
    #consecutiveFailures = 0;
    #down: CrmRecordError | undefined;
    #fatal: { error: unknown } | undefined;

    constructor(target: ResolvedTarget, queue: DeadLetterQueue, signal: AbortSignal) {
      this.#target = target;
      this.#queue = queue;
      this.#signal = signal;
      this.#adapterId = target.adapter.adapterId;
      this.#object = target.mapping.object;
    }

    matches(entry: DeadLetterEntry): boolean {
      return entry.target === this.#adapterId && entry.object === this.#object;
    }

    async addLead(lead: Lead): Promise<void> {
      this.counts.received += 1;
      const leadId = typeof lead?.id === 'string' ? lead.id : 'unknown';
      const mapped =
        typeof lead === 'object' && lead !== null
          ? mapLead(lead, this.#target.mapping)
          : { issues: [{ field: 'lead', reason: 'must be a Lead object' }] };
      if (mapped.issues) {
        this.counts.rejected += 1;
        const reject: CrmSyncReject = {
          adapterId: this.#adapterId,
          object: this.#object,
          leadId,
          issues: mapped.issues,
        };
        emitCrmEvent(onEvent, { type: 'crm.recordRejected', ...reject });
        try {
          options.onRejected?.(reject);
        } catch {
          // The reject is counted and emitted; a failing callback must not break the run.
        }
        return;
      }
      await this.#add({
        key: mapped.record.key,
        record: mapped.record,
        leadIds: [leadId],
        entryIds: [],
        priorAttempts: 0,
        firstFailedAt: undefined,
      });
    }

    async addEntry(entry: DeadLetterEntry): Promise<void> {
      this.counts.received += 1;
      const key = normalizeCrmKey(entry.record.key, this.#target.mapping.idProperty.caseSensitive);
      await this.#add({
        key,
        record: { key, properties: entry.record.properties },
        leadIds: [...entry.leadIds],
        entryIds: [entry.id],
        priorAttempts: entry.attempts,
        firstFailedAt: entry.firstFailedAt,
      });
    }

    async #add(item: Item): Promise<void> {
      this.#throwIfFatal();
      const existing = this.#buffer.get(item.key);
      if (existing) {
        this.counts.merged += 1;
        existing.record = {
          key: existing.key,
          properties: mergeCrmProperties(existing.record.properties, item.record.properties),
        };
        existing.leadIds.push(...item.leadIds);
        existing.entryIds.push(...item.entryIds);
        existing.priorAttempts = Math.max(existing.priorAttempts, item.priorAttempts);
        existing.firstFailedAt ??= item.firstFailedAt;
        return;
      }
      this.#buffer.set(item.key, item);
      if (this.#buffer.size >= this.#target.batchSize) await this.#flush();
    }

    async #flush(): Promise<void> {
      if (this.#buffer.size > 0) {
        const items = [...this.#buffer.values()];
        this.#buffer = new Map();
        const task: Promise<void> = this.#processBatch(items)
          .catch((error: unknown) => {
            this.#fatal ??= { error };
          })
          .finally(() => {
            this.#inFlight.delete(task);
          });
        this.#inFlight.add(task);
      }
      while (this.#inFlight.size >= concurrency) await Promise.race(this.#inFlight);
      this.#throwIfFatal();
    }

    /** Send what is buffered and wait for every batch. */
    async finish(): Promise<void> {
      await this.#flush();
      while (this.#inFlight.size > 0) await Promise.race(this.#inFlight);
      this.#throwIfFatal();
    }

    /** Wait for in-flight batches without sending more (after the run failed). */
    async settle(): Promise<void> {
      while (this.#inFlight.size > 0) await Promise.race(this.#inFlight);
    }

    report(): CrmSyncTargetReport {
      const status = this.#down ? 'down' : this.counts.deadLettered > 0 ? 'degraded' : 'ok';
      return {
        adapterId: this.#adapterId,
        object: this.#object,
        status,
        ...this.counts,
        ...(this.#down ? { error: { code: this.#down.code, message: this.#down.message } } : {}),
      };
    }

    /** A batch already in flight when its CRM went down stops before its next call. */
    #stopIfDown(): void {
      if (this.#down) throw new CrmDownError(this.#down);
    }

    #throwIfFatal(): void {
      if (this.#fatal) throw this.#fatal.error;
    }

    #callOptions(limiter: ProviderLimiter): CrmCallOptions {
      return { signal: this.#signal, onRateLimit: (state) => limiter.update(state) };
    }

    /**
     * One adapter call: `withRetry` (5xx, network) around the limiter (429)
     * around the adapter. `after` runs outside the limiter, once per attempt,
     * and may throw a retryable error to have the attempt retried.
     */
    async #call<T, R = T>(
      call: (callOptions: CrmCallOptions, attempt: number) => PromiseLike<T>,
      hooks: { onAttempt?: (attempt: number) => void; after?: (value: T) => Promise<R> } = {},
    ): Promise<R> {
      this.#limiter ??= limiterOf(this.#target);
      const limiter = this.#limiter;
      return withRetry(
        async (attempt) => {
          this.#stopIfDown();
          hooks.onAttempt?.(attempt);
          const value = await limiter.schedule(
            async () => {
              this.#stopIfDown();
              this.counts.calls += 1;
              return call(this.#callOptions(limiter), attempt);
            },
            { signal: this.#signal },
          );
          return hooks.after ? hooks.after(value) : (value as unknown as R);
        },
        { ...options.retry, signal: this.#signal },
      );
    }

    async #processBatch(items: Item[]): Promise<void> {
      const batch = { created: 0, updated: 0, unchanged: 0, deadLettered: 0 };
      const done = (): void => {
        emitCrmEvent(onEvent, {
          type: 'crm.batchCompleted',
          adapterId: this.#adapterId,
          object: this.#object,
          ...batch,
        });
      };
      if (this.#down) {
        for (const item of items) await this.#deadLetter(item, this.#down, 0);
        batch.deadLettered = items.length;
        done();
        return;
      }
      const { mapping, adapter } = this.#target;
      const guarded = mapping.guardedProperties;
      const guardedNames = Object.keys(guarded);
      let snapshots: Map<string, CrmRecordSnapshot> | undefined;
      if (guardedNames.length > 0) {
        try {
          const found = await this.#call((callOptions) =>
            adapter.doGet(
              {
                object: this.#object,
                idProperty: mapping.idProperty.to,
                keys: items.map((item) => item.key),
                properties: guardedNames,
              },
              callOptions,
            ),
          );
          snapshots = new Map();
          for (const candidate of Array.isArray(found) ? found : []) {
            const parsed = snapshotSchema.safeParse(candidate);
            if (parsed.success) {
              snapshots.set(normalizeCrmKey(parsed.data.key, mapping.idProperty.caseSensitive), parsed.data);
            }
          }
          this.#consecutiveFailures = 0;
        } catch (error) {
          if (this.#signal.aborted) throw abortError(this.#signal);
          if (error instanceof DeadLetterWriteError) throw error;
          const recordError = error instanceof CrmDownError ? error.recordError : toRecordError(error);
          if (!(error instanceof CrmDownError)) this.#wholeCallFailed(recordError);
          for (const item of items) await this.#deadLetter(item, recordError, 1);
          batch.deadLettered = items.length;
          done();
          return;
        }
      }
      const pending = new Map<string, Pending>();
      for (const item of items) {
        const snapshot = snapshots?.get(item.key);
        const properties = applyConflictPolicy(item.record.properties, guarded, snapshot);
        if (snapshot && Object.keys(properties).length === 0) {
          await this.#succeeded(item);
          this.counts.unchanged += 1;
          batch.unchanged += 1;
          continue;
        }
        pending.set(item.key, {
          item,
          send: { key: item.key, properties },
          attempts: 0,
          lastError: undefined,
        });
      }
      if (pending.size === 0) {
        done();
        return;
      }
      const retryableLeft = new ApiCallError('server_error', {
        message: `${adapter.adapterId}: records failed with retryable errors`,
        providerId: adapter.adapterId,
        isRetryable: true,
      });
      try {
        await this.#call(
          async (callOptions, attempt) => {
            const sent = [...pending.values()];
            emitCrmEvent(onEvent, {
              type: 'crm.batchSent',
              adapterId: this.#adapterId,
              object: this.#object,
              records: sent.length,
              attempt,
            });
            const results = await adapter.doUpsert(
              {
                object: this.#object,
                idProperty: mapping.idProperty.to,
                records: sent.map((entry) => entry.send),
              },
              callOptions,
            );
            if (!Array.isArray(results)) {
              throw new ApiCallError('invalid_response', {
                message: `${adapter.adapterId}: doUpsert must resolve with an array of results`,
                providerId: adapter.adapterId,
              });
            }
            return { sent, results };
          },
          {
            onAttempt: (attempt) => {
              for (const entry of pending.values()) entry.attempts += 1;
              if (attempt > 1) {
                this.counts.retried += pending.size;
                emitCrmEvent(onEvent, {
                  type: 'crm.recordsRetrying',
                  adapterId: this.#adapterId,
                  object: this.#object,
                  records: pending.size,
                  attempt,
                });
              }
            },
            after: async ({ sent, results }) => {
              await this.#applyResults(sent, results, pending, batch);
              if (pending.size > 0) throw retryableLeft;
            },
          },
        );
        this.#consecutiveFailures = 0;
      } catch (error) {
        if (this.#signal.aborted) throw abortError(this.#signal);
        if (error instanceof DeadLetterWriteError) throw error;
        const callError =
          error === retryableLeft
            ? undefined
            : error instanceof CrmDownError
              ? error.recordError
              : toRecordError(error);
        if (error === retryableLeft) this.#consecutiveFailures = 0;
        else if (callError && !(error instanceof CrmDownError)) this.#wholeCallFailed(callError);
        for (const entry of pending.values()) {
          const recordError = callError ?? entry.lastError ?? toRecordError(error);
          await this.#deadLetter(entry.item, recordError, entry.attempts);
          batch.deadLettered += 1;
        }
      }
      done();
    }

    async #applyResults(
      sent: readonly Pending[],
      results: readonly unknown[],
      pending: Map<string, Pending>,
      batch: { created: number; updated: number; unchanged: number; deadLettered: number },
    ): Promise<void> {
      const caseSensitive = this.#target.mapping.idProperty.caseSensitive;
      const byKey = new Map<string, CrmUpsertResult>();
      for (const candidate of results) {
        const parsed = upsertResultSchema.safeParse(candidate);
        if (!parsed.success) continue;
        const key = normalizeCrmKey(parsed.data.key, caseSensitive);
        if (!byKey.has(key)) byKey.set(key, parsed.data as CrmUpsertResult);
      }
      let pauseMs = 0;
      for (const entry of sent) {
        const result = byKey.get(entry.item.key);
        if (!result) {
          entry.lastError = {
            code: 'missing_result',
            message: `${this.#adapterId} returned no result for this record`,
            retryable: true,
          };
          continue;
        }
        if (result.status !== 'failed') {
          await this.#succeeded(entry.item);
          pending.delete(entry.item.key);
          this.counts[result.status] += 1;
          batch[result.status] += 1;
          continue;
        }
        const error = scrubRecordError(result.error);
        if (!error.retryable) {
          await this.#deadLetter(entry.item, error, entry.attempts);
          pending.delete(entry.item.key);
          batch.deadLettered += 1;
          continue;
        }
        entry.lastError = error;
        if (error.code === 'rate_limited' && error.retryAfterMs !== undefined) {
          pauseMs = Math.max(pauseMs, error.retryAfterMs);
        }
      }
      if (pauseMs > 0) this.#limiter?.pauseUntil(now() + pauseMs, 'records rate limited');
    }

    #wholeCallFailed(error: CrmRecordError): void {
      if (this.#down) return;
      this.#consecutiveFailures += 1;
      if (TAKES_DOWN_AT_ONCE.has(error.code) || this.#consecutiveFailures >= downAfter) {
        this.#down = {
          code: error.code,
          message: `${this.#adapterId} is down for this run: ${error.message}`,
          retryable: true,
          ...(error.vendorCode !== undefined ? { vendorCode: error.vendorCode } : {}),
          raw: error.raw,
        };
        emitCrmEvent(onEvent, {
          type: 'crm.down',
          adapterId: this.#adapterId,
          object: this.#object,
          code: error.code,
          message: error.message,
        });
      }
    }

    async #succeeded(item: Item): Promise<void> {
      if (item.entryIds.length === 0) return;
      try {
        await this.#queue.remove(item.entryIds);
      } catch (error) {
        throw new DeadLetterWriteError(error);
      }
    }

    async #deadLetter(item: Item, error: CrmRecordError, attempts: number): Promise<void> {
      const at = new Date(now()).toISOString();
      const [entryId = uuidv7(), ...merged] = item.entryIds;
      const entry: DeadLetterEntry = {
        id: entryId,
        target: this.#adapterId,
        object: this.#object,
        idProperty: this.#target.mapping.idProperty.to,
        record: item.record,
        leadIds: item.leadIds,
        error: scrubRecordError(error),
        attempts: item.priorAttempts + attempts,
        firstFailedAt: item.firstFailedAt ?? at,
        lastFailedAt: at,
      };
      try {
        await this.#queue.put(entry);
        if (merged.length > 0) await this.#queue.remove(merged);
      } catch (cause) {
        throw new DeadLetterWriteError(cause);
      }
      this.counts.failed += 1;
      this.counts.deadLettered += 1;
      emitCrmEvent(onEvent, {
        type: 'crm.recordDeadLettered',
        adapterId: this.#adapterId,
        object: this.#object,
        entryId,
        leadIds: item.leadIds,
        code: entry.error.code,
        retryable: entry.error.retryable,
      });
    }
  }

  async function run<T>(
    inputs: AsyncIterable<T> | Iterable<T>,
    queue: DeadLetterQueue,
    signal: AbortSignal | undefined,
    dispatch: (runs: readonly TargetRun[], input: T) => Promise<boolean>,
  ): Promise<CrmSyncReport> {
    const started = now();
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(signal?.reason);
    if (signal?.aborted) throw abortError(signal);
    signal?.addEventListener('abort', onAbort, { once: true });
    const runs = targets.map((target) => new TargetRun(target, queue, controller.signal));
    let count = 0;
    let unmatched = 0;
    try {
      for await (const input of inputs) {
        if (controller.signal.aborted) throw abortError(controller.signal);
        count += 1;
        if (!(await dispatch(runs, input))) unmatched += 1;
      }
      await Promise.all(runs.map((targetRun) => targetRun.finish()));
      if (controller.signal.aborted) throw abortError(controller.signal);
    } catch (error) {
      if (!controller.signal.aborted) controller.abort(error);
      await Promise.all(runs.map((targetRun) => targetRun.settle()));
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    return {
      inputs: count,
      unmatched,
      durationMs: Math.max(0, now() - started),
      crms: runs.map((targetRun) => targetRun.report()),
    };
  }

  return {
    deadLetters,
    sync(leads, runOptions = {}) {
      return run(leads, deadLetters, runOptions.signal, async (runs, lead: Lead) => {
        for (const targetRun of runs) await targetRun.addLead(lead);
        return true;
      });
    },
    redeliver(entries, runOptions = {}) {
      return run(
        entries,
        runOptions.queue ?? deadLetters,
        runOptions.signal,
        async (runs, entry: DeadLetterEntry) => {
          const targetRun = runs.find((candidate) => candidate.matches(entry));
          if (!targetRun) return false;
          await targetRun.addEntry(entry);
          return true;
        },
      );
    },
    async *listChanges(adapterId, request, runOptions = {}) {
      const target = targets.find(
        (candidate) =>
          candidate.adapter.adapterId === adapterId && candidate.mapping.object === request?.object,
      );
      if (!target) {
        throw new ConfigurationError('invalid_configuration', {
          message: `listChanges: no configured CRM is ${adapterId} / ${String(request?.object)}`,
          providerId: adapterId,
        });
      }
      const { adapter } = target;
      const listChanges = adapter.doListChanges;
      if (!listChanges) {
        throw new ConfigurationError('invalid_configuration', {
          message: `listChanges: CRM adapter "${adapterId}" cannot list changes (no doListChanges)`,
          providerId: adapterId,
        });
      }
      const limiter = limiterOf(target);
      const signal = runOptions.signal;
      let cursor = request.cursor;
      for (;;) {
        const pageRequest: CrmListChangesRequest = {
          ...request,
          ...(cursor === undefined ? {} : { cursor }),
        };
        const page = await withRetry(
          async () => {
            const raw = await limiter.schedule(
              () =>
                Promise.resolve(
                  listChanges.call(adapter, pageRequest, {
                    signal,
                    onRateLimit: (state) => limiter.update(state),
                  }),
                ),
              { signal },
            );
            const parsed = changesPageSchema.safeParse(raw);
            if (!parsed.success) {
              throw new ApiCallError('invalid_response', {
                message: `${adapterId}: doListChanges returned an invalid page (${parsed.error.issues[0]?.path.join('.') || 'page'}: ${parsed.error.issues[0]?.message})`,
                providerId: adapterId,
              });
            }
            return parsed.data as CrmChangesPage;
          },
          { ...options.retry, signal },
        );
        yield page;
        if (!page.hasMore) return;
        if (page.nextCursor === cursor) {
          throw new ApiCallError('invalid_response', {
            message: `${adapterId}: doListChanges said there is more but returned the same cursor`,
            providerId: adapterId,
            isRetryable: false,
          });
        }
        cursor = page.nextCursor;
      }
    },
    async close() {
      if (ownRegistry && registry) await registry.disconnect();
      registry = undefined;
    },
  };
}

/**
 * Send dead-lettered records again, page by page: entries that now succeed
 * are removed from `queue`; entries that fail again stay, updated (same id,
 * more attempts, new error). Only entries `filter` accepts are sent; the
 * conflict policy is applied again against the CRM's current values.
 *
 * @example
 * ```ts
 * // After HubSpot came back up: resend what failed with retryable errors.
 * const report = await redrive(crmSync.deadLetters, crmSync, (entry) => entry.error.retryable);
 * ```
 */
export function redrive(
  queue: DeadLetterQueue,
  engine: CrmSync,
  filter?: (entry: DeadLetterEntry) => boolean,
  options: CrmSyncRunOptions & { readonly pageSize?: number } = {},
): Promise<CrmSyncReport> {
  async function* entries(): AsyncGenerator<DeadLetterEntry> {
    let cursor: string | undefined;
    do {
      const page = await queue.list({
        ...(cursor === undefined ? {} : { cursor }),
        limit: options.pageSize ?? 100,
      });
      for (const entry of page.entries) if (!filter || filter(entry)) yield entry;
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  }
  return engine.redeliver(entries(), { queue, ...(options.signal ? { signal: options.signal } : {}) });
}

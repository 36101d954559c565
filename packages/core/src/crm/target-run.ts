// One CRM's run: map leads and merge duplicate keys into records, buffer them into batches, run at
// most `concurrency` batches at once and report. Writing a batch is target-batch.ts's (the upsert
// retry loop target-upsert.ts's); how a record ends, target-settle.ts's; the adapter calls,
// target-calls.ts's; the state they share, target-state.ts's.
import pLimit, { type LimitFunction } from 'p-limit';
import type { DeadLetterEntry } from '../contracts/dead-letter-queue.js';
import type { Lead } from '../contracts/lead.js';
import { mapLead, mergeCrmProperties, normalizeCrmKey } from './mapping.js';
import { CrmBatchWriter } from './target-batch.js';
import { Item, type ItemOutcome } from './target-item.js';
import { type CrmTargetRunContext, createTargetRunState, type TargetRunState } from './target-state.js';
import type { CrmSyncReject, CrmSyncTargetReport, CrmTargetOutcome } from './types.js';

/** How a lead ended up in {@link CrmTargetRun.addLead}: refused by the mapping, or in a record on its way. */
export type CrmLeadSlot =
  | { readonly kind: 'rejected'; readonly outcome: CrmTargetOutcome }
  | { readonly kind: 'record'; readonly outcome: Promise<CrmTargetOutcome> };

/**
 * The work of one CRM for one run (a session, a `sync` call or a redelivery):
 * map leads, merge duplicate keys into records, batch them to the adapter's
 * `maxBatchSize`, run at most `concurrency` batches at once (p-limit), and
 * write each batch with an explicit retry loop over its pending records.
 * Every record ends created, updated, unchanged or dead-lettered; "down"
 * ({@link CrmHealth}) spans every batch of the run.
 */
export class CrmTargetRun {
  readonly #ctx: CrmTargetRunContext;
  readonly #adapterId: string;
  readonly #object: string;
  readonly #limit: LimitFunction;
  readonly #batches = new Set<Promise<void>>();
  /** The counts, health and events the run's batches share. */
  readonly #run: TargetRunState;
  readonly #writer: CrmBatchWriter;
  #buffer = new Map<string, Item>();
  #fatal: { readonly error: unknown } | undefined;

  /** @param ctx - the run's dependencies. */
  constructor(ctx: CrmTargetRunContext) {
    this.#ctx = ctx;
    this.#run = createTargetRunState(ctx);
    this.#adapterId = this.#run.adapterId;
    this.#object = this.#run.object;
    this.#limit = pLimit(ctx.concurrency);
    this.#writer = new CrmBatchWriter(this.#run);
  }

  /** Whether a dead-letter entry belongs to this CRM and object. */
  matches(entry: DeadLetterEntry): boolean {
    return entry.target === this.#adapterId && entry.object === this.#object;
  }

  /**
   * Map `lead` and buffer its record (merged into a buffered one with the
   * same key). Waits while `concurrency` batches are in flight.
   */
  async addLead(lead: Lead): Promise<CrmLeadSlot> {
    this.#run.counts.received += 1;
    const leadId = typeof lead?.id === 'string' ? lead.id : 'unknown';
    const mapped =
      typeof lead === 'object' && lead !== null
        ? mapLead(lead, this.#ctx.target.mapping)
        : { issues: [{ field: 'lead', reason: 'must be a Lead object' }] };
    if (mapped.issues) {
      this.#run.counts.rejected += 1;
      const reject: CrmSyncReject = {
        adapterId: this.#adapterId,
        object: this.#object,
        leadId,
        issues: mapped.issues,
      };
      this.#run.emit({ type: 'crm.recordRejected', ...reject });
      try {
        this.#ctx.onRejected?.(reject);
      } catch {
        // The reject is counted, emitted and returned; a failing callback changes nothing.
      }
      return {
        kind: 'rejected',
        outcome: {
          adapterId: this.#adapterId,
          object: this.#object,
          status: 'rejected',
          issues: mapped.issues,
        },
      };
    }
    const item = await this.#add(
      new Item({
        record: mapped.record,
        leadIds: [leadId],
        entryIds: [],
        priorAttempts: 0,
        firstFailedAt: undefined,
      }),
    );
    const outcome = item.outcome.then((settled) => this.#targetOutcome(settled));
    outcome.catch(() => undefined);
    return { kind: 'record', outcome };
  }

  /** Buffer a dead-letter entry to send again. Waits while `concurrency` batches are in flight. */
  async addEntry(entry: DeadLetterEntry): Promise<void> {
    this.#run.counts.received += 1;
    const key = normalizeCrmKey(entry.record.key, this.#ctx.target.mapping.idProperty.caseSensitive);
    await this.#add(
      new Item({
        record: { key, properties: entry.record.properties },
        leadIds: [...entry.leadIds],
        entryIds: [entry.id],
        priorAttempts: entry.attempts,
        firstFailedAt: entry.firstFailedAt,
      }),
    );
  }

  /** Send what is buffered as a batch (even a short one), then wait until a batch slot is free. */
  async flush(): Promise<void> {
    this.#throwIfFatal();
    if (this.#buffer.size > 0) {
      const items = [...this.#buffer.values()];
      this.#buffer = new Map();
      const batch: Promise<void> = this.#limit(() => this.#writer.processBatch(items))
        .catch((error: unknown) => {
          for (const item of items) item.fail(error);
          this.#fatal ??= { error };
          this.#ctx.onFatal(error);
        })
        .finally(() => {
          this.#batches.delete(batch);
        });
      this.#batches.add(batch);
    }
    // FIFO: this no-op runs once fewer than `concurrency` batches are running.
    await this.#limit(() => undefined);
    this.#throwIfFatal();
  }

  /** Send what is buffered and wait for every batch. Rejects with the error that failed a batch, if any. */
  async finish(): Promise<void> {
    await this.flush();
    await this.#drain();
    this.#throwIfFatal();
  }

  /** After the run failed: fail buffered records with `error` and wait for batches in flight. */
  async settle(error: unknown): Promise<void> {
    for (const item of this.#buffer.values()) item.fail(error);
    this.#buffer = new Map();
    await this.#drain();
  }

  /** The report of this CRM so far. */
  report(): CrmSyncTargetReport {
    const down = this.#run.health.down;
    const status = down ? 'down' : this.#run.counts.deadLettered > 0 ? 'degraded' : 'ok';
    return {
      adapterId: this.#adapterId,
      object: this.#object,
      status,
      ...this.#run.counts,
      ...(down ? { error: { code: down.code, message: down.message } } : {}),
    };
  }

  async #drain(): Promise<void> {
    while (this.#batches.size > 0) await Promise.allSettled([...this.#batches]);
  }

  async #add(item: Item): Promise<Item> {
    this.#throwIfFatal();
    const existing = this.#buffer.get(item.key);
    if (existing) {
      this.#run.counts.merged += 1;
      existing.record = {
        key: existing.key,
        properties: mergeCrmProperties(existing.record.properties, item.record.properties),
      };
      existing.leadIds.push(...item.leadIds);
      existing.entryIds.push(...item.entryIds);
      existing.priorAttempts = Math.max(existing.priorAttempts, item.priorAttempts);
      existing.firstFailedAt ??= item.firstFailedAt;
      return existing;
    }
    this.#buffer.set(item.key, item);
    if (this.#buffer.size >= this.#ctx.target.batchSize) await this.flush();
    return item;
  }

  #targetOutcome(settled: ItemOutcome): CrmTargetOutcome {
    return { adapterId: this.#adapterId, object: this.#object, ...settled };
  }

  #throwIfFatal(): void {
    if (this.#fatal) throw this.#fatal.error;
  }
}

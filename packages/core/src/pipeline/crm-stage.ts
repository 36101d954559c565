import type { DeadLetterQueue } from '../contracts/dead-letter-queue.js';
import type { ValidationIssue } from '../contracts/errors.js';
import type { Lead } from '../contracts/lead.js';
import {
  type CrmLeadOutcome,
  type CrmSync,
  type CrmSyncEvent,
  type CrmSyncOptions,
  type CrmSyncTargetReport,
  createCrmSync,
} from '../crm/index.js';
import type { PipelineDeadLetterError } from './report.js';

/** How one lead's CRM writes ended. */
export type CrmStageOutcome =
  | {
      /** Every CRM took the lead. */
      readonly kind: 'written';
    }
  | {
      /** A CRM mapping refused the lead (and no CRM dead-lettered it). */
      readonly kind: 'rejected';
      /** Every reason, named `crm.<adapterId>.<property>`. */
      readonly issues: readonly ValidationIssue[];
    }
  | {
      /** A CRM failed the lead for good: its record is on the dead-letter queue. Wins over a reject. */
      readonly kind: 'deadLettered';
      /** One error per CRM that failed. */
      readonly errors: readonly PipelineDeadLetterError[];
    };

/** The CRM stage of a pipeline: the CRM sync engine, and a session of it per run. */
export interface CrmStage {
  /** The CRM sync engine (for `redrive` through the pipeline). */
  readonly sync: CrmSync;
  /** Open the session of one run: "down" spans every write of it. */
  open(signal: AbortSignal): CrmStageSession;
}

/** The CRM session of one run, as the pipeline uses it. */
export interface CrmStageSession {
  /**
   * Write leads to every CRM. Resolves once each lead is in a terminal state
   * in every CRM, with one outcome per lead in the order given; rejects when
   * the session is aborted or the dead-letter queue failed.
   */
  write(leads: readonly Lead[]): Promise<readonly CrmStageOutcome[]>;
  /** Wait for writes in progress and end the session: the run's report per CRM and object. */
  close(): Promise<readonly CrmSyncTargetReport[]>;
  /** The report so far per CRM and object: what finished, also after an abort. */
  report(): readonly CrmSyncTargetReport[];
}

/** Options of {@link createCrmStage}. */
export interface CrmStageOptions {
  /** The CRMs, each with its mapping. */
  readonly crms: CrmSyncOptions['crms'];
  /** Other settings of the CRM sync. */
  readonly crmOptions?: Omit<CrmSyncOptions, 'crms' | 'deadLetters' | 'onEvent'> | undefined;
  /** Where dead-lettered records go. */
  readonly deadLetters: DeadLetterQueue;
  /** Told every CRM sync event (to re-emit it); it only observes. */
  readonly onEvent: (event: CrmSyncEvent) => void;
}

/**
 * A lead's CRM outcome as the pipeline counts it: a dead letter in any CRM
 * (one error per CRM that dead-lettered it, naming its queue entry) wins
 * over a reject by any mapping (issues named `crm.<adapterId>.<property>`);
 * else it was written everywhere.
 */
export function toStageOutcome(outcome: CrmLeadOutcome): CrmStageOutcome {
  if (outcome.status === 'deadLettered') {
    const errors: PipelineDeadLetterError[] = [];
    for (const target of outcome.targets) {
      if (target.status !== 'deadLettered') continue;
      errors.push({
        target: target.adapterId,
        code: target.error.code,
        message: `${target.adapterId}/${target.object}: record dead-lettered (entry ${target.entryId})`,
        retryable: target.error.retryable,
      });
    }
    return { kind: 'deadLettered', errors };
  }
  if (outcome.status === 'rejected') {
    const issues: ValidationIssue[] = [];
    for (const target of outcome.targets) {
      if (target.status !== 'rejected') continue;
      for (const issue of target.issues) {
        issues.push({ field: `crm.${target.adapterId}.${issue.field}`, reason: issue.reason });
      }
    }
    return { kind: 'rejected', issues };
  }
  return { kind: 'written' };
}

/**
 * The CRM stage over `createCrmSync`: one session per run, so a CRM that is
 * down is found out once for the run, not once per batch. Each lead's
 * terminal state is the session's return value, never an event.
 */
export function createCrmStage(options: CrmStageOptions): CrmStage {
  const sync = createCrmSync({
    ...options.crmOptions,
    crms: options.crms,
    deadLetters: options.deadLetters,
    onEvent: options.onEvent,
  });
  return {
    sync,
    open(signal) {
      const session = sync.open({ signal });
      return {
        async write(leads) {
          const outcomes = await session.write(leads);
          return outcomes.map(toStageOutcome);
        },
        async close() {
          return (await session.close()).crms;
        },
        report() {
          return session.report().crms;
        },
      };
    },
  };
}

/**
 * The leads waiting for a CRM write, and the linger timer of a partial batch:
 * the first lead of an empty buffer starts the timer; when it fires, the
 * batch is due even if not full. This is the pipeline's one batcher: the
 * session sends each write as it comes (split only above an adapter's
 * `maxBatchSize`), so writing leads one by one would make batches of one.
 */
export class CrmBatchBuffer<Item> {
  readonly #lingerMs: number;
  readonly #onDue: () => void;
  #items: Item[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lingerExpired = false;

  /**
   * @param lingerMs - how long a partial batch waits for more, in ms (0: no timer).
   * @param onDue - told when the linger time of a partial batch ran out.
   */
  constructor(lingerMs: number, onDue: () => void) {
    this.#lingerMs = lingerMs;
    this.#onDue = onDue;
  }

  /** Items waiting. */
  get length(): number {
    return this.#items.length;
  }

  /** Whether the linger time of the waiting items ran out. */
  get lingerExpired(): boolean {
    return this.#lingerExpired;
  }

  /** Add an item; starts the linger timer when none runs. */
  add(item: Item): void {
    this.#items.push(item);
    if (this.#timer === undefined && this.#lingerMs > 0) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#lingerExpired = true;
        this.#onDue();
      }, this.#lingerMs);
      this.#timer.unref?.();
    }
  }

  /** Take up to `max` items, oldest first; an emptied buffer stops its timer. */
  take(max: number): Item[] {
    const taken = this.#items.splice(0, max);
    if (this.#items.length === 0) this.#reset();
    return taken;
  }

  /** Take every item and stop the timer. */
  clear(): Item[] {
    const taken = this.#items;
    this.#items = [];
    this.#reset();
    return taken;
  }

  #reset(): void {
    this.#lingerExpired = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

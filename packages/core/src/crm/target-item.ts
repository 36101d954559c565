// One record on its way to a CRM (an Item: one lead, several merged by key, or a dead-letter entry
// sent again) and what became of it (ItemOutcome), settled once by the batch that writes it.
import type { CrmRecord, CrmRecordError } from '../contracts/crm-adapter.js';
import type { ValidationIssue } from '../contracts/errors.js';

/** What became of one record in this CRM. */
export type ItemOutcome =
  | {
      readonly status: 'created' | 'updated' | 'unchanged';
      readonly id: string;
      readonly warnings?: readonly ValidationIssue[];
    }
  | { readonly status: 'deadLettered'; readonly entryId: string; readonly error: CrmRecordError };

/** One record to write: one lead, or several merged by key, or a dead-letter entry sent again. */
export class Item {
  /** The record sent: its key and properties (merged ones included). */
  record: CrmRecord;
  /** The leads the record stands for. */
  readonly leadIds: string[];
  /** The dead-letter entries it is sent again from. */
  readonly entryIds: string[];
  /** Attempts earlier runs made (a dead-letter entry's `attempts`). */
  priorAttempts: number;
  /** When a dead-letter entry it is sent again from first failed. */
  firstFailedAt: string | undefined;
  /** Settles once the record is terminal; rejects only when the run fails. Never unhandled. */
  readonly outcome: Promise<ItemOutcome>;
  #resolve: (outcome: ItemOutcome) => void = () => undefined;
  #reject: (error: unknown) => void = () => undefined;

  /** @param fields - the record, the leads and entries it stands for, and their earlier attempts. */
  constructor(fields: {
    record: CrmRecord;
    leadIds: string[];
    entryIds: string[];
    priorAttempts: number;
    firstFailedAt: string | undefined;
  }) {
    this.record = fields.record;
    this.leadIds = fields.leadIds;
    this.entryIds = fields.entryIds;
    this.priorAttempts = fields.priorAttempts;
    this.firstFailedAt = fields.firstFailedAt;
    this.outcome = new Promise<ItemOutcome>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.outcome.catch(() => undefined);
  }

  /** The record's key (normalized). */
  get key(): string {
    return this.record.key;
  }

  /** The record is terminal: resolve {@link Item.outcome}. */
  settle(outcome: ItemOutcome): void {
    this.#resolve(outcome);
  }

  /** The run failed before the record was terminal: reject {@link Item.outcome}. */
  fail(error: unknown): void {
    this.#reject(error);
  }
}

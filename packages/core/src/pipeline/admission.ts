import type { ValidationIssue } from '../contracts/errors.js';
import type { Lead } from '../contracts/lead.js';
import { type CountryCode, leadIdentityKey, safeCreateLead } from '../lead/index.js';
import type { ColumnResolver } from './columns.js';
import type { PipelineStage } from './report.js';
import { isSourceRow } from './source.js';

/** A row as read: its number, its file line, its values by column. */
export interface Row {
  /** The row's 1-based number in the input. */
  readonly rowNumber: number;
  /** The file line the row ended on, when read from a file. */
  readonly line: number | undefined;
  /** The row's values, by column. */
  readonly values: Readonly<Record<string, unknown>>;
  /** The input's columns, in order. */
  readonly columns: readonly string[];
  /** Why the row could not be read, when it could not. */
  readonly readIssues: readonly ValidationIssue[] | undefined;
}

/**
 * A row as the pipeline sees it: a `SourceRow` keeps its number and line; a
 * plain object is numbered by its `position` (1-based) in the source;
 * anything else is a row that cannot be read.
 */
export function toRow(value: unknown, position: number): Row {
  if (isSourceRow(value)) {
    return {
      rowNumber: value.rowNumber,
      line: value.line,
      values: value.values,
      columns: value.columns,
      readIssues: value.issues,
    };
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const values = value as Record<string, unknown>;
    return {
      rowNumber: position,
      line: undefined,
      values,
      columns: Object.keys(values),
      readIssues: undefined,
    };
  }
  return {
    rowNumber: position,
    line: undefined,
    values: {},
    columns: [],
    readIssues: [{ field: 'row', reason: 'must be an object of column values' }],
  };
}

/** What to do with a row, decided by {@link admitRow}. */
export type Admission =
  | {
      /** The row cannot be read or validated: it ends rejected with these issues. */
      readonly kind: 'rejected';
      /** `read` or `validate`. */
      readonly stage: PipelineStage;
      /** Every reason. */
      readonly issues: readonly ValidationIssue[];
    }
  | {
      /** An earlier run finished the row: it is skipped. */
      readonly kind: 'skipped';
    }
  | {
      /** The row's identity was seen before: it is folded into that row and ends done. */
      readonly kind: 'duplicate';
      /** The lead, as validated. */
      readonly lead: Lead;
      /** The first row with the same identity. */
      readonly duplicateOf: number;
    }
  | {
      /** A new lead: it goes on to enrichment and the CRMs. */
      readonly kind: 'task';
      /** The lead, as validated. */
      readonly lead: Lead;
    };

/** What {@link admitRow} needs besides the row. */
export interface AdmissionContext {
  /** Maps the row's columns to lead paths. */
  readonly resolver: ColumnResolver;
  /** Country for phone numbers without a country code. */
  readonly defaultCountry: CountryCode | undefined;
  /** The time to stamp the lead with. */
  readonly now: Date;
  /** Whether an earlier run finished this row (the checkpoint's answer). */
  readonly finished: boolean;
  /**
   * Remember `identity` for `rowNumber` unless it is known: returns the row
   * first seen with it, or `undefined` when it is new (the dedupe table).
   */
  readonly firstRowOf: (identity: string, rowNumber: number) => number | undefined;
}

/**
 * Decide a row's way: rejected (cannot be read or validated), skipped
 * (finished by an earlier run), duplicate (its identity was seen before) or
 * a task (a new lead to enrich and sync). A finished row is skipped whatever
 * its content, but its identity is still remembered, so that later
 * duplicates of it are folded as in the first run.
 */
export function admitRow(row: Row, context: AdmissionContext): Admission {
  if (row.readIssues && row.readIssues.length > 0) {
    return context.finished
      ? { kind: 'skipped' }
      : { kind: 'rejected', stage: 'read', issues: row.readIssues };
  }
  const mapped = context.resolver.toLeadInput(row.values);
  if (mapped.issues) {
    return context.finished
      ? { kind: 'skipped' }
      : { kind: 'rejected', stage: 'validate', issues: mapped.issues };
  }
  const created = safeCreateLead(mapped.input, {
    ...(context.defaultCountry ? { defaultCountry: context.defaultCountry } : {}),
    now: () => context.now,
  });
  if (!created.success) {
    return context.finished
      ? { kind: 'skipped' }
      : { kind: 'rejected', stage: 'validate', issues: created.error.issues };
  }
  const lead = created.lead;
  const identity = leadIdentityKey(lead);
  const first = identity === undefined ? undefined : context.firstRowOf(identity, row.rowNumber);
  if (context.finished) return { kind: 'skipped' };
  if (first !== undefined) return { kind: 'duplicate', lead, duplicateOf: first };
  return { kind: 'task', lead };
}

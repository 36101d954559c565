// How a record of one CRM's run ends: written (created, updated, unchanged; the dead-letter entries
// it was sent again from removed) or dead-lettered (its entry put on the queue). Each counts it,
// settles the record's outcome and, for a dead letter, emits `crm.recordDeadLettered`.
import { v7 as uuidv7 } from 'uuid';
import type { CrmRecordError } from '../contracts/crm-adapter.js';
import type { DeadLetterEntry } from '../contracts/dead-letter-queue.js';
import type { ValidationIssue } from '../contracts/errors.js';
import { redactSecrets } from '../contracts/secrets.js';
import { DeadLetterWriteError, scrubRecordError } from './record-errors.js';
import type { Item } from './target-item.js';
import type { BatchCounts, TargetRunState } from './target-state.js';

/**
 * The CRM took `item` (`created`, `updated`) or had nothing to change
 * (`unchanged`): remove the dead-letter entries it was sent again from, count
 * it, and settle it with its id and the adapter's warnings (secrets redacted).
 * Throws a {@link DeadLetterWriteError} when the queue fails.
 */
export async function recordSucceeded(
  run: TargetRunState,
  item: Item,
  status: 'created' | 'updated' | 'unchanged',
  id: string,
  batch: BatchCounts,
  warnings?: readonly ValidationIssue[],
): Promise<void> {
  if (item.entryIds.length > 0) {
    try {
      await run.ctx.queue.remove(item.entryIds);
    } catch (error) {
      throw new DeadLetterWriteError(error);
    }
  }
  run.counts[status] += 1;
  batch[status] += 1;
  if (warnings !== undefined && warnings.length > 0) {
    run.counts.warned += 1;
    item.settle({
      status,
      id,
      warnings: warnings.map((issue) => ({ field: issue.field, reason: redactSecrets(issue.reason) })),
    });
  } else item.settle({ status, id });
}

/**
 * `item` failed for good with `error` after `attempts` attempts in this run:
 * put it on the dead-letter queue (under the id of the entry it was sent
 * again from, whose merged siblings are removed), count it, settle it and
 * emit `crm.recordDeadLettered`. Throws a {@link DeadLetterWriteError} when
 * the queue fails.
 */
export async function deadLetterRecord(
  run: TargetRunState,
  item: Item,
  error: CrmRecordError,
  attempts: number,
  batch: BatchCounts,
): Promise<void> {
  const at = new Date(run.ctx.now()).toISOString();
  const [entryId = uuidv7(), ...merged] = item.entryIds;
  const entry: DeadLetterEntry = {
    id: entryId,
    target: run.adapterId,
    object: run.object,
    idProperty: run.ctx.target.mapping.idProperty.to,
    record: item.record,
    leadIds: item.leadIds,
    error: scrubRecordError(error),
    attempts: item.priorAttempts + attempts,
    firstFailedAt: item.firstFailedAt ?? at,
    lastFailedAt: at,
  };
  try {
    await run.ctx.queue.put(entry);
    if (merged.length > 0) await run.ctx.queue.remove(merged);
  } catch (cause) {
    throw new DeadLetterWriteError(cause);
  }
  run.counts.failed += 1;
  run.counts.deadLettered += 1;
  batch.deadLettered += 1;
  item.settle({ status: 'deadLettered', entryId, error: entry.error });
  run.emit({
    type: 'crm.recordDeadLettered',
    adapterId: run.adapterId,
    object: run.object,
    entryId,
    leadIds: item.leadIds,
    code: entry.error.code,
    retryable: entry.error.retryable,
  });
}

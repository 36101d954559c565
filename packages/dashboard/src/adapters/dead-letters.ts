import type { CrmSync, DeadLetterEntry, DeadLetterQueue } from '@leadpipe/core';
import type { DashboardDeadLettersSource, DashboardRedriveResult } from '../sources.js';

/** Options of {@link deadLettersFrom}. */
export interface DeadLettersFromOptions {
  /** Entries read per page while looking for the ids to redrive. Default 500. */
  readonly scanPageSize?: number;
}

async function* entriesOf(queue: DeadLetterQueue, pageSize: number): AsyncGenerator<DeadLetterEntry> {
  let cursor: string | undefined;
  do {
    const page = await queue.list({ limit: pageSize, ...(cursor === undefined ? {} : { cursor }) });
    yield* page.entries;
    cursor = page.nextCursor;
  } while (cursor !== undefined);
}

/** The entries of `queue` among `ids`; stops reading once all were seen. */
async function pick(
  queue: DeadLetterQueue,
  ids: ReadonlySet<string>,
  pageSize: number,
): Promise<DeadLetterEntry[]> {
  const found: DeadLetterEntry[] = [];
  for await (const entry of entriesOf(queue, pageSize)) {
    if (ids.has(entry.id)) found.push(entry);
    if (found.length === ids.size) break;
  }
  return found;
}

/**
 * The dashboard's view of a dead-letter queue (any `DeadLetterQueue`: the
 * memory or file queue of core, PostgreSQL's), with redrive through
 * `crmSync` (a pipeline's `crmSync`, or one from `createCrmSync`): the
 * entries asked for are sent again to the CRM matching their target; those
 * delivered leave the queue, those that fail again stay with one more
 * attempt, and those no configured CRM takes (such as lead-store failures,
 * target `leadStore`) are left alone. Without `crmSync`, redrive skips
 * every entry.
 *
 * The queue contract has no lookup by id: a redrive reads the queue up to
 * the last entry asked for, twice (to pick the entries, then to see which
 * stayed).
 *
 * @example
 * ```ts
 * import { createLeadPipeline } from '@leadpipe/core';
 * import { deadLettersFrom } from '@leadpipe/dashboard';
 *
 * const pipeline = createLeadPipeline({});
 * const deadLetters = deadLettersFrom(pipeline.deadLetters, pipeline.crmSync);
 * console.log(await deadLetters.size());
 * ```
 */
export function deadLettersFrom(
  queue: DeadLetterQueue,
  crmSync: Pick<CrmSync, 'redeliver'> | undefined,
  options: DeadLettersFromOptions = {},
): DashboardDeadLettersSource {
  const pageSize = options.scanPageSize ?? 500;
  return {
    list: (listOptions) => queue.list(listOptions),
    size: () => queue.size(),
    async redrive(ids): Promise<DashboardRedriveResult> {
      const wanted = new Set(ids);
      const entries = await pick(queue, wanted, pageSize);
      if (crmSync === undefined || entries.length === 0) {
        return { requested: wanted.size, delivered: 0, failed: 0, skipped: wanted.size };
      }
      const report = await crmSync.redeliver(entries, { queue });
      const stayed = await pick(queue, new Set(entries.map((entry) => entry.id)), pageSize);
      // Entries no CRM takes are left untouched (`unmatched`): they stay, but did not fail again.
      const skipped = wanted.size - entries.length + report.unmatched;
      return {
        requested: wanted.size,
        delivered: entries.length - stayed.length,
        failed: stayed.length - report.unmatched,
        skipped,
      };
    },
  };
}

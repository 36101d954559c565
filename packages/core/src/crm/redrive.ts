import type { DeadLetterEntry, DeadLetterQueue } from '../contracts/dead-letter-queue.js';
import type { CrmSync, CrmSyncReport, CrmSyncRunOptions } from './types.js';

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

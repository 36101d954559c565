import type { Lead } from '../contracts/lead.js';
import type {
  LeadImportRejection,
  LeadImportReport,
  LeadStorePage,
  LeadStoreQuery,
  LeadStoreRecord,
  LeadUpsertOutcome,
} from '../contracts/lead-store.js';

/** Page size of {@link exportLeadPages}: the largest a store serves. */
const EXPORT_PAGE = 100;

/**
 * Every lead `query` matches, page after page through the store's own keyset
 * cursors (the query's `cursor` and `limit` are ignored): what a store's
 * `export` streams.
 */
export async function* exportLeadPages(
  query: LeadStoreQuery | undefined,
  readPage: (query: LeadStoreQuery) => Promise<LeadStorePage>,
): AsyncGenerator<LeadStoreRecord, void, undefined> {
  const { cursor: _ignored, ...base } = { ...query, limit: EXPORT_PAGE };
  let cursor: string | undefined;
  do {
    const page = await readPage(cursor === undefined ? base : { ...base, cursor });
    yield* page.leads;
    cursor = page.nextCursor;
  } while (cursor !== undefined);
}

/**
 * Upsert a stream of leads `batchSize` at a time and count the outcomes: what
 * a store's `import` returns. A rejected lead is listed by its index in the
 * stream with its issues; the rest go on.
 */
export async function importLeadBatches(
  source: AsyncIterable<Lead> | Iterable<Lead>,
  batchSize: number,
  upsert: (leads: readonly Lead[]) => Promise<readonly LeadUpsertOutcome[]>,
): Promise<LeadImportReport> {
  const report = { read: 0, created: 0, updated: 0, unchanged: 0, rejected: [] as LeadImportRejection[] };
  let batch: Lead[] = [];
  const flush = async (): Promise<void> => {
    const outcomes = await upsert(batch);
    for (const [offset, outcome] of outcomes.entries()) {
      if (outcome.status === 'rejected') {
        report.rejected.push({ index: report.read - batch.length + offset, issues: outcome.issues ?? [] });
      } else report[outcome.status] += 1;
    }
    batch = [];
  };
  for await (const lead of source) {
    batch.push(lead);
    report.read += 1;
    if (batch.length === batchSize) await flush();
  }
  if (batch.length > 0) await flush();
  return report;
}

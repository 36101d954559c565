import type { CrmRecord, CrmUpsertResult } from '../contracts/crm-adapter.js';

/**
 * One result per record, in the records' order, from results in any order
 * (bulk APIs answer unordered): results are joined on `key`; a key sent
 * twice takes its results in the order they were given. A record with no
 * result gets a retryable `missing_result` failure; results for keys that
 * were not sent are ignored.
 *
 * @param records - the records of the request, in order.
 * @param results - what the vendor call produced.
 * @param adapterId - names the adapter in the `missing_result` message.
 */
export function correlateUpsertResults(
  records: readonly Pick<CrmRecord, 'key'>[],
  results: Iterable<CrmUpsertResult>,
  adapterId: string,
): CrmUpsertResult[] {
  const byKey = new Map<string, CrmUpsertResult[]>();
  for (const result of results) {
    if (typeof result?.key !== 'string') continue;
    const list = byKey.get(result.key);
    if (list === undefined) byKey.set(result.key, [result]);
    else list.push(result);
  }
  return records.map(
    (record): CrmUpsertResult =>
      byKey.get(record.key)?.shift() ?? {
        key: record.key,
        status: 'failed',
        error: {
          code: 'missing_result',
          message: `${adapterId}: the CRM returned no result for this record`,
          retryable: true,
        },
      },
  );
}

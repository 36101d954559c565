import type { SqlDatabase } from './sql-client.js';

/** Where a store's statements go when it has read replicas. */
export interface ReplicaRouting {
  /** The primary, as the stores use it: writes (and, with a catch-up wait, their WAL position noted). */
  readonly primary: SqlDatabase;
  /** The database for the next read (query, count, export page): a replica in turn, or the primary. */
  readonly reader: () => Promise<SqlDatabase>;
}

/** A WAL position (`16/B374D848`) as a number, to compare two. */
function lsnValue(lsn: string): bigint {
  const [high = '0', low = '0'] = lsn.split('/');
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Route reads to `replicas` round robin, writes to `primary`. With
 * `catchUpMs` > 0, every write transaction notes the primary's WAL position
 * after it commits, and a read waits (up to `catchUpMs`, polling the
 * replica's `pg_last_wal_replay_lsn()`) for the chosen replica to have
 * replayed it: the store then reads its own writes on replicas, and reads
 * the primary when a replica lags more than that.
 */
export function replicaRouting(
  primary: SqlDatabase,
  replicas: readonly SqlDatabase[],
  catchUpMs: number,
): ReplicaRouting {
  if (replicas.length === 0) return { primary, reader: async () => primary };
  let turn = 0;
  let lastWrite: bigint | undefined;
  const replayed = new Map<SqlDatabase, bigint>();
  const tracked: SqlDatabase =
    catchUpMs === 0
      ? primary
      : {
          ...primary,
          async transaction(work) {
            const result = await primary.transaction(work);
            const { rows } = await primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
            const lsn = lsnValue(rows[0]!.lsn);
            if (lastWrite === undefined || lsn > lastWrite) lastWrite = lsn;
            return result;
          },
        };
  const caughtUp = async (replica: SqlDatabase, wanted: bigint): Promise<boolean> => {
    if ((replayed.get(replica) ?? -1n) >= wanted) return true;
    const { rows } = await replica.query<{ lsn: string | null }>(
      'SELECT pg_last_wal_replay_lsn()::text AS lsn',
    );
    const lsn = rows[0]?.lsn;
    if (lsn === null || lsn === undefined) return false;
    replayed.set(replica, lsnValue(lsn));
    return lsnValue(lsn) >= wanted;
  };
  return {
    primary: tracked,
    async reader() {
      turn = (turn + 1) % replicas.length;
      const replica = replicas[turn]!;
      const wanted = lastWrite;
      if (catchUpMs === 0 || wanted === undefined) return replica;
      const deadline = performance.now() + catchUpMs;
      for (;;) {
        if (await caughtUp(replica, wanted)) return replica;
        if (performance.now() >= deadline) return primary;
        await sleep(5);
      }
    },
  };
}

import {
  type Cache,
  type Checkpoint,
  type CheckpointState,
  type CheckpointStore,
  type Clock,
  type DeadLetterEntry,
  type DeadLetterQueue,
  redactValue,
  ValidationError,
} from '@leadpipe/core/adapter-kit';
import type { SqlDatabase } from './sql-client.js';

/**
 * A {@link Cache} on the `cache_entries` table of `schema`: shared by every
 * process on the database. Entries expire by `now` (kept as epoch
 * milliseconds); expired rows are skipped on read and replaced on write.
 */
export function createPostgresCacheOn(database: SqlDatabase, schema: string, now: Clock): Cache {
  const table = `${schema}.cache_entries`;
  return {
    async get(key) {
      const { rows } = await database.query<{ value: unknown }>(
        `SELECT value FROM ${table} WHERE key = $1 AND expires_at > $2::double precision`,
        [key, now()],
      );
      return rows.length === 0 ? undefined : rows[0]!.value;
    },
    async set(key, value, ttlMs) {
      if (!(ttlMs > 0)) {
        await database.query(`DELETE FROM ${table} WHERE key = $1`, [key]);
        return;
      }
      await database.query(
        `INSERT INTO ${table} (key, value, expires_at) VALUES ($1, $2::json, $3::double precision) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at`,
        [key, JSON.stringify(value), now() + ttlMs],
      );
    },
    async delete(key) {
      await database.query(`DELETE FROM ${table} WHERE key = $1`, [key]);
    },
  };
}

function checkLimit(limit: number | undefined): number {
  if (limit === undefined) return 100;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new ValidationError([{ field: 'limit', reason: 'must be a positive integer' }]);
  }
  return Math.min(limit, 10_000);
}

/** The JSON stored for a dead letter: a scrubbed deep copy, its id as given; `ValidationError` on `id` or `entry`. */
function storedEntry(entry: DeadLetterEntry): string {
  if (typeof entry?.id !== 'string' || entry.id === '') {
    throw new ValidationError([{ field: 'id', reason: 'must be a non-empty string' }]);
  }
  try {
    return JSON.stringify({ ...redactValue(structuredClone(entry)), id: entry.id });
  } catch (error) {
    throw new ValidationError([{ field: 'entry', reason: 'must be JSON-serializable' }], { cause: error });
  }
}

/**
 * A {@link DeadLetterQueue} on the `dead_letters` table of `schema`:
 * ordered by a sequence, a put with a known id replacing the entry in place,
 * entries scrubbed of secrets before they are stored.
 */
export function createPostgresDeadLetterQueueOn(database: SqlDatabase, schema: string): DeadLetterQueue {
  const table = `${schema}.dead_letters`;
  return {
    async put(entry) {
      const json = storedEntry(entry);
      await database.query(
        `INSERT INTO ${table} (id, entry) VALUES ($1, $2::json) ON CONFLICT (id) DO UPDATE SET entry = EXCLUDED.entry`,
        [entry.id, json],
      );
    },
    async list(options = {}) {
      const limit = checkLimit(options.limit);
      const cursor = options.cursor;
      if (cursor !== undefined && !/^\d{1,18}$/.test(cursor)) {
        throw new ValidationError([{ field: 'cursor', reason: 'is not a cursor this queue returned' }]);
      }
      const { rows } = await database.query<{ position: string; entry: DeadLetterEntry }>(
        `SELECT position::text AS position, entry FROM ${table} AS t WHERE t.position > $1::bigint ORDER BY t.position LIMIT $2::integer`,
        [cursor ?? '0', limit + 1],
      );
      const page = rows.slice(0, limit);
      return rows.length > limit
        ? { entries: page.map((row) => row.entry), nextCursor: page.at(-1)!.position }
        : { entries: page.map((row) => row.entry) };
    },
    async remove(ids) {
      if (ids.length === 0) return 0;
      const { rows } = await database.query<{ n: string }>(
        `WITH gone AS (DELETE FROM ${table} WHERE id IN (SELECT json_array_elements_text($1::json)) RETURNING 1) SELECT count(*)::text AS n FROM gone`,
        [JSON.stringify([...ids])],
      );
      return Number(rows[0]?.n ?? 0);
    },
    async size() {
      const { rows } = await database.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`);
      return Number(rows[0]?.n ?? 0);
    },
  };
}

/**
 * A {@link CheckpointStore} on the `checkpoint_*` tables of `schema`, one
 * checkpoint per `name` (a run name): finished rows are rows of a table
 * (`finishedIn` is one range query), answers a cache scoped to the run and
 * written at once (an answer is durable when `set` resolves). Finished rows
 * are buffered until `flush`, which writes them with the state in one
 * transaction: a resume sees exactly the rows the last state describes.
 */
export function createPostgresCheckpointStoreOn(
  database: SqlDatabase,
  schema: string,
  name: string,
  now: Clock,
): CheckpointStore {
  return {
    async open(request) {
      const fingerprint = request.fingerprint;
      const loaded = await database.transaction(async (session) => {
        await session.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`leadpipe.checkpoint.${name}`]);
        const { rows } = await session.query<{ fingerprint: string; state: CheckpointState | null }>(
          `SELECT fingerprint, state FROM ${schema}.checkpoint_runs WHERE name = $1`,
          [name],
        );
        const stored = rows[0];
        if (request.resume && stored !== undefined) {
          if (stored.fingerprint !== fingerprint) {
            throw new ValidationError([
              { field: 'fingerprint', reason: 'the stored checkpoint was written for another input' },
            ]);
          }
          return { resumed: true, state: stored.state ?? undefined };
        }
        await session.query(`DELETE FROM ${schema}.checkpoint_rows WHERE name = $1`, [name]);
        // Paid answers outlive a new start (within their TTL); only a fresh start discards them.
        if (request.fresh === true) {
          await session.query(`DELETE FROM ${schema}.checkpoint_results WHERE name = $1`, [name]);
        }
        await session.query(
          `INSERT INTO ${schema}.checkpoint_runs (name, fingerprint, state) VALUES ($1, $2, NULL) ON CONFLICT (name) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, state = NULL`,
          [name, fingerprint],
        );
        return { resumed: false, state: undefined };
      });
      const { rows } = await database.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM ${schema}.checkpoint_rows WHERE name = $1`,
        [name],
      );
      let pending: number[] = [];
      const checkpoint: Checkpoint = {
        resumed: loaded.resumed,
        finishedBefore: Number(rows[0]?.n ?? 0),
        state: loaded.state,
        async finishedIn(window) {
          const { from, to } = window ?? ({} as { from: number; to: number });
          if (!Number.isInteger(from) || !Number.isInteger(to) || from < 1 || to < from) {
            throw new ValidationError([
              { field: 'window', reason: `must be positive integers with from <= to, got ${from}..${to}` },
            ]);
          }
          const result = await database.query<{ row_number: string }>(
            `SELECT row_number::text AS row_number FROM ${schema}.checkpoint_rows AS r WHERE r.name = $1 AND r.row_number BETWEEN $2::bigint AND $3::bigint ORDER BY r.row_number`,
            [name, from, to],
          );
          return result.rows.map((row) => Number(row.row_number));
        },
        async markFinished(rowNumbers) {
          for (const row of rowNumbers) {
            if (!Number.isInteger(row) || row < 1) {
              throw new ValidationError([
                { field: 'rowNumbers', reason: `must be positive integers, got ${row}` },
              ]);
            }
          }
          pending.push(...rowNumbers);
        },
        results: scopedCache(database, now, schema, name),
        async flush(state) {
          const rowsToWrite = pending;
          pending = [];
          if (rowsToWrite.length === 0 && state === undefined) return;
          try {
            await database.transaction(async (session) => {
              if (rowsToWrite.length > 0) {
                await session.query(
                  `INSERT INTO ${schema}.checkpoint_rows (name, row_number) SELECT $1, (jsonb_array_elements_text($2::jsonb))::bigint ON CONFLICT DO NOTHING`,
                  [name, JSON.stringify(rowsToWrite)],
                );
              }
              if (state !== undefined) {
                await session.query(
                  `UPDATE ${schema}.checkpoint_runs SET state = $2::jsonb WHERE name = $1`,
                  [name, JSON.stringify(state)],
                );
              }
            });
          } catch (error) {
            pending = [...rowsToWrite, ...pending];
            throw error;
          }
        },
        async close() {
          await checkpoint.flush();
        },
      };
      return checkpoint;
    },
  };
}

/** The answers cache of one run's checkpoint. */
function scopedCache(database: SqlDatabase, now: Clock, schema: string, name: string): Cache {
  const table = `${schema}.checkpoint_results`;
  return {
    async get(key) {
      const { rows } = await database.query<{ value: unknown }>(
        `SELECT value FROM ${table} WHERE name = $1 AND key = $2 AND expires_at > $3::double precision`,
        [name, key, now()],
      );
      return rows.length === 0 ? undefined : rows[0]!.value;
    },
    async set(key, value, ttlMs) {
      if (!(ttlMs > 0)) {
        await database.query(`DELETE FROM ${table} WHERE name = $1 AND key = $2`, [name, key]);
        return;
      }
      await database.query(
        `INSERT INTO ${table} (name, key, value, expires_at) VALUES ($1, $2, $3::json, $4::double precision) ON CONFLICT (name, key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at`,
        [name, key, JSON.stringify(value), now() + ttlMs],
      );
    },
    async delete(key) {
      await database.query(`DELETE FROM ${table} WHERE name = $1 AND key = $2`, [name, key]);
    },
  };
}

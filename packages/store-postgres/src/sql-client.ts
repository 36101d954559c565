import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PGlite, Transaction } from '@electric-sql/pglite';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** One connection's worth of SQL: parameterized queries, and a bulk `COPY` of text-format lines. */
export interface SqlSession {
  /** Run one parameterized statement. */
  query<Row = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<{ rows: Row[] }>;
  /**
   * Copy text-format lines (columns escaped and joined by tabs, no newline at the end) into `target`
   * (`table (column, ...)`): `COPY target FROM STDIN` on PostgreSQL, `COPY target FROM '/dev/blob'` with the
   * lines as one Blob on PGlite. The same lines give the same rows on both.
   */
  copyLines(target: string, lines: Iterable<string>): Promise<void>;
}

/** A database the stores talk to: node-postgres on a server, or PGlite in-process. */
export interface SqlDatabase extends SqlSession {
  /** `postgres` (a server through node-postgres) or `pglite` (embedded). */
  readonly engine: 'postgres' | 'pglite';
  /** Run `work` in one transaction on one connection: committed when it resolves, rolled back when it rejects. */
  transaction<T>(work: (session: SqlSession) => Promise<T>): Promise<T>;
  /** Release the connections (the pool, or the PGlite instance when this client opened it). */
  close(): Promise<void>;
}

function copyLinesOn(client: pg.PoolClient) {
  return async (target: string, lines: Iterable<string>): Promise<void> => {
    const stream = client.query(copyFrom(`COPY ${target} FROM STDIN`));
    await pipeline(
      Readable.from(
        (function* () {
          for (const line of lines) yield `${line}\n`;
        })(),
      ),
      stream,
    );
  };
}

/** A {@link SqlDatabase} over a node-postgres pool. */
function pgDatabase(pool: pg.Pool, owned: boolean): SqlDatabase {
  return {
    engine: 'postgres',
    query: async (text, values) => pool.query(text, values as unknown[]) as never,
    async copyLines(target, lines) {
      const client = await pool.connect();
      try {
        await copyLinesOn(client)(target, lines);
      } finally {
        client.release();
      }
    },
    async transaction(work) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work({
          query: async (text, values) => client.query(text, values as unknown[]) as never,
          copyLines: copyLinesOn(client),
        });
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    close: async () => {
      if (owned) await pool.end();
    },
  };
}

/** A new node-postgres pool on `url`, closed with the database. */
export function pgDatabaseAt(url: string, maxConnections: number): SqlDatabase {
  return pgDatabase(new pg.Pool({ connectionString: url, max: maxConnections }), true);
}

/**
 * PGlite's COPY: the lines as one Blob, read by `COPY ... FROM '/dev/blob'` (PGlite has no `COPY FROM STDIN`;
 * `query(..., { blob })` works inside a transaction too: 0.3.15's `tx.query` passes its options on). The role
 * must be allowed to COPY from a file: PGlite's default `postgres` is a superuser.
 */
function copyBlobOn(run: Pick<Transaction, 'query'>) {
  return async (target: string, lines: Iterable<string>): Promise<void> => {
    let text = '';
    for (const line of lines) text += `${line}\n`;
    if (text === '') return;
    // One part: Node reads a Blob back part by part, one step per part.
    await run.query(`COPY ${target} FROM '/dev/blob'`, [], { blob: new Blob([text]) });
  };
}

/** A {@link SqlDatabase} over a PGlite instance; `release` runs on close. */
export function pgliteDatabase(db: PGlite, release: () => Promise<void>): SqlDatabase {
  return {
    engine: 'pglite',
    query: async (text, values) => db.query(text, values as unknown[]) as never,
    copyLines: copyBlobOn(db),
    transaction: (work) =>
      db.transaction((tx) =>
        work({
          query: async (text, values) => tx.query(text, values as unknown[]) as never,
          copyLines: copyBlobOn(tx),
        }),
      ),
    close: release,
  };
}

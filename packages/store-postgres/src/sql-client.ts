import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** One connection's worth of SQL: parameterized queries, and `COPY ... FROM STDIN` where the engine has it. */
export interface SqlSession {
  /** Run one parameterized statement. */
  query<Row = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<{ rows: Row[] }>;
  /** Stream text-format lines into a `COPY ... FROM STDIN` statement; absent on PGlite. */
  readonly copyLines?: (statement: string, lines: Iterable<string>) => Promise<void>;
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
  return async (statement: string, lines: Iterable<string>): Promise<void> => {
    const stream = client.query(copyFrom(statement));
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

/** A {@link SqlDatabase} over a PGlite instance; `release` runs on close. */
export function pgliteDatabase(db: PGlite, release: () => Promise<void>): SqlDatabase {
  return {
    engine: 'pglite',
    query: async (text, values) => db.query(text, values as unknown[]) as never,
    transaction: (work) =>
      db.transaction((tx) =>
        work({ query: async (text, values) => tx.query(text, values as unknown[]) as never }),
      ),
    close: release,
  };
}

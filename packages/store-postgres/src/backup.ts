import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { type Clock, ValidationError } from '@leadpipe/core/adapter-kit';
import { type ArchivedLeadLine, appendArchiveLines, readArchiveFile } from './archive-file.js';
import { campaignSections } from './backup-campaigns.js';
import type { Section } from './backup-section.js';
import type { SqlDatabase, SqlSession } from './sql-client.js';

/** The `format` of a backup's header line. */
export const BACKUP_FORMAT = 'leadpipe-store-backup';
/**
 * The backup format version this package writes; it restores this one and
 * older. 2 added campaign state (`campaign*` records); a version 1 backup
 * restores with no campaign state. 3 added `changes` to `outboxEvent`
 * records (what a `lead.updated` changed); a version 1 or 2 backup restores
 * its outbox events without them (what they changed is then unknown).
 */
export const BACKUP_VERSION = 3;

/** The first line of a backup. */
export interface BackupHeader {
  /** Always {@link BACKUP_FORMAT}. */
  readonly format: typeof BACKUP_FORMAT;
  /** The format version ({@link BACKUP_VERSION}). */
  readonly version: number;
  /** ISO 8601 time the backup started (the store's clock). */
  readonly createdAt: string;
  /** `postgres` or `pglite`: where it was taken (a backup restores into either). */
  readonly engine: 'postgres' | 'pglite';
  /** The newest schema migration of the store it was taken from. */
  readonly schemaVersion: number;
}

/** Records per record type in a backup, by `type`: what `PostgresStore.restore` restored. */
export type BackupCounts = Readonly<Record<string, number>>;

const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

function sections(schema: string): Section[] {
  // json, not jsonb: the json columns (cache values, dead letters) keep their text, key order included.
  const from = `FROM json_array_elements($1::json) AS r`;
  return [
    {
      type: 'lead',
      select: `id::text AS id, identity, doc AS lead`,
      table: `${schema}.leads`,
      keys: [{ column: 'id', property: 'id', cast: 'uuid' }],
      insert: `INSERT INTO ${schema}.leads (id, identity, doc, created_at, updated_at)
        SELECT (r->>'id')::uuid, r->>'identity', (r->'lead')::jsonb, (r->'lead'->>'createdAt')::timestamptz, (r->'lead'->>'updatedAt')::timestamptz ${from}`,
    },
    {
      type: 'archivedLead',
      select: `id::text AS id, identity, ${iso('updated_at')} AS "updatedAt", ${iso('archived_at')} AS "archivedAt", doc AS lead`,
      table: `${schema}.leads_archive`,
      keys: [{ column: 'id', property: 'id', cast: 'uuid' }],
      insert: `INSERT INTO ${schema}.leads_archive (id, identity, doc, updated_at, archived_at)
        SELECT (r->>'id')::uuid, r->>'identity', (r->'lead')::jsonb, (r->>'updatedAt')::timestamptz, (r->>'archivedAt')::timestamptz ${from}`,
    },
    {
      type: 'outboxEvent',
      select: `position::text AS position, type AS "eventType", lead_id::text AS "leadId", ${iso('at')} AS at, changes`,
      table: `${schema}.lead_outbox`,
      keys: [{ column: 'position', property: 'position', cast: 'bigint' }],
      // `changes` is null (lead.created, rows from before migration 5) or missing (a version 1 or 2 backup): NULL.
      insert: `INSERT INTO ${schema}.lead_outbox (position, type, lead_id, at, changes)
        SELECT (r->>'position')::bigint, r->>'eventType', (r->>'leadId')::uuid, (r->>'at')::timestamptz,
          CASE WHEN json_typeof(r->'changes') = 'array' THEN (r->'changes')::jsonb END ${from}`,
    },
    {
      type: 'cacheEntry',
      select: `key, value, expires_at AS "expiresAt"`,
      table: `${schema}.cache_entries`,
      keys: [{ column: 'key', property: 'key', cast: 'text' }],
      insert: `INSERT INTO ${schema}.cache_entries (key, value, expires_at)
        SELECT r->>'key', r->'value', (r->>'expiresAt')::double precision ${from}`,
    },
    {
      type: 'deadLetter',
      select: `position::text AS position, id, entry`,
      table: `${schema}.dead_letters`,
      keys: [{ column: 'position', property: 'position', cast: 'bigint' }],
      insert: `INSERT INTO ${schema}.dead_letters (position, id, entry)
        SELECT (r->>'position')::bigint, r->>'id', r->'entry' ${from}`,
    },
    {
      type: 'checkpointRun',
      select: `name, fingerprint, state`,
      table: `${schema}.checkpoint_runs`,
      keys: [{ column: 'name', property: 'name', cast: 'text' }],
      insert: `INSERT INTO ${schema}.checkpoint_runs (name, fingerprint, state)
        SELECT r->>'name', r->>'fingerprint', CASE WHEN json_typeof(r->'state') = 'null' THEN NULL ELSE (r->'state')::jsonb END ${from}`,
    },
    {
      type: 'checkpointRow',
      select: `name, row_number::text AS "rowNumber"`,
      table: `${schema}.checkpoint_rows`,
      keys: [
        { column: 'name', property: 'name', cast: 'text' },
        { column: 'row_number', property: 'rowNumber', cast: 'bigint' },
      ],
      insert: `INSERT INTO ${schema}.checkpoint_rows (name, row_number)
        SELECT r->>'name', (r->>'rowNumber')::bigint ${from}`,
    },
    {
      type: 'checkpointResult',
      select: `name, key, value, expires_at AS "expiresAt"`,
      table: `${schema}.checkpoint_results`,
      keys: [
        { column: 'name', property: 'name', cast: 'text' },
        { column: 'key', property: 'key', cast: 'text' },
      ],
      insert: `INSERT INTO ${schema}.checkpoint_results (name, key, value, expires_at)
        SELECT r->>'name', r->>'key', r->'value', (r->>'expiresAt')::double precision ${from}`,
    },
    ...campaignSections(schema, from),
  ];
}

/** The record type of lines taken from an archive file (restored to the archive file when the store has one). */
const ARCHIVE_FILE_LEAD = 'archiveFileLead';

/**
 * Turn a producer that pushes items (and awaits each push) into an async
 * generator with a small buffer: the producer runs inside a callback (a
 * transaction) while the consumer pulls. A consumer that stops early makes
 * the producer's next push throw, ending its transaction.
 */
async function* pull<T>(produce: (push: (item: T) => Promise<void>) => Promise<void>): AsyncGenerator<T> {
  const queue: T[] = [];
  let finished = false;
  let failed = false;
  let failure: unknown;
  let stopped = false;
  let wakeConsumer: (() => void) | undefined;
  let wakeProducer: (() => void) | undefined;
  const push = async (item: T) => {
    if (stopped) throw new Error('backup: the reader stopped');
    queue.push(item);
    wakeConsumer?.();
    if (queue.length >= 256) await new Promise<void>((resolve) => (wakeProducer = resolve));
    if (stopped) throw new Error('backup: the reader stopped');
  };
  const running = produce(push).then(
    () => {
      finished = true;
      wakeConsumer?.();
    },
    (error: unknown) => {
      finished = true;
      failed = true;
      failure = error;
      wakeConsumer?.();
    },
  );
  try {
    for (;;) {
      if (queue.length > 0) {
        const item = queue.shift() as T;
        if (queue.length < 128) {
          wakeProducer?.();
          wakeProducer = undefined;
        }
        yield item;
        continue;
      }
      if (finished) {
        if (failed) throw failure;
        return;
      }
      await new Promise<void>((resolve) => (wakeConsumer = resolve));
      wakeConsumer = undefined;
    }
  } finally {
    if (!finished) {
      stopped = true;
      wakeProducer?.();
      await running;
    }
  }
}

/**
 * A backup of everything the store holds, as NDJSON lines (each ending in
 * `\n`): a header, then one record a line by `type` (`lead`, `archivedLead`,
 * `outboxEvent`, `cacheEntry`, `deadLetter`, `checkpointRun`,
 * `checkpointRow`, `checkpointResult`, the `campaign*` records of
 * `backup-campaigns.ts`, `archiveFileLead`), then an `end`
 * line with the counts. On PostgreSQL the tables are read in one read-only
 * repeatable-read transaction (one snapshot); on PGlite page by page
 * outside a transaction. Memory stays bounded either way.
 */
export function backupLines(
  database: SqlDatabase,
  schema: string,
  now: Clock,
  archiveFile: string | undefined,
  pageSize = 1_000,
): AsyncGenerator<string> {
  return pull<string>(async (push) => {
    const counts: Record<string, number> = {};
    // PostgreSQL: one repeatable-read snapshot. PGlite has one connection, which a transaction holds for every caller
    // in the process: held while the reader of the backup works, it would deadlock a reader that uses the same
    // instance. There each page is read on its own (take PGlite backups when the process is not writing).
    const inSnapshot = (work: (session: SqlSession) => Promise<void>) =>
      database.engine === 'pglite' ? work(database) : database.transaction(work);
    await inSnapshot(async (session) => {
      if (database.engine === 'postgres') {
        await session.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      }
      const { rows } = await session.query<{ v: number | null }>(
        `SELECT max(version) AS v FROM ${schema}.schema_migrations`,
      );
      const header: BackupHeader = {
        format: BACKUP_FORMAT,
        version: BACKUP_VERSION,
        createdAt: new Date(now()).toISOString(),
        engine: database.engine,
        schemaVersion: Number(rows[0]?.v ?? 0),
      };
      await push(`${JSON.stringify(header)}\n`);
      for (const section of sections(schema)) {
        counts[section.type] = 0;
        let after: Record<string, unknown> | undefined;
        for (;;) {
          const values: unknown[] = [];
          let where = '';
          if (after !== undefined) {
            const keys = section.keys;
            values.push(...keys.map((key) => after![key.property]));
            where = `WHERE (${keys.map((key) => `t.${key.column}`).join(', ')}) > (${keys
              .map((key, index) => `$${index + 1}::${key.cast}`)
              .join(', ')})`;
          }
          // Qualified: a bare name would order by the output column (position::text sorts as text).
          const order = section.keys.map((key) => `t.${key.column}`).join(', ');
          const page = await session.query<Record<string, unknown>>(
            `SELECT ${section.select} FROM ${section.table} AS t ${where} ORDER BY ${order} LIMIT ${pageSize}`,
            values,
          );
          for (const row of page.rows) await push(`${JSON.stringify({ type: section.type, ...row })}\n`);
          counts[section.type] = (counts[section.type] ?? 0) + page.rows.length;
          if (page.rows.length < pageSize) break;
          after = page.rows.at(-1);
        }
      }
    });
    if (archiveFile !== undefined) {
      counts[ARCHIVE_FILE_LEAD] = 0;
      for await (const entry of readArchiveFile(archiveFile)) {
        await push(`${JSON.stringify({ type: ARCHIVE_FILE_LEAD, ...entry })}\n`);
        counts[ARCHIVE_FILE_LEAD] = (counts[ARCHIVE_FILE_LEAD] ?? 0) + 1;
      }
    }
    await push(`${JSON.stringify({ type: 'end', counts })}\n`);
  });
}

/** Lines of a source of text chunks or lines. */
function linesOf(
  source: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
): AsyncIterable<string> {
  return createInterface({ input: Readable.from(source), crlfDelay: Number.POSITIVE_INFINITY });
}

const invalid = (line: number, reason: string) =>
  new ValidationError([{ field: `backup.line ${line}`, reason }]);

/**
 * Restore a backup (as {@link backupLines} writes it) into an empty store:
 * every record in one transaction, in batches of `batchSize`, sequences moved
 * past the restored positions. Nothing is restored unless the backup is whole
 * (its `end` line's counts match).
 *
 * @throws ValidationError naming `backup` when the store is not empty, or `backup.line N` for a bad line.
 */
export async function restoreBackup(
  database: SqlDatabase,
  schema: string,
  archiveFile: string | undefined,
  source: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
  batchSize = 1_000,
): Promise<BackupCounts> {
  const bySection = new Map(sections(schema).map((section) => [section.type, section]));
  const counts: Record<string, number> = {};
  await database.transaction(async (session) => {
    for (const section of bySection.values()) {
      const { rows } = await session.query(`SELECT 1 FROM ${section.table} LIMIT 1`);
      if (rows.length > 0) {
        throw new ValidationError([
          { field: 'backup', reason: `a backup restores into an empty store; ${section.table} holds rows` },
        ]);
      }
    }
    let lineNumber = 0;
    let header: BackupHeader | undefined;
    let ended: Record<string, number> | undefined;
    let batchType: string | undefined;
    let batch: Record<string, unknown>[] = [];
    const flush = async (work: SqlSession) => {
      if (batch.length === 0 || batchType === undefined) return;
      if (batchType === ARCHIVE_FILE_LEAD && archiveFile !== undefined) {
        await appendArchiveLines(
          archiveFile,
          batch.map(({ type: _type, ...entry }) => entry as unknown as ArchivedLeadLine),
        );
      } else {
        const section =
          batchType === ARCHIVE_FILE_LEAD ? bySection.get('archivedLead')! : bySection.get(batchType)!;
        await work.query(section.insert, [JSON.stringify(batch)]);
      }
      batch = [];
    };
    for await (const line of linesOf(source)) {
      lineNumber += 1;
      if (line.trim() === '') continue;
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw invalid(lineNumber, 'is not JSON');
      }
      if (header === undefined) {
        if (record.format !== BACKUP_FORMAT || typeof record.version !== 'number') {
          throw invalid(lineNumber, `must be the header of a ${BACKUP_FORMAT} (format and version)`);
        }
        if (record.version > BACKUP_VERSION) {
          throw invalid(
            lineNumber,
            `is version ${record.version}; this package restores up to ${BACKUP_VERSION}`,
          );
        }
        header = record as unknown as BackupHeader;
        continue;
      }
      if (ended !== undefined) throw invalid(lineNumber, 'follows the end line');
      const type = record.type;
      if (type === 'end') {
        await flush(session);
        ended = (record.counts ?? {}) as Record<string, number>;
        continue;
      }
      if (typeof type !== 'string' || (!bySection.has(type) && type !== ARCHIVE_FILE_LEAD)) {
        throw invalid(lineNumber, `has an unknown record type ${JSON.stringify(type)}`);
      }
      if (type !== batchType) {
        await flush(session);
        batchType = type;
      }
      batch.push(record);
      counts[type] = (counts[type] ?? 0) + 1;
      if (batch.length >= batchSize) await flush(session);
    }
    if (header === undefined) throw invalid(1, 'the backup is empty: no header');
    if (ended === undefined) throw invalid(lineNumber, 'the backup is cut short: no end line');
    for (const [type, expected] of Object.entries(ended)) {
      if ((counts[type] ?? 0) !== expected) {
        throw invalid(
          lineNumber,
          `the end line counts ${expected} ${type} records; the backup holds ${counts[type] ?? 0}`,
        );
      }
    }
    for (const table of ['lead_outbox', 'dead_letters', 'campaign_events']) {
      await session.query(
        `SELECT setval(pg_get_serial_sequence($1, 'position'), coalesce((SELECT max(position) FROM ${schema}.${table}), 0) + 1, false)`,
        [`${schema}.${table}`],
      );
    }
  });
  await database.query(`ANALYZE ${schema}.leads`);
  return counts;
}

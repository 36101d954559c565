import {
  acceptLeadForStore,
  type Clock,
  checkLeadStoreQuery,
  emailIdentity,
  encodeLeadCursor,
  exportLeadPages,
  importLeadBatches,
  type Lead,
  type LeadFieldChange,
  type LeadImportReport,
  type LeadStoreMergePolicy,
  type LeadStoreQuery,
  type LeadStoreRecord,
  type LeadStoreV1,
  type LeadUpsertOutcome,
  mergeStoredLead,
  ValidationError,
} from '@leadpipe/core/adapter-kit';
import { type ArchivedLeadLine, appendArchiveLines, dropFromArchiveFile } from './archive-file.js';
import { eraseCampaignState } from './campaign-erase.js';
import { nestRecord, pageSql, whereSql } from './query-sql.js';
import type { SqlDatabase, SqlSession } from './sql-client.js';

/** Settings of {@link createPostgresLeadStoreOn}, already checked. */
export interface LeadStoreSettings {
  /** The quoted schema name. */
  readonly schema: string;
  readonly mergePolicy: LeadStoreMergePolicy;
  readonly customFields: ReadonlySet<string>;
  readonly now: Clock;
  /** Below this estimate, `count` counts exactly. */
  readonly exactCountBelow: number;
  /** Leads per upsert statement in `import`. */
  readonly importBatch: number;
  /** An NDJSON file `retain` archives to instead of the `leads_archive` table. */
  readonly archiveFile?: string;
  /** Where reads go (queries, exports, counts): the primary or a replica. */
  readonly reader: () => Promise<SqlDatabase>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DAY_MS = 86_400_000;

/** A value for a COPY text-format column: backslash, tab, newline and carriage return escaped. */
function copyField(value: string): string {
  if (!/[\\\t\n\r]/.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/** Regular expression (POSIX, for `~*`) of the email as a whole address inside a longer text. */
function emailPattern(email: string): string {
  const escaped = email.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return `(^|[^a-z0-9._%+-])${escaped}($|[^a-z0-9.-])`;
}

interface StoredRow {
  id: string;
  identity: string;
  doc: Lead;
}

/**
 * The {@link LeadStoreV1} over a migrated schema. Writes go to `database`
 * (the primary); queries, counts and exports to `settings.reader()`.
 */
export function createPostgresLeadStoreOn(
  database: SqlDatabase,
  settings: LeadStoreSettings,
  onClose: () => Promise<void>,
): LeadStoreV1 {
  const s = settings.schema;
  const leads = `${s}.leads`;

  /**
   * Write the changed leads. New ones (identity not stored before this transaction) are copied straight into the
   * leads table; updated ones are copied into a temporary table (emptied at commit) and written by one
   * INSERT ... ON CONFLICT. The same text-format lines on both engines (PGlite copies them from a Blob).
   * A new row cannot meet a stored one: its identity was read absent under the identity's lock (the single
   * session on PGlite), and its id was checked free.
   */
  const writeRows = async (session: SqlSession, rows: StoredRow[], stored: ReadonlySet<string>) => {
    const columns = '(id, identity, doc, created_at, updated_at)';
    const lines = (part: StoredRow[]) =>
      part.map((row) =>
        [row.id, row.identity, JSON.stringify(row.doc), row.doc.createdAt, row.doc.updatedAt]
          .map(copyField)
          .join('\t'),
      );
    const created = rows.filter((row) => !stored.has(row.identity));
    const updated = rows.filter((row) => stored.has(row.identity));
    if (created.length > 0) await session.copyLines(`${leads} ${columns}`, lines(created));
    if (updated.length === 0) return;
    await session.query(
      `CREATE TEMPORARY TABLE IF NOT EXISTS leadpipe_lead_stage (id uuid, identity text, doc jsonb, created_at timestamptz, updated_at timestamptz) ON COMMIT DELETE ROWS`,
    );
    await session.copyLines(`leadpipe_lead_stage ${columns}`, lines(updated));
    await session.query(
      `INSERT INTO ${leads} ${columns} SELECT id, identity, doc, created_at, updated_at FROM leadpipe_lead_stage ON CONFLICT (identity) DO UPDATE SET doc = EXCLUDED.doc, updated_at = EXCLUDED.updated_at`,
    );
    // No DELETE: the commit empties the stage table (ON COMMIT DELETE ROWS), and this transaction writes it
    // only here.
  };

  const upsert = async (input: readonly Lead[]): Promise<LeadUpsertOutcome[]> => {
    if (!Array.isArray(input)) throw new ValidationError([{ field: 'leads', reason: 'must be an array' }]);
    const outcomes: LeadUpsertOutcome[] = new Array(input.length);
    const accepted: { index: number; lead: Lead; identity: string }[] = [];
    for (const [index, candidate] of input.entries()) {
      const result = acceptLeadForStore(candidate);
      if ('lead' in result) accepted.push({ index, ...result });
      else outcomes[index] = result;
    }
    if (accepted.length === 0) return outcomes;
    const identities = [...new Set(accepted.map((entry) => entry.identity))].sort();
    const at = new Date(settings.now());
    return database.transaction(async (session) => {
      // Writers of the same identities take turns (sorted: no deadlock between two batches). PGlite has one
      // session, whose transactions already run one at a time, and a session's own advisory lock never blocks it.
      if (database.engine === 'postgres') {
        await session.query(
          `SELECT pg_advisory_xact_lock(hashtext(identity)) FROM (SELECT jsonb_array_elements_text($1::jsonb) AS identity ORDER BY 1) AS sorted`,
          [JSON.stringify(identities)],
        );
      }
      const { rows } = await session.query<StoredRow>(
        `SELECT id::text AS id, identity, doc FROM ${leads} WHERE identity IN (SELECT jsonb_array_elements_text($1::jsonb))`,
        [JSON.stringify(identities)],
      );
      const byIdentity = new Map(rows.map((row) => [row.identity, row]));
      const newIds = accepted
        .filter((entry) => !byIdentity.has(entry.identity))
        .map((entry) => entry.lead.id);
      const taken = new Set(
        newIds.length === 0
          ? []
          : (
              await session.query<{ id: string }>(
                `SELECT id::text AS id FROM ${leads} WHERE id IN (SELECT (jsonb_array_elements_text($1::jsonb))::uuid)`,
                [JSON.stringify(newIds)],
              )
            ).rows.map((row) => row.id),
      );
      const changed = new Map<string, StoredRow>();
      const events: {
        type: 'lead.created' | 'lead.updated';
        id: string;
        at: string;
        changes?: readonly LeadFieldChange[];
      }[] = [];
      for (const entry of accepted) {
        const stored = byIdentity.get(entry.identity);
        if (stored === undefined) {
          if (taken.has(entry.lead.id)) {
            outcomes[entry.index] = {
              status: 'rejected',
              issues: [{ field: 'id', reason: 'is the id of another stored lead' }],
            };
            continue;
          }
          const row = { id: entry.lead.id, identity: entry.identity, doc: entry.lead };
          byIdentity.set(entry.identity, row);
          changed.set(entry.identity, row);
          taken.add(entry.lead.id);
          events.push({ type: 'lead.created', id: row.id, at: entry.lead.updatedAt });
          outcomes[entry.index] = { status: 'created', id: row.id, identity: entry.identity };
          continue;
        }
        let merged: ReturnType<typeof mergeStoredLead>;
        try {
          merged = mergeStoredLead(stored.doc, entry.lead, settings.mergePolicy, at);
        } catch (error) {
          if (!ValidationError.isInstance(error)) throw error;
          outcomes[entry.index] = { status: 'rejected', issues: error.issues };
          continue;
        }
        if (!merged.changed) {
          outcomes[entry.index] = { status: 'unchanged', id: stored.id, identity: entry.identity };
          continue;
        }
        const row = { id: stored.id, identity: entry.identity, doc: merged.lead };
        byIdentity.set(entry.identity, row);
        changed.set(entry.identity, row);
        events.push({
          type: 'lead.updated',
          id: stored.id,
          at: merged.lead.updatedAt,
          changes: merged.changes,
        });
        outcomes[entry.index] = { status: 'updated', id: stored.id, identity: entry.identity };
      }
      await writeRows(session, [...changed.values()], new Set(rows.map((row) => row.identity)));
      if (events.length > 0) {
        await session.query(
          `INSERT INTO ${s}.lead_outbox (type, lead_id, at, changes)
           SELECT event->>'type', (event->>'id')::uuid, (event->>'at')::timestamptz, event->'changes'
           FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(event, n) ORDER BY n`,
          [JSON.stringify(events)],
        );
      }
      return outcomes;
    });
  };

  const getWhere = async (column: 'id' | 'identity', value: string): Promise<Lead | undefined> => {
    const { rows } = await database.query<{ doc: Lead }>(
      `SELECT doc FROM ${leads} WHERE ${column === 'id' ? 'id = $1::uuid' : 'identity = $1'}`,
      [value],
    );
    return rows[0]?.doc;
  };

  const store: LeadStoreV1 = {
    specificationVersion: 'v1',
    upsert,
    async get(id) {
      if (typeof id !== 'string' || !UUID.test(id)) return undefined;
      return getWhere('id', id.toLowerCase());
    },
    async getByEmail(email) {
      return getWhere('identity', emailIdentity(email));
    },
    async query(query) {
      const checked = checkLeadStoreQuery(query, settings.customFields);
      const statement = pageSql(checked, leads);
      const reader = await settings.reader();
      const { rows } = await reader.query<{ id: string; updated: string; record: Record<string, unknown> }>(
        statement.text,
        statement.values,
      );
      const more = rows.length > checked.limit;
      const shown = rows.slice(0, checked.limit);
      const last = shown.at(-1);
      return {
        leads: shown.map((row) => nestRecord(row.id, row.record) as unknown as LeadStoreRecord),
        ...(more && last !== undefined
          ? { nextCursor: encodeLeadCursor(checked, { id: last.id, updatedAt: last.updated }) }
          : {}),
      };
    },
    async count(query) {
      const checked = checkLeadStoreQuery(
        {
          ...(query?.where === undefined ? {} : { where: query.where }),
          ...(query?.search === undefined ? {} : { search: query.search }),
        },
        settings.customFields,
      );
      const values: unknown[] = [];
      const condition = whereSql(checked, values);
      const reader = await settings.reader();
      const plan = await reader.query<{ 'QUERY PLAN': unknown }>(
        `EXPLAIN (FORMAT JSON) SELECT 1 FROM ${leads} WHERE ${condition}`,
        values,
      );
      const raw = plan.rows[0]?.['QUERY PLAN'];
      const parsed = (typeof raw === 'string' ? JSON.parse(raw) : raw) as [{ Plan: { 'Plan Rows': number } }];
      const estimate = Math.round(parsed[0]?.Plan['Plan Rows'] ?? 0);
      if (estimate >= settings.exactCountBelow) return { count: estimate, exact: false };
      const { rows } = await reader.query<{ count: string }>(
        `SELECT count(*)::text AS count FROM ${leads} WHERE ${condition}`,
        values,
      );
      return { count: Number(rows[0]?.count ?? 0), exact: true };
    },
    export(query?: LeadStoreQuery) {
      return exportLeadPages(query, (page) => store.query(page));
    },
    async import(source): Promise<LeadImportReport> {
      const report = await importLeadBatches(source, settings.importBatch, upsert);
      // Fresh planner statistics after a bulk write: count estimates and plans rely on them (PGlite has no autovacuum).
      if (report.created + report.updated >= settings.importBatch) await database.query(`ANALYZE ${leads}`);
      return report;
    },
    async erase(email) {
      const identity = emailIdentity(email);
      const address = identity.slice('email:'.length);
      const pattern = emailPattern(address);
      return database.transaction(async (session) => {
        const ids = (
          await session.query<{ id: string }>(
            `SELECT id::text AS id FROM ${leads} WHERE identity = $1 UNION SELECT id::text FROM ${s}.leads_archive WHERE identity = $1`,
            [identity],
          )
        ).rows.map((row) => row.id);
        const count = async (text: string, values: unknown[]) =>
          Number(
            (
              await session.query<{ n: string }>(
                `WITH gone AS (${text} RETURNING 1) SELECT count(*)::text AS n FROM gone`,
                values,
              )
            ).rows[0]?.n ?? 0,
          );
        const idsJson = JSON.stringify(ids);
        const removed = {
          leads: await count(`DELETE FROM ${leads} WHERE identity = $1`, [identity]),
          archive: await count(`DELETE FROM ${s}.leads_archive WHERE identity = $1`, [identity]),
          outbox: await count(
            `DELETE FROM ${s}.lead_outbox WHERE lead_id IN (SELECT (jsonb_array_elements_text($1::jsonb))::uuid)`,
            [idsJson],
          ),
          cache: await count(`DELETE FROM ${s}.cache_entries WHERE key ~* $1 OR value::text ~* $1`, [
            pattern,
          ]),
          deadLetters: await count(
            `DELETE FROM ${s}.dead_letters WHERE entry::text ~* $1 OR EXISTS (SELECT 1 FROM json_array_elements_text(entry->'leadIds') AS lead_id WHERE lead_id IN (SELECT jsonb_array_elements_text($2::jsonb)))`,
            [pattern, idsJson],
          ),
          checkpointResults: await count(
            `DELETE FROM ${s}.checkpoint_results WHERE key ~* $1 OR value::text ~* $1`,
            [pattern],
          ),
          ...(await eraseCampaignState(count, s, address, pattern, idsJson)),
          ...(settings.archiveFile === undefined
            ? {}
            : {
                archiveFile: await dropFromArchiveFile(
                  settings.archiveFile,
                  (entry) => entry.identity === identity,
                ),
              }),
        };
        return { email: address, removed };
      });
    },
    async retain(retention) {
      for (const field of ['archiveAfterDays', 'purgeAfterDays'] as const) {
        const value = retention?.[field];
        if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < 1)) {
          throw new ValidationError([{ field, reason: 'must be a positive whole number of days' }]);
        }
      }
      const time = settings.now();
      const archivedAt = new Date(time).toISOString();
      const archiveBefore =
        retention.archiveAfterDays === undefined
          ? undefined
          : new Date(time - retention.archiveAfterDays * DAY_MS).toISOString();
      const purgeBefore =
        retention.purgeAfterDays === undefined
          ? undefined
          : new Date(time - retention.purgeAfterDays * DAY_MS).toISOString();
      return database.transaction(async (session) => {
        // One retention at a time per schema (two would archive the same leads to a file twice).
        await session.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`leadpipe.retain.${s}`]);
        let archived = 0;
        let purged = 0;
        if (archiveBefore !== undefined && settings.archiveFile === undefined) {
          const { rows } = await session.query<{ n: string }>(
            `WITH moved AS (DELETE FROM ${leads} WHERE updated_at < $1::timestamptz RETURNING id, identity, doc, updated_at),
                  kept AS (INSERT INTO ${s}.leads_archive (id, identity, doc, updated_at, archived_at)
                           SELECT id, identity, doc, updated_at, $2::timestamptz FROM moved
                           ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc, updated_at = EXCLUDED.updated_at, archived_at = EXCLUDED.archived_at
                           RETURNING 1)
             SELECT count(*)::text AS n FROM kept`,
            [archiveBefore, archivedAt],
          );
          archived = Number(rows[0]?.n ?? 0);
        }
        if (archiveBefore !== undefined && settings.archiveFile !== undefined) {
          // Batch by batch: each batch is on disk (flushed) before its leads are deleted; a failed run leaves
          // them in both places and the next run archives them again (readers take the last line of an id).
          for (;;) {
            const { rows } = await session.query<{ id: string; identity: string; doc: Lead }>(
              `SELECT id::text AS id, identity, doc FROM ${leads} WHERE updated_at < $1::timestamptz ORDER BY updated_at, id LIMIT 1000`,
              [archiveBefore],
            );
            if (rows.length === 0) break;
            const entries: ArchivedLeadLine[] = rows.map((row) => ({
              id: row.id,
              identity: row.identity,
              updatedAt: row.doc.updatedAt,
              archivedAt,
              lead: row.doc,
            }));
            await appendArchiveLines(settings.archiveFile, entries);
            await session.query(
              `DELETE FROM ${leads} WHERE id IN (SELECT (jsonb_array_elements_text($1::jsonb))::uuid)`,
              [JSON.stringify(rows.map((row) => row.id))],
            );
            archived += rows.length;
          }
        }
        if (purgeBefore !== undefined) {
          const { rows } = await session.query<{ n: string }>(
            `WITH gone AS (DELETE FROM ${s}.leads_archive WHERE updated_at < $1::timestamptz RETURNING 1) SELECT count(*)::text AS n FROM gone`,
            [purgeBefore],
          );
          purged = Number(rows[0]?.n ?? 0);
          if (settings.archiveFile !== undefined) {
            const cutoff = Date.parse(purgeBefore);
            purged += await dropFromArchiveFile(
              settings.archiveFile,
              (entry) => Date.parse(entry.updatedAt) < cutoff,
            );
          }
        }
        return { archived, purged };
      });
    },
    async readOutbox(read = {}) {
      const limit = read.limit ?? 100;
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
        throw new ValidationError([{ field: 'limit', reason: 'must be an integer from 1 to 1000' }]);
      }
      if (read.after !== undefined && !/^\d{1,18}$/.test(read.after)) {
        throw new ValidationError([{ field: 'after', reason: 'is not an outbox position' }]);
      }
      const { rows } = await database.query<{
        position: string;
        type: string;
        lead_id: string;
        at: string;
        changes: LeadFieldChange[] | null;
      }>(
        `SELECT position::text AS position, type, lead_id::text AS lead_id,
                to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, changes
         FROM ${s}.lead_outbox AS o WHERE o.position > $1::bigint ORDER BY o.position LIMIT $2::integer`,
        [read.after ?? '0', limit],
      );
      return rows.map((row) => ({
        position: row.position,
        type: row.type as 'lead.created' | 'lead.updated',
        leadId: row.lead_id,
        at: row.at,
        // NULL: a lead.created, or a row written before migration 5 (what changed is unknown).
        ...(Array.isArray(row.changes) ? { changes: row.changes } : {}),
      }));
    },
    close: onClose,
  };
  return store;
}

import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import {
  type Cache,
  type CampaignStoreV1,
  type CheckpointStore,
  type Clock,
  ConfigurationError,
  CUSTOM_FIELD_NAME,
  type DeadLetterQueue,
  type LeadStoreMergePolicy,
  type LeadStoreV1,
  parseOptions,
  systemClock,
} from '@leadpipe/core/adapter-kit';
import { z } from 'zod';
import { type BackupCounts, backupLines, restoreBackup } from './backup.js';
import { createPostgresCampaignStoreOn } from './campaign-store.js';
import { lockDataFolder } from './folder-lock.js';
import { createPostgresLeadStoreOn } from './lead-store.js';
import { migrate, SCHEMA_NAME } from './migrations.js';
import { replicaRouting } from './replicas.js';
import {
  createPostgresCacheOn,
  createPostgresCheckpointStoreOn,
  createPostgresDeadLetterQueueOn,
} from './run-state.js';
import { pgDatabaseAt, pgliteDatabase, type SqlDatabase } from './sql-client.js';
import {
  traceCache,
  traceCheckpointStore,
  traceDeadLetterQueue,
  tracedBackup,
  tracedRestore,
  traceStoreMethods,
} from './traced.js';

/**
 * An open PGlite instance, as {@link PostgresStoreOptions.pglite} takes it: any object with PGlite's `query` and
 * `exec` methods. The store checks it is one and uses it as a PGlite.
 */
export interface PGliteInstance {
  /** PGlite's `query(sql, params)`. */
  readonly query: (...args: never[]) => unknown;
  /** PGlite's `exec(sql)`. */
  readonly exec: (...args: never[]) => unknown;
}

/** Options of {@link openPostgresStore}. */
export interface PostgresStoreOptions {
  /**
   * A PostgreSQL URL (`postgres://user@host:5432/db`), or a folder: then the
   * store runs embedded on PGlite with its data in that folder (`pgdata`
   * inside it; created when missing, locked against a second process by
   * `leadpipe.lock` beside it). Give this or `pglite`.
   */
  readonly connection?: string;
  /**
   * An open PGlite instance (`new PGlite(...)` from `@electric-sql/pglite`) to use, not closed with the store and
   * not locked: for tests sharing one instance. Typed as {@link PGliteInstance} so that this package's types need
   * none of PGlite's browser and Emscripten types.
   */
  readonly pglite?: PGliteInstance;
  /** Schema holding the tables: lower-case letters, digits and `_`. Default `leadpipe`. */
  readonly schema?: string;
  /** Apply the package's migrations on open. Default `true`; `false` expects `migratePostgresStore` to have run. */
  readonly migrate?: boolean;
  /** How stored and incoming leads merge. Default `highestConfidence`. */
  readonly mergePolicy?: LeadStoreMergePolicy;
  /** Custom field names lead queries may filter on. Default none. */
  readonly customFields?: readonly string[];
  /** Clock for `updatedAt` stamps, retention and cache expiry. Default `Date.now`. */
  readonly now?: Clock;
  /** URLs of streaming read replicas: queries, counts and exports go there (round robin); writes and gets stay on the primary. */
  readonly readReplicas?: readonly string[];
  /**
   * With `readReplicas`: before a query, count or export page, wait up to
   * this many milliseconds for the chosen replica to replay this store's
   * last write (its WAL position), and read from the primary when it has
   * not. Default 0: read the replica as it is, which may lag the primary.
   */
  readonly replicaCatchUpMs?: number;
  /** Most connections per pool (primary and each replica). Default 10. */
  readonly maxConnections?: number;
  /** `count` counts exactly when the planner estimates fewer matches than this; above, it answers the estimate. Default 10,000. */
  readonly exactCountBelow?: number;
  /** Leads per upsert in `import`. Default 1,000. */
  readonly importBatch?: number;
  /**
   * Archive to this NDJSON file (appended, one archived lead a line)
   * instead of the `leads_archive` table: `retain` moves stale leads there,
   * purges rewrite it, `erase` removes the person from it. Default: the table.
   */
  readonly archiveFile?: string;
  /** Name of the run whose checkpoint `checkpoints` keeps. Default `default`. */
  readonly checkpointName?: string;
}

/** Everything a run keeps, in one database. */
export interface PostgresStore {
  /** `postgres` or `pglite`. */
  readonly engine: 'postgres' | 'pglite';
  /** The lead store. */
  readonly leads: LeadStoreV1;
  /** A cache for enrichment answers, shared by every process on the database. */
  readonly cache: Cache;
  /** Dead letters of CRM sync. */
  readonly deadLetters: DeadLetterQueue;
  /** Pipeline checkpoints of the run `checkpointName`. */
  readonly checkpoints: CheckpointStore;
  /**
   * Campaign state (enrollments with their next-run index, the send ledger,
   * suppressions, stored events, dead letters, timers, mailbox counters) for
   * `createCampaignEngine({ store })` of `@leadpipe/campaigns`: every method
   * one statement or one transaction, safe for engines in several processes
   * on the same database. Its `close` closes the whole store.
   */
  readonly campaigns: CampaignStoreV1;
  /**
   * A backup of everything the store holds (leads with provenance and custom
   * fields, the archive, the outbox, cache entries, dead letters,
   * checkpoints with their rows and answers): NDJSON lines, each ending in
   * `\n`, a header first (`format`, `version`), an `end` line with the counts
   * last. Read page by page from the primary, in one snapshot on
   * PostgreSQL; on PGlite without one (take it while the process is not
   * writing).
   *
   * @example
   * ```ts
   * await pipeline(Readable.from(store.backup()), createWriteStream('leads.backup.ndjson'));
   * ```
   */
  backup(): AsyncIterable<string>;
  /**
   * Restore a backup into this store, which must be empty: all or nothing,
   * in one transaction. Resolves with the records restored by type. On
   * PGlite, read the backup from a file or another instance: a backup of a
   * schema on the same instance would wait for this transaction forever.
   *
   * @throws ValidationError naming `backup` (the store is not empty) or `backup.line N` (a bad or missing line).
   */
  restore(source: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>): Promise<BackupCounts>;
  /** Close connections, the PGlite instance this store opened, and the folder lock. */
  close(): Promise<void>;
}

const optionsSchema = z
  .object({
    connection: z.string().min(1).optional(),
    pglite: z
      .custom<PGliteInstance>(
        (value) =>
          typeof (value as PGliteInstance | null)?.query === 'function' &&
          typeof (value as PGliteInstance | null)?.exec === 'function',
        'must be a PGlite instance',
      )
      .optional(),
    schema: z
      .string()
      .regex(SCHEMA_NAME, 'must be lower-case letters, digits and _, not starting with a digit')
      .optional(),
    migrate: z.boolean().optional(),
    mergePolicy: z.enum(['highestConfidence', 'newest']).optional(),
    customFields: z
      .array(z.string().regex(CUSTOM_FIELD_NAME, 'must be a letter or _ then letters, digits or _'))
      .optional(),
    now: z.custom<Clock>((value) => typeof value === 'function', 'must be a function').optional(),
    readReplicas: z.array(z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')).optional(),
    replicaCatchUpMs: z.number().int().min(0).max(600_000).optional(),
    maxConnections: z.number().int().min(1).max(1000).optional(),
    exactCountBelow: z.number().int().min(0).optional(),
    importBatch: z.number().int().min(1).max(100_000).optional(),
    checkpointName: z.string().min(1).max(200).optional(),
    archiveFile: z.string().min(1).optional(),
  })
  .refine((options) => (options.connection === undefined) !== (options.pglite === undefined), {
    message: 'give either a connection (URL or folder) or a pglite instance',
    path: ['connection'],
  });

const isUrl = (connection: string) => /^postgres(ql)?:\/\//i.test(connection);

/** Open the primary database: a pool on a URL, or PGlite on a folder (locked) or a given instance. */
async function openDatabase(options: z.output<typeof optionsSchema>): Promise<SqlDatabase> {
  const connections = options.maxConnections ?? 10;
  if (options.pglite !== undefined)
    return pgliteDatabase(options.pglite as unknown as PGlite, async () => {});
  const connection = options.connection!;
  if (isUrl(connection)) return pgDatabaseAt(connection, connections);
  const release = lockDataFolder(connection);
  try {
    const { PGlite } = await import('@electric-sql/pglite');
    // The data lives in a subfolder: PGlite takes a non-empty folder without PG_VERSION for a broken cluster.
    const db = await PGlite.create(join(connection, 'pgdata'));
    return pgliteDatabase(db, async () => {
      try {
        await db.close();
      } finally {
        release();
      }
    });
  } catch (error) {
    release();
    throw error;
  }
}

/**
 * Bring the store's schema to the newest version, as `openPostgresStore`
 * does on open: for deployments that migrate in a separate step (then open
 * with `migrate: false`). Resolves with the versions applied.
 */
export async function migratePostgresStore(options: PostgresStoreOptions): Promise<number[]> {
  const parsed = parseOptions(optionsSchema, options, { name: 'migratePostgresStore' });
  const database = await openDatabase(parsed);
  try {
    return await migrate(database, parsed.schema ?? 'leadpipe');
  } finally {
    await database.close();
  }
}

/** Lead store methods traced, with their span's operation (`leadpipe.store.<operation>`). */
const LEAD_OPERATIONS = {
  upsert: 'upsert',
  get: 'get',
  getByEmail: 'get_by_email',
  query: 'query',
  count: 'count',
  import: 'import',
  erase: 'erase',
  retain: 'retain',
  readOutbox: 'read_outbox',
} as const satisfies Partial<Record<keyof LeadStoreV1, string>>;

/** Campaign store methods traced: the claim, the due scan and every other write or read of a run. */
const CAMPAIGN_OPERATIONS = {
  enroll: 'campaign_enroll',
  getEnrollment: 'campaign_get_enrollment',
  enrollmentsOfLead: 'campaign_enrollments_of_lead',
  updateEnrollment: 'campaign_update_enrollment',
  due: 'campaign_due',
  nextWakeAt: 'campaign_next_wake_at',
  recordEvent: 'campaign_record_event',
  eventsSince: 'campaign_events_since',
  claimSend: 'campaign_claim_send',
  markSent: 'campaign_mark_sent',
  markFailed: 'campaign_mark_failed',
  resolveClaim: 'campaign_resolve_claim',
  reopenSend: 'campaign_reopen_send',
  getSend: 'campaign_get_send',
  listSends: 'campaign_list_sends',
  mailboxUsage: 'campaign_mailbox_usage',
  suppress: 'campaign_suppress',
  getSuppression: 'campaign_get_suppression',
  putDeadLetter: 'campaign_put_dead_letter',
  listDeadLetters: 'campaign_list_dead_letters',
  removeDeadLetter: 'campaign_remove_dead_letter',
  setTimer: 'campaign_set_timer',
  dueTimers: 'campaign_due_timers',
  removeTimer: 'campaign_remove_timer',
  stats: 'campaign_stats',
} as const satisfies Partial<Record<keyof CampaignStoreV1, string>>;

/**
 * Open the lead store, cache, dead-letter queue and checkpoint store on one
 * PostgreSQL database (node-postgres), or embedded on PGlite when
 * `connection` is a folder. Migrations run on open unless `migrate: false`.
 *
 * @throws ConfigurationError naming the option when an option is invalid or the PGlite folder is in use.
 *
 * @example
 * ```ts
 * const store = await openPostgresStore({ connection: process.env.DATABASE_URL! });
 * await store.leads.upsert([createLead({ email: 'ada@acme.com' })]);
 * const page = await store.leads.query({ where: { emailDomain: 'acme.com' }, fields: ['email'] });
 * await store.close();
 * ```
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const parsed = parseOptions(optionsSchema, options, { name: 'openPostgresStore' });
  if (
    parsed.readReplicas !== undefined &&
    parsed.readReplicas.length > 0 &&
    parsed.connection !== undefined
  ) {
    if (!isUrl(parsed.connection)) {
      throw new ConfigurationError('invalid_configuration', {
        issues: [
          { field: 'readReplicas', reason: 'read replicas need a PostgreSQL server, not a PGlite folder' },
        ],
      });
    }
  }
  const schemaName = parsed.schema ?? 'leadpipe';
  const schema = `"${schemaName}"`;
  const now = parsed.now ?? systemClock;
  const opened = await openDatabase(parsed);
  const replicas = (parsed.readReplicas ?? []).map((url) => pgDatabaseAt(url, parsed.maxConnections ?? 10));
  const catchUpMs = parsed.replicaCatchUpMs ?? 0;
  const routing = replicaRouting(opened, replicas, catchUpMs);
  const database = routing.primary;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await Promise.all(replicas.map((replica) => replica.close()));
    await opened.close();
  };
  try {
    if (parsed.migrate !== false) await migrate(database, schemaName);
  } catch (error) {
    await close();
    throw error;
  }
  const reader = routing.reader;
  return {
    engine: database.engine,
    leads: traceStoreMethods(
      createPostgresLeadStoreOn(
        database,
        {
          schema,
          mergePolicy: parsed.mergePolicy ?? 'highestConfidence',
          customFields: new Set(parsed.customFields ?? []),
          now,
          exactCountBelow: parsed.exactCountBelow ?? 10_000,
          importBatch: parsed.importBatch ?? 1_000,
          ...(parsed.archiveFile === undefined ? {} : { archiveFile: parsed.archiveFile }),
          reader,
        },
        close,
      ),
      database.engine,
      LEAD_OPERATIONS,
    ),
    cache: traceCache(createPostgresCacheOn(database, schema, now), database.engine),
    deadLetters: traceDeadLetterQueue(createPostgresDeadLetterQueueOn(database, schema), database.engine),
    checkpoints: traceCheckpointStore(
      createPostgresCheckpointStoreOn(database, schema, parsed.checkpointName ?? 'default', now),
      database.engine,
    ),
    campaigns: traceStoreMethods(
      createPostgresCampaignStoreOn(database, schema, close),
      database.engine,
      CAMPAIGN_OPERATIONS,
    ),
    backup: () => tracedBackup(backupLines(database, schema, now, parsed.archiveFile), database.engine),
    restore: (source) =>
      tracedRestore(database.engine, () => restoreBackup(database, schema, parsed.archiveFile, source)),
    close,
  };
}

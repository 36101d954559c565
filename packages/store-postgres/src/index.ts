/**
 * @packageDocumentation
 * `@leadpipe/store-postgres`: the lead store on PostgreSQL (node-postgres),
 * or embedded on PGlite when given a folder, with the cache, dead-letter
 * queue and checkpoint store of a run in the same database.
 */

export {
  BACKUP_FORMAT,
  BACKUP_VERSION,
  type BackupCounts,
  type BackupHeader,
} from './backup.js';
export {
  migratePostgresStore,
  openPostgresStore,
  type PGliteInstance,
  type PostgresStore,
  type PostgresStoreOptions,
} from './open-store.js';

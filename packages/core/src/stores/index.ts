export {
  compactResultLog,
  createFileCheckpointStore,
  type FileCheckpointStoreOptions,
  type ResultLogCompaction,
} from './file-checkpoint-store.js';
export {
  createFileDeadLetterQueue,
  type FileDeadLetterQueue,
  type FileDeadLetterQueueOptions,
} from './file-dead-letter-queue.js';
export { createMemoryCache, type MemoryCacheOptions } from './memory-cache.js';
export { createMemoryDeadLetterQueue } from './memory-dead-letter-queue.js';
export { createMemoryLeadStore, type MemoryLeadStoreOptions } from './memory-lead-store.js';
export type { SpillingHash64IndexOptions } from './spilling-index.js';

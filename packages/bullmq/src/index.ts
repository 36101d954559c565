/**
 * @packageDocumentation
 * `@leadpipe/bullmq`: leadpipe on BullMQ (Redis). Distributed runs: a
 * producer enqueues an input in batches with stable job ids, any number of
 * worker processes run them through the lead pipeline with limits and the
 * answer cache shared through Redis, and the producer writes the results
 * out. The campaign scheduler driver: wake-ups as delayed jobs keyed by
 * enrollment and version, cron triggers as job schedulers with a time zone.
 */
export {
  type BullMqCampaignQueue,
  type BullMqCampaignQueueOptions,
  createBullMqCampaignQueue,
  type FailedWakeUp,
} from './campaign-queue.js';
export {
  createDistributedRun,
  type DeadLetteredBatch,
  type DistributedRunOptions,
  type DistributedRunProducer,
  type DistributedRunProgress,
  type ResultTargets,
  type SubmittedRun,
  type WaitOptions,
  type WrittenResults,
} from './run-producer.js';
export type { BatchCounts, BatchOutcome, RedisConnectionOption } from './run-shared.js';
export {
  createWorker,
  type DistributedWorker,
  type DistributedWorkerOptions,
  type WorkerPipelineOptions,
} from './run-worker.js';

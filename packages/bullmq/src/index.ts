/**
 * @packageDocumentation
 * `@leadpipe/bullmq`: leadpipe on BullMQ (Redis). The campaign scheduler
 * driver: wake-ups as delayed jobs keyed by enrollment and version, cron
 * triggers as job schedulers with a time zone, shared by any number of
 * worker processes.
 */
export {
  type BullMqCampaignQueue,
  type BullMqCampaignQueueOptions,
  createBullMqCampaignQueue,
  type FailedWakeUp,
} from './campaign-queue.js';

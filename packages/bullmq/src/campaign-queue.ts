import {
  type CampaignCronSchedule,
  type CampaignQueueV1,
  type CampaignWakeUp,
  type CampaignWakeUpHandler,
  type Clock,
  observeQueueDepth,
  parseOptions,
  redactSecrets,
  systemClock,
  traceCall,
  ValidationError,
} from '@leadpipe/core/adapter-kit';
import { type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { assertNoEviction } from './redis-check.js';
import { MESSAGING_SYSTEM } from './telemetry.js';

/** Options of {@link createBullMqCampaignQueue}. */
export interface BullMqCampaignQueueOptions {
  /**
   * Redis: a URL (`redis://`, `rediss://` for TLS) or an ioredis client. A
   * client you pass must have `maxRetriesPerRequest: null` (BullMQ's workers
   * need it) and is not closed by `close()`. Default: `REDIS_URL`, else
   * `redis://127.0.0.1:6379`.
   */
  readonly connection?: string | Redis;
  /** The BullMQ queue's name. Default `leadpipe-campaigns`. Letters, digits, `-` and `_`. */
  readonly queueName?: string;
  /** BullMQ's key prefix in Redis. Default `leadpipe`. */
  readonly prefix?: string;
  /** Wake-ups handled at once by this process. Default 8. */
  readonly concurrency?: number;
  /** Runs of a wake-up whose handler rejects, before it stays in the failed set (see `failed`, `redrive`). Default 5. */
  readonly attempts?: number;
  /** First retry delay, ms; doubles each attempt. Default 1,000. */
  readonly backoffMs?: number;
  /** How long failed wake-ups are kept for inspection and redrive, ms. Default 7 days. */
  readonly keepFailedMs?: number;
  /** How long a running wake-up's lock lasts before BullMQ deems it stalled and runs it again, ms. Default 30,000. */
  readonly lockDurationMs?: number;
  /** Clock (epoch ms) that `runAt` is compared with to compute delays. Default: the system clock. */
  readonly now?: Clock;
  /**
   * Skip the `maxmemory-policy` check, for a Redis service that refuses
   * `CONFIG GET` but guarantees `noeviction`. Default false.
   */
  readonly assumeNoEviction?: boolean;
  /** Told about a handler failure (the wake-up is retried) and background errors. */
  readonly onError?: (error: unknown, key: string | undefined) => void;
}

/** A wake-up that used up its attempts. */
export interface FailedWakeUp {
  /** The wake-up. */
  readonly wakeUp: CampaignWakeUp;
  /** Runs made. */
  readonly attempts: number;
  /** The last error's message, scrubbed of secrets. */
  readonly error: string;
}

/** The BullMQ driver: {@link CampaignQueueV1} plus its dead letters. */
export interface BullMqCampaignQueue extends CampaignQueueV1 {
  /** Wake-ups that used up their attempts, oldest first (up to `limit`, default 100). */
  failed(limit?: number): Promise<readonly FailedWakeUp[]>;
  /** Run failed wake-ups again (all, or those with the given keys); resolves with how many. */
  redrive(keys?: readonly string[]): Promise<number>;
  /** Resolves once Redis answered and was checked; `enqueue` and `process` call it themselves. */
  ready(): Promise<void>;
}

const NAME = /^[A-Za-z0-9_-]{1,100}$/;

const optionsSchema = z
  .object({
    connection: z
      .union([
        z.string().refine((value) => /^rediss?:\/\//.test(value), 'must be a redis:// or rediss:// URL'),
        z.custom<Redis>((value) => value instanceof Redis, 'must be a URL or an ioredis client'),
      ])
      .optional(),
    queueName: z
      .string()
      .regex(NAME, 'must be 1 to 100 letters, digits, `-` or `_`')
      .default('leadpipe-campaigns'),
    prefix: z.string().regex(NAME, 'must be 1 to 100 letters, digits, `-` or `_`').default('leadpipe'),
    concurrency: z.number().int().min(1).max(1000).default(8),
    attempts: z.number().int().min(1).max(100).default(5),
    backoffMs: z.number().int().min(1).max(3_600_000).default(1000),
    keepFailedMs: z
      .number()
      .int()
      .min(1)
      .default(7 * 24 * 3_600_000),
    lockDurationMs: z.number().int().min(1000).max(3_600_000).default(30_000),
    now: z.custom<Clock>((value) => typeof value === 'function', 'must be a function').optional(),
    assumeNoEviction: z.boolean().default(false),
    onError: z
      .custom<(error: unknown, key: string | undefined) => void>(
        (value) => typeof value === 'function',
        'must be a function',
      )
      .optional(),
  })
  .strict();

/** The job data of a wake-up: only what the engine needs to reload its state (no personal data). */
interface WakeUpData {
  readonly key: string;
  readonly runAt: number;
}

/** BullMQ job id rules: no `:`, not all digits. */
function checkKey(key: string, field: string): void {
  if (
    typeof key !== 'string' ||
    key.length === 0 ||
    key.length > 500 ||
    key.includes(':') ||
    /^\d+$/.test(key)
  )
    throw new ValidationError([
      { field, reason: 'must be 1 to 500 characters, without `:`, and not all digits' },
    ]);
}

/**
 * The campaign scheduler driver on BullMQ (Redis): each wake-up is a delayed
 * job whose id is its key (`enr-<enrollment>-v<version>`, so enqueuing the
 * same wake-up twice makes one job), cron triggers are BullMQ job schedulers
 * (`upsertJobScheduler` with the campaign's time zone), and any number of
 * processes can run `process` on the same queue: each wake-up goes to one of
 * them. Delivery is at least once (a worker that dies mid-job has its job run
 * again once its lock lapses); the engine reloads state on every wake-up, so
 * a repeat does nothing. A handler that rejects is retried with exponential
 * backoff, then kept in the failed set (`failed`, `redrive`). At start it
 * refuses a Redis whose `maxmemory-policy` is not `noeviction`.
 *
 * @example
 * ```ts
 * const queue = createBullMqCampaignQueue({ connection: process.env.REDIS_URL });
 * const engine = createCampaignEngine({ campaigns, store, queue, leads, email, senders, unsubscribe });
 * await engine.start();
 * ```
 */
export function createBullMqCampaignQueue(options: BullMqCampaignQueueOptions = {}): BullMqCampaignQueue {
  const checked = parseOptions(optionsSchema, options, { name: 'createBullMqCampaignQueue' });
  const now = checked.now ?? systemClock;
  const owned = !(checked.connection instanceof Redis);
  const connection =
    checked.connection instanceof Redis
      ? checked.connection
      : new Redis(checked.connection ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
          maxRetriesPerRequest: null,
          lazyConnect: true,
        });
  const queue = new Queue<WakeUpData>(checked.queueName, { connection, prefix: checked.prefix });
  queue.on('error', (error) => report(error, undefined));
  const depth = observeQueueDepth({
    queue: checked.queueName,
    read: () => queue.getWaitingCount(),
    attributes: MESSAGING_SYSTEM,
  });
  let worker: Worker<WakeUpData> | undefined;
  let readiness: Promise<void> | undefined;
  let closed = false;

  const report = (error: unknown, key: string | undefined): void => {
    try {
      checked.onError?.(error, key);
    } catch {
      // An observer that throws changes nothing.
    }
  };

  const ready = (): Promise<void> => {
    readiness ??= (async () => {
      if (connection.status === 'wait') await connection.connect();
      if (!checked.assumeNoEviction) await assertNoEviction(connection, 'createBullMqCampaignQueue');
    })().catch((error: unknown) => {
      readiness = undefined;
      throw error;
    });
    return readiness;
  };

  const jobOptions = (key: string, runAt: number) => ({
    jobId: key,
    delay: Math.max(0, runAt - now()),
    attempts: checked.attempts,
    backoff: { type: 'exponential' as const, delay: checked.backoffMs },
    removeOnComplete: true,
    removeOnFail: { age: Math.ceil(checked.keepFailedMs / 1000) },
  });

  return {
    specificationVersion: 'v1',
    ready,

    async enqueue(wakeUp: CampaignWakeUp) {
      checkKey(wakeUp.key, 'key');
      if (!Number.isFinite(wakeUp.runAt))
        throw new ValidationError([{ field: 'runAt', reason: 'must be a time in epoch ms' }]);
      await ready();
      const data: WakeUpData = { key: wakeUp.key, runAt: wakeUp.runAt };
      const existing = await queue.getJob(wakeUp.key);
      if (existing !== undefined) {
        const state = await existing.getState();
        if (state === 'delayed') {
          // Enqueuing a key again replaces its time.
          await existing.updateData(data);
          await existing.changeDelay(Math.max(0, wakeUp.runAt - now()));
          return;
        }
        if (state === 'waiting' || state === 'prioritized' || state === 'failed' || state === 'completed') {
          await existing.remove().catch(() => undefined);
        } else if (state === 'active' || state === 'waiting-children') {
          // The running job cannot be replaced: add this wake-up beside it under its own id (same key in its data).
          await queue.add('wake', data, {
            ...jobOptions(wakeUp.key, wakeUp.runAt),
            jobId: `${wakeUp.key}--at-${wakeUp.runAt}`,
          });
          return;
        }
      }
      await queue.add('wake', data, jobOptions(wakeUp.key, wakeUp.runAt));
    },

    async cancel(key: string) {
      checkKey(key, 'key');
      await ready();
      for (const job of [await queue.getJob(key)]) {
        if (job === undefined) continue;
        const state = await job.getState();
        if (state === 'delayed' || state === 'waiting' || state === 'prioritized')
          await job.remove().catch(() => undefined);
      }
    },

    async schedule(id: string, schedule: CampaignCronSchedule) {
      checkKey(id, 'id');
      await ready();
      const key = `cron-${id}`;
      await queue.upsertJobScheduler(
        key,
        { pattern: schedule.cron, tz: schedule.timeZone },
        {
          name: 'wake',
          data: { key, runAt: 0 },
          opts: {
            attempts: checked.attempts,
            backoff: { type: 'exponential', delay: checked.backoffMs },
            removeOnComplete: true,
            removeOnFail: { age: Math.ceil(checked.keepFailedMs / 1000) },
          },
        },
      );
    },

    async unschedule(id: string) {
      checkKey(id, 'id');
      await ready();
      await queue.removeJobScheduler(`cron-${id}`);
    },

    process(handler: CampaignWakeUpHandler) {
      if (worker !== undefined) throw new Error('createBullMqCampaignQueue: process() was already called');
      if (closed) throw new Error('createBullMqCampaignQueue: the queue is closed');
      worker = new Worker<WakeUpData>(
        checked.queueName,
        (job: Job<WakeUpData>) =>
          traceCall(
            {
              kind: 'queue',
              vendor: checked.queueName,
              operation: 'job',
              attributes: { ...MESSAGING_SYSTEM, 'leadpipe.job': 'campaign_wake_up' },
            },
            async () => {
              // A scheduler job's runAt is when BullMQ meant it to run.
              const runAt = job.data.runAt > 0 ? job.data.runAt : job.timestamp + (job.opts.delay ?? 0);
              await handler({ key: job.data.key, runAt });
            },
          ),
        {
          connection,
          prefix: checked.prefix,
          concurrency: checked.concurrency,
          lockDuration: checked.lockDurationMs,
          stalledInterval: checked.lockDurationMs,
          autorun: false,
        },
      );
      worker.on('failed', (job, error) => report(error, job?.data.key));
      worker.on('error', (error) => report(error, undefined));
      const started = worker;
      ready().then(
        () => {
          if (!closed) void started.run().catch((error: unknown) => report(error, undefined));
        },
        (error: unknown) => report(error, undefined),
      );
    },

    async failed(limit = 100) {
      await ready();
      const jobs = await queue.getFailed(0, Math.max(0, limit - 1));
      return jobs
        .filter((job): job is Job<WakeUpData> => job !== undefined)
        .map((job) => ({
          wakeUp: { key: job.data.key, runAt: job.data.runAt },
          attempts: job.attemptsMade,
          error: redactSecrets(job.failedReason ?? ''),
        }));
    },

    async redrive(keys) {
      await ready();
      const wanted = keys === undefined ? undefined : new Set(keys);
      // Read the whole failed set first: retried jobs leave it, which would shift the pages under a paged loop.
      const jobs: Job<WakeUpData>[] = [];
      for (let start = 0; ; start += 100) {
        const page = await queue.getFailed(start, start + 99);
        for (const job of page) if (job !== undefined) jobs.push(job);
        if (page.length < 100) break;
      }
      let moved = 0;
      for (const job of jobs) {
        if (wanted !== undefined && !wanted.has(job.data.key)) continue;
        await job.retry('failed', { resetAttemptsMade: true });
        moved += 1;
      }
      return moved;
    },

    async close() {
      if (closed) return;
      closed = true;
      depth.stop();
      await worker?.close();
      await queue.close();
      if (owned) await connection.quit().catch(() => connection.disconnect());
    },
  };
}

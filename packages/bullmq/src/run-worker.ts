import {
  type Cache,
  createLeadPipeline,
  type LeadPipeline,
  type LeadPipelineOptions,
  type PipelineResult,
  type RejectedRow,
  redactSecrets,
  type SinkEntry,
  type SourceRow,
} from '@leadpipe/core';
import { observeQueueDepth, parseOptions, TelemetryAttributes, traceCall } from '@leadpipe/core/adapter-kit';
import Bottleneck from 'bottleneck';
import { type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { z } from 'zod';
import {
  type BatchCounts,
  type BatchData,
  type BatchOutcome,
  closeConnection,
  connectChecked,
  openConnection,
  type RedisConnectionOption,
  recordBatch,
  runKeys,
  sharedShape,
} from './run-shared.js';
import type { StoredBatch } from './stored-batch.js';
import { MESSAGING_SYSTEM } from './telemetry.js';

/** A pipeline of the worker's pool, with where its current batch's rejects go. */
interface PooledPipeline {
  readonly pipeline: LeadPipeline;
  rejects: RejectedRow[];
}

/**
 * The pipeline a worker runs each batch through: `createLeadPipeline`'s
 * options without what a distributed run sets itself (the shared `cache`,
 * and no checkpoints or side files: a batch's results go to Redis).
 */
export type WorkerPipelineOptions = Omit<
  LeadPipelineOptions,
  'cache' | 'checkpoints' | 'rejects' | 'duplicates' | 'progressIntervalMs'
>;

/** Options of {@link createWorker}. */
export interface DistributedWorkerOptions {
  /**
   * Redis: a URL (`redis://`, `rediss://` for TLS) or an ioredis client made
   * with `maxRetriesPerRequest: null` (yours to close). Default `REDIS_URL`,
   * else `redis://127.0.0.1:6379`.
   */
  readonly connection?: RedisConnectionOption;
  /** The BullMQ queue of batches. Default `leadpipe-runs`; the producer's must be the same. */
  readonly queueName?: string;
  /** BullMQ's key prefix. Default `leadpipe`. */
  readonly prefix?: string;
  /**
   * What each batch runs through: enrichment (engine options), CRMs, lead
   * store, dead-letter queue. The worker adds the Redis connection to the
   * enrichment's and the CRM sync's limiter settings (`limits.connection`),
   * so every worker on this Redis shares one quota per vendor and key.
   */
  readonly pipeline: WorkerPipelineOptions;
  /**
   * The answer cache every worker shares, such as `createRedisCache` of
   * `@leadpipe/store-redis` on the same Redis: an answer one worker paid
   * for is free to the others, and to a batch run again after a crash.
   * Required: a per-process cache would pay again for every batch a
   * crashed worker hands back.
   */
  readonly cache: Cache;
  /** Batches run at once by this process (each through its own pipeline). Default 1. */
  readonly concurrency?: number;
  /** Runs of a batch whose job throws (Redis down, a store that rejects) before it is dead-lettered. Default 3. */
  readonly attempts?: number;
  /** First retry delay, ms; doubles each attempt. Default 1,000. */
  readonly backoffMs?: number;
  /**
   * How long a running batch's lock lasts, ms; BullMQ renews it at half
   * that while the worker lives. A worker that dies has its batch run again
   * by another one after this. Default 30,000.
   */
  readonly lockDurationMs?: number;
  /** Times a batch may be found stalled (its worker died) and run again before it fails. Default 5. */
  readonly maxStalledCount?: number;
  /** Skip the `maxmemory-policy` check (a service that refuses `CONFIG GET` but guarantees `noeviction`). Default false. */
  readonly assumeNoEviction?: boolean;
  /** How long a run's results stay in Redis, ms. Default 7 days. */
  readonly keepRunMs?: number;
  /** Told about a batch that failed (it is retried, then dead-lettered) and background errors. */
  readonly onError?: (error: unknown, batchJobId: string | undefined) => void;
}

/** A worker of distributed runs. */
export interface DistributedWorker {
  /** Resolves once Redis answered and was checked and the worker takes batches. */
  ready(): Promise<void>;
  /** Batches this process finished (recorded, or found recorded already). */
  readonly finished: number;
  /**
   * Stop taking batches and close. Batches running get `graceMs` (default:
   * no limit) to finish; past it they are handed back: their locks are
   * released, and BullMQ gives them to another worker, which runs them again
   * (answers already paid come from the cache, CRM writes are keyed upserts).
   */
  close(graceMs?: number): Promise<void>;
}

const optionsSchema = z
  .object({
    ...sharedShape,
    pipeline: z.custom<WorkerPipelineOptions>(
      (value) => typeof value === 'object' && value !== null,
      'must be the pipeline options ({ enrichment, crms, store, ... })',
    ),
    cache: z.custom<Cache>(
      (value) =>
        typeof value === 'object' &&
        value !== null &&
        typeof (value as Cache).get === 'function' &&
        typeof (value as Cache).set === 'function',
      'must be a Cache shared by every worker, such as createRedisCache({ redis }) of @leadpipe/store-redis',
    ),
    concurrency: z.number().int().min(1).max(256).default(1),
    attempts: z.number().int().min(1).max(100).default(3),
    backoffMs: z.number().int().min(1).max(3_600_000).default(1000),
    lockDurationMs: z.number().int().min(1000).max(3_600_000).default(30_000),
    maxStalledCount: z.number().int().min(0).max(1000).default(5),
    onError: z
      .custom<(error: unknown, id: string | undefined) => void>(
        (value) => typeof value === 'function',
        'must be a function',
      )
      .optional(),
  })
  .strict();

/** The pipeline's source-row marker (`Symbol.for`, so it is shared with `@leadpipe/core`'s `isSourceRow`). */
const SOURCE_ROW = Symbol.for('leadpipe.pipeline.SourceRow');

/** A batch's rows as the pipeline reads them: file rows keep their line and read issues. */
function sourceRows(data: BatchData): SourceRow[] {
  return data.rows.map((row, position) => {
    const sourceRow: SourceRow = {
      rowNumber: position + 1,
      line: row.line ?? 0,
      values: row.values,
      columns: data.columns ?? Object.keys(row.values),
      ...(row.issues === undefined ? {} : { issues: row.issues }),
    };
    Object.defineProperty(sourceRow, SOURCE_ROW, { value: true, enumerable: false });
    return sourceRow;
  });
}

/** A result with its row numbers counted from the start of the run, not of the batch. */
function shifted(result: PipelineResult, offset: number): PipelineResult {
  const moved = { ...result, rowNumber: result.rowNumber + offset };
  if ('duplicateOf' in result && typeof result.duplicateOf === 'number')
    return { ...moved, duplicateOf: result.duplicateOf + offset } as PipelineResult;
  return moved;
}

/**
 * A worker of distributed runs: takes batches that `createDistributedRun`
 * submitted to the BullMQ queue, runs each through the lead pipeline
 * (validate, dedupe within the batch, enrich, lead store, CRM sync) and
 * records every row's result in Redis once, for the producer to write out.
 * Any number of workers, in any number of processes, share the queue.
 *
 * What holds across workers: the limiters share one quota per vendor and
 * key through Redis (Bottleneck clustering on this connection); answers
 * are shared through `cache`, so no lead is paid twice; CRM and store
 * writes are keyed upserts, so a batch run twice creates nothing twice.
 * Delivery is at least once: a worker that dies mid-batch has the batch
 * run again by another once its lock lapses (`lockDurationMs`); the run
 * again finds the paid answers in the cache and the records upserted, and
 * its results are recorded only if the first run did not get that far.
 * A batch whose job throws is retried (`attempts`), then kept in BullMQ's
 * failed set: the producer lists it (`deadLetters`) and `redrive`s it.
 * At start it refuses a Redis whose `maxmemory-policy` is not `noeviction`.
 *
 * @example
 * ```ts
 * const worker = createWorker({
 *   connection: process.env.REDIS_URL,
 *   cache: createRedisCache({ redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }),
 *   pipeline: { enrichment: { providers: [apollo] }, crms: [{ adapter: hubspot, mapping }] },
 * });
 * process.once('SIGTERM', () => void worker.close(25_000));
 * ```
 */
export function createWorker(options: DistributedWorkerOptions): DistributedWorker {
  const checked = parseOptions(optionsSchema, options, { name: 'createWorker' });
  const { redis, owned } = openConnection(checked.connection);
  const report = (error: unknown, id: string | undefined): void => {
    try {
      checked.onError?.(error, id);
    } catch {
      // An observer that throws changes nothing.
    }
  };
  // The limiters' own client: Bottleneck subscribes on a duplicate of it, and BullMQ's blocking calls stay apart.
  // Not BullMQ's `maxRetriesPerRequest: null`: with it, Bottleneck 2.19's clustered limiters never start a job (measured).
  const limiterClient = new Redis({ ...redis.options, lazyConnect: false, maxRetriesPerRequest: 20 });
  const limits = new Bottleneck.IORedisConnection({ client: limiterClient, Redis });
  limits.on('error', (error: unknown) => report(error, undefined));
  const given = checked.pipeline;
  const pipelineOptions: LeadPipelineOptions = {
    ...given,
    ...(given.enrichment === undefined
      ? {}
      : {
          enrichment: {
            ...given.enrichment,
            limits: { ...given.enrichment.limits, connection: limits },
          },
        }),
    ...(given.crms === undefined || given.crms.length === 0
      ? {}
      : { crmOptions: { ...given.crmOptions, limits: { ...given.crmOptions?.limits, connection: limits } } }),
    cache: checked.cache,
    progressIntervalMs: 500,
  };
  const makePipeline = (): PooledPipeline => {
    const pooled: PooledPipeline = {
      rejects: [],
      pipeline: createLeadPipeline({
        ...pipelineOptions,
        rejects: (row) => {
          pooled.rejects.push(row);
        },
      }),
    };
    all.push(pooled);
    return pooled;
  };
  const all: PooledPipeline[] = [];
  // Refuse bad pipeline options now, not on the first batch.
  const idle: PooledPipeline[] = [makePipeline()];
  let finished = 0;
  let closed = false;
  let readiness: Promise<void> | undefined;

  const processBatch = async (job: Job<BatchData, BatchOutcome>): Promise<BatchOutcome> => {
    const pooled = idle.pop() ?? makePipeline();
    const { pipeline } = pooled;
    pooled.rejects = [];
    const stop = pipeline.on('pipeline.progress', (progress) => {
      void job
        .updateProgress({
          index: job.data.index,
          rows: job.data.rows.length,
          finished: progress.done + progress.rejected + progress.deadLettered,
        })
        .catch(() => undefined);
    });
    try {
      const results: PipelineResult[] = [];
      const entries: SinkEntry[] = [];
      const offset = job.data.offset;
      const run = pipeline.run(sourceRows(job.data), {
        output: {
          write: (entry) => {
            entries.push({ ...entry, rowNumber: entry.rowNumber + offset });
          },
        },
      });
      for await (const result of run) results.push(shifted(result, offset));
      const counts: BatchCounts = {
        done: results.filter((result) => result.status === 'done').length,
        rejected: results.filter((result) => result.status === 'rejected').length,
        deadLettered: results.filter((result) => result.status === 'deadLettered').length,
        duplicates: results.filter((result) => result.status === 'done' && result.duplicateOf !== undefined)
          .length,
      };
      results.sort((a, b) => a.rowNumber - b.rowNumber);
      entries.sort((a, b) => a.rowNumber - b.rowNumber);
      const rejects = pooled.rejects
        .map((row) => ({ ...row, rowNumber: row.rowNumber + offset }))
        .sort((a, b) => a.rowNumber - b.rowNumber);
      const stored: Omit<StoredBatch, 'index'> = { results, entries, rejects };
      const keys = runKeys(checked.prefix, checked.queueName, job.data.runId);
      const recorded = await recordBatch(
        redis,
        keys,
        job.data.index,
        job.id ?? '',
        JSON.stringify(stored),
        counts,
        checked.keepRunMs,
      );
      if (recorded < 0)
        throw new Error(
          `batch ${job.data.index} of run ${job.data.runId}: job ${job.id} is not the batch submitted for it (the run was submitted again with other rows)`,
        );
      finished += 1;
      return { index: job.data.index, recorded: recorded === 1, ...counts };
    } finally {
      stop();
      pooled.rejects = [];
      idle.push(pooled);
    }
  };

  const tracedBatch = (job: Job<BatchData, BatchOutcome>): Promise<BatchOutcome> =>
    traceCall(
      {
        kind: 'queue',
        vendor: checked.queueName,
        operation: 'job',
        attributes: {
          ...MESSAGING_SYSTEM,
          'leadpipe.job': 'distributed_run_batch',
          [TelemetryAttributes.batchSize]: job.data.rows.length,
        },
      },
      () => processBatch(job),
    );
  const worker = new Worker<BatchData, BatchOutcome>(checked.queueName, tracedBatch, {
    connection: redis,
    prefix: checked.prefix,
    concurrency: checked.concurrency,
    lockDuration: checked.lockDurationMs,
    stalledInterval: Math.max(1000, Math.floor(checked.lockDurationMs / 2)),
    maxStalledCount: checked.maxStalledCount,
    autorun: false,
  });
  worker.on('failed', (job, error) => {
    report(error, job?.id);
    if (job === undefined || job.attemptsMade < (job.opts.attempts ?? 1)) return;
    // Failed for good: mark the batch, so the producer's wait ends and lists it.
    const keys = runKeys(checked.prefix, checked.queueName, job.data.runId);
    void redis
      .multi()
      .hset(keys.failed, String(job.data.index), redactSecrets(error.message))
      .pexpire(keys.failed, checked.keepRunMs)
      .exec()
      .catch((failure: unknown) => report(failure, job.id));
  });
  worker.on('error', (error) => report(error, undefined));
  // The depth of the queue this worker takes from, read through a Queue on the worker's own connection.
  const depthQueue = new Queue<BatchData, BatchOutcome>(checked.queueName, {
    connection: redis,
    prefix: checked.prefix,
  });
  depthQueue.on('error', () => undefined);
  const depth = observeQueueDepth({
    queue: checked.queueName,
    read: () => depthQueue.getWaitingCount(),
    attributes: MESSAGING_SYSTEM,
  });

  const ready = (): Promise<void> => {
    readiness ??= (async () => {
      await connectChecked(redis, checked.assumeNoEviction, 'createWorker');
      // Bottleneck 2.19's `ready` is a promise, though its types say a method.
      const ready = (limits as unknown as { ready: Promise<unknown> | (() => Promise<unknown>) }).ready;
      await (typeof ready === 'function' ? ready.call(limits) : ready);
    })().catch((error: unknown) => {
      readiness = undefined;
      throw error;
    });
    return readiness;
  };
  ready().then(
    () => {
      if (!closed) void worker.run().catch((error: unknown) => report(error, undefined));
    },
    (error: unknown) => report(error, undefined),
  );

  return {
    ready,
    get finished() {
      return finished;
    },
    async close(graceMs?: number) {
      if (closed) return;
      closed = true;
      depth.stop();
      const closing = worker.close();
      if (graceMs !== undefined) {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((resolve) => {
          timer = setTimeout(() => resolve('late'), graceMs);
        });
        const outcome = await Promise.race([closing.then(() => 'closed' as const), late]);
        clearTimeout(timer);
        // Hand the batches still running back: without their locks, BullMQ gives them to another worker.
        if (outcome === 'late') await worker.close(true);
      } else await closing;
      await Promise.all(all.map(({ pipeline }) => pipeline.close().catch(() => undefined)));
      await depthQueue.close().catch(() => undefined);
      await limits.disconnect().catch(() => undefined);
      limiterClient.disconnect();
      await closeConnection(redis, owned);
    },
  };
}

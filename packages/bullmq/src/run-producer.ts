import { Readable } from 'node:stream';
import {
  ConfigurationError,
  type LeadSink,
  type PipelineResult,
  type PipelineSource,
  type RejectSink,
  type RejectsWriter,
  redactSecrets,
  ValidationError,
} from '@leadpipe/core';
import { observeQueueDepth, parseOptions } from '@leadpipe/core/adapter-kit';
import { type Job, Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { z } from 'zod';
import {
  type BatchData,
  type BatchOutcome,
  type BatchRow,
  batchJobId,
  closeConnection,
  connectChecked,
  openConnection,
  type RedisConnectionOption,
  type RunKeys,
  runIdSchema,
  runKeys,
  sharedShape,
} from './run-shared.js';
import type { StoredBatch } from './stored-batch.js';
import { MESSAGING_SYSTEM } from './telemetry.js';

/** Options of {@link createDistributedRun}. */
export interface DistributedRunOptions {
  /** Redis: a URL or an ioredis client made with `maxRetriesPerRequest: null` (yours to close). Default `REDIS_URL`, else `redis://127.0.0.1:6379`. */
  readonly connection?: RedisConnectionOption;
  /** The BullMQ queue of batches. Default `leadpipe-runs`; the workers' must be the same. */
  readonly queueName?: string;
  /** BullMQ's key prefix. Default `leadpipe`. */
  readonly prefix?: string;
  /** Rows per batch (one BullMQ job). Default 100. */
  readonly batchSize?: number;
  /** Runs of a batch whose job throws before it is dead-lettered. Default 3. */
  readonly attempts?: number;
  /** First retry delay, ms; doubles each attempt. Default 1,000. */
  readonly backoffMs?: number;
  /** How long a run's results, and its dead-lettered batches, stay in Redis, ms. Default 7 days. */
  readonly keepRunMs?: number;
  /** Skip the `maxmemory-policy` check (a service that refuses `CONFIG GET` but guarantees `noeviction`). Default false. */
  readonly assumeNoEviction?: boolean;
}

/** What {@link DistributedRunProducer.submit} did. */
export interface SubmittedRun {
  /** The run. */
  readonly runId: string;
  /** Batches in the input. */
  readonly batches: number;
  /** Rows in the input. */
  readonly rows: number;
  /** Batches enqueued now. */
  readonly enqueued: number;
  /** Batches already queued, running or recorded by an earlier submit of the same input: not enqueued again. */
  readonly alreadySubmitted: number;
}

/** Where a distributed run stands. */
export interface DistributedRunProgress {
  /** The run. */
  readonly runId: string;
  /** Batches submitted (`undefined` while the submit is still reading the input). */
  readonly batches: number | undefined;
  /** Rows submitted (`undefined` while the submit is still reading the input). */
  readonly rows: number | undefined;
  /** Batches whose results are recorded. */
  readonly batchesRecorded: number;
  /** Batches dead-lettered (failed every attempt; see `deadLetters`, `redrive`). */
  readonly batchesFailed: number;
  /** Rows that ended done (duplicates within a batch included). */
  readonly done: number;
  /** Rows that ended rejected. */
  readonly rejected: number;
  /** Rows that ended dead-lettered (a CRM or the store failed them). */
  readonly deadLettered: number;
  /** Rows folded into an earlier row of their batch with the same identity. */
  readonly duplicates: number;
  /** Rows of batches still running that their workers reported finished. */
  readonly finishedInFlight: number;
  /** Whether every batch is recorded or dead-lettered. */
  readonly complete: boolean;
}

/** A batch that failed every attempt. */
export interface DeadLetteredBatch {
  /** Its BullMQ job id. */
  readonly jobId: string;
  /** Its run. */
  readonly runId: string;
  /** Its number in the run. */
  readonly index: number;
  /** Its rows. */
  readonly rows: number;
  /** Runs made. */
  readonly attempts: number;
  /** The last error's message, scrubbed of secrets. */
  readonly error: string;
}

/** Where {@link DistributedRunProducer.writeResults} writes. */
export interface ResultTargets {
  /** Done leads, in input order (`createCsvWriter`, `createNdjsonWriter`, your own); closed at the end. */
  readonly output?: LeadSink;
  /** Rejected rows with their values: a function or a rejects file (`createRejectsWriter`, closed at the end). */
  readonly rejects?: RejectSink | RejectsWriter;
}

/** What {@link DistributedRunProducer.writeResults} wrote. */
export interface WrittenResults {
  /** Leads written to `output`. */
  readonly written: number;
  /** Rows written to `rejects`. */
  readonly rejects: number;
  /** Rows dead-lettered by a CRM or the store (in the results; their records are on the workers' dead-letter queue). */
  readonly deadLettered: number;
  /** Batches with no results (dead-lettered, or not finished): their rows are in none of the files. */
  readonly missingBatches: readonly number[];
}

/** Options of {@link DistributedRunProducer.wait}. */
export interface WaitOptions {
  /** Told where the run stands as batches finish (and at least every `pollMs`). */
  readonly onProgress?: (progress: DistributedRunProgress) => void;
  /** Stops waiting (the run goes on): `wait` rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Longest time between two looks, ms. Default 1,000. */
  readonly pollMs?: number;
}

/** The producer side of distributed runs. */
export interface DistributedRunProducer {
  /**
   * Read `source` and enqueue it in batches. Each batch's job id is a hash
   * of the run id, the batch's number and its rows: submitting the same
   * input again under the same `runId` enqueues nothing that is queued,
   * running or recorded (only dead-lettered batches, see `redrive`). The
   * same `runId` with other rows is refused (ConfigurationError on `runId`).
   */
  submit(source: PipelineSource, options: { readonly runId: string }): Promise<SubmittedRun>;
  /** Where the run stands now. */
  progress(runId: string): Promise<DistributedRunProgress>;
  /** Resolves once every batch of the run is recorded or dead-lettered, with the final figures. */
  wait(runId: string, options?: WaitOptions): Promise<DistributedRunProgress>;
  /** Every row's result, in input order, batch by batch (batches with no results are left out). */
  results(runId: string): AsyncIterable<PipelineResult>;
  /** Write the run's done leads and rejects out, in input order. */
  writeResults(runId: string, targets: ResultTargets): Promise<WrittenResults>;
  /** Batches that failed every attempt (of one run, or all), up to `limit` (default 100). */
  deadLetters(runId?: string, limit?: number): Promise<readonly DeadLetteredBatch[]>;
  /** Run dead-lettered batches again (of one run, or all); resolves with how many. */
  redrive(runId?: string): Promise<number>;
  /** Resolves once Redis answered and was checked. */
  ready(): Promise<void>;
  /** Close the queue and the connection (when opened from a URL). */
  close(): Promise<void>;
}

const optionsSchema = z
  .object({
    ...sharedShape,
    batchSize: z.number().int().min(1).max(10_000).default(100),
    attempts: z.number().int().min(1).max(100).default(3),
    backoffMs: z.number().int().min(1).max(3_600_000).default(1000),
  })
  .strict();

const SOURCE_ROW = Symbol.for('leadpipe.pipeline.SourceRow');

/** An input item as a batch row (and the columns it names, for a file's rows). */
function toBatchRow(item: unknown, position: number): { row: BatchRow; columns?: readonly string[] } {
  if (typeof item === 'object' && item !== null && (item as Record<symbol, unknown>)[SOURCE_ROW] === true) {
    const source = item as {
      values: Record<string, unknown>;
      line: number;
      columns: readonly string[];
      issues?: BatchRow['issues'];
    };
    return {
      row: {
        values: source.values,
        line: source.line,
        ...(source.issues === undefined ? {} : { issues: source.issues }),
      },
      columns: source.columns,
    };
  }
  if (typeof item !== 'object' || item === null || Array.isArray(item))
    throw new ValidationError([{ field: `source[${position}]`, reason: 'must be a row object' }]);
  return { row: { values: item as Record<string, unknown> } };
}

function iterate(source: PipelineSource): AsyncIterable<unknown> | Iterable<unknown> {
  if (typeof source === 'object' && source !== null) {
    if (Symbol.asyncIterator in source || Symbol.iterator in source)
      return source as AsyncIterable<unknown> | Iterable<unknown>;
    if (typeof (source as NodeJS.ReadableStream).pipe === 'function')
      return new Readable({ objectMode: true }).wrap(source as NodeJS.ReadableStream);
  }
  throw new ConfigurationError('invalid_configuration', {
    issues: [{ field: 'source', reason: 'must be an array, an (async) iterable or an object-mode stream' }],
  });
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * The producer side of distributed runs on BullMQ: `submit` reads an input
 * (rows of `readCsv` / `readNdjson`, an array, an async iterable, a
 * stream; a store query's rows) and enqueues it in batches with stable job
 * ids; workers (`createWorker`, `leadpipe worker`) run them; `wait` follows
 * the run through BullMQ's QueueEvents and the run's counts in Redis;
 * `writeResults` writes every done lead and reject out in input order;
 * `deadLetters` and `redrive` handle batches that failed every attempt.
 * At start it refuses a Redis whose `maxmemory-policy` is not `noeviction`.
 *
 * @example
 * ```ts
 * const runs = createDistributedRun({ connection: process.env.REDIS_URL });
 * await runs.submit(readCsv('leads.csv'), { runId: 'leads-2026-12-06' });
 * await runs.wait('leads-2026-12-06', { onProgress: (p) => console.log(p.done, '/', p.rows) });
 * await runs.writeResults('leads-2026-12-06', { output: createCsvWriter('leads.enriched.csv') });
 * await runs.close();
 * ```
 */
export function createDistributedRun(options: DistributedRunOptions = {}): DistributedRunProducer {
  const checked = parseOptions(optionsSchema, options, { name: 'createDistributedRun' });
  const { redis, owned } = openConnection(checked.connection);
  const queue = new Queue<BatchData, BatchOutcome>(checked.queueName, {
    connection: redis,
    prefix: checked.prefix,
  });
  queue.on('error', () => undefined);
  const depth = observeQueueDepth({
    queue: checked.queueName,
    read: () => queue.getWaitingCount(),
    attributes: MESSAGING_SYSTEM,
  });
  let events: QueueEvents | undefined;
  let eventsClient: Redis | undefined;
  const wakers = new Set<() => void>();
  const inFlight = new Map<string, number>();
  let readiness: Promise<void> | undefined;

  const ready = (): Promise<void> => {
    readiness ??= connectChecked(redis, checked.assumeNoEviction, 'createDistributedRun').catch(
      (error: unknown) => {
        readiness = undefined;
        throw error;
      },
    );
    return readiness;
  };

  const keysOf = (runId: string): RunKeys => {
    const parsed = runIdSchema.safeParse(runId);
    if (!parsed.success)
      throw new ValidationError([{ field: 'runId', reason: parsed.error.issues[0]?.message ?? 'invalid' }]);
    return runKeys(checked.prefix, checked.queueName, runId);
  };

  const listen = (): void => {
    if (events !== undefined) return;
    eventsClient = new Redis({ ...redis.options, lazyConnect: false });
    events = new QueueEvents(checked.queueName, {
      connection: eventsClient,
      prefix: checked.prefix,
    });
    events.on('error', () => undefined);
    const wake = () => {
      for (const waker of wakers) waker();
    };
    // A job's last progress event can come after its `completed` one (the worker sends it without waiting):
    // a job that ended is not counted in flight again.
    const ended = new Set<string>();
    events.on('progress', ({ jobId, data }) => {
      const finished = (data as { finished?: unknown } | undefined)?.finished;
      if (typeof finished === 'number' && !ended.has(jobId)) inFlight.set(jobId, finished);
      wake();
    });
    events.on('active', ({ jobId }) => {
      ended.delete(jobId);
    });
    events.on('completed', ({ jobId }) => {
      ended.add(jobId);
      inFlight.delete(jobId);
      wake();
    });
    events.on('failed', ({ jobId }) => {
      ended.add(jobId);
      inFlight.delete(jobId);
      wake();
    });
  };

  const progress = async (runId: string): Promise<DistributedRunProgress> => {
    const keys = keysOf(runId);
    await ready();
    const [counts, meta, failed] = await Promise.all([
      redis.hgetall(keys.counts),
      redis.hgetall(keys.meta),
      redis.hlen(keys.failed),
    ]);
    const number = (value: string | undefined) => (value === undefined ? 0 : Number(value));
    const batches = meta.batches === undefined ? undefined : Number(meta.batches);
    let finishedInFlight = 0;
    for (const [jobId, finished] of inFlight)
      if (jobId.startsWith(`${runId}-b`)) finishedInFlight += finished;
    const batchesRecorded = number(counts.batches);
    return {
      runId,
      batches,
      rows: meta.rows === undefined ? undefined : Number(meta.rows),
      batchesRecorded,
      batchesFailed: failed,
      done: number(counts.done),
      rejected: number(counts.rejected),
      deadLettered: number(counts.deadLettered),
      duplicates: number(counts.duplicates),
      finishedInFlight,
      complete: batches !== undefined && batchesRecorded + failed >= batches,
    };
  };

  async function* readBatch(runId: string): AsyncGenerator<StoredBatch> {
    const keys = keysOf(runId);
    await ready();
    const batches = Number((await redis.hget(keys.meta, 'batches')) ?? (await redis.hlen(keys.batches)));
    for (let index = 0; index < batches; index += 1) {
      const text = await redis.hget(keys.results, String(index));
      yield text === null ? { index, missing: true } : { index, ...(JSON.parse(text) as object) };
    }
  }

  return {
    ready,
    progress,

    async submit(source, submitOptions) {
      const runId = submitOptions?.runId;
      const keys = keysOf(runId);
      await ready();
      let batch: BatchRow[] = [];
      let columns: readonly string[] | undefined;
      let rows = 0;
      let index = 0;
      let enqueued = 0;
      let alreadySubmitted = 0;
      const flush = async () => {
        if (batch.length === 0) return;
        const rowsOfBatch = batch;
        const jobId = batchJobId(runId, index, rowsOfBatch);
        const field = String(index);
        const registered = await redis.hsetnx(keys.batches, field, jobId);
        if (registered === 0) {
          const existing = await redis.hget(keys.batches, field);
          if (existing !== jobId)
            throw new ConfigurationError('invalid_configuration', {
              issues: [
                {
                  field: 'runId',
                  reason: `run ${runId} was submitted before with other rows (batch ${index} differs); use another runId`,
                },
              ],
            });
        }
        const recorded = (await redis.hexists(keys.results, field)) === 1;
        const existingJob = recorded ? undefined : await queue.getJob(jobId);
        if (recorded || existingJob !== undefined) alreadySubmitted += 1;
        else {
          await queue.add(
            'batch',
            {
              runId,
              index,
              offset: rows - rowsOfBatch.length,
              ...(columns === undefined ? {} : { columns }),
              rows: rowsOfBatch,
            },
            {
              jobId,
              attempts: checked.attempts,
              backoff: { type: 'exponential', delay: checked.backoffMs },
              removeOnComplete: { age: 3600 },
              removeOnFail: { age: Math.ceil(checked.keepRunMs / 1000) },
            },
          );
          enqueued += 1;
        }
        index += 1;
        batch = [];
      };
      for await (const item of iterate(source)) {
        const converted = toBatchRow(item, rows);
        columns ??= converted.columns;
        batch.push(converted.row);
        rows += 1;
        if (batch.length >= checked.batchSize) await flush();
      }
      await flush();
      const ttl = checked.keepRunMs;
      await redis
        .multi()
        .hset(keys.meta, 'batches', String(index), 'rows', String(rows), 'submittedAt', String(Date.now()))
        .pexpire(keys.meta, ttl)
        .pexpire(keys.batches, ttl)
        .exec();
      return { runId, batches: index, rows, enqueued, alreadySubmitted };
    },

    async wait(runId, waitOptions = {}) {
      keysOf(runId);
      await ready();
      listen();
      const pollMs = waitOptions.pollMs ?? 1000;
      const signal = waitOptions.signal;
      for (;;) {
        signal?.throwIfAborted();
        const now = await progress(runId);
        try {
          waitOptions.onProgress?.(now);
        } catch {
          // An observer that throws changes nothing.
        }
        if (now.complete) return now;
        const woken = new AbortController();
        const waker = () => woken.abort();
        wakers.add(waker);
        const onAbort = () => woken.abort();
        signal?.addEventListener('abort', onAbort, { once: true });
        await sleep(pollMs, woken.signal);
        wakers.delete(waker);
        signal?.removeEventListener('abort', onAbort);
      }
    },

    async *results(runId) {
      for await (const stored of readBatch(runId)) {
        if (stored.missing === true) continue;
        for (const result of stored.results ?? []) yield result;
      }
    },

    async writeResults(runId, targets) {
      let written = 0;
      let rejects = 0;
      let deadLettered = 0;
      const missingBatches: number[] = [];
      const rejectSink =
        typeof targets.rejects === 'function'
          ? targets.rejects
          : targets.rejects?.write.bind(targets.rejects);
      try {
        for await (const stored of readBatch(runId)) {
          if (stored.missing === true) {
            missingBatches.push(stored.index);
            continue;
          }
          const entries = stored.entries ?? [];
          const rejected = stored.rejects ?? [];
          for (const entry of entries) {
            await targets.output?.write(entry);
            written += 1;
          }
          for (const row of rejected) {
            await rejectSink?.(row);
            rejects += 1;
          }
          deadLettered += (stored.results ?? []).filter((result) => result.status === 'deadLettered').length;
        }
      } finally {
        await targets.output?.close?.();
        if (typeof targets.rejects === 'object') await targets.rejects.close();
      }
      return { written, rejects, deadLettered, missingBatches };
    },

    async deadLetters(runId, limit = 100) {
      if (runId !== undefined) keysOf(runId);
      await ready();
      const jobs = await queue.getFailed(0, -1);
      return jobs
        .filter((job): job is Job<BatchData, BatchOutcome> => job !== undefined)
        .filter((job) => runId === undefined || job.data.runId === runId)
        .slice(0, limit)
        .map((job) => ({
          jobId: job.id ?? '',
          runId: job.data.runId,
          index: job.data.index,
          rows: job.data.rows.length,
          attempts: job.attemptsMade,
          error: redactSecrets(job.failedReason ?? ''),
        }));
    },

    async redrive(runId) {
      if (runId !== undefined) keysOf(runId);
      await ready();
      // Read the whole failed set first: retried jobs leave it, which would shift the pages under a paged loop.
      const jobs = (await queue.getFailed(0, -1)).filter(
        (job): job is Job<BatchData, BatchOutcome> =>
          job !== undefined && (runId === undefined || job.data.runId === runId),
      );
      for (const job of jobs) {
        await redis.hdel(
          runKeys(checked.prefix, checked.queueName, job.data.runId).failed,
          String(job.data.index),
        );
        await job.retry('failed', { resetAttemptsMade: true });
      }
      return jobs.length;
    },

    async close() {
      depth.stop();
      wakers.clear();
      const listening = events;
      events = undefined;
      if (listening !== undefined) {
        await listening.close();
      }
      eventsClient?.disconnect();
      await queue.close();
      await closeConnection(redis, owned);
    },
  };
}

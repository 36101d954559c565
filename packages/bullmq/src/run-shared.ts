import { createHash } from 'node:crypto';
import type { ValidationIssue } from '@leadpipe/core';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { assertNoEviction } from './redis-check.js';

/**
 * What producers and workers of distributed runs share: the Redis
 * connection option, the queue's name and prefix, the job data, the Redis
 * keys of a run and the script that records a batch's results once.
 */

/** A Redis URL (`redis://`, `rediss://` for TLS) or an ioredis client made with `maxRetriesPerRequest: null`. */
export type RedisConnectionOption = string | Redis;

const NAME = /^[A-Za-z0-9_-]{1,100}$/;

/** The options producers and workers share, as zod shapes. */
export const sharedShape = {
  connection: z
    .union([
      z.string().refine((value) => /^rediss?:\/\//.test(value), 'must be a redis:// or rediss:// URL'),
      z.custom<Redis>((value) => value instanceof Redis, 'must be a URL or an ioredis client'),
    ])
    .optional(),
  queueName: z.string().regex(NAME, 'must be 1 to 100 letters, digits, `-` or `_`').default('leadpipe-runs'),
  prefix: z.string().regex(NAME, 'must be 1 to 100 letters, digits, `-` or `_`').default('leadpipe'),
  assumeNoEviction: z.boolean().default(false),
  keepRunMs: z
    .number()
    .int()
    .min(60_000)
    .default(7 * 24 * 3_600_000),
};

/** A run id: letters, digits, `-` and `_` (BullMQ job ids must not hold `:`). */
export const runIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1 to 64 letters, digits, `-` or `_` (no `:`)');

/** One input row as a batch job carries it: the values, and where it came from in a file. */
export interface BatchRow {
  /** Values by column. */
  readonly values: Readonly<Record<string, unknown>>;
  /** The file line the row ends on, when read from a file. */
  readonly line?: number;
  /** Why the row could not be read, when it could not. */
  readonly issues?: readonly ValidationIssue[];
}

/** The data of a batch job. */
export interface BatchData {
  /** The run the batch belongs to. */
  readonly runId: string;
  /** The batch's 0-based number in the run. */
  readonly index: number;
  /** Rows before this batch in the input: a row's number in the run is `offset` + its number in the batch. */
  readonly offset: number;
  /** The input's columns, when the source named them (CSV). */
  readonly columns?: readonly string[];
  /** The rows. */
  readonly rows: readonly BatchRow[];
}

/** Rows of a batch by terminal state. */
export interface BatchCounts {
  /** Rows that ended done (duplicates included). */
  readonly done: number;
  /** Rows that ended rejected. */
  readonly rejected: number;
  /** Rows that ended dead-lettered. */
  readonly deadLettered: number;
  /** Rows folded into an earlier row of the batch with the same identity (counted in `done`). */
  readonly duplicates: number;
}

/** What a batch job returns. */
export interface BatchOutcome extends BatchCounts {
  /** The batch's number in the run. */
  readonly index: number;
  /** Whether this run of the job recorded the results (false: an earlier run of the same job had). */
  readonly recorded: boolean;
}

/** The BullMQ job id of batch `index` of run `runId`: stable for the same rows, without `:`. */
export function batchJobId(runId: string, index: number, rows: readonly BatchRow[]): string {
  const digest = createHash('sha256')
    .update(`${runId}\u0000${index}\u0000`)
    .update(JSON.stringify(rows))
    .digest('hex')
    .slice(0, 20);
  return `${runId}-b${index}-${digest}`;
}

/** The Redis keys of a run. */
export interface RunKeys {
  /** Hash: batch index -> the job id submitted for it. */
  readonly batches: string;
  /** Hash: batch index -> the batch's results (JSON), written once. */
  readonly results: string;
  /** Hash: `done`, `rejected`, `deadLettered`, `duplicates`, `batches` (recorded) -> counts. */
  readonly counts: string;
  /** Hash: batch index -> why its job failed for good (until a redrive records it). */
  readonly failed: string;
  /** Hash: `batches`, `rows`, `submittedAt` once a submit has read the whole input. */
  readonly meta: string;
}

/** The keys of run `runId` under BullMQ's prefix and queue. */
export function runKeys(prefix: string, queueName: string, runId: string): RunKeys {
  const base = `${prefix}:${queueName}:run:${runId}`;
  return {
    batches: `${base}:batches`,
    results: `${base}:results`,
    counts: `${base}:counts`,
    failed: `${base}:failed`,
    meta: `${base}:meta`,
  };
}

/**
 * Record a batch's results once: only for the job submitted for that index,
 * only the first time (a stalled job run again, or a second worker, finds
 * them recorded and changes nothing); adds its counts to the run's and
 * clears any failure mark. Returns 1 when recorded, 0 when already there,
 * -1 when the job is not the one submitted for the index.
 */
const RECORD_SCRIPT = `
local expected = redis.call('HGET', KEYS[1], ARGV[1])
if expected ~= ARGV[2] then return -1 end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[3]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[3], 'done', tonumber(ARGV[4]))
redis.call('HINCRBY', KEYS[3], 'rejected', tonumber(ARGV[5]))
redis.call('HINCRBY', KEYS[3], 'deadLettered', tonumber(ARGV[6]))
redis.call('HINCRBY', KEYS[3], 'duplicates', tonumber(ARGV[7]))
redis.call('HINCRBY', KEYS[3], 'batches', 1)
redis.call('HDEL', KEYS[4], ARGV[1])
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[8])) end
return 1
`;

/** Record batch `index`'s results (see the script above). */
export async function recordBatch(
  redis: Redis,
  keys: RunKeys,
  index: number,
  jobId: string,
  results: string,
  counts: BatchCounts,
  keepMs: number,
): Promise<number> {
  return Number(
    await redis.eval(
      RECORD_SCRIPT,
      4,
      keys.batches,
      keys.results,
      keys.counts,
      keys.failed,
      String(index),
      jobId,
      results,
      String(counts.done),
      String(counts.rejected),
      String(counts.deadLettered),
      String(counts.duplicates),
      String(keepMs),
    ),
  );
}

/** An ioredis connection for BullMQ: the one given, or one opened from a URL (owned: closed by `close`). */
export function openConnection(option: RedisConnectionOption | undefined): { redis: Redis; owned: boolean } {
  if (option instanceof Redis) return { redis: option, owned: false };
  return {
    redis: new Redis(option ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
      maxRetriesPerRequest: null,
      lazyConnect: true,
    }),
    owned: true,
  };
}

/** Connect when not yet connected, then refuse an evicting Redis unless the caller vouches for it. */
export async function connectChecked(redis: Redis, assumeNoEviction: boolean, what: string): Promise<void> {
  if (redis.status === 'wait') await redis.connect();
  if (!assumeNoEviction) await assertNoEviction(redis, what);
}

/** Close a connection this package opened; one the caller gave stays open. */
export async function closeConnection(redis: Redis, owned: boolean): Promise<void> {
  if (owned) await redis.quit().catch(() => redis.disconnect());
}

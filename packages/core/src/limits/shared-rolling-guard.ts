import { randomUUID } from 'node:crypto';
import type Bottleneck from 'bottleneck';
import { REDIS_NOW_LUA, type ScriptRunner, scriptRunner } from './redis-script.js';
import { type GuardedWindow, MAX_GUARDED_LIMIT } from './rolling-window-guard.js';

/**
 * Admits `weight` starts when the rolling window holds room for them, on
 * Redis's clock: drops entries older than the span, counts the rest, and
 * either records the new starts (returns 0) or returns how many ms to wait
 * until the entry that blocks them has aged out.
 *
 * KEYS[1] = the sorted set of start times; ARGV = span ms, limit, weight, member prefix.
 */
const ADMIT_SCRIPT = `${REDIS_NOW_LUA}local span = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local weight = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - span)
local count = redis.call('ZCARD', KEYS[1])
if count + weight <= limit then
  for unit = 1, weight do
    redis.call('ZADD', KEYS[1], now, ARGV[4] .. ':' .. unit)
  end
  redis.call('PEXPIRE', KEYS[1], span + 1000)
  return 0
end
local blocking = redis.call('ZRANGE', KEYS[1], count + weight - limit - 1, count + weight - limit - 1, 'WITHSCORES')
local wait = tonumber(blocking[2]) + span - now
if wait < 1 then wait = 1 end
return wait
`;

/** How often a long wait checks whether the limiter closed, ms. */
const STOP_CHECK_MS = 200;

/**
 * The rolling-window guard shared by every process on one Redis: the
 * per-process {@link RollingWindowGuard} spaces this process's starts, and
 * Bottleneck's reservoir counts a window's grants, but grants are made on
 * Redis's clock and tasks start on each process's: a process stalled after
 * its grant (a busy event loop, a GC pause, a descheduled container) starts
 * late, next to another process's on-time starts, and a rolling window can
 * then hold more than `limit`. This guard checks at the moment of start, in
 * one atomic Redis script on Redis's clock, that the last `span` ms hold room,
 * and holds the start back until they do. Used only with a connection and a
 * paced window of at most {@link MAX_GUARDED_LIMIT} starts.
 */
export class SharedRollingGuard {
  readonly #run: ScriptRunner;
  readonly #key: string;
  readonly #safetyMargin: number;
  readonly #process = randomUUID();
  #sequence = 0;

  /**
   * @param connection - the registry's Redis connection.
   * @param baseId - the limiter's Bottleneck id (`leadpipe:<id>:<key>`); the guard's key derives from it.
   * @param safetyMargin - extra room, as a fraction of the window's interval.
   */
  constructor(
    connection: Bottleneck.RedisConnection | Bottleneck.IORedisConnection,
    baseId: string,
    safetyMargin: number,
  ) {
    this.#run = scriptRunner(connection, ADMIT_SCRIPT);
    this.#key = `${baseId}:rolling-starts`;
    this.#safetyMargin = safetyMargin;
  }

  /**
   * Resolves when `weight` starts fit in the rolling window, and records them.
   * Rejects when Redis fails; `stopped()` ends the wait early (the limiter
   * closed), resolving without recording.
   *
   * @param window - the paced window now.
   * @param weight - units the start uses.
   * @param stopped - whether to give up waiting.
   */
  async admit(window: GuardedWindow, weight: number, stopped: () => boolean): Promise<void> {
    if (window.limit > MAX_GUARDED_LIMIT || weight > window.limit) return;
    const span = Math.ceil(window.intervalMs * (1 + this.#safetyMargin));
    this.#sequence += 1;
    const member = `${this.#process}:${this.#sequence}`;
    for (;;) {
      if (stopped()) return;
      const wait = Number(
        await this.#run([this.#key], [String(span), String(window.limit), String(weight), member]),
      );
      if (wait <= 0) return;
      // Sleep in short slices so a closed limiter stops waiting soon.
      for (let left = wait; left > 0 && !stopped(); left -= STOP_CHECK_MS)
        await new Promise((resolve) => setTimeout(resolve, Math.min(left, STOP_CHECK_MS)));
    }
  }
}

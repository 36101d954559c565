import type Bottleneck from 'bottleneck';
import { REDIS_NOW_LUA, type ScriptRunner, scriptRunner } from './redis-script.js';
import type { WindowState } from './windows.js';

/**
 * Every operation on the counted windows, in one script. Each key is a hash
 * `{ r: units left, t: last refill (Redis ms) }`. A key that does not exist
 * yet starts with its initial units, so the first process to use a window
 * sets it and a joining one keeps what the others used (like a clustered
 * Bottleneck with `clearDatastore: false`). A window counted from first use
 * (`interval` > 0) refills lazily, on Redis's clock, to its limit once
 * `interval` ms have passed since its last refill, as Bottleneck's reservoir
 * refresh does; an aligned one (`interval` 0) only when a process sets it at
 * a clock boundary.
 *
 * KEYS = one hash per window.
 * ARGV[1] = operation: `take` (all windows have `amount` units: take them, return 0; else return the ms until
 *   the first blocking window refills, or -1 when only a boundary refill can free it), `add` (add `amount`, at
 *   most up to the limit), `lower` (at most `amount` left), `raise` (at least the limit left), `set` (exactly
 *   `amount` left; a counted window's refill time starts again), `get` (units left of the first key).
 * ARGV[2] = amount; ARGV[3] = key lifetime ms; then per key: limit, interval (0: aligned), initial units.
 */
const COUNTERS_SCRIPT = `${REDIS_NOW_LUA}local op = ARGV[1]
local amount = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local left = {}
local refilled = {}
local wait = 0
for k = 1, #KEYS do
  local base = 3 + (k - 1) * 3
  local limit = tonumber(ARGV[base + 1])
  local interval = tonumber(ARGV[base + 2])
  local state = redis.call('HMGET', KEYS[k], 'r', 't')
  local r = tonumber(state[1])
  local t = tonumber(state[2])
  if r == nil then
    r = tonumber(ARGV[base + 3])
    t = now
    redis.call('HSET', KEYS[k], 'r', r, 't', t)
  end
  if interval > 0 and now >= t + interval then
    r = limit
    t = now
    redis.call('HSET', KEYS[k], 'r', r, 't', t)
  end
  left[k] = r
  refilled[k] = t
  if op == 'take' and r < amount and wait == 0 then
    if interval > 0 then wait = math.max(1, t + interval - now) else wait = -1 end
  end
end
if op == 'get' then return left[1] end
if op == 'take' and wait ~= 0 then return wait end
for k = 1, #KEYS do
  local base = 3 + (k - 1) * 3
  local limit = tonumber(ARGV[base + 1])
  local r = left[k]
  if op == 'take' then r = r - amount
  elseif op == 'add' then r = math.min(r + amount, limit)
  elseif op == 'lower' then r = math.min(r, amount)
  elseif op == 'raise' then r = math.max(r, limit)
  elseif op == 'set' then r = amount
  end
  if op == 'set' and tonumber(ARGV[base + 2]) > 0 then
    redis.call('HSET', KEYS[k], 'r', r, 't', now)
  else
    redis.call('HSET', KEYS[k], 'r', r)
  end
  redis.call('PEXPIRE', KEYS[k], ttl)
end
return 0
`;

/** The longest a waiter blocked by an aligned window sleeps before asking Redis again, ms. */
const MAX_POLL_MS = 250;

/** What {@link SharedWindowCounters} counts and where it reports. */
export interface SharedCountersOptions {
  /** The registry's Redis connection. */
  readonly connection: Bottleneck.RedisConnection | Bottleneck.IORedisConnection;
  /** The limiter's id in Redis (`leadpipe:<id>:<key>`); each window's key adds `:<window>:units`. */
  readonly baseId: string;
  /** The counted windows (every window but the paced one). */
  readonly windows: readonly WindowState[];
  /** Remaining counts reported before the counters existed: a new key starts with at most this many. */
  readonly reportedRemaining: ReadonlyMap<WindowState, number>;
  /** Told about background failures (Redis). */
  readonly onError: (error: unknown) => void;
}

/** A take waiting for room: woken early when this process refills a window. */
interface Waiter {
  readonly wake: () => void;
}

/**
 * The counted windows of a limiter shared through Redis (the long ones: an
 * hour, a day, besides the paced window Bottleneck holds): one atomic Lua
 * script per start takes a unit from every window at once, or says how long
 * to wait, on Redis's clock. A clustered Bottleneck per window cost several
 * Redis calls per start each (submit, register, free, heartbeats), which is
 * most of what sharing a limiter cost four workers.
 *
 * A take blocked by a window counted from first use sleeps until Redis says
 * it refills; one blocked by an aligned window (refilled by each process's
 * limiter at the clock boundary, {@link SharedWindowCounters.set}) sleeps
 * until this process refills or gives units back, or at most
 * {@link MAX_POLL_MS}, since another process may have.
 */
export class SharedWindowCounters {
  readonly #run: ScriptRunner;
  readonly #options: SharedCountersOptions;
  readonly #keys: string[];
  readonly #ttlMs: string;
  /** Remaining counts reported before these counters existed, per window (read once: the limiter clears its map). */
  readonly #reported: ReadonlyMap<WindowState, number>;
  readonly #waiters = new Set<Waiter>();
  #closed = false;

  /** @param options - see {@link SharedCountersOptions}. */
  constructor(options: SharedCountersOptions) {
    this.#options = options;
    this.#run = scriptRunner(options.connection, COUNTERS_SCRIPT);
    this.#reported = new Map(options.reportedRemaining);
    this.#keys = options.windows.map((window) => `${options.baseId}:${window.name}:units`);
    const longest = Math.max(0, ...options.windows.map((window) => window.intervalMs));
    // Like the clustered Bottleneck's `timeout`: an idle window's state outlives two of its intervals.
    this.#ttlMs = String(Math.max(2 * longest, 300_000));
  }

  /** Whether `window` is one of these counters. */
  has(window: WindowState): boolean {
    return this.#options.windows.includes(window);
  }

  /**
   * Takes `weight` units from every counted window at once, waiting while
   * any lacks them. Resolves `true` when taken, `false` when `stopped()` (or
   * {@link SharedWindowCounters.close}) ended the wait first. Rejects when
   * Redis fails.
   */
  async take(weight: number, stopped: () => boolean): Promise<boolean> {
    for (;;) {
      if (this.#closed || stopped()) return false;
      const wait = Number(await this.#call('take', weight, this.#options.windows));
      if (wait === 0) return true;
      await this.#sleep(wait < 0 ? MAX_POLL_MS : Math.min(wait, MAX_POLL_MS * 4));
    }
  }

  /** Gives `weight` units back to every window (a slot taken but not used), at most up to each limit. */
  refund(weight: number): void {
    this.#background('add', weight, this.#options.windows);
  }

  /** A window's limit rose or fell by `delta`: its units follow. */
  adoptLimit(window: WindowState, delta: number): void {
    this.#background('add', delta, [window]);
  }

  /** The vendor reports `remaining` left in `window`: lower its units to that when they are more. */
  lowerTo(window: WindowState, remaining: number): void {
    this.#background('lower', remaining, [window]);
  }

  /** The vendor's window reset: raise its units to the full limit when they are fewer. */
  restore(window: WindowState): void {
    this.#background('raise', 0, [window]);
  }

  /**
   * Sets `window`'s units to `units` outright (several processes refilling
   * an aligned window at its boundary can all do it without overfilling),
   * then calls `then`.
   */
  set(window: WindowState, units: number, then: () => void): void {
    this.#background('set', units, [window], then);
  }

  /** Units left in `window` now (after any refill due), as Redis holds them. */
  async current(window: WindowState): Promise<number> {
    return Number(await this.#call('get', 0, [window]));
  }

  /** Ends every wait (they resolve `false`); later calls do nothing. */
  close(): void {
    this.#closed = true;
    this.#wakeAll();
  }

  #call(op: string, amount: number, windows: readonly WindowState[]): Promise<unknown> {
    const keys = windows.map((window) => this.#keys[this.#options.windows.indexOf(window)]!);
    const args = [op, String(amount), this.#ttlMs];
    for (const window of windows) {
      const initial = Math.max(0, Math.min(window.limit, this.#reported.get(window) ?? window.limit));
      args.push(String(window.limit), String(window.aligned ? 0 : window.intervalMs), String(initial));
    }
    return this.#run(keys, args);
  }

  #background(op: string, amount: number, windows: readonly WindowState[], then?: () => void): void {
    if (this.#closed) return;
    this.#call(op, amount, windows)
      .then(() => {
        // More units may be there now: waiting takes ask again.
        this.#wakeAll();
        then?.();
      })
      .catch((error: unknown) => this.#options.onError(error));
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        wake: () => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.wake, ms);
      this.#waiters.add(waiter);
    });
  }

  #wakeAll(): void {
    for (const waiter of [...this.#waiters]) waiter.wake();
  }
}

import Bottleneck from 'bottleneck';
import { type Clock, systemClock } from '../contracts/clock.js';
import { SharedWindowCounters } from './shared-counters.js';
import type { WindowState } from './windows.js';

type Timer = ReturnType<typeof setTimeout>;

/**
 * The clock of pacing: the one timers and Bottleneck count in (the system
 * clock), not the registry's `now`, which is the vendor's clock for pauses,
 * resets and aligned boundaries. Spacing and refill delays are timer delays.
 */
export const timerClock: Clock = systemClock;

/** What a {@link BottleneckPacer} enforces and where it reports. */
export interface PacerOptions {
  /** Bottleneck id of the pacer (`leadpipe:<id>:<key>`); counted windows add `:<window>`. */
  readonly baseId: string;
  /** Redis connection: the windows and the concurrency cap are shared by every process using it. */
  readonly connection: Bottleneck.RedisConnection | Bottleneck.IORedisConnection | undefined;
  /** Every window, shortest first. */
  readonly windows: readonly WindowState[];
  /** The window paced evenly (held by the pacer itself), if any. */
  readonly pacingWindow: WindowState | undefined;
  /** The concurrency cap, if any. */
  readonly maxConcurrent: number | undefined;
  /** Even spacing of starts, ms. */
  readonly paceMs: number;
  /** Remaining counts reported before the pacer existed: a window starts with at most this many. */
  readonly reportedRemaining: ReadonlyMap<WindowState, number>;
  /** Clustering: a running job stops counting against the cap after this long. */
  readonly jobExpirationMs: number;
  /** Told about background failures (Redis, Bottleneck). */
  readonly onError: (error: unknown) => void;
}

function noop(): void {}

/**
 * The Bottleneck side of a paced limiter: one Bottleneck for the pace, the
 * concurrency cap and the paced window's reservoir, and the other (counted)
 * windows. With a `connection`, Bottleneck keeps the pacer in Redis
 * (clustering) and the counted windows are {@link SharedWindowCounters}: one
 * Redis script per start for all of them, on Redis's clock. Without one, each
 * counted window is a Bottleneck of its own, and windows counted
 * from first use are refilled here, on their interval from creation, with
 * Bottleneck's public `updateSettings` (its in-memory store stops refreshing
 * reservoirs after any `updateSettings`, so it is never given a refresh
 * interval). Aligned windows are refilled by the limiter on clock boundaries
 * ({@link BottleneckPacer.setReservoir}).
 */
export class BottleneckPacer {
  /** The pacer: grants the last slot of a start. */
  readonly pacer: Bottleneck;
  /** In memory: counted windows with their Bottleneck, longest first (the order slots are taken in). */
  readonly counters: readonly { readonly window: WindowState; readonly limiter: Bottleneck }[];
  /** With a connection: the counted windows, shared through Redis. */
  readonly #shared: SharedWindowCounters | undefined;
  /** The counted windows, longest first. */
  readonly #counted: readonly WindowState[];
  readonly #options: PacerOptions;
  readonly #byWindow = new Map<WindowState, Bottleneck>();
  readonly #refillTimers = new Map<WindowState, Timer>();
  #closed = false;

  /** @param options - see {@link PacerOptions}. */
  constructor(options: PacerOptions) {
    this.#options = options;
    const { connection, windows, pacingWindow } = options;
    const shortest = windows[0]?.intervalMs ?? 1000;
    const longest = windows[windows.length - 1]?.intervalMs ?? 1000;
    const heartbeatInterval =
      connection === undefined
        ? Math.min(250, Math.max(10, Math.floor(shortest / 20)))
        : Math.min(5000, Math.max(50, Math.floor(shortest / 20)));
    const common: Bottleneck.ConstructorOptions =
      connection === undefined
        ? { heartbeatInterval }
        : { connection, clearDatastore: false, heartbeatInterval, timeout: Math.max(2 * longest, 300_000) };
    // Aligned windows get no refresh (it would count from creation and drift); the limiter refills them on the
    // clock's boundaries. In memory, windows counted from first use are refilled by `#armRefill`.
    const windowSettings = (window: WindowState): Bottleneck.ConstructorOptions => ({
      reservoir: Math.max(0, Math.min(window.limit, options.reportedRemaining.get(window) ?? window.limit)),
      ...(window.aligned || connection === undefined
        ? {}
        : { reservoirRefreshInterval: window.intervalMs, reservoirRefreshAmount: window.limit }),
    });
    this.pacer = new Bottleneck({
      ...common,
      id: options.baseId,
      maxConcurrent: options.maxConcurrent ?? null,
      minTime: clusteredPace(options.paceMs, connection),
      ...(pacingWindow === undefined ? {} : windowSettings(pacingWindow)),
    });
    if (pacingWindow !== undefined) this.#byWindow.set(pacingWindow, this.pacer);
    this.#counted = windows.filter((window) => window !== pacingWindow).reverse();
    this.#shared =
      connection === undefined || this.#counted.length === 0
        ? undefined
        : new SharedWindowCounters({
            connection,
            baseId: options.baseId,
            windows: this.#counted,
            reportedRemaining: options.reportedRemaining,
            onError: options.onError,
          });
    this.counters = (this.#shared === undefined ? this.#counted : []).map((window) => {
      const limiter = new Bottleneck({
        ...common,
        id: `${options.baseId}:${window.name}`,
        ...windowSettings(window),
      });
      this.#byWindow.set(window, limiter);
      return { window, limiter };
    });
    for (const limiter of [this.pacer, ...this.counters.map((counter) => counter.limiter)]) {
      limiter.on('error', (error: unknown) => options.onError(error));
    }
    if (connection !== undefined) {
      // Bottleneck keeps a cluster's settings in Redis for days and a joining process does not overwrite them: a
      // pace left by an older version or another configuration would rule this one. The newest process's pace and
      // concurrency win; the shared reservoirs are left as they are (they hold the quota every process used).
      const pace = {
        minTime: clusteredPace(options.paceMs, connection),
        maxConcurrent: options.maxConcurrent ?? null,
      };
      this.#background(async () => {
        await this.pacer.updateSettings(pace);
      });
    }
    if (connection === undefined) {
      const createdAt = timerClock();
      for (const window of windows) if (!window.aligned) this.#armRefill(window, createdAt);
    }
  }

  /**
   * Takes `weight` units from each counted window, longest first, pushing
   * each window onto `acquired` once taken; stops early when `stop()` says so
   * after a take. Shared through Redis, every window is taken at once.
   */
  async takeCounted(weight: number, acquired: WindowState[], stop: () => boolean): Promise<void> {
    if (this.#shared !== undefined) {
      if (await this.#shared.take(weight, stop)) acquired.push(...this.#counted);
      return;
    }
    for (const counter of this.counters) {
      await counter.limiter.schedule({ weight }, () => Promise.resolve());
      acquired.push(counter.window);
      if (stop()) return;
    }
  }

  /** Runs `granted` when the pacer grants `weight` units (pace, paced window, concurrency cap). */
  grant(weight: number, granted: () => Promise<void>): Promise<void> {
    const expiration = this.#options.connection === undefined ? null : this.#options.jobExpirationMs;
    return this.pacer.schedule({ weight, expiration }, granted);
  }

  /** Gives `weight` units back to each of `windows` (a slot taken but not used). */
  refund(weight: number, windows: readonly WindowState[]): void {
    if (this.#shared !== undefined && windows.some((window) => this.#shared!.has(window)))
      this.#shared.refund(weight);
    for (const window of windows) {
      const limiter = this.#byWindow.get(window);
      if (limiter !== undefined) this.#background(() => limiter.incrementReservoir(weight));
    }
  }

  /** A window's limit changed by `delta`: the reservoir follows, and the pace when it is the paced window. */
  adoptLimit(window: WindowState, delta: number, paceMs: number): void {
    if (this.#shared?.has(window)) {
      this.#shared.adoptLimit(window, delta);
      return;
    }
    const limiter = this.#byWindow.get(window);
    if (limiter === undefined) return;
    const refresh: Bottleneck.ConstructorOptions =
      window.aligned || this.#options.connection === undefined
        ? {}
        : { reservoirRefreshAmount: window.limit };
    const settings =
      window === this.#options.pacingWindow
        ? { ...refresh, minTime: clusteredPace(paceMs, this.#options.connection) }
        : refresh;
    this.#background(async () => {
      await limiter.updateSettings(settings);
      await limiter.incrementReservoir(delta);
    });
  }

  /** The vendor reports `remaining` left in `window`: lower the reservoir to it when it holds more. */
  lowerTo(window: WindowState, remaining: number): void {
    if (this.#shared?.has(window)) {
      this.#shared.lowerTo(window, remaining);
      return;
    }
    const limiter = this.#byWindow.get(window);
    if (limiter === undefined) return;
    this.#background(async () => {
      const current = await limiter.currentReservoir();
      if (current !== null && current > remaining) await limiter.incrementReservoir(remaining - current);
    });
  }

  /** The vendor's window reset: raise the reservoir to the full limit when it holds less. */
  restore(window: WindowState): void {
    if (this.#shared?.has(window)) {
      this.#shared.restore(window);
      return;
    }
    const limiter = this.#byWindow.get(window);
    if (limiter === undefined) return;
    this.#background(async () => {
      const current = await limiter.currentReservoir();
      if (current !== null && current < window.limit)
        await limiter.incrementReservoir(window.limit - current);
    });
  }

  /**
   * Sets `window`'s reservoir to `units` outright (so several processes
   * sharing it through Redis can all do it without overfilling), then calls
   * `then`.
   */
  setReservoir(window: WindowState, units: number, then: () => void): void {
    if (this.#shared?.has(window)) {
      this.#shared.set(window, units, then);
      return;
    }
    const limiter = this.#byWindow.get(window);
    if (limiter === undefined) return;
    this.#background(async () => {
      await limiter.updateSettings({ reservoir: units });
      then();
    });
  }

  /** Stops the refills, drops Bottleneck's waiting jobs and disconnects (a shared connection stays open). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#shared?.close();
    for (const timer of this.#refillTimers.values()) clearTimeout(timer);
    this.#refillTimers.clear();
    const limiters = [this.pacer, ...this.counters.map((counter) => counter.limiter)];
    await Promise.all(
      limiters.map(async (limiter) => {
        limiter.stop({ dropWaitingJobs: true }).catch(noop);
        await limiter.disconnect();
      }),
    );
  }

  /**
   * In memory: gives a window counted from first use its full limit back each
   * interval, as Bottleneck's reservoir refresh does (at the first moment at
   * least `intervalMs` after the previous refill, on the timers' clock, which
   * Bottleneck reads too), without its heartbeat.
   */
  #armRefill(window: WindowState, lastRefill: number): void {
    const timer = setTimeout(
      () => {
        this.#refillTimers.delete(window);
        if (this.#closed) return;
        const now = timerClock();
        if (now < lastRefill + window.intervalMs) {
          this.#armRefill(window, lastRefill);
          return;
        }
        this.setReservoir(window, window.limit, noop);
        this.#armRefill(window, now);
      },
      Math.max(1, lastRefill + window.intervalMs - timerClock()),
    );
    // Like Bottleneck's heartbeat, a refill never keeps the process alive by itself.
    if (typeof timer === 'object') timer.unref();
    this.#refillTimers.set(window, timer);
  }

  #background(work: () => Promise<unknown>): void {
    work().catch((error: unknown) => this.#options.onError(error));
  }
}

/**
 * The pace Bottleneck is given: whole milliseconds on Redis. Bottleneck
 * 2.19's Redis scripts compute with a fractional `minTime` so that no job
 * is ever granted (a clustered limiter of 100 a second, paced at 10.4 ms,
 * never started one; measured), so a clustered pace is rounded up (never
 * faster than asked). In memory it stays as computed.
 */
function clusteredPace(paceMs: number, connection: PacerOptions['connection']): number {
  return connection === undefined ? paceMs : Math.ceil(paceMs);
}

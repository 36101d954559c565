import { LeadpipeError } from '../contracts/errors.js';
import { BaseLimiter, type LimiterSettings } from './base-limiter.js';
import { BottleneckPacer, timerClock } from './pacer.js';
import { type NormalizedPolicy, selectPacingWindow } from './policy.js';
import { RollingWindowGuard } from './rolling-window-guard.js';
import { SharedRollingGuard } from './shared-rolling-guard.js';
import type { QueuedTask } from './task-queue.js';
import { paceMs, type WindowState } from './windows.js';

type Timer = ReturnType<typeof setTimeout>;

/** Bottleneck tickets kept out ahead of the waiting tasks. */
const TICKETS_AHEAD = 2;

/** End times kept for aligned-window refills. */
const FINISH_LOG_SIZE = 4096;

/** A slot asked of Bottleneck for the next waiting task of this weight. */
interface Ticket {
  readonly weight: number;
  granted: boolean;
  /** Counted windows this ticket holds a slot of. */
  readonly acquired: WindowState[];
}

/**
 * The limiter of a policy with windows, or of any policy shared through
 * Redis: Bottleneck ({@link BottleneckPacer}) paces the tightest short window
 * and counts the others, the rolling-window guard holds back starts its
 * timers bunch, and aligned windows are refilled here on clock boundaries.
 * Chosen by the registry.
 */
export class PacedLimiter extends BaseLimiter {
  readonly #pacingWindow: WindowState | undefined;
  readonly #guard: RollingWindowGuard;
  /** With a Redis connection: the rolling-window check shared by every process, at the moment of start. */
  #sharedGuard: SharedRollingGuard | undefined;
  #pacer: BottleneckPacer | undefined;
  readonly #tickets = new Set<Ticket>();
  /** Remaining counts reported before the pacer was built; applied when it is. */
  readonly #reportedRemaining = new Map<WindowState, number>();
  /** Give a window its limit back at the vendor's reported reset. */
  readonly #restoreTimers = new Map<WindowState, Timer>();
  /** Refill aligned windows at their next clock boundary. */
  readonly #boundaryTimers = new Map<WindowState, Timer>();
  /** End times (registry clock) of the latest calls, one per unit, for aligned-window refills; bounded. */
  readonly #finishLog: number[] = [];
  /** Units of the calls running now. */
  #runningUnits = 0;

  /**
   * @param id - provider or CRM id.
   * @param key - credential key.
   * @param policy - the validated policy.
   * @param windows - local counts of its windows.
   * @param settings - the registry's settings.
   */
  constructor(
    id: string,
    key: string,
    policy: NormalizedPolicy,
    windows: WindowState[],
    settings: LimiterSettings,
  ) {
    super(id, key, policy, windows, settings);
    const pacing = selectPacingWindow(policy.windows, settings.paceWindowsUpToMs);
    this.#pacingWindow =
      pacing === undefined ? undefined : windows.find((window) => window.name === pacing.name);
    this.#guard = new RollingWindowGuard(settings.safetyMargin);
  }

  /**
   * Keeps up to {@link TICKETS_AHEAD} Bottleneck tickets out for the waiting
   * tasks. A ticket is a slot, not a task: when Bottleneck grants it, the
   * first waiting task of that weight (by priority) runs, so an aborted task
   * simply leaves the queue. Two tickets ahead keep Bottleneck's pacing grid
   * even when the event loop is late to hand in the next one.
   */
  protected dispatch(): void {
    while (this.#tickets.size < Math.min(TICKETS_AHEAD, this.queue.length)) {
      const next = this.queue.at(this.#tickets.size)!;
      const ticket: Ticket = { weight: next.weight, granted: false, acquired: [] };
      this.#tickets.add(ticket);
      void this.#acquire(ticket);
    }
  }

  protected paceMs(): number {
    return paceMs(this.#pacingWindow, this.settings.safetyMargin);
  }

  protected limitAdopted(window: WindowState, delta: number): void {
    this.#pacer?.adoptLimit(window, delta, this.paceMs());
  }

  protected remainingLowered(window: WindowState, remaining: number, restoreAt: number | undefined): void {
    if (restoreAt !== undefined) this.#armRestore(window, restoreAt, this.settings.now());
    if (this.#pacer === undefined) {
      this.#reportedRemaining.set(
        window,
        Math.min(this.#reportedRemaining.get(window) ?? remaining, remaining),
      );
      return;
    }
    this.#pacer.lowerTo(window, remaining);
  }

  protected waitTimers(): readonly (Timer | undefined)[] {
    return [...this.#boundaryTimers.values()];
  }

  protected override recordStart(weight: number, now: number): void {
    this.#runningUnits += weight;
    super.recordStart(weight, now);
  }

  protected override recordFinish(weight: number, now: number): void {
    this.#runningUnits -= weight;
    if (this.windows.some((window) => window.aligned)) {
      for (let unit = 0; unit < weight; unit += 1) this.#finishLog.push(now);
      if (this.#finishLog.length > FINISH_LOG_SIZE)
        this.#finishLog.splice(0, this.#finishLog.length - FINISH_LOG_SIZE);
    }
  }

  protected async release(): Promise<void> {
    for (const timer of [...this.#restoreTimers.values(), ...this.#boundaryTimers.values()])
      clearTimeout(timer);
    this.#restoreTimers.clear();
    this.#boundaryTimers.clear();
    await this.#pacer?.close();
  }

  #ensurePacer(): BottleneckPacer {
    if (this.#pacer !== undefined) return this.#pacer;
    this.#pacer = new BottleneckPacer({
      baseId: `leadpipe:${this.id}:${this.key}`,
      connection: this.settings.connection,
      windows: this.windows,
      pacingWindow: this.#pacingWindow,
      maxConcurrent: this.maxConcurrent,
      paceMs: this.paceMs(),
      reportedRemaining: this.#reportedRemaining,
      jobExpirationMs: this.settings.jobExpirationMs,
      onError: (error) => this.emitError(error),
    });
    this.#reportedRemaining.clear();
    const connection = this.settings.connection;
    if (connection !== undefined && this.#pacingWindow !== undefined)
      this.#sharedGuard = new SharedRollingGuard(
        connection,
        `leadpipe:${this.id}:${this.key}`,
        this.settings.safetyMargin,
      );
    for (const window of this.windows) if (window.aligned) this.#armBoundary(window);
    return this.#pacer;
  }

  async #acquire(ticket: Ticket): Promise<void> {
    let pacer: BottleneckPacer;
    try {
      pacer = this.#ensurePacer();
      await pacer.takeCounted(ticket.weight, ticket.acquired, () => this.closed);
      if (this.closed) return;
    } catch (error) {
      this.#ticketFailed(ticket, error);
      return;
    }
    pacer
      .grant(ticket.weight, () => this.#onGranted(ticket))
      .catch((error: unknown) => {
        if (!ticket.granted) this.#ticketFailed(ticket, error);
      });
  }

  #ticketFailed(ticket: Ticket, error: unknown): void {
    this.#tickets.delete(ticket);
    if (this.closed) return;
    this.#refund(ticket, false);
    const head = this.queue.shift();
    if (head !== undefined) {
      this.counts.done += 1;
      head.reject(
        new LeadpipeError('limiter_failed', {
          message: `Rate limiter for "${this.id}" could not grant a slot`,
          providerId: this.id,
          cause: error,
        }),
      );
    }
    this.pump();
  }

  #refund(ticket: Ticket, includePacer: boolean): void {
    const pacer = this.#pacer;
    if (pacer === undefined) return;
    const windows = [...ticket.acquired];
    if (includePacer && this.#pacingWindow !== undefined) windows.push(this.#pacingWindow);
    pacer.refund(ticket.weight, windows);
  }

  #onGranted(ticket: Ticket): Promise<void> {
    ticket.granted = true;
    this.#tickets.delete(ticket);
    if (this.closed) return Promise.resolve();
    const now = this.settings.now();
    const entry: QueuedTask | undefined = this.isPaused(now)
      ? undefined
      : this.queue.takeFirst((waiting) => waiting.weight === ticket.weight);
    if (entry === undefined) {
      this.#refund(ticket, true);
      this.pump();
      return Promise.resolve();
    }
    this.syncTimerRefs();
    // The guard works in timer time, like Bottleneck's pace: the delay below is a timer's.
    const clock = timerClock();
    const startAt = this.#guard.plan(this.#pacingWindow, clock, entry.weight);
    this.pump();
    if (startAt <= clock && this.#sharedGuard === undefined) return this.run(entry, now);
    return new Promise<void>((resolve) => {
      setTimeout(() => resolve(this.#startShared(entry)), Math.max(0, startAt - clock));
    });
  }

  /**
   * Starts `entry` once the rolling window shared through Redis has room (see
   * {@link SharedRollingGuard}); without a connection, at once. A Redis failure
   * is reported and the start goes ahead: Bottleneck has already granted it.
   */
  async #startShared(entry: QueuedTask): Promise<void> {
    const shared = this.#sharedGuard;
    const window = this.#pacingWindow;
    if (shared !== undefined && window !== undefined) {
      try {
        await shared.admit(window, entry.weight, () => this.closed);
      } catch (error) {
        this.emitError(error);
      }
    }
    return this.run(entry, this.settings.now());
  }

  /**
   * The vendor's window resets at `resetAt`: give the window its full limit
   * back then, rather than idling until its own refill comes round.
   */
  #armRestore(window: WindowState, resetAt: number, now: number): void {
    const previous = this.#restoreTimers.get(window);
    if (previous !== undefined) clearTimeout(previous);
    const timer = setTimeout(() => {
      this.#restoreTimers.delete(window);
      if (this.closed) return;
      window.used = 0;
      window.windowStart = resetAt;
      this.#reportedRemaining.delete(window);
      this.#pacer?.restore(window);
    }, resetAt - now);
    if (typeof timer === 'object') timer.unref();
    this.#restoreTimers.set(window, timer);
  }

  /**
   * Refills an aligned window to its full limit at each clock boundary
   * (multiples of its interval since the epoch, on the registry's clock). The
   * refill sets the reservoir outright, so several processes sharing it
   * through Redis can all do it without overfilling.
   *
   * A timer can fire before the registry's clock shows the boundary (Node
   * rounds timer delays to whole milliseconds, and a custom `now` need not
   * tick with the timers): the refill then waits for the boundary itself.
   * Refilling early would hand out the new window's units while the vendor
   * still counts the old one, and re-arming from a clock short of the
   * boundary would refill the same window twice.
   */
  #armBoundary(window: WindowState, boundary?: number): void {
    if (this.closed) return;
    const now = this.settings.now();
    const next = boundary ?? now - (now % window.intervalMs) + window.intervalMs;
    const timer = setTimeout(
      () => {
        this.#boundaryTimers.delete(window);
        if (this.closed) return;
        if (this.settings.now() < next) {
          this.#armBoundary(window, next);
          return;
        }
        const straddling = this.#straddling(window, next);
        window.used = straddling;
        window.windowStart = next;
        this.#reportedRemaining.delete(window);
        this.#pacer?.setReservoir(window, window.limit - straddling, () => this.pump());
        this.#armBoundary(window);
      },
      Math.max(1, Math.ceil(next - now)),
    );
    this.#boundaryTimers.set(window, timer);
    this.syncTimerRefs();
  }

  /**
   * Units of the new aligned window (starting at `boundary`) already spent.
   * The vendor counts a call in the window it arrives in, and a call can
   * arrive any time before it ends. A call that ended before the boundary
   * arrived in the old window; any other may have arrived in the new one:
   * the calls still running, and those that ended after the boundary (the
   * refill timer can run late, after a stalled event loop, and the call may
   * have started long before). Tickets already holding a unit of the old
   * window but still waiting on another window (the pacer) will start in the
   * new one: they count there too.
   */
  #straddling(window: WindowState, boundary: number): number {
    let ended = 0;
    for (
      let index = this.#finishLog.length - 1;
      index >= 0 && this.#finishLog[index]! >= boundary;
      index -= 1
    ) {
      ended += 1;
    }
    let held = 0;
    for (const ticket of this.#tickets) {
      if (!ticket.granted && ticket.acquired.includes(window)) held += ticket.weight;
    }
    return Math.min(window.limit, this.#runningUnits + ended + held);
  }
}

import {
  type CampaignCronSchedule,
  type CampaignQueueV1,
  type CampaignStoreV1,
  type CampaignWakeUp,
  type CampaignWakeUpHandler,
  type Clock,
  systemClock,
} from '@leadpipe/core';
import { parseOptions } from '@leadpipe/core/adapter-kit';
import { z } from 'zod';

/** Options of {@link createInProcessQueue}. */
export interface InProcessQueueOptions {
  /** The store whose next-run index and timers drive the queue. */
  readonly store: CampaignStoreV1;
  /** The first time strictly after `after` a cron pattern fires (the engine's timing gives one). */
  readonly nextCronTime: (cron: string, timeZone: string, after: number) => number;
  /** Clock (epoch ms). Default `Date.now`. */
  readonly now?: Clock;
  /** Longest sleep between two looks at the store, in ms: changes made by other processes are seen within it. Default 1 000. */
  readonly pollMs?: number;
  /** Enrollments read per look. Default 100. */
  readonly batchSize?: number;
  /** Wake-ups handled at once. Default 8. */
  readonly concurrency?: number;
  /** Told of a handler or store failure (the wake-up comes again on a later look). */
  readonly onError?: (error: unknown, key: string) => void;
}

/** The in-process driver: {@link CampaignQueueV1} plus a way to run everything due now. */
export interface InProcessCampaignQueue extends CampaignQueueV1 {
  /**
   * Handle every wake-up due now with `handler`, looking again until none is
   * left (each enrollment version at most once per call). The timer loop
   * pauses meanwhile, so nothing due now is still running when it resolves.
   */
  drain(handler: CampaignWakeUpHandler): Promise<void>;
}

const optionsSchema = z.object({
  store: z.custom<CampaignStoreV1>((value) => typeof value === 'object' && value !== null, {
    error: 'must be a CampaignStoreV1',
  }),
  nextCronTime: z.custom<InProcessQueueOptions['nextCronTime']>((value) => typeof value === 'function', {
    error: 'must be a function',
  }),
  now: z.custom<Clock>((value) => typeof value === 'function', { error: 'must be a function' }).optional(),
  pollMs: z.number().int().min(1).max(3_600_000).default(1000),
  batchSize: z.number().int().min(1).max(10_000).default(100),
  concurrency: z.number().int().min(1).max(1000).default(8),
  onError: z
    .custom<(error: unknown, key: string) => void>((value) => typeof value === 'function', {
      error: 'must be a function',
    })
    .optional(),
});

/** Run `tasks` with at most `limit` at once. */
async function pool<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * The default scheduler driver: a timer over the store's next-run index
 * (`due`, `nextWakeAt`) and its persisted timers, so nothing is lost in a
 * restart: what was due while the process was down runs on the first look.
 * Enrollment wake-ups need no queue state of their own (the store's
 * `nextRunAt` is the truth); one-off and cron wake-ups are store timers.
 * Delivery is at least once: a timer is removed (or moved to the next cron
 * time) only after its handler resolved.
 *
 * @example
 * ```ts
 * const queue = createInProcessQueue({ store, nextCronTime: createScheduleTiming().nextCronTime });
 * ```
 */
export function createInProcessQueue(options: InProcessQueueOptions): InProcessCampaignQueue {
  const parsed = parseOptions(optionsSchema, options, { name: 'createInProcessQueue' });
  const { store, nextCronTime, pollMs, batchSize, concurrency } = parsed;
  const now = parsed.now ?? systemClock;
  const schedules = new Map<string, CampaignCronSchedule>();
  let handler: CampaignWakeUpHandler | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timerAt = Number.POSITIVE_INFINITY;
  let closed = false;
  let ticking: Promise<void> | undefined;
  let again = false;

  const report = (error: unknown, key: string) => {
    try {
      parsed.onError?.(error, key);
    } catch {
      // An error reporter that throws changes nothing.
    }
  };

  let draining: CampaignWakeUpHandler | undefined;

  const handle = async (wakeUp: CampaignWakeUp): Promise<boolean> => {
    const current = draining ?? handler;
    if (current === undefined) return false;
    try {
      await current(wakeUp);
      return true;
    } catch (error) {
      report(error, wakeUp.key);
      return false;
    }
  };

  /** One look: due enrollments, then due timers. `full`: a full batch, so look again at once. */
  const look = async (seen?: Set<string>): Promise<{ handled: number; full: boolean }> => {
    const at = now();
    const due = await store.due(at, batchSize);
    const wakeUps = due
      .map((enrollment) => ({
        key: `enr-${enrollment.id}-v${enrollment.version}`,
        runAt: enrollment.nextRunAt ?? at,
      }))
      .filter((wakeUp) => seen === undefined || !seen.has(wakeUp.key));
    for (const wakeUp of wakeUps) seen?.add(wakeUp.key);
    await pool(wakeUps, concurrency, async (wakeUp) => {
      await handle(wakeUp);
    });
    let handledTimers = 0;
    for (const due of await store.dueTimers(at)) {
      const key = `${due.key}@${due.runAt}`;
      if (seen?.has(key) === true) continue;
      seen?.add(key);
      if (due.key.startsWith('cron-')) {
        const schedule = schedules.get(due.key.slice('cron-'.length));
        if (schedule === undefined) continue; // Not (yet) scheduled by this process.
        if (await handle({ key: due.key, runAt: due.runAt })) {
          await store.setTimer({
            key: due.key,
            runAt: nextCronTime(schedule.cron, schedule.timeZone, Math.max(at, due.runAt)),
          });
          handledTimers++;
        }
      } else if (await handle({ key: due.key, runAt: due.runAt })) {
        await store.removeTimer(due.key, due.runAt);
        handledTimers++;
      }
    }
    return { handled: wakeUps.length + handledTimers, full: due.length >= batchSize };
  };

  let drainChain: Promise<unknown> = Promise.resolve();
  /** One drain at a time; the timer loop waits for it. */
  const drainWith = async (drainHandler: CampaignWakeUpHandler): Promise<void> => {
    draining = drainHandler;
    try {
      await ticking;
      const seen = new Set<string>();
      for (let round = 0; round < 10_000; round++) {
        if ((await look(seen)).handled === 0) return;
      }
    } finally {
      draining = undefined;
      if (again && !closed) {
        again = false;
        arm(0);
      }
    }
  };

  const arm = (delay: number) => {
    if (closed || handler === undefined) return;
    const at = now() + Math.max(0, delay);
    if (timer !== undefined && timerAt <= at) return;
    if (timer !== undefined) clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(
      () => {
        timer = undefined;
        timerAt = Number.POSITIVE_INFINITY;
        void tick();
      },
      Math.max(0, delay),
    );
    timer.unref?.();
  };

  const tick = async (): Promise<void> => {
    if (closed) return;
    if (ticking !== undefined || draining !== undefined) {
      again = true;
      return;
    }
    ticking = (async () => {
      let full = false;
      try {
        full = (await look()).full;
      } catch (error) {
        report(error, 'store');
      }
      if (closed) return;
      if (full) {
        arm(0);
        return;
      }
      let next: number | undefined;
      try {
        next = await store.nextWakeAt();
      } catch (error) {
        report(error, 'store');
      }
      arm(next === undefined ? pollMs : Math.min(pollMs, next - now()));
    })();
    try {
      await ticking;
    } finally {
      ticking = undefined;
      if (again && !closed) {
        again = false;
        arm(0);
      }
    }
  };

  return {
    specificationVersion: 'v1',
    async enqueue(wakeUp) {
      if (!wakeUp.key.startsWith('enr-')) await store.setTimer({ key: wakeUp.key, runAt: wakeUp.runAt });
      arm(wakeUp.runAt - now());
    },
    async cancel(key) {
      if (key.startsWith('enr-')) return;
      for (const due of await store.dueTimers(Number.MAX_SAFE_INTEGER)) {
        if (due.key === key) await store.removeTimer(key, due.runAt);
      }
    },
    async schedule(id, schedule) {
      const key = `cron-${id}`;
      const previous = schedules.get(id);
      schedules.set(id, schedule);
      const existing = (await store.dueTimers(Number.MAX_SAFE_INTEGER)).find((due) => due.key === key);
      const unchanged =
        previous === undefined ||
        (previous.cron === schedule.cron && previous.timeZone === schedule.timeZone);
      // Keep a persisted next time across restarts (a firing missed while down runs at once); a changed pattern starts over.
      if (existing === undefined || !unchanged) {
        await store.setTimer({ key, runAt: nextCronTime(schedule.cron, schedule.timeZone, now()) });
      }
      arm(0);
    },
    async unschedule(id) {
      schedules.delete(id);
      await this.cancel(`cron-${id}`);
    },
    process(next) {
      handler = next;
      arm(0);
    },
    drain(drainHandler) {
      const run = drainChain.then(() => drainWith(drainHandler));
      drainChain = run.catch(() => undefined);
      return run;
    },
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await ticking;
    },
  };
}

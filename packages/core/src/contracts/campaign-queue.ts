/**
 * The campaign scheduler's driver: what wakes the engine up. Jobs are only
 * wake-ups, delivered at least once; the engine reloads state from its
 * `CampaignStoreV1` and does nothing for a stale one. The default driver is
 * an in-process timer over the store's next-run index; a BullMQ driver
 * implements the same interface.
 */

/** One wake-up. */
export interface CampaignWakeUp {
  /**
   * What to wake: `enr-<enrollmentId>-v<version>` for an enrollment,
   * `timer-<key>` for a trigger timer, `cron-<id>` for a cron schedule. No `:`
   * and not all digits (BullMQ job id rules).
   */
  readonly key: string;
  /** When it is due (epoch ms). Delivered at or after this time. */
  readonly runAt: number;
}

/** A repeating schedule. */
export interface CampaignCronSchedule {
  /** Cron pattern, five fields (minute precision) or six (seconds first). */
  readonly cron: string;
  /** IANA time zone the pattern is read in, such as `Europe/Berlin`. */
  readonly timeZone: string;
}

/** Handles one wake-up. A rejection is reported by the driver and the wake-up may come again. */
export type CampaignWakeUpHandler = (wakeUp: CampaignWakeUp) => Promise<void>;

/**
 * The scheduler driver. Delivery is at least once and may be late, never
 * early; the engine is idempotent per wake-up.
 */
export interface CampaignQueueV1 {
  /** Contract version. */
  readonly specificationVersion: 'v1';
  /** Wake up `key` at `runAt`. Enqueuing a key again replaces its time. */
  enqueue(wakeUp: CampaignWakeUp): Promise<void>;
  /** Drop a pending wake-up (best effort: the engine ignores stale ones anyway). */
  cancel(key: string): Promise<void>;
  /** Deliver `cron-<id>` wake-ups on a cron schedule; the same id replaces the schedule. */
  schedule(id: string, schedule: CampaignCronSchedule): Promise<void>;
  /** Stop a cron schedule. */
  unschedule(id: string): Promise<void>;
  /** Start delivering wake-ups to `handler` (once per driver). */
  process(handler: CampaignWakeUpHandler): void;
  /** Stop delivering, wait for running handlers, release timers and connections. */
  close(): Promise<void>;
}

/** The current campaign queue contract. */
export type CampaignQueue = CampaignQueueV1;

import type { RunningEmulators, StartEmulatorsOptions, VendorName } from '@leadpipe/testkit';

/** Seed of the ground truth `--emulate` serves; `examples/data/leads.csv` was generated from it. */
export const EMULATE_SEED = 1;

/** How many times faster than real time the emulated vendors' clocks run under `--emulate`. */
export const EMULATE_TIME_SCALE = 600;

/**
 * Quotas the emulated enrichment vendors enforce under `--emulate` (and the
 * limits the adapters are told about). The adapters pace calls in real time,
 * so the vendors' real plan limits (Apollo's 200 a minute, 20 for bulk
 * calls) would make a demo of a few hundred rows take minutes: these are a
 * large plan's, so it takes seconds. HubSpot and Salesforce keep their real
 * limits.
 */
export const EMULATE_LIMITS = {
  /** Apollo's quotas, per endpoint and API key. */
  apollo: {
    /** Requests per minute (Apollo's real default: 200). */
    perMinute: 60_000,
    /** Requests per hour (Apollo's real default: 600). */
    perHour: 600_000,
    /** Requests per day (Apollo's real default: 6,000). */
    perDay: 6_000_000,
  },
  /** Clearbit's quota, per API (person, company) and key; streaming is exempt. */
  clearbit: {
    /** Requests per minute (Clearbit's real default: 600). */
    perMinute: 60_000,
  },
} as const;

/** Options of {@link emulatorOptions}. */
export interface EmulateOptions {
  /** Vendors to serve. Default every vendor the testkit emulates. */
  readonly vendors?: readonly VendorName[];
}

/**
 * The `startEmulators()` options `--emulate` uses: the seeded ground truth
 * ({@link EMULATE_SEED}, 20,000 people), {@link EMULATE_TIME_SCALE} and
 * {@link EMULATE_LIMITS}. Start emulators with these to share them between
 * several `runCli` calls (pass them as `emulators`).
 */
export function emulatorOptions(options: EmulateOptions = {}): StartEmulatorsOptions {
  return {
    ...(options.vendors && { vendors: options.vendors }),
    seed: EMULATE_SEED,
    timeScale: EMULATE_TIME_SCALE,
    truth: { seed: EMULATE_SEED },
    limits: EMULATE_LIMITS,
  };
}

/**
 * Start the testkit's vendor emulators on free ports of 127.0.0.1 with
 * {@link emulatorOptions}. `@leadpipe/testkit` is loaded only here, so a run
 * against real vendors never loads it. Close them with `close()`.
 */
export async function startEmulatedVendors(options: EmulateOptions = {}): Promise<RunningEmulators> {
  const { startEmulators } = await import('@leadpipe/testkit');
  return startEmulators(emulatorOptions(options));
}

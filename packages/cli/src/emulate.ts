import { ConfigurationError } from '@leadpipe/core';
import type { FaultOptions, RunningEmulators, StartEmulatorsOptions, VendorName } from '@leadpipe/testkit';

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
  /** Faults every emulated vendor injects (hangs, 5xx, 429 bursts, ...); default none. */
  readonly faults?: FaultOptions;
}

/** The environment variable `--emulate` reads faults from: JSON of the testkit's `FaultOptions`. */
export const EMULATE_FAULTS_VARIABLE = 'LEADPIPE_EMULATE_FAULTS';

/**
 * The faults `--emulate` injects, from {@link EMULATE_FAULTS_VARIABLE}
 * (such as `{"hangRate":1}` to see how a run ends when every vendor hangs);
 * `undefined` when it is not set.
 *
 * @throws ConfigurationError naming the variable when its value is not a JSON object.
 */
export function emulateFaults(env: Readonly<Record<string, string | undefined>>): FaultOptions | undefined {
  const text = env[EMULATE_FAULTS_VARIABLE];
  if (text === undefined || text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigurationError('invalid_configuration', {
      issues: [
        {
          field: EMULATE_FAULTS_VARIABLE,
          reason:
            'must be a JSON object of fault options, such as {"hangRate":1} or {"serverErrorRate":0.05}',
        },
      ],
    });
  }
  return value as FaultOptions;
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
    ...(options.faults && { faults: options.faults }),
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

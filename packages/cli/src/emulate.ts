import { ConfigurationError } from '@leadpipe/core';
import type { FaultOptions, VendorName } from '@leadpipe/testkit';

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
export interface EmulateOptions<Vendor extends string = string> {
  /** Vendors to serve, by id (`apollo`, `hubspot`...). Default every vendor the testkit emulates. */
  readonly vendors?: readonly Vendor[];
  /** Faults every emulated vendor injects (hangs, 5xx, 429 bursts, ...); default none. */
  readonly faults?: EmulatedFaults;
}

/**
 * Faults the emulated vendors inject: the testkit's `FaultOptions` (such as
 * `{ hangRate: 1 }` or `{ serverErrorRate: 0.05 }`), checked by the testkit
 * when the emulators start. Declared loosely here so that `@leadpipe/cli`'s
 * types never load the testkit's.
 */
export type EmulatedFaults = Readonly<Record<string, unknown>>;

/** The environment variable `--emulate` reads faults from: JSON of the testkit's `FaultOptions`. */
export const EMULATE_FAULTS_VARIABLE = 'LEADPIPE_EMULATE_FAULTS';

/**
 * The faults `--emulate` injects, from {@link EMULATE_FAULTS_VARIABLE}
 * (such as `{"hangRate":1}` to see how a run ends when every vendor hangs);
 * `undefined` when it is not set.
 *
 * @throws ConfigurationError naming the variable when its value is not a JSON object.
 */
export function emulateFaults(env: Readonly<Record<string, string | undefined>>): EmulatedFaults | undefined {
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
  return value as EmulatedFaults;
}

/**
 * What {@link emulatorOptions} returns: options of `startEmulators()` from
 * `@leadpipe/testkit`. Declared here so that `@leadpipe/cli`'s types never
 * load the testkit's (which needs the DOM types of msw).
 */
export interface EmulatorStartOptions<Vendor extends string = never> {
  /** Vendors to serve; every vendor when absent. */
  readonly vendors?: readonly Vendor[];
  /** Faults every vendor injects; none when absent. */
  readonly faults?: EmulatedFaults;
  /** {@link EMULATE_SEED}. */
  readonly seed: number;
  /** {@link EMULATE_TIME_SCALE}. */
  readonly timeScale: number;
  /** The seeded ground truth the enrichment vendors answer from. */
  readonly truth: {
    /** {@link EMULATE_SEED}: the same seed gives the same 20,000 people. */
    readonly seed: number;
  };
  /** {@link EMULATE_LIMITS}. */
  readonly limits: typeof EMULATE_LIMITS;
}

/**
 * Vendor emulators as `--emulate` uses them: what `startEmulators()` of
 * `@leadpipe/testkit` returns (its `RunningEmulators`) fits this type.
 */
export interface EmulatedVendors {
  /** URLs per vendor id served: `baseUrl` and any vendor-specific ones. */
  readonly urls: { readonly [vendor: string]: Readonly<Record<string, string>> | undefined };
  /** Credentials each vendor served accepts, by the emulator's names. */
  readonly credentials: { readonly [vendor: string]: Readonly<Record<string, string>> | undefined };
  /** Stop every server. */
  close(): Promise<void>;
}

/** The package `--emulate` loads its emulators from, installed beside `@leadpipe/cli` when wanted. */
const TESTKIT_PACKAGE = '@leadpipe/testkit';

/**
 * The `startEmulators()` options `--emulate` uses: the seeded ground truth
 * ({@link EMULATE_SEED}, 20,000 people), {@link EMULATE_TIME_SCALE} and
 * {@link EMULATE_LIMITS}. Start emulators with these to share them between
 * several `runCli` calls (pass them as `emulators`).
 */
export function emulatorOptions<Vendor extends string = never>(
  options: EmulateOptions<Vendor> = {},
): EmulatorStartOptions<Vendor> {
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
 * Whether `error`, thrown by `import()` or `require()`, says that package
 * `name` itself is not installed (not that one of its own dependencies is
 * missing, which is a broken install to report as it is).
 */
export function isMissingPackage(error: unknown, name: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  const notFound = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
  return notFound && typeof message === 'string' && message.includes(`'${name}'`);
}

/**
 * Start the testkit's vendor emulators on free ports of 127.0.0.1 with
 * {@link emulatorOptions}. `@leadpipe/testkit` (an optional peer dependency)
 * is loaded only here, so a run against real vendors never loads it. Close
 * them with `close()`.
 *
 * @throws ConfigurationError naming `--emulate` and the package to install when `@leadpipe/testkit` is not installed.
 */
export async function startEmulatedVendors(options: EmulateOptions = {}): Promise<EmulatedVendors> {
  const testkit = await import('@leadpipe/testkit').catch((error: unknown) => {
    if (!isMissingPackage(error, TESTKIT_PACKAGE)) throw error;
    throw new ConfigurationError('invalid_configuration', {
      message:
        `--emulate needs the vendor emulators of ${TESTKIT_PACKAGE}, which is not installed. ` +
        `Install it beside @leadpipe/cli (npm install ${TESTKIT_PACKAGE}, or npm install -g ${TESTKIT_PACKAGE} ` +
        'for a global leadpipe), or run without --emulate.',
      issues: [{ field: '--emulate', reason: `${TESTKIT_PACKAGE} is not installed` }],
    });
  });
  // The testkit checks the vendor names (an unknown one is refused), so they need no narrower type here.
  const vendors = options.vendors as readonly VendorName[] | undefined;
  return testkit.startEmulators({
    ...emulatorOptions(vendors === undefined ? {} : { vendors }),
    // The testkit checks the fault options and names any wrong one.
    ...(options.faults && { faults: options.faults as FaultOptions }),
  });
}

import { createGroundTruth, type GroundTruth, type GroundTruthOptions } from '../truth/index.js';
import { hashString } from '../truth/random.js';
import type { HubspotEmulatorOptions } from '../vendors/hubspot/types.js';
import type { SalesforceEmulatorOptions } from '../vendors/salesforce/types.js';
import type {
  EmulatorClock,
  EmulatorContext,
  EmulatorCounters,
  VendorEmulator,
  VendorName,
} from './context.js';
import { createCounters, createEmulatorClock, seededRandom } from './create-context.js';
import type { EmulatorDefinitionBase } from './definition.js';
import type { FaultOptions } from './faults.js';
import { checkCreateEmulatorOptions } from './options.js';
import { type DefinitionOf, definitionOf, EMULATOR_DEFINITIONS } from './vendors.js';
import { type WrappedEmulator, wrapEmulator } from './wrap.js';

/** Every vendor the testkit emulates, in a stable order. */
export const VENDOR_NAMES: readonly VendorName[] = EMULATOR_DEFINITIONS.map((definition) => definition.id);

/** Options of the HubSpot emulator (owned by `src/vendors/hubspot`). */
export type HubspotOptions = HubspotEmulatorOptions;
/** Options of the Salesforce emulator (owned by `src/vendors/salesforce`). */
export type SalesforceOptions = SalesforceEmulatorOptions;

/** Each vendor's own options, from its emulator definition. */
export type VendorOptionsMap = {
  readonly [V in VendorName]: NonNullable<Parameters<DefinitionOf<V>['create']>[1]>;
};

/** Each vendor's emulator type, from its emulator definition. */
export type VendorEmulatorMap = {
  readonly [V in VendorName]: ReturnType<DefinitionOf<V>['create']>;
};

/** Options of {@link createEmulator}. */
export interface CreateEmulatorOptions<V extends VendorName> {
  /** Seed of every deterministic choice. Default 1. */
  readonly seed?: number;
  /** How many times faster than real time the emulated clock runs. Default 1. */
  readonly timeScale?: number;
  /** Share a clock between emulators (overrides `timeScale`). */
  readonly clock?: EmulatorClock;
  /** Share counters between emulators. */
  readonly counters?: EmulatorCounters;
  /** The ground truth, or options to create it. Default: 20,000 people from `seed`. */
  readonly truth?: GroundTruth | GroundTruthOptions;
  /** Generic faults applied by the wrapper. */
  readonly faults?: FaultOptions;
  /** The vendor's own options. */
  readonly options?: VendorOptionsMap[V];
  /** Most requests kept in `requests`; the oldest are dropped first. Default 10,000; 0 records nothing. */
  readonly maxRecordedRequests?: number;
}

/** A wrapped emulator of vendor `V`, with the truth it answers from. */
export interface EmulatorInstance<V extends VendorName = VendorName>
  extends WrappedEmulator<VendorEmulatorMap[V]> {
  /** The population enrichment vendors answer from (shared by every vendor of a run). */
  readonly truth: GroundTruth;
}

function isGroundTruth(value: GroundTruth | GroundTruthOptions | undefined): value is GroundTruth {
  return value !== undefined && 'score' in value;
}

/** Resolve a truth option to a {@link GroundTruth}. */
export function resolveTruth(truth: GroundTruth | GroundTruthOptions | undefined, seed: number): GroundTruth {
  if (isGroundTruth(truth)) return truth;
  return createGroundTruth({ seed, ...truth });
}

/** A context for one vendor: shared clock and counters, a random stream of its own. */
function vendorContext(
  vendor: VendorName,
  seed: number,
  clock: EmulatorClock,
  counters: EmulatorCounters,
): EmulatorContext {
  return { seed, clock, counters, random: seededRandom(hashString(vendor, seed)) };
}

/**
 * Create one vendor emulator, wrapped with request recording, seeded faults
 * and counters. Route msw requests or a server to its `fetch`.
 *
 * @throws ConfigurationError when the vendor is unknown or an option is invalid.
 */
export function createEmulator<V extends VendorName>(
  vendor: V,
  options: CreateEmulatorOptions<V> = {},
): EmulatorInstance<V> {
  checkCreateEmulatorOptions(vendor, options);
  const seed = options.seed ?? 1;
  const clock = options.clock ?? createEmulatorClock(options.timeScale ?? 1);
  const counters = options.counters ?? createCounters();
  const context = vendorContext(vendor, seed, clock, counters);
  const truth = resolveTruth(options.truth, seed);
  // Checked above: the vendor has a definition.
  const definition = definitionOf(vendor as string) as
    | EmulatorDefinitionBase<V, VendorOptionsMap[V], VendorEmulator, object>
    | undefined as EmulatorDefinitionBase<V, VendorOptionsMap[V], VendorEmulator, object>;
  const emulator = definition.create(context, options.options, truth) as VendorEmulatorMap[V];
  const wrapped = wrapEmulator(emulator, context, {
    faults: options.faults,
    maxRecordedRequests: options.maxRecordedRequests,
    onClose: () => definition.close?.(emulator),
  });
  return { ...wrapped, truth };
}

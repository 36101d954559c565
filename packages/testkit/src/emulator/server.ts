import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import type { GroundTruth, GroundTruthOptions } from '../truth/index.js';
import type { EmulatorCounters, VendorName } from './context.js';
import { createCounters, createEmulatorClock } from './create-context.js';
import type { EmulatorDefinitionBase, VendorUrls } from './definition.js';
import type { FaultOptions } from './faults.js';
import { checkStartEmulatorsOptions } from './options.js';
import {
  createEmulator,
  type EmulatorInstance,
  resolveTruth,
  VENDOR_NAMES,
  type VendorOptionsMap,
} from './registry.js';
import { type DefinitionOf, definitionOf } from './vendors.js';

export type { VendorUrls } from './definition.js';

/**
 * Rate limits per vendor, merged into each vendor's own options (the
 * options win): each vendor's are the limits its emulator definition takes
 * (Apollo's per-endpoint minute, hour and day limits; Clearbit's `perMinute`;
 * HubSpot's ten-secondly and daily limits; Salesforce's `dailyApiRequests`).
 */
export type EmulatorLimits = {
  readonly [V in VendorName]?: NonNullable<Parameters<DefinitionOf<V>['withLimits']>[1]>;
};

/** Options of {@link startEmulators}. */
export interface StartEmulatorsOptions {
  /** Vendors to serve. Default every registered vendor (`VENDOR_NAMES`). */
  readonly vendors?: readonly VendorName[];
  /** First port; each vendor takes the next one. 0 (default) picks free ports. */
  readonly port?: number;
  /** Interface to bind. Default `127.0.0.1`. */
  readonly host?: string;
  /** Seed of every deterministic choice. Default 1. */
  readonly seed?: number;
  /** How many times faster than real time the emulated clock runs. Default 1. */
  readonly timeScale?: number;
  /** Rate limits per vendor. */
  readonly limits?: EmulatorLimits;
  /** Faults for every vendor. */
  readonly faults?: FaultOptions;
  /** Faults per vendor, replacing `faults` for that vendor. */
  readonly vendorFaults?: Partial<Record<VendorName, FaultOptions>>;
  /** The ground truth, or options to create it. */
  readonly truth?: GroundTruth | GroundTruthOptions;
  /** Most requests each vendor keeps in `requests`. Default 10,000; 0 records nothing. */
  readonly maxRecordedRequests?: number;
  /** Each vendor's own options. */
  readonly vendorOptions?: Partial<VendorOptionsMap>;
}

/** The wrapped emulators of a run, per vendor served. */
export type RunningVendorEmulators = {
  readonly [V in VendorName]?: EmulatorInstance<V>;
};

/** What {@link startEmulators} returns. */
export interface RunningEmulators {
  /** URLs per vendor served. */
  readonly urls: Partial<Record<VendorName, VendorUrls>>;
  /** Credentials each vendor accepts. */
  readonly credentials: Partial<Record<VendorName, Readonly<Record<string, string>>>>;
  /** Counters shared by every vendor (`<vendor>.…`). */
  readonly counters: EmulatorCounters;
  /** The ground truth enrichment vendors answer from. */
  readonly truth: GroundTruth;
  /** The wrapped emulators, for requests, faults and vendor state. */
  readonly emulators: RunningVendorEmulators;
  /** Stop every server, drop open connections, cancel pending webhooks. */
  close(): Promise<void>;
}

/** The vendor's own options with the run's limits for it merged in, by its emulator definition. */
function mergeOptions<V extends VendorName>(
  vendor: V,
  options: StartEmulatorsOptions,
): VendorOptionsMap[V] | undefined {
  const definition = definitionOf(vendor) as unknown as EmulatorDefinitionBase<
    V,
    VendorOptionsMap[V],
    never,
    object
  >;
  return definition.withLimits(options.vendorOptions?.[vendor], options.limits?.[vendor]);
}

function listen(instance: EmulatorInstance, host: string, port: number): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: instance.app.fetch, hostname: host, port }, () => resolve(server));
    server.once('error', reject);
  });
}

/**
 * Serve each vendor emulator on its own port of 127.0.0.1, from one shared
 * clock, counter set and ground truth. Each vendor's `baseUrl` replaces its
 * real origin (Salesforce's also serves as login host and `instance_url`;
 * Clearbit's streaming variant is `streamUrl`).
 *
 * @throws ConfigurationError naming every invalid option (a vendor, the port, a fault setting...).
 */
export async function startEmulators(options: StartEmulatorsOptions = {}): Promise<RunningEmulators> {
  checkStartEmulatorsOptions(options);
  const vendors = options.vendors ?? VENDOR_NAMES;
  const port = options.port ?? 0;
  const seed = options.seed ?? 1;
  const host = options.host ?? '127.0.0.1';
  const clock = createEmulatorClock(options.timeScale ?? 1);
  const counters = createCounters();
  const truth = resolveTruth(options.truth, seed);
  const emulators: Partial<Record<VendorName, EmulatorInstance>> = {};
  const servers: ServerType[] = [];
  const urls: Partial<Record<VendorName, VendorUrls>> = {};
  const credentials: Partial<Record<VendorName, Readonly<Record<string, string>>>> = {};
  const close = async () => {
    await Promise.all(Object.values(emulators).map((instance) => instance?.close()));
    await Promise.all(
      servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            if ('closeAllConnections' in server) server.closeAllConnections();
          }),
      ),
    );
  };
  try {
    for (const [index, vendor] of [...new Set(vendors)].entries()) {
      const instance = createEmulator(vendor, {
        seed,
        clock,
        counters,
        truth,
        faults: options.vendorFaults?.[vendor] ?? options.faults,
        options: mergeOptions(vendor, options),
        maxRecordedRequests: options.maxRecordedRequests,
      }) as EmulatorInstance;
      emulators[vendor] = instance;
      const server = await listen(instance, host, port === 0 ? 0 : port + index);
      servers.push(server);
      const address = server.address() as AddressInfo;
      urls[vendor] = definitionOf(vendor).urls(`http://${host}:${address.port}`);
      credentials[vendor] = instance.credentials;
    }
  } catch (error) {
    await close();
    throw error;
  }
  return {
    urls,
    credentials,
    counters,
    truth,
    emulators: emulators as RunningEmulators['emulators'],
    close,
  };
}

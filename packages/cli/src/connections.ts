import {
  ConfigurationError,
  type CrmAdapterV1,
  type CrmFieldMappingDefinition,
  type EnrichmentProviderV1,
  type RateLimitPolicy,
  readVendorVariable,
  registerSecret,
  type VendorDescriptorBase,
  type VendorEmulatorConnection,
  type VendorEnvironment,
} from '@leadpipe/core';
import { EMULATE_LIMITS, EMULATE_TIME_SCALE, type EmulatedVendors } from './emulate.js';
import { crmVendor, providerVendor, VENDORS } from './vendors.js';

/** Environment variables, as `process.env`. */
export type Environment = VendorEnvironment;

/** A key the command needs and did not find. */
export interface MissingKey {
  /** The environment variable(s) to set, such as `APOLLO_API_KEY`. */
  readonly variable: string;
  /** What needs it, such as `--providers apollo`. */
  readonly neededBy: string;
}

/** The adapters of a run. */
export interface Connections {
  /** Enrichment providers, in waterfall order. */
  readonly providers: readonly EnrichmentProviderV1[];
  /** The CRM target, when `--crm` was given. */
  readonly crm:
    | {
        /** The CRM adapter, built from the environment's keys or against an emulator. */
        readonly adapter: CrmAdapterV1;
        /** How leads become CRM records: the CRM descriptor's `defaultMapping`. */
        readonly mapping: CrmFieldMappingDefinition;
      }
    | undefined;
  /** Leads per CRM batch: the CRM descriptor's `defaultBatchSize`, if it has one. */
  readonly batchSize: number | undefined;
  /** Close every adapter built (their `close()`, where they have one). */
  close(): Promise<void>;
}

/**
 * The keys a run against the real vendors needs and `env` does not have,
 * as each vendor's descriptor says.
 *
 * @throws ValidationError naming `--providers` or `--crm` and the known names, for a vendor the command does not know.
 */
export function missingKeys(
  providers: readonly string[],
  crm: string | undefined,
  env: Environment,
): MissingKey[] {
  const missing: MissingKey[] = [];
  for (const name of providers) {
    for (const lack of providerVendor(name).missingVariables(env)) {
      missing.push({ variable: lack.variables, neededBy: `--providers ${name}` });
    }
  }
  if (crm !== undefined) {
    for (const lack of crmVendor(crm).missingVariables(env)) {
      missing.push({ variable: lack.variables, neededBy: `--crm ${crm}` });
    }
  }
  return missing;
}

/** Register every secret variable of `env` a known vendor reads, so no message can show one. */
export function registerKeys(env: Environment): void {
  for (const vendor of VENDORS) {
    for (const variable of vendor.environment) {
      if (variable.secret) readVendorVariable(env, variable.name, true);
    }
  }
}

/**
 * Where the emulator of vendor `id` listens, what it accepts, and how
 * `--emulate` runs it ({@link EMULATE_TIME_SCALE}, {@link EMULATE_LIMITS}):
 * what a descriptor's `emulatorSettings` takes. `undefined` when that
 * emulator is not running. Its credentials are registered as secrets, so
 * no message shows them.
 */
export function emulatorConnection(
  emulators: EmulatedVendors,
  id: string,
): VendorEmulatorConnection | undefined {
  const urls = emulators.urls[id];
  const credentials = emulators.credentials[id];
  if (urls === undefined || credentials === undefined) return undefined;
  for (const secret of Object.values(credentials)) registerSecret(secret);
  const limits = (EMULATE_LIMITS as Readonly<Record<string, RateLimitPolicy | undefined>>)[id];
  return { urls, credentials, timeScale: EMULATE_TIME_SCALE, ...(limits && { limits }) };
}

/**
 * The settings that point a vendor's adapter at its running emulator (base
 * URLs, the credentials it accepts, {@link EMULATE_LIMITS}, waits scaled to
 * {@link EMULATE_TIME_SCALE}), from the vendor's descriptor.
 *
 * @example
 * ```ts
 * const vendors = await startEmulators(emulatorOptions());
 * const apollo = createApollo(emulatedSettings(vendors, apolloDescriptor));
 * ```
 * @throws ConfigurationError when that vendor's emulator is not running.
 */
export function emulatedSettings<Settings>(
  emulators: EmulatedVendors,
  descriptor: VendorDescriptorBase<string, unknown, Settings>,
): Settings {
  const connection = emulatorConnection(emulators, descriptor.id);
  if (connection === undefined) {
    throw new ConfigurationError('invalid_configuration', {
      issues: [
        {
          field: '--emulate',
          reason: `the ${descriptor.id} emulator is not running; start the emulators with emulatorOptions()`,
        },
      ],
    });
  }
  return descriptor.emulatorSettings(connection);
}

/**
 * Build the run's adapters from the vendors' descriptors: against the
 * emulators when `emulators` is given, else against the real vendors with
 * keys from `env` (check {@link missingKeys} first).
 *
 * @throws ValidationError naming `--providers` or `--crm` and the known names, for a vendor the command does not know.
 */
export function connect(
  providers: readonly string[],
  crm: string | undefined,
  env: Environment,
  emulators: EmulatedVendors | undefined,
): Connections {
  // Look every name up before building anything, so an unknown one leaves nothing to close.
  const providerVendors = providers.map(providerVendor);
  const crmDescriptor = crm === undefined ? undefined : crmVendor(crm);
  const built: { close?(): Promise<void> }[] = [];
  const build = <Adapter extends { close?(): Promise<void> }>(
    vendor: VendorDescriptorBase<string, Adapter, unknown>,
  ): Adapter => {
    const adapter =
      emulators === undefined ? vendor.fromEnv(env) : vendor.create(emulatedSettings(emulators, vendor));
    built.push(adapter);
    return adapter;
  };
  const close = async () => {
    for (const adapter of built.splice(0)) await adapter.close?.();
  };
  try {
    const enrichment = providerVendors.map((vendor) => build(vendor));
    const target =
      crmDescriptor === undefined
        ? undefined
        : { adapter: build(crmDescriptor), mapping: crmDescriptor.defaultMapping };
    return { providers: enrichment, crm: target, batchSize: crmDescriptor?.defaultBatchSize, close };
  } catch (error) {
    void close().catch(() => undefined);
    throw error;
  }
}

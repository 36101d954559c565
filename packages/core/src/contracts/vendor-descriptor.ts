import type { CrmAdapterV1 } from './crm-adapter.js';
import type { CrmFieldMappingDefinition } from './crm-mapping.js';
import type { EmailProviderV1 } from './email-provider.js';
import type { EnrichmentProviderV1 } from './enrichment-provider.js';
import { ConfigurationError, type ValidationIssue } from './errors.js';
import type { RateLimitPolicy } from './rate-limit.js';
import { registerSecret } from './secrets.js';

/*
 * Vendors as plug-ins. Every adapter package exports one descriptor: what the
 * vendor is, which environment variables it reads, how to build it from an
 * environment or against its emulator, and (for CRMs) how leads map onto its
 * records by default. Faces (the CLI, a server) hold a list of descriptors
 * and never name a vendor in their code.
 */

/**
 * What a vendor does, which says which contract its adapter implements:
 * `enrichment` ({@link EnrichmentProviderV1}), `crm` ({@link CrmAdapterV1})
 * or `email` ({@link EmailProviderV1}).
 */
export type VendorKind = VendorDescriptor['kind'];

/** Environment variables, as `process.env`. Empty and blank values count as unset. */
export type VendorEnvironment = Readonly<Record<string, string | undefined>>;

/** One environment variable a descriptor's {@link VendorDescriptorBase.fromEnv} reads. */
export interface VendorEnvironmentVariable {
  /** The variable, such as `APOLLO_API_KEY`. */
  readonly name: string;
  /** The settings option it fills, such as `apiKey` (`jwt.privateKey` for a nested one). */
  readonly option: string;
  /** Whether it holds a credential: faces register its value with `registerSecret` before anything can print it. */
  readonly secret: boolean;
  /** What it is for, one line, such as `Apollo API key`. */
  readonly description: string;
}

/** A credential {@link VendorDescriptorBase.fromEnv} needs and the environment lacks. */
export interface MissingVendorVariable {
  /**
   * The settings option that takes it, such as `apiKey`; or, when there are
   * alternatives, the options of each, quoted: `'accessToken' and
   * 'instanceUrl', or 'refreshToken' and 'clientId'`.
   */
  readonly option: string;
  /**
   * The variables to set, as a person reads them: `APOLLO_API_KEY`, or
   * alternatives such as `SALESFORCE_ACCESS_TOKEN and SALESFORCE_INSTANCE_URL,
   * or SALESFORCE_REFRESH_TOKEN and SALESFORCE_CLIENT_ID`.
   */
  readonly variables: string;
}

/**
 * Where a vendor's emulator listens and what it accepts, as the testkit's
 * `startEmulators()` reports it for one vendor. A descriptor turns it into
 * settings with {@link VendorDescriptorBase.emulatorSettings}.
 */
export interface VendorEmulatorConnection {
  /** The emulator's URLs: `baseUrl` (replacing the vendor's origin) and any vendor-specific ones (`apiUrl`, `loginUrl`). */
  readonly urls: Readonly<Record<string, string>>;
  /** The credentials the emulator accepts, by the emulator's names (`apiKey`, `privateAppToken`, `refreshToken`). */
  readonly credentials: Readonly<Record<string, string>>;
  /**
   * How many times faster than real time the emulator's clock runs. Default
   * 1. Adapters that wait on the vendor's clock (a queued lookup asked again
   * after some seconds) divide those waits by it.
   */
  readonly timeScale?: number;
  /** The quotas the emulator enforces, when they are not the vendor's real plan limits: the adapter paces to them. */
  readonly limits?: RateLimitPolicy;
}

/**
 * What every descriptor has, whatever its kind.
 *
 * @typeParam Kind - the {@link VendorKind}.
 * @typeParam Adapter - what the descriptor builds.
 * @typeParam Settings - the settings its factory takes.
 */
export interface VendorDescriptorBase<Kind extends string, Adapter, Settings> {
  /** Descriptor contract version. */
  readonly specificationVersion: 'v1';
  /** The vendor's id, lower case, as a person types it (`--providers apollo`): the id the adapter reports by default. */
  readonly id: string;
  /** What the vendor does. */
  readonly kind: Kind;
  /** The vendor's name for people, such as `Apollo`. */
  readonly displayName: string;
  /** Every environment variable {@link VendorDescriptorBase.fromEnv} reads, secrets marked. */
  readonly environment: readonly VendorEnvironmentVariable[];
  /** Build the adapter from settings: the package's factory (`createApollo`). */
  create(settings: Settings): Adapter;
  /**
   * Build the adapter from environment variables (`process.env`, or any
   * record). Secrets read are registered for redaction.
   *
   * @throws ConfigurationError `missing_credentials` when a credential is
   * missing, with one issue per missing credential naming both the option
   * and the variable (see {@link VendorDescriptorBase.missingVariables}).
   */
  fromEnv(env: VendorEnvironment): Adapter;
  /** The credentials {@link VendorDescriptorBase.fromEnv} needs and `env` does not have; empty when it can build. */
  missingVariables(env: VendorEnvironment): readonly MissingVendorVariable[];
  /** Settings that point the adapter at the vendor's emulator; pass them to {@link VendorDescriptorBase.create}. */
  emulatorSettings(emulator: VendorEmulatorConnection): Settings;
}

/**
 * The descriptor of an enrichment provider package. What it builds is an
 * {@link EnrichmentProviderV1}; call its `close?.()` when done.
 */
export interface EnrichmentProviderDescriptor<
  Provider extends EnrichmentProviderV1 = EnrichmentProviderV1,
  Settings = unknown,
> extends VendorDescriptorBase<'enrichment', Provider, Settings> {}

/**
 * The descriptor of a CRM adapter package. What it builds is a
 * {@link CrmAdapterV1}; call its `close?.()` when done.
 */
export interface CrmAdapterDescriptor<Adapter extends CrmAdapterV1 = CrmAdapterV1, Settings = unknown>
  extends VendorDescriptorBase<'crm', Adapter, Settings> {
  /** How leads become records of this CRM when the user gives no mapping (HubSpot contacts by email). */
  readonly defaultMapping: CrmFieldMappingDefinition;
  /**
   * Leads per CRM batch a face should use with {@link CrmAdapterDescriptor.defaultMapping}, when
   * it differs from the adapter's `capabilities.maxBatchSize` (Salesforce:
   * 200, one sObject Collections call, below its Bulk API threshold).
   */
  readonly defaultBatchSize?: number;
}

/**
 * The descriptor of an email provider package. What it builds is an
 * {@link EmailProviderV1}; call its `close?.()` when done.
 */
export interface EmailProviderDescriptor<
  Provider extends EmailProviderV1 = EmailProviderV1,
  Settings = unknown,
> extends VendorDescriptorBase<'email', Provider, Settings> {}

/** Any vendor descriptor; `kind` tells which. */
export type VendorDescriptor = EnrichmentProviderDescriptor | CrmAdapterDescriptor | EmailProviderDescriptor;

/**
 * The value of `name` in `env`, trimmed; `undefined` when unset, empty or
 * blank. Registered for redaction when `secret` is true.
 */
export function readVendorVariable(env: VendorEnvironment, name: string, secret = false): string | undefined {
  const found = env[name]?.trim();
  if (found === undefined || found === '') return undefined;
  if (secret) registerSecret(found);
  return found;
}

/** An option name such as `apiKey` or `jwt.privateKey`, as opposed to a sentence of alternatives. */
const SINGLE_OPTION = /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/;

/**
 * The error {@link VendorDescriptorBase.fromEnv} throws when credentials are
 * missing: `missing_credentials`, one issue per missing credential, each
 * naming the option and the variables.
 */
export function missingVariablesError(
  vendorId: string,
  displayName: string,
  missing: readonly MissingVendorVariable[],
): ConfigurationError {
  const issues: ValidationIssue[] = missing.map((entry) => ({
    field: entry.option,
    reason: SINGLE_OPTION.test(entry.option)
      ? `is missing: pass the '${entry.option}' option or set ${entry.variables}`
      : `is missing: pass the options ${entry.option}; or set ${entry.variables}`,
  }));
  return new ConfigurationError('missing_credentials', {
    message: `${displayName}: ${issues.map((issue) => `${issue.field} ${issue.reason}`).join('; ')}`,
    issues,
    providerId: vendorId,
  });
}

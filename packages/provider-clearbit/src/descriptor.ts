import {
  type EnrichmentProviderDescriptor,
  type MissingVendorVariable,
  missingVariablesError,
  readVendorVariable,
  type VendorEnvironment,
} from '@leadpipe/core/adapter-kit';
import {
  CLEARBIT_API_KEY_ENV,
  type ClearbitProvider,
  type ClearbitProviderSettings,
  createClearbit,
} from './clearbit-provider.js';

/** Emulated seconds between asking again about a queued (202) lookup, as the real API advises. */
const QUEUED_RETRY_MS = 5_000;
/** Emulated time to wait on one queued lookup: the emulator indexes one after 30 emulated seconds. */
const QUEUED_MAX_WAIT_MS = 120_000;

function missing(env: VendorEnvironment): MissingVendorVariable[] {
  return readVendorVariable(env, CLEARBIT_API_KEY_ENV) === undefined
    ? [{ option: 'apiKey', variables: CLEARBIT_API_KEY_ENV }]
    : [];
}

/**
 * Clearbit as a plug-in: `clearbit`, an enrichment provider built by
 * {@link createClearbit} (mode `sync`), with its key from `CLEARBIT_API_KEY`.
 *
 * @example
 * ```ts
 * const clearbit = clearbitDescriptor.fromEnv(process.env);
 * ```
 */
export const clearbitDescriptor: EnrichmentProviderDescriptor<ClearbitProvider, ClearbitProviderSettings> = {
  specificationVersion: 'v1',
  id: 'clearbit',
  kind: 'enrichment',
  displayName: 'Clearbit',
  environment: [
    {
      name: CLEARBIT_API_KEY_ENV,
      option: 'apiKey',
      secret: true,
      description: 'Clearbit secret API key (sk_…)',
    },
  ],
  create: (settings) => createClearbit(settings),
  missingVariables: missing,
  fromEnv(env) {
    const lacking = missing(env);
    if (lacking.length > 0) throw missingVariablesError('clearbit', 'Clearbit', lacking);
    return createClearbit({ apiKey: readVendorVariable(env, CLEARBIT_API_KEY_ENV, true) });
  },
  emulatorSettings(emulator) {
    const timeScale = emulator.timeScale ?? 1;
    return {
      apiKey: emulator.credentials.apiKey,
      baseUrl: emulator.urls.baseUrl,
      ...(emulator.limits && { rateLimits: emulator.limits }),
      // Queued lookups are answered on the emulator's clock: ask again on it.
      queuedRetryDelayMs: Math.ceil(QUEUED_RETRY_MS / timeScale),
      queuedMaxWaitMs: Math.ceil(QUEUED_MAX_WAIT_MS / timeScale),
    };
  },
};

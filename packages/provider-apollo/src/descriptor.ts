import {
  type EnrichmentProviderDescriptor,
  type MissingVendorVariable,
  missingVariablesError,
  readVendorVariable,
  type VendorEnvironment,
} from '@leadpipe/core/adapter-kit';
import type { ApolloPlanLimits } from './apollo-limits.js';
import { type ApolloProvider, type ApolloProviderSettings, createApollo } from './apollo-provider.js';

const API_KEY = 'APOLLO_API_KEY';

function missing(env: VendorEnvironment): MissingVendorVariable[] {
  return readVendorVariable(env, API_KEY) === undefined ? [{ option: 'apiKey', variables: API_KEY }] : [];
}

/**
 * Apollo as a plug-in: `apollo`, an enrichment provider built by
 * {@link createApollo}, with its key from `APOLLO_API_KEY`.
 *
 * @example
 * ```ts
 * const apollo = apolloDescriptor.fromEnv(process.env);
 * // ...
 * await apollo.close();
 * ```
 */
export const apolloDescriptor: EnrichmentProviderDescriptor<ApolloProvider, ApolloProviderSettings> = {
  specificationVersion: 'v1',
  id: 'apollo',
  kind: 'enrichment',
  displayName: 'Apollo',
  environment: [{ name: API_KEY, option: 'apiKey', secret: true, description: 'Apollo API key' }],
  create: (settings) => createApollo(settings),
  missingVariables: missing,
  fromEnv(env) {
    const lacking = missing(env);
    if (lacking.length > 0) throw missingVariablesError('apollo', 'Apollo', lacking);
    return createApollo({ apiKey: readVendorVariable(env, API_KEY, true) });
  },
  emulatorSettings(emulator) {
    const limits = emulator.limits;
    const rateLimits: ApolloPlanLimits | undefined = limits && {
      ...(limits.perMinute === undefined ? {} : { perMinute: limits.perMinute }),
      ...(limits.perHour === undefined ? {} : { perHour: limits.perHour }),
      ...(limits.perDay === undefined ? {} : { perDay: limits.perDay }),
      ...(limits.maxConcurrent === undefined ? {} : { maxConcurrent: limits.maxConcurrent }),
    };
    return {
      apiKey: emulator.credentials.apiKey,
      // The emulator serves Apollo's API under /api/v1, as the real host does.
      baseUrl: emulator.urls.apiUrl ?? `${emulator.urls.baseUrl}/api/v1`,
      ...(rateLimits && { rateLimits }),
    };
  },
};

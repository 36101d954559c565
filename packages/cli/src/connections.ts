import {
  ConfigurationError,
  type CrmAdapterV1,
  type CrmFieldMappingDefinition,
  type EnrichmentProviderV1,
  registerSecret,
} from '@leadpipe/core';
import { createHubspot, type HubspotSettings } from '@leadpipe/crm-hubspot';
import { createSalesforce, type SalesforceSettings } from '@leadpipe/crm-salesforce';
import { type ApolloProviderSettings, createApollo } from '@leadpipe/provider-apollo';
import { type ClearbitProviderSettings, createClearbit } from '@leadpipe/provider-clearbit';
import type { RunningEmulators } from '@leadpipe/testkit';
import type { CrmName, ProviderName } from './args.js';
import { EMULATE_LIMITS, EMULATE_TIME_SCALE } from './emulate.js';

/** Environment variables, as `process.env`. */
export type Environment = Readonly<Record<string, string | undefined>>;

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
        /** The HubSpot or Salesforce adapter, built from the environment's keys or against an emulator. */
        readonly adapter: CrmAdapterV1;
        /** How leads become CRM records: {@link HUBSPOT_CONTACT_MAPPING} or {@link SALESFORCE_LEAD_MAPPING}. */
        readonly mapping: CrmFieldMappingDefinition;
      }
    | undefined;
  /** Leads per CRM batch. */
  readonly batchSize: number | undefined;
  /** Release what the adapters hold (limiters, pending webhooks). */
  close(): Promise<void>;
}

/** How leads become HubSpot contacts, keyed by email. */
export const HUBSPOT_CONTACT_MAPPING: CrmFieldMappingDefinition = {
  object: 'contacts',
  idProperty: { from: 'email', to: 'email' },
  fields: [
    { from: 'firstName', to: 'firstname' },
    { from: 'lastName', to: 'lastname' },
    { from: 'title', to: 'jobtitle' },
    { from: 'phone', to: 'phone' },
    { from: 'company.name', to: 'company' },
    { from: 'company.domain', to: 'website' },
    { from: 'company.industry', to: 'industry' },
    { from: (lead) => lead.location?.city, to: 'city' },
    { from: (lead) => lead.location?.country, to: 'country' },
  ],
};

/**
 * How leads become Salesforce Leads: upserted by the External ID field
 * `Lead_Key__c` (create it in your org, unique, case-insensitive) holding
 * the email. `LastName` and `Company`, required by Salesforce, default to
 * `[not provided]` as Web-to-Lead does.
 */
export const SALESFORCE_LEAD_MAPPING: CrmFieldMappingDefinition = {
  object: 'Lead',
  idProperty: { from: 'email', to: 'Lead_Key__c' },
  fields: [
    { from: 'email', to: 'Email' },
    { from: 'firstName', to: 'FirstName' },
    { from: 'lastName', to: 'LastName', default: '[not provided]' },
    { from: 'title', to: 'Title' },
    { from: 'phone', to: 'Phone' },
    { from: 'company.name', to: 'Company', default: '[not provided]' },
    { from: 'company.domain', to: 'Website' },
    { from: 'company.headcount', to: 'NumberOfEmployees' },
    { from: (lead) => lead.location?.city, to: 'City' },
    { from: (lead) => lead.location?.country, to: 'Country' },
  ],
};

/** Leads per Salesforce batch: one sObject Collections call. */
const SALESFORCE_BATCH_SIZE = 200;

function value(env: Environment, name: string): string | undefined {
  const found = env[name]?.trim();
  return found === undefined || found === '' ? undefined : found;
}

function hasSalesforceCredentials(env: Environment): boolean {
  const has = (...names: string[]) => names.every((name) => value(env, name) !== undefined);
  return (
    has('SALESFORCE_ACCESS_TOKEN', 'SALESFORCE_INSTANCE_URL') ||
    has('SALESFORCE_REFRESH_TOKEN', 'SALESFORCE_CLIENT_ID') ||
    has('SALESFORCE_PRIVATE_KEY', 'SALESFORCE_USERNAME', 'SALESFORCE_CLIENT_ID')
  );
}

/** The keys a run against the real vendors needs and `env` does not have. */
export function missingKeys(
  providers: readonly ProviderName[],
  crm: CrmName | undefined,
  env: Environment,
): MissingKey[] {
  const missing: MissingKey[] = [];
  if (providers.includes('apollo') && value(env, 'APOLLO_API_KEY') === undefined) {
    missing.push({ variable: 'APOLLO_API_KEY', neededBy: '--providers apollo' });
  }
  if (providers.includes('clearbit') && value(env, 'CLEARBIT_API_KEY') === undefined) {
    missing.push({ variable: 'CLEARBIT_API_KEY', neededBy: '--providers clearbit' });
  }
  if (crm === 'hubspot' && value(env, 'HUBSPOT_ACCESS_TOKEN') === undefined) {
    missing.push({ variable: 'HUBSPOT_ACCESS_TOKEN', neededBy: '--crm hubspot' });
  }
  if (crm === 'salesforce' && !hasSalesforceCredentials(env)) {
    missing.push({
      variable:
        'SALESFORCE_ACCESS_TOKEN and SALESFORCE_INSTANCE_URL, or SALESFORCE_REFRESH_TOKEN and SALESFORCE_CLIENT_ID',
      neededBy: '--crm salesforce',
    });
  }
  return missing;
}

/** Register every credential-looking variable of `env` the command reads, so no message can show one. */
export function registerKeys(env: Environment): void {
  for (const name of [
    'APOLLO_API_KEY',
    'CLEARBIT_API_KEY',
    'HUBSPOT_ACCESS_TOKEN',
    'SALESFORCE_ACCESS_TOKEN',
    'SALESFORCE_REFRESH_TOKEN',
    'SALESFORCE_CLIENT_SECRET',
    'SALESFORCE_PRIVATE_KEY',
  ]) {
    registerSecret(value(env, name));
  }
}

function emulated(emulators: RunningEmulators, vendor: 'apollo' | 'clearbit' | 'hubspot' | 'salesforce') {
  const urls = emulators.urls[vendor];
  const credentials = emulators.credentials[vendor];
  if (urls === undefined || credentials === undefined) return undefined;
  for (const secret of Object.values(credentials)) registerSecret(secret);
  return { urls, credentials };
}

/** Adapter settings pointing at running emulators, per vendor served. */
export interface EmulatedSettings {
  /** For `createApollo`. */
  readonly apollo?: ApolloProviderSettings;
  /** For `createClearbit`. */
  readonly clearbit?: ClearbitProviderSettings;
  /** For `createHubspot`. */
  readonly hubspot?: HubspotSettings;
  /** For `createSalesforce`. */
  readonly salesforce?: SalesforceSettings;
}

/**
 * The settings that point each adapter at the emulators (base URLs, the
 * credentials they accept, {@link EMULATE_LIMITS}, and Clearbit's queued
 * lookups asked again on the emulated clock). Vendors not served are left
 * out. The credentials are registered as secrets, so no message shows them.
 */
export function emulatedSettings(emulators: RunningEmulators): EmulatedSettings {
  const apollo = emulated(emulators, 'apollo');
  const clearbit = emulated(emulators, 'clearbit');
  const hubspot = emulated(emulators, 'hubspot');
  const salesforce = emulated(emulators, 'salesforce');
  return {
    ...(apollo && {
      apollo: {
        apiKey: apollo.credentials.apiKey,
        baseUrl: apollo.urls.apiUrl,
        rateLimits: EMULATE_LIMITS.apollo,
      },
    }),
    ...(clearbit && {
      clearbit: {
        apiKey: clearbit.credentials.apiKey,
        baseUrl: clearbit.urls.baseUrl,
        rateLimits: EMULATE_LIMITS.clearbit,
        // Queued (202) lookups are indexed after 30 emulated seconds: ask again on the emulated clock.
        queuedRetryDelayMs: Math.ceil(5_000 / EMULATE_TIME_SCALE),
        queuedMaxWaitMs: Math.ceil(120_000 / EMULATE_TIME_SCALE),
      },
    }),
    ...(hubspot && {
      hubspot: { accessToken: hubspot.credentials.privateAppToken, baseUrl: hubspot.urls.baseUrl },
    }),
    ...(salesforce && {
      salesforce: {
        refreshToken: salesforce.credentials.refreshToken,
        clientId: salesforce.credentials.clientId,
        clientSecret: salesforce.credentials.clientSecret,
        loginUrl: salesforce.urls.loginUrl,
      },
    }),
  };
}

function settingsFor<K extends keyof EmulatedSettings>(
  settings: EmulatedSettings,
  vendor: K,
): NonNullable<EmulatedSettings[K]> {
  const found = settings[vendor];
  if (found === undefined) {
    throw new ConfigurationError('invalid_configuration', {
      message: `--emulate: the ${vendor} emulator is not running; start the emulators with emulatorOptions()`,
    });
  }
  return found;
}

/**
 * Build the run's adapters: against the emulators when `emulators` is
 * given, else against the real vendors with keys from `env` (check
 * {@link missingKeys} first).
 */
export function connect(
  providers: readonly ProviderName[],
  crm: CrmName | undefined,
  env: Environment,
  emulators: RunningEmulators | undefined,
): Connections {
  const closers: (() => void | Promise<void>)[] = [];
  const built: EnrichmentProviderV1[] = [];
  const fake = emulators === undefined ? undefined : emulatedSettings(emulators);
  for (const name of providers) {
    if (name === 'apollo') {
      const apollo = createApollo(
        fake ? settingsFor(fake, 'apollo') : { apiKey: value(env, 'APOLLO_API_KEY') },
      );
      closers.push(() => apollo.close());
      built.push(apollo);
    } else {
      built.push(
        createClearbit(fake ? settingsFor(fake, 'clearbit') : { apiKey: value(env, 'CLEARBIT_API_KEY') }),
      );
    }
  }

  let target: Connections['crm'];
  let batchSize: number | undefined;
  if (crm === 'hubspot') {
    const hubspot = createHubspot(
      fake ? settingsFor(fake, 'hubspot') : { accessToken: value(env, 'HUBSPOT_ACCESS_TOKEN') },
    );
    closers.push(() => hubspot.close());
    target = { adapter: hubspot, mapping: HUBSPOT_CONTACT_MAPPING };
  } else if (crm === 'salesforce') {
    const salesforce = createSalesforce(fake ? settingsFor(fake, 'salesforce') : salesforceSettings(env));
    target = { adapter: salesforce, mapping: SALESFORCE_LEAD_MAPPING };
    batchSize = SALESFORCE_BATCH_SIZE;
  }

  return {
    providers: built,
    crm: target,
    batchSize,
    async close() {
      for (const close of closers) await close();
    },
  };
}

function salesforceSettings(env: Environment): SalesforceSettings {
  const privateKey = value(env, 'SALESFORCE_PRIVATE_KEY');
  const optional = (name: string, setting: string) => {
    const found = value(env, name);
    return found === undefined ? {} : { [setting]: found };
  };
  return {
    ...optional('SALESFORCE_ACCESS_TOKEN', 'accessToken'),
    ...optional('SALESFORCE_INSTANCE_URL', 'instanceUrl'),
    ...optional('SALESFORCE_REFRESH_TOKEN', 'refreshToken'),
    ...optional('SALESFORCE_CLIENT_ID', 'clientId'),
    ...optional('SALESFORCE_CLIENT_SECRET', 'clientSecret'),
    ...optional('SALESFORCE_LOGIN_URL', 'loginUrl'),
    ...(privateKey === undefined
      ? {}
      : {
          jwt: {
            privateKey,
            ...optional('SALESFORCE_CLIENT_ID', 'clientId'),
            ...optional('SALESFORCE_USERNAME', 'username'),
          },
        }),
  };
}

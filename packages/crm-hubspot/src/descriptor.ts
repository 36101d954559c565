import {
  type CrmAdapterDescriptor,
  type CrmFieldMappingDefinition,
  type MissingVendorVariable,
  missingVariablesError,
  readVendorVariable,
  type VendorEnvironment,
} from '@leadpipe/core/adapter-kit';
import { createHubspot, type HubspotAdapter, type HubspotSettings } from './hubspot-adapter.js';

const ACCESS_TOKEN = 'HUBSPOT_ACCESS_TOKEN';
const CLIENT_SECRET = 'HUBSPOT_CLIENT_SECRET';

/** How leads become HubSpot contacts, keyed by email. */
const CONTACT_MAPPING: CrmFieldMappingDefinition = {
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

function missing(env: VendorEnvironment): MissingVendorVariable[] {
  return readVendorVariable(env, ACCESS_TOKEN) === undefined
    ? [{ option: 'accessToken', variables: ACCESS_TOKEN }]
    : [];
}

/**
 * HubSpot as a plug-in: `hubspot`, a CRM adapter built by
 * {@link createHubspot} with a private-app token from `HUBSPOT_ACCESS_TOKEN`.
 * Its default mapping writes contacts keyed by `email`: `firstname`,
 * `lastname`, `jobtitle`, `phone`, `company`, `website` (the company
 * domain), `industry`, `city`, `country`.
 *
 * @example
 * ```ts
 * const hubspot = hubspotDescriptor.fromEnv(process.env);
 * const sync = createCrmSync({ crms: [{ adapter: hubspot, mapping: hubspotDescriptor.defaultMapping }] });
 * // ...
 * await hubspot.close();
 * ```
 */
export const hubspotDescriptor: CrmAdapterDescriptor<HubspotAdapter, HubspotSettings> = {
  specificationVersion: 'v1',
  id: 'hubspot',
  kind: 'crm',
  displayName: 'HubSpot',
  environment: [
    {
      name: ACCESS_TOKEN,
      option: 'accessToken',
      secret: true,
      description: 'HubSpot private-app access token (with the contacts scopes)',
    },
    {
      name: CLIENT_SECRET,
      option: 'webhookSecret',
      secret: true,
      description: "App's client secret, to verify webhooks (optional)",
    },
  ],
  defaultMapping: CONTACT_MAPPING,
  create: (settings) => createHubspot(settings),
  missingVariables: missing,
  fromEnv(env) {
    const lacking = missing(env);
    if (lacking.length > 0) throw missingVariablesError('hubspot', 'HubSpot', lacking);
    const webhookSecret = readVendorVariable(env, CLIENT_SECRET, true);
    return createHubspot({
      accessToken: readVendorVariable(env, ACCESS_TOKEN, true),
      ...(webhookSecret && { webhookSecret }),
    });
  },
  emulatorSettings: (emulator) => ({
    accessToken: emulator.credentials.privateAppToken,
    baseUrl: emulator.urls.baseUrl,
  }),
};

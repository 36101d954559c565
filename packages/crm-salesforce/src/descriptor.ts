import {
  type CrmAdapterDescriptor,
  type CrmFieldMappingDefinition,
  type MissingVendorVariable,
  missingVariablesError,
  readVendorVariable,
  type VendorEnvironment,
  type VendorEnvironmentVariable,
} from '@leadpipe/core/adapter-kit';
import { createSalesforce, type SalesforceAdapter, type SalesforceSettings } from './salesforce-adapter.js';
import { SALESFORCE_PROVIDER_ID } from './salesforce-auth.js';
import { SALESFORCE_COLLECTION_SIZE } from './salesforce-upsert.js';

/**
 * How leads become Salesforce Leads: upserted by the External ID field
 * `Lead_Key__c` (create it in your org, unique, case-insensitive) holding
 * the email. `LastName` and `Company`, required by Salesforce, default to
 * `[not provided]` as Web-to-Lead does.
 */
const LEAD_MAPPING: CrmFieldMappingDefinition = {
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

const ENVIRONMENT: readonly VendorEnvironmentVariable[] = [
  {
    name: 'SALESFORCE_ACCESS_TOKEN',
    option: 'accessToken',
    secret: true,
    description: 'Salesforce access token',
  },
  {
    name: 'SALESFORCE_INSTANCE_URL',
    option: 'instanceUrl',
    secret: false,
    description: 'Org URL the access token is for, such as https://acme.my.salesforce.com',
  },
  {
    name: 'SALESFORCE_REFRESH_TOKEN',
    option: 'refreshToken',
    secret: true,
    description: 'OAuth refresh token of a connected app',
  },
  {
    name: 'SALESFORCE_CLIENT_ID',
    option: 'clientId',
    secret: false,
    description: "Connected app's consumer key",
  },
  {
    name: 'SALESFORCE_CLIENT_SECRET',
    option: 'clientSecret',
    secret: true,
    description: "Connected app's consumer secret, when it has one",
  },
  {
    name: 'SALESFORCE_LOGIN_URL',
    option: 'loginUrl',
    secret: false,
    description: 'Login host; https://test.salesforce.com for a sandbox',
  },
  {
    name: 'SALESFORCE_PRIVATE_KEY',
    option: 'jwt.privateKey',
    secret: true,
    description: 'PEM private key of the JWT bearer flow',
  },
  {
    name: 'SALESFORCE_USERNAME',
    option: 'jwt.username',
    secret: false,
    description: 'User the JWT bearer flow acts as',
  },
  {
    name: 'SALESFORCE_ORGANIZATION_ID',
    option: 'organizationId',
    secret: false,
    description: 'Org id (00D…) Outbound Messages must come from (optional)',
  },
  {
    name: 'SALESFORCE_WEBHOOK_SECRET',
    option: 'webhookSecret',
    secret: true,
    description: 'Secret of HMAC-signed Apex/Flow callouts (optional)',
  },
];

/** The ways to sign in, each a set of variables that must all be set. */
const SIGN_INS: readonly (readonly string[])[] = [
  ['SALESFORCE_ACCESS_TOKEN', 'SALESFORCE_INSTANCE_URL'],
  ['SALESFORCE_REFRESH_TOKEN', 'SALESFORCE_CLIENT_ID'],
  ['SALESFORCE_PRIVATE_KEY', 'SALESFORCE_USERNAME', 'SALESFORCE_CLIENT_ID'],
];

function andList(names: readonly string[]): string {
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

function missing(env: VendorEnvironment): MissingVendorVariable[] {
  const signsIn = SIGN_INS.some((names) =>
    names.every((name) => readVendorVariable(env, name) !== undefined),
  );
  if (signsIn) return [];
  return [
    {
      option: "'accessToken' and 'instanceUrl', or 'refreshToken' and 'clientId', or 'jwt'",
      variables: SIGN_INS.map(andList).join(', or '),
    },
  ];
}

/** Settings from the variables that are set; unset ones are left out. */
function settingsFromEnv(env: VendorEnvironment): SalesforceSettings {
  const secret = (name: string) => ENVIRONMENT.some((entry) => entry.name === name && entry.secret);
  const optional = (name: string, option: string) => {
    const found = readVendorVariable(env, name, secret(name));
    return found === undefined ? {} : { [option]: found };
  };
  const privateKey = readVendorVariable(env, 'SALESFORCE_PRIVATE_KEY', true);
  return {
    ...optional('SALESFORCE_ACCESS_TOKEN', 'accessToken'),
    ...optional('SALESFORCE_INSTANCE_URL', 'instanceUrl'),
    ...optional('SALESFORCE_REFRESH_TOKEN', 'refreshToken'),
    ...optional('SALESFORCE_CLIENT_ID', 'clientId'),
    ...optional('SALESFORCE_CLIENT_SECRET', 'clientSecret'),
    ...optional('SALESFORCE_LOGIN_URL', 'loginUrl'),
    ...optional('SALESFORCE_ORGANIZATION_ID', 'organizationId'),
    ...optional('SALESFORCE_WEBHOOK_SECRET', 'webhookSecret'),
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

/**
 * Salesforce as a plug-in: `salesforce`, a CRM adapter built by
 * {@link createSalesforce}, signing in with an access token and instance
 * URL, a refresh token, or the JWT bearer flow, from the `SALESFORCE_*`
 * variables. Its default mapping upserts Leads by the External ID field
 * `Lead_Key__c` holding the email (create it in your org: text, unique,
 * External ID), in batches of 200 (one sObject Collections call).
 *
 * @example
 * ```ts
 * const salesforce = salesforceDescriptor.fromEnv(process.env);
 * const target = { adapter: salesforce, mapping: salesforceDescriptor.defaultMapping };
 * ```
 */
export const salesforceDescriptor: CrmAdapterDescriptor<SalesforceAdapter, SalesforceSettings> = {
  specificationVersion: 'v1',
  id: SALESFORCE_PROVIDER_ID,
  kind: 'crm',
  displayName: 'Salesforce',
  environment: ENVIRONMENT,
  defaultMapping: LEAD_MAPPING,
  defaultBatchSize: SALESFORCE_COLLECTION_SIZE,
  create: (settings) => createSalesforce(settings),
  missingVariables: missing,
  fromEnv(env) {
    const lacking = missing(env);
    if (lacking.length > 0) throw missingVariablesError(SALESFORCE_PROVIDER_ID, 'Salesforce', lacking);
    return createSalesforce(settingsFromEnv(env));
  },
  emulatorSettings: (emulator) => ({
    refreshToken: emulator.credentials.refreshToken,
    clientId: emulator.credentials.clientId,
    clientSecret: emulator.credentials.clientSecret,
    loginUrl: emulator.urls.loginUrl ?? emulator.urls.baseUrl,
  }),
};

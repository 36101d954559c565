import { type CrmEmulatorDefinition, cannedJson } from '../../emulator/definition.js';
import { createSalesforceEmulator } from './index.js';
import { salesforceCredentials } from './settings.js';
import type { SalesforceEmulator, SalesforceEmulatorOptions } from './types.js';

/** Run-wide limits of the Salesforce emulator (`startEmulators({ limits: { salesforce } })`). */
export interface SalesforceLimits {
  /** API requests allowed in a rolling 24 hours. Default 100,000. */
  readonly dailyApiRequests?: number;
}

/** The Salesforce emulator, as the registry, the server and msw see it. */
export const salesforceEmulatorDefinition: CrmEmulatorDefinition<
  'salesforce',
  SalesforceEmulatorOptions,
  SalesforceEmulator,
  SalesforceLimits
> = {
  id: 'salesforce',
  kind: 'crm',
  create: (context, options) => createSalesforceEmulator(context, options),
  defaultCredentials: (seed) => salesforceCredentials(seed),
  mswMounts: [
    { baseUrl: 'https://login.salesforce.com' },
    { baseUrl: 'https://test.salesforce.com' },
    { baseUrl: 'https://*.my.salesforce.com' },
  ],
  // One server is login host and instance.
  urls: (baseUrl) => ({ baseUrl, loginUrl: baseUrl, instanceUrl: baseUrl }),
  withLimits: (options, limits) =>
    limits?.dailyApiRequests !== undefined
      ? { dailyApiRequests: limits.dailyApiRequests, ...options }
      : options,
  faultResponses: {
    serverError: (status) =>
      cannedJson(status, [{ message: 'An unexpected error occurred.', errorCode: 'UNKNOWN_EXCEPTION' }]),
    // Salesforce has no 429 for REST limits: it answers 403 REQUEST_LIMIT_EXCEEDED.
    rateLimited: () =>
      cannedJson(403, [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]),
    expiredToken: () =>
      cannedJson(401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]),
  },
};

/**
 * @packageDocumentation
 * `@leadpipe/testkit`: emulators of the vendor APIs leadpipe talks to
 * (Apollo, Clearbit, ZoomInfo, HubSpot, Salesforce), usable as msw handlers in unit
 * tests or as real HTTP servers on 127.0.0.1, answering enrichment lookups
 * from one seeded ground-truth population that runs can be scored against.
 */

export * from './contracts/index.js';
export type {
  EmulatorClock,
  EmulatorContext,
  EmulatorCounters,
  RecordedRequest,
  VendorEmulator,
  VendorName,
} from './emulator/context.js';
export {
  createCounters,
  createEmulatorClock,
  createEmulatorContext,
  type EmulatorContextOptions,
  seededRandom,
} from './emulator/create-context.js';
export {
  FAULT_KINDS,
  type FaultKind,
  type FaultOptions,
  type LatencyDistribution,
  type RateLimitBurst,
  sampleLatency,
  validateFaults,
} from './emulator/faults.js';
export { DEFAULT_MSW_MOUNTS, type MswMount, toMswHandlers } from './emulator/msw.js';
export {
  createFixedWindowLimiter,
  type FixedWindow,
  type FixedWindowLimiter,
  type LimitDecision,
  type WindowUsage,
} from './emulator/rate-limit.js';
export {
  type CreateEmulatorOptions,
  createEmulator,
  type EmulatorInstance,
  type HubspotOptions,
  type SalesforceOptions,
  VENDOR_NAMES,
  type VendorEmulatorMap,
  type VendorOptionsMap,
} from './emulator/registry.js';
export {
  type EmulatorLimits,
  type RunningEmulators,
  type RunningVendorEmulators,
  type StartEmulatorsOptions,
  startEmulators,
  type VendorUrls,
} from './emulator/server.js';
export { createWebhookDispatcher, type SentWebhook, type WebhookDispatcher } from './emulator/webhooks.js';
export {
  endpointOf,
  type FaultController,
  isConnectionReset,
  type NodeBindings,
  type RequestLog,
  type WrapOptions,
  type WrappedEmulator,
  wrapEmulator,
} from './emulator/wrap.js';
export {
  type CapturedTelemetry,
  type CaptureTelemetryOptions,
  captureTelemetry,
  type MetricPoint,
} from './telemetry.js';
export {
  APOLLO_COVERAGE,
  CLEARBIT_COVERAGE,
  type CoverageOverrides,
  type CoverageProfile,
  createGroundTruth,
  createProviderView,
  departmentKey,
  domainComparisonKey,
  type FieldScore,
  flattenScorableLead,
  fullCoverage,
  type GroundTruth,
  type GroundTruthData,
  type GroundTruthOptions,
  headcountRangeOf,
  linkedinComparisonKey,
  type ProviderView,
  resolveCoverage,
  type ScorableLead,
  type ScoreReport,
  type TruthCompany,
  type TruthPerson,
  technologyKey,
  valueMatches,
} from './truth/index.js';
export {
  type ApolloCredits,
  type ApolloEmulator,
  type ApolloEmulatorOptions,
  type ApolloRateLimits,
  apolloOrganization,
  apolloPerson,
  createApolloEmulator,
} from './vendors/apollo/index.js';
export type { ApolloOrganization, ApolloPerson } from './vendors/apollo/shapes.js';
export {
  type ClearbitEmulator,
  type ClearbitEmulatorOptions,
  clearbitCompany,
  clearbitEmployeesRange,
  clearbitId,
  clearbitPerson,
  clearbitSignature,
  createClearbitEmulator,
} from './vendors/clearbit/index.js';
export type { ClearbitObject } from './vendors/clearbit/shapes.js';
export {
  createHubspotEmulator,
  type HubspotAssociationRecord,
  type HubspotCredentials,
  type HubspotEmulator,
  type HubspotEmulatorOptions,
  type HubspotFaults,
  type HubspotObjectRecord,
  type HubspotObjectType,
  type HubspotPropertyDefinition,
  type HubspotPropertyOption,
  type HubspotPropertyType,
  type HubspotRateLimitOptions,
  type HubspotWebhookDelivery,
  type HubspotWebhookEvent,
  type HubspotWebhookOptions,
  type HubspotWebhookSubscription,
  hubspotSignatureV3,
} from './vendors/hubspot/index.js';
export type { MailgunLimits } from './vendors/mailgun/definition.js';
export {
  bareAddress as mailgunBareAddress,
  createMailgunEmulator,
  MAILGUN_OPTIONS_LIMIT_BYTES,
  type MailgunCredentials,
  type MailgunEmulator,
  type MailgunEmulatorOptions,
  type MailgunEventDetails,
  type MailgunEventName,
  type MailgunReplyDetails,
  type MailgunSignature,
  type MailgunWebhookDelivery,
  mailgunCredentials,
  mailgunSignature,
  type StoredMailgunMessage,
} from './vendors/mailgun/index.js';
export {
  createSalesforceEmulator,
  type FieldValue,
  type IngestJobState,
  type IngestOperation,
  type OutboundDelivery,
  type SalesforceCredentials,
  type SalesforceEmulator,
  type SalesforceEmulatorOptions,
  type SalesforceFieldDefinition,
  type SalesforceFieldType,
  type SalesforceIngestJobSummary,
  type SalesforceLead,
  type SalesforceOutboundMessageOptions,
} from './vendors/salesforce/index.js';
export type { SendgridLimits } from './vendors/sendgrid/definition.js';
export {
  createSendgridEmulator,
  SENDGRID_EVENT_NAMES,
  type SendgridAddress,
  type SendgridCredentials,
  type SendgridEmulator,
  type SendgridEmulatorOptions,
  type SendgridErrorItem,
  type SendgridEventDetails,
  type SendgridEventName,
  type SendgridEvents,
  type SendgridEventTarget,
  type SendgridEventWebhookOptions,
  type SendgridInjections,
  type SendgridMailSendLimits,
  type SendgridRawEvent,
  type SendgridSigning,
  type SendgridSigningKeys,
  type SendgridStoredMessage,
  type SendgridWebhookRequest,
  sendgridCredentials,
  sendgridEventSignature,
  sendgridSigningKeys,
} from './vendors/sendgrid/index.js';
export {
  createZoomInfoEmulator,
  ZOOMINFO_COVERAGE,
  type ZoomInfoCredentials,
  type ZoomInfoEmulator,
  type ZoomInfoEmulatorOptions,
  type ZoomInfoQuotas,
  type ZoomInfoRateLimits,
  type ZoomInfoUsage,
  zoominfoCredentials,
} from './vendors/zoominfo/index.js';

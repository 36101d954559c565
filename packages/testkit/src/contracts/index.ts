/**
 * Contract suites: runner-agnostic checks any adapter runs in a few lines,
 * and the helpers that point them at the testkit's emulators.
 */

export {
  type CacheContractCheck,
  type CacheContractContext,
  type CacheContractOptions,
  cacheContract,
} from './cache-contract.js';
export {
  type CampaignStoreContractCheck,
  type CampaignStoreContractOptions,
  campaignStoreContract,
} from './campaign-store-contract.js';
export {
  type CannedCall,
  type CannedFetch,
  type CannedFetchOptions,
  cannedFetch,
} from './canned-fetch.js';
export {
  type CheckpointStoreContractCheck,
  type CheckpointStoreContractOptions,
  type CheckpointStoreFixture,
  checkpointStoreContract,
} from './checkpoint-store-contract.js';
export {
  type CrmAdapterContractOptions,
  type CrmContractCheck,
  type CrmContractDatabase,
  type CrmStoredRecord,
  crmAdapterContract,
  DEFAULT_CRM_EXPECTED_ERRORS,
} from './crm-adapter-contract.js';
export {
  type DeadLetterQueueContractCheck,
  type DeadLetterQueueContractOptions,
  deadLetterQueueContract,
} from './dead-letter-queue-contract.js';
export {
  DEFAULT_EMAIL_EXPECTED_ERRORS,
  type EmailContractCheck,
  type EmailContractDatabase,
  type EmailContractEvent,
  type EmailContractSigning,
  type EmailContractWebhooks,
  type EmailProviderContractOptions,
  type EmailStoredMessage,
  type ExpectedEmailError,
  emailProviderContract,
} from './email-provider-contract.js';
export {
  type EmulatorBackend,
  type EmulatorBackendOptions,
  type EmulatorBackendUrls,
  type EmulatorContractOptions,
  type EnrichmentVendor,
  startEmulatorBackend,
  UNKNOWN_CONTRACT_EMAIL,
} from './emulator-backend.js';
export {
  type ContractAssertion,
  type ContractBackend,
  type ContractExpect,
  type ContractResponse,
  type ContractTestFunction,
  DEFAULT_EXPECTED_ERRORS,
  type EnrichmentContractCheck,
  type EnrichmentProviderContractOptions,
  type ExpectedApiError,
  enrichmentProviderContract,
} from './enrichment-provider.js';
export {
  type EventBusContractCheck,
  type EventBusContractOptions,
  eventBusContract,
} from './event-bus-contract.js';
export {
  type LeadStoreContractCheck,
  type LeadStoreContractContext,
  type LeadStoreContractOptions,
  leadStoreContract,
  SQL_INJECTION_PAYLOADS,
} from './lead-store-contract.js';

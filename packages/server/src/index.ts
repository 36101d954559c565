/**
 * leadpipe over HTTP: a Hono app that a host mounts or `leadpipe serve`
 * starts. Vendor webhooks (verified on the raw body, deduplicated, then
 * published on an event bus), RFC 8058 one-click unsubscribe, a versioned
 * `/v1` API (leads, runs, campaigns, dead letters, keys) behind hashed,
 * scoped, rotatable API keys and per-key and per-address rate limits, with
 * an OpenAPI document made from the same zod schemas; `/health`, `/ready`
 * and Prometheus `/metrics`.
 *
 * @packageDocumentation
 */
export type { ServerCampaignEngine, ServerCampaigns } from './api/campaigns.js';
export { createRunRegistry, type RunRegistry, type RunSource, type RunStatus } from './api/runs.js';
export type { TrustProxy } from './client-address.js';
export type { MetricsAccess, ReadinessCheck } from './health.js';
export {
  API_KEY_SCOPES,
  type ApiKeyRecord,
  type ApiKeyScope,
  type ApiKeyStore,
  createFileKeyStore,
  createMemoryKeyStore,
  type IssuedApiKey,
  type KeyStoreOptions,
  type VerifiedKey,
  type VerifyKeyResult,
} from './keys/key-store.js';
export type { RateLimitOptions } from './limit-options.js';
export type { RateLimitName } from './limits.js';
export { createJsonLineLogger, type ServerErrorContext, type ServerLogger } from './logger.js';
export type { Problem, ProblemIssue } from './problem.js';
export {
  createMemoryRateLimitCounter,
  createRedisRateLimitCounter,
  type MemoryRateLimitCounterOptions,
  type RateLimitCounter,
  type RateLimitDecision,
  type RateLimitRule,
  type RedisRateLimitCounterOptions,
} from './rate-limit.js';
export { createServer, type LeadpipeServer, type MountedApp, type ServerOptions } from './server.js';
export { type RunningServer, startServer } from './start.js';
export {
  type BuiltWebhookAdapter,
  type SkippedWebhookVendor,
  WEBHOOK_VENDORS,
  type WebhookReceiversFromEnv,
  webhookReceiversFromEnv,
} from './vendors.js';
export {
  createMemoryWebhookDeduper,
  createRedisWebhookDeduper,
  type WebhookDeduper,
} from './webhooks/deduper.js';
export {
  crmWebhookReceiver,
  emailWebhookReceiver,
  providerWebhookReceiver,
  type WebhookReceiver,
} from './webhooks/receivers.js';

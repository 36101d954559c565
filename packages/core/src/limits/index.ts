/**
 * Rate limiting, retry and circuit breaking: the orchestration layer's
 * guards around every provider and CRM call. One owner per failure: the
 * limiter owns 429s and quota, `withRetry` owns 5xx, timeouts and
 * network errors, the breaker stops calling a provider that keeps failing.
 */
export {
  type CircuitBreaker,
  type CircuitState,
  createCircuitBreaker,
} from './circuit-breaker.js';
export {
  createLimiterRegistry,
  type LimiterEvent,
  type LimiterRegistry,
  type LimiterRegistryOptions,
  type LimiterStats,
  type ProviderLimiter,
  type ScheduleOptions,
} from './limiter.js';
export { isRetryableByRetry, type RetryOptions, withRetry } from './retry.js';

import type { EventLogTable } from '../events/log-events.js';
import type { EnrichmentEvents } from './events.js';

/** How the enrichment engine's events are logged when a `logger` is given. */
export const ENRICHMENT_LOG_TABLE: EventLogTable<EnrichmentEvents> = {
  'enrichment.started': ['debug', 'enrichment started'],
  'enrichment.finished': ['debug', 'enrichment finished'],
  'provider.attempted': ['debug', 'provider asked'],
  'provider.matched': ['debug', 'provider matched'],
  'provider.notFound': ['debug', 'provider found nothing'],
  'provider.pending': ['debug', 'provider will answer by webhook'],
  'provider.skipped': ['debug', 'provider passed over'],
  'provider.rateLimited': ['debug', 'provider rate limited; waiting'],
  'provider.failed': ['warn', 'provider call failed'],
  'provider.disabled': ['warn', 'provider taken out of the run'],
  'provider.invalidOutput': ['warn', 'provider returned invalid values; dropped', ['issues']],
  'budget.reached': ['info', 'credit budget reached; call not made'],
  'breaker.opened': ['warn', 'circuit breaker opened'],
  'breaker.closed': ['info', 'circuit breaker closed'],
};

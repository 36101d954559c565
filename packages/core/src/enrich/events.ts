import EventEmitter from 'eventemitter3';
import type { LeadField } from '../spec/fields.js';
import { redactValue } from '../spec/secrets.js';

/** Why the waterfall did not call a provider for a lead. */
export type ProviderSkipReason =
  | 'no_missing_fields'
  | 'missing_inputs'
  | 'disabled'
  | 'quota_exhausted'
  | 'circuit_open'
  | 'budget'
  | 'spill_over';

/**
 * Every event the enrichment engine emits, with its payload. Payloads carry
 * ids and counts, never lead data or secrets. Listeners only observe: one
 * that throws is isolated and never breaks a run.
 */
export interface EnrichmentEvents {
  /** The engine started on a lead. */
  'enrichment.started': { leadId: string; fields: readonly LeadField[] };
  /** The engine finished a lead. */
  'enrichment.finished': {
    leadId: string;
    status: EnrichmentStatus;
    filled: readonly LeadField[];
    missing: readonly LeadField[];
    credits: number;
    durationMs: number;
  };
  /** A provider was asked about a lead (`cached` when the answer came from the cache). */
  'provider.attempted': { leadId: string; providerId: string; cached: boolean };
  /** A provider found a lead. */
  'provider.matched': {
    leadId: string;
    providerId: string;
    fields: readonly LeadField[];
    confidence: number;
    credits: number;
    cached: boolean;
  };
  /** A provider did not find a lead. */
  'provider.notFound': { leadId: string; providerId: string; credits: number; cached: boolean };
  /** A provider accepted a lookup and will answer by webhook. */
  'provider.pending': { leadId: string; providerId: string; correlationId: string };
  /** A provider call failed after the limiter and retries gave up. */
  'provider.failed': {
    leadId: string;
    providerId: string;
    code: string;
    message: string;
    retryable: boolean;
  };
  /** The waterfall passed a provider over for a lead. */
  'provider.skipped': { leadId: string; providerId: string; reason: ProviderSkipReason };
  /** A provider answered 429; the limiter waits `waitMs` before trying again. */
  'provider.rateLimited': { providerId: string; waitMs: number };
  /** A provider was taken out of the run (auth failure) or until its quota resets. */
  'provider.disabled': { providerId: string; code: string; untilMs?: number };
  /** A call was not made because it would pass a credit budget. */
  'budget.reached': {
    scope: 'lead' | 'run';
    leadId: string;
    providerId: string;
    spent: number;
    budget: number;
  };
  /** A provider's circuit breaker opened after repeated failures. */
  'breaker.opened': { providerId: string; coolDownMs: number };
  /** A provider's circuit breaker closed again after a successful probe. */
  'breaker.closed': { providerId: string };
  /** A provider returned field values that failed validation; they were dropped. */
  'provider.invalidOutput': {
    leadId: string;
    providerId: string;
    issues: readonly { field: string; reason: string }[];
  };
}

/** How a lead's enrichment ended. */
export type EnrichmentStatus = 'enriched' | 'partial' | 'unchanged' | 'skipped';

/** Name of an enrichment event. */
export type EnrichmentEventName = keyof EnrichmentEvents;

/** A listener for event `E`. */
export type EnrichmentListener<E extends EnrichmentEventName> = (payload: EnrichmentEvents[E]) => void;

/**
 * A typed event bus on eventemitter3 whose `emit` isolates listeners: a
 * listener that throws (or returns a rejected promise) is reported to
 * `onListenerError` and the others still run.
 */
export class SafeEventBus<Events extends object> {
  readonly #emitter = new EventEmitter();
  readonly #onListenerError: ((error: unknown, event: string) => void) | undefined;

  /** @param onListenerError - told about listeners that throw; default: ignore. */
  constructor(onListenerError?: (error: unknown, event: string) => void) {
    this.#onListenerError = onListenerError;
  }

  /** Add a listener. Returns a function that removes it. */
  on<E extends keyof Events & string>(event: E, listener: (payload: Events[E]) => void): () => void {
    this.#emitter.on(event, listener);
    return () => {
      this.#emitter.off(event, listener);
    };
  }

  /** Remove a listener. */
  off<E extends keyof Events & string>(event: E, listener: (payload: Events[E]) => void): void {
    this.#emitter.off(event, listener);
  }

  /** Whether anyone listens to `event`. */
  hasListeners(event: keyof Events & string): boolean {
    return this.#emitter.listenerCount(event) > 0;
  }

  /** Emit to every listener; payloads are scrubbed of secrets first. Never throws. */
  emit<E extends keyof Events & string>(event: E, payload: Events[E]): void {
    const listeners = this.#emitter.listeners(event);
    if (listeners.length === 0) return;
    const safePayload = redactValue(payload);
    for (const listener of listeners) {
      try {
        const returned: unknown = listener(safePayload);
        if (returned instanceof Promise) {
          returned.catch((error: unknown) => this.#report(error, event));
        }
      } catch (error) {
        this.#report(error, event);
      }
    }
  }

  #report(error: unknown, event: string): void {
    try {
      this.#onListenerError?.(error, event);
    } catch {
      // The error reporter itself failed: nothing more can be done without breaking the run.
    }
  }
}

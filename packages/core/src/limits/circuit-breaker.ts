import { z } from 'zod';
import type { Clock } from '../contracts/clock.js';
import { parseOptions } from '../options/parse-options.js';
import { clockSchema, functionSchema, numberAtLeastSchema, wholeNumberSchema } from './option-schemas.js';

/** State of a provider's circuit breaker. */
export type CircuitState = 'open' | 'half_open' | 'closed';

/** Options of {@link createCircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. Whole number, at least 1. */
  readonly failureThreshold: number;
  /** How long the circuit stays open before letting a probe through, in ms. */
  readonly coolDownMs: number;
  /** Clock in epoch ms. Default `systemClock` (`Date.now`). */
  readonly now?: Clock;
  /** Observes every state change. Exceptions it throws are ignored. */
  readonly onStateChange?: (state: CircuitState) => void;
}

/**
 * Stops calling a failing provider for a while. Closed: requests flow and
 * consecutive failures are counted. Open: no request until `coolDownMs` has
 * passed. Half-open: exactly one probe at a time; its success closes the
 * circuit, its failure opens it again. Every request let through must report
 * back with `recordSuccess` or `recordFailure`.
 */
export interface CircuitBreaker {
  /** The current state (an open circuit whose cool-down is over reads `half_open`). */
  state(): CircuitState;
  /** Whether a request may go now. In half-open, `true` once until the probe reports back. */
  canRequest(): boolean;
  /** Time left in the cool-down, in ms; 0 unless open. */
  retryAfterMs(): number;
  /** A request succeeded. */
  recordSuccess(): void;
  /** A request failed (with an error that counts against the provider's health). */
  recordFailure(): void;
}

/** The options of {@link createCircuitBreaker}, with their defaults. */
const breakerOptionsSchema = z.object(
  {
    failureThreshold: wholeNumberSchema(1),
    coolDownMs: numberAtLeastSchema(0, 'milliseconds'),
    now: clockSchema,
    onStateChange: functionSchema<(state: CircuitState) => void>().optional(),
  },
  { error: 'must be an object' },
);

/**
 * Creates a {@link CircuitBreaker}. Throws a `ConfigurationError`
 * (`invalid_configuration`) naming each bad option.
 *
 * @example
 * ```ts
 * const breaker = createCircuitBreaker({ failureThreshold: 5, coolDownMs: 30_000 });
 * if (!breaker.canRequest()) throw new CircuitOpenError('apollo', breaker.retryAfterMs());
 * ```
 */
export function createCircuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  const { failureThreshold, coolDownMs, now, onStateChange } = parseOptions(breakerOptionsSchema, options, {
    name: 'createCircuitBreaker',
  });
  let current: CircuitState = 'closed';
  let failures = 0;
  let openedAt = 0;
  let probeInFlight = false;

  const transition = (next: CircuitState): void => {
    if (next === current) return;
    current = next;
    try {
      onStateChange?.(next);
    } catch {
      // Observers never change the outcome.
    }
  };
  const refresh = (): void => {
    if (current === 'open' && now() >= openedAt + coolDownMs) {
      probeInFlight = false;
      transition('half_open');
    }
  };
  const open = (): void => {
    openedAt = now();
    probeInFlight = false;
    failures = 0;
    transition('open');
  };

  return {
    state() {
      refresh();
      return current;
    },
    canRequest() {
      refresh();
      if (current === 'closed') return true;
      if (current === 'open' || probeInFlight) return false;
      probeInFlight = true;
      return true;
    },
    retryAfterMs() {
      refresh();
      return current === 'open' ? Math.max(0, openedAt + coolDownMs - now()) : 0;
    },
    recordSuccess() {
      refresh();
      if (current === 'open') return;
      failures = 0;
      probeInFlight = false;
      transition('closed');
    },
    recordFailure() {
      refresh();
      if (current === 'open') return;
      if (current === 'half_open') {
        open();
        return;
      }
      failures += 1;
      if (failures >= failureThreshold) open();
    },
  };
}

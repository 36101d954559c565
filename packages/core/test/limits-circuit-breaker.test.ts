import { describe, expect, it } from 'vitest';
import { type CircuitState, ConfigurationError } from '../src/index.js';
import { createCircuitBreaker } from '../src/limits/circuit-breaker.js';

function setup(failureThreshold = 3, coolDownMs = 10_000) {
  let now = 1_000_000;
  const changes: CircuitState[] = [];
  const breaker = createCircuitBreaker({
    failureThreshold,
    coolDownMs,
    now: () => now,
    onStateChange: (state) => changes.push(state),
  });
  return {
    breaker,
    changes,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('circuit breaker', () => {
  it('opens after N consecutive failures only', () => {
    const { breaker, changes } = setup(3);
    breaker.recordFailure();
    breaker.recordFailure();
    breaker.recordSuccess();
    breaker.recordFailure();
    breaker.recordFailure();
    expect(breaker.state()).toBe('closed');
    expect(breaker.canRequest()).toBe(true);
    breaker.recordFailure();
    expect(breaker.state()).toBe('open');
    expect(breaker.canRequest()).toBe(false);
    expect(breaker.retryAfterMs()).toBe(10_000);
    expect(changes).toEqual(['open']);
  });

  it('goes half-open after the cool-down and lets exactly one probe through', () => {
    const { breaker, changes, advance } = setup(1, 5_000);
    breaker.recordFailure();
    advance(4_999);
    expect(breaker.canRequest()).toBe(false);
    expect(breaker.retryAfterMs()).toBe(1);
    advance(1);
    expect(breaker.state()).toBe('half_open');
    expect(breaker.retryAfterMs()).toBe(0);
    expect(breaker.canRequest()).toBe(true);
    expect(breaker.canRequest()).toBe(false);
    expect(breaker.canRequest()).toBe(false);
    breaker.recordSuccess();
    expect(breaker.state()).toBe('closed');
    expect(breaker.canRequest()).toBe(true);
    expect(breaker.canRequest()).toBe(true);
    expect(changes).toEqual(['open', 'half_open', 'closed']);
  });

  it('re-opens for a full cool-down when the probe fails', () => {
    const { breaker, changes, advance } = setup(2, 1_000);
    breaker.recordFailure();
    breaker.recordFailure();
    advance(1_000);
    expect(breaker.canRequest()).toBe(true);
    advance(300);
    breaker.recordFailure();
    expect(breaker.state()).toBe('open');
    expect(breaker.retryAfterMs()).toBe(1_000);
    advance(1_000);
    expect(breaker.canRequest()).toBe(true);
    expect(changes).toEqual(['open', 'half_open', 'open', 'half_open']);
  });

  it('ignores late results while open and isolates a throwing observer', () => {
    let now = 0;
    const breaker = createCircuitBreaker({
      failureThreshold: 1,
      coolDownMs: 100,
      now: () => now,
      onStateChange: () => {
        throw new Error('observer broke');
      },
    });
    breaker.recordFailure();
    breaker.recordSuccess();
    expect(breaker.state()).toBe('open');
    now = 100;
    expect(breaker.state()).toBe('half_open');
  });

  it('rejects bad options with the field named', () => {
    expect(() => createCircuitBreaker({ failureThreshold: 0, coolDownMs: 1 })).toThrow(ConfigurationError);
    expect(() => createCircuitBreaker({ failureThreshold: 1, coolDownMs: -5 })).toThrow(/coolDownMs/);
    expect(() => createCircuitBreaker({ failureThreshold: 1.5, coolDownMs: 1 })).toThrow(
      /failureThreshold: must be a whole number of at least 1, got 1.5/,
    );
  });
});

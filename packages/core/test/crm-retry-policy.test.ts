import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from '../src/crm/retry-policy.js';
import { ApiCallError } from '../src/index.js';

const backoff = { retries: 5, minTimeoutMs: 100, maxTimeoutMs: 1000 };

describe('backoffDelayMs', () => {
  it('doubles from minTimeoutMs up to maxTimeoutMs, jittered over the upper half', () => {
    expect([1, 2, 3, 4, 5].map((attempt) => backoffDelayMs(attempt, undefined, backoff, () => 0))).toEqual([
      50, 100, 200, 400, 500,
    ]);
    expect([1, 2, 5].map((attempt) => backoffDelayMs(attempt, undefined, backoff, () => 0.999999))).toEqual([
      100, 200, 1000,
    ]);
  });

  it('honours a retry-after of at most a minute, and falls back to the backoff beyond', () => {
    const soon = new ApiCallError('server_error', { message: '503', retryAfterMs: 7000 });
    const late = new ApiCallError('server_error', { message: '503', retryAfterMs: 120_000 });
    expect(backoffDelayMs(1, soon, backoff, () => 0)).toBe(7000);
    expect(backoffDelayMs(1, late, backoff, () => 0)).toBe(50);
  });

  it('never waits less than minTimeoutMs allows when maxTimeoutMs is set lower', () => {
    expect(
      backoffDelayMs(3, undefined, { retries: 1, minTimeoutMs: 100, maxTimeoutMs: 10 }, () => 0.999999),
    ).toBe(100);
  });
});

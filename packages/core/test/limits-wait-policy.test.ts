import { describe, expect, it } from 'vitest';
import { MAX_RATE_LIMIT_WAIT_MS, rateLimitWaitMs } from '../src/limits/wait-policy.js';

const NOW = 1_000_000;

describe('429 wait policy', () => {
  it("takes the error's Retry-After first, rounded up to whole ms", () => {
    expect(
      rateLimitWaitMs(
        { retryAfterMs: 2_500.2, rateLimit: { retryAfterMs: 9_000, windows: [] } },
        3,
        NOW,
        1_000,
      ),
    ).toBe(2_501);
    expect(rateLimitWaitMs({ retryAfterMs: 0 }, 1, NOW, 1_000)).toBe(0);
  });

  it("then the headers' Retry-After, then the latest reset of an exhausted window ahead of now", () => {
    expect(rateLimitWaitMs({ rateLimit: { retryAfterMs: 4_000, windows: [] } }, 1, NOW, 1_000)).toBe(4_000);
    const windows = [
      { name: 'second', remaining: 0, resetAt: NOW + 800 },
      { name: 'minute', remaining: undefined, resetAt: NOW + 30_000 },
      { name: 'hour', remaining: 5, resetAt: NOW + 3_000_000 },
      { name: 'day', remaining: 0, resetAt: NOW - 10 },
    ];
    expect(rateLimitWaitMs({ rateLimit: { windows } }, 1, NOW, 1_000)).toBe(30_000);
  });

  it('ignores hints that are negative, not finite or in the past', () => {
    const hint = {
      retryAfterMs: -1,
      rateLimit: { retryAfterMs: Number.NaN, windows: [{ name: 'minute', remaining: 0, resetAt: NOW }] },
    };
    expect(rateLimitWaitMs(hint, 1, NOW, 1_000)).toBe(1_000);
  });

  it('backs off from the base, doubling per re-run, capped at 60 s', () => {
    expect([1, 2, 3, 4].map((attempt) => rateLimitWaitMs({}, attempt, NOW, 1_000))).toEqual([
      1_000, 2_000, 4_000, 8_000,
    ]);
    expect(rateLimitWaitMs({}, 10, NOW, 1_000)).toBe(MAX_RATE_LIMIT_WAIT_MS);
    expect(MAX_RATE_LIMIT_WAIT_MS).toBe(60_000);
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiCallError, ConfigurationError, LeadpipeError } from '../src/contracts/errors.js';
import { createCallPacer, reservePacerSlot } from '../src/kit/call-pacer.js';

describe('reservePacerSlot', () => {
  it('starts at once when free, else at the next free time, and moves the next start one gap on', () => {
    expect(reservePacerSlot(Number.NEGATIVE_INFINITY, 1_000, 220)).toEqual({
      startAt: 1_000,
      nextFreeAt: 1_220,
    });
    expect(reservePacerSlot(1_220, 1_100, 220)).toEqual({ startAt: 1_220, nextFreeAt: 1_440 });
    expect(reservePacerSlot(1_220, 2_000, 220)).toEqual({ startAt: 2_000, nextFreeAt: 2_220 });
  });
});

describe('createCallPacer', () => {
  afterEach(() => vi.useRealTimers());

  it('never lets limit + 1 starts into one window (5 per second, margin 0.1: one start each 220 ms)', async () => {
    vi.useFakeTimers({ now: 0 });
    const pacer = createCallPacer({ limit: 5, intervalMs: 1_000, now: () => Date.now() });
    const starts: number[] = [];
    const done = Array.from({ length: 12 }, () => pacer.schedule(async () => starts.push(Date.now())));
    await vi.runAllTimersAsync();
    await Promise.all(done);
    expect(starts).toEqual(Array.from({ length: 12 }, (_, index) => Math.round(index * 220)));
    for (let index = 5; index < starts.length; index += 1) {
      expect(starts[index]! - starts[index - 5]!).toBeGreaterThanOrEqual(1_000);
    }
  });

  it('holds later starts back after a 429 with a wait, and lets the error through', async () => {
    vi.useFakeTimers({ now: 0 });
    const pacer = createCallPacer({ limit: 10, intervalMs: 1_000, safetyMargin: 0, now: () => Date.now() });
    const limited = new ApiCallError('rate_limited', {
      message: '429',
      providerId: 'crm',
      retryAfterMs: 5_000,
    });
    await expect(pacer.schedule(async () => Promise.reject(limited))).rejects.toBe(limited);
    const next = pacer.schedule(async () => Date.now());
    await vi.runAllTimersAsync();
    expect(await next).toBe(5_000);
  });

  it('rejects a waiting call when its signal aborts, and waiting calls when closed', async () => {
    vi.useFakeTimers({ now: 0 });
    const pacer = createCallPacer({ limit: 1, intervalMs: 1_000, providerId: 'crm', now: () => Date.now() });
    await pacer.schedule(async () => undefined);
    const controller = new AbortController();
    const aborted = pacer.schedule(async () => 'ran', { signal: controller.signal });
    const closed = pacer.schedule(async () => 'ran');
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'aborted' });
    pacer.close();
    const error = await closed.catch((caught: unknown) => caught);
    expect(LeadpipeError.isInstance(error) && (error as LeadpipeError).code).toBe('limiter_closed');
  });

  it('refuses a limit, intervalMs or safetyMargin out of range, and an unknown option, naming each', () => {
    const refusal = (options: unknown): ConfigurationError => {
      try {
        createCallPacer(options as Parameters<typeof createCallPacer>[0]);
      } catch (error) {
        expect(ConfigurationError.isInstance(error)).toBe(true);
        return error as ConfigurationError;
      }
      throw new Error('createCallPacer accepted the options');
    };
    for (const [options, field, reason] of [
      [{ limit: 0, intervalMs: 1_000 }, 'limit', 'must be a positive integer, got 0'],
      [{ limit: 1.5, intervalMs: 1_000 }, 'limit', 'must be a positive integer, got 1.5'],
      [{ limit: 1, intervalMs: 0 }, 'intervalMs', 'must be a positive number, got 0'],
      [{ limit: 1, intervalMs: Number.NaN }, 'intervalMs', 'must be a positive number, got NaN'],
      [
        { limit: 1, intervalMs: 1_000, safetyMargin: -0.1 },
        'safetyMargin',
        'must be a number of 0 or more, got -0.1',
      ],
      [{ limit: 1, intervalMs: 1_000, intervalms: 5 }, 'intervalms', 'is not a known option'],
    ] as const) {
      const error = refusal(options);
      expect(error.code).toBe('invalid_configuration');
      expect(error.issues).toEqual([{ field, reason }]);
      expect(error.message).toBe(`createCallPacer: ${field}: ${reason}`);
    }
    expect(refusal({ limit: 0, intervalMs: 1_000, providerId: 'crm' }).providerId).toBe('crm');
    // A safetyMargin of 0 is allowed.
    createCallPacer({ limit: 1, intervalMs: 1_000, safetyMargin: 0 }).close();
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiCallError, LeadpipeError } from '../src/index.js';
import { isRetryableByRetry, retryAttempts, withRetry } from '../src/limits/retry.js';

function apiError(code: ConstructorParameters<typeof ApiCallError>[0], retryAfterMs?: number): ApiCallError {
  return new ApiCallError(code, { message: `failed: ${code}`, retryAfterMs });
}

/** A task failing with `errors` in turn, then succeeding; records the attempt numbers and times. */
function failingThenOk(errors: unknown[]) {
  const attempts: { attempt: number; at: number }[] = [];
  const task = async (attempt: number) => {
    attempts.push({ attempt, at: Date.now() });
    const error = errors[attempt - 1];
    if (error !== undefined) throw error;
    return 'ok';
  };
  return { attempts, task };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('withRetry', () => {
  it.each(['server_error', 'timeout', 'network_error'] as const)('retries %s with backoff', async (code) => {
    const { attempts, task } = failingThenOk([apiError(code), apiError(code)]);
    const result = withRetry(task, { minTimeoutMs: 100, random: () => 1 });
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(result).resolves.toBe('ok');
    expect(attempts.map((entry) => entry.attempt)).toEqual([1, 2, 3]);
    // Full backoff with random() = 1: 100 ms, then 200 ms.
    expect(attempts.map((entry) => entry.at)).toEqual([0, 100, 300]);
  });

  it('jitters the backoff between half and all of the exponential step', async () => {
    const { attempts, task } = failingThenOk([apiError('server_error'), apiError('server_error')]);
    const result = withRetry(task, { minTimeoutMs: 1_000, random: () => 0 });
    await vi.advanceTimersByTimeAsync(10_000);
    await result;
    expect(attempts.map((entry) => entry.at)).toEqual([0, 500, 1_500]);
  });

  it.each([
    ['invalid_request', apiError('invalid_request')],
    ['unauthorized', apiError('unauthorized')],
    ['rate_limited', apiError('rate_limited', 1_000)],
    ['quota_exceeded', apiError('quota_exceeded')],
    ['a plain Error', new Error('not ours')],
  ])('does not retry %s', async (_name, error) => {
    const { attempts, task } = failingThenOk([error]);
    const outcome = withRetry(task, { minTimeoutMs: 1 }).catch((caught: unknown) => caught);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await outcome).toBe(error);
    expect(attempts).toHaveLength(1);
    expect(retryAttempts(error)).toBe(1);
  });

  it('gives up after `retries` with the last error and the attempt count', async () => {
    const errors = [apiError('server_error'), apiError('timeout'), apiError('network_error')];
    const seen: [string, number][] = [];
    const { task } = failingThenOk(errors);
    const outcome = withRetry(task, {
      retries: 2,
      minTimeoutMs: 10,
      onFailedAttempt: (error, attempt) => {
        seen.push([(error as ApiCallError).code, attempt]);
        throw new Error('observer failure is ignored');
      },
    }).catch((caught: unknown) => caught);
    await vi.advanceTimersByTimeAsync(1_000);
    const error = await outcome;
    expect(error).toBe(errors[2]);
    expect(LeadpipeError.isInstance(error) && error.code).toBe('network_error');
    expect(retryAttempts(error)).toBe(3);
    expect(seen).toEqual([
      ['server_error', 1],
      ['timeout', 2],
      ['network_error', 3],
    ]);
  });

  it('honours retryAfterMs between 0 and 60 s instead of the backoff', async () => {
    const { attempts, task } = failingThenOk([
      apiError('server_error', 7_000),
      apiError('server_error', 120_000),
    ]);
    const result = withRetry(task, { minTimeoutMs: 100, random: () => 1 });
    await vi.advanceTimersByTimeAsync(6_999);
    expect(attempts).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(attempts).toHaveLength(2);
    // 120 s is out of range: the backoff (200 ms for the second retry) applies.
    await vi.advanceTimersByTimeAsync(200);
    await expect(result).resolves.toBe('ok');
    expect(attempts.map((entry) => entry.at)).toEqual([0, 7_000, 7_200]);
  });

  it('stops at once when aborted during the backoff or during an attempt', async () => {
    const controller = new AbortController();
    const { attempts, task } = failingThenOk([apiError('server_error'), apiError('server_error')]);
    const outcome = withRetry(task, { minTimeoutMs: 10_000, signal: controller.signal }).catch(
      (caught: unknown) => caught,
    );
    await vi.advanceTimersByTimeAsync(100);
    controller.abort();
    const error = await outcome;
    expect(ApiCallError.isInstance(error) && error.code).toBe('aborted');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(attempts).toHaveLength(1);

    const hanging = new AbortController();
    const pending = withRetry(() => new Promise<string>(() => {}), { signal: hanging.signal }).catch(
      (caught: unknown) => caught,
    );
    hanging.abort();
    expect(await pending).toMatchObject({ code: 'aborted' });
    await expect(withRetry(async () => 1, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'aborted',
    });
  });

  it('rejects bad options with the field named', async () => {
    await expect(withRetry(async () => 1, { retries: -1 })).rejects.toMatchObject({
      code: 'invalid_configuration',
      issues: [{ field: 'retries', reason: 'must be a whole number of at least 0, got -1' }],
    });
    await expect(withRetry(async () => 1, { minTimeoutMs: Number.NaN })).rejects.toMatchObject({
      issues: [{ field: 'minTimeoutMs' }],
    });
  });

  it('classifies retryable errors', () => {
    expect(isRetryableByRetry(apiError('invalid_response'))).toBe(true);
    expect(isRetryableByRetry(apiError('rate_limited'))).toBe(false);
    expect(isRetryableByRetry(new ApiCallError('quota_exceeded', { message: 'x', isRetryable: true }))).toBe(
      false,
    );
    expect(isRetryableByRetry(new Error('x'))).toBe(false);
  });
});

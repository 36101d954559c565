import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../src/contracts/errors.js';
import { normalizePolicy, selectPacingWindow, windowNameToIntervalMs } from '../src/limits/policy.js';

function issuesOf(run: () => unknown): { field: string; reason: string }[] {
  try {
    run();
  } catch (error) {
    expect(ConfigurationError.isInstance(error)).toBe(true);
    expect((error as ConfigurationError).code).toBe('invalid_configuration');
    return [...(error as ConfigurationError).issues];
  }
  throw new Error('expected a ConfigurationError');
}

describe('rate-limit policy', () => {
  it('lists every window, shortest first, aligned as declared', () => {
    expect(
      normalizePolicy({
        perDay: 1_000,
        perSecond: 5,
        windows: [{ name: '10s', limit: 100, intervalMs: 10_000, aligned: false }],
        alignedWindows: true,
        maxConcurrent: 4,
      }),
    ).toEqual({
      windows: [
        { name: 'second', limit: 5, intervalMs: 1_000, aligned: true },
        { name: '10s', limit: 100, intervalMs: 10_000, aligned: false },
        { name: 'day', limit: 1_000, intervalMs: 86_400_000, aligned: true },
      ],
      maxConcurrent: 4,
    });
    expect(normalizePolicy({})).toEqual({ windows: [], maxConcurrent: undefined });
  });

  it('names every bad field and why', () => {
    expect(
      issuesOf(() =>
        normalizePolicy({
          alignedWindows: 'yes' as unknown as boolean,
          perSecond: 0,
          perMinute: 1.5,
          windows: [{ name: ' ', limit: 1, intervalMs: -1 }],
          maxConcurrent: Number.NaN,
        }),
      ),
    ).toEqual([
      { field: 'policy.alignedWindows', reason: 'must be a boolean' },
      { field: 'policy.perSecond', reason: 'must be a whole number of at least 1, got 0' },
      { field: 'policy.perMinute', reason: 'must be a whole number of at least 1, got 1.5' },
      { field: 'policy.windows.0.name', reason: 'must be a non-empty string' },
      { field: 'policy.windows.0.intervalMs', reason: 'must be a positive number of milliseconds, got -1' },
      { field: 'policy.maxConcurrent', reason: 'must be a whole number of at least 1, got NaN' },
    ]);
    expect(issuesOf(() => normalizePolicy(null as never))).toEqual([
      { field: 'policy', reason: 'must be an object' },
    ]);
    expect(issuesOf(() => normalizePolicy({ windows: 'x' as never }))).toEqual([
      { field: 'policy.windows', reason: 'must be an array' },
    ]);
  });

  it('rejects a window name used twice', () => {
    expect(
      issuesOf(() =>
        normalizePolicy({ perMinute: 5, windows: [{ name: 'minute', limit: 3, intervalMs: 60_000 }] }),
      ),
    ).toEqual([{ field: 'policy.windows', reason: 'window name "minute" is used twice' }]);
  });

  it('paces the short window with the widest even spacing, never a long one', () => {
    const { windows } = normalizePolicy({ perSecond: 15, perMinute: 500, perHour: 2 });
    expect(selectPacingWindow(windows, 60_000)?.name).toBe('minute');
    expect(selectPacingWindow(windows, 1_000)?.name).toBe('second');
    expect(selectPacingWindow(windows, 0)).toBeUndefined();
  });

  it('reads window names as intervals', () => {
    expect(
      ['second', 'Minute', 'hourly', 'day', '10s', '500ms', '1.5m', '2h', '1d'].map(windowNameToIntervalMs),
    ).toEqual([1_000, 60_000, 3_600_000, 86_400_000, 10_000, 500, 90_000, 7_200_000, 86_400_000]);
    expect(['0s', 'fortnight', '5 weeks'].map(windowNameToIntervalMs)).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });
});

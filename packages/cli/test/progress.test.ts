import type {
  EnrichCallOptions,
  EnrichmentProviderV1,
  PipelineProgress,
  RateLimitState,
} from '@leadpipe/core';
import { describe, expect, it } from 'vitest';
import {
  createProgressDisplay,
  createQuotaTracker,
  estimateRemainingMs,
  type ProgressExtras,
  progressLines,
  progressLogLine,
} from '../src/index.js';
import { capture } from './support.js';

const progress: PipelineProgress = {
  read: 120,
  skipped: 0,
  validated: 110,
  rejected: 10,
  duplicates: 5,
  enriched: 100,
  synced: 90,
  deadLettered: 0,
  done: 90,
  ratePerSecond: 25,
  elapsedMs: 10_000,
};

const extras: ProgressExtras = {
  total: 300,
  providers: { apollo: { calls: 40, credits: 88 }, clearbit: { calls: 12, credits: 12.5 } },
  quotas: { apollo: { window: 'minute', limit: 200, used: 150, share: 0.75 } },
};

describe('progress figures', () => {
  it('ETA is the rows left over the rate; unknown without a total or a rate', () => {
    // 300 rows, 100 finished (90 done + 10 rejected), 25 rows/s: 8 s left.
    expect(estimateRemainingMs(progress, 300)).toBe(8_000);
    expect(estimateRemainingMs(progress, undefined)).toBeUndefined();
    expect(estimateRemainingMs({ ...progress, ratePerSecond: 0 }, 300)).toBeUndefined();
    // Rows skipped on resume count as finished.
    expect(estimateRemainingMs({ ...progress, skipped: 100 }, 300)).toBe(4_000);
  });

  it('ETA appears once it means something: after 5 s and enough rows of this run', () => {
    // The first seconds: no ETA (the rate of the first calls says little about the rest).
    expect(estimateRemainingMs({ ...progress, elapsedMs: 4_999 }, 300)).toBeUndefined();
    // 20,000 rows, 3 finished at 0.05 rows/s after 60 s: not "17h" yet.
    const start = { ...progress, read: 40, done: 3, rejected: 0, ratePerSecond: 0.05, elapsedMs: 60_000 };
    expect(estimateRemainingMs(start, 20_000)).toBeUndefined();
    expect(progressLogLine(start, { ...extras, total: 20_000 })).not.toContain('eta=');
    expect(progressLines(start, { ...extras, total: 20_000 })[2]).toBe(
      'rate      0.05 rows/s, elapsed 1m00s',
    );
    // 200 rows (1% of 20,000) finished: now it says something.
    expect(estimateRemainingMs({ ...start, done: 200, ratePerSecond: 4 }, 20_000)).toBe(4_950_000);
    // Rows skipped on resume are not rows this run processed.
    expect(estimateRemainingMs({ ...progress, done: 5, rejected: 0, skipped: 100 }, 300)).toBeUndefined();
  });

  it('formats every figure one way, as the summary does: 1,234 and 12.5', () => {
    const big = {
      ...progress,
      read: 12_345,
      done: 12_000,
      enriched: 11_000,
      synced: 10_500,
      ratePerSecond: 1234.567,
    };
    const figures = {
      ...extras,
      total: 20_000,
      quotas: { apollo: { window: 'day', limit: 6_000, used: 5_250, share: 0.875 } },
    };
    const lines = progressLines(big, figures);
    expect(lines[0]).toMatch(/^rows {6}12,345 read of 20,000 /);
    expect(lines[1]).toContain('11,000 enriched, 10,500 synced');
    expect(lines[2]).toContain('1,234.57 rows/s');
    expect(lines[3]).toContain('quota 5,250/6,000 per day (88%)');
    expect(progressLogLine(big, figures)).toContain('read=12,345/20,000 enriched=11,000');
  });

  it('the live display shows rows, stages, rate, ETA and per-provider quota use', () => {
    expect(progressLines(progress, extras)).toEqual([
      'rows      120 read of 300 [#######-------------] 33%',
      '          100 enriched, 90 synced, 10 rejected, 5 duplicates, 0 dead-lettered',
      'rate      25 rows/s, elapsed 10s, ETA 8s',
      'providers apollo: 40 calls, 88 credits, quota 150/200 per minute (75%)',
      '          clearbit: 12 calls, 12.5 credits',
    ]);
    expect(progressLines(progress, { ...extras, total: undefined })[2]).toBe(
      'rate      25 rows/s, elapsed 10s',
    );
  });

  it('the log line has every figure as key=value', () => {
    expect(progressLogLine(progress, extras)).toBe(
      'leadpipe: progress read=120/300 enriched=100 synced=90 rejected=10 duplicates=5 deadLettered=0 done=90 rate=25/s elapsed=10s eta=8s quota.apollo=150/200/minute\n',
    );
  });
});

describe('createProgressDisplay', () => {
  it('on a terminal, redraws the block in place', () => {
    const output = capture({ isTTY: true });
    const display = createProgressDisplay(output);
    display.update(progress, extras);
    const first = output.text();
    expect(first.startsWith('\x1b[2Krows      120 read of 300')).toBe(true);
    expect(first).not.toContain('\x1b[5F');
    display.update({ ...progress, read: 200 }, extras);
    const second = output.text().slice(first.length);
    // Back up over the 5 lines drawn, then clear and redraw each.
    expect(second.startsWith('\x1b[5F\x1b[2Krows      200 read of 300')).toBe(true);
    display.finish({ ...progress, read: 300 }, extras);
    expect(output.text()).toContain('\x1b[5F\x1b[2Krows      300 read of 300');
    const before = output.text().length;
    // After finish, the next draw starts below instead of overwriting the final figures.
    display.update(progress, extras);
    expect(output.text().slice(before).startsWith('\x1b[2K')).toBe(true);
  });

  it('off a terminal, writes one plain line per update and nothing more at the end', () => {
    const output = capture({ isTTY: false });
    const display = createProgressDisplay(output);
    display.update(progress, extras);
    display.finish(progress, extras);
    expect(output.text()).toBe(progressLogLine(progress, extras));
    expect(output.text()).not.toContain('\x1b');
  });

  it('cuts lines to the terminal width', () => {
    let written = '';
    createProgressDisplay({ isTTY: true, columns: 30, write: (text: string) => (written += text) }).update(
      progress,
      extras,
    );
    const lines = written.split('\n').filter((line) => line !== '');
    expect(lines).toHaveLength(5);
    for (const line of lines) expect(line.replace('\x1b[2K', '').length).toBeLessThanOrEqual(29);
    expect(lines[0]).toBe('\x1b[2Krows      120 read of 300 [#…');

    // A terminal that reports no size (0 columns) gets 100.
    written = '';
    createProgressDisplay({ isTTY: true, columns: 0, write: (text: string) => (written += text) }).update(
      progress,
      extras,
    );
    expect(written).toContain('\x1b[2Krows      120 read of 300 [#######-------------] 33%\n');
  });
});

describe('createQuotaTracker', () => {
  function fakeProvider(states: RateLimitState[]): EnrichmentProviderV1 {
    return {
      specificationVersion: 'v1',
      providerId: 'fake',
      capabilities: {
        lookups: [{ requires: ['email'], supplies: ['title'] }],
        maxBatchSize: 10,
        rateLimits: { perMinute: 100 },
        cost: { perRequest: 0, perMatch: 1, chargesMisses: false },
      },
      limiterKey: () => 'key-1',
      async doEnrich(_request, options: EnrichCallOptions) {
        const state = states.shift();
        if (state) options.onRateLimit?.(state);
        return { status: 'not_found', credits: 0 };
      },
      async doEnrichBatch(requests, options: EnrichCallOptions) {
        const state = states.shift();
        if (state) options.onRateLimit?.(state);
        return requests.map(() => ({ status: 'not_found' as const, credits: 0 }));
      },
    };
  }

  it('records the window that binds and still forwards every report to the engine', async () => {
    const tracker = createQuotaTracker();
    const provider = tracker.track(
      fakeProvider([
        {
          windows: [
            { name: 'minute', limit: 100, remaining: 90 },
            { name: 'day', limit: 1000, remaining: 400 },
          ],
        },
        {
          windows: [
            { name: 'minute', limit: 100, remaining: 10 },
            { name: 'day', limit: 1000, remaining: 390 },
          ],
        },
      ]),
    );
    expect(provider.providerId).toBe('fake');
    expect(provider.capabilities.maxBatchSize).toBe(10);
    expect(provider.limiterKey?.()).toBe('key-1');
    expect(tracker.snapshot()).toEqual({});
    const forwarded: RateLimitState[] = [];
    const request = { leadId: 'l1', input: { email: 'a@b.co' }, fields: ['title' as const] };
    await provider.doEnrich(request, { onRateLimit: (state) => forwarded.push(state) });
    expect(tracker.snapshot()).toEqual({ fake: { window: 'day', limit: 1000, used: 600, share: 0.6 } });
    const results = await provider.doEnrichBatch?.([request, request], {
      onRateLimit: (state) => forwarded.push(state),
    });
    expect(results).toHaveLength(2);
    // 10 left this minute (0.17/s) still allow more than 390 left today (0.005/s): the day binds.
    expect(tracker.snapshot()).toEqual({ fake: { window: 'day', limit: 1000, used: 610, share: 0.61 } });
    expect(forwarded).toHaveLength(2);
  });

  it('shows the window that binds: the fewest requests a second until it resets, not the busiest share', async () => {
    const now = 1_000_000;
    const tracker = createQuotaTracker({ now: () => now });
    const provider = tracker.track(
      fakeProvider([
        // Apollo's plan: 200 a minute, 6,000 a day. 150 of 200 this minute is busier, but the day binds.
        {
          windows: [
            { name: 'minute', limit: 200, remaining: 50, resetAt: now + 30_000 },
            { name: 'day', limit: 6_000, remaining: 5_800, resetAt: now + 86_000_000 },
          ],
        },
        // The minute is used up: it binds now.
        {
          windows: [
            { name: 'minute', limit: 200, remaining: 0, resetAt: now + 20_000 },
            { name: 'day', limit: 6_000, remaining: 5_750, resetAt: now + 86_000_000 },
          ],
        },
      ]),
    );
    const request = { leadId: 'l1', input: { email: 'a@b.co' }, fields: ['title' as const] };
    await provider.doEnrich(request, {});
    expect(tracker.snapshot().fake?.window).toBe('day');
    await provider.doEnrich(request, {});
    expect(tracker.snapshot()).toEqual({ fake: { window: 'minute', limit: 200, used: 200, share: 1 } });
  });

  it('ignores windows without a limit or a remaining count', async () => {
    const tracker = createQuotaTracker();
    const provider = tracker.track(
      fakeProvider([{ windows: [{ name: 'minute', remaining: 3 }], retryAfterMs: 10 }]),
    );
    await provider.doEnrich({ leadId: 'l1', input: {}, fields: ['title'] }, {});
    expect(tracker.snapshot()).toEqual({});
  });
});

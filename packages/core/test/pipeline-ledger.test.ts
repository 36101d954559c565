import { describe, expect, it } from 'vitest';
import { ApiCallError } from '../src/contracts/errors.js';
import type { CrmSyncTargetReport } from '../src/crm/index.js';
import type { EnrichmentStats, ProviderStats } from '../src/enrich/index.js';
import { errorInfo, RunLedger, subtractStats } from '../src/pipeline/ledger.js';

const START = Date.parse('2026-01-01T00:00:00Z');

function ledger(maxReportedRows = 100) {
  return new RunLedger({ startedAt: START, maxReportedRows, dryRun: false, progressIntervalMs: 1_000 });
}

function providerStats(overrides: Partial<ProviderStats> = {}): ProviderStats {
  return {
    calls: 0,
    requests: 0,
    cacheHits: 0,
    matches: 0,
    misses: 0,
    pending: 0,
    errors: 0,
    rateLimited: 0,
    authRetries: 0,
    budgetSkips: 0,
    credits: 0,
    latency: { count: 0, p50: 0, p95: 0, p99: 0, max: 0 },
    ...overrides,
  };
}

function crmReport(overrides: Partial<CrmSyncTargetReport> = {}): CrmSyncTargetReport {
  return {
    adapterId: 'hubspot',
    object: 'contacts',
    status: 'ok',
    received: 0,
    rejected: 0,
    merged: 0,
    created: 0,
    updated: 0,
    unchanged: 0,
    warned: 0,
    failed: 0,
    deadLettered: 0,
    retried: 0,
    calls: 0,
    ...overrides,
  };
}

describe('RunLedger', () => {
  it('adds the counts up so that read = skipped + done + rejected + deadLettered + unfinished', () => {
    const books = ledger();
    for (let row = 0; row < 7; row++) books.read();
    books.skipped();
    books.validated();
    books.validated();
    books.validated();
    books.enriched();
    books.synced();
    books.done(false);
    books.done(true);
    books.rejected({ rowNumber: 3, stage: 'validate', issues: [{ field: 'email', reason: 'bad' }] });
    books.deadLettered({
      rowNumber: 5,
      leadId: 'l5',
      stage: 'enrich',
      error: { code: 'adapter_error', message: 'boom', retryable: false },
    });
    books.unfinished();
    books.unfinished();
    expect(books.counts).toEqual({
      read: 7,
      skipped: 1,
      validated: 3,
      duplicates: 1,
      enriched: 1,
      synced: 1,
      done: 2,
      rejected: 1,
      deadLettered: 1,
      unfinished: 2,
    });
    const { counts } = books;
    expect(counts.skipped + counts.done + counts.rejected + counts.deadLettered + counts.unfinished).toBe(
      counts.read,
    );
  });

  it('lists the first rejects and dead letters only, and counts them all', () => {
    const books = ledger(2);
    for (let row = 1; row <= 5; row++) {
      books.rejected({ rowNumber: row, stage: 'validate', issues: [] });
      books.deadLettered({ rowNumber: row, leadId: `l${row}`, stage: 'crm', errors: [] });
    }
    const report = books.report({ now: START, status: 'completed', resumed: false, providers: {} });
    expect(report.rejects.map((reject) => reject.rowNumber)).toEqual([1, 2]);
    expect(report.deadLetters.map((entry) => entry.rowNumber)).toEqual([1, 2]);
    expect(report.counts).toMatchObject({ rejected: 5, deadLettered: 5 });
  });

  it('reports times, throughput, credits, the CRM session report and the error, scrubbed', () => {
    const books = ledger();
    for (let row = 0; row < 30; row++) books.read();
    for (let row = 0; row < 10; row++) books.skipped();
    books.crmReports([
      crmReport({ created: 5, calls: 3, status: 'down', error: { code: 'crm_down', message: 'down' } }),
      crmReport({ object: 'companies', created: 1, calls: 1 }),
    ]);
    const report = books.report({
      now: START + 4_000,
      status: 'failed',
      resumed: true,
      providers: { a: providerStats({ credits: 0.1 }), b: providerStats({ credits: 0.2 }) },
      error: new Error('refused: Authorization Bearer sk_live_123456789012345678901234'),
    });
    expect(report).toMatchObject({
      status: 'failed',
      resumed: true,
      dryRun: false,
      durationMs: 4_000,
      leadsPerSecond: 5,
      credits: 0.3,
      startedAt: '2026-01-01T00:00:00.000Z',
      finishedAt: '2026-01-01T00:00:04.000Z',
      crms: [
        {
          adapterId: 'hubspot',
          object: 'contacts',
          created: 5,
          calls: 3,
          status: 'down',
          error: { code: 'crm_down' },
        },
        { adapterId: 'hubspot', object: 'companies', created: 1, status: 'ok' },
      ],
    });
    expect(report.error?.code).toBe('adapter_error');
    expect(report.error?.message).not.toContain('sk_live_123456789012345678901234');
    expect(books.report({ now: START, status: 'completed', resumed: false, providers: {} })).toMatchObject({
      durationMs: 0,
      leadsPerSecond: 0,
    });
    expect(books.report({ now: START, status: 'completed', resumed: false, providers: {} }).error).toBe(
      undefined,
    );
  });

  it('hands out progress figures at most once per interval, with the rate of finished rows', () => {
    const books = ledger();
    books.read();
    books.read();
    books.done(false);
    books.rejected({ rowNumber: 2, stage: 'read', issues: [] });
    expect(books.progressDue(START + 999)).toBeUndefined();
    expect(books.progressDue(START + 1_000)).toMatchObject({
      read: 2,
      done: 1,
      rejected: 1,
      ratePerSecond: 2,
    });
    expect(books.progressDue(START + 1_500)).toBeUndefined();
    expect(books.progressDue(START + 2_000)).toMatchObject({ elapsedMs: 2_000, ratePerSecond: 1 });
    expect(books.progress(START)).toMatchObject({ elapsedMs: 0, ratePerSecond: 0 });
  });
});

describe('ledger arithmetic helpers', () => {
  it('subtracts the stats of before the run, provider by provider', () => {
    const before: EnrichmentStats = {
      providers: { a: providerStats({ calls: 2, credits: 0.3, cacheHits: 1 }) },
      leads: { enriched: 0, partial: 0, unchanged: 0, skipped: 0 },
      credits: 0.3,
      budgetSkips: 0,
    };
    const after: EnrichmentStats = {
      ...before,
      providers: {
        a: providerStats({ calls: 5, credits: 0.4, cacheHits: 4 }),
        b: providerStats({ calls: 1, credits: 1 }),
      },
    };
    const delta = subtractStats(after, before);
    expect(delta.a).toMatchObject({ calls: 3, credits: 0.1, cacheHits: 3 });
    expect(delta.b).toMatchObject({ calls: 1, credits: 1 });
    expect(subtractStats(after, undefined).a?.calls).toBe(5);
  });

  it('describes an error by its code, or as an adapter error', () => {
    expect(errorInfo(new ApiCallError('server_error', { message: 'boom' }))).toEqual({
      code: 'server_error',
      message: 'boom',
      retryable: true,
    });
    expect(errorInfo('plain')).toEqual({ code: 'adapter_error', message: 'plain', retryable: false });
  });
});

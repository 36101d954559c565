import { describe, expect, it, vi } from 'vitest';
import type { Checkpoint, RowWindow } from '../src/contracts/checkpoint-store.js';
import { ApiCallError } from '../src/contracts/errors.js';
import type { Lead } from '../src/contracts/lead.js';
import type { EnrichmentEngine } from '../src/enrich/index.js';
import { SafeEventBus } from '../src/events/safe-event-bus.js';
import { createLead } from '../src/lead/index.js';
import { toRow } from '../src/pipeline/admission.js';
import { createRunAnswerCache } from '../src/pipeline/answer-cache.js';
import { CrmBatchBuffer, toStageOutcome } from '../src/pipeline/crm-stage.js';
import { enrichLead, enrichmentSignal } from '../src/pipeline/enrichment-stage.js';
import type { PipelineEvents } from '../src/pipeline/events.js';
import { FinishedRows } from '../src/pipeline/finished-rows.js';
import { RunLedger } from '../src/pipeline/ledger.js';
import { TerminalWriter } from '../src/pipeline/terminal-writer.js';
import { createMemoryCache } from '../src/stores/memory-cache.js';

describe('FinishedRows', () => {
  it('asks the checkpoint once per window of rows, not once per row', async () => {
    const asked: RowWindow[] = [];
    const finished = new Set([1, 2, 5, 9, 10]);
    const rows = new FinishedRows(
      {
        finishedIn: async (window) => {
          asked.push(window);
          return [...finished].filter((row) => row >= window.from && row <= window.to);
        },
      },
      4,
    );
    const answers: boolean[] = [];
    for (let row = 1; row <= 10; row++) answers.push(await rows.has(row));
    expect(answers).toEqual([true, true, false, false, true, false, false, false, true, true]);
    expect(asked).toEqual([
      { from: 1, to: 4 },
      { from: 5, to: 8 },
      { from: 9, to: 12 },
    ]);
    // A row number out of order (a source that numbers its rows) loads the window it falls in.
    expect(await rows.has(2)).toBe(true);
    expect(asked.at(-1)).toEqual({ from: 2, to: 5 });
    expect(await rows.has(0)).toBe(false);
    expect(asked).toHaveLength(4);
  });
});

describe('createRunAnswerCache', () => {
  it('reads the primary then the attached result log, writes both, and forgets the log once detached', async () => {
    const primary = createMemoryCache({ maxEntries: 10 });
    const log = createMemoryCache({ maxEntries: 10 });
    const answers = createRunAnswerCache(primary);
    await log.set('paid-before', 'answer', 60_000);
    expect(await answers.cache.get('paid-before')).toBeUndefined();
    const detach = answers.attach(log);
    expect(await answers.cache.get('paid-before')).toBe('answer');
    await answers.cache.set('new', 'value', 60_000);
    expect(await primary.get('new')).toBe('value');
    expect(await log.get('new')).toBe('value');
    await answers.cache.delete('new');
    expect(await log.get('new')).toBeUndefined();
    detach();
    expect(await answers.cache.get('paid-before')).toBeUndefined();
    await answers.cache.set('after', 'v', 60_000);
    expect(await log.get('after')).toBeUndefined();
  });
});

function engineOf(enrich: EnrichmentEngine['enrich']): EnrichmentEngine {
  return { enrich } as EnrichmentEngine;
}

describe('enrichLead', () => {
  const lead: Lead = createLead({ email: 'ada@acme.com' });

  it('passes the fields and the signal to the engine, and returns what it found', async () => {
    const controller = new AbortController();
    const engine = engineOf(async (input, options) => {
      expect(options?.fields).toEqual(['title']);
      expect(options?.signal).toBe(controller.signal);
      return { lead: { ...input, title: 'CTO' }, status: 'enriched' } as never;
    });
    expect(await enrichLead(engine, lead, { fields: ['title'], signal: controller.signal })).toMatchObject({
      kind: 'enriched',
      status: 'enriched',
      lead: { title: 'CTO' },
    });
  });

  it('turns a throw into a failure with the error, and a throw after the abort into aborted', async () => {
    const controller = new AbortController();
    const failing = engineOf(async () => {
      throw new ApiCallError('invalid_response', { message: 'garbled' });
    });
    expect(await enrichLead(failing, lead, { fields: [], signal: controller.signal })).toEqual({
      kind: 'failed',
      error: { code: 'invalid_response', message: 'garbled', retryable: true },
    });
    controller.abort();
    expect(await enrichLead(failing, lead, { fields: [], signal: controller.signal })).toEqual({
      kind: 'aborted',
    });
  });
});

describe('enrichmentSignal', () => {
  it('follows the run signal after the grace, or at once with no grace', () => {
    vi.useFakeTimers();
    try {
      const run = new AbortController();
      const graced = enrichmentSignal(run.signal, 500);
      const immediate = enrichmentSignal(run.signal, 0);
      run.abort(new Error('stop'));
      expect(immediate.signal.aborted).toBe(true);
      expect(graced.signal.aborted).toBe(false);
      vi.advanceTimersByTime(499);
      expect(graced.signal.aborted).toBe(false);
      vi.advanceTimersByTime(1);
      expect(graced.signal.aborted).toBe(true);
      expect((graced.signal.reason as Error).message).toBe('stop');

      const other = new AbortController();
      const disposed = enrichmentSignal(other.signal, 500);
      other.abort();
      disposed.dispose();
      vi.advanceTimersByTime(1_000);
      expect(disposed.signal.aborted).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('toStageOutcome', () => {
  const written = { adapterId: 'hubspot', object: 'contacts', status: 'created', id: 'h1' } as const;
  const rejected = {
    adapterId: 'salesforce',
    object: 'Lead',
    status: 'rejected',
    issues: [{ field: 'Company', reason: 'is required' }],
  } as const;
  const deadLettered = {
    adapterId: 'salesforce',
    object: 'Lead',
    status: 'deadLettered',
    entryId: 'e1',
    error: { code: 'server_error', message: 'down', retryable: true },
  } as const;

  it('says written when every CRM took the lead', () => {
    expect(toStageOutcome({ index: 0, leadId: 'l', status: 'written', targets: [written] })).toEqual({
      kind: 'written',
    });
  });

  it('names each refusing CRM in the issues of a reject', () => {
    expect(
      toStageOutcome({ index: 0, leadId: 'l', status: 'rejected', targets: [written, rejected] }),
    ).toEqual({
      kind: 'rejected',
      issues: [{ field: 'crm.salesforce.Company', reason: 'is required' }],
    });
  });

  it('gives a dead letter one error per dead-lettering CRM, naming its entry; it wins over a reject', () => {
    expect(
      toStageOutcome({
        index: 0,
        leadId: 'l',
        status: 'deadLettered',
        targets: [rejected, deadLettered],
      }),
    ).toEqual({
      kind: 'deadLettered',
      errors: [
        {
          target: 'salesforce',
          code: 'server_error',
          message: 'salesforce/Lead: record dead-lettered (entry e1)',
          retryable: true,
        },
      ],
    });
  });
});

describe('CrmBatchBuffer', () => {
  it('takes items oldest first, and says a partial batch is due when its linger time runs out', () => {
    vi.useFakeTimers();
    try {
      let due = 0;
      const buffer = new CrmBatchBuffer<number>(100, () => {
        due += 1;
      });
      buffer.add(1);
      buffer.add(2);
      buffer.add(3);
      expect(buffer.take(2)).toEqual([1, 2]);
      expect(buffer.lingerExpired).toBe(false);
      vi.advanceTimersByTime(100);
      expect(due).toBe(1);
      expect(buffer.lingerExpired).toBe(true);
      expect(buffer.take(2)).toEqual([3]);
      expect(buffer.lingerExpired).toBe(false);
      buffer.add(4);
      expect(buffer.clear()).toEqual([4]);
      vi.advanceTimersByTime(1_000);
      expect(due).toBe(1);
      expect(buffer.length).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('TerminalWriter', () => {
  it('marks finished what ended, except skipped rows and enrichment dead letters (a resume runs those again)', async () => {
    const marked: number[] = [];
    const checkpoint = {
      markFinished: async (rows: readonly number[]) => {
        marked.push(...rows);
      },
      flush: async () => undefined,
    } as unknown as Checkpoint;
    const ledger = new RunLedger({ startedAt: 0, maxReportedRows: 10, dryRun: false, progressIntervalMs: 0 });
    let settled = 0;
    const writer = new TerminalWriter({
      output: undefined,
      rejects: undefined,
      duplicates: undefined,
      files: { output: undefined, rejects: undefined, duplicates: undefined },
      finishedBefore: { done: 0, duplicates: 0, rejected: 0, deadLettered: 0 },
      fields: [],
      ledger,
      bus: new SafeEventBus<PipelineEvents>(),
      channel: undefined,
      checkpoint,
      checkpointEvery: 100,
      now: () => 0,
      failed: () => false,
      onFailure: (error) => {
        throw error;
      },
      onSettled: () => {
        settled += 1;
      },
    });
    const lead = createLead({ email: 'ada@acme.com' });
    writer.finish({ status: 'done', rowNumber: 1, lead }, toRow({}, 1));
    writer.finish({ status: 'skipped', rowNumber: 2 }, toRow({}, 2));
    writer.finish(
      {
        status: 'deadLettered',
        rowNumber: 3,
        leadId: lead.id,
        lead,
        stage: 'enrich',
        error: { code: 'adapter_error', message: 'x', retryable: false },
      },
      toRow({}, 3),
    );
    writer.finish(
      { status: 'deadLettered', rowNumber: 4, leadId: lead.id, lead, stage: 'crm', errors: [] },
      toRow({}, 4),
    );
    writer.finish({ status: 'rejected', rowNumber: 5, stage: 'validate', issues: [] }, toRow({}, 5));
    writer.unfinished();
    await writer.idle();
    expect(marked).toEqual([1, 4, 5]);
    expect(settled).toBe(6);
    expect(ledger.counts).toMatchObject({ done: 1, skipped: 1, deadLettered: 2, rejected: 1, unfinished: 1 });
  });
});

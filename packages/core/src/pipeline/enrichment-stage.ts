import { setMaxListeners } from 'node:events';
import type { Cache } from '../contracts/cache.js';
import type { LeadField } from '../contracts/fields.js';
import type { Lead } from '../contracts/lead.js';
import {
  createEnrichmentEngine,
  type EnrichmentEngine,
  type EnrichmentEngineOptions,
  type EnrichmentStatus,
} from '../enrich/index.js';
import { createMemoryCache } from '../stores/memory-cache.js';
import { createRunAnswerCache, type RunAnswerCache } from './answer-cache.js';
import { errorInfo } from './ledger.js';
import type { PipelineEnrichmentError } from './report.js';

/** How one lead's enrichment ended, for the pipeline. */
export type EnrichmentStageOutcome =
  | {
      /** The engine answered (whatever it found). */
      readonly kind: 'enriched';
      /** The lead as enriched. */
      readonly lead: Lead;
      /** How the enrichment went. */
      readonly status: EnrichmentStatus;
    }
  | {
      /** The engine threw, for a reason other than the run's abort: the row fails in enrichment. */
      readonly kind: 'failed';
      /** What it threw, scrubbed of secrets. */
      readonly error: PipelineEnrichmentError;
    }
  | {
      /** The run was aborted while the lead was in the engine: the row is unfinished. */
      readonly kind: 'aborted';
    };

/**
 * The signal the engine runs with: it follows the run's signal `graceMs`
 * later. Calls in flight when a run is aborted get that long to answer, so
 * that what was paid for reaches the cache and the checkpoint's result log
 * (a resume does not pay for it again); a provider that hangs is cut off
 * then, so an abort never waits on it longer. Many leads listen to it at
 * once: it has no listener limit. `dispose` stops its timer.
 */
export function enrichmentSignal(
  runSignal: AbortSignal,
  graceMs: number,
): { readonly signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onAbort = (): void => {
    if (graceMs <= 0) {
      controller.abort(runSignal.reason);
      return;
    }
    // Not unref'd: a provider call that hangs on a promise alone must not let the process exit mid-run.
    timer = setTimeout(() => controller.abort(runSignal.reason), graceMs);
  };
  if (runSignal.aborted) onAbort();
  else runSignal.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    dispose() {
      runSignal.removeEventListener('abort', onAbort);
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}

/**
 * The enrichment stage: one lead through the engine, with the engine signal
 * of the run (see {@link enrichmentSignal}), so that aborting a run never
 * waits on a provider that does not answer. Never rejects: every way it
 * ends is an outcome; `aborted` when the signal fired.
 */
export async function enrichLead(
  engine: EnrichmentEngine,
  lead: Lead,
  options: { readonly fields: readonly LeadField[]; readonly signal: AbortSignal },
): Promise<EnrichmentStageOutcome> {
  try {
    const outcome = await engine.enrich(lead, { fields: options.fields, signal: options.signal });
    return { kind: 'enriched', lead: outcome.lead, status: outcome.status };
  } catch (error) {
    if (options.signal.aborted) return { kind: 'aborted' };
    return { kind: 'failed', error: errorInfo(error) };
  }
}

/** The engine a pipeline builds from its options, and the cache that layers each run's result log under its own. */
export interface PipelineEngine {
  /** The engine. */
  readonly engine: EnrichmentEngine;
  /** Where each run attaches its checkpoint's result log; absent when the engine caches nothing (`cache: false`). */
  readonly answers: RunAnswerCache | undefined;
}

/**
 * Build the pipeline's engine. Its cache is the engine options' own `cache`,
 * else `defaultCache`, else an in-memory LRU of 10,000 entries, with each
 * run's checkpoint result log layered under it (see {@link RunAnswerCache}).
 * `cache: false` in the engine options turns both off.
 */
export function createPipelineEngine(
  options: EnrichmentEngineOptions,
  defaultCache: Cache | undefined,
): PipelineEngine {
  if (options.cache === false) return { engine: createEnrichmentEngine(options), answers: undefined };
  const answers = createRunAnswerCache(
    options.cache ?? defaultCache ?? createMemoryCache({ maxEntries: 10_000 }),
  );
  return { engine: createEnrichmentEngine({ ...options, cache: answers.cache }), answers };
}

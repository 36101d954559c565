import type { Span } from '@opentelemetry/api';
import type { Clock } from '../contracts/clock.js';
import type { DeadLetterEntry, DeadLetterQueue } from '../contracts/dead-letter-queue.js';
import { ConfigurationError, LeadpipeError, ValidationError } from '../contracts/errors.js';
import type { Lead } from '../contracts/lead.js';
import type { SafeEventBus } from '../events/safe-event-bus.js';
import type { ProviderLimiter } from '../limits/index.js';
import {
  contextWithSpan,
  markSpanFailed,
  type Observer,
  startRunSpan,
  TelemetryAttributes,
} from '../telemetry/index.js';
import type { CrmSyncEventMap } from './events.js';
import type { ResolvedCrmSyncOptions, ResolvedTarget } from './options.js';
import { syncAbortedError } from './record-errors.js';
import { type CrmLeadSlot, CrmTargetRun } from './target-run.js';
import type {
  CrmLeadOutcome,
  CrmSyncReject,
  CrmSyncReport,
  CrmSyncSession,
  CrmTargetOutcome,
} from './types.js';

/** What a {@link CrmSyncRun} depends on. */
export interface CrmSyncRunContext {
  /** The checked options. */
  readonly options: ResolvedCrmSyncOptions;
  /** Where failed records go (and redelivered entries are removed from). */
  readonly queue: DeadLetterQueue;
  /** The limiter of one CRM. */
  readonly limiterOf: (target: ResolvedTarget) => ProviderLimiter;
  /** Dead-letter times and the run's duration. */
  readonly now: Clock;
  /** Where events go. */
  readonly events: SafeEventBus<CrmSyncEventMap>;
  /** Told about every rejected lead. */
  readonly onRejected: ((reject: CrmSyncReject) => void) | undefined;
  /** The caller's cancellation. */
  readonly signal: AbortSignal | undefined;
  readonly observer: Observer;
}

/**
 * One run over every configured CRM: one {@link CrmTargetRun} per CRM, a
 * shared cancellation, the input counts and the report. Sessions, `sync`
 * and `redeliver` all drive one.
 */
export class CrmSyncRun {
  readonly #ctx: CrmSyncRunContext;
  readonly #controller = new AbortController();
  readonly #runs: readonly CrmTargetRun[];
  readonly #started: number;
  /** The `leadpipe.crm.sync` span, from the run's start to its report or failure; CRM calls nest under it. */
  readonly #span: Span;
  readonly #onAbort = (): void => this.#controller.abort(this.#ctx.signal?.reason);
  #inputs = 0;
  #unmatched = 0;
  #error: { readonly error: unknown } | undefined;
  #spanEnded = false;

  /** @param ctx - the run's dependencies. A signal already aborted makes every input and the end reject. */
  constructor(ctx: CrmSyncRunContext) {
    this.#ctx = ctx;
    this.#started = ctx.now();
    this.#span = startRunSpan('leadpipe.crm.sync', {
      [TelemetryAttributes.crm]: ctx.options.targets.map((target) => target.adapter.adapterId).join(','),
    });
    const traceParent = contextWithSpan(this.#span);
    if (ctx.signal?.aborted) this.#controller.abort(ctx.signal.reason);
    else ctx.signal?.addEventListener('abort', this.#onAbort, { once: true });
    const { options } = ctx;
    this.#runs = options.targets.map(
      (target) =>
        new CrmTargetRun({
          target,
          queue: ctx.queue,
          signal: this.#controller.signal,
          limiter: () => ctx.limiterOf(target),
          backoff: options.backoff,
          concurrency: options.concurrency,
          downAfter: options.downAfter,
          now: ctx.now,
          events: ctx.events,
          onRejected: ctx.onRejected,
          observer: ctx.observer,
          traceParent,
          onFatal: (error) => {
            void this.fail(error);
          },
        }),
    );
  }

  /** The first error that ended the run, if one did. */
  get error(): unknown {
    return this.#error?.error;
  }

  /** Throw when the run was cancelled or failed. */
  throwIfStopped(): void {
    if (this.#error) throw this.#error.error;
    if (this.#controller.signal.aborted) throw syncAbortedError(this.#controller.signal);
  }

  /** Hand a lead to every CRM; one slot per CRM, in configuration order. */
  async addLead(lead: Lead): Promise<CrmLeadSlot[]> {
    this.throwIfStopped();
    this.#inputs += 1;
    const slots: CrmLeadSlot[] = [];
    for (const run of this.#runs) slots.push(await run.addLead(lead));
    return slots;
  }

  /** Hand a dead-letter entry to the CRM it belongs to; false (and counted unmatched) when none does. */
  async addEntry(entry: DeadLetterEntry): Promise<boolean> {
    this.throwIfStopped();
    this.#inputs += 1;
    const run = this.#runs.find((candidate) => candidate.matches(entry));
    if (!run) {
      this.#unmatched += 1;
      return false;
    }
    await run.addEntry(entry);
    return true;
  }

  /** Send every buffered record, waiting for batch slots. */
  async flush(): Promise<void> {
    for (const run of this.#runs) await run.flush();
  }

  /** Send what is left, wait for every batch, and report; rejects with the error that ended the run. */
  async finish(): Promise<CrmSyncReport> {
    try {
      this.throwIfStopped();
      await Promise.all(this.#runs.map((run) => run.finish()));
      this.throwIfStopped();
    } catch (error) {
      await this.fail(error);
      throw this.#error?.error ?? error;
    } finally {
      this.#ctx.signal?.removeEventListener('abort', this.#onAbort);
    }
    const report = this.report();
    this.#endSpan(report);
    return report;
  }

  /** End the run's span once, with its counts (failed, and told to the error hook, when the run failed). */
  #endSpan(report: CrmSyncReport): void {
    if (this.#spanEnded) return;
    this.#spanEnded = true;
    let written = 0;
    let deadLettered = 0;
    for (const crm of report.crms) {
      written += crm.created + crm.updated + crm.unchanged;
      deadLettered += crm.deadLettered;
    }
    this.#span.setAttributes({
      'leadpipe.sync.inputs': report.inputs,
      'leadpipe.sync.written': written,
      'leadpipe.sync.dead_lettered': deadLettered,
    });
    if (this.#error) {
      const failure = this.#error.error;
      const type = markSpanFailed(this.#span, failure);
      this.#ctx.observer.report(LeadpipeError.isInstance(failure) ? failure : syncFailure(type), {
        component: 'crm',
        code: type,
      });
    }
    this.#span.end();
  }

  /** End the run with `error` (the first one wins): cancel in-flight calls and wait for them. */
  async fail(error: unknown): Promise<void> {
    this.#error ??= { error };
    if (!this.#controller.signal.aborted) this.#controller.abort(error);
    this.#ctx.signal?.removeEventListener('abort', this.#onAbort);
    await Promise.all(this.#runs.map((run) => run.settle(this.#error?.error ?? error)));
    this.#endSpan(this.report());
  }

  /** The report so far. */
  report(): CrmSyncReport {
    return {
      inputs: this.#inputs,
      unmatched: this.#unmatched,
      durationMs: Math.max(0, this.#ctx.now() - this.#started),
      crms: this.#runs.map((run) => run.report()),
    };
  }
}

/** The summary status of a lead over every CRM: dead-lettered anywhere wins over rejected anywhere. */
/** What the error hook gets for a run that ended with something other than a leadpipe error: its type only. */
function syncFailure(type: string): Error {
  const error = new Error(`CRM sync failed (${type})`);
  error.name = 'CrmSyncError';
  return error;
}

function summariseOutcomes(targets: readonly CrmTargetOutcome[]): CrmLeadOutcome['status'] {
  if (targets.some((target) => target.status === 'deadLettered')) return 'deadLettered';
  if (targets.some((target) => target.status === 'rejected')) return 'rejected';
  return 'written';
}

function leadIdOf(lead: unknown): string {
  const id = typeof lead === 'object' && lead !== null ? (lead as { id?: unknown }).id : undefined;
  return typeof id === 'string' ? id : 'unknown';
}

function slotOutcome(slot: CrmLeadSlot): CrmTargetOutcome | Promise<CrmTargetOutcome> {
  return slot.outcome;
}

/** The session of {@link CrmSync.open}: one {@link CrmSyncRun} that lives across writes. */
export class CrmSyncSessionImpl implements CrmSyncSession {
  readonly #run: CrmSyncRun;
  readonly #writes = new Set<Promise<unknown>>();
  #closing: Promise<CrmSyncReport> | undefined;

  /** @param run - the run this session writes into. */
  constructor(run: CrmSyncRun) {
    this.#run = run;
  }

  write(leads: readonly Lead[]): Promise<readonly CrmLeadOutcome[]> {
    if (this.#closing) {
      return Promise.reject(
        new ConfigurationError('invalid_configuration', {
          issues: [{ field: 'session', reason: 'is closed: open a new session to write more leads' }],
        }),
      );
    }
    const task = this.#write(leads);
    this.#writes.add(task);
    const forget = (): void => {
      this.#writes.delete(task);
    };
    task.then(forget, forget);
    return task;
  }

  report(): CrmSyncReport {
    return this.#run.report();
  }

  close(): Promise<CrmSyncReport> {
    this.#closing ??= (async () => {
      while (this.#writes.size > 0) await Promise.allSettled([...this.#writes]);
      return this.#run.finish();
    })();
    return this.#closing;
  }

  async #write(leads: readonly Lead[]): Promise<readonly CrmLeadOutcome[]> {
    if (!Array.isArray(leads)) {
      throw new ValidationError([{ field: 'leads', reason: 'must be an array of leads' }]);
    }
    const pending: (CrmTargetOutcome | Promise<CrmTargetOutcome>)[][] = [];
    try {
      for (const lead of leads) pending.push((await this.#run.addLead(lead)).map(slotOutcome));
      await this.#run.flush();
      const settled = await Promise.all(pending.map((outcomes) => Promise.all(outcomes)));
      return settled.map((targets, index) => ({
        index,
        leadId: leadIdOf(leads[index]),
        status: summariseOutcomes(targets),
        targets,
      }));
    } catch (error) {
      await this.#run.fail(error);
      throw this.#run.error ?? error;
    }
  }
}

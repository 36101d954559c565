import { systemClock } from '../contracts/clock.js';
import { type EventLogTable, logEvents } from '../events/log-events.js';
import { SafeEventBus } from '../events/safe-event-bus.js';
import { createLimiterRegistry, type LimiterRegistry, type ProviderLimiter } from '../limits/index.js';
import { createMemoryDeadLetterQueue } from '../stores/memory-dead-letter-queue.js';
import { createObserver } from '../telemetry/index.js';
import { listCrmChanges } from './changes.js';
import { CRM_SYNC_EVENT_TYPES, type CrmSyncEventMap, emitCrmEvent } from './events.js';
import { type ResolvedTarget, resolveCrmSyncOptions } from './options.js';
import { CrmSyncRun, type CrmSyncRunContext, CrmSyncSessionImpl } from './session.js';
import type { CrmSync, CrmSyncOptions, CrmSyncRunOptions } from './types.js';

/** How CRM sync events are logged when a `logger` is given. */
const CRM_SYNC_LOG_TABLE: EventLogTable<CrmSyncEventMap> = {
  'crm.batchSent': ['debug', 'CRM batch sent'],
  'crm.batchCompleted': ['debug', 'CRM batch completed'],
  'crm.recordsRetrying': ['info', 'CRM records retrying'],
  'crm.recordRejected': ['warn', 'lead rejected by the CRM mapping', ['issues']],
  'crm.recordDeadLettered': ['warn', 'CRM records dead-lettered'],
  'crm.rateLimited': ['debug', 'CRM rate limited; waiting'],
  'crm.down': ['error', 'CRM down for the rest of the run'],
};

/**
 * Create the CRM sync engine: leads in, keyed idempotent upserts out, into
 * one or several CRMs at once.
 *
 * A run is a session (`open()`): `write(leads)` resolves to one outcome per
 * lead, `close()` to the report; `sync(leads)` is one session over an
 * iterable. Per CRM, leads are mapped (rejects never reach the CRM),
 * gathered into batches of the adapter's `maxBatchSize` with duplicate keys
 * merged (later non-empty values win), and each batch goes through the
 * CRM's limiter (which owns 429s) inside a retry loop (which owns 5xx,
 * timeouts, network errors and records failed retryably: those are sent
 * again, alone). Permanent failures, and retryable ones once retries run
 * out, go to the dead-letter queue with the vendor's raw error. Results are
 * joined to inputs by key, so adapters may answer in any order.
 *
 * Conflict policy: when a mapping has `fillEmpty` or `never` properties, the
 * engine first reads the batch's records by key (`doGet`, one extra call per
 * batch) and drops the properties that must not be written; the write is
 * still the keyed upsert, so a record can never be created twice. The
 * trade-off: a value written in the CRM between that read and the upsert can
 * be overwritten. Mappings with `overwrite` properties only never read.
 *
 * Memory is bounded by `concurrency` × `maxBatchSize` per CRM: reading the
 * input waits while a CRM has `concurrency` batches in flight.
 *
 * @example
 * ```ts
 * const crmSync = createCrmSync({ crms: [{ adapter: hubspot, mapping: contacts }] });
 * const session = crmSync.open();
 * const outcomes = await session.write(leads); // one per lead, in order
 * const report = await session.close();
 * await redrive(crmSync.deadLetters, crmSync); // later: send dead letters again
 * ```
 */
export function createCrmSync(options: CrmSyncOptions): CrmSync {
  const resolved = resolveCrmSyncOptions(options);
  const { targets } = resolved;
  const deadLetters = options.deadLetters ?? createMemoryDeadLetterQueue();
  const ownRegistry = options.limiterRegistry === undefined;
  let registry: LimiterRegistry | undefined = options.limiterRegistry;
  const now = options.now ?? systemClock;
  const events = new SafeEventBus<CrmSyncEventMap>();
  const observer = createObserver(options);
  logEvents(events, observer, CRM_SYNC_LOG_TABLE);
  const onEvent = options.onEvent;
  if (onEvent) for (const type of CRM_SYNC_EVENT_TYPES) events.on(type, onEvent);

  function limiterOf(target: ResolvedTarget): ProviderLimiter {
    if (target.limiter) return target.limiter;
    registry ??= createLimiterRegistry({
      ...options.limits,
      onEvent: (event) => {
        options.limits?.onEvent?.(event);
        if (event.type === 'rateLimited' && targets.some((item) => item.adapter.adapterId === event.id)) {
          emitCrmEvent(events, { type: 'crm.rateLimited', adapterId: event.id, waitMs: event.waitMs });
        }
      },
    });
    return registry.get(
      target.adapter.adapterId,
      target.adapter.limiterKey?.() ?? 'default',
      target.adapter.capabilities.rateLimits,
    );
  }

  function newRun(runOptions: CrmSyncRunOptions, queue = deadLetters): CrmSyncRun {
    const ctx: CrmSyncRunContext = {
      options: resolved,
      queue,
      limiterOf,
      now,
      events,
      onRejected: options.onRejected,
      signal: runOptions.signal,
      observer,
    };
    return new CrmSyncRun(ctx);
  }

  async function drive<T>(
    run: CrmSyncRun,
    inputs: AsyncIterable<T> | Iterable<T>,
    add: (input: T) => Promise<unknown>,
  ) {
    try {
      for await (const input of inputs) {
        run.throwIfStopped();
        await add(input);
      }
    } catch (error) {
      await run.fail(error);
      throw run.error ?? error;
    }
    return run.finish();
  }

  return {
    deadLetters,
    open(runOptions = {}) {
      return new CrmSyncSessionImpl(newRun(runOptions));
    },
    on(event, listener) {
      return events.on(event, listener);
    },
    sync(leads, runOptions = {}) {
      const run = newRun(runOptions);
      return drive(run, leads, (lead) => run.addLead(lead));
    },
    redeliver(entries, runOptions = {}) {
      const run = newRun(runOptions, runOptions.queue ?? deadLetters);
      return drive(run, entries, (entry) => run.addEntry(entry));
    },
    listChanges(adapterId, request, runOptions = {}) {
      return listCrmChanges(
        { targets, limiterOf, backoff: resolved.backoff },
        adapterId,
        request,
        runOptions.signal,
      );
    },
    async close() {
      if (ownRegistry && registry) await registry.disconnect();
      registry = undefined;
    },
  };
}

import { z } from 'zod';
import { type Clock, systemClock } from '../contracts/clock.js';
import type { BusEvent, EventBusV1 } from '../contracts/event-bus.js';
import type { LeadFieldChange, LeadStoreEvent, LeadStoreV1 } from '../contracts/lead-store.js';
import { parseOptions } from '../options/parse-options.js';

/** Where a relay keeps the outbox position it has published up to, so a restart resumes there. */
export interface OutboxPositionStore {
  /** The last position saved, or `undefined` to start from the beginning. */
  load(): Promise<string | undefined>;
  /** Save `position`: every event at or before it has been published. */
  save(position: string): Promise<void>;
}

/** Options of {@link createOutboxRelay}. */
export interface OutboxRelayOptions {
  /** The store whose outbox is relayed. */
  readonly store: Pick<LeadStoreV1, 'readOutbox'>;
  /** Where events are published. */
  readonly bus: Pick<EventBusV1, 'publish'>;
  /** Where the position is kept. Default: in memory (a restart publishes the outbox again; consumers deduplicate). */
  readonly position?: OutboxPositionStore;
  /** Events read and published per batch, 1 to 1,000. Default 500. */
  readonly batchSize?: number;
  /** Wait between polls when the outbox is drained, ms. Default 500. */
  readonly pollMs?: number;
  /**
   * How long after its time an event's position is trusted as final, ms.
   * Default 5,000. Outbox positions come from a sequence: a transaction can
   * take a lower position and commit after a higher one was read. The relay
   * saves its position only past events older than this, and re-reads the
   * younger ones (skipping those it already published), so a late commit
   * inside this window is still relayed.
   */
  readonly settleMs?: number;
  /** Clock (epoch ms) that event times are compared with. Default: the system clock. */
  readonly now?: Clock;
  /** Told about failures of the background loop (it retries at the next poll). */
  readonly onError?: (error: unknown) => void;
}

/** A running relay. */
export interface OutboxRelay {
  /** Publish what the outbox holds now, batch by batch, until it is drained. Resolves with the events published. */
  runOnce(): Promise<number>;
  /** Relay in the background: `runOnce`, then again every `pollMs`. */
  start(): void;
  /** Stop the background loop; resolves once the batch in progress is published. */
  stop(): Promise<void>;
}

const optionsSchema = z
  .object({
    store: z.custom<OutboxRelayOptions['store']>(
      (value) => typeof (value as { readOutbox?: unknown })?.readOutbox === 'function',
      'must be a lead store',
    ),
    bus: z.custom<OutboxRelayOptions['bus']>(
      (value) => typeof (value as { publish?: unknown })?.publish === 'function',
      'must be an event bus',
    ),
    position: z
      .custom<OutboxPositionStore>(
        (value) =>
          typeof (value as OutboxPositionStore)?.load === 'function' &&
          typeof (value as OutboxPositionStore)?.save === 'function',
        'must have load() and save()',
      )
      .optional(),
    batchSize: z.number().int().min(1).max(1000).default(500),
    pollMs: z.number().int().min(1).default(500),
    settleMs: z.number().int().min(0).default(5000),
    now: z.custom<Clock>((value) => typeof value === 'function', 'must be a function').optional(),
    onError: z
      .custom<(error: unknown) => void>((value) => typeof value === 'function', 'must be a function')
      .optional(),
  })
  .strict();

/** The payload of a lead outbox event on the bus. */
export interface OutboxEventPayload {
  /** Id of the lead created or updated; read the lead itself from the store. */
  readonly leadId: string;
  /**
   * `lead.updated`: the fields the update changed, each with its value
   * before (the outbox entry's `changes`), so a consumer rebuilds the lead
   * as it was: the stored lead with these fields set back. Only the changed
   * fields travel, but their old values can be personal data (a previous
   * title, phone or name): a bus that keeps messages keeps them too. Absent
   * on `lead.created` and on entries the store wrote without it (what changed
   * is then unknown).
   */
  readonly changes?: readonly LeadFieldChange[];
}

/** The bus event of an outbox entry: its id is derived from the position, so a republished entry keeps it. */
export function outboxBusEvent(event: LeadStoreEvent): BusEvent<OutboxEventPayload> {
  return {
    id: `lead-outbox-${event.position}`,
    type: event.type,
    occurredAt: event.at,
    payload: {
      leadId: event.leadId,
      ...(event.type === 'lead.updated' && Array.isArray(event.changes) ? { changes: event.changes } : {}),
    },
  };
}

/** An {@link OutboxPositionStore} in memory. */
export function createMemoryOutboxPosition(initial?: string): OutboxPositionStore {
  let position = initial;
  return {
    async load() {
      return position;
    },
    async save(next) {
      position = next;
    },
  };
}

/**
 * Relays a lead store's outbox (`lead.created`, `lead.updated` with the
 * fields it changed and their values before, written in the same
 * transaction as the change) to an event bus: the transactional outbox
 * pattern. Each entry is published as a {@link BusEvent} whose id
 * derives from its position, after the bus confirmed the batch the position
 * is saved; so a crash between the two publishes the batch again, with the
 * same ids, and consumers deduplicate by id (at least once, never lost).
 *
 * @example
 * ```ts
 * const relay = createOutboxRelay({ store: leads, bus });
 * relay.start();
 * // ... on shutdown
 * await relay.stop();
 * ```
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const checked = parseOptions(optionsSchema, options, { name: 'createOutboxRelay' });
  const position = checked.position ?? createMemoryOutboxPosition();
  const now = checked.now ?? systemClock;
  // Ids published past the saved position (not yet settled), so a re-read does not publish them again.
  const unsettled = new Set<string>();
  let running: Promise<number> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let started = false;

  const drain = async (): Promise<number> => {
    let published = 0;
    let from = await position.load();
    for (;;) {
      const events = await checked.store.readOutbox({
        ...(from === undefined ? {} : { after: from }),
        limit: checked.batchSize,
      });
      if (events.length === 0) return published;
      const fresh = events.map(outboxBusEvent).filter((event) => !unsettled.has(event.id));
      if (fresh.length > 0) await checked.bus.publish(fresh);
      published += fresh.length;
      for (const event of fresh) unsettled.add(event.id);
      // Advance the saved position over the settled prefix only.
      const settledBefore = now() - checked.settleMs;
      let settled: string | undefined;
      for (const event of events) {
        if (Date.parse(event.at) > settledBefore) break;
        settled = event.position;
      }
      if (settled !== undefined) {
        await position.save(settled);
        for (const event of events) {
          unsettled.delete(`lead-outbox-${event.position}`);
          if (event.position === settled) break;
        }
        from = settled;
      }
      if (events.length < checked.batchSize) return published;
      // A full batch that settled nothing: read on past it (its ids are remembered), or this loop never ends.
      if (settled === undefined) from = events[events.length - 1]!.position;
    }
  };

  const runOnce = (): Promise<number> => {
    running ??= drain().finally(() => {
      running = undefined;
    });
    return running;
  };

  const loop = (): void => {
    if (!started) return;
    runOnce()
      .catch((error: unknown) => {
        try {
          checked.onError?.(error);
        } catch {
          // An observer that throws changes nothing.
        }
      })
      .finally(() => {
        if (started) timer = setTimeout(loop, checked.pollMs);
      });
  };

  return {
    runOnce,
    start() {
      if (started) return;
      started = true;
      loop();
    },
    async stop() {
      started = false;
      if (timer !== undefined) clearTimeout(timer);
      await running?.catch(() => 0);
    },
  };
}

import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import type { BusHandler } from '../contracts/event-bus.js';
import { parseOptions } from '../options/parse-options.js';

/** Options of {@link deduplicateEvents}. */
export interface DeduplicateEventsOptions {
  /** Event ids remembered, most recent first. Default 100,000. */
  readonly max?: number;
  /** How long an id is remembered, ms. Default 72 hours. */
  readonly ttlMs?: number;
}

const optionsSchema = z
  .object({
    max: z.number().int().min(1).optional(),
    ttlMs: z.number().int().min(1).optional(),
  })
  .strict();

/** A bus handler that handles each event id once, with counts of what it did. */
export interface DeduplicatedHandler extends BusHandler {
  /** Events the wrapped handler ran to success. */
  readonly handled: () => number;
  /** Copies skipped: redeliveries of finished events and copies that arrived while the first ran. */
  readonly duplicates: () => number;
}

/**
 * Wraps a bus handler so each event id is handled once by this process:
 * a redelivery of an event the handler already finished is acknowledged
 * without running it again, and a copy that arrives while the first is
 * still running waits for it (and fails with it, so the broker redelivers).
 * An id is remembered only once the handler succeeded: a failed event is
 * handled again on redelivery, so nothing is lost. The memory is an LRU
 * (`max`, `ttlMs`); across processes, make the handler's effect idempotent
 * (an upsert key, a unique row) as well.
 *
 * @param handler - the consumer.
 * @param options - see {@link DeduplicateEventsOptions}.
 * @returns the wrapped handler, with `handled` counting events run and `duplicates` those skipped.
 */
export function deduplicateEvents(
  handler: BusHandler,
  options: DeduplicateEventsOptions = {},
): DeduplicatedHandler {
  const checked = parseOptions(optionsSchema, options, { name: 'deduplicateEvents' });
  const done = new LRUCache<string, true>({
    max: checked.max ?? 100_000,
    ttl: checked.ttlMs ?? 72 * 3_600_000,
  });
  const running = new Map<string, Promise<void>>();
  let handled = 0;
  let duplicates = 0;
  const wrapped = async (...args: Parameters<BusHandler>): Promise<void> => {
    const [event] = args;
    if (done.has(event.id)) {
      duplicates += 1;
      return;
    }
    const inFlight = running.get(event.id);
    if (inFlight !== undefined) {
      duplicates += 1;
      return inFlight;
    }
    const run = (async () => handler(...args))();
    running.set(event.id, run);
    try {
      await run;
      handled += 1;
      done.set(event.id, true);
    } finally {
      running.delete(event.id);
    }
  };
  return Object.assign(wrapped, { handled: () => handled, duplicates: () => duplicates });
}

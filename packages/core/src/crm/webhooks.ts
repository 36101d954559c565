import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import type { CrmAdapterV1, CrmEvent } from '../contracts/crm-adapter.js';
import type { CrmEventDeduper } from '../contracts/crm-event-deduper.js';
import { ConfigurationError, WebhookVerificationError } from '../contracts/errors.js';
import type { InboundWebhookRequest } from '../contracts/webhook.js';
import { parseOptions } from '../options/parse-options.js';
import { assertWebhookBodySize, DEFAULT_WEBHOOK_MAX_BODY_BYTES } from '../webhooks/raw-body.js';

const deduperOptionsSchema = z
  .object({
    max: z
      .number({ error: 'must be a positive integer' })
      .int({ error: 'must be a positive integer' })
      .min(1, { error: 'must be a positive integer' })
      .optional(),
    ttlMs: z
      .number({ error: 'must be a positive number' })
      .positive({ error: 'must be a positive number' })
      .refine(Number.isFinite, { error: 'must be a positive number' })
      .optional(),
  })
  .strict();

const parseWebhookOptionsSchema = z
  .object({
    deduper: z
      .custom<CrmEventDeduper>((value) => typeof (value as { seen?: unknown } | null)?.seen === 'function', {
        error: 'must be a CrmEventDeduper (with seen())',
      })
      .optional(),
    maxBodyBytes: z
      .number({ error: 'must be a whole number of bytes, at least 1' })
      .int({ error: 'must be a whole number of bytes, at least 1' })
      .min(1, { error: 'must be a whole number of bytes, at least 1' })
      .optional(),
  })
  .strict();

export type { CrmEventDeduper } from '../contracts/crm-event-deduper.js';

/** Options of {@link createCrmEventDeduper}. */
export interface CrmEventDeduperOptions {
  /** Most event ids remembered; the oldest are forgotten first. Default 10 000. */
  readonly max?: number;
  /** How long an id is remembered, in ms. Default 72 hours, the longest vendor replay window. */
  readonly ttlMs?: number;
}

/**
 * An in-memory {@link CrmEventDeduper} (an LRU). It only knows the events
 * this process saw; behind a load balancer, implement the interface on a
 * shared store (Redis `SET NX` with a TTL).
 */
export function createCrmEventDeduper(options: CrmEventDeduperOptions = {}): CrmEventDeduper {
  const checked = parseOptions(deduperOptionsSchema, options, { name: 'createCrmEventDeduper' });
  const max = checked.max ?? 10_000;
  const ttl = checked.ttlMs ?? 72 * 60 * 60 * 1000;
  const cache = new LRUCache<string, true>({ max, ttl });
  return {
    seen(adapterId, eventId) {
      const key = `${adapterId}\u0000${eventId}`;
      if (cache.has(key)) return true;
      cache.set(key, true);
      return false;
    },
  };
}

const eventSchema = z.object({
  eventId: z.string().min(1),
  type: z.enum(['record.created', 'record.updated', 'record.deleted', 'record.merged', 'record.restored']),
  object: z.string().min(1),
  recordId: z.string().min(1),
  occurredAt: z.iso.datetime({ offset: true }),
  properties: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).nullable()).optional(),
  changeSource: z.string().optional(),
  raw: z.unknown().optional(),
});

/** Options of {@link parseCrmWebhook}. */
export interface ParseCrmWebhookOptions {
  /** Drops events already seen (redeliveries). Default: only duplicates within this delivery are dropped. */
  readonly deduper?: CrmEventDeduper;
  /**
   * Largest body handed to the adapter, in bytes; a larger one is refused
   * (`payload_too_large`, answer 413) before the adapter parses it. Default
   * 1 MiB (`DEFAULT_WEBHOOK_MAX_BODY_BYTES`). The adapter's own cap applies too.
   */
  readonly maxBodyBytes?: number;
}

/**
 * Verify and parse an inbound CRM webhook through its adapter, then make the
 * events safe to apply: each is checked, duplicates (by event id) are
 * dropped, and the rest are sorted by `occurredAt`, since vendors deliver
 * out of order. Rejects with the adapter's `WebhookVerificationError` when
 * the signature is wrong (answer 401), with code `payload_too_large` (answer
 * 413) when the body is over `maxBodyBytes`, or with code `payload_invalid`
 * when the adapter produced an event that is not a valid {@link CrmEvent}.
 */
export async function parseCrmWebhook(
  adapter: CrmAdapterV1,
  request: InboundWebhookRequest,
  options: ParseCrmWebhookOptions = {},
): Promise<CrmEvent[]> {
  if (!adapter.doParseWebhook) {
    throw new ConfigurationError('invalid_configuration', {
      message: `CRM adapter "${adapter.adapterId}" does not parse webhooks (capabilities.webhooks is false)`,
      providerId: adapter.adapterId,
    });
  }
  const checked = parseOptions(parseWebhookOptionsSchema, options, {
    name: 'parseCrmWebhook',
    providerId: adapter.adapterId,
  });
  const maxBodyBytes = checked.maxBodyBytes ?? DEFAULT_WEBHOOK_MAX_BODY_BYTES;
  assertWebhookBodySize(request.rawBody, maxBodyBytes, adapter.adapterId);
  const events = await adapter.doParseWebhook(request);
  if (!Array.isArray(events)) {
    throw new WebhookVerificationError('payload_invalid', {
      message: `${adapter.adapterId}: doParseWebhook must resolve with an array of events`,
      providerId: adapter.adapterId,
    });
  }
  const parsedEvents = events.map((candidate: unknown, index) => {
    const parsed = eventSchema.safeParse(candidate);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new WebhookVerificationError('payload_invalid', {
        message: `${adapter.adapterId}: event ${index}: ${issue?.path.join('.') || 'event'}: ${issue?.message ?? 'invalid'}`,
        providerId: adapter.adapterId,
      });
    }
    return parsed.data;
  });
  // Only a delivery that parsed whole marks its events as seen.
  const inDelivery = new Set<string>();
  const kept: { event: CrmEvent; at: number; index: number }[] = [];
  parsedEvents.forEach((event, index) => {
    if (inDelivery.has(event.eventId)) return;
    inDelivery.add(event.eventId);
    if (options.deduper?.seen(adapter.adapterId, event.eventId)) return;
    kept.push({ event, at: Date.parse(event.occurredAt), index });
  });
  kept.sort((a, b) => a.at - b.at || a.index - b.index);
  return kept.map((item) => item.event);
}

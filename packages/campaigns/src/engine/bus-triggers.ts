import {
  type BusEvent,
  type BusSubscriptionHandle,
  type CampaignJsonValue,
  ConfigurationError,
  type DeduplicateEventsOptions,
  deduplicateEvents,
  type EmailEvent,
  type EventBusV1,
  type LeadFieldChange,
  type LeadStoreRecord,
  type LeadStoreV1,
} from '@leadpipe/core';
import type { CampaignEngine, CampaignLeadEvent } from './engine.js';

/** Options of {@link subscribeCampaignTriggers}. */
export interface CampaignTriggerSubscriptionOptions {
  /** The lead store the engine reads: bus events carry lead ids, the lead is read from here. */
  readonly leads: Pick<LeadStoreV1, 'get'>;
  /** The durable consumer name (one queue shared by every subscriber of the name). Default `campaign-triggers`. */
  readonly name?: string;
  /** Event types to consume, as bus topic patterns. Default `['#']` (everything). */
  readonly types?: readonly string[];
  /** Events handled at once. Default 16. */
  readonly concurrency?: number;
  /** Deliveries of one event before the bus dead-letters it. Default 5. */
  readonly maxDeliveries?: number;
  /** The in-process memory of handled event ids (redeliveries are acknowledged without running again). */
  readonly deduplicate?: DeduplicateEventsOptions;
  /** Told about an event that names no lead (or a lead no longer stored): it is acknowledged and skipped. */
  readonly onSkipped?: (event: BusEvent, reason: string) => void;
}

/** A running campaign trigger subscription. */
export interface CampaignTriggerSubscription extends BusSubscriptionHandle {
  /** Events fed to the engine. */
  readonly handled: () => number;
  /** Redeliveries and copies skipped because their id was already handled. */
  readonly duplicates: () => number;
}

/** Lead event types the engine takes with the lead itself. */
const LEAD_EVENTS = new Set<string>(['lead.created', 'lead.updated', 'lead.enriched', 'crm.synced']);

/** Email event types carried as `email.<type>`. */
const EMAIL_TYPES = new Set<string>([
  'processed',
  'delivered',
  'deferred',
  'bounced',
  'dropped',
  'opened',
  'clicked',
  'complained',
  'unsubscribed',
  'replied',
]);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A lead snapshot a payload carried (`before` / `after`), when it is one. */
const leadIn = (value: unknown, id: string): LeadStoreRecord | undefined =>
  isRecord(value) && value.id === id ? (value as unknown as LeadStoreRecord) : undefined;

/** The changes an outbox `lead.updated` carried (`[{ field, before? }]`), when the payload holds a list of them. */
const changesIn = (value: unknown): readonly LeadFieldChange[] | undefined =>
  Array.isArray(value) &&
  value.every((change) => isRecord(change) && typeof change.field === 'string' && change.field !== '')
    ? (value as LeadFieldChange[])
    : undefined;

/** Path segments never written into a rebuilt lead (they would reach the prototype). */
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * The lead as it was before an update: the stored lead with each changed field set back to its value before (removed
 * when it had none). A path is a top-level field (`title`) or a field of one (`company.headcount`, `custom.<name>`:
 * everything after the first dot). Only the objects on a changed path are copied; the stored lead is not changed.
 */
function leadBefore(lead: LeadStoreRecord, changes: readonly LeadFieldChange[]): LeadStoreRecord {
  const previous: Record<string, unknown> = { ...lead };
  for (const change of changes) {
    const dot = change.field.indexOf('.');
    const head = dot === -1 ? change.field : change.field.slice(0, dot);
    const key = dot === -1 ? undefined : change.field.slice(dot + 1);
    if (head === 'id' || UNSAFE_KEYS.has(head) || (key !== undefined && UNSAFE_KEYS.has(key))) continue;
    if (key === undefined) {
      if (change.before === undefined) delete previous[head];
      else previous[head] = change.before;
      continue;
    }
    const parent: Record<string, unknown> = isRecord(previous[head]) ? { ...previous[head] } : {};
    if (change.before === undefined) delete parent[key];
    else parent[key] = change.before;
    if (Object.keys(parent).length === 0) delete previous[head];
    else previous[head] = parent;
  }
  return previous as unknown as LeadStoreRecord;
}

/**
 * Feeds a campaign engine from an event bus: lead events (`lead.created`,
 * `lead.updated`, `lead.enriched`, `crm.synced`: payload `{ leadId, before?,
 * after?, changes?, ...data }`; the lead store's outbox relay publishes
 * `{ leadId, changes? }`), email
 * events (`email.<type>`: payload an `EmailEvent`, as a webhook consumer
 * publishes them) and custom events (any other type: payload `{ leadId,
 * ...data }`). Each event id is handled once per process (core's
 * `deduplicateEvents`), and the engine stores events by id, so a redelivery
 * never enrolls, exits or wakes twice; an enrollment is unique per (campaign,
 * lead) besides. A handler error (the store down) rejects, so the bus
 * delivers the event again.
 *
 * Condition triggers (`company.headcount >= 200`) and field-change triggers
 * compare the lead before the event with the lead as stored now. The lead
 * before is the payload's `before` (a whole lead with the same id), or else
 * the stored lead with the fields of `changes` (an outbox `lead.updated`:
 * `[{ field, before? }]`, each changed field with its value before) set back.
 * So a crossing enrolls once, an update that stays above does not, and a
 * changed field fires its trigger. The lead is read when the event is
 * handled: a later update of other fields is already in it (each update's own
 * event reports those), and a field changed twice before the first event is
 * handled compares its first value before with the latest one. A lead event
 * with neither (an outbox row written before the store recorded changes)
 * cannot show a crossing: its condition triggers enroll when the condition
 * holds now (once per campaign), and field-change triggers do not fire.
 * `changes` of a lead event is never stored as event data.
 *
 * @example
 * ```ts
 * const subscription = await subscribeCampaignTriggers(engine, bus, { leads });
 * createOutboxRelay({ store: leads, bus }).start();
 * // ... on shutdown
 * await subscription.close();
 * ```
 *
 * @param engine - the campaign engine.
 * @param bus - the event bus.
 * @param options - the lead store and subscription settings.
 */
export async function subscribeCampaignTriggers(
  engine: Pick<CampaignEngine, 'handleLeadEvent' | 'publish' | 'ingestEmailEvents'>,
  bus: Pick<EventBusV1, 'subscribe'>,
  options: CampaignTriggerSubscriptionOptions,
): Promise<CampaignTriggerSubscription> {
  if (typeof options?.leads?.get !== 'function')
    throw new ConfigurationError('invalid_configuration', {
      issues: [{ field: 'leads', reason: 'is required: bus events carry lead ids' }],
    });
  const skip = (event: BusEvent, reason: string) => {
    try {
      options.onSkipped?.(event, reason);
    } catch {
      // Observers never change an outcome.
    }
  };
  const handler = deduplicateEvents(async (event) => {
    const payload = isRecord(event.payload) ? event.payload : {};
    const at = Date.parse(event.occurredAt);
    const when = Number.isFinite(at) ? { at } : {};
    if (event.type.startsWith('email.') && EMAIL_TYPES.has(event.type.slice('email.'.length))) {
      if (typeof payload.email !== 'string') return skip(event, 'an email event without an email address');
      await engine.ingestEmailEvents([
        {
          ...(payload as Partial<EmailEvent>),
          eventId: typeof payload.eventId === 'string' ? payload.eventId : event.id,
          type: event.type.slice('email.'.length) as EmailEvent['type'],
          email: payload.email.toLowerCase(),
          occurredAt: typeof payload.occurredAt === 'string' ? payload.occurredAt : event.occurredAt,
        },
      ]);
      return;
    }
    const { leadId, before, after: _after, ...rest } = payload;
    if (typeof leadId !== 'string' || leadId === '') return skip(event, 'no leadId in the payload');
    const data = rest as Record<string, CampaignJsonValue>;
    const hasData = Object.keys(data).length > 0;
    if (LEAD_EVENTS.has(event.type)) {
      const lead = await options.leads.get(leadId);
      if (lead === undefined) return skip(event, 'the lead is not stored');
      const { changes, ...leadData } = data;
      const changed = changesIn(changes);
      const previous =
        leadIn(before, leadId) ?? (changed === undefined ? undefined : leadBefore(lead, changed));
      const leadEvent: CampaignLeadEvent = {
        type: event.type as CampaignLeadEvent['type'],
        lead,
        id: event.id,
        ...when,
        ...(Object.keys(leadData).length > 0 ? { data: leadData } : {}),
        ...(previous === undefined ? {} : { previous }),
        ...(previous === undefined && event.type !== 'lead.created' ? { previousUnknown: true } : {}),
      };
      await engine.handleLeadEvent(leadEvent);
      return;
    }
    await engine.publish({ id: event.id, type: event.type, leadId, ...when, ...(hasData ? { data } : {}) });
  }, options.deduplicate);
  const handle = await bus.subscribe({
    name: options.name ?? 'campaign-triggers',
    types: options.types ?? ['#'],
    handler,
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.maxDeliveries === undefined ? {} : { maxDeliveries: options.maxDeliveries }),
  });
  return {
    name: handle.name,
    close: () => handle.close(),
    handled: handler.handled,
    duplicates: handler.duplicates,
  };
}

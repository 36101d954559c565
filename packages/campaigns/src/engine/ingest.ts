import type { CampaignJsonValue, CampaignSuppression, EmailEvent } from '@leadpipe/core';
import { base, type EngineContext, emitExits, exitMap, SUPPRESSING, wakeNow } from './context.js';
import type { CampaignCustomEvent, CampaignLeadEvent } from './engine.js';
import { enrollOnChange, enrollOnEvent, hasEventTrigger, wakeWaiters } from './enrollment.js';
import {
  confirmationPage,
  type UnsubscribeRequest,
  type UnsubscribeResponse,
  unsubscribePage,
  verifyUnsubscribeToken,
} from './unsubscribe.js';

/** What an email event's match reads (ids and the bounce kind; no address, no vendor text). */
const emailEventData = (event: EmailEvent): Record<string, CampaignJsonValue> => ({
  ...(event.ledgerKey === undefined ? {} : { ledgerKey: event.ledgerKey }),
  ...(event.messageId === undefined ? {} : { messageId: event.messageId }),
  ...(event.bounce === undefined ? {} : { bounce: event.bounce }),
});

/** A lead event: stored (duplicates ignored), exits applied, waits woken, event and condition triggers evaluated. */
export async function ingestLeadEvent(context: EngineContext, event: CampaignLeadEvent): Promise<void> {
  const { store, now } = context;
  const at = event.at ?? now();
  const recorded = await store.recordEvent(
    {
      id: event.id ?? `${event.type}-${event.lead.id}-${event.lead.updatedAt ?? at}`,
      type: event.type,
      leadId: event.lead.id,
      at,
      ...(event.data === undefined ? {} : { data: event.data }),
    },
    { exit: exitMap(context, event.type, event.data) },
  );
  if (!recorded.recorded) return;
  emitExits(context, recorded.exited);
  await wakeWaiters(context, event.lead.id, event.type);
  await enrollOnEvent(context, event.type, event.lead, event.data);
  await enrollOnChange(context, event.type, event.lead, event.previous, event.previousUnknown === true);
}

/** A custom event: stored (duplicates ignored), exits applied, waits woken, event triggers evaluated. */
export async function ingestCustomEvent(context: EngineContext, event: CampaignCustomEvent): Promise<void> {
  const { store, leads, now } = context;
  const recorded = await store.recordEvent(
    {
      id: event.id,
      type: event.type,
      leadId: event.leadId,
      at: event.at ?? now(),
      ...(event.data === undefined ? {} : { data: event.data }),
    },
    { exit: exitMap(context, event.type, event.data) },
  );
  if (!recorded.recorded) return;
  emitExits(context, recorded.exited);
  await wakeWaiters(context, event.leadId, event.type);
  if (hasEventTrigger(context, event.type)) {
    const lead = await leads.get(event.leadId);
    if (lead !== undefined) await enrollOnEvent(context, event.type, lead, event.data);
  }
}

/**
 * Verified email events: settle claimed sends by ledger key, store them as `email.<type>` events, apply exits,
 * suppress hard bounces, complaints and unsubscribes.
 */
export async function ingestEmailEvents(
  context: EngineContext,
  emailEvents: readonly EmailEvent[],
): Promise<void> {
  const { store, leads, events, now } = context;
  for (const event of emailEvents) {
    const send = event.ledgerKey === undefined ? undefined : await store.getSend(event.ledgerKey);
    if (send?.status === 'claimed' && event.type !== 'deferred') {
      // Any event of the message proves the provider accepted it: the claim was sent, never send it again.
      const messageId = event.messageId ?? `reconciled-${event.eventId}`;
      if (
        await store.resolveClaim(send.ledgerKey, {
          sent: true,
          messageId,
          at: Date.parse(event.occurredAt) || now(),
        })
      ) {
        const enrollment = await store.getEnrollment(send.enrollmentId);
        if (enrollment !== undefined) {
          events.emit('send.reconciled', {
            ...base(enrollment),
            stepId: send.stepId,
            ledgerKey: send.ledgerKey,
            messageId,
          });
          if (enrollment.status === 'active' && enrollment.stepId === send.stepId)
            await wakeNow(context, enrollment);
        }
      }
    }
    const leadId = send?.leadId ?? (await leads.getByEmail(event.email))?.id;
    if (leadId === undefined) {
      // No lead to attach it to: still honour what stops mail to the address.
      const reason = SUPPRESSING[`email.${event.type}`];
      if (reason !== undefined && (event.type !== 'bounced' || event.bounce !== 'soft'))
        await store.suppress({ email: event.email, reason, source: 'email-events', at: now() });
      continue;
    }
    const type =
      event.type === 'bounced' && event.bounce === 'soft' ? 'email.softBounced' : `email.${event.type}`;
    const reason = SUPPRESSING[type];
    const data = emailEventData(event);
    const recorded = await store.recordEvent(
      {
        id: `email-${event.eventId}`,
        type,
        leadId,
        at: Date.parse(event.occurredAt) || now(),
        ...(event.ledgerKey === undefined ? {} : { ledgerKey: event.ledgerKey }),
        data,
      },
      {
        exit: exitMap(context, type, data),
        ...(reason === undefined
          ? {}
          : { suppress: { email: event.email, reason, source: 'email-events', at: now() } }),
      },
    );
    if (!recorded.recorded) continue;
    emitExits(context, recorded.exited);
    await wakeWaiters(context, leadId, type);
    const lead = hasEventTrigger(context, type) ? await leads.get(leadId) : undefined;
    if (lead !== undefined) await enrollOnEvent(context, type, lead, data);
  }
}

/** The unsubscribe endpoint: GET shows a confirmation page, POST (one-click, RFC 8058) unsubscribes at once. */
export async function handleUnsubscribe(
  context: EngineContext,
  request: UnsubscribeRequest,
): Promise<UnsubscribeResponse> {
  const { options, store, leads, now } = context;
  if (options.unsubscribe === undefined)
    return unsubscribePage(404, 'Not found', '<p>Unsubscribing is not set up.</p>');
  let url: URL;
  try {
    url = new URL(request.url, options.unsubscribe.baseUrl);
  } catch {
    return unsubscribePage(400, 'Invalid link', '<p>This unsubscribe link is not valid.</p>');
  }
  const claims = verifyUnsubscribeToken(url.searchParams.get('token') ?? '', options.unsubscribe.secret);
  if (claims === undefined)
    return unsubscribePage(400, 'Invalid link', '<p>This unsubscribe link is not valid.</p>');
  const method = request.method.toUpperCase();
  if (method === 'GET' || method === 'HEAD') return confirmationPage(url.toString(), claims.email);
  if (method !== 'POST')
    return { ...unsubscribePage(405, 'Method not allowed', ''), headers: { allow: 'GET, POST' } };
  const at = now();
  const suppression: CampaignSuppression = {
    email: claims.email,
    reason: 'unsubscribed',
    source: 'unsubscribe-link',
    at,
  };
  // Effective at once: the suppression is stored before the answer, and every later claim checks it.
  await store.suppress(suppression);
  const send = claims.ledgerKey === undefined ? undefined : await store.getSend(claims.ledgerKey);
  const leadId = send?.leadId ?? (await leads.getByEmail(claims.email))?.id;
  if (leadId !== undefined) {
    const recorded = await store.recordEvent(
      {
        id: `unsubscribe-${claims.email}`,
        type: 'email.unsubscribed',
        leadId,
        at,
        ...(claims.ledgerKey === undefined ? {} : { ledgerKey: claims.ledgerKey }),
      },
      { exit: exitMap(context, 'email.unsubscribed'), suppress: suppression },
    );
    emitExits(context, recorded.exited);
  }
  return unsubscribePage(200, 'Unsubscribed', '<p>You will not receive these emails any more.</p>');
}

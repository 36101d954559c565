import { createHash } from 'node:crypto';
import {
  type BusEvent,
  type CrmAdapterV1,
  type EmailProviderV1,
  type EnrichmentProviderV1,
  type InboundWebhookRequest,
  redactValue,
  type WebhookResponse,
} from '@leadpipe/core';
import { rawBodyToBuffer } from '@leadpipe/core/adapter-kit';

/**
 * One vendor's webhook endpoint, `POST /webhooks/<id>`: verifies a delivery
 * (signature over the raw body, timestamp) before reading it, and turns it
 * into bus events. Build one from an adapter with {@link crmWebhookReceiver},
 * {@link emailWebhookReceiver} or {@link providerWebhookReceiver}.
 */
export interface WebhookReceiver {
  /** The vendor id, the last part of the route: `hubspot`, `sendgrid`. */
  readonly id: string;
  /**
   * Verify and read one delivery. Rejects with a `WebhookVerificationError`
   * when it is not authentic (answered 401), too large (413) or unreadable (400).
   * Event ids must be stable across redeliveries: the server deduplicates by them.
   */
  receive(request: InboundWebhookRequest): Promise<readonly BusEvent[]>;
  /**
   * The answer once its events are on the bus (`true`), or when they could
   * not be published (`false`, the vendor should deliver again). Default: 200
   * with `{"received":n,"published":m}`, or a 503 problem.
   */
  respond?(request: InboundWebhookRequest, published: boolean): WebhookResponse | undefined;
}

const now = () => new Date().toISOString();

/** Receive a CRM's change webhooks through `adapter.doParseWebhook`: events `crm.record.<change>`. */
export function crmWebhookReceiver(
  adapter: CrmAdapterV1,
  respond?: WebhookReceiver['respond'],
): WebhookReceiver {
  const parse = adapter.doParseWebhook?.bind(adapter);
  if (parse === undefined) throw new TypeError(`CRM adapter "${adapter.adapterId}" does not parse webhooks`);
  return {
    id: adapter.adapterId,
    async receive(request) {
      const events = await parse(request);
      return events.map((event) => ({
        id: `${adapter.adapterId}:${event.eventId}`,
        type: `crm.${event.type}`,
        occurredAt: event.occurredAt,
        payload: redactValue({
          crm: adapter.adapterId,
          eventId: event.eventId,
          object: event.object,
          recordId: event.recordId,
          ...(event.properties === undefined ? {} : { properties: event.properties }),
          ...(event.changeSource === undefined ? {} : { changeSource: event.changeSource }),
        }),
      }));
    },
    ...(respond === undefined ? {} : { respond }),
  };
}

/** Receive an email vendor's event webhook through `provider.doParseEvents`: events `email.<type>`. */
export function emailWebhookReceiver(provider: EmailProviderV1): WebhookReceiver {
  const parse = provider.doParseEvents?.bind(provider);
  if (parse === undefined)
    throw new TypeError(`email provider "${provider.providerId}" does not parse events`);
  return {
    id: provider.providerId,
    async receive(request) {
      const events = await parse(request);
      return events.map((event) => {
        const { raw: _raw, ...rest } = event;
        return {
          id: `${provider.providerId}:${event.eventId}`,
          type: `email.${event.type}`,
          occurredAt: event.occurredAt,
          payload: redactValue({ provider: provider.providerId, ...rest }),
        };
      });
    },
  };
}

/**
 * Receive an enrichment provider's asynchronous answers through
 * `provider.doHandleWebhook`: events `enrichment.answered`, one per answer,
 * identified by the correlation id and the delivery's SHA-256 (a redelivery
 * of the same body is a duplicate).
 */
export function providerWebhookReceiver(provider: EnrichmentProviderV1): WebhookReceiver {
  const handle = provider.doHandleWebhook?.bind(provider);
  if (handle === undefined) throw new TypeError(`provider "${provider.providerId}" takes no webhooks`);
  return {
    id: provider.providerId,
    async receive(request) {
      const resolutions = await handle(request);
      const digest = createHash('sha256')
        .update(rawBodyToBuffer(request.rawBody, provider.providerId))
        .digest('hex')
        .slice(0, 32);
      const at = now();
      return resolutions.map((resolution) => ({
        id: `${provider.providerId}:${resolution.correlationId}:${digest}`,
        type: 'enrichment.answered',
        occurredAt: at,
        payload: redactValue({
          provider: provider.providerId,
          correlationId: resolution.correlationId,
          result: resolution.result,
        }),
      }));
    },
  };
}

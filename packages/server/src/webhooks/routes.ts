import { type EventBusV1, type InboundWebhookRequest, WebhookVerificationError } from '@leadpipe/core';
import type { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ServerLogger } from '../logger.js';
import type { ServerMetrics } from '../metrics.js';
import { problem, problemResponse } from '../problem.js';
import type { WebhookDeduper } from './deduper.js';
import type { WebhookReceiver } from './receivers.js';

/** What the webhook routes need from the server. */
export interface WebhookRouteContext {
  readonly receivers: readonly WebhookReceiver[];
  readonly bus: EventBusV1;
  readonly deduper: WebhookDeduper;
  readonly maxBodyBytes: number;
  readonly logger: ServerLogger;
  readonly metrics: ServerMetrics;
  readonly reportError: (error: unknown, route: string, method: string) => void;
}

const ROUTE = '/webhooks/:vendor';

function statusOf(error: WebhookVerificationError): number {
  if (error.code === 'payload_too_large') return 413;
  if (error.code === 'payload_invalid') return 400;
  return 401;
}

/**
 * `POST /webhooks/:vendor`: the body is read raw, at most `maxBodyBytes`
 * (413 above, before anything reads it), verified by the vendor's adapter
 * before it is parsed (401 when forged, stale or unsigned), each event id
 * claimed once (a redelivery is acknowledged but not published again), then
 * published onto the bus. A failed publish releases the claims and answers
 * 503 so the vendor delivers again.
 */
export function mountWebhookRoutes(app: Hono, context: WebhookRouteContext): void {
  const byId = new Map(context.receivers.map((receiver) => [receiver.id, receiver]));
  app.post(
    ROUTE,
    bodyLimit({
      maxSize: context.maxBodyBytes,
      onError: () => {
        context.metrics.count('leadpipe_webhooks_refused_total', { reason: 'payload_too_large' });
        return problemResponse(
          problem(413, 'payload-too-large', `the body is over the ${context.maxBodyBytes}-byte cap`),
        );
      },
    }),
    async (c) => {
      const vendor = c.req.param('vendor');
      const receiver = byId.get(vendor);
      if (receiver === undefined)
        return problemResponse(problem(404, 'unknown-webhook', `no webhook receiver for "${vendor}"`));
      const rawBody = new Uint8Array(await c.req.arrayBuffer());
      const request: InboundWebhookRequest = {
        method: c.req.method,
        url: c.req.url,
        headers: c.req.raw.headers,
        rawBody,
      };
      let events: Awaited<ReturnType<WebhookReceiver['receive']>>;
      try {
        events = await receiver.receive(request);
      } catch (error) {
        if (WebhookVerificationError.isInstance(error)) {
          const status = statusOf(error);
          context.metrics.count('leadpipe_webhooks_refused_total', { vendor, reason: error.code });
          context.logger.warn({ vendor, code: error.code, status }, 'webhook refused');
          return problemResponse(problem(status, `webhook-${error.code.replace(/_/g, '-')}`, error.message));
        }
        context.reportError(error, ROUTE, 'POST');
        return problemResponse(problem(400, 'webhook-unreadable', `the ${vendor} webhook could not be read`));
      }
      const claimed: string[] = [];
      for (const event of events) if (await context.deduper.claim(event.id)) claimed.push(event.id);
      const fresh = events.filter((event) => claimed.includes(event.id));
      let published = true;
      try {
        if (fresh.length > 0) await context.bus.publish(fresh);
      } catch (error) {
        published = false;
        for (const id of claimed) await context.deduper.release(id);
        context.reportError(error, ROUTE, 'POST');
      }
      context.metrics.count(
        'leadpipe_webhook_events_total',
        { vendor, outcome: 'duplicate' },
        events.length - fresh.length,
      );
      if (published)
        context.metrics.count(
          'leadpipe_webhook_events_total',
          { vendor, outcome: 'published' },
          fresh.length,
        );
      const custom = receiver.respond?.(request, published);
      if (custom !== undefined)
        return new Response(custom.body ?? null, { status: custom.status, headers: custom.headers ?? {} });
      if (!published)
        return problemResponse(
          problem(503, 'bus-unavailable', 'the events could not be published; deliver again later'),
          { 'retry-after': '30' },
        );
      return c.json({
        received: events.length,
        published: fresh.length,
        duplicates: events.length - fresh.length,
      });
    },
  );
}

import { createHash, createHmac } from 'node:crypto';
import { parseOptions } from '@leadpipe/core/adapter-kit';
import { z } from 'zod';
import type { EmulatorClock, EmulatorCounters } from '../../emulator/context.js';
import { uncheckedOption } from '../../emulator/option-schemas.js';
import type { StoreChange } from './store.js';
import type {
  HubspotWebhookDelivery,
  HubspotWebhookEvent,
  HubspotWebhookOptions,
  HubspotWebhookSubscription,
} from './types.js';

/**
 * HubSpot's v3 webhook signature: base64 of HMAC-SHA256, keyed with the app's
 * client secret, over method + full URI + raw body + timestamp (ms, as text).
 */
export function hubspotSignatureV3(
  clientSecret: string,
  method: string,
  uri: string,
  body: string,
  timestamp: number | string,
): string {
  return createHmac('sha256', clientSecret).update(`${method}${uri}${body}${timestamp}`).digest('base64');
}

/** HubSpot's v1 webhook signature: hex SHA-256 of client secret + raw body. */
function hubspotSignatureV1(clientSecret: string, body: string): string {
  return createHash('sha256').update(`${clientSecret}${body}`).digest('hex');
}

const DEFAULT_SUBSCRIPTIONS: readonly HubspotWebhookSubscription[] = [
  { subscriptionType: 'contact.creation' },
  { subscriptionType: 'contact.propertyChange' },
  { subscriptionType: 'contact.deletion' },
];

type PendingEvent = Omit<HubspotWebhookEvent, 'attemptNumber'>;

/** What the webhook sender needs from the emulator. */
export interface WebhookSenderContext {
  /** Emulated clock (timestamps, retry waits). */
  readonly clock: EmulatorClock;
  /** Where `hubspot.webhooks.*` counters go. */
  readonly counters: EmulatorCounters;
  /** Account id put in events. */
  readonly portalId: number;
  /** App id put in events. */
  readonly appId: number;
  /** Signing secret when the options give none (the OAuth client secret). */
  readonly defaultSecret: string;
}

/** A whole number of at least `min`: `must be an integer of at least 1, got 0`. */
function integerAtLeast(min: number): z.ZodNumber {
  const message = {
    error: (issue: { input?: unknown }) =>
      `must be an integer of at least ${min}, got ${String(issue.input)}`,
  };
  return z.number(message).int(message).min(min, message);
}

/** Webhook delivery settings (`webhooks` of the emulator's options, `configureWebhooks`), checked by `parseOptions`. */
export const hubspotWebhookOptionsSchema = z
  .object(
    {
      targetUrl: z
        .string({ error: 'must be an absolute URL' })
        .refine((value) => URL.canParse(value), { error: 'must be an absolute URL' }),
      clientSecret: z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }).optional(),
      subscriptions: uncheckedOption,
      maxEventsPerRequest: integerAtLeast(1).optional(),
      maxAttempts: integerAtLeast(1).optional(),
      retryDelayMs: integerAtLeast(0).optional(),
      delivery: uncheckedOption,
      fetch: uncheckedOption,
    },
    { error: 'must be an object' },
  )
  .strict();

/**
 * Turns store changes into HubSpot webhook events and delivers them, signed
 * (v1 and v3 headers), in batches, retrying 429/5xx/network failures.
 */
export class HubspotWebhookSender {
  private options: HubspotWebhookOptions | undefined;
  private pending: PendingEvent[] = [];
  private log: HubspotWebhookDelivery[] = [];
  private nextEventId = 1;
  private chain: Promise<unknown> = Promise.resolve();
  private scheduled = false;

  /** @param context - clock, counters, ids and the default signing secret */
  constructor(private readonly context: WebhookSenderContext) {}

  /** Set or remove delivery settings. Throws ConfigurationError (`invalid_configuration`) naming a bad field. */
  configure(options: HubspotWebhookOptions | undefined): void {
    if (options !== undefined) {
      parseOptions(hubspotWebhookOptionsSchema, options, {
        name: 'configureWebhooks',
        providerId: 'hubspot',
      });
    }
    this.options = options;
  }

  /** Forget pending events and the delivery log. */
  clear(): void {
    this.pending = [];
    this.log = [];
    this.nextEventId = 1;
  }

  /** Every request made so far. */
  deliveries(): HubspotWebhookDelivery[] {
    return [...this.log];
  }

  /** Queue the events a store change triggers. */
  record(change: StoreChange): void {
    const options = this.options;
    if (options === undefined) return;
    const subscriptions = options.subscriptions ?? DEFAULT_SUBSCRIPTIONS;
    const prefix = change.objectType === 'contacts' ? 'contact' : 'company';
    subscriptions.forEach((subscription, index) => {
      if (subscription.subscriptionType !== `${prefix}.${change.kind}`) return;
      if (
        change.kind === 'propertyChange' &&
        subscription.propertyName !== undefined &&
        subscription.propertyName !== change.propertyName
      ) {
        return;
      }
      const event: PendingEvent = {
        eventId: this.nextEventId++,
        subscriptionId: index + 1,
        portalId: this.context.portalId,
        appId: this.context.appId,
        occurredAt: Math.floor(change.occurredAt),
        subscriptionType: subscription.subscriptionType,
        objectId: Number(change.objectId),
        ...(change.kind === 'propertyChange'
          ? { propertyName: change.propertyName, propertyValue: change.propertyValue }
          : { changeFlag: change.kind === 'creation' ? 'NEW' : 'DELETED' }),
        changeSource: 'API',
        sourceId: String(this.context.appId),
      };
      this.pending.push(event);
    });
    if ((options.delivery ?? 'auto') === 'auto' && this.pending.length > 0 && !this.scheduled) {
      this.scheduled = true;
      setTimeout(() => {
        this.scheduled = false;
        void this.flush();
      }, 0);
    }
  }

  /** Deliver every pending event; resolves with the requests this flush made. */
  flush(): Promise<HubspotWebhookDelivery[]> {
    const run = this.chain.then(() => this.deliverPending());
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async deliverPending(): Promise<HubspotWebhookDelivery[]> {
    const options = this.options;
    const made: HubspotWebhookDelivery[] = [];
    if (options === undefined) return made;
    const size = options.maxEventsPerRequest ?? 100;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, size);
      made.push(...(await this.deliverBatch(options, batch)));
    }
    return made;
  }

  private async deliverBatch(
    options: HubspotWebhookOptions,
    batch: readonly PendingEvent[],
  ): Promise<HubspotWebhookDelivery[]> {
    const made: HubspotWebhookDelivery[] = [];
    const maxAttempts = options.maxAttempts ?? 10;
    const send = options.fetch ?? fetch;
    const secret = options.clientSecret ?? this.context.defaultSecret;
    for (let attemptNumber = 0; attemptNumber < maxAttempts; attemptNumber += 1) {
      const events: HubspotWebhookEvent[] = batch.map((event) => ({ ...event, attemptNumber }));
      const body = JSON.stringify(events);
      const timestamp = Math.floor(this.context.clock.now());
      let status = 0;
      let retryAfter: string | null = null;
      try {
        const response = await send(options.targetUrl, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            'User-Agent': 'HubSpot Connect 2.0 (http://dev.hubspot.com/)',
            'X-HubSpot-Signature': hubspotSignatureV1(secret, body),
            'X-HubSpot-Signature-Version': 'v1',
            'X-HubSpot-Signature-v3': hubspotSignatureV3(secret, 'POST', options.targetUrl, body, timestamp),
            'X-HubSpot-Request-Timestamp': String(timestamp),
          },
          body,
        });
        status = response.status;
        retryAfter = response.headers.get('retry-after');
        await response.body?.cancel();
      } catch {
        status = 0;
      }
      const delivered = status >= 200 && status < 300;
      const delivery: HubspotWebhookDelivery = {
        url: options.targetUrl,
        events,
        attemptNumber,
        status,
        delivered,
      };
      this.log.push(delivery);
      made.push(delivery);
      this.context.counters.increment(delivered ? 'hubspot.webhooks.delivered' : 'hubspot.webhooks.failed');
      const retryable = status === 0 || status === 429 || status >= 500;
      if (delivered || !retryable) break;
      const seconds = retryAfter === null ? Number.NaN : Number(retryAfter);
      const waitMs = Number.isFinite(seconds)
        ? seconds * 1000
        : (options.retryDelayMs ?? 1000) * 2 ** attemptNumber;
      if (attemptNumber + 1 < maxAttempts) await this.context.clock.sleep(waitMs);
    }
    return made;
  }
}

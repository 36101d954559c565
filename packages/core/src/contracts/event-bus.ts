/**
 * One event on the bus: a fact about a lead, a CRM record, an email or
 * anything a host app emits. Events are JSON: the payload must survive
 * `JSON.stringify` and must hold no secret.
 */
export interface BusEvent<Payload = unknown> {
  /**
   * Unique and stable id. A publisher that sends the same fact twice (a relay
   * resumed after a crash) sends the same id, and consumers deduplicate by it.
   */
  readonly id: string;
  /** Dotted `noun.verb` type, such as `lead.created`, `crm.synced` or `email.bounced`. */
  readonly type: string;
  /** When it happened (ISO 8601). */
  readonly occurredAt: string;
  /** What happened, as JSON. */
  readonly payload: Payload;
}

/** How one delivery of an event reaches a handler. */
export interface BusDelivery {
  /** 1 on the first delivery, then counts redeliveries (after a nack, a crash or a lost connection). */
  readonly attempt: number;
  /** Aborted when the subscription closes. */
  readonly signal: AbortSignal;
}

/**
 * A consumer of events. Resolving acknowledges the event; rejecting returns
 * it for redelivery until the subscription's `maxDeliveries`, after which it
 * is dead-lettered. Delivery is at least once: a handler must be idempotent,
 * or deduplicate by {@link BusEvent.id}.
 */
export type BusHandler = (event: BusEvent, delivery: BusDelivery) => Promise<void>;

/** What to consume. */
export interface BusSubscription {
  /**
   * Durable name of the consumer group, such as `campaign-triggers`. Every
   * subscriber with the same name shares one queue: each event goes to one of
   * them. Letters, digits, `.`, `-` and `_`.
   */
  readonly name: string;
  /**
   * Event types to receive. `*` matches one dotted word and `#` any number of
   * them (`lead.*`, `email.#`, `#` for everything), as in AMQP topic bindings.
   */
  readonly types: readonly string[];
  /** The consumer. */
  readonly handler: BusHandler;
  /** Events handled at once by this subscriber. Default 16. */
  readonly concurrency?: number;
  /** Deliveries of one event before it is dead-lettered. Default 5. */
  readonly maxDeliveries?: number;
}

/** A running subscription. */
export interface BusSubscriptionHandle {
  /** The subscription's name. */
  readonly name: string;
  /** Stops receiving; waits for the handlers running now; events not acknowledged are redelivered later. */
  close(): Promise<void>;
}

/**
 * Publish and subscribe leadpipe events, at least once. Small on purpose: an
 * adapter for another broker (Kafka, NATS, SQS) is one file.
 */
export interface EventBusV1 {
  /** Contract version. */
  readonly specificationVersion: 'v1';
  /** Stable id of the implementation, such as `in-process` or `rabbitmq`. */
  readonly busId: string;
  /**
   * Publish events. Resolves once the bus holds them durably (a broker's
   * publisher confirm), so a publisher can then mark them sent; rejects when
   * it cannot, and then any of them may or may not have been delivered.
   */
  publish(events: readonly BusEvent[]): Promise<void>;
  /** Start consuming. Resolves once the subscription receives events. */
  subscribe(subscription: BusSubscription): Promise<BusSubscriptionHandle>;
  /**
   * Move up to `limit` (default all) events that subscription `name` dead-lettered back onto its queue, oldest
   * first, with their delivery count reset. Resolves with how many moved.
   */
  redrive(name: string, options?: { readonly limit?: number }): Promise<number>;
  /** Close every subscription and the connection. */
  close(): Promise<void>;
}

/** The current event bus contract. */
export type EventBus = EventBusV1;

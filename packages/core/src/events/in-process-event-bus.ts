import type { BusEvent, BusSubscription, BusSubscriptionHandle, EventBusV1 } from '../contracts/event-bus.js';
import { redactValue } from '../contracts/secrets.js';
import {
  type CheckedBusSubscription,
  checkBusEvents,
  checkBusSubscription,
  topicMatches,
} from '../kit/bus-events.js';

/** An event a subscription gave up on: it failed `maxDeliveries` times. */
export interface InProcessDeadLetter {
  /** The subscription's name. */
  readonly subscription: string;
  /** The event. */
  readonly event: BusEvent;
  /** Deliveries made. */
  readonly attempts: number;
  /** The last handler error's message, scrubbed of secrets. */
  readonly error: string;
}

/** Options of {@link createInProcessEventBus}. */
export interface InProcessEventBusOptions {
  /** Told about each event a subscription dead-letters (observing only). */
  readonly onDeadLetter?: (deadLetter: InProcessDeadLetter) => void;
}

/** The in-process bus, with a look at its queues for tests and dashboards. */
export interface InProcessEventBus extends EventBusV1 {
  /** Events waiting for subscription `name` (not yet handed to a handler). */
  pending(name: string): number;
  /** Events subscription `name` dead-lettered, oldest first. */
  deadLetters(name: string): readonly InProcessDeadLetter[];
}

interface Item {
  readonly event: BusEvent;
  attempt: number;
}

interface Consumer {
  readonly subscription: CheckedBusSubscription;
  readonly abort: AbortController;
  running: number;
  closing: boolean;
  readonly idle: Set<() => void>;
}

interface Queue {
  types: readonly string[];
  maxDeliveries: number;
  readonly pending: Item[];
  readonly dead: InProcessDeadLetter[];
  readonly consumers: Consumer[];
  next: number;
}

function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return String(redactValue(message));
}

/**
 * The default {@link EventBusV1}: in memory, in this process. Each
 * subscription name is a queue that outlives its subscribers, as a durable
 * broker queue does: events published while nobody consumes wait for the next
 * subscriber of that name; a failed handler gets the event again, up to
 * `maxDeliveries`, then it is dead-lettered (see `deadLetters`, `redrive`).
 * Nothing survives the process: use a broker adapter
 * (`@leadpipe/events-rabbitmq`) when events must outlive it or cross
 * processes. Events are copied as JSON on publish, as a broker would.
 *
 * @example
 * ```ts
 * const bus = createInProcessEventBus();
 * await bus.subscribe({ name: 'welcome', types: ['lead.created'], handler: async (event) => console.log(event.id) });
 * await bus.publish([{ id: 'e1', type: 'lead.created', occurredAt: new Date().toISOString(), payload: { leadId: 'l1' } }]);
 * ```
 */
export function createInProcessEventBus(options: InProcessEventBusOptions = {}): InProcessEventBus {
  const queues = new Map<string, Queue>();
  let closed = false;

  const pump = (queue: Queue): void => {
    while (queue.pending.length > 0) {
      const consumer = pickConsumer(queue);
      if (consumer === undefined) return;
      const item = queue.pending.shift()!;
      deliver(queue, consumer, item);
    }
  };

  const pickConsumer = (queue: Queue): Consumer | undefined => {
    const count = queue.consumers.length;
    for (let offset = 0; offset < count; offset += 1) {
      const consumer = queue.consumers[(queue.next + offset) % count]!;
      if (!consumer.closing && consumer.running < consumer.subscription.concurrency) {
        queue.next = (queue.next + offset + 1) % count;
        return consumer;
      }
    }
    return undefined;
  };

  const deliver = (queue: Queue, consumer: Consumer, item: Item): void => {
    consumer.running += 1;
    item.attempt += 1;
    const handled = (async () =>
      consumer.subscription.handler(item.event, { attempt: item.attempt, signal: consumer.abort.signal }))();
    handled.then(
      () => settle(queue, consumer),
      (error: unknown) => {
        if (item.attempt >= queue.maxDeliveries) {
          const deadLetter: InProcessDeadLetter = {
            subscription: consumer.subscription.name,
            event: item.event,
            attempts: item.attempt,
            error: messageOf(error),
          };
          queue.dead.push(deadLetter);
          try {
            options.onDeadLetter?.(deadLetter);
          } catch {
            // Observers never change an outcome.
          }
        } else {
          queue.pending.push(item);
        }
        settle(queue, consumer);
      },
    );
  };

  const settle = (queue: Queue, consumer: Consumer): void => {
    consumer.running -= 1;
    if (consumer.running === 0) for (const resolve of consumer.idle) resolve();
    // A later turn: a handler failing at once must not recurse.
    setImmediate(() => pump(queue));
  };

  const queueOf = (name: string): Queue | undefined => queues.get(name);

  return {
    specificationVersion: 'v1',
    busId: 'in-process',

    async publish(events) {
      if (closed) throw new Error('The event bus is closed');
      checkBusEvents(events);
      const copies = events.map((event) => JSON.parse(JSON.stringify(event)) as BusEvent);
      for (const queue of queues.values()) {
        let added = false;
        for (const event of copies) {
          if (queue.types.some((type) => topicMatches(type, event.type))) {
            queue.pending.push({ event, attempt: 0 });
            added = true;
          }
        }
        if (added) pump(queue);
      }
    },

    async subscribe(subscription: BusSubscription): Promise<BusSubscriptionHandle> {
      if (closed) throw new Error('The event bus is closed');
      const checked = checkBusSubscription(subscription, 'in-process');
      let queue = queues.get(checked.name);
      if (queue === undefined) {
        queue = {
          types: [],
          maxDeliveries: checked.maxDeliveries,
          pending: [],
          dead: [],
          consumers: [],
          next: 0,
        };
        queues.set(checked.name, queue);
      }
      queue.types = checked.types;
      queue.maxDeliveries = checked.maxDeliveries;
      const consumer: Consumer = {
        subscription: checked,
        abort: new AbortController(),
        running: 0,
        closing: false,
        idle: new Set(),
      };
      queue.consumers.push(consumer);
      const owner = queue;
      setImmediate(() => pump(owner));
      return {
        name: checked.name,
        async close() {
          if (consumer.closing) return;
          consumer.closing = true;
          const index = owner.consumers.indexOf(consumer);
          if (index >= 0) owner.consumers.splice(index, 1);
          consumer.abort.abort();
          if (consumer.running > 0)
            await new Promise<void>((resolve) => {
              consumer.idle.add(resolve);
            });
          pump(owner);
        },
      };
    },

    async redrive(name, redriveOptions = {}) {
      const queue = queueOf(name);
      if (queue === undefined) return 0;
      const moved = queue.dead.splice(0, redriveOptions.limit ?? queue.dead.length);
      for (const deadLetter of moved) queue.pending.push({ event: deadLetter.event, attempt: 0 });
      pump(queue);
      return moved.length;
    },

    pending(name) {
      return queueOf(name)?.pending.length ?? 0;
    },

    deadLetters(name) {
      return [...(queueOf(name)?.dead ?? [])];
    },

    async close() {
      closed = true;
      const closing: Promise<void>[] = [];
      for (const queue of queues.values()) {
        for (const consumer of [...queue.consumers]) {
          consumer.closing = true;
          consumer.abort.abort();
          if (consumer.running > 0)
            closing.push(
              new Promise<void>((resolve) => {
                consumer.idle.add(resolve);
              }),
            );
        }
        queue.consumers.length = 0;
      }
      await Promise.all(closing);
    },
  };
}

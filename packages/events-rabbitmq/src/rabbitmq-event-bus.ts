import { once } from 'node:events';
import {
  type BusEvent,
  type BusSubscription,
  type BusSubscriptionHandle,
  type CheckedBusSubscription,
  ConfigurationError,
  checkBusEvents,
  checkBusSubscription,
  type EventBusV1,
  LeadpipeError,
  ROOT_CONTEXT,
  redactSecrets,
  TelemetryAttributes,
  traceCall,
} from '@leadpipe/core/adapter-kit';
import { context, propagation, type TextMapGetter } from '@opentelemetry/api';
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { type CheckedSettings, checkSettings, displayUrl, type RabbitMqEventBusSettings } from './options.js';

/** The RabbitMQ bus: an {@link EventBusV1} plus a look at its queues. */
export interface RabbitMqEventBus extends EventBusV1 {
  /** Messages waiting in subscription `name`'s queue (ready, not yet delivered); 0 when it has no queue. */
  pending(name: string): Promise<number>;
  /** Messages in subscription `name`'s dead-letter queue; 0 when it has none. */
  deadLetterCount(name: string): Promise<number>;
  /** The queue a subscription name consumes from (`<queuePrefix><name>`); its dead letters are in `<queue>.dead`. */
  queueOf(name: string): string;
}

/** One subscriber: its channel and the handlers it runs. */
interface Consumer {
  readonly subscription: CheckedBusSubscription;
  channel: Channel | undefined;
  tag: string | undefined;
  running: number;
  closing: boolean;
  readonly abort: AbortController;
  readonly idle: Set<() => void>;
}

/** Headers the broker adds on dead-lettering and redelivery. */
const BROKER_HEADERS = /^x-(death|first-death-|last-death-|delivery-count)/;

/** `messaging.system` of this package's spans (OpenTelemetry semantic conventions). */
const MESSAGING_SYSTEM = { 'messaging.system': 'rabbitmq' } as const;

/** Reads trace context headers from a message (amqplib gives strings, or Buffers for some values). */
const headerGetter: TextMapGetter<Record<string, unknown>> = {
  keys: (carrier) => Object.keys(carrier),
  get(carrier, key) {
    const value = carrier[key];
    if (typeof value === 'string') return value;
    if (Buffer.isBuffer(value)) return value.toString('utf8');
    return undefined;
  },
};

function errorText(error: unknown): string {
  return redactSecrets(error instanceof Error ? error.message : String(error));
}

/**
 * An {@link EventBusV1} on RabbitMQ (amqplib). Events go to one durable topic
 * exchange, routed by their `type`. Each subscription name is a durable
 * quorum queue bound to its patterns, so events wait there while no
 * subscriber runs and subscribers sharing the name compete for them.
 * Publishing waits for publisher confirms; messages are persistent. A handler
 * that rejects gets the event again (the quorum queue's `x-delivery-count` is
 * the attempt), up to `maxDeliveries`, then the event is dead-lettered to
 * `<queue>.dead` through the `<exchange>.dead` exchange (also the queue's
 * `x-delivery-limit`, so a message that keeps crashing its consumer is
 * dead-lettered too); `redrive` moves dead letters back. A dropped connection
 * is reopened with backoff and every subscription resumes; events not
 * acknowledged before the drop are redelivered.
 *
 * @example
 * ```ts
 * const bus = createRabbitMqEventBus({ url: 'amqp://guest:guest@127.0.0.1:5672' });
 * await bus.subscribe({ name: 'welcome', types: ['lead.created'], handler: async (event) => console.log(event.id) });
 * await bus.publish([{ id: 'e1', type: 'lead.created', occurredAt: new Date().toISOString(), payload: {} }]);
 * await bus.close();
 * ```
 */
export function createRabbitMqEventBus(settings: RabbitMqEventBusSettings = {}): RabbitMqEventBus {
  const options: CheckedSettings = checkSettings(settings);
  const deadExchange = `${options.exchange}.dead`;
  const consumers = new Set<Consumer>();
  let connection: Promise<ChannelModel> | undefined;
  let publisher: Promise<ConfirmChannel> | undefined;
  let closed = false;
  let reconnectDelay = options.reconnectDelayMs;

  const report = (error: unknown): void => {
    try {
      options.onError?.(new Error(errorText(error)));
    } catch {
      // An observer that throws changes nothing.
    }
  };

  const brokerError = (action: string, error: unknown): LeadpipeError =>
    new LeadpipeError('network_error', {
      message: `RabbitMQ (${displayUrl(options.url)}): ${action} failed: ${errorText(error)}`,
      providerId: 'rabbitmq',
      cause: new Error(errorText(error)),
    });

  const queueOf = (name: string): string => `${options.queuePrefix}${name}`;

  const connect = (): Promise<ChannelModel> => {
    if (closed) return Promise.reject(new Error('The event bus is closed'));
    connection ??= (async () => {
      let model: ChannelModel;
      try {
        model = await amqp.connect(options.url, {
          clientProperties: { connection_name: options.connectionName },
        });
      } catch (error) {
        connection = undefined;
        throw brokerError('connecting', error);
      }
      model.on('error', report);
      model.on('close', () => {
        connection = undefined;
        publisher = undefined;
        for (const consumer of consumers) {
          consumer.channel = undefined;
          consumer.tag = undefined;
        }
        if (!closed) scheduleReconnect();
      });
      const setup = await model.createChannel();
      await setup.assertExchange(options.exchange, 'topic', { durable: true });
      await setup.assertExchange(deadExchange, 'direct', { durable: true });
      await setup.close();
      reconnectDelay = options.reconnectDelayMs;
      return model;
    })();
    return connection;
  };

  const scheduleReconnect = (): void => {
    const delay = reconnectDelay;
    reconnectDelay = Math.min(options.reconnectMaxDelayMs, reconnectDelay * 2);
    const timer = setTimeout(() => {
      if (closed) return;
      void (async () => {
        try {
          await connect();
          for (const consumer of consumers) if (!consumer.closing) await startConsumer(consumer);
        } catch (error) {
          report(error);
          if (connection === undefined && !closed) scheduleReconnect();
        }
      })();
    }, delay);
    timer.unref?.();
  };

  const declare = async (channel: Channel, subscription: CheckedBusSubscription): Promise<string> => {
    const queue = queueOf(subscription.name);
    await channel.assertQueue(`${queue}.dead`, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await channel.bindQueue(`${queue}.dead`, deadExchange, subscription.name);
    try {
      await channel.assertQueue(queue, {
        durable: true,
        arguments: {
          'x-queue-type': 'quorum',
          'x-delivery-limit': subscription.maxDeliveries,
          'x-dead-letter-exchange': deadExchange,
          'x-dead-letter-routing-key': subscription.name,
        },
      });
    } catch (error) {
      if (/PRECONDITION_FAILED/.test(errorText(error)))
        throw new ConfigurationError('invalid_configuration', {
          message: `createRabbitMqEventBus subscribe: queue "${queue}" exists with other settings (maxDeliveries ${subscription.maxDeliveries} differs from its x-delivery-limit, or it is not a quorum queue); delete it or use another name`,
          issues: [{ field: 'maxDeliveries', reason: `differs from the existing queue "${queue}"` }],
        });
      throw error;
    }
    for (const type of subscription.types) await channel.bindQueue(queue, options.exchange, type);
    return queue;
  };

  const handle = async (consumer: Consumer, channel: Channel, message: ConsumeMessage): Promise<void> => {
    const { subscription } = consumer;
    const count = Number(message.properties.headers?.['x-delivery-count'] ?? 0);
    const attempt = (Number.isFinite(count) ? count : 0) + 1;
    let event: BusEvent;
    try {
      event = JSON.parse(message.content.toString('utf8')) as BusEvent;
      checkBusEvents([event]);
    } catch (error) {
      // Not an event: it can never be handled. Straight to the dead letters, with the reason.
      report(
        new Error(`${subscription.name}: dead-lettered a message that is not an event: ${errorText(error)}`),
      );
      channel.nack(message, false, false);
      return;
    }
    consumer.running += 1;
    try {
      // The publisher's trace context travels in the headers: the handle span continues its trace.
      const parent = propagation.extract(ROOT_CONTEXT, message.properties.headers ?? {}, headerGetter);
      await traceCall(
        {
          kind: 'queue',
          vendor: queueOf(subscription.name),
          operation: 'handle',
          parent,
          attributes: { ...MESSAGING_SYSTEM, 'leadpipe.event.type': event.type, 'leadpipe.attempt': attempt },
        },
        () => subscription.handler(event, { attempt, signal: consumer.abort.signal }),
      );
      channel.ack(message);
    } catch {
      // Requeued until the last delivery, then dead-lettered.
      channel.nack(message, false, attempt < subscription.maxDeliveries);
    } finally {
      consumer.running -= 1;
      if (consumer.running === 0) for (const resolve of consumer.idle) resolve();
    }
  };

  const startConsumer = async (consumer: Consumer): Promise<void> => {
    const model = await connect();
    const channel = await model.createChannel();
    channel.on('error', report);
    try {
      const queue = await declare(channel, consumer.subscription);
      await channel.prefetch(consumer.subscription.concurrency);
      const { consumerTag } = await channel.consume(queue, (message) => {
        if (message === null) return;
        void handle(consumer, channel, message).catch(report);
      });
      consumer.channel = channel;
      consumer.tag = consumerTag;
    } catch (error) {
      await channel.close().catch(() => {});
      throw error;
    }
  };

  const publisherChannel = (): Promise<ConfirmChannel> => {
    publisher ??= (async () => {
      const model = await connect();
      const channel = await model.createConfirmChannel();
      channel.on('error', report);
      channel.on('close', () => {
        publisher = undefined;
      });
      return channel;
    })().catch((error: unknown) => {
      publisher = undefined;
      throw error;
    });
    return publisher;
  };

  const withChannel = async <T>(run: (channel: Channel) => Promise<T>, onMissing: T): Promise<T> => {
    const model = await connect();
    const channel = await model.createChannel();
    channel.on('error', () => {});
    try {
      return await run(channel);
    } catch (error) {
      if (/NOT_FOUND/.test(errorText(error))) return onMissing;
      throw error;
    } finally {
      await channel.close().catch(() => {});
    }
  };

  return {
    specificationVersion: 'v1',
    busId: 'rabbitmq',

    queueOf,

    async publish(events) {
      if (closed) throw new Error('The event bus is closed');
      checkBusEvents(events);
      if (events.length === 0) return;
      let channel: ConfirmChannel;
      try {
        channel = await publisherChannel();
      } catch (error) {
        throw LeadpipeError.isInstance(error) ? error : brokerError('opening a channel', error);
      }
      await traceCall(
        {
          kind: 'queue',
          vendor: options.exchange,
          operation: 'publish',
          attributes: { ...MESSAGING_SYSTEM, [TelemetryAttributes.batchSize]: events.length },
        },
        async () => {
          // The publish span's context, for consumers to continue (W3C `traceparent` with the SDK's default propagator).
          const headers: Record<string, string> = {};
          propagation.inject(context.active(), headers);
          try {
            for (const event of events) {
              const written = channel.publish(
                options.exchange,
                event.type,
                Buffer.from(JSON.stringify(event)),
                {
                  persistent: true,
                  messageId: event.id,
                  type: event.type,
                  contentType: 'application/json',
                  timestamp: Math.floor(Date.parse(event.occurredAt) / 1000),
                  headers,
                },
              );
              if (!written) await once(channel, 'drain');
            }
            await channel.waitForConfirms();
          } catch (error) {
            throw brokerError('publishing (the broker did not confirm every event)', error);
          }
        },
      );
    },

    async subscribe(subscription: BusSubscription): Promise<BusSubscriptionHandle> {
      if (closed) throw new Error('The event bus is closed');
      const checked = checkBusSubscription(subscription, 'rabbitmq');
      const consumer: Consumer = {
        subscription: checked,
        channel: undefined,
        tag: undefined,
        running: 0,
        closing: false,
        abort: new AbortController(),
        idle: new Set(),
      };
      try {
        await startConsumer(consumer);
      } catch (error) {
        if (ConfigurationError.isInstance(error) || LeadpipeError.isInstance(error)) throw error;
        throw brokerError(`subscribing "${checked.name}"`, error);
      }
      consumers.add(consumer);
      return {
        name: checked.name,
        async close() {
          if (consumer.closing) return;
          consumer.closing = true;
          consumers.delete(consumer);
          const { channel, tag } = consumer;
          if (channel !== undefined && tag !== undefined) await channel.cancel(tag).catch(() => {});
          if (consumer.running > 0)
            await new Promise<void>((resolve) => {
              consumer.idle.add(resolve);
            });
          consumer.abort.abort();
          await channel?.close().catch(() => {});
        },
      };
    },

    async redrive(name, redriveOptions = {}) {
      const limit = redriveOptions.limit ?? Number.POSITIVE_INFINITY;
      const queue = queueOf(name);
      const model = await connect();
      const channel = await model.createConfirmChannel();
      channel.on('error', () => {});
      let moved = 0;
      try {
        await channel.checkQueue(`${queue}.dead`);
        while (moved < limit) {
          const message = await channel.get(`${queue}.dead`, { noAck: false });
          if (message === false) break;
          // A redriven event starts afresh: the broker's death and delivery records stay behind.
          const headers = { ...(message.properties.headers ?? {}) } as Record<string, unknown>;
          for (const header of Object.keys(headers)) if (BROKER_HEADERS.test(header)) delete headers[header];
          channel.sendToQueue(queue, message.content, {
            persistent: true,
            messageId: message.properties.messageId as string | undefined,
            type: message.properties.type as string | undefined,
            contentType: 'application/json',
            timestamp: message.properties.timestamp as number | undefined,
            headers,
          });
          await channel.waitForConfirms();
          channel.ack(message);
          moved += 1;
        }
      } catch (error) {
        if (/NOT_FOUND/.test(errorText(error))) return moved;
        throw brokerError(`redriving "${name}"`, error);
      } finally {
        await channel.close().catch(() => {});
      }
      return moved;
    },

    pending(name) {
      return withChannel(async (channel) => (await channel.checkQueue(queueOf(name))).messageCount, 0);
    },

    deadLetterCount(name) {
      return withChannel(
        async (channel) => (await channel.checkQueue(`${queueOf(name)}.dead`)).messageCount,
        0,
      );
    },

    async close() {
      if (closed) return;
      closed = true;
      const open = [...consumers];
      consumers.clear();
      for (const consumer of open) {
        consumer.closing = true;
        if (consumer.channel !== undefined && consumer.tag !== undefined)
          await consumer.channel.cancel(consumer.tag).catch(() => {});
      }
      await Promise.all(
        open.map((consumer) =>
          consumer.running === 0
            ? undefined
            : new Promise<void>((resolve) => {
                consumer.idle.add(resolve);
              }),
        ),
      );
      for (const consumer of open) consumer.abort.abort();
      const model = await connection?.catch(() => undefined);
      await model?.close().catch(() => {});
    },
  };
}

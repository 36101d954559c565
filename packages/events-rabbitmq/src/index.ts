/**
 * @packageDocumentation
 * `@leadpipe/events-rabbitmq`: leadpipe's event bus on RabbitMQ. Durable
 * quorum queues per subscription, publisher confirms, redelivery with an
 * attempt count, dead-lettering and redrive.
 */
export type { RabbitMqEventBusSettings } from './options.js';
export { createRabbitMqEventBus, type RabbitMqEventBus } from './rabbitmq-event-bus.js';

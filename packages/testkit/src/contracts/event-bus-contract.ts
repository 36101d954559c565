import { randomUUID } from 'node:crypto';
import type { BusEvent, BusHandler, EventBus } from '@leadpipe/core/adapter-kit';
import type { ContractExpect, ContractTestFunction } from './enrichment-provider.js';

/** Names of the event bus checks, to skip some with `skip`. */
export type EventBusContractCheck =
  | 'delivery'
  | 'topics'
  | 'competing'
  | 'fanout'
  | 'durable'
  | 'redelivery'
  | 'deadLetter'
  | 'invalid'
  | 'close';

/** Options of {@link eventBusContract}. */
export interface EventBusContractOptions {
  /** Prefix of every test name. Default: `event bus contract`. */
  readonly name?: string;
  /** A bus for one check. Each check uses its own subscription names and event types, so a shared broker works. */
  readonly open: () => EventBus | Promise<EventBus>;
  /** Release a bus the suite opened. Default: `bus.close()`. */
  readonly close?: (bus: EventBus) => void | Promise<void>;
  /** How long to wait for deliveries before a check fails, ms. Default 15,000. */
  readonly waitMs?: number;
  /** Checks to leave out. */
  readonly skip?: readonly EventBusContractCheck[];
}

/**
 * The `EventBusV1` contract suite, Keyv-style: registers one test per check
 * with your runner's `it`, asserting with its `expect`, so the in-process bus
 * and every broker adapter prove the same promises.
 *
 * Checks: published events reach a subscriber with their id, type, time and
 * payload intact; topic patterns (`*` one word, `#` any) select what a
 * subscription gets; subscribers sharing a name share the work (each event to
 * one of them), different names each get every event; events published while
 * a name has no subscriber wait for the next one; a failed handler gets the
 * event again with a growing `attempt`; after `maxDeliveries` it is
 * dead-lettered and `redrive` brings it back; bad events and subscriptions are
 * refused with the field named; closing a subscription waits for its running
 * handlers and stops deliveries.
 *
 * @example
 * ```ts
 * eventBusContract(it, expect, { open: () => createInProcessEventBus() });
 * ```
 */
export function eventBusContract(
  it: ContractTestFunction,
  expect: ContractExpect,
  options: EventBusContractOptions,
): void {
  const prefix = options.name ?? 'event bus contract';
  const skip = new Set(options.skip ?? []);
  const waitMs = options.waitMs ?? 15_000;

  const until = async (condition: () => boolean, what: string): Promise<void> => {
    const deadline = Date.now() + waitMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`event bus contract: gave up waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };

  const check = (
    name: EventBusContractCheck,
    title: string,
    fn: (bus: EventBus, scope: string) => Promise<void>,
  ) => {
    if (skip.has(name)) return;
    it(`${prefix}: ${title}`, async () => {
      const bus = await options.open();
      // A word unique to this check, so a broker shared by runs and checks never mixes their events.
      const scope = `c${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      try {
        await fn(bus, scope);
      } finally {
        await (options.close ?? ((opened: EventBus) => opened.close()))(bus);
      }
    });
  };

  const event = (scope: string, type: string, payload: unknown = {}): BusEvent => ({
    id: randomUUID(),
    type: `${scope}.${type}`,
    occurredAt: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)).toISOString(),
    payload,
  });

  const collector = () => {
    const received: { event: BusEvent; attempt: number }[] = [];
    const handler: BusHandler = async (delivered, delivery) => {
      received.push({ event: delivered, attempt: delivery.attempt });
    };
    return { received, handler };
  };

  check('delivery', 'a published event reaches a subscriber intact', async (bus, scope) => {
    const { received, handler } = collector();
    await bus.subscribe({ name: `${scope}-delivery`, types: [`${scope}.lead.created`], handler });
    const sent = event(scope, 'lead.created', {
      leadId: 'l-1',
      fields: { title: 'CTO', headcount: 120 },
      tags: ['a'],
    });
    await bus.publish([sent]);
    await until(() => received.length >= 1, 'the event');
    expect(received[0]?.event, 'the delivered event').toEqual(sent);
    expect(received[0]?.attempt, 'first delivery').toBe(1);
  });

  check('topics', 'patterns select events: * is one word, # any number', async (bus, scope) => {
    const star = collector();
    const hash = collector();
    await bus.subscribe({ name: `${scope}-star`, types: [`${scope}.lead.*`], handler: star.handler });
    await bus.subscribe({ name: `${scope}-hash`, types: [`${scope}.email.#`], handler: hash.handler });
    const events = [
      event(scope, 'lead.created'),
      event(scope, 'lead.updated'),
      event(scope, 'lead.created.again'),
      event(scope, 'email.bounced'),
      event(scope, 'email.bounced.hard'),
      event(scope, 'crm.synced'),
    ];
    await bus.publish(events);
    await until(() => star.received.length >= 2 && hash.received.length >= 2, 'matching events');
    // A last event through each subscription proves that nothing else is still on its way.
    const marker = [event(scope, 'lead.marker'), event(scope, 'email.marker')];
    await bus.publish(marker);
    await until(() => star.received.length >= 3 && hash.received.length >= 3, 'the markers');
    expect(star.received.map((r) => r.event.type).sort(), 'lead.* got').toEqual(
      [`${scope}.lead.created`, `${scope}.lead.marker`, `${scope}.lead.updated`].sort(),
    );
    expect(hash.received.map((r) => r.event.type).sort(), 'email.# got').toEqual(
      [`${scope}.email.bounced`, `${scope}.email.bounced.hard`, `${scope}.email.marker`].sort(),
    );
  });

  check(
    'competing',
    'subscribers sharing a name share the events, each to one of them',
    async (bus, scope) => {
      const first = collector();
      const second = collector();
      const name = `${scope}-shared`;
      await bus.subscribe({ name, types: [`${scope}.#`], handler: first.handler, concurrency: 2 });
      await bus.subscribe({ name, types: [`${scope}.#`], handler: second.handler, concurrency: 2 });
      const events = Array.from({ length: 40 }, (_, index) => event(scope, 'lead.created', { index }));
      await bus.publish(events);
      await until(() => first.received.length + second.received.length >= 40, 'all 40 events');
      const ids = [...first.received, ...second.received].map((r) => r.event.id);
      expect(new Set(ids).size, 'distinct events delivered').toBe(40);
      expect(ids.length, 'deliveries (none twice)').toBe(40);
    },
  );

  check('fanout', 'different names each get every event', async (bus, scope) => {
    const first = collector();
    const second = collector();
    await bus.subscribe({ name: `${scope}-one`, types: [`${scope}.#`], handler: first.handler });
    await bus.subscribe({ name: `${scope}-two`, types: [`${scope}.#`], handler: second.handler });
    await bus.publish([event(scope, 'lead.created'), event(scope, 'lead.updated')]);
    await until(() => first.received.length >= 2 && second.received.length >= 2, 'both copies');
    expect(first.received.map((r) => r.event.id).sort(), 'same events').toEqual(
      second.received.map((r) => r.event.id).sort(),
    );
  });

  check(
    'durable',
    'events published while a name has no subscriber wait for the next one',
    async (bus, scope) => {
      const name = `${scope}-durable`;
      const first = collector();
      const subscription = await bus.subscribe({ name, types: [`${scope}.#`], handler: first.handler });
      await subscription.close();
      const waiting = [event(scope, 'lead.created'), event(scope, 'lead.updated')];
      await bus.publish(waiting);
      const later = collector();
      await bus.subscribe({ name, types: [`${scope}.#`], handler: later.handler });
      await until(() => later.received.length >= 2, 'the waiting events');
      expect(later.received.map((r) => r.event.id).sort(), 'delivered after resubscribing').toEqual(
        waiting.map((e) => e.id).sort(),
      );
      expect(first.received.length, 'the closed subscriber got nothing').toBe(0);
    },
  );

  check('redelivery', 'a failed handler gets the event again, with a growing attempt', async (bus, scope) => {
    const attempts: number[] = [];
    await bus.subscribe({
      name: `${scope}-retry`,
      types: [`${scope}.#`],
      maxDeliveries: 5,
      handler: async (_event, delivery) => {
        attempts.push(delivery.attempt);
        if (attempts.length < 3) throw new Error('not yet');
      },
    });
    await bus.publish([event(scope, 'lead.created')]);
    await until(() => attempts.length >= 3, 'three deliveries');
    expect(attempts, 'attempts').toEqual([1, 2, 3]);
  });

  check(
    'deadLetter',
    'after maxDeliveries the event is dead-lettered; redrive brings it back',
    async (bus, scope) => {
      const name = `${scope}-dead`;
      let failing = true;
      const seen: number[] = [];
      const subscription = await bus.subscribe({
        name,
        types: [`${scope}.#`],
        maxDeliveries: 2,
        handler: async (_event, delivery) => {
          seen.push(delivery.attempt);
          if (failing) throw new Error('always fails');
        },
      });
      await bus.publish([event(scope, 'lead.created')]);
      await until(() => seen.length >= 2, 'two deliveries');
      // Dead-lettered: it is not delivered a third time. Redrive until it moves (the broker may take a moment).
      failing = false;
      let moved = 0;
      await until(() => seen.length >= 2, 'settle');
      const deadline = Date.now() + waitMs;
      while (moved === 0 && Date.now() < deadline) {
        moved = await bus.redrive(name);
        if (moved === 0) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(moved, 'events redriven').toBe(1);
      await until(() => seen.length >= 3, 'the redriven delivery');
      expect(seen.slice(0, 2), 'first two deliveries').toEqual([1, 2]);
      expect(seen[2], 'a redriven event starts counting again').toBe(1);
      await subscription.close();
      expect(await bus.redrive(name), 'nothing left to redrive').toBe(0);
    },
  );

  check('invalid', 'bad events and subscriptions are refused, naming the field', async (bus, scope) => {
    const refused = async (run: () => Promise<unknown>): Promise<string> => {
      try {
        await run();
      } catch (error) {
        return JSON.stringify((error as { issues?: unknown }).issues ?? String(error));
      }
      return 'accepted';
    };
    const good = event(scope, 'lead.created');
    expect(
      await refused(() => bus.publish([good, { ...good, type: 'no spaces allowed' }])),
      'bad type',
    ).toContain('events.1.type');
    expect(await refused(() => bus.publish([{ ...good, id: '' }])), 'empty id').toContain('events.0.id');
    expect(await refused(() => bus.publish([{ ...good, occurredAt: 'yesterday' }])), 'bad time').toContain(
      'events.0.occurredAt',
    );
    const handler: BusHandler = async () => {};
    expect(
      await refused(() => bus.subscribe({ name: 'has space', types: ['a.b'], handler })),
      'bad name',
    ).toContain('name');
    expect(
      await refused(() => bus.subscribe({ name: `${scope}-x`, types: [], handler })),
      'no types',
    ).toContain('types');
    expect(
      await refused(() => bus.subscribe({ name: `${scope}-y`, types: ['a.b'], handler, maxDeliveries: 0 })),
      'maxDeliveries 0',
    ).toContain('maxDeliveries');
  });

  check(
    'close',
    'closing a subscription waits for its running handler and stops deliveries',
    async (bus, scope) => {
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const done: string[] = [];
      const started: string[] = [];
      const subscription = await bus.subscribe({
        name: `${scope}-close`,
        types: [`${scope}.#`],
        concurrency: 1,
        handler: async (delivered) => {
          started.push(delivered.id);
          await gate;
          done.push(delivered.id);
        },
      });
      const first = event(scope, 'lead.created');
      await bus.publish([first]);
      await until(() => started.length >= 1, 'the first handler to start');
      let closed = false;
      const closing = subscription.close().then(() => {
        closed = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(closed, 'close waits for the running handler').toBe(false);
      release();
      await closing;
      expect(done, 'the running handler finished').toEqual([first.id]);
      await bus.publish([event(scope, 'lead.updated')]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(started.length, 'no delivery after close').toBe(1);
    },
  );
}

import { type BusEvent, createInProcessEventBus, deduplicateEvents, type EventBus } from '@leadpipe/core';
import { describe, expect, it } from 'vitest';
import { eventBusContract } from '../src/index.js';

describe('createInProcessEventBus', () => {
  eventBusContract(it, expect, { open: () => createInProcessEventBus() });

  it('tells an observer about each dead letter and keeps them for redrive, scrubbed', async () => {
    const observed: string[] = [];
    const bus = createInProcessEventBus({ onDeadLetter: (dead) => observed.push(dead.event.id) });
    await bus.subscribe({
      name: 'observed',
      types: ['lead.#'],
      maxDeliveries: 1,
      handler: async () => {
        throw new Error('handler failed');
      },
    });
    await bus.publish([
      { id: 'e-1', type: 'lead.created', occurredAt: new Date().toISOString(), payload: {} },
    ]);
    for (let turn = 0; turn < 100 && observed.length === 0; turn += 1)
      await new Promise((r) => setImmediate(r));
    expect(observed).toEqual(['e-1']);
    expect(bus.deadLetters('observed').map((dead) => [dead.event.id, dead.attempts, dead.error])).toEqual([
      ['e-1', 1, 'handler failed'],
    ]);
    expect(bus.pending('observed')).toBe(0);
    await bus.close();
    await expect(bus.publish([])).rejects.toThrow('closed');
  });
});

/** Runs a suite's checks by hand, collecting the names of those that fail. */
async function failingChecks(register: (collect: (name: string, fn: () => Promise<void>) => void) => void) {
  const checks: { name: string; fn: () => Promise<void> }[] = [];
  register((name, fn) => checks.push({ name, fn }));
  const failed: string[] = [];
  for (const { name, fn } of checks) await fn().catch(() => failed.push(name));
  return failed;
}

describe('the event bus contract suite', () => {
  it('fails a bus that delivers every event to every subscriber, and one that never redelivers', async () => {
    // A broken bus: one list of handlers, no topics, no queues, no retries.
    const broken = (): EventBus => {
      const handlers: ((event: BusEvent) => Promise<void>)[] = [];
      return {
        specificationVersion: 'v1',
        busId: 'broken',
        async publish(events) {
          for (const event of events) for (const handler of handlers) void handler(event).catch(() => {});
        },
        async subscribe(subscription) {
          const handler = (event: BusEvent) =>
            subscription.handler(event, { attempt: 1, signal: new AbortController().signal });
          handlers.push(handler);
          return {
            name: subscription.name,
            close: async () => void handlers.splice(handlers.indexOf(handler), 1),
          };
        },
        async redrive() {
          return 0;
        },
        async close() {},
      };
    };
    const failed = await failingChecks((collect) =>
      eventBusContract(collect, expect, { name: 'broken', open: broken, waitMs: 300 }),
    );
    expect(failed).toEqual(
      expect.arrayContaining([
        'broken: patterns select events: * is one word, # any number',
        'broken: subscribers sharing a name share the events, each to one of them',
        'broken: events published while a name has no subscriber wait for the next one',
        'broken: a failed handler gets the event again, with a growing attempt',
        'broken: after maxDeliveries the event is dead-lettered; redrive brings it back',
        'broken: bad events and subscriptions are refused, naming the field',
        'broken: closing a subscription waits for its running handler and stops deliveries',
      ]),
    );
    expect(failed).not.toContain('broken: a published event reaches a subscriber intact');
  });
});

describe('deduplicateEvents', () => {
  const at = new Date().toISOString();
  it('runs a handler once per event id, counting the duplicates, and again after a failure', async () => {
    const ran: string[] = [];
    let fail = true;
    const handler = deduplicateEvents(async (event) => {
      ran.push(event.id);
      if (event.id === 'flaky' && fail) throw new Error('first try fails');
    });
    const delivery = { attempt: 1, signal: new AbortController().signal };
    const first: BusEvent = { id: 'one', type: 'lead.created', occurredAt: at, payload: {} };
    await handler(first, delivery);
    await handler(first, { ...delivery, attempt: 2 });
    const flaky: BusEvent = { id: 'flaky', type: 'lead.created', occurredAt: at, payload: {} };
    await expect(handler(flaky, delivery)).rejects.toThrow('first try fails');
    fail = false;
    await handler(flaky, { ...delivery, attempt: 2 });
    await handler(flaky, { ...delivery, attempt: 3 });
    expect(ran).toEqual(['one', 'flaky', 'flaky']);
    expect(handler.handled()).toBe(2);
    expect(handler.duplicates()).toBe(2);
  });

  it('makes a copy arriving while the first runs wait for it instead of running twice', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let runs = 0;
    const handler = deduplicateEvents(async () => {
      runs += 1;
      await gate;
    });
    const event: BusEvent = { id: 'same', type: 'lead.created', occurredAt: at, payload: {} };
    const delivery = { attempt: 1, signal: new AbortController().signal };
    const both = Promise.all([handler(event, delivery), handler(event, delivery)]);
    release();
    await both;
    expect(runs).toBe(1);
  });

  it('refuses bad options, naming them', () => {
    expect(() => deduplicateEvents(async () => {}, { max: 0 })).toThrow('max');
  });
});

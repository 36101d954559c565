import { describe, expect, it } from 'vitest';
import {
  type BusEvent,
  createInProcessEventBus,
  createLead,
  createMemoryLeadStore,
  createMemoryOutboxPosition,
  createOutboxRelay,
  type LeadStoreEvent,
} from '../src/index.js';

/** A bus that only records what it was asked to publish, and can be told to fail. */
function recordingBus() {
  const published: BusEvent[] = [];
  let failing = false;
  return {
    published,
    fail: (value: boolean) => {
      failing = value;
    },
    async publish(events: readonly BusEvent[]) {
      if (failing) throw new Error('broker down');
      published.push(...events);
    },
  };
}

describe('createOutboxRelay', () => {
  it('publishes each outbox event once, with an id derived from its position, and resumes from the saved position', async () => {
    let time = Date.UTC(2026, 5, 1);
    const store = createMemoryLeadStore({ now: () => time });
    await store.upsert([createLead({ email: 'ada@acme.com' }), createLead({ email: 'bob@acme.com' })]);
    await store.upsert([createLead({ email: 'ada@acme.com', title: 'CTO' })]);
    time += 60_000;
    const bus = recordingBus();
    const position = createMemoryOutboxPosition();
    const relay = createOutboxRelay({ store, bus, position, batchSize: 2, now: () => time });
    expect(await relay.runOnce()).toBe(3);
    expect(bus.published.map((event) => event.type)).toEqual([
      'lead.created',
      'lead.created',
      'lead.updated',
    ]);
    expect(new Set(bus.published.map((event) => event.id)).size).toBe(3);
    expect(bus.published[0]?.id).toMatch(/^lead-outbox-\d+$/);
    // The update carries what it changed and the value before (none: Ada had no title); a creation carries neither.
    const ada = await store.getByEmail('ada@acme.com');
    expect(bus.published[0]?.payload).toEqual({ leadId: ada?.id });
    expect(bus.published[2]?.payload).toEqual({ leadId: ada?.id, changes: [{ field: 'title' }] });
    expect(await relay.runOnce()).toBe(0);
    // A new relay on the same position store (a restart) publishes only what came after.
    await store.upsert([createLead({ email: 'cy@acme.com' })]);
    time += 60_000;
    const restarted = createOutboxRelay({ store, bus, position, now: () => time });
    expect(await restarted.runOnce()).toBe(1);
    expect(bus.published).toHaveLength(4);
  });

  it('an update publishes its changed fields with their values before; an entry written without them, the id only', async () => {
    let time = Date.UTC(2026, 5, 1);
    const store = createMemoryLeadStore({ now: () => time });
    await store.upsert([
      createLead({
        email: 'ada@acme.com',
        title: 'CTO',
        company: { name: 'Acme', headcount: 150 },
        custom: { plan: 'free', score: 3 },
      }),
    ]);
    time += 1_000;
    await store.upsert([
      createLead({
        email: 'ada@acme.com',
        title: 'CEO',
        company: { name: 'Acme', headcount: 250 },
        custom: { plan: 'pro', region: 'EU' },
      }),
    ]);
    const bus = recordingBus();
    expect(await createOutboxRelay({ store, bus, settleMs: 0 }).runOnce()).toBe(2);
    expect(bus.published[1]?.payload).toEqual({
      leadId: (await store.getByEmail('ada@acme.com'))?.id,
      changes: [
        { field: 'title', before: 'CTO' },
        { field: 'company.headcount', before: 150 },
        { field: 'company.headcountRange', before: '51-200' },
        { field: 'custom.plan', before: 'free' },
        { field: 'custom.region' },
      ],
    });
    // An outbox row from before the store recorded changes (or a store that does not): what changed is unknown.
    const old: LeadStoreEvent = {
      position: '7',
      type: 'lead.updated',
      leadId: 'x',
      at: new Date(time).toISOString(),
    };
    const legacy = {
      readOutbox: async (read: { after?: string } = {}) => (read.after === undefined ? [old] : []),
    };
    const other = recordingBus();
    expect(await createOutboxRelay({ store: legacy, bus: other, settleMs: 0 }).runOnce()).toBe(1);
    expect(other.published[0]?.payload).toEqual({ leadId: 'x' });
  });

  it('a publish that fails saves nothing: the next run publishes the same events with the same ids', async () => {
    const store = createMemoryLeadStore();
    await store.upsert([createLead({ email: 'ada@acme.com' })]);
    const bus = recordingBus();
    const position = createMemoryOutboxPosition();
    bus.fail(true);
    const relay = createOutboxRelay({ store, bus, position, settleMs: 0 });
    await expect(relay.runOnce()).rejects.toThrow('broker down');
    expect(await position.load()).toBeUndefined();
    bus.fail(false);
    expect(await relay.runOnce()).toBe(1);
    expect(await position.load()).toBeDefined();
  });

  it('relays an event whose lower position committed after a higher one was read (inside settleMs)', async () => {
    let time = 1_000_000;
    const at = (ms: number) => new Date(ms).toISOString();
    const outbox: LeadStoreEvent[] = [{ position: '2', type: 'lead.created', leadId: 'b', at: at(time) }];
    const store = {
      async readOutbox(read: { after?: string; limit?: number } = {}) {
        return outbox
          .filter((event) => Number(event.position) > Number(read.after ?? 0))
          .sort((a, b) => Number(a.position) - Number(b.position))
          .slice(0, read.limit ?? 100);
      },
    };
    const bus = recordingBus();
    const relay = createOutboxRelay({ store, bus, settleMs: 5000, now: () => time });
    expect(await relay.runOnce()).toBe(1);
    // Position 1 commits late.
    outbox.push({ position: '1', type: 'lead.created', leadId: 'a', at: at(time - 10) });
    time += 1000;
    expect(await relay.runOnce()).toBe(1);
    expect(bus.published.map((event) => event.payload)).toEqual([{ leadId: 'b' }, { leadId: 'a' }]);
    time += 10_000;
    expect(await relay.runOnce()).toBe(0);
  });

  it('runs in the background into a real bus and stops cleanly; bad options are named', async () => {
    const store = createMemoryLeadStore();
    const bus = createInProcessEventBus();
    const seen: string[] = [];
    await bus.subscribe({
      name: 'watch',
      types: ['lead.*'],
      handler: async (event) => void seen.push(event.type),
    });
    const errors: unknown[] = [];
    const relay = createOutboxRelay({
      store,
      bus,
      pollMs: 5,
      settleMs: 0,
      onError: (error) => errors.push(error),
    });
    relay.start();
    await store.upsert([createLead({ email: 'ada@acme.com' })]);
    for (let turn = 0; turn < 200 && seen.length === 0; turn += 1) await new Promise((r) => setTimeout(r, 5));
    await relay.stop();
    expect(seen).toEqual(['lead.created']);
    expect(errors).toEqual([]);
    await bus.close();
    expect(() => createOutboxRelay({ store, bus, batchSize: 0 })).toThrow('batchSize');
    expect(() => createOutboxRelay({ store: {} as never, bus })).toThrow('store');
  });
});

import {
  type BusEvent,
  createInProcessEventBus,
  createLead,
  createMemoryLeadStore,
  createMemoryOutboxPosition,
  createOutboxRelay,
  type Lead,
  type LeadStoreV1,
} from '@leadpipe/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type CampaignDefinition,
  type CampaignTriggerSubscription,
  createCampaignEngine,
  createMemoryCampaignStore,
  subscribeCampaignTriggers,
} from '../src/index.js';
import { createTestEmailProvider, leadOf, startTestVendor, type TestVendor } from './support.js';

const T0 = Date.parse('2026-12-07T09:00:00Z');
const sender = { email: 'sales@acme.example', postalAddress: 'Acme Inc, 1 Main St, Springfield, USA' };
const unsubscribe = { baseUrl: 'https://acme.example/unsubscribe', secret: 'unsubscribe-secret-123456' };
const hello = { subject: 'Hello', text: 'Hello {{ first_name }}' };

const welcome: CampaignDefinition = {
  id: 'welcome',
  triggers: [{ type: 'event', event: 'lead.created' }],
  steps: [
    { id: 'one', type: 'email', template: hello },
    { id: 'pause', type: 'wait', durationMs: 86_400_000 },
    { id: 'two', type: 'email', template: hello },
  ],
};
const enterprise: CampaignDefinition = {
  id: 'enterprise',
  triggers: [{ type: 'condition', when: { field: 'company.headcount', op: '>=', value: 200 } }],
  steps: [{ id: 'exit', type: 'exit', reason: 'done' }],
};
const newTitle: CampaignDefinition = {
  id: 'new-title',
  triggers: [{ type: 'changed', field: 'title' }],
  steps: [{ id: 'exit', type: 'exit', reason: 'done' }],
};
const hubspot: CampaignDefinition = {
  id: 'hubspot',
  triggers: [{ type: 'event', event: 'crm.synced', match: { 'properties.crm': 'hubspot' } }],
  steps: [{ id: 'exit', type: 'exit', reason: 'done' }],
};
const demo: CampaignDefinition = {
  id: 'demo',
  triggers: [{ type: 'event', event: 'demo.requested' }],
  steps: [{ id: 'exit', type: 'exit', reason: 'done' }],
};

let vendor: TestVendor;
beforeAll(async () => {
  vendor = await startTestVendor();
});
afterAll(async () => {
  await vendor.close();
});
beforeEach(() => {
  vendor.reset();
});

function setup() {
  const now = () => T0;
  const store = createMemoryCampaignStore();
  const leads: LeadStoreV1 = createMemoryLeadStore({ now });
  const engine = createCampaignEngine({
    campaigns: [welcome, enterprise, newTitle, hubspot, demo],
    store,
    leads,
    email: createTestEmailProvider(vendor.url, { timeoutMs: 15_000 }),
    senders: [sender],
    unsubscribe,
    now,
  });
  return { engine, store, leads };
}

/** Wait until the subscription has seen `count` deliveries (handled or skipped as duplicates). */
async function delivered(subscription: CampaignTriggerSubscription, count: number): Promise<void> {
  for (let round = 0; round < 500; round += 1) {
    if (subscription.handled() + subscription.duplicates() >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`only ${subscription.handled() + subscription.duplicates()} of ${count} deliveries`);
}

const busEvent = (id: string, type: string, payload: unknown): BusEvent => ({
  id,
  type,
  occurredAt: new Date(T0).toISOString(),
  payload,
});

async function store(leads: LeadStoreV1, lead: Lead) {
  await leads.upsert([lead]);
  return (await leads.getByEmail(lead.email ?? ''))!;
}

/** A new observation of a lead (merged into the stored one by its email). */
const observed = (lead: Lead, fields: Partial<Parameters<typeof createLead>[0]>): Lead =>
  createLead({ email: lead.email ?? '', ...fields });

describe('campaign triggers from the event bus', () => {
  it('in-process bus: lead, CRM, custom and email events feed the engine; an event delivered twice enrolls once', async () => {
    const { engine, store: campaignStore, leads } = setup();
    const bus = createInProcessEventBus();
    const skipped: string[] = [];
    const subscription = await subscribeCampaignTriggers(engine, bus, {
      leads,
      onSkipped: (event, reason) => skipped.push(`${event.id}: ${reason}`),
    });
    const ada = await store(leads, leadOf(1, { title: 'CTO', company: { name: 'Initech', headcount: 150 } }));
    const created = busEvent('e-created', 'lead.created', { leadId: ada.id });
    // The same event twice (a relay resumed after a crash), then once more after it was handled.
    await bus.publish([created, created]);
    await delivered(subscription, 2);
    await bus.publish([created]);
    await delivered(subscription, 3);
    await engine.runDue();
    expect((await campaignStore.enrollmentsOfLead(ada.id)).map((e) => e.campaignId).sort()).toEqual([
      'new-title',
      'welcome',
    ]);
    expect(vendor.messages).toHaveLength(1);
    expect(subscription.duplicates()).toBe(2);

    // lead.updated carrying before/after: the crossing of headcount >= 200 enrolls, staying above does not.
    const before = (await leads.get(ada.id))!;
    const after = await store(leads, observed(ada, { company: { name: 'Initech', headcount: 250 } }));
    const bob = await store(leads, leadOf(2, { company: { name: 'Big', headcount: 900 } }));
    await bus.publish([
      busEvent('e-up-1', 'lead.updated', { leadId: ada.id, before, after }),
      busEvent('e-up-2', 'lead.updated', { leadId: bob.id, before: bob, after: bob }),
    ]);
    await delivered(subscription, 5);
    const campaignsOf = async (id: string) =>
      (await campaignStore.enrollmentsOfLead(id)).map((e) => e.campaignId).sort();
    expect(await campaignsOf(ada.id)).toEqual(['enterprise', 'new-title', 'welcome']);
    expect(await campaignsOf(bob.id)).toEqual([]);

    // crm.synced with a match, a custom event, an event without a lead, and a reply that exits.
    await bus.publish([
      busEvent('e-sync-1', 'crm.synced', { leadId: bob.id, properties: { crm: 'salesforce' } }),
      busEvent('e-sync-2', 'crm.synced', { leadId: bob.id, properties: { crm: 'hubspot' } }),
      busEvent('e-demo', 'demo.requested', { leadId: bob.id, source: 'site' }),
      busEvent('e-orphan', 'demo.requested', { source: 'site' }),
      busEvent('e-reply', 'email.replied', {
        email: ada.email,
        ledgerKey: vendor.messages[0]?.ledgerKey,
        occurredAt: new Date(T0 + 1000).toISOString(),
      }),
    ]);
    await delivered(subscription, 10);
    // crm.synced carries no `before`: the threshold condition holds now, so it enrolls (once per campaign).
    expect(await campaignsOf(bob.id)).toEqual(['demo', 'enterprise', 'hubspot']);
    expect(
      (await campaignStore.enrollmentsOfLead(bob.id)).find((e) => e.campaignId === 'demo')?.data,
    ).toEqual({
      source: 'site',
    });
    expect(skipped).toEqual(['e-orphan: no leadId in the payload']);
    const welcomeOfAda = (await campaignStore.enrollmentsOfLead(ada.id)).find(
      (e) => e.campaignId === 'welcome',
    );
    expect(welcomeOfAda).toMatchObject({ status: 'exited', reason: 'email.replied' });
    await subscription.close();
    await bus.close();
    await engine.close();
  });

  it('the lead store outbox relay feeds it: a republished outbox (relay restarted from the start) enrolls once', async () => {
    const { engine, store: campaignStore, leads } = setup();
    const bus = createInProcessEventBus();
    const subscription = await subscribeCampaignTriggers(engine, bus, { leads, name: 'campaigns-outbox' });
    const lead = await store(leads, leadOf(3, { company: { name: 'Small', headcount: 20 } }));
    // Two relays with their own in-memory positions: the second publishes the same outbox again, same ids.
    for (let round = 0; round < 2; round += 1)
      expect(await createOutboxRelay({ store: leads, bus, settleMs: 0 }).runOnce()).toBe(1);
    await delivered(subscription, 2);
    expect(subscription.duplicates()).toBe(1);
    await engine.runDue();
    expect((await campaignStore.enrollmentsOfLead(lead.id)).map((e) => e.campaignId)).toEqual(['welcome']);
    expect(vendor.messages).toHaveLength(1);

    // An outbox lead.updated carries what it changed: the headcount crossing 200 and the new title both enroll.
    await store(leads, observed(lead, { title: 'VP Sales', company: { name: 'Small', headcount: 300 } }));
    const relay = createOutboxRelay({ store: leads, bus, settleMs: 0 });
    expect(await relay.runOnce()).toBe(2);
    await delivered(subscription, 4);
    expect((await campaignStore.enrollmentsOfLead(lead.id)).map((e) => e.campaignId).sort()).toEqual([
      'enterprise',
      'new-title',
      'welcome',
    ]);
    await subscription.close();
    await bus.close();
    await engine.close();
  });

  it('outbox updates carry their changes: a title change and a headcount crossing enroll, an update that stays above does not', async () => {
    const { engine, store: campaignStore, leads } = setup();
    const bus = createInProcessEventBus();
    const subscription = await subscribeCampaignTriggers(engine, bus, { leads, name: 'campaigns-changes' });
    const campaignsOf = async (id: string) =>
      (await campaignStore.enrollmentsOfLead(id)).map((e) => e.campaignId).sort();
    /** The same person seen again at T0 + `ms` (newer than what is stored, so its values win). */
    const seenAgain = (lead: Lead, ms: number, fields: Partial<Parameters<typeof createLead>[0]>) =>
      createLead({ email: lead.email ?? '', ...fields }, { now: () => new Date(T0 + ms) });
    // Bob was stored before the campaigns listened (the relay starts past his lead.created), already above 200.
    const bob = await store(leads, leadOf(5, { title: 'CFO', company: { name: 'Big', headcount: 300 } }));
    const [bobCreated] = await leads.readOutbox();
    const relay = createOutboxRelay({
      store: leads,
      bus,
      settleMs: 0,
      position: createMemoryOutboxPosition(bobCreated!.position),
    });
    const ada = await store(leads, leadOf(4, { company: { name: 'Initech', headcount: 150 } }));
    expect(await relay.runOnce()).toBe(1);
    await delivered(subscription, 1);
    expect(await campaignsOf(ada.id), 'created below 200, no title').toEqual(['welcome']);

    // Ada's headcount crosses 200; Bob's grows but stays above it.
    await store(leads, seenAgain(ada, 1_000, { company: { name: 'Initech', headcount: 250 } }));
    await store(leads, seenAgain(bob, 1_000, { company: { name: 'Big', headcount: 400 } }));
    expect(await relay.runOnce()).toBe(2);
    await delivered(subscription, 3);
    expect(await campaignsOf(ada.id), 'the crossing enrolls').toEqual(['enterprise', 'welcome']);
    expect(await campaignsOf(bob.id), 'staying above does not').toEqual([]);

    // A title change reaches the field-change trigger: Bob's CFO -> CEO, Ada's first title.
    await store(leads, seenAgain(bob, 2_000, { title: 'CEO' }));
    await store(leads, seenAgain(ada, 2_000, { title: 'VP Sales' }));
    expect(await relay.runOnce()).toBe(2);
    await delivered(subscription, 5);
    expect(await campaignsOf(bob.id)).toEqual(['new-title']);
    expect(await campaignsOf(ada.id)).toEqual(['enterprise', 'new-title', 'welcome']);
    // What changed is not kept as the event's data: the enrollment's data stays empty.
    const enrolled = (await campaignStore.enrollmentsOfLead(bob.id))[0];
    expect(enrolled?.data ?? {}).toEqual({});
    await subscription.close();
    await bus.close();
    await engine.close();
  });

  it('a lead.updated whose changes are unknown (an old outbox row) enrolls a condition that holds now, no field change', async () => {
    const { engine, store: campaignStore, leads } = setup();
    const bus = createInProcessEventBus();
    const subscription = await subscribeCampaignTriggers(engine, bus, { leads, name: 'campaigns-old-rows' });
    const carl = await store(leads, leadOf(6, { title: 'CTO', company: { name: 'Big', headcount: 300 } }));
    const campaignsOf = async () =>
      (await campaignStore.enrollmentsOfLead(carl.id)).map((e) => e.campaignId).sort();
    await bus.publish([busEvent('old-row', 'lead.updated', { leadId: carl.id })]);
    await delivered(subscription, 1);
    expect(await campaignsOf(), 'holds now: enrolls; the title change is not seen').toEqual(['enterprise']);
    await bus.publish([
      // Hostile paths change nothing and reach no prototype; the title's change is seen.
      busEvent('odd-paths', 'lead.updated', {
        leadId: carl.id,
        changes: [
          { field: '__proto__.polluted', before: 1 },
          { field: 'id', before: 'x' },
          { field: 'title', before: 'CFO' },
        ],
      }),
    ]);
    await delivered(subscription, 2);
    expect(await campaignsOf()).toEqual(['enterprise', 'new-title']);
    expect(({} as Record<string, unknown>).polluted).toBe(undefined);
    await subscription.close();
    await bus.close();
    await engine.close();
  });

  it('needs the lead store', async () => {
    const { engine } = setup();
    await expect(
      subscribeCampaignTriggers(engine, createInProcessEventBus(), {} as never),
    ).rejects.toMatchObject({ code: 'invalid_configuration' });
    await engine.close();
  });
});

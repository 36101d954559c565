import { randomBytes } from 'node:crypto';
import {
  createInProcessEventBus,
  createLead,
  createMemoryOutboxPosition,
  createOutboxRelay,
  type LeadInput,
} from '@leadpipe/core';
import { openPostgresStore, type PostgresStore } from '@leadpipe/store-postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CampaignDefinition,
  createCampaignEngine,
  createMemoryCampaignStore,
  subscribeCampaignTriggers,
} from '../src/index.js';

// The store's test database (made by scripts/integration-setup.ts); a schema of our own, not `lp_t_*`, which the
// setup of a concurrent integration run drops.
const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
url.pathname = '/leadpipe_store_test';
const schema = `wt_campaigns_${randomBytes(6).toString('hex')}`;
let store: PostgresStore;

beforeAll(async () => {
  store = await openPostgresStore({ connection: url.toString(), schema, maxConnections: 2 });
});
afterAll(async () => {
  await store?.close();
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
});

const welcome: CampaignDefinition = {
  id: 'welcome',
  triggers: [{ type: 'event', event: 'lead.created' }],
  steps: [{ id: 'tag', type: 'updateLead', custom: { welcomed: true } }],
};

const enterprise: CampaignDefinition = {
  id: 'enterprise',
  triggers: [{ type: 'condition', when: { field: 'company.headcount', op: '>=', value: 200 } }],
  steps: [{ id: 'done', type: 'exit', reason: 'done' }],
};

const newTitle: CampaignDefinition = {
  id: 'new-title',
  triggers: [{ type: 'changed', field: 'title' }],
  steps: [{ id: 'done', type: 'exit', reason: 'done' }],
};

describe('campaign triggers from the PostgreSQL lead store outbox', () => {
  it('the outbox relay feeds the engine through the bus; a republished outbox enrolls once', async () => {
    const leads = store.leads;
    const campaignStore = createMemoryCampaignStore();
    const engine = createCampaignEngine({
      campaigns: [welcome, enterprise],
      store: campaignStore,
      leads,
    });
    const bus = createInProcessEventBus();
    const subscription = await subscribeCampaignTriggers(engine, bus, { leads });
    const delivered = async (count: number) => {
      for (
        let round = 0;
        round < 1000 && subscription.handled() + subscription.duplicates() < count;
        round += 1
      )
        await new Promise((resolve) => setTimeout(resolve, 10));
      expect(subscription.handled() + subscription.duplicates()).toBeGreaterThanOrEqual(count);
    };
    await leads.upsert([
      createLead({ email: 'ada@initech.example', company: { name: 'Initech', headcount: 40 } }),
    ]);
    const lead = (await leads.getByEmail('ada@initech.example'))!;
    // Two relays, each from the start (a relay that lost its position): the same outbox entry twice, same id.
    for (let round = 0; round < 2; round += 1)
      expect(await createOutboxRelay({ store: leads, bus, settleMs: 0 }).runOnce()).toBe(1);
    await delivered(2);
    expect(subscription.duplicates()).toBe(1);
    await engine.runDue();
    expect((await campaignStore.enrollmentsOfLead(lead.id)).map((e) => [e.campaignId, e.status])).toEqual([
      ['welcome', 'completed'],
    ]);
    // The engine's updateLead step wrote the lead (a lead.updated in the outbox); then the headcount grows.
    expect((await leads.get(lead.id))?.custom).toMatchObject({ welcomed: true });
    await leads.upsert([
      createLead({ email: 'ada@initech.example', company: { name: 'Initech', headcount: 450 } }),
    ]);
    const relay = createOutboxRelay({ store: leads, bus, settleMs: 0 });
    const published = await relay.runOnce();
    expect(published).toBeGreaterThanOrEqual(2);
    await delivered(2 + published);
    expect((await campaignStore.enrollmentsOfLead(lead.id)).map((e) => e.campaignId).sort()).toEqual([
      'enterprise',
      'welcome',
    ]);
    await subscription.close();
    await bus.close();
    await engine.close();
  });

  it('outbox updates carry their changes: a title change and a headcount crossing enroll, an update that stays above does not', async () => {
    const leads = store.leads;
    const campaignStore = createMemoryCampaignStore();
    const engine = createCampaignEngine({ campaigns: [enterprise, newTitle], store: campaignStore, leads });
    const bus = createInProcessEventBus();
    const subscription = await subscribeCampaignTriggers(engine, bus, { leads, name: 'campaign-changes' });
    const delivered = async (count: number) => {
      for (let round = 0; round < 1000 && subscription.handled() < count; round += 1)
        await new Promise((resolve) => setTimeout(resolve, 10));
      expect(subscription.handled()).toBe(count);
    };
    let time = Date.parse('2026-12-07T09:00:00Z');
    /** Store what is known of a person now (each call a second later, so its values win the merge). */
    const seen = async (input: LeadInput) => {
      time += 1_000;
      await leads.upsert([createLead(input, { now: () => new Date(time) })]);
      return (await leads.getByEmail(input.email ?? ''))!;
    };
    const campaignsOf = async (id: string) =>
      (await campaignStore.enrollmentsOfLead(id)).map((e) => e.campaignId).sort();
    // Bob was stored before the campaigns listened, already above 200: the relay starts after him.
    const bob = await seen({
      email: 'bob@big.example',
      title: 'CFO',
      company: { name: 'Big', headcount: 300 },
    });
    const last = (await leads.readOutbox({ limit: 1_000 })).at(-1)!;
    const relay = createOutboxRelay({
      store: leads,
      bus,
      settleMs: 0,
      position: createMemoryOutboxPosition(last.position),
    });
    const cy = await seen({ email: 'cy@initech.example', company: { name: 'Initech', headcount: 150 } });
    await seen({ email: 'cy@initech.example', company: { name: 'Initech', headcount: 250 } });
    await seen({ email: 'bob@big.example', company: { name: 'Big', headcount: 400 } });
    expect(await relay.runOnce()).toBe(3);
    await delivered(3);
    expect(await campaignsOf(cy.id), 'the crossing enrolls').toEqual(['enterprise']);
    expect(await campaignsOf(bob.id), 'staying above does not').toEqual([]);
    await seen({ email: 'bob@big.example', title: 'CEO' });
    expect(await relay.runOnce()).toBe(1);
    await delivered(4);
    expect(await campaignsOf(bob.id), 'the title change fires the field-change trigger').toEqual([
      'new-title',
    ]);
    await subscription.close();
    await bus.close();
    await engine.close();
  });
});

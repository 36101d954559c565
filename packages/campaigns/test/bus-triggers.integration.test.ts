import { randomBytes } from 'node:crypto';
import { createInProcessEventBus, createLead, createOutboxRelay } from '@leadpipe/core';
import { openPostgresStore, type PostgresStore } from '@leadpipe/store-postgres';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
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
let store: PostgresStore | undefined;

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

describe('campaign triggers from the PostgreSQL lead store outbox', () => {
  it('the outbox relay feeds the engine through the bus; a republished outbox enrolls once', async () => {
    store = await openPostgresStore({ connection: url.toString(), schema, maxConnections: 2 });
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
});

import { ConfigurationError, createMemoryLeadStore, type LeadStoreV1 } from '@leadpipe/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type CampaignDefinition,
  type CampaignEngineOptions,
  createCampaignEngine,
  createMemoryCampaignStore,
  loadCampaign,
  parseEventMatch,
  toEngineCampaign,
} from '../src/index.js';
import { createTestEmailProvider, leadOf, startTestVendor, type TestVendor } from './support.js';

const T0 = Date.parse('2026-12-07T09:00:00Z');
const sender = { email: 'sales@acme.example', postalAddress: 'Acme Inc, 1 Main St, Springfield, USA' };
const unsubscribe = { baseUrl: 'https://acme.example/unsubscribe', secret: 'unsubscribe-secret-123456' };
const hello = { subject: 'Hello', text: 'Hello {{ first_name }}' };

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

function setup(campaigns: readonly CampaignDefinition[], extra: Partial<CampaignEngineOptions> = {}) {
  const clock = { t: T0 };
  const now = () => clock.t;
  const store = createMemoryCampaignStore();
  const leads: LeadStoreV1 = createMemoryLeadStore({ now });
  const engine = createCampaignEngine({
    campaigns,
    store,
    leads,
    email: createTestEmailProvider(vendor.url, { timeoutMs: 15_000 }),
    senders: [sender],
    unsubscribe,
    now,
    ...extra,
  });
  return { engine, store, leads, clock };
}

function issuesOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    expect(ConfigurationError.isInstance(error)).toBe(true);
    return (error as ConfigurationError).issues.map((issue) => `${issue.field}: ${issue.reason}`);
  }
  throw new Error('expected a ConfigurationError');
}

describe('event match filters', () => {
  it('an event trigger with a match enrolls only on events whose data passes it (map and condition forms)', async () => {
    const hubspot: CampaignDefinition = {
      id: 'hubspot',
      triggers: [{ type: 'event', event: 'crm.synced', match: { 'properties.crm': 'hubspot' } }],
      steps: [{ id: 'hi', type: 'email', template: hello }],
    };
    const big: CampaignDefinition = {
      id: 'big-deal',
      triggers: [{ type: 'event', event: 'deal.updated', match: 'amount >= 10000' }],
      steps: [{ id: 'hi', type: 'email', template: hello }],
    };
    const { engine, store, leads } = setup([hubspot, big]);
    const lead = leadOf(1);
    await leads.upsert([lead]);
    const stored = (await leads.get(lead.id))!;
    await engine.handleLeadEvent({
      type: 'crm.synced',
      lead: stored,
      id: 'sync-1',
      data: { properties: { crm: 'salesforce' } },
    });
    await engine.publish({ id: 'deal-1', type: 'deal.updated', leadId: lead.id, data: { amount: 500 } });
    expect(await store.enrollmentsOfLead(lead.id)).toEqual([]);
    await engine.handleLeadEvent({
      type: 'crm.synced',
      lead: stored,
      id: 'sync-2',
      data: { properties: { crm: 'hubspot' } },
    });
    await engine.publish({ id: 'deal-2', type: 'deal.updated', leadId: lead.id, data: { amount: 25_000 } });
    const enrollments = await store.enrollmentsOfLead(lead.id);
    expect(enrollments.map((enrollment) => enrollment.campaignId).sort()).toEqual(['big-deal', 'hubspot']);
    // The event's data becomes the enrollment's data.
    expect(enrollments.find((e) => e.campaignId === 'hubspot')?.data).toEqual({
      properties: { crm: 'hubspot' },
    });
    await engine.close();
  });

  it('an exit rule with a match exits on a matching event only, as it arrives and when checked before a step', async () => {
    const campaign: CampaignDefinition = {
      id: 'nurture',
      triggers: [{ type: 'event', event: 'lead.created' }],
      exitOn: ['email.replied', { event: 'deal.updated', match: 'stage = won' }],
      steps: [
        { id: 'one', type: 'email', template: hello },
        { id: 'pause', type: 'wait', durationMs: 60_000 },
        { id: 'two', type: 'email', template: hello },
      ],
    };
    const { engine, store, leads, clock } = setup([campaign]);
    const [a, b] = [leadOf(2), leadOf(3)];
    await leads.upsert([a, b]);
    for (const lead of [a, b])
      await engine.handleLeadEvent({ type: 'lead.created', lead: (await leads.get(lead.id))! });
    await engine.runDue();
    expect(vendor.messages).toHaveLength(2);
    // A non-matching event changes nothing; a matching one exits as it arrives.
    await engine.publish({ id: 'd1', type: 'deal.updated', leadId: a.id, data: { stage: 'open' } });
    expect((await store.enrollmentsOfLead(a.id))[0]?.status).toBe('active');
    await engine.publish({ id: 'd2', type: 'deal.updated', leadId: a.id, data: { stage: 'won' } });
    expect((await store.enrollmentsOfLead(a.id))[0]).toMatchObject({
      status: 'exited',
      reason: 'deal.updated',
    });
    // Stored by another process without the exit applied: the check before the next step finds it, and only
    // the matching one counts.
    await store.recordEvent({
      id: 'd3',
      type: 'deal.updated',
      leadId: b.id,
      at: T0 + 1,
      data: { stage: 'open' },
    });
    clock.t = T0 + 120_000;
    await engine.runDue();
    expect((await store.enrollmentsOfLead(b.id))[0]?.status).toBe('completed');
    expect(vendor.messages.filter((message) => message.to.email === b.email)).toHaveLength(2);
    expect(vendor.messages.filter((message) => message.to.email === a.email)).toHaveLength(1);
    await engine.close();
  });

  it('a stored matching exit event counts before the next step', async () => {
    const campaign: CampaignDefinition = {
      id: 'nurture',
      triggers: [{ type: 'event', event: 'lead.created' }],
      exitOn: [{ event: 'deal.updated', match: { stage: 'won' } }],
      steps: [
        { id: 'one', type: 'email', template: hello },
        { id: 'pause', type: 'wait', durationMs: 60_000 },
        { id: 'two', type: 'email', template: hello },
      ],
    };
    const { engine, store, leads, clock } = setup([campaign]);
    const lead = leadOf(4);
    await leads.upsert([lead]);
    await engine.handleLeadEvent({ type: 'lead.created', lead: (await leads.get(lead.id))! });
    await engine.runDue();
    await store.recordEvent({
      id: 'w',
      type: 'deal.updated',
      leadId: lead.id,
      at: T0 + 1,
      data: { stage: 'won' },
    });
    clock.t = T0 + 120_000;
    await engine.runDue();
    expect((await store.enrollmentsOfLead(lead.id))[0]).toMatchObject({
      status: 'exited',
      reason: 'deal.updated',
    });
    expect(vendor.messages).toHaveLength(1);
    await engine.close();
  });

  it('a wait for an event with a match ends only on a matching event', async () => {
    const campaign: CampaignDefinition = {
      id: 'wait-match',
      triggers: [{ type: 'event', event: 'lead.created' }],
      steps: [
        {
          id: 'wait',
          type: 'waitForEvent',
          events: ['form.submitted'],
          match: 'data.form = demo',
          timeoutMs: 3_600_000,
          onEvent: 'demo',
          onTimeout: 'late',
        },
        { id: 'demo', type: 'exit', reason: 'demo' },
        { id: 'late', type: 'exit', reason: 'late' },
      ],
    };
    const { engine, store, leads } = setup([campaign]);
    const lead = leadOf(5);
    await leads.upsert([lead]);
    await engine.handleLeadEvent({ type: 'lead.created', lead: (await leads.get(lead.id))! });
    await engine.runDue();
    await engine.publish({ id: 'f1', type: 'form.submitted', leadId: lead.id, data: { form: 'newsletter' } });
    await engine.runDue();
    expect((await store.enrollmentsOfLead(lead.id))[0]?.status).toBe('active');
    await engine.publish({ id: 'f2', type: 'form.submitted', leadId: lead.id, data: { form: 'demo' } });
    await engine.runDue();
    expect((await store.enrollmentsOfLead(lead.id))[0]).toMatchObject({ status: 'exited', reason: 'demo' });
    await engine.close();
  });

  it('refuses bad matches naming the field, in TypeScript definitions and in campaign files', () => {
    expect(
      issuesOf(() =>
        setup([
          {
            id: 'bad',
            triggers: [
              { type: 'event', event: 'crm.synced', match: { 'properties.crm': { nested: 1 } } as never },
            ],
            exitOn: [{ event: 'deal.updated', match: 'stage ~ won' }],
            steps: [{ id: 'x', type: 'exit' }],
          },
        ]),
      ),
    ).toEqual([
      'campaigns.0.triggers.0.match.properties.crm: expected a string, number, boolean or null to compare with',
      expect.stringMatching(/^campaigns\.0\.exitOn\.0\.match: expected "field op value"/),
    ]);
    expect(parseEventMatch({ 'properties.crm': 'hubspot', count: 2 })).toEqual({
      ok: true,
      condition: {
        all: [
          { field: 'properties.crm', op: '=', value: 'hubspot' },
          { field: 'count', op: '=', value: 2 },
        ],
      },
    });
    const file = (trigger: string, exit: string) => `
id: filtered
timeZone: UTC
trigger: ${trigger}
exitOn: ${exit}
sender: { from: sales@acme.test, postalAddress: "1 Main St, Springfield", unsubscribeBaseUrl: https://acme.test/u }
steps:
  - exit: true
`;
    expect(
      issuesOf(() =>
        loadCampaign(
          file(
            '{ event: { name: crm.synced, match: { properties.crm: [1] } } }',
            '[{ event: x.y, match: "a >" }]',
          ),
        ),
      ),
    ).toEqual([
      'trigger.event.match.properties.crm: expected a string, number, boolean or null to compare with',
      expect.stringMatching(/^exitOn\[0\]\.match: /),
    ]);
    const loaded = toEngineCampaign(
      loadCampaign(
        file(
          '{ event: { name: crm.synced, match: { properties.crm: hubspot } } }',
          '[reply, { event: deal.updated, match: "stage = won" }]',
        ),
      ),
    );
    expect(loaded.campaign.triggers).toEqual([
      {
        type: 'event',
        event: 'crm.synced',
        match: { all: [{ field: 'properties.crm', op: '=', value: 'hubspot' }] },
      },
    ]);
    expect(loaded.campaign.exitOn).toEqual([
      'email.replied',
      { event: 'deal.updated', match: { field: 'stage', op: '=', value: 'won' } },
    ]);
  });

  it('a YAML campaign with a trigger match and an exit match runs through the engine', async () => {
    const yaml = `
id: yaml-match
timeZone: UTC
trigger: { event: { name: crm.synced, match: { properties.crm: hubspot } } }
exitOn: [reply, { event: deal.updated, match: "stage = won" }]
sender: { from: sales@acme.test, postalAddress: "1 Main St, Springfield", unsubscribeBaseUrl: https://acme.test/u }
sendingWindow: [{ days: [mon, tue, wed, thu, fri, sat, sun], start: "00:00", end: "23:59" }]
steps:
  - wait: { duration: 1h }
  - email: { template: { subject: Hi, html: '<a href="{{ unsubscribe_url }}">unsubscribe</a>' } }
`;
    const loaded = toEngineCampaign(loadCampaign(yaml));
    const { engine, store, leads, clock } = setup([loaded.campaign], {
      senders: loaded.senders,
      unsubscribe: { baseUrl: loaded.unsubscribeBaseUrl, secret: unsubscribe.secret },
    });
    const [a, b] = [leadOf(6), leadOf(7)];
    await leads.upsert([a, b]);
    for (const lead of [a, b])
      await engine.handleLeadEvent({
        type: 'crm.synced',
        lead: (await leads.get(lead.id))!,
        data: { properties: { crm: lead === a ? 'hubspot' : 'pipedrive' } },
      });
    expect((await store.enrollmentsOfLead(b.id)).length).toBe(0);
    await engine.publish({ id: 'won', type: 'deal.updated', leadId: a.id, data: { stage: 'won' } });
    clock.t = T0 + 2 * 3_600_000;
    await engine.runDue();
    expect((await store.enrollmentsOfLead(a.id))[0]).toMatchObject({
      status: 'exited',
      reason: 'deal.updated',
    });
    expect(vendor.messages).toHaveLength(0);
    await engine.close();
  });
});

import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CampaignStoreV1,
  ConfigurationError,
  type CrmAdapterV1,
  type CrmUpsertRequest,
  createLimiterRegistry,
  createMemoryLeadStore,
  type EmailEvent,
  type LeadStoreV1,
} from '@leadpipe/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type CampaignDefinition,
  type CampaignEngine,
  type CampaignEngineEvents,
  type CampaignEngineOptions,
  createCampaignEngine,
  createMemoryCampaignStore,
  createUnsubscribeToken,
  ledgerKeyOf,
  pickVariant,
  variantKeyOf,
  verifyUnsubscribeToken,
} from '../src/index.js';
import { createTestEmailProvider, leadOf, startTestVendor, type TestVendor } from './support.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-12-07T09:00:00Z');
const sender = {
  email: 'sales@acme.example',
  name: 'Acme Sales',
  postalAddress: 'Acme Inc, 1 Main St, Springfield, USA',
};
const unsubscribe = { baseUrl: 'https://acme.example/unsubscribe', secret: 'unsubscribe-secret-123456' };

const twoEmails: CampaignDefinition = {
  id: 'welcome',
  triggers: [{ type: 'event', event: 'lead.created' }],
  steps: [
    {
      id: 'intro',
      type: 'email',
      template: {
        subject: 'Hi {{ first_name | default: "there" }}',
        html: '<p>Hello {{ first_name | default: "there" }} from {{ company_name | default: "your team" }}</p>',
        text: 'Hello {{ first_name | default: "there" }}',
      },
    },
    { id: 'pause', type: 'wait', durationMs: 2 * DAY },
    {
      id: 'followup',
      type: 'email',
      template: { subject: 'Following up', text: 'Any thoughts, {{ first_name }}?' },
    },
  ],
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

interface Setup {
  readonly engine: CampaignEngine;
  readonly store: CampaignStoreV1;
  readonly leads: LeadStoreV1;
  readonly clock: { t: number };
  readonly seen: { name: string; payload: unknown }[];
}

function setup(campaigns: readonly CampaignDefinition[], extra: Partial<CampaignEngineOptions> = {}): Setup {
  const clock = { t: T0 };
  const now = () => clock.t;
  const store = extra.store ?? createMemoryCampaignStore();
  const leads = extra.leads ?? createMemoryLeadStore({ now, customFields: ['plan'] });
  const engine = createCampaignEngine({
    campaigns,
    store,
    leads,
    email: createTestEmailProvider(vendor.url, { timeoutMs: 15_000 }),
    senders: [sender],
    unsubscribe,
    now,
    random: () => 0.5,
    retry: { retries: 2, minDelayMs: 1000, maxDelayMs: 10_000 },
    recheckMs: 60_000,
    ...extra,
  });
  const seen: { name: string; payload: unknown }[] = [];
  const names: (keyof CampaignEngineEvents)[] = [
    'enrollment.created',
    'enrollment.exited',
    'enrollment.completed',
    'enrollment.failed',
    'step.retrying',
    'email.sent',
    'email.suppressed',
    'email.deferred',
    'send.needsReview',
    'send.reconciled',
    'webhook.called',
  ];
  for (const name of names) engine.on(name, (payload) => seen.push({ name, payload }));
  return { engine, store, leads, clock, seen };
}

async function addLead(leads: LeadStoreV1, index: number, fields = {}) {
  const lead = leadOf(index, fields);
  await leads.upsert([lead]);
  return lead;
}

const sentTo = (email: string) => vendor.messages.filter((message) => message.to.email === email);

describe('enrollment', () => {
  it('enrolls on an event trigger and sends the first email at once, with compliance headers, link and postal address', async () => {
    const { engine, leads, store } = setup([twoEmails]);
    const lead = await addLead(leads, 1, { company: { name: 'Initech & Co' } });
    await engine.handleLeadEvent({ type: 'lead.created', lead });
    await engine.runDue();
    expect(vendor.messages).toHaveLength(1);
    const [message] = vendor.messages;
    expect(message?.subject).toBe('Hi Lead1');
    expect(message?.html).toContain('from Initech &amp; Co');
    expect(message?.from).toEqual({ email: sender.email, name: sender.name });
    const header = message?.headers?.['List-Unsubscribe'] ?? '';
    expect(header).toMatch(/^<https:\/\/acme\.example\/unsubscribe\?token=[^>]+>$/);
    expect(message?.headers?.['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    const link = header.slice(1, -1);
    expect(message?.html).toContain(link.replaceAll('&', '&amp;'));
    expect(message?.text).toContain(`Unsubscribe: ${link}`);
    expect(message?.text).toContain(sender.postalAddress);
    expect(message?.html).toContain(sender.postalAddress);
    const enrollment = (await store.enrollmentsOfLead(lead.id))[0];
    expect(message?.ledgerKey).toBe(ledgerKeyOf(enrollment?.id ?? '', 'intro'));
    expect(enrollment?.stepId).toBe('pause');
    expect(enrollment?.nextRunAt).toBe(T0 + 2 * DAY);
  });

  it('never enrolls a lead twice in one campaign, whatever the events', async () => {
    const { engine, leads, store } = setup([twoEmails]);
    const lead = await addLead(leads, 2);
    await engine.handleLeadEvent({ type: 'lead.created', lead, id: 'a' });
    await engine.handleLeadEvent({ type: 'lead.created', lead, id: 'b' });
    await Promise.all([
      engine.handleLeadEvent({ type: 'lead.created', lead, id: 'c' }),
      engine.enroll('welcome', lead.id),
    ]);
    await engine.runDue();
    expect((await store.enrollmentsOfLead(lead.id)).length).toBe(1);
    expect(sentTo(lead.email ?? '')).toHaveLength(1);
    expect((await engine.stats('welcome')).enrolled).toBe(1);
  });

  it('condition triggers enroll on a threshold crossing, not while it stays crossed; changed triggers on a new value', async () => {
    const crossing: CampaignDefinition = {
      id: 'big',
      triggers: [{ type: 'condition', when: { field: 'company.headcount', op: '>=', value: 200 } }],
      steps: [{ id: 'done', type: 'exit', reason: 'test' }],
    };
    const retitled: CampaignDefinition = {
      id: 'retitled',
      triggers: [{ type: 'changed', field: 'title' }],
      steps: [{ id: 'x', type: 'exit' }],
    };
    const { engine, leads, store } = setup([crossing, retitled]);
    const small = leadOf(3, { company: { name: 'S', headcount: 150 }, title: 'Engineer' });
    const grown = leadOf(3, { company: { name: 'S', headcount: 250 }, title: 'Engineer' });
    const stillBig = leadOf(4, { company: { name: 'B', headcount: 300 }, title: 'Engineer' });
    const biggerStill = leadOf(4, { company: { name: 'B', headcount: 400 }, title: 'Engineer' });
    await leads.upsert([grown, biggerStill]);
    await engine.handleLeadEvent({ type: 'lead.updated', lead: small, previous: small, id: 's1' });
    expect(await store.enrollmentsOfLead(small.id)).toHaveLength(0);
    await engine.handleLeadEvent({ type: 'lead.updated', lead: grown, previous: small, id: 's2' });
    expect((await store.enrollmentsOfLead(small.id)).map((e) => e.campaignId)).toEqual(['big']);
    await engine.handleLeadEvent({ type: 'lead.updated', lead: biggerStill, previous: stillBig, id: 'b1' });
    expect(await store.enrollmentsOfLead(stillBig.id)).toHaveLength(0);
    const promoted = leadOf(4, { company: { name: 'B', headcount: 400 }, title: 'VP Engineering' });
    await engine.handleLeadEvent({ type: 'lead.updated', lead: promoted, previous: biggerStill, id: 'b2' });
    expect((await store.enrollmentsOfLead(stillBig.id)).map((e) => e.campaignId)).toEqual(['retitled']);
  });

  it('keeps leads outside the audience out', async () => {
    const campaign: CampaignDefinition = {
      ...twoEmails,
      id: 'de-only',
      audience: { field: 'location.countryCode', op: '=', value: 'DE' },
    };
    const { engine, leads } = setup([campaign]);
    const us = await addLead(leads, 5, { location: { countryCode: 'US' } });
    const de = await addLead(leads, 6, { location: { countryCode: 'DE' } });
    expect(await engine.enroll('de-only', us.id)).toBe(false);
    expect(await engine.enroll('de-only', de.id)).toBe(true);
  });

  it('custom events and email events trigger enrollment too', async () => {
    const onDemo: CampaignDefinition = {
      id: 'demo',
      triggers: [{ type: 'event', event: 'demo.requested' }],
      steps: [
        { id: 'hello', type: 'email', template: { subject: 'Demo for {{ data.product }}', text: 'Hi' } },
      ],
    };
    const onClick: CampaignDefinition = {
      id: 'clicked',
      triggers: [{ type: 'event', event: 'email.clicked' }],
      steps: [{ id: 'x', type: 'exit' }],
    };
    const { engine, leads, store } = setup([onDemo, onClick]);
    const lead = await addLead(leads, 7);
    await engine.publish({ id: 'd1', type: 'demo.requested', leadId: lead.id, data: { product: 'Rockets' } });
    await engine.runDue();
    expect(sentTo(lead.email ?? '').map((m) => m.subject)).toEqual(['Demo for Rockets']);
    await engine.ingestEmailEvents([
      { eventId: 'c1', type: 'clicked', email: lead.email ?? '', occurredAt: new Date(T0).toISOString() },
    ]);
    expect((await store.enrollmentsOfLead(lead.id)).map((e) => e.campaignId).sort()).toEqual([
      'clicked',
      'demo',
    ]);
  });
});

describe('time triggers', () => {
  it('a cron trigger enrolls its audience when it fires, and its next time survives a restart', async () => {
    const campaign: CampaignDefinition = {
      id: 'weekly',
      triggers: [
        { type: 'cron', cron: '0 10 * * 1', timeZone: 'Europe/Berlin', audience: { country: 'DE' } },
      ],
      steps: [{ id: 'x', type: 'exit' }],
    };
    const store = createMemoryCampaignStore();
    const first = setup([campaign], { store });
    const de = await addLead(first.leads, 8, { location: { countryCode: 'DE' } });
    await addLead(first.leads, 9, { location: { countryCode: 'FR' } });
    await first.engine.start();
    await first.engine.runDue();
    expect(await store.enrollmentsOfLead(de.id)).toHaveLength(0);
    // Monday 2026-12-07 10:00 in Berlin is 09:00 UTC: the pattern fires at T0 + 7 days next.
    expect((await store.dueTimers(T0 + 7 * DAY)).map((timer) => [timer.key, timer.runAt])).toEqual([
      ['cron-weekly-t0', T0 + 7 * DAY],
    ]);
    await first.engine.close();
    const second = setup([campaign], { store, leads: first.leads });
    second.clock.t = T0 + 7 * DAY + 5000;
    await second.engine.start();
    await second.engine.runDue();
    expect((await store.enrollmentsOfLead(de.id)).map((e) => [e.campaignId, e.trigger, e.status])).toEqual([
      ['weekly', 'cron-weekly-t0', 'exited'],
    ]);
    expect((await store.dueTimers(Number.MAX_SAFE_INTEGER)).map((timer) => timer.runAt)).toEqual([
      T0 + 14 * DAY,
    ]);
    await second.engine.close();
  });

  it('a one-off trigger enrolls at its time', async () => {
    const campaign: CampaignDefinition = {
      id: 'launch',
      triggers: [{ type: 'at', at: new Date(T0 + 3600_000).toISOString() }],
      steps: [{ id: 'x', type: 'exit' }],
    };
    const { engine, leads, store, clock } = setup([campaign]);
    const lead = await addLead(leads, 10);
    await engine.start();
    await engine.runDue();
    expect(await store.enrollmentsOfLead(lead.id)).toHaveLength(0);
    clock.t = T0 + 3600_000;
    await engine.runDue();
    expect(await store.enrollmentsOfLead(lead.id)).toHaveLength(1);
    expect(await store.dueTimers(Number.MAX_SAFE_INTEGER)).toEqual([]);
    await engine.close();
  });
});

describe('exit rules', () => {
  it('a reply between two emails stops the second, applied as the event arrives', async () => {
    const { engine, leads, store, clock, seen } = setup([twoEmails]);
    const lead = await addLead(leads, 11);
    await engine.handleLeadEvent({ type: 'lead.created', lead });
    await engine.runDue();
    const [first] = vendor.messages;
    await engine.ingestEmailEvents([
      {
        eventId: 'r1',
        type: 'replied',
        email: lead.email ?? '',
        occurredAt: new Date(T0 + DAY).toISOString(),
        ledgerKey: first?.ledgerKey ?? '',
      },
    ]);
    const [enrollment] = await store.enrollmentsOfLead(lead.id);
    expect([enrollment?.status, enrollment?.reason]).toEqual(['exited', 'email.replied']);
    clock.t = T0 + 3 * DAY;
    await engine.runDue();
    expect(sentTo(lead.email ?? '')).toHaveLength(1);
    expect(seen.filter((event) => event.name === 'enrollment.exited')).toHaveLength(1);
    const stats = await engine.stats('welcome');
    expect(stats.exitedByReason).toEqual({ 'email.replied': 1 });
    expect(stats.steps.intro?.replied).toBe(1);
  });

  it('exit events are checked before every step, even ones stored without the exit applied', async () => {
    const { engine, leads, store, clock } = setup([twoEmails]);
    const lead = await addLead(leads, 12);
    await engine.handleLeadEvent({ type: 'lead.created', lead });
    await engine.runDue();
    // Written straight to the store (as another process's ingestion would), without the exit map.
    await store.recordEvent({ id: 'm1', type: 'meeting.booked', leadId: lead.id, at: T0 + 1000 });
    expect((await store.enrollmentsOfLead(lead.id))[0]?.status).toBe('active');
    clock.t = T0 + 3 * DAY;
    await engine.runDue();
    expect(sentTo(lead.email ?? '')).toHaveLength(1);
    expect((await store.enrollmentsOfLead(lead.id))[0]?.reason).toBe('meeting.booked');
  });

  it('custom exit events exit only the campaigns that list them', async () => {
    const custom: CampaignDefinition = { ...twoEmails, id: 'custom', exitOn: ['deal.won'] };
    const { engine, leads, store } = setup([twoEmails, custom]);
    const lead = await addLead(leads, 13);
    await engine.handleLeadEvent({ type: 'lead.created', lead });
    await engine.publish({ id: 'w1', type: 'deal.won', leadId: lead.id });
    const byCampaign = Object.fromEntries(
      (await store.enrollmentsOfLead(lead.id)).map((e) => [e.campaignId, e.status]),
    );
    expect(byCampaign).toEqual({ welcome: 'active', custom: 'exited' });
  });
});

describe('steps', () => {
  it('wait for an event: an event stored before the wait began counts; otherwise the timeout path runs', async () => {
    const campaign: CampaignDefinition = {
      id: 'trial',
      triggers: [{ type: 'event', event: 'trial.started' }],
      steps: [
        { id: 'wait', type: 'wait', durationMs: DAY },
        {
          id: 'activated',
          type: 'waitForEvent',
          events: ['app.activated'],
          timeoutMs: 3 * DAY,
          onTimeout: 'nudge',
        },
        { id: 'celebrate', type: 'exit', reason: 'activated' },
        { id: 'nudge', type: 'exit', reason: 'timed_out' },
      ],
    };
    const { engine, leads, store, clock } = setup([campaign]);
    const early = await addLead(leads, 14);
    const never = await addLead(leads, 15);
    await engine.publish({ id: 't1', type: 'trial.started', leadId: early.id });
    await engine.publish({ id: 't2', type: 'trial.started', leadId: never.id });
    await engine.runDue();
    clock.t = T0 + 1000;
    await engine.publish({ id: 'a1', type: 'app.activated', leadId: early.id });
    clock.t = T0 + DAY;
    await engine.runDue();
    expect((await store.enrollmentsOfLead(early.id))[0]?.reason).toBe('activated');
    expect((await store.enrollmentsOfLead(never.id))[0]?.stepId).toBe('activated');
    clock.t = T0 + 4 * DAY;
    await engine.runDue();
    expect((await store.enrollmentsOfLead(never.id))[0]?.reason).toBe('timed_out');
  });

  it('an event during the wait wakes it at once', async () => {
    const campaign: CampaignDefinition = {
      id: 'w',
      triggers: [{ type: 'event', event: 'go' }],
      steps: [
        { id: 'hold', type: 'waitForEvent', events: ['signal'], timeoutMs: 10 * DAY },
        { id: 'after', type: 'exit', reason: 'signalled' },
      ],
    };
    const { engine, leads, store, clock } = setup([campaign]);
    const lead = await addLead(leads, 16);
    await engine.publish({ id: 'g', type: 'go', leadId: lead.id });
    await engine.runDue();
    clock.t = T0 + DAY;
    await engine.publish({ id: 's', type: 'signal', leadId: lead.id });
    await engine.runDue();
    expect((await store.enrollmentsOfLead(lead.id))[0]?.reason).toBe('signalled');
  });

  it('branch, update lead, CRM property, wait until, exit', async () => {
    const upserts: CrmUpsertRequest[] = [];
    const crm: CrmAdapterV1 = {
      specificationVersion: 'v1',
      adapterId: 'test-crm',
      capabilities: {
        objects: ['contacts'],
        maxBatchSize: 10,
        rateLimits: {},
      } as unknown as CrmAdapterV1['capabilities'],
      doUpsert: async (request) => {
        upserts.push(request);
        return request.records.map((record) => ({
          key: record.key,
          status: 'updated' as const,
          id: '1',
        })) as never;
      },
      doGet: async () => [],
    };
    const campaign: CampaignDefinition = {
      id: 'route',
      triggers: [{ type: 'event', event: 'route' }],
      steps: [
        {
          id: 'size',
          type: 'branch',
          if: { field: 'company.headcount', op: '>=', value: 200 },
          whenTrue: 'enterprise',
          whenFalse: 'smb',
        },
        {
          id: 'enterprise',
          type: 'crm',
          crm: 'main',
          object: 'contacts',
          idProperty: 'email',
          properties: { lifecycle: 'sql' },
          next: 'later',
        },
        { id: 'smb', type: 'updateLead', custom: { plan: 'self-serve' }, next: 'later' },
        { id: 'later', type: 'wait', until: new Date(T0 + 5 * DAY).toISOString() },
        { id: 'end', type: 'exit', reason: 'routed' },
      ],
    };
    const { engine, leads, store, clock } = setup([campaign], { crms: { main: crm } });
    const big = await addLead(leads, 17, { company: { name: 'Big', headcount: 500 } });
    const small = await addLead(leads, 18, { company: { name: 'Small', headcount: 5 } });
    await engine.publish({ id: 'r1', type: 'route', leadId: big.id });
    await engine.publish({ id: 'r2', type: 'route', leadId: small.id });
    await engine.runDue();
    expect(upserts).toEqual([
      {
        object: 'contacts',
        idProperty: 'email',
        records: [{ key: big.email, properties: { lifecycle: 'sql' } }],
      },
    ]);
    expect((await leads.get(small.id))?.custom).toEqual({ plan: 'self-serve' });
    expect((await leads.get(big.id))?.custom).toBe(undefined);
    expect((await store.enrollmentsOfLead(big.id))[0]?.nextRunAt).toBe(T0 + 5 * DAY);
    clock.t = T0 + 5 * DAY;
    await engine.runDue();
    expect((await store.enrollmentsOfLead(big.id))[0]?.reason).toBe('routed');
    expect((await store.enrollmentsOfLead(small.id))[0]?.reason).toBe('routed');
  });

  it('A/B variants split by weight, the same variant for the same enrollment every time', async () => {
    const variants = [
      { id: 'a', weight: 3 },
      { id: 'b', weight: 1 },
    ];
    const counts = { a: 0, b: 0 };
    for (let index = 0; index < 4000; index++)
      counts[pickVariant(variants, variantKeyOf(`enrollment-${index}`, 's')).id as 'a' | 'b']++;
    expect(counts.a / 4000).toBeGreaterThan(0.72);
    expect(counts.a / 4000).toBeLessThan(0.78);
    expect(pickVariant(variants, variantKeyOf('fixed', 's'))).toBe(
      pickVariant(variants, variantKeyOf('fixed', 's')),
    );
    const campaign: CampaignDefinition = {
      id: 'ab',
      triggers: [{ type: 'event', event: 'ab' }],
      steps: [
        {
          id: 'mail',
          type: 'email',
          variants: [
            { id: 'a', subject: 'Subject A', text: 'A' },
            { id: 'b', subject: 'Subject B', text: 'B' },
          ],
        },
      ],
    };
    const { engine, leads, store } = setup([campaign]);
    for (let index = 20; index < 40; index++) {
      const lead = await addLead(leads, index);
      await engine.publish({ id: `ab-${index}`, type: 'ab', leadId: lead.id });
    }
    await engine.runDue();
    expect(vendor.messages).toHaveLength(20);
    for (const message of vendor.messages) {
      const send = await store.getSend(message.ledgerKey);
      const expected = pickVariant(
        (campaign.steps[0]?.type === 'email' ? (campaign.steps[0].variants ?? []) : []).map((variant) => ({
          ...variant,
          weight: variant.weight ?? 1,
        })),
        variantKeyOf(send?.enrollmentId ?? '', 'mail'),
      );
      expect([send?.variant, message.subject]).toEqual([expected.id, `Subject ${expected.id.toUpperCase()}`]);
    }
    expect(new Set(vendor.messages.map((message) => message.subject)).size).toBe(2);
  });

  it('a webhook step is signed, carries an Idempotency-Key, and is retried on 5xx with the same key', async () => {
    const received: { headers: IncomingHttpHeaders; body: string }[] = [];
    let failures = 1;
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        received.push({ headers: request.headers, body });
        response.writeHead(failures-- > 0 ? 503 : 200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const secret = 'webhook-secret-abcdef';
    const campaign: CampaignDefinition = {
      id: 'hooked',
      triggers: [{ type: 'event', event: 'h' }],
      steps: [{ id: 'notify', type: 'webhook', url, secret }],
    };
    const { engine, leads, store, clock, seen } = setup([campaign]);
    const lead = await addLead(leads, 41);
    await engine.publish({ id: 'h1', type: 'h', leadId: lead.id });
    await engine.runDue();
    expect(seen.some((event) => event.name === 'step.retrying')).toBe(true);
    clock.t = T0 + 60_000;
    await engine.runDue();
    server.close();
    expect(received).toHaveLength(2);
    const [enrollment] = await store.enrollmentsOfLead(lead.id);
    expect(enrollment?.status).toBe('completed');
    for (const request of received) {
      expect(request.headers['idempotency-key']).toBe(ledgerKeyOf(enrollment?.id ?? '', 'notify'));
      const [t, v1] = String(request.headers['x-leadpipe-signature']).split(',');
      const timestamp = t?.slice(2) ?? '';
      expect(v1).toBe(
        `v1=${createHmac('sha256', secret).update(`${timestamp}.${request.body}`).digest('hex')}`,
      );
      expect(JSON.parse(request.body).lead.email).toBe(lead.email);
    }
  });
});

describe('templates', () => {
  it('a missing variable without a fallback fails that enrollment, never sending a blank; the fallback works', async () => {
    const campaign: CampaignDefinition = {
      id: 'strict',
      triggers: [{ type: 'event', event: 's' }],
      steps: [
        {
          id: 'mail',
          type: 'email',
          template: { subject: 'Hi {{ first_name | default: "there" }}', text: 'About {{ company_name }}' },
        },
      ],
    };
    const { engine, leads, store } = setup([campaign]);
    const withCompany = await addLead(leads, 42, {
      firstName: undefined,
      fullName: undefined,
      company: { name: 'Acme' },
    });
    const without = await addLead(leads, 43);
    await engine.publish({ id: 's1', type: 's', leadId: withCompany.id });
    await engine.publish({ id: 's2', type: 's', leadId: without.id });
    await engine.runDue();
    expect(vendor.messages.map((message) => [message.to.email, message.subject])).toEqual([
      [withCompany.email, 'Hi there'],
    ]);
    const [letter] = await engine.deadLetters('strict');
    expect(letter?.code).toBe('template_error');
    expect(letter?.message).toMatch(/company_name/);
    expect((await store.enrollmentsOfLead(without.id))[0]?.status).toBe('failed');
  });
});

describe('send ledger and failures', () => {
  it('retries 5xx with backoff, sends once, then dead-letters permanent failures and redrives them', async () => {
    const campaign: CampaignDefinition = {
      id: 'retry',
      triggers: [{ type: 'event', event: 'r' }],
      steps: [{ id: 'mail', type: 'email', template: { subject: 'S', text: 'T' } }],
    };
    const { engine, leads, store, clock } = setup([campaign]);
    const lead = await addLead(leads, 44);
    vendor.inject({ status: 503 }, { status: 502 });
    await engine.publish({ id: 'r1', type: 'r', leadId: lead.id });
    await engine.runDue();
    expect(vendor.requests).toBe(1);
    const [enrollment] = await store.enrollmentsOfLead(lead.id);
    expect(enrollment?.attempts).toBe(1);
    expect(enrollment?.nextRunAt).toBe(T0 + 750);
    clock.t += 1000;
    await engine.runDue();
    clock.t += 2000;
    await engine.runDue();
    expect(vendor.requests).toBe(3);
    expect(vendor.messages).toHaveLength(1);
    expect((await store.getSend(vendor.messages[0]?.ledgerKey ?? ''))?.attempts).toBe(3);

    const second = await addLead(leads, 45);
    vendor.inject({ status: 400, body: { errors: [{ field: 'to', message: 'invalid' }] } });
    await engine.publish({ id: 'r2', type: 'r', leadId: second.id });
    await engine.runDue();
    const [letter] = await engine.deadLetters('retry');
    expect(letter?.code).toBe('invalid_request');
    expect((await store.enrollmentsOfLead(second.id))[0]?.status).toBe('failed');
    clock.t += DAY;
    await engine.runDue();
    expect(vendor.requests).toBe(4);
    expect(await engine.redrive(letter?.id ?? '')).toBe(true);
    await engine.runDue();
    expect(sentTo(second.email ?? '')).toHaveLength(1);
    expect(await engine.deadLetters()).toEqual([]);
    expect((await engine.stats('retry')).steps.mail?.sent).toBe(2);
  });

  it('5xx past the retries goes to the dead-letter queue', async () => {
    const campaign: CampaignDefinition = {
      id: 'down',
      triggers: [{ type: 'event', event: 'd' }],
      steps: [{ id: 'mail', type: 'email', template: { subject: 'S', text: 'T' } }],
    };
    const { engine, leads, clock } = setup([campaign]);
    const lead = await addLead(leads, 46);
    vendor.inject({ status: 500 }, { status: 500 }, { status: 500 });
    await engine.publish({ id: 'd1', type: 'd', leadId: lead.id });
    for (let round = 0; round < 4; round++) {
      await engine.runDue();
      clock.t += 10_000;
    }
    expect(vendor.requests).toBe(3);
    expect((await engine.deadLetters('down')).map((letter) => [letter.code, letter.attempts])).toEqual([
      ['server_error', 3],
    ]);
  });

  it('429s belong to the limiter: the send waits and goes once, spending no retry', async () => {
    const campaign: CampaignDefinition = {
      id: 'limited',
      triggers: [{ type: 'event', event: 'l' }],
      steps: [{ id: 'mail', type: 'email', template: { subject: 'S', text: 'T' } }],
    };
    const { engine, leads, store } = setup([campaign], {
      limiters: createLimiterRegistry({ rateLimitBackoffMs: 5 }),
    });
    const lead = await addLead(leads, 47);
    vendor.inject({ status: 429, headers: { 'retry-after': '0' } }, { status: 429 });
    await engine.publish({ id: 'l1', type: 'l', leadId: lead.id });
    await engine.runDue();
    expect(vendor.requests).toBe(3);
    expect(vendor.messages).toHaveLength(1);
    const [enrollment] = await store.enrollmentsOfLead(lead.id);
    expect([enrollment?.status, enrollment?.attempts]).toEqual(['completed', 0]);
    expect((await store.getSend(vendor.messages[0]?.ledgerKey ?? ''))?.attempts).toBe(1);
  });

  it('a claim left by a crash is never resent: it is reconciled from the provider events by ledger key', async () => {
    const { engine, leads, store, clock, seen } = setup([twoEmails]);
    const lead = await addLead(leads, 48);
    await engine.handleLeadEvent({ type: 'lead.created', lead });
    const [enrollment] = await store.enrollmentsOfLead(lead.id);
    const ledgerKey = ledgerKeyOf(enrollment?.id ?? '', 'intro');
    // What a process killed between its claim and its mark leaves behind.
    await store.claimSend({
      ledgerKey,
      enrollmentId: enrollment?.id ?? '',
      campaignId: 'welcome',
      stepId: 'intro',
      leadId: lead.id,
      email: lead.email ?? '',
      at: T0,
      cap: { mailbox: sender.email, day: '2026-12-07' },
    });
    await engine.runDue();
    expect(vendor.requests).toBe(0);
    expect(seen.filter((event) => event.name === 'send.needsReview')).toHaveLength(1);
    expect((await engine.reviewList()).map((send) => send.ledgerKey)).toEqual([ledgerKey]);
    clock.t += 60_000;
    await engine.runDue();
    expect(vendor.requests).toBe(0);
    const event: EmailEvent = {
      eventId: 'p1',
      type: 'delivered',
      email: lead.email ?? '',
      occurredAt: new Date(T0 + 5).toISOString(),
      ledgerKey,
      messageId: 'vendor-id-1',
    };
    await engine.ingestEmailEvents([event]);
    expect((await store.getSend(ledgerKey))?.messageId).toBe('vendor-id-1');
    await engine.runDue();
    expect(vendor.requests).toBe(0);
    expect((await store.enrollmentsOfLead(lead.id))[0]?.stepId).toBe('pause');
    expect(await engine.reviewList()).toEqual([]);
    expect(seen.some((e) => e.name === 'send.reconciled')).toBe(true);
    expect((await engine.stats('welcome')).steps.intro).toMatchObject({ sent: 1, delivered: 1 });
  });

  it('a review that finds the claim never left sends it, once', async () => {
    const { engine, leads, store } = setup([twoEmails]);
    const lead = await addLead(leads, 49);
    await engine.handleLeadEvent({ type: 'lead.created', lead });
    const [enrollment] = await store.enrollmentsOfLead(lead.id);
    const ledgerKey = ledgerKeyOf(enrollment?.id ?? '', 'intro');
    await store.claimSend({
      ledgerKey,
      enrollmentId: enrollment?.id ?? '',
      campaignId: 'welcome',
      stepId: 'intro',
      leadId: lead.id,
      email: lead.email ?? '',
      at: T0,
      cap: { mailbox: sender.email, day: '2026-12-07' },
    });
    await engine.runDue();
    expect(vendor.requests).toBe(0);
    expect(await engine.resolveReview(ledgerKey, { sent: false })).toBe(true);
    await engine.runDue();
    await engine.runDue();
    expect(sentTo(lead.email ?? '')).toHaveLength(1);
    expect(await engine.resolveReview(ledgerKey, { sent: false })).toBe(false);
  });

  it('a timeout leaves the claim for review instead of resending a message the vendor may have taken', async () => {
    const campaign: CampaignDefinition = {
      id: 'slow',
      triggers: [{ type: 'event', event: 'x' }],
      steps: [{ id: 'mail', type: 'email', template: { subject: 'S', text: 'T' } }],
    };
    const { engine, leads, clock } = setup([campaign], {
      email: createTestEmailProvider(vendor.url, { timeoutMs: 300 }),
    });
    const lead = await addLead(leads, 50);
    vendor.inject({ status: 202, hangMs: 2000, accept: true });
    await engine.publish({ id: 'x1', type: 'x', leadId: lead.id });
    await engine.runDue();
    clock.t += 10 * 60_000;
    await engine.runDue();
    expect(vendor.requests).toBe(1);
    expect((await engine.reviewList()).length).toBe(1);
    await engine.ingestEmailEvents([
      {
        eventId: 'x-p',
        type: 'processed',
        email: lead.email ?? '',
        occurredAt: new Date().toISOString(),
        ledgerKey: vendor.messages[0]?.ledgerKey ?? '',
        messageId: vendor.messages[0]?.messageId ?? '',
      },
    ]);
    await engine.runDue();
    expect(vendor.requests).toBe(1);
    expect((await engine.stats('slow')).byStatus.completed).toBe(1);
  });

  it('mailbox caps move a send to the next day, never failing it; the minimum gap spaces sends', async () => {
    const campaign: CampaignDefinition = {
      id: 'capped',
      triggers: [{ type: 'event', event: 'c' }],
      sending: { timeZone: 'America/New_York', dailyCapPerMailbox: 2, minGapMs: 60_000 },
      steps: [{ id: 'mail', type: 'email', template: { subject: 'S', text: 'T' } }],
    };
    const { engine, leads, store, clock, seen } = setup([campaign]);
    for (let index = 51; index < 54; index++) {
      const lead = await addLead(leads, index);
      await engine.publish({ id: `c${index}`, type: 'c', leadId: lead.id });
    }
    await engine.runDue();
    expect(vendor.messages).toHaveLength(1);
    clock.t += 60_000;
    await engine.runDue();
    clock.t += 60_000;
    await engine.runDue();
    expect(vendor.messages).toHaveLength(2);
    const deferred = seen
      .filter((event) => event.name === 'email.deferred')
      .map((event) => event.payload as { cap: string; until: number });
    expect(deferred.some((event) => event.cap === 'minGap')).toBe(true);
    const daily = deferred.filter((event) => event.cap === 'dailyCap');
    // Midnight in New York on 2026-12-08 is 05:00 UTC.
    expect(daily.at(-1)?.until).toBe(Date.parse('2026-12-08T05:00:00Z'));
    expect(await engine.deadLetters()).toEqual([]);
    clock.t = Date.parse('2026-12-08T05:00:00Z');
    await engine.runDue();
    expect(vendor.messages).toHaveLength(3);
    expect((await store.mailboxUsage(sender.email, '2026-12-08')).sentToday).toBe(1);
  });
});

describe('timing (schedule module)', () => {
  it("sends inside the sending window in the recipient's zone, from the lead's location", async () => {
    const campaign: CampaignDefinition = {
      id: 'windowed',
      triggers: [{ type: 'event', event: 'w' }],
      sending: {
        timeZone: 'UTC',
        windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' }],
      },
      steps: [{ id: 'mail', type: 'email', template: { subject: 'S', text: 'T' } }],
    };
    const { engine, leads, clock } = setup([campaign]);
    // T0 is Monday 09:00 UTC: 04:00 in New York, 10:00 in Berlin.
    const newYork = await addLead(leads, 61, { location: { countryCode: 'US', region: 'NY' } });
    const berlin = await addLead(leads, 62, { location: { countryCode: 'DE' } });
    for (const lead of [newYork, berlin])
      await engine.publish({ id: `w-${lead.id}`, type: 'w', leadId: lead.id });
    await engine.runDue();
    expect(vendor.messages.map((message) => message.to.email)).toEqual([berlin.email]);
    clock.t = Date.parse('2026-12-07T13:59:00Z');
    await engine.runDue();
    expect(sentTo(newYork.email ?? '')).toHaveLength(0);
    // 09:00 in New York (EST, UTC-5).
    clock.t = Date.parse('2026-12-07T14:00:00Z');
    await engine.runDue();
    expect(sentTo(newYork.email ?? '')).toHaveLength(1);
  });

  it('a business-day wait skips the weekend and holidays, keeping the time of day', async () => {
    const campaign: CampaignDefinition = {
      id: 'business',
      triggers: [{ type: 'event', event: 'b' }],
      sending: { timeZone: 'UTC', holidays: ['2026-12-15'] },
      steps: [
        { id: 'first', type: 'email', template: { subject: 'One', text: 'T' } },
        { id: 'pause', type: 'wait', businessDays: 2 },
        { id: 'second', type: 'email', template: { subject: 'Two', text: 'T' } },
      ],
    };
    const { engine, leads, clock } = setup([campaign]);
    // Friday 10:00 UTC.
    clock.t = Date.parse('2026-12-11T10:00:00Z');
    const lead = await addLead(leads, 63);
    await engine.publish({ id: 'b1', type: 'b', leadId: lead.id });
    await engine.runDue();
    expect(vendor.messages.map((message) => message.subject)).toEqual(['One']);
    // Two calendar days (Sunday) and two weekdays (Tuesday, a holiday) are not yet two business days.
    for (const at of ['2026-12-13T10:00:00Z', '2026-12-15T10:00:00Z', '2026-12-16T09:59:00Z']) {
      clock.t = Date.parse(at);
      await engine.runDue();
      expect(vendor.messages).toHaveLength(1);
    }
    // Monday and Wednesday are the two business days: Wednesday 10:00.
    clock.t = Date.parse('2026-12-16T10:00:00Z');
    await engine.runDue();
    expect(vendor.messages.map((message) => message.subject)).toEqual(['One', 'Two']);
  });
});

describe('compliance', () => {
  it('a suppressed address is never sent to: the claim refuses it and the enrollment exits', async () => {
    const { engine, leads, store, seen } = setup([twoEmails]);
    const lead = await addLead(leads, 60);
    await store.suppress({
      email: (lead.email ?? '').toUpperCase(),
      reason: 'do_not_contact',
      source: 'import',
      at: T0,
    });
    await engine.handleLeadEvent({ type: 'lead.created', lead });
    await engine.runDue();
    expect(vendor.requests).toBe(0);
    expect((await store.enrollmentsOfLead(lead.id))[0]?.reason).toBe('suppressed.do_not_contact');
    expect(seen.some((event) => event.name === 'email.suppressed')).toBe(true);
  });

  it('hard bounces and complaints suppress the address for every campaign; soft bounces do not', async () => {
    const { engine, leads, store } = setup([twoEmails]);
    const a = await addLead(leads, 61);
    const b = await addLead(leads, 62);
    const c = await addLead(leads, 63);
    await engine.ingestEmailEvents([
      {
        eventId: 'b1',
        type: 'bounced',
        bounce: 'hard',
        email: a.email ?? '',
        occurredAt: new Date(T0).toISOString(),
      },
      { eventId: 'b2', type: 'complained', email: b.email ?? '', occurredAt: new Date(T0).toISOString() },
      {
        eventId: 'b3',
        type: 'bounced',
        bounce: 'soft',
        email: c.email ?? '',
        occurredAt: new Date(T0).toISOString(),
      },
      {
        eventId: 'b4',
        type: 'bounced',
        bounce: 'hard',
        email: 'stranger@nowhere.example',
        occurredAt: new Date(T0).toISOString(),
      },
    ]);
    expect((await store.getSuppression(a.email ?? ''))?.reason).toBe('bounced');
    expect((await store.getSuppression(b.email ?? ''))?.reason).toBe('complained');
    expect(await store.getSuppression(c.email ?? '')).toBe(undefined);
    expect((await store.getSuppression('stranger@nowhere.example'))?.reason).toBe('bounced');
  });

  it('unsubscribe: GET confirms without unsubscribing, one-click POST unsubscribes at once, idempotently; forged tokens are refused', async () => {
    const { engine, leads, store, clock } = setup([twoEmails]);
    const lead = await addLead(leads, 64);
    await engine.handleLeadEvent({ type: 'lead.created', lead });
    await engine.runDue();
    const link = (vendor.messages[0]?.headers?.['List-Unsubscribe'] ?? '').slice(1, -1);
    const path = link.slice('https://acme.example'.length);
    const page = await engine.handleUnsubscribe({ method: 'GET', url: path });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<form method="post"');
    expect(await store.getSuppression(lead.email ?? '')).toBe(undefined);
    const posted = await engine.handleUnsubscribe({ method: 'POST', url: link });
    expect(posted.status).toBe(200);
    expect((await store.getSuppression(lead.email ?? ''))?.reason).toBe('unsubscribed');
    expect((await store.enrollmentsOfLead(lead.id))[0]?.reason).toBe('email.unsubscribed');
    expect((await engine.handleUnsubscribe({ method: 'POST', url: link })).status).toBe(200);
    const token = new URL(link).searchParams.get('token') ?? '';
    const forged = createUnsubscribeToken(
      { email: 'victim@example.com', campaignId: 'welcome' },
      'another-secret-000000',
    );
    expect(
      (await engine.handleUnsubscribe({ method: 'POST', url: `/unsubscribe?token=${forged}` })).status,
    ).toBe(400);
    expect(
      (await engine.handleUnsubscribe({ method: 'POST', url: `/unsubscribe?token=${token.slice(0, -2)}00` }))
        .status,
    ).toBe(400);
    expect((await engine.handleUnsubscribe({ method: 'DELETE', url: link })).status).toBe(405);
    expect(await store.getSuppression('victim@example.com')).toBe(undefined);
    expect(verifyUnsubscribeToken(token, unsubscribe.secret)?.email).toBe(lead.email);
    clock.t += 3 * DAY;
    await engine.runDue();
    expect(sentTo(lead.email ?? '')).toHaveLength(1);
    expect((await engine.stats('welcome')).steps.intro?.unsubscribed).toBe(1);
  });

  it('an unsubscribe takes effect for a send already scheduled in another campaign', async () => {
    const other: CampaignDefinition = { ...twoEmails, id: 'other', exitOn: [] };
    const { engine, leads, clock } = setup([twoEmails, other]);
    const lead = await addLead(leads, 65);
    await engine.handleLeadEvent({ type: 'lead.created', lead });
    await engine.runDue();
    const link = (vendor.messages[0]?.headers?.['List-Unsubscribe'] ?? '').slice(1, -1);
    await engine.handleUnsubscribe({ method: 'POST', url: link });
    clock.t += 3 * DAY;
    await engine.runDue();
    expect(sentTo(lead.email ?? '')).toHaveLength(2);
  });

  it('refuses configurations that break the rules, naming each field', () => {
    const base = {
      campaigns: [twoEmails],
      store: createMemoryCampaignStore(),
      leads: createMemoryLeadStore(),
      email: createTestEmailProvider(vendor.url),
    };
    const issues = (options: Partial<CampaignEngineOptions>) => {
      try {
        createCampaignEngine({
          ...base,
          senders: [sender],
          unsubscribe,
          ...options,
        } as CampaignEngineOptions);
      } catch (error) {
        expect(ConfigurationError.isInstance(error)).toBe(true);
        return (error as ConfigurationError).issues.map((issue) => issue.field);
      }
      return [];
    };
    expect(issues({ senders: [{ email: 'a@b.example', postalAddress: '' }] })).toEqual([
      'senders.0.postalAddress',
    ]);
    expect(issues({ unsubscribe: { baseUrl: 'http://acme.example/u', secret: 'short' } })).toEqual([
      'unsubscribe.baseUrl',
      'unsubscribe.secret',
    ]);
    expect(issues({ unsubscribe: undefined })).toEqual(['unsubscribe']);
    expect(issues({ email: undefined, senders: [] })).toEqual(['email', 'senders']);
    expect(
      issues({
        campaigns: [
          { ...twoEmails, sending: { windows: [{ days: ['mon'], start: '17:00', end: '09:00' }] } },
        ],
      }),
    ).toEqual(['welcome.sending.windows.0.end']);
    expect(
      issues({
        campaigns: [
          {
            ...twoEmails,
            steps: [{ id: 'b', type: 'branch', if: { field: 'x', op: 'exists' }, whenTrue: 'nowhere' }],
          },
        ],
      }),
    ).toEqual(['campaigns.0.steps.0.whenTrue']);
    expect(issues({ campaigns: [twoEmails, twoEmails] })).toEqual(['campaigns.1.id']);
    expect(
      issues({
        campaigns: [{ ...twoEmails, triggers: [{ type: 'cron', cron: 'not a cron', timeZone: 'UTC' }] }],
      }),
    ).toEqual(['campaigns.0.triggers.0.cron']);
    expect(issues({})).toEqual([]);
    expect(issues({ campaigns: undefined, store: undefined } as never)).toEqual(['campaigns', 'store']);
  });
});

describe('monitoring', () => {
  it('stats count per campaign and step; events carry ids, never addresses', async () => {
    const { engine, leads, seen } = setup([twoEmails]);
    const lead = await addLead(leads, 70);
    await engine.handleLeadEvent({ type: 'lead.created', lead });
    await engine.runDue();
    const ledgerKey = vendor.messages[0]?.ledgerKey ?? '';
    const at = new Date(T0).toISOString();
    await engine.ingestEmailEvents([
      { eventId: 'v1', type: 'delivered', email: lead.email ?? '', occurredAt: at, ledgerKey },
      { eventId: 'v1', type: 'delivered', email: lead.email ?? '', occurredAt: at, ledgerKey },
      { eventId: 'v2', type: 'opened', email: lead.email ?? '', occurredAt: at, ledgerKey },
      {
        eventId: 'v3',
        type: 'clicked',
        email: lead.email ?? '',
        occurredAt: at,
        ledgerKey,
        url: 'https://acme.example',
      },
    ]);
    const stats = await engine.stats('welcome');
    expect(stats.enrolled).toBe(1);
    expect(stats.steps.intro).toEqual({
      sent: 1,
      failed: 0,
      delivered: 1,
      opened: 1,
      clicked: 1,
      replied: 0,
      bounced: 0,
      unsubscribed: 0,
    });
    expect(seen.map((event) => event.name)).toEqual(['enrollment.created', 'email.sent']);
    expect(JSON.stringify(seen)).not.toContain('@example.com');
  });
});

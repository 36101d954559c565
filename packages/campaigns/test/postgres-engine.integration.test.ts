import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CampaignStoreV1, LeadStoreV1 } from '@leadpipe/core';
import { createSendgrid, SENDGRID_LEDGER_KEY_ARG } from '@leadpipe/email-sendgrid';
import { openPostgresStore, type PostgresStore } from '@leadpipe/store-postgres';
import { type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CampaignDefinition,
  type CampaignEngine,
  createCampaignEngine,
  ledgerKeyOf,
} from '../src/index.js';
import {
  dropSchemas,
  sendsPerKey,
  startWebhookReceiver,
  testDatabaseUrl,
  type WebhookReceiver,
} from './postgres-support.js';
import { leadOf } from './support.js';

/**
 * The real engine on the PostgreSQL campaign store (server and PGlite),
 * through @leadpipe/email-sendgrid and the SendGrid emulator over HTTP, with
 * the emulator's signed Event Webhook delivered to a host route.
 */

const url = testDatabaseUrl();
const schemas: string[] = [];
const stores: PostgresStore[] = [];
const folder = mkdtempSync(join(tmpdir(), 'campaign-pglite-'));
let emulators: RunningEmulators;
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  emulators = await startEmulators({
    vendors: ['sendgrid'],
    seed: 29,
    vendorOptions: { sendgrid: { eventWebhook: { url: receiver.url, delayMs: 0 } } },
  });
  receiver.sendgrid = sendgridProvider();
});
afterAll(async () => {
  for (const store of stores) await store.close();
  await emulators?.close();
  await receiver?.close();
  await dropSchemas(url, schemas);
  rmSync(folder, { recursive: true, force: true });
});

function sendgridProvider() {
  const credentials = emulators.emulators.sendgrid?.emulator.credentials;
  return createSendgrid({
    apiKey: credentials?.apiKey,
    baseUrl: emulators.urls.sendgrid?.baseUrl,
    webhookPublicKey: credentials?.webhookPublicKey,
  });
}

async function openServerStore(schema: string, options: { now?: () => number } = {}): Promise<PostgresStore> {
  if (!schemas.includes(schema)) schemas.push(schema);
  const store = await openPostgresStore({ connection: url, schema, maxConnections: 4, ...options });
  stores.push(store);
  return store;
}

const DAY = 86_400_000;
// Friday 4 December 2026, 10:00 UTC: two business days later is Tuesday.
const FRIDAY = Date.parse('2026-12-04T10:00:00Z');

const sequence: CampaignDefinition = {
  id: 'pg-sequence',
  triggers: [{ type: 'event', event: 'lead.created' }],
  steps: [
    {
      id: 'intro',
      type: 'email',
      template: { subject: 'Hi {{ first_name }}', text: 'Hello {{ first_name }}' },
    },
    { id: 'pause', type: 'wait', businessDays: 2 },
    { id: 'followup', type: 'email', template: { subject: 'Following up', text: 'Any thoughts?' } },
  ],
};

/** The emulator holds exactly the ledger's sent rows: one message per sent key, same message id, nothing else. */
async function expectEmulatorMatchesLedger(store: CampaignStoreV1, campaignId: string): Promise<number> {
  const emulator = emulators.emulators.sendgrid!.emulator;
  const mine = emulator.messages().filter((message) => message.categories.includes(campaignId));
  const sent = await store.listSends({ status: 'sent', limit: 1000 });
  const ledger = new Map(sent.filter((send) => send.campaignId === campaignId).map((s) => [s.ledgerKey, s]));
  expect(mine.length).toBe(ledger.size);
  for (const message of mine) {
    const send = ledger.get(message.customArgs[SENDGRID_LEDGER_KEY_ARG] ?? '');
    expect(send, message.customArgs[SENDGRID_LEDGER_KEY_ARG]).toBeDefined();
    expect([send?.messageId, send?.email]).toEqual([message.messageId, message.to.email]);
  }
  for (const key of ledger.keys()) expect(sendsPerKey(emulators).get(key), key).toBe(1);
  return mine.length;
}

async function fullSequence(store: PostgresStore, campaignId: string, base: number): Promise<void> {
  const emulator = emulators.emulators.sendgrid!.emulator;
  const clock = { t: FRIDAY };
  const now = () => clock.t;
  const campaign: CampaignDefinition = { ...sequence, id: campaignId };
  const leads: LeadStoreV1 = store.leads;
  const engine: CampaignEngine = createCampaignEngine({
    campaigns: [campaign],
    store: store.campaigns,
    leads,
    email: sendgridProvider(),
    senders: [
      { email: 'sales@acme.example', name: 'Acme', postalAddress: 'Acme Inc, 1 Main St, Springfield' },
    ],
    unsubscribe: { baseUrl: 'https://acme.example/unsubscribe', secret: 'unsubscribe-secret-pg-123456' },
    now,
  });
  receiver.onEvents = (events) => engine.ingestEmailEvents(events);
  try {
    const people = Array.from({ length: 5 }, (_, index) => leadOf(base + index));
    await leads.upsert(people);
    for (const person of people) {
      const lead = (await leads.getByEmail(person.email!))!;
      await engine.handleLeadEvent({ type: 'lead.created', lead });
      // The same event again (a redelivery) enrolls nobody twice.
      await engine.handleLeadEvent({ type: 'lead.created', lead });
    }
    const stored = await Promise.all(people.map(async (person) => (await leads.getByEmail(person.email!))!));
    await engine.runDue();
    await emulator.events.dispatcher.idle();
    expect(receiver.refusals).toEqual([]);
    expect(await expectEmulatorMatchesLedger(store.campaigns, campaignId)).toBe(5);
    const statsAfterFirst = await engine.stats(campaignId);
    expect(statsAfterFirst.enrolled).toBe(5);
    expect(statsAfterFirst.steps.intro).toMatchObject({ sent: 5, delivered: 5 });

    // The first lead replies (an inbound-parse event the host hands over); the second hard-bounces (signed webhook).
    const [replier, bouncer] = stored as [(typeof stored)[0], (typeof stored)[0]];
    const replierKey = ledgerKeyOf((await store.campaigns.enrollmentsOfLead(replier.id))[0]!.id, 'intro');
    await engine.ingestEmailEvents([
      {
        eventId: `reply-${replier.id}`,
        type: 'replied',
        email: replier.email!,
        occurredAt: new Date(clock.t + 3_600_000).toISOString(),
        ledgerKey: replierKey,
      },
    ]);
    const bouncerKey = ledgerKeyOf((await store.campaigns.enrollmentsOfLead(bouncer.id))[0]!.id, 'intro');
    emulator.inject.bounce({ customArgs: { [SENDGRID_LEDGER_KEY_ARG]: bouncerKey } });
    await emulator.events.dispatcher.idle();
    expect(receiver.refusals).toEqual([]);
    expect((await store.campaigns.enrollmentsOfLead(replier.id))[0]).toMatchObject({
      status: 'exited',
      reason: 'email.replied',
    });
    expect((await store.campaigns.enrollmentsOfLead(bouncer.id))[0]).toMatchObject({
      status: 'exited',
      reason: 'email.bounced',
    });
    expect((await store.campaigns.getSuppression(bouncer.email!.toUpperCase()))?.reason).toBe('bounced');

    // Two business days from Friday is Tuesday: on Monday nothing is due, on Tuesday the three others get the follow-up.
    clock.t = FRIDAY + 3 * DAY;
    await engine.runDue();
    expect(emulator.messages().filter((m) => m.categories.includes(campaignId)).length).toBe(5);
    clock.t = FRIDAY + 4 * DAY + 60_000;
    await engine.runDue();
    await emulator.events.dispatcher.idle();
    const followups = emulator
      .messages()
      .filter((message) => message.categories.includes(campaignId) && message.subject === 'Following up');
    expect(followups.map((message) => message.to.email).sort()).toEqual(
      stored.slice(2).map((lead) => lead.email),
    );
    for (const followup of followups) {
      const send = await store.campaigns.getSend(followup.customArgs[SENDGRID_LEDGER_KEY_ARG]!);
      // The wait began when the first email was sent (Friday): the follow-up went out on Tuesday, not earlier.
      expect(send?.claimedAt).toBeGreaterThanOrEqual(FRIDAY + 4 * DAY);
    }
    expect(await expectEmulatorMatchesLedger(store.campaigns, campaignId)).toBe(8);
    for (const lead of stored.slice(2))
      expect((await store.campaigns.enrollmentsOfLead(lead.id))[0]?.status).toBe('completed');
    const stats = await engine.stats(campaignId);
    expect(stats.byStatus).toMatchObject({ completed: 3, exited: 2, active: 0 });
    expect(stats.exitedByReason).toEqual({ 'email.replied': 1, 'email.bounced': 1 });
    expect(stats.steps.intro).toMatchObject({ sent: 5, bounced: 1, replied: 1 });
    expect(stats.steps.followup).toMatchObject({ sent: 3, delivered: 3 });

    // Erasing the bouncer clears the engine's rows of her in the same store, and her suppression stays.
    const erased = await leads.erase(bouncer.email!);
    expect(erased.removed).toMatchObject({ leads: 1, campaignEnrollments: 1, campaignSends: 1 });
    expect(erased.removed.campaignEvents).toBeGreaterThanOrEqual(3); // lead.created, processed, delivered, bounce
    expect(await store.campaigns.enrollmentsOfLead(bouncer.id)).toEqual([]);
    expect(await store.campaigns.getSend(bouncerKey)).toBe(undefined);
    expect((await store.campaigns.getSuppression(bouncer.email!))?.reason).toBe('bounced');
    expect((await engine.stats(campaignId)).enrolled).toBe(4);
  } finally {
    await engine.close();
  }
}

describe('the campaign engine on the PostgreSQL campaign store', () => {
  it('runs email, wait 2 business days, email, exit on reply and bounce on PostgreSQL; emulator == ledger', async () => {
    const schema = `wt_campaigns_e2e_${randomBytes(5).toString('hex')}`;
    await fullSequence(await openServerStore(schema), 'pg-server', 500);
  });

  it('runs the same sequence on PGlite (one embedded instance for the file)', {
    timeout: 120_000,
  }, async () => {
    const store = await openPostgresStore({ connection: join(folder, 'db') });
    stores.push(store);
    expect(store.engine).toBe('pglite');
    await fullSequence(store, 'pg-lite', 600);
  });

  it('two engines on two pools over one schema send exactly once per (enrollment, step)', {
    timeout: 120_000,
  }, async () => {
    const schema = `wt_campaigns_two_${randomBytes(5).toString('hex')}`;
    const [first, second] = [await openServerStore(schema), await openServerStore(schema)];
    const campaign: CampaignDefinition = {
      id: 'pg-two-engines',
      triggers: [],
      steps: [
        { id: 'a', type: 'email', template: { subject: 'One', text: 'Hello {{ first_name }}' } },
        { id: 'pause', type: 'wait', durationMs: 200 },
        { id: 'b', type: 'email', template: { subject: 'Two', text: 'Again {{ first_name }}' } },
      ],
    };
    const people = Array.from({ length: 40 }, (_, index) => leadOf(700 + index));
    await first.leads.upsert(people);
    const engines = [first, second].map((store) =>
      createCampaignEngine({
        campaigns: [campaign],
        store: store.campaigns,
        leads: store.leads,
        email: sendgridProvider(),
        senders: [{ email: 'sales@acme.example', postalAddress: 'Acme Inc, 1 Main St, Springfield' }],
        unsubscribe: { baseUrl: 'https://acme.example/u', secret: 'two-engines-secret-123456' },
        recheckMs: 200,
      }),
    );
    const sentBy = [0, 0];
    for (const [index, engine] of engines.entries()) {
      engine.on('email.sent', () => {
        sentBy[index] = (sentBy[index] ?? 0) + 1;
      });
    }
    receiver.onEvents = (events) => (engines[0] as CampaignEngine).ingestEmailEvents(events);
    const stored = await Promise.all(
      people.map(async (person) => (await first.leads.getByEmail(person.email!))!),
    );
    // Both engines are told to enroll every lead: one enrollment each.
    for (const lead of stored) {
      for (const engine of engines) await engine.enroll(campaign.id, lead.id);
    }
    await Promise.all(engines.map((engine) => engine.start()));
    const deadline = Date.now() + 90_000;
    for (;;) {
      const stats = await first.campaigns.stats(campaign.id);
      if (stats.byStatus.completed === people.length) break;
      if (Date.now() > deadline) throw new Error(`not done: ${JSON.stringify(stats)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await Promise.all(engines.map((engine) => engine.close()));
    await emulators.emulators.sendgrid!.emulator.events.dispatcher.idle();
    const perKey = sendsPerKey(emulators);
    const ours = [...perKey].filter(([key]) => key !== '' && people.length > 0);
    for (const lead of stored) {
      const [enrollment] = await first.campaigns.enrollmentsOfLead(lead.id);
      for (const step of ['a', 'b'])
        expect(perKey.get(ledgerKeyOf(enrollment!.id, step)), `${lead.email} ${step}`).toBe(1);
    }
    expect(ours.filter(([, count]) => count > 1)).toEqual([]);
    // Each send was made (and reported) by exactly one of the two engines.
    expect((sentBy[0] ?? 0) + (sentBy[1] ?? 0), JSON.stringify(sentBy)).toBe(80);
    // Both engines worked the same rows at once (a run here split them 33 / 47).
    expect(Math.min(sentBy[0] ?? 0, sentBy[1] ?? 0), JSON.stringify(sentBy)).toBeGreaterThan(0);
    expect(await expectEmulatorMatchesLedger(second.campaigns, campaign.id)).toBe(80);
  });
});

import { type ConfigurationError, createMemoryLeadStore, type LeadStoreV1 } from '@leadpipe/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type CampaignDefinition,
  type CampaignEngineOptions,
  type CampaignSender,
  createCampaignEngine,
  createMemoryCampaignStore,
  loadCampaign,
  toEngineCampaign,
} from '../src/index.js';
import { createTestEmailProvider, leadOf, startTestVendor, type TestVendor } from './support.js';

// Monday 2026-12-07, 09:00 UTC: the window (Monday to Friday, 09:00-17:00 UTC) has just opened.
const T0 = Date.parse('2026-12-07T09:00:00Z');
const unsubscribe = { baseUrl: 'https://acme.example/unsubscribe', secret: 'unsubscribe-secret-123456' };
const postalAddress = 'Acme Inc, 1 Main St, Springfield, USA';
const slow: CampaignSender = { email: 'slow@acme.example', postalAddress, dailyCap: 1 };
const spaced: CampaignSender = {
  email: 'spaced@acme.example',
  postalAddress,
  dailyCap: 5,
  minGapMs: 600_000,
};
const sending = {
  timeZone: 'UTC',
  recipientTimeZone: 'campaign' as const,
  windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'] as const, start: '09:00', end: '17:00' }],
  dailyCapPerMailbox: 100,
};
const mailFrom = (id: string, from: string): CampaignDefinition => ({
  id,
  triggers: [{ type: 'event', event: `go.${id}` }],
  sending: { ...sending, windows: sending.windows.map((window) => ({ ...window, days: [...window.days] })) },
  steps: [{ id: 'mail', type: 'email', from, template: { subject: 'S', text: 'T' } }],
});

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
    senders: [slow, spaced],
    unsubscribe,
    now,
    ...extra,
  });
  const deferred: { cap: string; until: number }[] = [];
  engine.on('email.deferred', (event) => deferred.push({ cap: event.cap, until: event.until }));
  return { engine, store, leads, clock, deferred };
}

const from = (email: string) => vendor.messages.filter((message) => message.from.email === email);

describe('per-mailbox caps', () => {
  it('each mailbox keeps its own daily cap and gap across campaigns; over a cap a step moves to the next window, never failing', async () => {
    const { engine, store, leads, clock, deferred } = setup([
      mailFrom('slow-a', slow.email),
      mailFrom('slow-b', slow.email),
      mailFrom('spaced', spaced.email),
    ]);
    for (let index = 0; index < 3; index += 1) {
      const lead = leadOf(100 + index);
      await leads.upsert([lead]);
      for (const id of ['slow-a', 'slow-b', 'spaced'])
        await engine.publish({ id: `${id}-${index}`, type: `go.${id}`, leadId: lead.id });
    }
    await engine.runDue();
    // The slow mailbox sends once today over both campaigns (its own cap of 1, not the campaigns' 100).
    expect(from(slow.email)).toHaveLength(1);
    // The spaced mailbox sends once, then waits its own 10 minutes.
    expect(from(spaced.email)).toHaveLength(1);
    const slowDeferrals = deferred.filter((event) => event.cap === 'dailyCap');
    expect(slowDeferrals).toHaveLength(5);
    // The next window opens Tuesday 09:00 UTC.
    expect(new Set(slowDeferrals.map((event) => event.until))).toEqual(
      new Set([Date.parse('2026-12-08T09:00:00Z')]),
    );
    expect(deferred.filter((event) => event.cap === 'minGap').map((event) => event.until)).toEqual([
      T0 + 600_000,
      T0 + 600_000,
    ]);
    clock.t = T0 + 600_000;
    await engine.runDue();
    expect(from(spaced.email)).toHaveLength(2);
    clock.t = T0 + 1_200_000;
    await engine.runDue();
    expect(from(spaced.email)).toHaveLength(3);
    expect(from(slow.email)).toHaveLength(1);
    // Tuesday: one more from the slow mailbox, then Wednesday and Thursday the rest.
    for (const [day, count] of [
      ['2026-12-08', 2],
      ['2026-12-09', 3],
      ['2026-12-10', 4],
      ['2026-12-11', 5],
      ['2026-12-14', 6],
    ] as const) {
      clock.t = Date.parse(`${day}T09:00:00Z`);
      await engine.runDue();
      expect([day, from(slow.email).length]).toEqual([day, count]);
      expect((await store.mailboxUsage(slow.email, day)).sentToday).toBe(1);
    }
    // Friday's send counted; Saturday and Sunday sent nothing (outside the windows); nothing failed.
    expect(await engine.deadLetters()).toEqual([]);
    const statuses = (await Promise.all(['slow-a', 'slow-b'].map((id) => engine.stats(id)))).map(
      (stats) => stats.byStatus,
    );
    expect(statuses.map((status) => [status.completed, status.failed])).toEqual([
      [3, 0],
      [3, 0],
    ]);
    await engine.close();
  });

  it('a send the rate limit held past the window close is released unsent and goes out when the window opens', async () => {
    const base = createMemoryCampaignStore();
    const late = Date.parse('2026-12-07T16:59:59Z');
    const clockRef = { t: late };
    // The claim is made at 16:59:59; the provider's rate limit then holds the send for 2 s, past 17:00.
    const store = new Proxy(base, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (property !== 'claimSend') return typeof value === 'function' ? value.bind(target) : value;
        return async (...args: Parameters<typeof base.claimSend>) => {
          const claim = await base.claimSend(...args);
          clockRef.t += 2_000;
          return claim;
        };
      },
    });
    const { engine, leads, clock, deferred } = setup([mailFrom('late', spaced.email)], {
      store,
      now: () => clockRef.t,
    });
    void clock;
    const lead = leadOf(200);
    await leads.upsert([lead]);
    await engine.publish({ id: 'late-0', type: 'go.late', leadId: lead.id });
    await engine.runDue();
    expect(from(spaced.email)).toHaveLength(0);
    const nextOpen = Date.parse('2026-12-08T09:00:00Z');
    expect(deferred).toEqual([{ cap: 'window', until: nextOpen }]);
    clockRef.t = nextOpen;
    await engine.runDue();
    expect(from(spaced.email)).toHaveLength(1);
    expect((await engine.stats('late')).byStatus.completed).toBe(1);
    await engine.close();
  });

  it('refuses bad mailbox limits, naming the sender', () => {
    let issues: string[] = [];
    try {
      setup([mailFrom('x', slow.email)], {
        senders: [
          { ...slow, dailyCap: 0 },
          { ...spaced, minGapMs: -1 },
        ],
      });
    } catch (error) {
      issues = (error as ConfigurationError).issues.map((issue) => `${issue.field}: ${issue.reason}`);
    }
    expect(issues).toEqual([
      'senders.0.dailyCap: must be a positive integer',
      'senders.1.minGapMs: must be 0 or more',
    ]);
  });

  it("a campaign file's mailbox limits belong to the mailbox, over the campaign's caps", async () => {
    const yaml = `
id: mailboxes
timeZone: UTC
recipientTimeZone: campaign
trigger: { event: { name: go } }
sender: { from: sales@acme.test, postalAddress: "1 Main St, Springfield", unsubscribeBaseUrl: https://acme.test/u }
mailboxes:
  jane: { from: jane@acme.test, dailyCap: 1, minGap: 5m }
caps: { dailyPerMailbox: 50, minGap: 1m }
sendingWindow: [{ days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00" }]
steps:
  - email: { mailbox: jane, template: { subject: Hi, html: '<a href="{{ unsubscribe_url }}">unsubscribe</a>' } }
`;
    const loaded = toEngineCampaign(loadCampaign(yaml));
    expect(loaded.senders).toEqual([
      { email: 'sales@acme.test', postalAddress: '1 Main St, Springfield' },
      { email: 'jane@acme.test', postalAddress: '1 Main St, Springfield', dailyCap: 1, minGapMs: 300_000 },
    ]);
    expect(loaded.campaign.sending).toMatchObject({ dailyCapPerMailbox: 50, minGapMs: 60_000 });
    const { engine, leads, clock, deferred } = setup([loaded.campaign], {
      senders: loaded.senders,
      unsubscribe: { baseUrl: loaded.unsubscribeBaseUrl, secret: unsubscribe.secret },
    });
    for (const index of [1, 2]) {
      const lead = leadOf(200 + index);
      await leads.upsert([lead]);
      await engine.publish({ id: `go-${index}`, type: 'go', leadId: lead.id });
    }
    await engine.runDue();
    clock.t = T0 + 3_600_000;
    await engine.runDue();
    expect(from('jane@acme.test')).toHaveLength(1);
    expect(deferred.at(-1)).toEqual({ cap: 'dailyCap', until: Date.parse('2026-12-08T09:00:00Z') });
    clock.t = Date.parse('2026-12-08T09:00:00Z');
    await engine.runDue();
    expect(from('jane@acme.test')).toHaveLength(2);
    await engine.close();
  });
});

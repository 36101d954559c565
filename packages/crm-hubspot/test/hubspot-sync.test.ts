import {
  type CrmSyncReport,
  createCrmSync,
  createLead,
  type DeadLetterEntry,
  defineFieldMapping,
  type Lead,
} from '@leadpipe/core';
import type { FaultOptions, StartEmulatorsOptions } from '@leadpipe/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { createHubspot, type HubspotSettings } from '../src/index.js';
import { type HubspotFixture, startHubspot } from './support.js';

// The emulator's clock runs 10 times faster and the adapter's window is shortened to match,
// so HubSpot's 100 calls per 10 seconds are 100 per real second.
const TIME_SCALE = 10;

const contactsMapping = defineFieldMapping({
  object: 'contacts',
  idProperty: { from: 'email', to: 'email' },
  fields: [
    { from: 'firstName', to: 'firstname' },
    { from: 'lastName', to: 'lastname' },
    { from: 'title', to: 'jobtitle' },
  ],
});

function leads(count: number, prefix = 'lead'): Lead[] {
  return Array.from({ length: count }, (_, index) =>
    createLead({
      email: `${prefix}${index}@sync-${index % 7}.example`,
      firstName: `First${index}`,
      lastName: `Last${index}`,
      title: `Title ${index}`,
    }),
  );
}

const fixtures: HubspotFixture[] = [];
afterEach(async () => {
  for (const fixture of fixtures.splice(0)) await fixture.close();
});

async function start(options: StartEmulatorsOptions = {}): Promise<HubspotFixture> {
  const fixture = await startHubspot({ seed: 17, timeScale: TIME_SCALE, ...options });
  fixtures.push(fixture);
  return fixture;
}

function adapterFor(hub: HubspotFixture, settings: HubspotSettings = {}) {
  return createHubspot({
    accessToken: hub.token,
    baseUrl: hub.baseUrl,
    now: hub.now,
    rateLimits: { windowMs: 10_000 / TIME_SCALE },
    ...settings,
  });
}

async function allDeadLetters(sync: ReturnType<typeof createCrmSync>): Promise<DeadLetterEntry[]> {
  const entries: DeadLetterEntry[] = [];
  let cursor: string | undefined;
  do {
    const page = await sync.deadLetters.list({ ...(cursor === undefined ? {} : { cursor }), limit: 500 });
    entries.push(...page.entries);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return entries;
}

/** Every input either landed in the emulator or is dead-lettered, never both, and no email is stored twice. */
async function expectAccounted(
  hub: HubspotFixture,
  input: readonly Lead[],
  sync: ReturnType<typeof createCrmSync>,
  report: CrmSyncReport,
) {
  const dead = new Set((await allDeadLetters(sync)).map((entry) => entry.record.key));
  const stored = hub.emulator.contacts().map((contact) => contact.properties.email ?? '');
  expect(new Set(stored).size).toBe(stored.length);
  const storedSet = new Set(stored);
  for (const lead of input) {
    const key = lead.email!.toLowerCase();
    expect(storedSet.has(key) !== dead.has(key), `${key}: written xor dead-lettered`).toBe(true);
  }
  const target = report.crms[0]!;
  expect(target.received).toBe(input.length);
  expect(target.created + target.updated + target.unchanged + target.deadLettered).toBe(input.length);
  return { dead, stored: storedSet };
}

describe('createCrmSync with the HubSpot adapter against the emulator', () => {
  it('syncs 1,000 leads in 10 upsert calls, and a second run creates nothing', async () => {
    const hub = await start();
    const adapter = adapterFor(hub);
    const sync = createCrmSync({ crms: [{ adapter, mapping: contactsMapping }] });
    const input = leads(1_000);
    const first = await sync.sync(input);
    expect(first.crms[0]).toMatchObject({ status: 'ok', created: 1_000, calls: 10, deadLettered: 0 });
    const second = await sync.sync(input);
    expect(second.crms[0]).toMatchObject({ status: 'ok', created: 0, updated: 1_000, calls: 10 });
    expect(hub.emulator.contacts()).toHaveLength(1_000);
    expect(hub.instance.counters.get('hubspot.endpoint.POST /crm/v3/objects/contacts/batch/upsert')).toBe(20);
    expect(hub.instance.counters.get('hubspot.429')).toBe(0);
    await sync.close();
    await adapter.close();
  });

  it.each([
    ['a private-app token: the daily headers say the budget is spent', false, 0],
    ['OAuth (no daily headers): a DAILY 429', true, 1],
  ])(
    'daily budget, %s: HubSpot is down for the run, no retry, the rest dead-lettered as retryable',
    async (_title, oauth, daily429s) => {
      const hub = await start({ limits: { hubspot: { daily: 4 } } });
      const { clientId, clientSecret, refreshToken } = hub.emulator.credentials;
      const adapter = adapterFor(hub, oauth ? { oauth: { clientId, clientSecret, refreshToken } } : {});
      const sync = createCrmSync({
        crms: [{ adapter, mapping: contactsMapping }],
        retry: { minTimeoutMs: 5, maxTimeoutMs: 20 },
      });
      const input = leads(1_000, 'daily');
      const report = await sync.sync(input);
      const written = hub.emulator.contacts().length;
      expect(report.crms[0]).toMatchObject({
        status: 'down',
        created: written,
        deadLettered: 1_000 - written,
        error: { code: 'quota_exceeded' },
      });
      expect(written).toBe(400);
      expect(hub.instance.counters.get('hubspot.429.DAILY')).toBe(daily429s);
      expect(hub.instance.counters.get('hubspot.endpoint.POST /crm/v3/objects/contacts/batch/upsert')).toBe(
        4 + daily429s,
      );
      const dead = await allDeadLetters(sync);
      expect(dead.every((entry) => entry.error.code === 'quota_exceeded')).toBe(true);
      // A quota resets: the refused batch and the 500 after it all wait, retryable, for a redrive.
      expect(dead.filter((entry) => entry.error.retryable)).toHaveLength(600);
      expect(adapter.dailyLimitResetsAt()).toBeGreaterThan(hub.now());
      await expectAccounted(hub, input, sync, report);
      await sync.close();
      await adapter.close();
    },
  );

  it('with 5% injected 5xx and 5% timeouts, every lead is written or dead-lettered and none is stored twice', async () => {
    const faults: FaultOptions = { serverErrorRate: 0.05, hangRate: 0.05, hangMs: 5_000 };
    const hub = await start({ faults });
    hub.emulator.setFaults({ partialFailureRate: 0.01 });
    const adapter = adapterFor(hub, { timeoutMs: 150 });
    const sync = createCrmSync({
      crms: [{ adapter, mapping: contactsMapping }],
      retry: { retries: 8, minTimeoutMs: 5, maxTimeoutMs: 40 },
      downAfter: 50,
    });
    const input = leads(1_500);
    const report = await sync.sync(input);
    const { dead } = await expectAccounted(hub, input, sync, report);
    expect(
      hub.instance.counters.get('hubspot.faults.serverError') +
        hub.instance.counters.get('hubspot.faults.hang'),
    ).toBeGreaterThan(0);
    // Only the records HubSpot rejected for their values are dead letters; 5xx and timeouts were retried.
    for (const entry of await allDeadLetters(sync)) expect(entry.error.code).toBe('validation_failed');
    expect(dead.size).toBe(report.crms[0]!.deadLettered);
    // A re-run after the faults writes nothing new for the leads already in.
    hub.instance.faults.clear();
    hub.emulator.setFaults({});
    const before = hub.emulator.contacts().length;
    const rerun = await sync.sync(input);
    expect(rerun.crms[0]).toMatchObject({ created: dead.size, deadLettered: 0 });
    expect(hub.emulator.contacts()).toHaveLength(before + dead.size);
    await sync.close();
    await adapter.close();
  });

  it('with every fault the emulator injects and OAuth tokens expiring mid-run, every lead is accounted for', async () => {
    const faults: FaultOptions = {
      serverErrorRate: 0.03,
      rateLimitBurst: { rate: 0.01, length: 2, retryAfterSeconds: 0 },
      hangRate: 0.02,
      hangMs: 5_000,
      connectionResetRate: 0.02,
      malformedJsonRate: 0.02,
    };
    const hub = await start({ faults, limits: { hubspot: { tenSecondly: 100 } } });
    hub.emulator.setFaults({ partialFailureRate: 0.01, partialFailureCategory: 'INTERNAL_ERROR' });
    const { clientId, clientSecret, refreshToken } = hub.emulator.credentials;
    const adapter = adapterFor(hub, { timeoutMs: 150, oauth: { clientId, clientSecret, refreshToken } });
    let batches = 0;
    const sync = createCrmSync({
      crms: [{ adapter, mapping: contactsMapping }],
      retry: { retries: 10, minTimeoutMs: 5, maxTimeoutMs: 40 },
      limits: { rateLimitBackoffMs: 20 },
      downAfter: 50,
      onEvent: (event) => {
        if (event.type !== 'crm.batchCompleted') return;
        batches += 1;
        // Expired-token 401s are forced on single calls rather than drawn at a rate: the emulator's
        // rate also answers its token endpoint with an expired-token 401, which HubSpot never does.
        if (batches === 2 || batches === 7) hub.instance.faults.queue('expiredToken');
        if (batches === 4) hub.emulator.expireTokens();
      },
    });
    const input = leads(1_200, 'every');
    const report = await sync.sync(input);
    await expectAccounted(hub, input, sync, report);
    expect(report.crms[0]).toMatchObject({ status: 'ok', deadLettered: 0 });
    expect(hub.emulator.contacts()).toHaveLength(1_200);
    expect(hub.instance.counters.get('hubspot.faults.tokensExpired')).toBe(1);
    expect(hub.instance.counters.get('hubspot.faults.expiredToken')).toBe(2);
    expect(hub.instance.counters.get('hubspot.oauth.tokensIssued')).toBeGreaterThanOrEqual(4);
    await sync.close();
    await adapter.close();
  });
});

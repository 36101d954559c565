import { ApiCallError, createCrmSync, createLead, defineFieldMapping, type Lead } from '@leadpipe/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createHubspot, type HubspotSettings } from '../src/index.js';
import { type HubspotFixture, startHubspot } from './support.js';

// The emulator's clock runs 10 times faster and the adapter's window is shortened to match.
const TIME_SCALE = 10;
const WINDOW_MS = 10_000 / TIME_SCALE;

const mapping = defineFieldMapping({
  object: 'contacts',
  idProperty: { from: 'email', to: 'email' },
  fields: [{ from: 'lastName', to: 'lastname' }],
});

function leads(count: number, prefix: string): Lead[] {
  return Array.from({ length: count }, (_, index) =>
    createLead({ email: `${prefix}${index}@faults.example`, lastName: `Last${index}` }),
  );
}

const fixtures: HubspotFixture[] = [];
afterEach(async () => {
  for (const fixture of fixtures.splice(0)) await fixture.close();
});

async function start(): Promise<HubspotFixture> {
  const fixture = await startHubspot({ seed: 5, timeScale: TIME_SCALE });
  fixtures.push(fixture);
  return fixture;
}

function adapterFor(hub: HubspotFixture, settings: HubspotSettings = {}) {
  return createHubspot({
    accessToken: hub.token,
    baseUrl: hub.baseUrl,
    now: hub.now,
    rateLimits: { windowMs: WINDOW_MS },
    ...settings,
  });
}

const upsertOne = {
  object: 'contacts',
  idProperty: 'email',
  records: [{ key: 'one@faults.example', properties: { lastname: 'One' } }],
};

describe('HubSpot adapter under injected 429s and 401s (emulator over HTTP)', () => {
  it('a TEN_SECONDLY_ROLLING 429 without Retry-After asks for a tenth of the window, not an open-ended backoff', async () => {
    const hub = await start();
    const adapter = adapterFor(hub);
    hub.instance.faults.queue('rateLimited');
    const error = await adapter.doUpsert(upsertOne, {}).catch((caught: unknown) => caught);
    expect(ApiCallError.isInstance(error) && error.code).toBe('rate_limited');
    expect((error as ApiCallError).vendorCode).toBe('TEN_SECONDLY_ROLLING');
    expect((error as ApiCallError).retryAfterMs).toBe(WINDOW_MS / 10);
    await adapter.close();
  });

  it('more injected 429s in a row than the limiter re-runs: every lead is written, none dead-lettered, the CRM stays up', async () => {
    const hub = await start();
    const adapter = adapterFor(hub);
    // The limiter re-runs a 429 five times; nine in a row outlast it.
    for (let index = 0; index < 9; index++) hub.instance.faults.queue('rateLimited');
    const sync = createCrmSync({
      crms: [{ adapter, mapping }],
      retry: { retries: 3, minTimeoutMs: 1, maxTimeoutMs: 5 },
      downAfter: 1,
    });
    const input = leads(150, 'burst');
    const report = await sync.sync(input);
    expect(hub.instance.counters.get('hubspot.faults.rateLimited')).toBe(9);
    expect(report.crms[0]).toMatchObject({ status: 'ok', created: 150, deadLettered: 0 });
    expect(hub.emulator.contacts()).toHaveLength(150);
    await sync.close();
    await adapter.close();
  });

  it('a private-app token called expired (EXPIRED_AUTHENTICATION) is tried once more: the call succeeds', async () => {
    const hub = await start();
    const adapter = adapterFor(hub);
    hub.instance.faults.queue('expiredToken');
    const results = await adapter.doUpsert(upsertOne, {});
    expect(results).toHaveLength(1);
    expect(hub.instance.counters.get('hubspot.faults.expiredToken')).toBe(1);
    expect(hub.emulator.contacts().map((contact) => contact.properties.email)).toEqual([
      'one@faults.example',
    ]);
    await adapter.close();
  });

  it('expired twice in a row: a retryable unauthorized; the sync retries it and the CRM is not taken down', async () => {
    const hub = await start();
    const adapter = adapterFor(hub);
    hub.instance.faults.queue('expiredToken');
    hub.instance.faults.queue('expiredToken');
    const error = await adapter.doUpsert(upsertOne, {}).catch((caught: unknown) => caught);
    expect(ApiCallError.isInstance(error) && error.code).toBe('unauthorized');
    expect((error as ApiCallError).isRetryable).toBe(true);

    hub.instance.faults.queue('expiredToken');
    hub.instance.faults.queue('expiredToken');
    const sync = createCrmSync({
      crms: [{ adapter, mapping }],
      retry: { retries: 3, minTimeoutMs: 1, maxTimeoutMs: 5 },
    });
    const report = await sync.sync(leads(250, 'expired'));
    expect(report.crms[0]).toMatchObject({ status: 'ok', created: 250, deadLettered: 0 });
    await sync.close();
    await adapter.close();
  });

  it('a wrong token (INVALID_AUTHENTICATION) is not retried: the CRM is down and the report says why', async () => {
    const hub = await start();
    const adapter = adapterFor(hub, { accessToken: 'pat-na1-not-the-right-token' });
    const sync = createCrmSync({ crms: [{ adapter, mapping }] });
    const report = await sync.sync(leads(250, 'wrong'));
    expect(report.crms[0]).toMatchObject({ status: 'down', created: 0, deadLettered: 250 });
    expect(report.crms[0]?.error?.code).toBe('unauthorized');
    expect(report.crms[0]?.error?.message).toMatch(/down for this run/);
    // One call found the token wrong; nothing was sent again with it.
    expect(hub.instance.counters.get('hubspot.401')).toBe(1);
    await sync.close();
    await adapter.close();
  });
});

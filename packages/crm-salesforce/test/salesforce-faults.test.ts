import {
  createCrmSync,
  createLead,
  type DeadLetterEntry,
  defineFieldMapping,
  type Lead,
} from '@leadpipe/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createSalesforce, type SalesforceSettings } from '../src/index.js';
import { type SalesforceFixture, startSalesforce } from './support.js';

const mapping = defineFieldMapping({
  object: 'Lead',
  idProperty: { from: 'email', to: 'Lead_Key__c' },
  fields: [
    { from: 'lastName', to: 'LastName' },
    { from: 'company.name', to: 'Company' },
  ],
});

function leads(count: number, prefix: string): Lead[] {
  return Array.from({ length: count }, (_, index) =>
    createLead({
      email: `${prefix}${index}@faults.example`,
      lastName: `Last${index}`,
      company: { name: `Company ${index % 20}` },
    }),
  );
}

const fixtures: SalesforceFixture[] = [];
afterEach(async () => {
  for (const fixture of fixtures.splice(0)) await fixture.close();
});

async function start(): Promise<SalesforceFixture> {
  const sf = await startSalesforce({ bulkStartDelayMs: 0 }, { msPerRequest: 50 });
  fixtures.push(sf);
  return sf;
}

function adapterFor(sf: SalesforceFixture, settings: SalesforceSettings = {}) {
  return createSalesforce({
    refreshToken: sf.emulator.credentials.refreshToken,
    clientId: sf.emulator.credentials.clientId,
    clientSecret: sf.emulator.credentials.clientSecret,
    loginUrl: sf.url,
    bulkPollIntervalMs: 1,
    ...settings,
  });
}

async function deadKeys(sync: ReturnType<typeof createCrmSync>): Promise<Set<string>> {
  const entries: DeadLetterEntry[] = [];
  let cursor: string | undefined;
  do {
    const page = await sync.deadLetters.list({ ...(cursor === undefined ? {} : { cursor }), limit: 500 });
    entries.push(...page.entries);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return new Set(entries.map((entry) => entry.record.key));
}

/**
 * A fetch that sends matching requests to the emulator, which acts on them, and then loses the
 * answer (a network error), as when a client times out on a request the server still handles.
 */
function losingAnswers(matches: (method: string, path: string, body: string) => boolean, times: number) {
  let left = times;
  const lost: string[] = [];
  const fetchImpl: typeof globalThis.fetch = async (input, init) => {
    const request = new Request(input, init);
    const path = new URL(request.url).pathname;
    const body = request.method === 'GET' ? '' : await request.clone().text();
    const response = await globalThis.fetch(request);
    if (left > 0 && matches(request.method, path, body)) {
      left--;
      await response.arrayBuffer();
      lost.push(`${request.method} ${path}`);
      throw new TypeError('fetch failed');
    }
    return response;
  };
  return { fetch: fetchImpl, lost };
}

describe('Salesforce adapter under lost answers and expired sessions (emulator over HTTP)', () => {
  it('Bulk: the answers to closing the job and to a poll are lost, yet every record ends written and none dead-lettered', async () => {
    const sf = await start();
    const jobPath = /\/jobs\/ingest\/[^/]+$/;
    const lossy = losingAnswers(
      (method, path, body) =>
        jobPath.test(path) && (method === 'GET' || (method === 'PATCH' && body.includes('UploadComplete'))),
      2,
    );
    const adapter = adapterFor(sf, { bulkThreshold: 100, maxBatchSize: 300, fetch: lossy.fetch });
    // No retry by the sync: a lost answer must not end the call as failed while the job writes the rows.
    const sync = createCrmSync({ crms: [{ adapter, mapping }], retry: { retries: 0 }, downAfter: 10 });
    const input = leads(300, 'bulk');
    const report = await sync.sync(input);
    expect(lossy.lost).toHaveLength(2);
    expect(lossy.lost[0]).toMatch(/^PATCH /);
    const dead = await deadKeys(sync);
    const stored = new Set(sf.emulator.leads().map((lead) => String(lead.Lead_Key__c).toLowerCase()));
    for (const lead of input) {
      const key = lead.email!.toLowerCase();
      expect(stored.has(key) !== dead.has(key), `${key}: written xor dead-lettered`).toBe(true);
    }
    expect(report.crms[0]).toMatchObject({ created: 300, deadLettered: 0 });
    await sync.close();
  });

  it('a session refused again right after its renewal (two INVALID_SESSION_ID in a row) is retried, and the CRM stays up', async () => {
    const sf = await start();
    const adapter = adapterFor(sf);
    const sync = createCrmSync({
      crms: [{ adapter, mapping }],
      retry: { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 5 },
    });
    // A first sync gets the session; then both 401s hit the next upsert (the first and its resend).
    await sync.sync(leads(1, 'warm'));
    sf.instance.faults.queue('expiredToken');
    sf.instance.faults.queue('expiredToken');
    const report = await sync.sync(leads(150, 'session'));
    expect(sf.instance.counters.get('salesforce.faults.expiredToken')).toBe(2);
    expect(report.crms[0]).toMatchObject({ status: 'ok', created: 150, deadLettered: 0 });
    expect(adapter.stats().tokenRequests).toBeGreaterThanOrEqual(2);
    await sync.close();
  });

  it('a token request that fails for now (a 5xx) while renewing keeps its retryable error: the CRM stays up', async () => {
    const sf = await start();
    const adapter = adapterFor(sf);
    const sync = createCrmSync({
      crms: [{ adapter, mapping }],
      retry: { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 5 },
    });
    await sync.sync(leads(1, 'warm'));
    // The upsert's 401 sends the adapter to the token endpoint, whose answer is a 500.
    sf.instance.faults.queue('expiredToken');
    sf.instance.faults.queue('serverError');
    const report = await sync.sync(leads(150, 'renewal'));
    expect(sf.instance.counters.get('salesforce.faults.serverError')).toBe(1);
    expect(report.crms[0]).toMatchObject({ status: 'ok', created: 150, deadLettered: 0 });
    await sync.close();
  });

  it('a slow token answer is waited for past timeoutMs: with rotated refresh tokens, one given up on is lost for good', async () => {
    const sf = await startSalesforce(
      { bulkStartDelayMs: 0, rotateRefreshTokens: true },
      { msPerRequest: 50 },
    );
    fixtures.push(sf);
    // Salesforce handles the token request (rotating the refresh token) and answers 300 ms later.
    const slowTokens: typeof globalThis.fetch = async (input, init) => {
      const request = new Request(input, init);
      const response = await globalThis.fetch(request);
      if (!new URL(request.url).pathname.endsWith('/oauth2/token')) return response;
      const body = await response.arrayBuffer();
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, 300);
        request.signal.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            reject(request.signal.reason);
          },
          { once: true },
        );
      });
      return new Response(body, { status: response.status, headers: response.headers });
    };
    const adapter = adapterFor(sf, { timeoutMs: 100, fetch: slowTokens });
    const sync = createCrmSync({
      crms: [{ adapter, mapping }],
      retry: { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 5 },
    });
    const report = await sync.sync(leads(50, 'slow'));
    expect(report.crms[0]).toMatchObject({ status: 'ok', created: 50, deadLettered: 0 });
    await sync.close();
  });

  it('a refresh token Salesforce refuses is a wrong credential: the CRM is down at once and the report says so', async () => {
    const sf = await start();
    const adapter = adapterFor(sf, { refreshToken: 'not-the-refresh-token' });
    const sync = createCrmSync({ crms: [{ adapter, mapping }] });
    const report = await sync.sync(leads(150, 'wrong'));
    expect(report.crms[0]).toMatchObject({ status: 'down', created: 0, deadLettered: 150 });
    expect(report.crms[0]?.error?.code).toBe('unauthorized');
    expect(report.crms[0]?.error?.message).toMatch(/down for this run/);
    await sync.close();
  });
});

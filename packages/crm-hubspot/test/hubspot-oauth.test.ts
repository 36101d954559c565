import { type ApiCallError, LeadpipeError } from '@leadpipe/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHubspot, type HubspotOAuthTokens, type HubspotSettings } from '../src/index.js';
import { cannedFetch, type HubspotFixture, startHubspot } from './support.js';

let hub: HubspotFixture;

beforeAll(async () => {
  hub = await startHubspot({ seed: 21, limits: { hubspot: { tenSecondly: 10_000 } } });
});
afterAll(() => hub.close());
beforeEach(() => {
  hub.instance.reset();
  hub.instance.faults.clear();
});

function oauthAdapter(
  settings: Partial<HubspotSettings> = {},
  oauth: Partial<NonNullable<HubspotSettings['oauth']>> = {},
) {
  const { clientId, clientSecret, refreshToken } = hub.emulator.credentials;
  const canned = cannedFetch();
  const tokens: HubspotOAuthTokens[] = [];
  const hubspot = createHubspot({
    baseUrl: hub.baseUrl,
    fetch: canned.fetch,
    now: hub.now,
    oauth: { clientId, clientSecret, refreshToken, onTokens: (issued) => tokens.push(issued), ...oauth },
    ...settings,
  });
  const tokenCalls = () => canned.calls.filter((call) => call.path === '/oauth/v1/token').length;
  return { hubspot, canned, tokens, tokenCalls };
}

const read = (hubspot: ReturnType<typeof createHubspot>, key = 'nobody@oauth.example') =>
  hubspot.doGet({ object: 'contacts', idProperty: 'email', keys: [key], properties: [] }, {});

describe('OAuth', () => {
  it('refreshes once for any number of concurrent calls, and every later call uses the new token', async () => {
    const { hubspot, canned, tokens, tokenCalls } = oauthAdapter();
    await Promise.all(Array.from({ length: 10 }, () => read(hubspot)));
    expect(tokenCalls()).toBe(1);
    expect(tokens).toHaveLength(1);
    await read(hubspot);
    const bearer = canned.calls.filter((call) => call.path.startsWith('/crm/')).length;
    expect(bearer).toBe(11);
    expect(tokenCalls()).toBe(1);
    expect(hub.instance.counters.get('hubspot.401')).toBe(0);
  });

  it('survives the token expiring in the middle of a run: one refresh, the call retried, nothing lost', async () => {
    const { hubspot, tokenCalls, tokens } = oauthAdapter();
    const records = (from: number) =>
      Array.from({ length: 20 }, (_, index) => ({ key: `r${from + index}@oauth.example`, properties: {} }));
    await hubspot.doUpsert({ object: 'contacts', idProperty: 'email', records: records(0) }, {});
    hub.emulator.expireTokens();
    const results = await Promise.all([
      hubspot.doUpsert({ object: 'contacts', idProperty: 'email', records: records(100) }, {}),
      hubspot.doUpsert({ object: 'contacts', idProperty: 'email', records: records(200) }, {}),
    ]);
    expect(results.flat().every((result) => result.status === 'created')).toBe(true);
    expect(hub.emulator.contacts()).toHaveLength(60);
    expect(tokenCalls()).toBe(2);
    expect(tokens[1]?.accessToken).not.toBe(tokens[0]?.accessToken);
    expect(hub.instance.counters.get('hubspot.401')).toBeGreaterThanOrEqual(1);
  });

  it('refreshes ahead of expiry (expires_in minus the margin) without waiting for a 401', async () => {
    let skew = 0;
    const { hubspot, tokenCalls } = oauthAdapter({ now: () => hub.now() + skew });
    await read(hubspot);
    skew = 26 * 60_000; // 30-minute tokens, 5-minute margin: at 26 minutes a new token is due.
    await read(hubspot);
    expect(tokenCalls()).toBe(2);
    expect(hub.instance.counters.get('hubspot.401')).toBe(0);
  });

  it('uses a still-valid access token it is given, and the v3 token path when asked', async () => {
    const first = oauthAdapter();
    await read(first.hubspot);
    const held = first.tokens[0]!;
    const second = oauthAdapter({}, { accessToken: held.accessToken, expiresAt: held.expiresAt });
    await read(second.hubspot);
    expect(second.tokenCalls()).toBe(0);
    const v3 = oauthAdapter({}, { tokenPath: '/oauth/v3/token' });
    await read(v3.hubspot);
    expect(v3.canned.calls.map((call) => call.path)).toContain('/oauth/v3/token');
  });

  it('a refused refresh is unauthorized, not retryable, and names no secret', async () => {
    const { hubspot } = oauthAdapter({}, { refreshToken: 'na1-revoked-refresh-token' });
    const error = (await read(hubspot).catch((caught: unknown) => caught)) as ApiCallError;
    expect(LeadpipeError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'unauthorized', isRetryable: false, status: 400 });
    const text = `${error.message} ${JSON.stringify(error.toJSON())}`;
    expect(text).not.toContain('na1-revoked-refresh-token');
    expect(text).not.toContain(hub.emulator.credentials.clientSecret);
  });

  it('checks the OAuth settings, naming the field', () => {
    expect(() =>
      createHubspot({ oauth: { clientId: '', clientSecret: 'secret-value', refreshToken: 'refresh-value' } }),
    ).toThrow(/^createHubspot: oauth\.clientId: must be a non-empty string/);
    expect(() =>
      createHubspot({
        oauth: {
          clientId: 'client',
          clientSecret: 'secret-value',
          refreshToken: 'refresh-value',
          accessToken: 'abc',
        },
      }),
    ).toThrow(/^createHubspot: oauth\.expiresAt: required with oauth\.accessToken/);
  });

  it('a private-app token never refreshes: a 401 is unauthorized at once', async () => {
    const canned = cannedFetch();
    const hubspot = createHubspot({
      accessToken: 'pat-na1-wrong-token',
      baseUrl: hub.baseUrl,
      fetch: canned.fetch,
    });
    const error = await read(hubspot).catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: 'unauthorized',
      isRetryable: false,
      vendorCode: 'INVALID_AUTHENTICATION',
    });
    expect(canned.calls).toHaveLength(1);
    expect(JSON.stringify((error as ApiCallError).toJSON())).not.toContain('pat-na1-wrong-token');
  });
});

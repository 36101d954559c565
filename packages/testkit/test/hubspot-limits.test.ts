import { describe, expect, it } from 'vitest';
import { createEmulatorContext } from '../src/emulator/create-context.js';
import type { HubspotEmulatorOptions } from '../src/vendors/hubspot/index.js';
import { createHubspotEmulator } from '../src/vendors/hubspot/index.js';
import { manualClock } from './hubspot-support.js';

// Limits are measured on the emulated clock. The clock runs 1000x faster than
// an injected real clock, so 10 emulated seconds pass in 10 "real" ms, and no
// test depends on machine speed.
function setup(options: HubspotEmulatorOptions) {
  const clock = manualClock();
  const context = createEmulatorContext({ realNow: clock.realNow, timeScale: 1000 });
  const emulator = createHubspotEmulator(context, options);
  const call = async (
    path = '/crm/v3/objects/contacts',
    init: { method?: string; body?: unknown; token?: string } = {},
  ) => {
    const response = await emulator.app.request(path, {
      method: init.method ?? 'GET',
      headers: {
        Authorization: `Bearer ${init.token ?? emulator.credentials.privateAppToken}`,
        'Content-Type': 'application/json',
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as Record<string, unknown>,
    };
  };
  const search = () => call('/crm/v3/objects/contacts/search', { method: 'POST', body: {} });
  /** Advance the emulated clock by `ms`. */
  const advance = (ms: number) => clock.advance(ms / 1000);
  return { context, emulator, call, search, advance };
}

describe('HubSpot emulator rate limits', () => {
  it('enforces the rolling 10-second window with the headers and the TEN_SECONDLY_ROLLING 429 body', async () => {
    const { context, call, advance } = setup({ rateLimits: { tenSecondly: 3 } });
    const remaining: (string | null)[] = [];
    for (let index = 0; index < 3; index += 1) {
      const reply = await call();
      expect(reply.status).toBe(200);
      expect(reply.headers.get('X-HubSpot-RateLimit-Max')).toBe('3');
      expect(reply.headers.get('X-HubSpot-RateLimit-Interval-Milliseconds')).toBe('10000');
      remaining.push(reply.headers.get('X-HubSpot-RateLimit-Remaining'));
      advance(4000);
    }
    expect(remaining).toEqual(['2', '1', '0']);
    // t = 12 s: the request at t = 0 has left the window, those at 4 s and 8 s have not.
    expect((await call()).status).toBe(200);
    const refused = await call();
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({
      status: 'error',
      message: 'You have reached your ten_secondly_rolling limit.',
      errorType: 'RATE_LIMIT',
      policyName: 'TEN_SECONDLY_ROLLING',
    });
    expect(refused.body.groupName).toMatch(/^publicapi:hapikey-api-calls-ten-secondly:\d+$/);
    expect(refused.body.correlationId).toEqual(expect.any(String));
    expect(refused.body.requestId).toEqual(expect.any(String));
    expect(refused.headers.get('X-HubSpot-RateLimit-Remaining')).toBe('0');
    expect(context.counters.get('hubspot.429')).toBe(1);
    expect(context.counters.get('hubspot.429.TEN_SECONDLY_ROLLING')).toBe(1);

    // The refused request did not use up the window: once the 4 s request leaves, one more fits.
    advance(2001);
    expect((await call()).status).toBe(200);
    expect((await call()).status).toBe(429);
  });

  it('allows 190 per window when configured for a higher tier', async () => {
    const { call } = setup({ rateLimits: { tenSecondly: 190 } });
    const statuses: number[] = [];
    for (let index = 0; index < 191; index += 1) statuses.push((await call()).status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(190);
    expect(statuses.at(-1)).toBe(429);
  });

  it('enforces the daily limit with the DAILY body, and resets at midnight in the account time zone', async () => {
    const { call, advance } = setup({ rateLimits: { daily: 2, timeZoneOffsetMinutes: 0 } });
    const first = await call();
    expect(first.headers.get('X-HubSpot-RateLimit-Daily')).toBe('2');
    expect(first.headers.get('X-HubSpot-RateLimit-Daily-Remaining')).toBe('1');
    expect((await call()).headers.get('X-HubSpot-RateLimit-Daily-Remaining')).toBe('0');
    const refused = await call();
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({
      status: 'error',
      message: 'You have reached your daily limit.',
      errorType: 'RATE_LIMIT',
      policyName: 'DAILY',
    });
    // The manual clock starts at 12:00 UTC: 11 h later is still the same day, 12 h later is the next.
    advance(11 * 3_600_000);
    expect((await call()).status).toBe(429);
    advance(3_600_000);
    const nextDay = await call();
    expect(nextDay.status).toBe(200);
    expect(nextDay.headers.get('X-HubSpot-RateLimit-Daily-Remaining')).toBe('1');
  });

  it('limits search to 5 per second on its own, with the "secondly limit" body the official client retries on', async () => {
    const { call, search, advance, context } = setup({});
    for (let index = 0; index < 5; index += 1) expect((await search()).status).toBe(200);
    const refused = await search();
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({
      status: 'error',
      message: 'You have reached your secondly limit.',
      errorType: 'RATE_LIMIT',
      policyName: 'SECONDLY',
    });
    expect(context.counters.get('hubspot.429.SECONDLY')).toBe(1);
    expect((await call()).status).toBe(200);
    advance(1000);
    expect((await search()).status).toBe(200);
  });

  it('sends the -Secondly headers only when asked', async () => {
    const plain = setup({});
    expect((await plain.call()).headers.get('X-HubSpot-RateLimit-Secondly')).toBeNull();
    const withSecondly = setup({ rateLimits: { secondlyHeaders: true, tenSecondly: 100 } });
    const reply = await withSecondly.call();
    expect(reply.headers.get('X-HubSpot-RateLimit-Secondly')).toBe('10');
    expect(reply.headers.get('X-HubSpot-RateLimit-Secondly-Remaining')).toBe('9');
  });

  it('counts an OAuth app in its own window and leaves out the daily headers for it', async () => {
    const { emulator, call } = setup({ rateLimits: { tenSecondly: 1 } });
    const response = await emulator.app.request('/oauth/v1/token', {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: emulator.credentials.clientId,
        client_secret: emulator.credentials.clientSecret,
        refresh_token: emulator.credentials.refreshToken,
      }),
    });
    const { access_token: token } = (await response.json()) as { access_token: string };
    expect((await call()).status).toBe(200);
    expect((await call()).status).toBe(429);
    const oauth = await call('/crm/v3/objects/contacts', { token });
    expect(oauth.status).toBe(200);
    expect(oauth.headers.get('X-HubSpot-RateLimit-Daily')).toBeNull();
    expect(oauth.headers.get('X-HubSpot-RateLimit-Remaining')).toBe('0');
  });
});

import { ConfigurationError } from '@leadpipe/core';
import { setupServer } from 'msw/node';
import { describe, expect, it } from 'vitest';
import { parseCli } from '../src/emulator/cli-options.js';
import { toMswHandlers } from '../src/emulator/msw.js';
import { createEmulator } from '../src/emulator/registry.js';
import { startEmulators } from '../src/emulator/server.js';

describe('startEmulators', () => {
  it('serves every vendor on its own 127.0.0.1 port with shared counters and truth', async () => {
    const running = await startEmulators({
      seed: 2,
      truth: { people: 300, companies: 50 },
      limits: { apollo: { perMinute: 7 } },
    });
    try {
      expect(Object.keys(running.urls).sort()).toEqual([
        'apollo',
        'clearbit',
        'hubspot',
        'mailgun',
        'salesforce',
        'sendgrid',
        'zoominfo',
      ]);
      const origins = Object.values(running.urls).map((urls) => urls?.baseUrl);
      expect(new Set(origins).size).toBe(7);
      for (const origin of origins) expect(origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(running.truth.people).toHaveLength(300);
      const apollo = await fetch(`${running.urls.apollo!.apiUrl}/people/match`, {
        method: 'POST',
        headers: { 'x-api-key': running.credentials.apollo!.apiKey! },
      });
      expect(apollo.headers.get('x-rate-limit-minute')).toBe('7');
      const hubspot = await fetch(`${running.urls.hubspot!.baseUrl}/crm/v3/objects/contacts`, {
        headers: { authorization: `Bearer ${running.credentials.hubspot!.privateAppToken}` },
      });
      expect(hubspot.status).toBe(200);
      const clearbit = await fetch(
        `${running.urls.clearbit!.streamUrl}/v2/companies/find?domain=${running.truth.companies[0]!.domain}`,
        {
          headers: { authorization: `Bearer ${running.credentials.clearbit!.apiKey}` },
        },
      );
      expect([200, 404]).toContain(clearbit.status);
      const basic = Buffer.from(`${running.credentials.clearbit!.apiKey}:`).toString('base64');
      const viaBasic = await fetch(
        `${running.urls.clearbit!.personUrl}/v2/people/find?email=${running.truth.people[0]!.email}`,
        { headers: { authorization: `Basic ${basic}` } },
      );
      expect([200, 202, 404]).toContain(viaBasic.status);
      expect(viaBasic.headers.get('x-ratelimit-limit')).toBe('600');
      const denied = await fetch(`${running.urls.clearbit!.personUrl}/v2/people/find?email=a@b.com`);
      expect(denied.status).toBe(401);
      expect(running.counters.get('apollo.http.requests')).toBe(1);
      expect(running.counters.get('hubspot.http.requests')).toBe(1);
      expect(running.counters.get('clearbit.http.requests')).toBe(3);
    } finally {
      await running.close();
    }
  });

  it('rejects an unknown vendor and a bad port with a ConfigurationError', async () => {
    await expect(startEmulators({ vendors: ['pipedrive' as 'apollo'] })).rejects.toThrow(ConfigurationError);
    await expect(startEmulators({ port: -1 })).rejects.toThrow(/port/);
    expect(() => createEmulator('nope' as 'apollo')).toThrow(/unknown vendor/);
  });
});

describe('toMswHandlers', () => {
  it("routes each vendor's real hosts, Salesforce instance hosts included", async () => {
    const salesforce = createEmulator('salesforce', { seed: 2 });
    const hubspot = createEmulator('hubspot', { seed: 2 });
    const server = setupServer(...toMswHandlers({ salesforce, hubspot }));
    server.listen({ onUnhandledRequest: 'error' });
    try {
      const token = await fetch('https://login.salesforce.com/services/oauth2/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'password',
          client_id: salesforce.credentials.clientId!,
          client_secret: salesforce.credentials.clientSecret!,
          username: salesforce.credentials.username!,
          password: salesforce.credentials.password!,
        }),
      });
      expect(token.status).toBe(200);
      const instance = await fetch('https://acme.my.salesforce.com/services/data/v59.0/limits', {
        headers: { authorization: `Bearer ${salesforce.credentials.accessToken}` },
      });
      expect(instance.status).toBeLessThan(500);
      expect(salesforce.counters.get('salesforce.http.requests')).toBe(2);
      const contacts = await fetch('https://api.hubapi.com/crm/v3/objects/contacts', {
        headers: { authorization: `Bearer ${hubspot.credentials.privateAppToken}` },
      });
      expect(contacts.status).toBe(200);
    } finally {
      server.close();
    }
  });
});

describe('CLI options', () => {
  it('parses flags into startEmulators options', () => {
    const options = parseCli([
      '--vendors',
      'apollo,clearbit',
      '--port',
      '0',
      '--seed',
      '4',
      '--time-scale',
      '60',
      '--server-error-rate',
      '0.1',
      '--latency-ms',
      'uniform:10:20',
      '--apollo-per-hour',
      '50',
    ]);
    expect(options).toMatchObject({
      vendors: ['apollo', 'clearbit'],
      port: 0,
      seed: 4,
      timeScale: 60,
      faults: { serverErrorRate: 0.1, latencyMs: { distribution: 'uniform', minMs: 10, maxMs: 20 } },
      limits: { apollo: { perHour: 50 } },
    });
    expect(parseCli(['--help'])).toBeUndefined();
  });

  it('names the flag in errors', () => {
    expect(() => parseCli(['--seed', 'abc'])).toThrow(/--seed/);
    expect(() => parseCli(['--vendors', 'apollo,zoho'])).toThrow(/zoho/);
    expect(() => parseCli(['--latency-ms', 'weird:1'])).toThrow(/--latency-ms/);
    expect(() => parseCli(['--config', '/nonexistent/file.json'])).toThrow(/--config/);
    expect(() => parseCli(['--bogus'])).toThrow(ConfigurationError);
  });
});

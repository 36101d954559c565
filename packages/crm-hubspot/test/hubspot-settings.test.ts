import { ConfigurationError } from '@leadpipe/core';
import { describe, expect, it } from 'vitest';
import { createHubspot, type HubspotSettings } from '../src/index.js';

const OAUTH = { clientId: 'client-id', clientSecret: 'secret-value', refreshToken: 'refresh-value' };

/** The ConfigurationError `createHubspot` throws for `settings` (fails the test when it throws none). */
function refusal(settings: unknown): ConfigurationError {
  try {
    createHubspot(settings as HubspotSettings);
  } catch (error) {
    expect(ConfigurationError.isInstance(error)).toBe(true);
    return error as ConfigurationError;
  }
  throw new Error(`createHubspot accepted ${JSON.stringify(settings)}`);
}

describe('createHubspot settings', () => {
  it.each([
    [{ adapterId: 'hub spot' }, 'adapterId', /^must be letters, digits/],
    [{ adapterId: 7 }, 'adapterId', /^must be letters, digits/],
    [{ baseUrl: 'api.hubapi.com' }, 'baseUrl', /^must be an absolute http:\/\/ or https:\/\/ URL$/],
    [{ baseUrl: 'ftp://api.hubapi.com' }, 'baseUrl', /^must be an absolute http/],
    [{ tier: 'gold' }, 'tier', /^must be one of free, starter, professional, enterprise, got "gold"$/],
    [{ rateLimits: { tenSecondly: 0 } }, 'rateLimits.tenSecondly', /^must be a positive integer, got 0$/],
    [{ rateLimits: { windowMs: 1.5 } }, 'rateLimits.windowMs', /^must be a positive integer, got 1.5$/],
    [{ rateLimits: { daily: '9' } }, 'rateLimits.daily', /^must be a positive integer, got 9$/],
    [{ rateLimits: { searchPerSecond: -1 } }, 'rateLimits.searchPerSecond', /^must be a positive integer/],
    [{ rateLimits: { perMinute: 5 } }, 'rateLimits.perMinute', /^is not a known option$/],
    [{ accountTimeZone: 'Mars/Olympus' }, 'accountTimeZone', /^must be an IANA time zone.*"Mars\/Olympus"$/],
    [{ webhookToleranceMs: 0 }, 'webhookToleranceMs', /^must be a positive number of ms$/],
    [{ webhookToleranceMs: Number.NaN }, 'webhookToleranceMs', /^must be a positive number of ms$/],
    [{ webhookUrl: '/webhooks/hubspot' }, 'webhookUrl', /^must be an absolute http/],
    [{ timeoutMs: -5 }, 'timeoutMs', /^must be a positive number of ms$/],
    [{ associateCompanies: 'yes' }, 'associateCompanies', /^must be true, false or \{ domain \}$/],
    [{ fetch: 'fetch' }, 'fetch', /^must be a function$/],
    [{ limiterRegistry: {} }, 'limiterRegistry', /^must be an object with a get\(\) method$/],
    [{ accesToken: 'pat-typo' }, 'accesToken', /^is not a known option$/],
    [
      { oauth: { ...OAUTH, accessToken: 'held' } },
      'oauth.expiresAt',
      /^required with oauth\.accessToken \(epoch ms at which it expires\)$/,
    ],
    [{ oauth: { ...OAUTH, refreshMarginMs: -1 } }, 'oauth.refreshMarginMs', /^must be a non-negative number/],
    [{ oauth: { ...OAUTH, tokenPath: 'oauth/v3/token' } }, 'oauth.tokenPath', /^must be a path/],
  ])('refuses %j as invalid_configuration naming %s', (settings, field, reason) => {
    const error = refusal(settings);
    expect(error.code).toBe('invalid_configuration');
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]?.field).toBe(field);
    expect(error.issues[0]?.reason).toMatch(reason);
    // The message says what was being set up, then the field, then why.
    expect(error.message.startsWith(`createHubspot: ${field}: `)).toBe(true);
  });

  it('names every wrong setting at once, and the adapter id the settings are for', () => {
    const error = refusal({ adapterId: 'crm-eu', tier: 'gold', webhookToleranceMs: -1 });
    expect(error.issues.map((issue) => issue.field)).toEqual(['tier', 'webhookToleranceMs']);
    expect(error.providerId).toBe('crm-eu');
  });

  it.each(['clientId', 'clientSecret', 'refreshToken'] as const)(
    'a missing or blank oauth.%s is missing_credentials, naming it',
    (field) => {
      for (const value of [undefined, '', '   ']) {
        const error = refusal({ oauth: { ...OAUTH, [field]: value } });
        expect(error.code).toBe('missing_credentials');
        expect(error.issues).toEqual([{ field: `oauth.${field}`, reason: 'must be a non-empty string' }]);
        expect(error.message).toBe(`createHubspot: oauth.${field}: must be a non-empty string`);
      }
    },
  );

  it('a missing credential beside another wrong setting is invalid_configuration listing both', () => {
    const error = refusal({ tier: 'gold', oauth: { ...OAUTH, clientId: '' } });
    expect(error.code).toBe('invalid_configuration');
    expect(error.issues.map((issue) => issue.field).sort()).toEqual(['oauth.clientId', 'tier']);
  });

  it('no secret reaches the error', () => {
    const error = refusal({ oauth: { ...OAUTH, clientId: '', refreshMarginMs: -1 }, tier: 'x' });
    const text = `${error.message} ${JSON.stringify(error.toJSON())}`;
    expect(text).not.toContain('secret-value');
    expect(text).not.toContain('refresh-value');
  });

  it('accepts every valid setting and strips trailing slashes from baseUrl', async () => {
    const calls: string[] = [];
    const hubspot = createHubspot({
      accessToken: 'pat-na1-valid',
      baseUrl: 'http://127.0.0.1:9/base//',
      adapterId: 'hubspot.eu_1',
      tier: 'enterprise',
      rateLimits: { tenSecondly: 50, windowMs: 1000, daily: 900, searchPerSecond: 2 },
      accountTimeZone: 'America/New_York',
      associateCompanies: { domain: () => undefined },
      changesKeyProperty: { contacts: 'email' },
      webhookSecret: 'whsec',
      webhookUrl: 'https://example.com/hooks',
      webhookToleranceMs: 1000,
      timeoutMs: 1000,
      captureResponseBody: false,
      now: Date.now,
      fetch: async (input) => {
        calls.push(String(input instanceof Request ? input.url : input));
        return Response.json({ results: [] });
      },
    });
    expect(hubspot.adapterId).toBe('hubspot.eu_1');
    // Three calls per operation with company association: the window and the day divided by 3.
    expect(hubspot.capabilities.rateLimits).toEqual({
      windows: [{ name: '10s', limit: 16, intervalMs: 1000 }],
      perDay: 300,
    });
    await hubspot.properties('contacts');
    expect(calls[0]).toMatch(/^http:\/\/127\.0\.0\.1:9\/base\/crm\/v3\/properties\/contacts/);
    await hubspot.close();
  });
});

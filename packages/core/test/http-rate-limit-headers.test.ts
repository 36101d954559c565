import { describe, expect, it } from 'vitest';
import {
  type HeaderReader,
  type PartialRateLimitState,
  parseRateLimitHeaders,
  parseResetValue,
  type RateLimitHeaderMapping,
  xRateLimitHeaders,
} from '../src/http/rate-limit-headers.js';
import { parseRetryAfter } from '../src/http/retry-after.js';

const NOW = Date.UTC(2026, 10, 25, 9, 0, 0);
const NOW_SECONDS = NOW / 1000;

describe('parseRetryAfter', () => {
  it.each([
    ['120', 120_000],
    ['0', 0],
    [' 7 ', 7000],
    ['1.5', 1500],
    ['Wed, 25 Nov 2026 09:01:30 GMT', 90_000],
    ['Wednesday, 25-Nov-26 09:00:10 GMT', 10_000],
    ['Wed Nov 25 09:00:05 2026', 5000],
    ['Wed, 25 Nov 2026 08:59:00 GMT', 0],
  ])('%j -> %j ms', (value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });

  it.each([[undefined], [null], [''], ['-5'], ['soon'], ['12abc'], ['Tuesday 2026'], ['1e3'], ['Infinity']])(
    '%j -> undefined',
    (value) => {
      expect(parseRetryAfter(value, NOW)).toBeUndefined();
    },
  );
});

describe('parseResetValue', () => {
  it.each([
    ['auto: epoch seconds', String(NOW_SECONDS + 60), 'auto', NOW + 60_000],
    ['auto: epoch milliseconds', String(NOW + 60_000), 'auto', NOW + 60_000],
    ['auto: delta seconds', '3300', 'auto', NOW + 3_300_000],
    ['auto: HTTP date', 'Wed, 25 Nov 2026 09:00:30 GMT', 'auto', NOW + 30_000],
    ['forced delta milliseconds', '1500', 'delta-milliseconds', NOW + 1500],
    ['forced epoch seconds, even if small', '3300', 'epoch-seconds', 3_300_000],
    ['forced delta seconds, even if large', '1000000000', 'delta-seconds', NOW + 1e12],
    ['http-date', 'Wed, 25 Nov 2026 09:00:30 GMT', 'http-date', NOW + 30_000],
  ] as const)('%s', (_label, value, format, expected) => {
    expect(parseResetValue(value, format, NOW)).toBe(expected);
  });

  it('gives undefined for garbage and negative values', () => {
    expect(parseResetValue('later', 'auto', NOW)).toBeUndefined();
    expect(parseResetValue('-10', 'delta-seconds', NOW)).toBeUndefined();
    expect(parseResetValue(undefined, 'auto', NOW)).toBeUndefined();
  });
});

describe('parseRateLimitHeaders: generic formats (default mapping)', () => {
  it('returns undefined when no limit header is present', () => {
    expect(parseRateLimitHeaders({ 'content-type': 'application/json' }, undefined, NOW)).toBeUndefined();
    expect(parseRateLimitHeaders({ 'x-ratelimit-limit': 'lots' }, undefined, NOW)).toBeUndefined();
  });

  it('reads X-RateLimit-* in any case, from Headers or records', () => {
    const expected = {
      windows: [{ name: 'default', limit: 600, remaining: 599, resetAt: NOW + 60_000 }],
    };
    const record = { 'X-RateLimit-Limit': '600', 'X-RateLimit-Remaining': '599', 'X-RateLimit-Reset': '60' };
    expect(parseRateLimitHeaders(record, undefined, NOW)).toEqual(expected);
    expect(parseRateLimitHeaders(new Headers(record), undefined, NOW)).toEqual(expected);
  });

  it('derives retryAfterMs from an exhausted window when there is no Retry-After', () => {
    const state = parseRateLimitHeaders(
      {
        'x-ratelimit-limit': '600',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(NOW_SECONDS + 42),
      },
      undefined,
      NOW,
    );
    expect(state?.retryAfterMs).toBe(42_000);
  });

  it('prefers Retry-After, in seconds or as a date', () => {
    const exhausted = { 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '500' };
    expect(parseRateLimitHeaders({ ...exhausted, 'retry-after': '3' }, undefined, NOW)?.retryAfterMs).toBe(
      3000,
    );
    expect(parseRateLimitHeaders({ 'Retry-After': 'Wed, 25 Nov 2026 09:02:00 GMT' }, undefined, NOW)).toEqual(
      { windows: [], retryAfterMs: 120_000 },
    );
  });

  it('reads IETF RateLimit-Limit/-Remaining/-Reset with RateLimit-Policy', () => {
    const state = parseRateLimitHeaders(
      {
        'RateLimit-Limit': '100',
        'RateLimit-Remaining': '40',
        'RateLimit-Reset': '25',
        'RateLimit-Policy': '100;w=60, 5000;w=86400',
      },
      undefined,
      NOW,
    );
    expect(state).toEqual({
      windows: [
        { name: 'minute', limit: 100, remaining: 40, resetAt: NOW + 25_000, intervalMs: 60_000 },
        { name: 'day', limit: 5000, intervalMs: 86_400_000 },
      ],
    });
  });

  it('reads policies listed in RateLimit-Limit (drafts up to 05)', () => {
    expect(
      parseRateLimitHeaders(
        { 'ratelimit-limit': '10, 10;w=1, 50;w=60', 'ratelimit-remaining': '9' },
        undefined,
        NOW,
      ),
    ).toEqual({
      windows: [
        { name: 'second', limit: 10, remaining: 9, intervalMs: 1000 },
        { name: 'minute', limit: 50, intervalMs: 60_000 },
      ],
    });
  });

  it('reads the combined RateLimit field of draft 07 and the named one of later drafts', () => {
    expect(
      parseRateLimitHeaders(
        { ratelimit: 'limit=100, remaining=0, reset=30', 'ratelimit-policy': '100;w=3600' },
        undefined,
        NOW,
      ),
    ).toEqual({
      windows: [{ name: 'hour', limit: 100, remaining: 0, resetAt: NOW + 30_000, intervalMs: 3_600_000 }],
      retryAfterMs: 30_000,
    });
    expect(
      parseRateLimitHeaders(
        { RateLimit: '"burst";r=3;t=2', 'RateLimit-Policy': '"burst";q=10;w=1, "daily";q=1000;w=86400' },
        undefined,
        NOW,
      ),
    ).toEqual({
      windows: [
        { name: 'burst', limit: 10, remaining: 3, resetAt: NOW + 2000, intervalMs: 1000 },
        { name: 'daily', limit: 1000, intervalMs: 86_400_000 },
      ],
    });
  });

  it('reports no windows from other headers when a mapping replaces the default, and can drop Retry-After', () => {
    const headers = { 'ratelimit-limit': '5', 'x-ratelimit-limit': '7', 'retry-after': '9' };
    expect(parseRateLimitHeaders(headers, xRateLimitHeaders, NOW)).toEqual({
      windows: [{ name: 'default', limit: 7 }],
      retryAfterMs: 9000,
    });
    expect(parseRateLimitHeaders(headers, { ...xRateLimitHeaders, retryAfter: false }, NOW)).toEqual({
      windows: [{ name: 'default', limit: 7 }],
    });
  });
});

// Vendor mappings, as the adapters will write them, from reference/enrichment-apis.md and crm-apis.md.
const apolloMapping: RateLimitHeaderMapping = {
  windows: [
    {
      name: 'minute',
      limit: 'x-rate-limit-minute',
      remaining: 'x-minute-requests-left',
      used: 'x-minute-usage',
    },
    {
      name: 'hour',
      limit: 'x-rate-limit-hourly',
      remaining: 'x-hourly-requests-left',
      used: 'x-hourly-usage',
    },
    { name: 'day', limit: 'x-rate-limit-daily', remaining: 'x-daily-requests-left', used: 'x-daily-usage' },
  ],
};

const hubspotMapping: RateLimitHeaderMapping = {
  windows: [
    {
      name: '10s',
      limit: 'X-HubSpot-RateLimit-Max',
      remaining: 'X-HubSpot-RateLimit-Remaining',
      intervalMsHeader: 'X-HubSpot-RateLimit-Interval-Milliseconds',
    },
    {
      name: 'second',
      limit: 'X-HubSpot-RateLimit-Secondly',
      remaining: 'X-HubSpot-RateLimit-Secondly-Remaining',
    },
    { name: 'day', limit: 'X-HubSpot-RateLimit-Daily', remaining: 'X-HubSpot-RateLimit-Daily-Remaining' },
  ],
};

const clearbitMapping: RateLimitHeaderMapping = {
  windows: [
    {
      name: 'minute',
      limit: 'X-RateLimit-Limit',
      remaining: 'X-RateLimit-Remaining',
      reset: 'X-RateLimit-Reset',
      intervalMs: 60_000,
    },
  ],
};

function parseSforceLimitInfo(header: HeaderReader): PartialRateLimitState | undefined {
  const value = header('Sforce-Limit-Info');
  if (value === undefined) return undefined;
  const windows = [];
  for (const match of value.matchAll(/(api-usage|api-bursts)=(\d+)\/(\d+)/g)) {
    const used = Number(match[2]);
    const limit = Number(match[3]);
    windows.push({
      name: match[1] === 'api-usage' ? 'day' : 'burst',
      limit,
      remaining: Math.max(0, limit - used),
    });
  }
  return { windows };
}

const salesforceMapping: RateLimitHeaderMapping = { parse: parseSforceLimitInfo };

describe('parseRateLimitHeaders: every vendor in the references can be expressed', () => {
  it.each([
    [
      'Apollo, all three windows on a success',
      apolloMapping,
      {
        'x-rate-limit-minute': '200',
        'x-minute-usage': '5',
        'x-minute-requests-left': '195',
        'x-rate-limit-hourly': '600',
        'x-hourly-usage': '105',
        'x-hourly-requests-left': '495',
        'x-rate-limit-daily': '2000',
        'x-daily-usage': '1105',
        'x-daily-requests-left': '895',
      },
      {
        windows: [
          { name: 'minute', limit: 200, remaining: 195 },
          { name: 'hour', limit: 600, remaining: 495 },
          { name: 'day', limit: 2000, remaining: 895 },
        ],
      },
    ],
    [
      'Apollo, remaining derived from usage when requests-left is absent',
      apolloMapping,
      { 'x-rate-limit-minute': '200', 'x-minute-usage': '200' },
      { windows: [{ name: 'minute', limit: 200, remaining: 0 }] },
    ],
    [
      'HubSpot private app with daily headers',
      hubspotMapping,
      {
        'X-HubSpot-RateLimit-Interval-Milliseconds': '10000',
        'X-HubSpot-RateLimit-Max': '190',
        'X-HubSpot-RateLimit-Remaining': '189',
        'X-HubSpot-RateLimit-Daily': '625000',
        'X-HubSpot-RateLimit-Daily-Remaining': '624000',
      },
      {
        windows: [
          { name: '10s', limit: 190, remaining: 189, intervalMs: 10_000 },
          { name: 'day', limit: 625_000, remaining: 624_000 },
        ],
      },
    ],
    [
      'HubSpot OAuth call (no daily headers) with the 2018 secondly headers and a 429 Retry-After',
      hubspotMapping,
      {
        'x-hubspot-ratelimit-interval-milliseconds': '10000',
        'x-hubspot-ratelimit-max': '100',
        'x-hubspot-ratelimit-remaining': '0',
        'x-hubspot-ratelimit-secondly': '10',
        'x-hubspot-ratelimit-secondly-remaining': '0',
        'retry-after': '2',
      },
      {
        windows: [
          { name: '10s', limit: 100, remaining: 0, intervalMs: 10_000 },
          { name: 'second', limit: 10, remaining: 0 },
        ],
        retryAfterMs: 2000,
      },
    ],
    [
      'Clearbit, reset as seconds remaining (issue #6)',
      clearbitMapping,
      { 'X-RateLimit-Limit': '600', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '3300' },
      {
        windows: [{ name: 'minute', limit: 600, remaining: 0, resetAt: NOW + 3_300_000, intervalMs: 60_000 }],
        retryAfterMs: 3_300_000,
      },
    ],
    [
      'Clearbit, reset as epoch seconds (api-evangelist)',
      clearbitMapping,
      {
        'X-RateLimit-Limit': '600',
        'X-RateLimit-Remaining': '12',
        'X-RateLimit-Reset': String(NOW_SECONDS + 20),
      },
      { windows: [{ name: 'minute', limit: 600, remaining: 12, resetAt: NOW + 20_000, intervalMs: 60_000 }] },
    ],
    [
      'Salesforce api-usage',
      salesforceMapping,
      { 'Sforce-Limit-Info': 'api-usage=25/15000' },
      { windows: [{ name: 'day', limit: 15_000, remaining: 14_975 }] },
    ],
    [
      'Salesforce api-usage with api-bursts (newer docs)',
      salesforceMapping,
      { 'sforce-limit-info': 'api-usage=10018/100000; api-bursts=750/750' },
      {
        windows: [
          { name: 'day', limit: 100_000, remaining: 89_982 },
          { name: 'burst', limit: 750, remaining: 0 },
        ],
      },
    ],
  ] as const)('%s', (_label, mapping, headers, expected) => {
    expect(parseRateLimitHeaders(headers, mapping, NOW)).toEqual(expected);
  });

  it('a custom parse function is merged with named windows and may supply retryAfterMs', () => {
    const mapping: RateLimitHeaderMapping = {
      windows: [{ name: 'minute', limit: 'x-limit' }],
      retryAfter: ['x-wait'],
      parse: (header) => (header('x-cooldown-ms') === undefined ? undefined : { retryAfterMs: 750 }),
    };
    expect(parseRateLimitHeaders({ 'x-limit': '5', 'x-cooldown-ms': '1' }, mapping, NOW)).toEqual({
      windows: [{ name: 'minute', limit: 5 }],
      retryAfterMs: 750,
    });
    // The mapping's own Retry-After header wins over the custom value.
    expect(parseRateLimitHeaders({ 'x-wait': '4', 'x-cooldown-ms': '1' }, mapping, NOW)?.retryAfterMs).toBe(
      4000,
    );
  });
});

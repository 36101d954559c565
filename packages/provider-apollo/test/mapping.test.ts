import { parseRateLimitHeaders } from '@leadpipe/core/adapter-kit';
import { describe, expect, it } from 'vitest';
import {
  apolloRateLimitHeaders,
  apolloRateLimitPolicy,
  mapApolloError,
  toBulkUnits,
} from '../src/apollo-limits.js';
import { departmentName, emailConfidence, mapOrganization, mapPerson } from '../src/apollo-mapping.js';
import { parseApolloJson } from '../src/apollo-schemas.js';

const organization = {
  id: '5e66b6381e05b4008c8331b8',
  name: 'Acme Robotics',
  website_url: 'http://www.acme-robotics.com',
  primary_domain: null,
  industry: 'information technology & services',
  estimated_num_employees: 340,
  annual_revenue: 52_000_000,
  technology_names: [],
  current_technologies: [{ uid: 'salesforce', name: 'Salesforce', category: 'CRM' }],
  city: 'San Francisco',
  state: 'California',
  country: 'United States',
};

describe('mapOrganization', () => {
  it('maps firmographics, falls back to the website host and technologies list', () => {
    const { fields, fieldConfidence } = mapOrganization(organization);
    expect(fields).toEqual({
      'company.name': 'Acme Robotics',
      'company.domain': 'acme-robotics.com',
      'company.industry': 'information technology & services',
      'company.headcount': 340,
      'company.headcountRange': '201-500',
      'company.annualRevenue': 52_000_000,
      'company.location': {
        city: 'San Francisco',
        region: 'California',
        country: 'United States',
        countryCode: 'US',
      },
      'company.technologies': ['Salesforce'],
    });
    expect(fieldConfidence['company.headcount']).toBe(0.7);
    expect(fieldConfidence['company.annualRevenue']).toBe(0.6);
    expect(fieldConfidence['company.name']).toBeUndefined();
  });

  it('drops nulls, zero headcounts and revenue instead of inventing values', () => {
    const { fields } = mapOrganization({
      name: 'Tiny',
      primary_domain: 'tiny.io',
      estimated_num_employees: 0,
      annual_revenue: null,
    });
    expect(fields).toEqual({ 'company.name': 'Tiny', 'company.domain': 'tiny.io' });
  });
});

describe('mapPerson', () => {
  const person = {
    id: '64a7ff0cc4dfae00013df1a5',
    first_name: 'Ada',
    last_name: 'Lovelace',
    name: 'Ada Lovelace',
    title: 'VP Engineering',
    email: 'Ada@Acme-Robotics.com',
    email_status: 'verified',
    linkedin_url: 'http://www.linkedin.com/in/ada-lovelace',
    city: 'London',
    state: 'England',
    country: 'United Kingdom',
    seniority: 'vp',
    departments: ['master_engineering_technical'],
    organization,
  };

  it('maps person, email with its status confidence, and the nested organization', () => {
    const { fields, fieldConfidence } = mapPerson(person);
    expect(fields).toMatchObject({
      firstName: 'Ada',
      lastName: 'Lovelace',
      fullName: 'Ada Lovelace',
      title: 'VP Engineering',
      email: 'ada@acme-robotics.com',
      linkedinUrl: 'https://www.linkedin.com/in/ada-lovelace',
      seniority: 'vp',
      department: 'Engineering',
      location: { city: 'London', region: 'England', country: 'United Kingdom', countryCode: 'GB' },
      'company.domain': 'acme-robotics.com',
      'company.headcount': 340,
    });
    expect(fieldConfidence.email).toBe(0.95);
  });

  it('leaves out unavailable and locked emails, and unknown seniorities', () => {
    expect(mapPerson({ ...person, email_status: 'unavailable' }).fields.email).toBeUndefined();
    expect(
      mapPerson({ ...person, email: 'email_not_unlocked@domain.com', email_status: null }).fields.email,
    ).toBeUndefined();
    expect(mapPerson({ ...person, seniority: 'galactic overlord' }).fields.seniority).toBeUndefined();
  });

  it('takes an already revealed phone in E.164', () => {
    const { fields, fieldConfidence } = mapPerson({
      ...person,
      phone_numbers: [
        {
          raw_number: '+1 (415) 555-0100',
          sanitized_number: '+14155550100',
          status_cd: 'valid_number',
          confidence_cd: 'high',
        },
      ],
    });
    expect(fields.phone).toBe('+14155550100');
    expect(fieldConfidence.phone).toBe(0.9);
  });
});

describe('confidence and names', () => {
  it('grades emails by Apollo status', () => {
    expect(emailConfidence('verified')).toBe(0.95);
    expect(emailConfidence('unverified')).toBe(0.6);
    expect(emailConfidence('extrapolated', 72)).toBe(0.72);
    expect(emailConfidence('guessed', 0.4)).toBe(0.4);
    expect(emailConfidence('guessed')).toBe(0.5);
  });

  it('names departments from Apollo slugs', () => {
    expect(departmentName('master_sales')).toBe('Sales');
    expect(departmentName('c_suite')).toBe('C-Suite');
    expect(departmentName('master_space_exploration')).toBe('Space Exploration');
  });
});

describe('parseApolloJson', () => {
  it('keeps a 64-bit request_id digit for digit', () => {
    const parsed = parseApolloJson('{"person":null,"request_id":-9223372036854775807}') as {
      request_id: unknown;
    };
    expect(parsed.request_id).toBe('-9223372036854775807');
    // What a plain JSON.parse would have kept:
    expect(String(JSON.parse('-9223372036854775807'))).not.toBe('-9223372036854775807');
  });

  it('leaves text that only mentions request_id inside a string alone', () => {
    const parsed = parseApolloJson('{"message":"see \\"request_id\\":12","request_id":5}') as Record<
      string,
      unknown
    >;
    expect(parsed).toEqual({ message: 'see "request_id":12', request_id: '5' });
  });
});

describe('limits', () => {
  it('declares the bulk endpoints’ share of the plan, a tenth', () => {
    expect(apolloRateLimitPolicy()).toEqual({
      perMinute: 20,
      perHour: 60,
      perDay: 600,
      maxConcurrent: 4,
      alignedWindows: true,
    });
    expect(apolloRateLimitPolicy({ perMinute: 5, perHour: 1000 })).toMatchObject({
      perMinute: 1,
      perHour: 100,
    });
  });

  it('reads the minute, hour and day headers and scales single-endpoint reports to bulk units', () => {
    const state = parseRateLimitHeaders(
      {
        'x-rate-limit-minute': '200',
        'x-minute-requests-left': '150',
        'x-rate-limit-hourly': '600',
        'x-hourly-usage': '600',
        'x-rate-limit-daily': '6000',
        'x-daily-requests-left': '5000',
      },
      apolloRateLimitHeaders,
    );
    expect(state?.windows).toEqual([
      { name: 'minute', limit: 200, remaining: 150 },
      { name: 'hour', limit: 600, remaining: 0 },
      { name: 'day', limit: 6000, remaining: 5000 },
    ]);
    expect(toBulkUnits(state!, false).windows).toEqual([
      { name: 'minute', limit: 20, remaining: 15 },
      { name: 'hour', limit: 60, remaining: 0 },
      { name: 'day', limit: 600, remaining: 500 },
    ]);
    expect(toBulkUnits(state!, true)).toBe(state);
  });
});

describe('mapApolloError', () => {
  const info = (status: number, url: string, json: unknown) => ({
    status,
    url: `https://api.apollo.io/api/v1/${url}`,
    json,
    bodyText: JSON.stringify(json),
    headers: new Headers(),
    method: 'POST',
    rateLimit: undefined,
  });

  it('keeps people lookups alive when only organization endpoints are out of scope', () => {
    const body = { error: 'not authorized', error_code: 'API_INACCESSIBLE' };
    expect(mapApolloError(info(403, 'organizations/enrich', body))).toMatchObject({
      code: 'invalid_request',
      isRetryable: false,
    });
    expect(mapApolloError(info(403, 'people/match', body))).toMatchObject({ code: 'forbidden' });
  });

  it('tells a per-day limit (quota) from per-minute and per-hour ones', () => {
    const message = (per: string) => ({
      message: `The maximum number of api calls allowed for api/v1/people/match is 600 times per ${per}.`,
    });
    expect(mapApolloError(info(429, 'people/match', message('hour')))).toMatchObject({
      code: 'rate_limited',
    });
    expect(mapApolloError(info(429, 'people/match', message('day')))).toMatchObject({
      code: 'quota_exceeded',
      isRetryable: false,
    });
    expect(mapApolloError(info(429, 'people/match', {}))).toMatchObject({ code: 'rate_limited' });
  });

  it('never quotes Apollo’s text, which can echo lead data', () => {
    const mapped = mapApolloError(info(422, 'people/match', { error: 'ada@acme.com is not valid' }));
    expect(mapped?.code).toBe('invalid_request');
    expect(mapped?.message).not.toContain('ada@acme.com');
  });
});

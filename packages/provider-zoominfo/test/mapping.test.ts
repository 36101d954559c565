import { describe, expect, it } from 'vitest';
import {
  contactConfidence,
  mapCompany,
  mapContact,
  matchOutcome,
  seniorityOf,
} from '../src/zoominfo-mapping.js';
import { readEnrichAnswers, readEntitlements } from '../src/zoominfo-response.js';

describe('ZoomInfo matchStatus', () => {
  it.each([
    ['FULL_MATCH', true, 'matched'],
    ['CONTACT_ONLY_MATCH', true, 'matched'],
    ['FULL_MATCH', false, 'not_found'],
    ['COMPANY_ONLY_MATCH', false, 'not_found'],
    ['NON_MATCH_BY_REQUIRED_FIELDS', false, 'not_found'],
    ['NON_MATCH_BY_LAST_UPDATED_DATE', false, 'not_found'],
    ['NON_MATCH_BY_VALID_DATE', false, 'not_found'],
    ['NON_MATCH_BY_CONTACT_ACCURACY_MIN', false, 'not_found'],
    ['NO_MATCH', false, 'not_found'],
    ['OPT_OUT', false, 'not_found'],
    ['LIMIT_EXCEEDED', false, 'quota'],
    ['INVALID_INPUT', false, 'bad_input'],
    ['SERVICE_ERROR', false, 'service_error'],
    [undefined, true, 'matched'],
    [undefined, false, 'not_found'],
  ] as const)('%s (record: %s) is %s', (status, hasRecord, outcome) => {
    expect(matchOutcome(status, hasRecord)).toBe(outcome);
  });
});

describe('ZoomInfo record mapping', () => {
  it('maps the documented contact example: LinkedIn from externalUrls, nested company, national phone', () => {
    const fields = mapContact({
      id: 1260398587,
      firstName: 'Henry',
      lastName: 'Schuck',
      email: 'Henry.Schuck@ZoomInfo.com',
      phone: '(360) 783-6816',
      jobTitle: 'Founder & Chief Executive Officer',
      managementLevel: ['C-Level'],
      jobFunction: [{ name: 'Executive', department: 'C-Suite' }],
      city: 'Vancouver',
      state: 'Washington',
      country: 'United States',
      externalUrls: [{ type: 'linkedin.com', url: 'https://www.linkedin.com/in/hschuck' }],
      contactAccuracyScore: 96,
      company: {
        id: 344589814,
        name: 'ZoomInfo',
        website: 'www.zoominfo.com',
        employeeCount: 1300,
        revenueNumeric: 400000,
      },
    });
    expect(fields).toMatchObject({
      email: 'henry.schuck@zoominfo.com',
      firstName: 'Henry',
      lastName: 'Schuck',
      fullName: 'Henry Schuck',
      phone: '+13607836816',
      linkedinUrl: 'https://www.linkedin.com/in/hschuck',
      seniority: 'founder',
      department: 'C-Suite',
      'company.name': 'ZoomInfo',
      'company.domain': 'zoominfo.com',
      'company.headcount': 1300,
      'company.headcountRange': '1001-5000',
      'company.annualRevenue': 400_000_000,
    });
    expect(fields.location).toMatchObject({ city: 'Vancouver', countryCode: 'US' });
  });

  it('reads company revenue in thousands and technologies from techAttributes', () => {
    expect(
      mapCompany(
        {
          id: 1,
          name: 'ZoomInfo',
          website: 'www.zoominfo.com',
          revenue: 400000,
          techAttributes: [{ product: 'Salesforce' }],
        },
        'revenue',
      ),
    ).toMatchObject({ 'company.annualRevenue': 400_000_000, 'company.technologies': ['Salesforce'] });
  });

  it('refines managementLevel by the title inside its band', () => {
    expect(seniorityOf(['Non-Manager'], 'Senior Software Engineer')).toBe('senior');
    expect(seniorityOf(['Non-Manager'], 'Software Engineer')).toBe('entry');
    expect(seniorityOf(['VP-Level'], 'Senior Software Engineer')).toBe('vp');
    expect(seniorityOf(['Director'], 'Head of Sales')).toBe('head');
  });

  it('turns contactAccuracyScore (70-99) into the confidence', () => {
    expect(contactConfidence(96, 'FULL_MATCH')).toBe(0.96);
    expect(contactConfidence(70, 'FULL_MATCH')).toBe(0.7);
    expect(contactConfidence(90, 'CONTACT_ONLY_MATCH')).toBe(0.81);
    expect(contactConfidence(undefined, 'FULL_MATCH')).toBe(0.8);
  });
});

describe('ZoomInfo envelopes', () => {
  it('reads the legacy and the GTM enrich answers, one per input', () => {
    const legacy = {
      success: true,
      data: {
        result: [
          { input: {}, data: [{ id: 1 }], matchStatus: 'FULL_MATCH' },
          { input: {}, data: [], matchStatus: 'NO_MATCH' },
        ],
      },
    };
    expect(readEnrichAnswers('legacy', legacy)).toEqual([
      { matchStatus: 'FULL_MATCH', record: { id: 1 } },
      { matchStatus: 'NO_MATCH' },
    ]);
    const gtm = {
      data: [
        { type: 'Contact', id: '7', attributes: { firstName: 'A' }, meta: { matchStatus: 'FULL_MATCH' } },
        { type: 'NoMatch', id: '1', meta: { matchStatus: 'OPT_OUT' } },
      ],
    };
    expect(readEnrichAnswers('gtm', gtm)).toEqual([
      { matchStatus: 'FULL_MATCH', record: { firstName: 'A', id: '7' } },
      { matchStatus: 'OPT_OUT' },
    ]);
    expect(readEnrichAnswers('gtm', { data: 'nope' })).toBeUndefined();
  });

  it('reads entitlements from either lookup shape; accessGranted is a string on the legacy API', () => {
    expect(
      readEntitlements([
        { fieldName: 'email', accessGranted: 'true' },
        { fieldName: 'mobilePhone', accessGranted: 'false' },
      ]),
    ).toEqual(new Set(['email']));
    expect(
      readEntitlements({ data: [{ attributes: { fieldName: 'jobTitle', accessGranted: true } }] }),
    ).toEqual(new Set(['jobtitle']));
  });
});

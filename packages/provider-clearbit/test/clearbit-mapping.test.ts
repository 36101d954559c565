import { describe, expect, it } from 'vitest';
import {
  clearbitCompanySchema,
  clearbitPersonSchema,
  mapEmployeesRange,
  mapCompany as mapParsedCompany,
  mapPerson as mapParsedPerson,
  mapRole,
  mapSeniority,
} from '../src/clearbit-mapping.js';

/** Map raw JSON the way the adapter does: lenient schema first, then the mapping. */
const mapCompany = (json: unknown) => mapParsedCompany(clearbitCompanySchema.parse(json));
const mapPerson = (json: unknown) => mapParsedPerson(clearbitPersonSchema.parse(json));

describe('seniority', () => {
  it.each([
    ['executive', 'VP of Sales', 'vp', false],
    ['executive', 'Chief Technology Officer', 'c_suite', false],
    ['executive', 'Co-Founder', 'founder', false],
    ['executive', 'Owner', 'owner', false],
    ['executive', 'Partner', 'partner', false],
    ['executive', 'Strategy Lead', 'c_suite', true],
    ['executive', null, 'c_suite', true],
    ['director', 'Head of Marketing', 'head', false],
    ['director', 'Director of Finance', 'director', false],
    ['director', 'Engineering Manager', 'director', true],
    ['manager', 'Senior Manager', 'manager', false],
    ['Manager', 'Sales Manager', 'manager', false],
  ] as const)('bucket %s with title %j gives %s (coarse %s)', (bucket, title, level, coarse) => {
    expect(mapSeniority(bucket, title)).toEqual({ level, coarse });
  });

  it('does not let a title move a person out of Clearbit’s bucket', () => {
    // A "VP" title in the manager bucket stays a manager: Clearbit graded the role lower.
    expect(mapSeniority('manager', 'VP of Sales')).toEqual({ level: 'manager', coarse: false });
  });

  it('reads unknown buckets as level names and drops what it cannot read', () => {
    expect(mapSeniority('senior', null)).toEqual({ level: 'senior', coarse: false });
    expect(mapSeniority('galactic overlord', null)).toBeUndefined();
    expect(mapSeniority(null, 'VP of Sales')).toBeUndefined();
  });
});

describe('ranges and roles', () => {
  it.each([
    ['1-10', '1-10'],
    ['11-50', '11-50'],
    ['51-250', undefined],
    ['251-1K', undefined],
    ['1K-5K', '1001-5000'],
    ['5K-10K', '5001-10000'],
    ['10K-50K', '10001+'],
    ['100K+', '10001+'],
    ['lots', undefined],
  ])('employeesRange %s maps to %s', (range, expected) => {
    expect(mapEmployeesRange(range)).toBe(expected);
  });

  it('maps role slugs to department names and title-cases unknown ones', () => {
    expect(mapRole('human_resources')).toBe('Human Resources');
    expect(mapRole('customer_service')).toBe('Customer Service');
    expect(mapRole('information_technology')).toBe('Information Technology');
    expect(mapRole('space_operations')).toBe('Space Operations');
    expect(mapRole(null)).toBeUndefined();
  });
});

describe('records', () => {
  it('uses the range only when the exact headcount is missing', () => {
    expect(mapCompany({ metrics: { employees: 3000, employeesRange: '1K-5K' } })).toMatchObject({
      'company.headcount': 3000,
      'company.headcountRange': '1001-5000',
    });
    const rangeOnly = mapCompany({ metrics: { employees: null, employeesRange: '5K-10K' } });
    expect(rangeOnly).toEqual({ 'company.headcountRange': '5001-10000' });
  });

  it('does not map the estimated revenue range to an amount', () => {
    expect(mapCompany({ metrics: { annualRevenue: null, estimatedAnnualRevenue: '$10M-$50M' } })).toEqual({});
  });

  it('normalizes domains and drops values that would fail the Lead schema', () => {
    expect(
      mapCompany({
        name: 'Acme',
        domain: 'WWW.Acme.COM',
        geo: { city: 'Berlin', countryCode: 'deu' },
        tech: ['aws_route_53', 42, 'AWS Route 53'],
      }),
    ).toEqual({
      'company.name': 'Acme',
      'company.domain': 'acme.com',
      'company.location': { city: 'Berlin' },
      'company.technologies': ['Aws Route 53'],
    });
    expect(mapCompany({ domain: 'not a domain' })).toEqual({});
  });

  it('ignores values of the wrong type instead of failing the record', () => {
    expect(
      mapCompany({ name: 42, domain: 'acme.com', metrics: 'n/a', geo: ['x'], category: { industry: {} } }),
    ).toEqual({ 'company.domain': 'acme.com' });
    expect(mapPerson({ name: 'Ada', employment: { title: 7 }, fuzzy: 'yes' }).fields).toEqual({});
  });

  it('builds LinkedIn URLs from handles and skips handles that are not profiles', () => {
    expect(mapPerson({ linkedin: { handle: 'in/Jane-Doe' } }).fields.linkedinUrl).toBe(
      'https://www.linkedin.com/in/jane-doe',
    );
    expect(mapPerson({ linkedin: { handle: 'jane-doe' } }).fields.linkedinUrl).toBeUndefined();
  });

  it('fills fullName from the parts and company fields from employment', () => {
    const { fields } = mapPerson({
      name: { givenName: 'Grace', familyName: 'Hopper', fullName: null },
      employment: { name: 'Navy', domain: 'navy.mil', title: 'Rear Admiral', seniority: null },
    });
    expect(fields).toEqual({
      firstName: 'Grace',
      lastName: 'Hopper',
      fullName: 'Grace Hopper',
      title: 'Rear Admiral',
      'company.name': 'Navy',
      'company.domain': 'navy.mil',
    });
  });
});

import { describe, expect, it } from 'vitest';
import { ValidationError } from '../src/contracts/errors.js';
import { leadSchema } from '../src/contracts/lead.js';
import { createLead, leadInputSchema, safeCreateLead } from '../src/lead/index.js';

const NOW = new Date('2026-03-04T05:06:07.000Z');
const now = () => NOW;
const FIXED_ID = '019b7ca9-8c88-764e-8e19-6c49a3b9b6cf';

function issuesOf(input: unknown, options?: Parameters<typeof safeCreateLead>[1]) {
  const result = safeCreateLead(input, options);
  if (result.success) throw new Error('expected the input to be rejected');
  expect(ValidationError.isInstance(result.error)).toBe(true);
  return result.error.issues;
}

describe('createLead: happy path', () => {
  const lead = createLead(
    {
      email: '  Jane.Doe@ACME.com ',
      name: 'Dr. Jane  Doe',
      linkedinUrl: 'linkedin.com/in/Jane-Doe/',
      phone: '(415) 555-0100',
      title: '  VP   Sales ',
      seniority: 'Vice President',
      department: 'Sales',
      location: 'San Francisco, CA, USA',
      company: {
        name: ' Acme Inc. ',
        industry: 'Software',
        headcount: '1,200',
        annualRevenue: '$12.5M',
        technologies: 'Salesforce, HubSpot; salesforce',
        location: { city: 'Berlin', countryCode: 'de' },
      },
      custom: { crmOwner: 'sam', score: 7 },
    },
    { now },
  );

  it('normalizes every field', () => {
    expect(lead).toMatchObject({
      createdAt: '2026-03-04T05:06:07.000Z',
      updatedAt: '2026-03-04T05:06:07.000Z',
      email: 'jane.doe@acme.com',
      firstName: 'Jane',
      lastName: 'Doe',
      fullName: 'Dr. Jane Doe',
      linkedinUrl: 'https://www.linkedin.com/in/jane-doe',
      phone: '+14155550100',
      title: 'VP Sales',
      seniority: 'vp',
      department: 'Sales',
      location: { city: 'San Francisco', region: 'CA', country: 'USA', countryCode: 'US' },
      company: {
        name: 'Acme Inc.',
        domain: 'acme.com',
        industry: 'Software',
        headcount: 1200,
        headcountRange: '1001-5000',
        annualRevenue: 12_500_000,
        technologies: ['Salesforce', 'HubSpot'],
        location: { city: 'Berlin', country: 'Germany', countryCode: 'DE' },
      },
      custom: { crmOwner: 'sam', score: 7 },
    });
    expect(leadSchema.safeParse(lead).success).toBe(true);
  });

  it('gives a UUIDv7 whose time part is the creation time', () => {
    expect(lead.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const millis = Number.parseInt(lead.id.replace(/-/g, '').slice(0, 12), 16);
    expect(millis).toBe(NOW.getTime());
  });

  it('records input provenance for every present field, derived ones included', () => {
    const origin = { providerId: 'input', confidence: 1, at: '2026-03-04T05:06:07.000Z', credits: 0 };
    expect(Object.keys(lead.provenance).sort()).toEqual(
      [
        'email',
        'firstName',
        'lastName',
        'fullName',
        'linkedinUrl',
        'phone',
        'title',
        'seniority',
        'department',
        'location',
        'company.name',
        'company.domain',
        'company.industry',
        'company.headcount',
        'company.headcountRange',
        'company.annualRevenue',
        'company.location',
        'company.technologies',
      ].sort(),
    );
    for (const entry of Object.values(lead.provenance)) expect(entry).toEqual(origin);
  });

  it('does not add provenance for fields that are absent', () => {
    const small = createLead({ email: 'jane@gmail.com' }, { now });
    expect(Object.keys(small.provenance)).toEqual(['email']);
    expect(small.company).toBeUndefined();
  });
});

describe('createLead: names', () => {
  it('joins fullName from first and last name', () => {
    expect(createLead({ firstName: ' Jane ', lastName: 'Doe' }).fullName).toBe('Jane Doe');
    expect(createLead({ firstName: 'Jane' }).fullName).toBe('Jane');
  });

  it('splits first and last name from fullName, keeping given parts', () => {
    expect(createLead({ fullName: 'Doe, Jane' })).toMatchObject({ firstName: 'Jane', lastName: 'Doe' });
    expect(createLead({ fullName: 'Jane Doe', firstName: 'Janet' })).toMatchObject({
      firstName: 'Janet',
      lastName: 'Doe',
      fullName: 'Jane Doe',
    });
  });

  it('accepts name as an alias of fullName and flags a conflict between them', () => {
    expect(createLead({ name: 'Jane Doe', fullName: 'Jane  Doe' }).fullName).toBe('Jane Doe');
    expect(issuesOf({ name: 'Jane Doe', fullName: 'John Roe' })).toEqual([
      { field: 'name', reason: 'conflicts with fullName; give one of them' },
    ]);
  });
});

describe('createLead: company domain', () => {
  it('prefers company.domain, then the website, then the email domain', () => {
    expect(
      createLead({
        email: 'j@mail.acme.com',
        website: 'https://www.acme.io/x',
        company: { domain: 'ACME.com' },
      }).company?.domain,
    ).toBe('acme.com');
    expect(createLead({ email: 'j@mail.acme.com', website: 'https://www.acme.io/x' }).company?.domain).toBe(
      'acme.io',
    );
    expect(createLead({ email: 'j@mail.acme.com' }).company?.domain).toBe('mail.acme.com');
    expect(createLead({ companyDomain: 'https://acme.dev' }).company?.domain).toBe('acme.dev');
  });

  it('never takes a free-mail domain as the company domain', () => {
    const lead = createLead({ email: 'jane@gmail.com', companyName: 'Acme' });
    expect(lead.company).toEqual({ name: 'Acme' });
    expect(createLead({ email: 'jane@yahoo.co.uk', website: 'acme.com' }).company?.domain).toBe('acme.com');
    expect(issuesOf({ company: { domain: 'gmail.com' } })).toEqual([
      { field: 'company.domain', reason: 'is a free-mail domain, not a company domain' },
    ]);
    expect(issuesOf({ website: 'https://outlook.com' })).toEqual([
      { field: 'website', reason: 'is a free-mail site, not a company website' },
    ]);
  });

  it('flags conflicting spellings of the same company field', () => {
    expect(issuesOf({ companyName: 'Acme', company: { name: 'Globex' } })).toEqual([
      { field: 'companyName', reason: 'conflicts with company.name; give one of them' },
    ]);
    expect(issuesOf({ companyDomain: 'acme.com', company: { domain: 'globex.com' } })).toEqual([
      { field: 'companyDomain', reason: 'conflicts with company.domain; give one of them' },
    ]);
    expect(
      createLead({ companyDomain: 'www.acme.com', company: { domain: 'acme.com' } }).company?.domain,
    ).toBe('acme.com');
  });
});

describe('createLead: phone', () => {
  it('uses defaultCountry for national numbers', () => {
    expect(createLead({ phone: '030 1234567' }, { defaultCountry: 'DE' }).phone).toBe('+49301234567');
  });

  it('falls back to the lead location, then the company location', () => {
    expect(createLead({ phone: '030 1234567', location: { countryCode: 'DE' } }).phone).toBe('+49301234567');
    expect(createLead({ phone: '030 1234567', location: 'Berlin, Germany' }).phone).toBe('+49301234567');
    expect(
      createLead({ phone: '020 7946 0958', company: { location: { country: 'United Kingdom' } } }).phone,
    ).toBe('+442079460958');
  });

  it('prefers the option over the location', () => {
    expect(
      createLead({ phone: '(415) 555-0100', location: { countryCode: 'DE' } }, { defaultCountry: 'US' })
        .phone,
    ).toBe('+14155550100');
  });

  it('accepts international numbers without any country and refuses to guess otherwise', () => {
    expect(createLead({ phone: '+44 20 7946 0958' }).phone).toBe('+442079460958');
    expect(issuesOf({ phone: '(415) 555-0100' })).toEqual([
      { field: 'phone', reason: expect.stringContaining('no country is known') },
    ]);
  });
});

describe('createLead: headcount and ranges', () => {
  it('keeps a range without inventing a headcount', () => {
    expect(createLead({ company: { headcount: '51-200' } }).company).toEqual({ headcountRange: '51-200' });
    expect(createLead({ company: { headcountRange: '10,001+' } }).company).toEqual({
      headcountRange: '10001+',
    });
  });

  it('flags a headcount and range that disagree', () => {
    expect(issuesOf({ company: { headcount: 40, headcountRange: '51-200' } })).toEqual([
      { field: 'company.headcountRange', reason: 'does not match company.headcount' },
    ]);
  });
});

describe('createLead: every bad field at once', () => {
  it('lists each bad field with its reason in one ValidationError', () => {
    const issues = issuesOf(
      {
        email: 'not-an-email',
        firstName: 42,
        lastName: '1234',
        linkedinUrl: 'https://example.com/jane',
        phone: 'call me',
        seniority: 'wizard',
        location: { countryCode: 'ZZ' },
        unknownColumn: 'x',
        company: {
          domain: 'localhost',
          headcount: -5,
          annualRevenue: '€5M',
          technologies: 12,
          location: 'a, b, c, d',
          color: 'blue',
        },
        custom: ['not', 'a', 'record'],
        id: 'not-a-uuid',
        createdAt: 'yesterday',
      },
      { now },
    );
    const fields = issues.map((issue) => issue.field).sort();
    expect(fields).toEqual(
      [
        'email',
        'firstName',
        'lastName',
        'linkedinUrl',
        'phone',
        'seniority',
        'location.countryCode',
        'unknownColumn',
        'company.domain',
        'company.headcount',
        'company.annualRevenue',
        'company.technologies',
        'company.location',
        'company.color',
        'custom',
        'id',
        'createdAt',
      ].sort(),
    );
    for (const issue of issues) expect(issue.reason.length).toBeGreaterThan(5);
    expect(issues.find((issue) => issue.field === 'firstName')?.reason).toBe('must be a string');
    expect(issues.find((issue) => issue.field === 'unknownColumn')?.reason).toContain(
      'put host-defined values under custom',
    );
  });

  it('throws the same ValidationError from createLead, with a message naming the fields', () => {
    let caught: unknown;
    try {
      createLead({ email: 'nope', seniority: 'wizard' });
    } catch (error) {
      caught = error;
    }
    expect(ValidationError.isInstance(caught)).toBe(true);
    const error = caught as ValidationError;
    expect(error.code).toBe('validation_failed');
    expect(error.message).toContain('email:');
    expect(error.message).toContain('seniority:');
  });

  it('treats null and blank strings as absent rather than as errors', () => {
    const lead = createLead({ email: null, firstName: '   ', company: null, phone: '', title: 'CTO' });
    expect(lead.title).toBe('CTO');
    expect(Object.keys(lead.provenance)).toEqual(['title']);
  });

  it('rejects input that is not an object', () => {
    for (const input of [null, undefined, 42, 'jane@acme.com', ['jane@acme.com']]) {
      expect(issuesOf(input)).toEqual([{ field: 'input', reason: 'must be an object of lead fields' }]);
    }
  });
});

describe('createLead: ids, timestamps and options', () => {
  it('accepts a UUIDv7 id from the input or the options, in any case', () => {
    expect(createLead({ id: FIXED_ID.toUpperCase() }).id).toBe(FIXED_ID);
    expect(createLead({}, { id: FIXED_ID }).id).toBe(FIXED_ID);
    expect(issuesOf({ id: '3b241101-e2bb-4255-8caf-4136c566a962' })).toEqual([
      { field: 'id', reason: 'must be a UUIDv7' },
    ]);
    expect(issuesOf({ id: FIXED_ID }, { id: '019b7ca9-8c88-764e-8e19-000000000000' })).toEqual([
      { field: 'id', reason: 'conflicts with options.id; give one of them' },
    ]);
  });

  it('takes createdAt from the input and keeps updatedAt at or after it', () => {
    const lead = createLead({ createdAt: '2025-01-01T10:00:00+02:00', email: 'a@acme.com' }, { now });
    expect(lead.createdAt).toBe('2025-01-01T08:00:00.000Z');
    expect(lead.updatedAt).toBe(NOW.toISOString());
    expect(lead.provenance.email?.at).toBe('2025-01-01T08:00:00.000Z');
    const future = createLead({ createdAt: new Date('2030-01-01T00:00:00Z') }, { now });
    expect(future.updatedAt).toBe('2030-01-01T00:00:00.000Z');
  });

  it('reports bad options by name', () => {
    expect(
      issuesOf({}, { defaultCountry: 'usa' as 'US', now: (() => 'today') as unknown as () => Date, id: 'x' }),
    ).toEqual([
      { field: 'options.defaultCountry', reason: expect.any(String) },
      { field: 'options.now', reason: 'must be a function returning a valid Date' },
      { field: 'options.id', reason: 'must be a UUIDv7' },
    ]);
  });

  it('gives distinct ids to leads created in the same millisecond', () => {
    const ids = new Set(Array.from({ length: 50 }, () => createLead({}, { now }).id));
    expect(ids.size).toBe(50);
  });

  it('keeps system-clock ids in creation order', () => {
    const ids = Array.from({ length: 200 }, () => createLead({}).id);
    expect([...ids].sort()).toEqual(ids);
  });
});

describe('leadInputSchema', () => {
  it('accepts the loose shapes hosts hand in and rejects unknown keys', () => {
    expect(
      leadInputSchema.safeParse({
        name: 'Jane',
        phone: 4155550100,
        location: 'Berlin, Germany',
        company: { headcount: '51-200', annualRevenue: 5, technologies: 'a, b' },
        custom: { x: [1] },
      }).success,
    ).toBe(true);
    expect(leadInputSchema.safeParse({ nickname: 'J' }).success).toBe(false);
  });
});

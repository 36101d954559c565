import { describe, expect, it } from 'vitest';
import { ValidationError } from '../src/contracts/errors.js';
import type { LeadField } from '../src/contracts/fields.js';
import { type FieldProvenance, type Lead, leadSchema } from '../src/contracts/lead.js';
import {
  applyLeadFields,
  createLead,
  flattenLead,
  getLeadField,
  leadIdentityKey,
  missingFields,
} from '../src/lead/index.js';

const CREATED = new Date('2026-01-01T00:00:00.000Z');
const LATER = new Date('2026-01-02T12:00:00.000Z');
const FROM_PROVIDER: FieldProvenance = {
  providerId: 'apollo',
  confidence: 0.8,
  at: LATER.toISOString(),
  credits: 1,
};

function baseLead(): Lead {
  return createLead(
    {
      email: 'jane@acme.com',
      fullName: 'Jane Doe',
      location: { city: 'Berlin', countryCode: 'DE' },
      company: { name: 'Acme', technologies: ['React'], headcount: 120 },
      custom: { owner: 'sam' },
    },
    { now: () => CREATED },
  );
}

function origins(fields: readonly LeadField[]): Partial<Record<LeadField, FieldProvenance>> {
  return Object.fromEntries(fields.map((field) => [field, FROM_PROVIDER]));
}

function rejection(run: () => unknown): ValidationError {
  try {
    run();
  } catch (error) {
    expect(ValidationError.isInstance(error)).toBe(true);
    return error as ValidationError;
  }
  throw new Error('expected a ValidationError, but nothing was thrown');
}

describe('getLeadField, flattenLead and missingFields', () => {
  const lead = baseLead();

  it('reads person and company fields by path', () => {
    expect(getLeadField(lead, 'email')).toBe('jane@acme.com');
    expect(getLeadField(lead, 'company.domain')).toBe('acme.com');
    expect(getLeadField(lead, 'company.headcountRange')).toBe('51-200');
    expect(getLeadField(lead, 'title')).toBeUndefined();
    expect(getLeadField(createLead({ title: 'CTO' }), 'company.name')).toBeUndefined();
  });

  it('refuses a path that is not a lead field', () => {
    expect(rejection(() => getLeadField(lead, 'custom' as LeadField)).issues).toEqual([
      { field: 'field.0', reason: 'is not a lead field' },
    ]);
  });

  it('flattens every present field by path, as copies', () => {
    const patch = flattenLead(lead);
    expect(patch).toEqual({
      email: 'jane@acme.com',
      firstName: 'Jane',
      lastName: 'Doe',
      fullName: 'Jane Doe',
      location: { city: 'Berlin', countryCode: 'DE', country: 'Germany' },
      'company.name': 'Acme',
      'company.domain': 'acme.com',
      'company.headcount': 120,
      'company.headcountRange': '51-200',
      'company.technologies': ['React'],
    });
    patch['company.technologies']?.push('Vue');
    expect(lead.company?.technologies).toEqual(['React']);
    expect(Object.keys(patch).sort()).toEqual(Object.keys(lead.provenance).sort());
  });

  it('lists wanted fields the lead lacks, in order and without duplicates', () => {
    expect(missingFields(lead, ['title', 'email', 'company.industry', 'title', 'phone'])).toEqual([
      'title',
      'company.industry',
      'phone',
    ]);
    expect(missingFields(lead, [])).toEqual([]);
    expect(rejection(() => missingFields(lead, ['title', 'nope' as LeadField])).issues).toEqual([
      { field: 'wanted.1', reason: 'is not a lead field' },
    ]);
  });
});

describe('applyLeadFields', () => {
  it('returns a new lead with the fields, their provenance and a bumped updatedAt', () => {
    const lead = baseLead();
    const next = applyLeadFields(
      lead,
      { title: 'CTO', 'company.industry': 'Software', phone: '+14155550100' },
      origins(['title', 'company.industry', 'phone']),
      LATER,
    );
    expect(next).not.toBe(lead);
    expect(next.title).toBe('CTO');
    expect(next.company?.industry).toBe('Software');
    expect(next.company?.name).toBe('Acme');
    expect(next.phone).toBe('+14155550100');
    expect(next.updatedAt).toBe(LATER.toISOString());
    expect(next.createdAt).toBe(lead.createdAt);
    expect(next.provenance.title).toEqual(FROM_PROVIDER);
    expect(next.provenance.email?.providerId).toBe('input');
    expect(leadSchema.safeParse(next).success).toBe(true);
  });

  it('never changes the lead it was given', () => {
    const lead = baseLead();
    const before = structuredClone(lead);
    const next = applyLeadFields(
      lead,
      {
        'company.technologies': ['React', 'Go'],
        location: { city: 'Paris', countryCode: 'FR' },
        'company.location': { city: 'Austin', countryCode: 'US' },
        'company.headcount': 700,
      },
      origins(['company.technologies', 'location', 'company.location', 'company.headcount']),
      LATER,
    );
    expect(lead).toEqual(before);
    expect(next.company?.technologies).toEqual(['React', 'Go']);
    expect(next.location).toEqual({ city: 'Paris', countryCode: 'FR', country: 'France' });
    next.company?.technologies?.push('Rust');
    if (next.custom !== undefined) next.custom.owner = 'kim';
    next.provenance.email = FROM_PROVIDER;
    expect(lead).toEqual(before);
  });

  it('canonicalizes values like createLead does', () => {
    const next = applyLeadFields(
      createLead({ fullName: 'Jane Doe' }),
      {
        email: 'Jane@ACME.com',
        'company.domain': 'WWW.Acme.com',
        linkedinUrl: 'http://uk.linkedin.com/in/Jane/',
        title: '  Head   of  Sales ',
      },
      origins(['email', 'company.domain', 'linkedinUrl', 'title']),
      LATER,
    );
    expect(next).toMatchObject({
      email: 'jane@acme.com',
      company: { domain: 'acme.com' },
      linkedinUrl: 'https://www.linkedin.com/in/jane',
      title: 'Head of Sales',
    });
  });

  it('keeps the headcount range consistent with a new headcount', () => {
    const lead = baseLead();
    expect(lead.company?.headcountRange).toBe('51-200');
    const next = applyLeadFields(lead, { 'company.headcount': 4000 }, origins(['company.headcount']), LATER);
    expect(next.company?.headcountRange).toBe('1001-5000');
    expect(next.provenance['company.headcountRange']).toEqual(FROM_PROVIDER);
    const both = applyLeadFields(
      lead,
      { 'company.headcount': 30, 'company.headcountRange': '11-50' },
      origins(['company.headcount', 'company.headcountRange']),
      LATER,
    );
    expect(both.company?.headcountRange).toBe('11-50');
  });

  it('rejects a range that contradicts the headcount in the patch or on the lead', () => {
    const lead = baseLead();
    expect(
      rejection(() =>
        applyLeadFields(
          lead,
          { 'company.headcount': 30, 'company.headcountRange': '51-200' },
          origins(['company.headcount', 'company.headcountRange']),
          LATER,
        ),
      ).issues,
    ).toEqual([{ field: 'company.headcountRange', reason: 'does not match company.headcount' }]);
    expect(
      rejection(() =>
        applyLeadFields(
          lead,
          { 'company.headcountRange': '1-10' },
          origins(['company.headcountRange']),
          LATER,
        ),
      ).issues,
    ).toEqual([
      { field: 'company.headcountRange', reason: 'does not match the headcount already on the lead' },
    ]);
  });

  it('lists every bad value and provenance entry at once', () => {
    const lead = baseLead();
    const patch = {
      email: 'not-an-email',
      phone: '4155550100',
      seniority: 'wizard',
      'company.domain': 'gmail.com',
      'company.headcount': -3,
      location: { city: 'Paris', planet: 'Earth' },
      'company.technologies': ['React', ''],
      shoeSize: 44,
    } as unknown as Parameters<typeof applyLeadFields>[1];
    const provenance = {
      email: FROM_PROVIDER,
      phone: { ...FROM_PROVIDER, confidence: 2 },
      seniority: FROM_PROVIDER,
      'company.domain': FROM_PROVIDER,
      'company.headcount': FROM_PROVIDER,
      title: FROM_PROVIDER,
      'company.technologies': FROM_PROVIDER,
    };
    const error = rejection(() => applyLeadFields(lead, patch, provenance, LATER));
    expect(error.issues.map((issue) => issue.field).sort()).toEqual(
      [
        'email',
        'phone',
        'seniority',
        'company.domain',
        'company.headcount',
        'location',
        'company.technologies.1',
        'shoeSize',
        'provenance.phone.confidence',
        'provenance.title',
        'provenance.location',
      ].sort(),
    );
    expect(error.issues.find((issue) => issue.field === 'company.domain')?.reason).toBe(
      'is a free-mail domain, not a company domain',
    );
  });

  it('ignores undefined patch values and rejects a bad clock or a broken lead', () => {
    const lead = baseLead();
    expect(applyLeadFields(lead, { title: undefined }, {}, LATER).title).toBeUndefined();
    expect(rejection(() => applyLeadFields(lead, {}, {}, new Date('nope'))).issues).toEqual([
      { field: 'now', reason: 'must be a valid Date' },
    ]);
    const broken = { ...lead, email: 'NOT AN EMAIL' };
    expect(rejection(() => applyLeadFields(broken, {}, {}, LATER)).issues[0]?.field).toBe('lead.email');
  });
});

describe('leadIdentityKey', () => {
  it('prefers the normalized email', () => {
    expect(leadIdentityKey(createLead({ email: 'Jane@Acme.com', linkedinUrl: 'linkedin.com/in/jane' }))).toBe(
      'email:jane@acme.com',
    );
    expect(leadIdentityKey({ email: ' JANE@acme.com ' })).toBe('email:jane@acme.com');
  });

  it('uses the company domain only for company-only leads', () => {
    expect(leadIdentityKey(createLead({ companyName: 'Acme', website: 'https://www.acme.com' }))).toBe(
      'domain:acme.com',
    );
    expect(leadIdentityKey({ 'company.domain': 'WWW.Acme.com', 'company.name': 'Acme' })).toBe(
      'domain:acme.com',
    );
    expect(leadIdentityKey({ 'company.domain': 'acme.com', fullName: 'Jane Doe' })).toBeUndefined();
    expect(
      leadIdentityKey({ 'company.domain': 'acme.com', linkedinUrl: 'https://www.linkedin.com/company/acme' }),
    ).toBe('domain:acme.com');
  });

  it('falls back to the LinkedIn URL, then to undefined', () => {
    expect(leadIdentityKey({ fullName: 'Jane Doe', linkedinUrl: 'linkedin.com/in/Jane/' })).toBe(
      'linkedin:https://www.linkedin.com/in/jane',
    );
    expect(
      leadIdentityKey({ 'company.domain': 'acme.com', linkedinUrl: 'https://www.linkedin.com/in/jane' }),
    ).toBe('linkedin:https://www.linkedin.com/in/jane');
    expect(leadIdentityKey({ fullName: 'Jane Doe' })).toBeUndefined();
    expect(leadIdentityKey({ email: 'broken' })).toBeUndefined();
    expect(leadIdentityKey(null as never)).toBeUndefined();
  });
});

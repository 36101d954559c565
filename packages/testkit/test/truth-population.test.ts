import { ConfigurationError, type LeadField, leadFieldSchemas, safeCreateLead } from '@leadpipe/core';
import { describe, expect, it } from 'vitest';
import {
  APOLLO_COVERAGE,
  CLEARBIT_COVERAGE,
  createGroundTruth,
  createProviderView,
  fullCoverage,
  resolveCoverage,
  valueMatches,
} from '../src/truth/index.js';

const truth = createGroundTruth({ seed: 7, people: 4000, companies: 600 });

describe('ground truth population', () => {
  it('has the requested size and the default size', () => {
    expect(truth.people).toHaveLength(4000);
    expect(truth.companies).toHaveLength(600);
    const full = createGroundTruth({ seed: 1 });
    expect(full.people).toHaveLength(20_000);
    expect(full.companies).toHaveLength(3_000);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const again = createGroundTruth({ seed: 7, people: 4000, companies: 601 }); // not the cached one
    const other = createGroundTruth({ seed: 8, people: 4000, companies: 600 });
    expect(again.companies[10]).toEqual(truth.companies[10]);
    expect(other.people[0]?.email).not.toBe(truth.people[0]?.email);
  });

  it('produces values that pass the core field schemas', () => {
    for (const person of truth.people.slice(0, 500)) {
      const fields = truth.personFields(person);
      for (const [field, value] of Object.entries(fields)) {
        const schema = leadFieldSchemas[field as LeadField];
        expect(schema.safeParse(value).success, `${field}=${JSON.stringify(value)}`).toBe(true);
      }
      expect(person.email.endsWith(`@${truth.companyOf(person).domain}`)).toBe(true);
    }
  });

  it('gives every person and company a phone the core accepts (valid in its country plan)', () => {
    const refused: string[] = [];
    for (const person of truth.people) {
      if (!safeCreateLead({ email: person.email, phone: person.phone }).success) refused.push(person.phone);
    }
    for (const company of truth.companies) {
      if (!safeCreateLead({ companyDomain: company.domain, phone: company.phone }).success)
        refused.push(company.phone);
    }
    expect(refused).toEqual([]);
  });

  it('keeps emails, domains and LinkedIn URLs unique', () => {
    expect(new Set(truth.people.map((person) => person.email)).size).toBe(truth.people.length);
    expect(new Set(truth.people.map((person) => person.linkedinUrl)).size).toBe(truth.people.length);
    expect(new Set(truth.companies.map((company) => company.domain)).size).toBe(truth.companies.length);
  });

  it('looks people and companies up by email, LinkedIn, name and domain', () => {
    const person = truth.people[123]!;
    const company = truth.companyOf(person);
    expect(truth.personByEmail(person.email.toUpperCase())).toBe(person);
    expect(truth.personByLinkedin(`${person.linkedinUrl.replace('https://www.', 'http://')}/`)).toBe(person);
    expect(truth.personByNameAndDomain(person.firstName, person.lastName, company.domain)?.companyId).toBe(
      company.id,
    );
    expect(truth.companyByDomain(`https://www.${company.domain.toUpperCase()}/about`)).toBe(company);
    expect(truth.personByEmail('nobody@nowhere.example')).toBeUndefined();
  });

  it('rejects bad sizes with a ConfigurationError naming the option', () => {
    expect(() => createGroundTruth({ people: 0 })).toThrow(ConfigurationError);
    expect(() => createGroundTruth({ companies: 1.5 })).toThrow(
      'createGroundTruth: companies: must be a positive integer, got 1.5',
    );
  });
});

describe('scoring', () => {
  const wanted: LeadField[] = ['title', 'phone', 'company.headcount', 'company.technologies'];

  it('scores the truth itself as full coverage and accuracy', () => {
    const leads = truth.people.slice(0, 50).map((person) => truth.personFields(person));
    const report = truth.score(leads, wanted);
    expect(report.identified).toBe(50);
    expect(report.coverage).toBe(1);
    expect(report.accuracy).toBe(1);
  });

  it('counts missing values against coverage and wrong values against accuracy', () => {
    const people = truth.people.slice(0, 10);
    const leads = people.map((person, index) => ({
      email: person.email,
      title: index < 5 ? person.title.toUpperCase() : undefined,
      company: { headcount: index < 2 ? (truth.companyOf(person).headcount > 10 ? 3 : 5000) : undefined },
    }));
    const report = truth.score(leads, ['title', 'company.headcount']);
    expect(report.fields.title).toMatchObject({
      wanted: 10,
      filled: 5,
      correct: 5,
      coverage: 0.5,
      accuracy: 1,
    });
    expect(report.fields['company.headcount']).toMatchObject({ wanted: 10, filled: 2, correct: 0 });
  });

  it('normalizes before comparing', () => {
    expect(valueMatches('phone', '+14155550100', '+1 (415) 555-0100')).toBe(true);
    expect(valueMatches('company.domain', 'acme.com', 'https://www.ACME.com/')).toBe(true);
    expect(valueMatches('company.headcount', 120, 180)).toBe(true);
    expect(valueMatches('company.headcount', 120, 250)).toBe(false);
    expect(valueMatches('company.annualRevenue', 1_000_000, 1_080_000)).toBe(true);
    expect(valueMatches('company.annualRevenue', 1_000_000, 1_200_000)).toBe(false);
    expect(
      valueMatches('company.technologies', ['Google Analytics', 'AWS'], ['google_analytics', 'aws']),
    ).toBe(true);
  });

  it('rejects a wanted field that is not a LeadField path', () => {
    expect(() => truth.score([], ['company.size' as LeadField])).toThrow(/company\.size/);
  });
});

describe('provider coverage', () => {
  const people = truth.people;

  function share(
    view: ReturnType<typeof createProviderView>,
    field: LeadField,
  ): { covered: number; wrong: number } {
    let covered = 0;
    let wrong = 0;
    for (const person of people) {
      const fields = view.person(person);
      const value = fields?.[field];
      if (value === undefined) continue;
      covered++;
      if (!valueMatches(field, truth.personFields(person)[field], value)) wrong++;
    }
    return { covered: covered / people.length, wrong: wrong / Math.max(1, covered) };
  }

  it('fullCoverage knows every person and every listed field, never wrong, and nothing unlisted', () => {
    const view = createProviderView(
      truth,
      'clearbit',
      resolveCoverage(CLEARBIT_COVERAGE, fullCoverage(CLEARBIT_COVERAGE)),
    );
    for (const field of ['title', 'seniority', 'department'] as const) {
      expect(Object.hasOwn(CLEARBIT_COVERAGE.fields, field)).toBe(true);
      const known =
        people.filter((person) => truth.personFields(person)[field] !== undefined).length / people.length;
      expect(share(view, field)).toEqual({ covered: known, wrong: 0 });
    }
    // Clearbit's profile lists no phone: full coverage does not invent one.
    expect(Object.hasOwn(CLEARBIT_COVERAGE.fields, 'phone')).toBe(false);
    expect(share(view, 'phone').covered).toBe(0);
  });

  it('covers roughly the configured share per field with the configured error rate', () => {
    const view = createProviderView(
      truth,
      'apollo',
      resolveCoverage(APOLLO_COVERAGE, {
        personShare: 0.8,
        fields: { title: 0.5 },
        errorRates: { title: 0.2 },
      }),
    );
    const title = share(view, 'title');
    expect(title.covered).toBeGreaterThan(0.8 * 0.5 - 0.04);
    expect(title.covered).toBeLessThan(0.8 * 0.5 + 0.04);
    expect(title.wrong).toBeGreaterThan(0.15);
    expect(title.wrong).toBeLessThan(0.25);
  });

  it('answers the same record the same way whatever the order', () => {
    const view = createProviderView(truth, 'clearbit', CLEARBIT_COVERAGE);
    const forward = people.slice(0, 200).map((person) => view.person(person));
    const backward = [...people.slice(0, 200)].reverse().map((person) => view.person(person));
    expect(backward.reverse()).toEqual(forward);
  });

  it('gives each provider its strengths, and combining them beats either one', () => {
    const sample = people.slice(0, 1500);
    const apollo = createProviderView(truth, 'apollo', APOLLO_COVERAGE);
    const clearbit = createProviderView(truth, 'clearbit', CLEARBIT_COVERAGE);
    expect(share(apollo, 'phone').covered).toBeGreaterThan(share(clearbit, 'phone').covered);
    expect(share(clearbit, 'company.technologies').covered).toBeGreaterThan(
      share(apollo, 'company.technologies').covered,
    );
    const wanted: LeadField[] = ['title', 'phone', 'company.annualRevenue', 'company.technologies'];
    const single = (view: typeof apollo) =>
      truth.score(
        sample.map((person) => ({ ...view.person(person), email: person.email })),
        wanted,
      ).coverage;
    const combined = truth.score(
      sample.map((person) => ({ ...clearbit.person(person), ...apollo.person(person), email: person.email })),
      wanted,
    ).coverage;
    expect(combined).toBeGreaterThan(single(apollo));
    expect(combined).toBeGreaterThan(single(clearbit));
  });

  it('keeps every field share whatever fieldCorrelation, and at 1 makes a record either rich or sparse as a whole', () => {
    const companyFields: LeadField[] = [
      'company.industry',
      'company.headcount',
      'company.annualRevenue',
      'company.technologies',
    ];
    const shares = APOLLO_COVERAGE.fields;
    const count = (view: ReturnType<typeof createProviderView>) => {
      const present = new Map<LeadField, number>();
      let known = 0;
      let nested = 0;
      for (const company of truth.companies) {
        const fields = view.company(company);
        if (fields === null) continue;
        known++;
        for (const field of companyFields) {
          if (fields[field] !== undefined) present.set(field, (present.get(field) ?? 0) + 1);
        }
        // Nested: a company with its rarest field (revenue, 45%) has every more common one.
        if (
          fields['company.annualRevenue'] === undefined ||
          companyFields.every((f) => fields[f] !== undefined)
        )
          nested++;
      }
      return { known, present, nested };
    };
    const independent = count(createProviderView(truth, 'apollo', APOLLO_COVERAGE));
    const correlated = count(
      createProviderView(truth, 'apollo', resolveCoverage(APOLLO_COVERAGE, { fieldCorrelation: 1 })),
    );
    for (const result of [independent, correlated]) {
      for (const field of companyFields) {
        expect((result.present.get(field) ?? 0) / result.known).toBeGreaterThan((shares[field] ?? 0) - 0.04);
        expect((result.present.get(field) ?? 0) / result.known).toBeLessThan((shares[field] ?? 0) + 0.04);
      }
    }
    expect(correlated.nested).toBe(correlated.known);
    expect(independent.nested / independent.known).toBeLessThan(0.9);
    expect(() => resolveCoverage(APOLLO_COVERAGE, { fieldCorrelation: 2 })).toThrow(/fieldCorrelation/);
  });

  it('rejects a share outside [0, 1]', () => {
    expect(() => resolveCoverage(APOLLO_COVERAGE, { fields: { title: 1.5 } })).toThrow(/fields\.title/);
  });
});

import {
  applyLeadFields,
  ConfigurationError,
  createLead,
  type FieldProvenance,
  type Lead,
  type LeadField,
  type LeadFieldPatch,
} from '@leadpipe/core/adapter-kit';
import { describe, expect, it } from 'vitest';
import {
  createGroundTruth,
  departmentKey,
  headcountRangeOf,
  type ScorableLead,
  technologyKey,
  valueMatches,
} from '../src/truth/index.js';

const truth = createGroundTruth({ seed: 5, people: 600, companies: 120 });
const now = () => new Date('2026-01-05T12:00:00.000Z');

/** What the waterfall does to a lead: set provider fields with their provenance. */
function enrich(lead: Lead, patch: LeadFieldPatch, providerId = 'clearbit'): Lead {
  const provenance: Partial<Record<LeadField, FieldProvenance>> = {};
  for (const field of Object.keys(patch) as LeadField[]) {
    provenance[field] = { providerId, confidence: 0.9, at: now().toISOString(), credits: 1 };
  }
  return applyLeadFields(lead, patch, provenance, now());
}

/** Clearbit's adapter turns `node_js` into `Node Js`: the same technology under another spelling. */
const clearbitSpelling = (name: string) =>
  name
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
    .map((word) => word[0]!.toUpperCase() + word.slice(1))
    .join(' ');

const engineer = truth.people.find((person) => person.department === 'Engineering')!;
const named = truth.people.find(
  (person) =>
    person.companyId !== engineer.companyId &&
    truth.personByNameAndDomain(person.firstName, person.lastName, truth.companyOf(person).domain) === person,
)!;
const stranger = truth.people.find(
  (person) => person.companyId !== named.companyId && person.companyId !== engineer.companyId,
)!;
const wanted: LeadField[] = ['email', 'title', 'department', 'company.headcount', 'company.technologies'];

function enrichedLeads(): Lead[] {
  const company = truth.companyOf(engineer);
  const first = enrich(createLead({ email: engineer.email }, { now }), {
    title: engineer.title,
    department: 'Engineering & Technical',
    'company.headcount': company.headcount > 10 ? 3 : 5000,
    'company.technologies': company.technologies.map(clearbitSpelling),
  });
  const second = enrich(
    createLead(
      {
        firstName: named.firstName,
        lastName: named.lastName,
        company: { domain: truth.companyOf(named).domain },
      },
      { now },
    ),
    { email: stranger.email, title: named.title },
    'apollo',
  );
  const unknown = createLead({ email: 'jane@not-in-the-truth.dev' }, { now });
  return [first, second, unknown];
}

describe('score() on core Lead objects', () => {
  it('reports coverage and accuracy per field and overall for leads from createLead + applyLeadFields', () => {
    const report = truth.score(enrichedLeads(), wanted);
    expect(report.leads).toBe(3);
    expect(report.identified).toBe(2);
    expect(report.fields.email).toEqual({ wanted: 2, filled: 2, correct: 1, coverage: 1, accuracy: 0.5 });
    expect(report.fields.title).toEqual({ wanted: 2, filled: 2, correct: 2, coverage: 1, accuracy: 1 });
    expect(report.fields.department).toEqual({
      wanted: 2,
      filled: 1,
      correct: 1,
      coverage: 0.5,
      accuracy: 1,
    });
    expect(report.fields['company.headcount']).toEqual({
      wanted: 2,
      filled: 1,
      correct: 0,
      coverage: 0.5,
      accuracy: 0,
    });
    expect(report.fields['company.technologies']).toMatchObject({ filled: 1, correct: 1 });
    expect(report.coverage).toBeCloseTo(7 / 10, 10);
    expect(report.accuracy).toBeCloseTo(5 / 7, 10);
  });

  it('identifies a lead by its input, not by an email a provider got wrong', () => {
    const [, second] = enrichedLeads();
    expect(second!.email).toBe(stranger.email);
    const report = truth.score([second!], ['email', 'title']);
    expect(report.fields.email).toMatchObject({ filled: 1, correct: 0 });
    expect(report.fields.title).toMatchObject({ filled: 1, correct: 1 });
  });

  it('takes enrichment outcomes that carry the lead', () => {
    const leads = enrichedLeads();
    const outcomes: ScorableLead[] = leads.map((lead) => ({
      lead,
      status: 'partial',
      filled: [],
      missing: [],
    }));
    expect(truth.score(outcomes, wanted)).toEqual(truth.score(leads, wanted));
  });

  it('still scores flat patches, where every field may identify the lead', () => {
    const company = truth.companyOf(engineer);
    const report = truth.score(
      [{ email: engineer.email, 'company.headcount': company.headcount }],
      ['company.headcount', 'company.headcountRange'],
    );
    expect(report.fields['company.headcount']).toMatchObject({ filled: 1, correct: 1 });
    expect(report.fields['company.headcountRange']).toMatchObject({ wanted: 1, filled: 0 });
    expect(headcountRangeOf(company.headcount)).toBe(company.headcountRange);
  });
});

describe('normalization shared by both sides', () => {
  it('compares departments under any vendor name', () => {
    expect(valueMatches('department', 'Engineering', 'Engineering & Technical')).toBe(true);
    expect(valueMatches('department', 'Product', 'product management')).toBe(true);
    expect(valueMatches('department', 'Customer Service', 'Support')).toBe(true);
    expect(valueMatches('department', 'Engineering', 'Sales')).toBe(false);
    expect(valueMatches('department', 'Engineering', '')).toBe(false);
    expect(departmentKey('Research & Development')).toBe('research and development');
  });

  it('compares technologies by letters and digits, whatever the spelling', () => {
    expect(technologyKey('Node.js')).toBe(technologyKey('node_js'));
    expect(technologyKey('Node Js')).toBe('nodejs');
    expect(
      valueMatches('company.technologies', ['Node.js', 'Vue.js', 'Auth0'], ['node_js', 'Vue Js', 'AUTH0']),
    ).toBe(true);
    expect(valueMatches('company.technologies', ['Node.js', 'Vue.js', 'Auth0'], ['Python'])).toBe(false);
    expect(valueMatches('company.technologies', ['Node.js'], [])).toBe(false);
  });
});

describe('bad input', () => {
  it('names a wanted field that is not a LeadField path, and its position', () => {
    expect(() => truth.score([], ['title', 'company.size' as LeadField])).toThrow(
      'score: wantedFields.1: "company.size" is not a LeadField path',
    );
    expect(() => truth.score([], 'title' as unknown as LeadField[])).toThrow(ConfigurationError);
  });

  it('names a lead that is not an object, and leads that are not iterable', () => {
    const bad = [{ email: engineer.email }, null] as unknown as ScorableLead[];
    expect(() => truth.score(bad, ['title'])).toThrow(
      'score: leads.1: must be an object (a Lead, an enrichment outcome or a flat patch), got null',
    );
    expect(() => truth.score(42 as unknown as ScorableLead[], ['title'])).toThrow(
      'score: leads: must be an iterable of leads (core Lead objects, enrichment outcomes or flat patches)',
    );
  });
});

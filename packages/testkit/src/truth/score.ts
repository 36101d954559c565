import {
  ConfigurationError,
  isLeadField,
  type LeadField,
  type LeadFieldPatch,
  type LeadLocation,
} from '@leadpipe/core';
import {
  type GroundTruthData,
  headcountRangeOf,
  normalizeDomain,
  normalizeLinkedinUrl,
  type TruthCompany,
  type TruthPerson,
} from './generate.js';

/**
 * An enriched lead to score: either the core's nested Lead shape
 * (`{ email, title, company: { domain, headcount } }`) or a flat
 * {@link LeadFieldPatch} keyed by LeadField path (`company.domain`).
 */
export type ScorableLead = Readonly<Record<string, unknown>>;

/** Coverage and accuracy of one field. */
export interface FieldScore {
  /** Identified leads the truth has a value for. */
  readonly wanted: number;
  /** Of those, leads with a value. */
  readonly filled: number;
  /** Of those, values that match the truth after normalization. */
  readonly correct: number;
  /** `filled / wanted` (0 when nothing was wanted). */
  readonly coverage: number;
  /** `correct / filled` (0 when nothing was filled). */
  readonly accuracy: number;
}

/** What {@link scoreLeads} reports. */
export interface ScoreReport {
  /** Leads given. */
  readonly leads: number;
  /** Leads found in the truth (by email, LinkedIn URL, name and domain, or company domain). */
  readonly identified: number;
  /** Per wanted field. */
  readonly fields: Readonly<Partial<Record<LeadField, FieldScore>>>;
  /** Filled over wanted, summed over every wanted field. */
  readonly coverage: number;
  /** Correct over filled, summed over every wanted field. */
  readonly accuracy: number;
}

const COMPANY_KEYS: Readonly<Record<string, LeadField>> = {
  name: 'company.name',
  domain: 'company.domain',
  industry: 'company.industry',
  headcount: 'company.headcount',
  headcountRange: 'company.headcountRange',
  annualRevenue: 'company.annualRevenue',
  location: 'company.location',
  technologies: 'company.technologies',
};

/** Flatten a nested or flat lead into LeadField paths. Unknown keys are ignored. */
export function flattenLead(lead: ScorableLead): LeadFieldPatch {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(lead)) {
    if (value === undefined || value === null) continue;
    if (key === 'company' && typeof value === 'object') {
      for (const [companyKey, companyValue] of Object.entries(value as Record<string, unknown>)) {
        const field = COMPANY_KEYS[companyKey];
        if (field !== undefined && companyValue !== undefined && companyValue !== null)
          out[field] = companyValue;
      }
    } else if (isLeadField(key)) {
      out[key] = value;
    }
  }
  return out as LeadFieldPatch;
}

const text = (value: unknown) =>
  typeof value === 'string' ? value.trim().toLowerCase().replace(/\s+/g, ' ') : '';

function sameLocation(truth: unknown, value: unknown): boolean {
  const expected = truth as LeadLocation;
  const actual = value as LeadLocation;
  if (typeof actual !== 'object' || actual === null) return false;
  if (actual.city !== undefined && text(actual.city) !== text(expected.city)) return false;
  const sameCountry =
    (actual.countryCode !== undefined && text(actual.countryCode) === text(expected.countryCode)) ||
    (actual.country !== undefined && text(actual.country) === text(expected.country));
  return sameCountry;
}

/**
 * Whether `value` is a correct value of `field` given the truth, after
 * normalization: case and spacing ignored for text, lower-case emails and
 * domains, digits only for phones, the same headcount range for headcounts,
 * revenue within 10 %, the same city and country for locations, and at
 * least half the technologies in common (names compared by letters and digits only).
 */
export function valueMatches(field: LeadField, truth: unknown, value: unknown): boolean {
  switch (field) {
    case 'company.domain':
      return typeof value === 'string' && normalizeDomain(value) === normalizeDomain(String(truth));
    case 'linkedinUrl':
      return typeof value === 'string' && normalizeLinkedinUrl(value) === normalizeLinkedinUrl(String(truth));
    case 'phone':
      return typeof value === 'string' && value.replace(/\D/g, '') === String(truth).replace(/\D/g, '');
    case 'company.headcount':
      return typeof value === 'number' && headcountRangeOf(value) === headcountRangeOf(Number(truth));
    case 'company.annualRevenue':
      return typeof value === 'number' && Math.abs(value - Number(truth)) <= Number(truth) * 0.1;
    case 'location':
    case 'company.location':
      return sameLocation(truth, value);
    case 'company.technologies': {
      if (!Array.isArray(value)) return false;
      const key = (item: unknown) => text(item).replace(/[^a-z0-9]/g, '');
      const expected = new Set((truth as string[]).map(key));
      const actual = new Set(value.map(key));
      const common = [...actual].filter((item) => expected.has(item)).length;
      return common * 2 >= Math.max(expected.size, actual.size);
    }
    default:
      return text(value) === text(truth) && text(value) !== '';
  }
}

/** The truth record a lead describes: a person (with company) or a company alone. */
export function identifyLead(
  truth: GroundTruthData,
  lead: LeadFieldPatch,
): { person?: TruthPerson; company?: TruthCompany } | undefined {
  const person =
    (lead.email !== undefined ? truth.personByEmail(lead.email) : undefined) ??
    (lead.linkedinUrl !== undefined ? truth.personByLinkedin(lead.linkedinUrl) : undefined) ??
    (lead.firstName !== undefined && lead.lastName !== undefined && lead['company.domain'] !== undefined
      ? truth.personByNameAndDomain(lead.firstName, lead.lastName, lead['company.domain'])
      : undefined);
  if (person !== undefined) return { person, company: truth.companyOf(person) };
  const company =
    lead['company.domain'] !== undefined ? truth.companyByDomain(lead['company.domain']) : undefined;
  return company === undefined ? undefined : { company };
}

/**
 * Score enriched leads against the truth: per wanted field, how many leads
 * got a value (coverage) and how many of those values are right (accuracy).
 *
 * @throws ConfigurationError when a wanted field is not a LeadField path.
 */
export function scoreLeads(
  truth: GroundTruthData,
  leads: Iterable<ScorableLead>,
  wantedFields: readonly LeadField[],
): ScoreReport {
  for (const field of wantedFields) {
    if (!isLeadField(field)) {
      throw new ConfigurationError('invalid_configuration', {
        message: `wantedFields: "${String(field)}" is not a LeadField path`,
      });
    }
  }
  const tallies = new Map<LeadField, { wanted: number; filled: number; correct: number }>(
    wantedFields.map((field) => [field, { wanted: 0, filled: 0, correct: 0 }]),
  );
  let count = 0;
  let identified = 0;
  for (const lead of leads) {
    count++;
    const flat = flattenLead(lead);
    const record = identifyLead(truth, flat);
    if (record === undefined) continue;
    identified++;
    const expected: LeadFieldPatch =
      record.person !== undefined ? truth.personFields(record.person) : truth.companyFields(record.company!);
    for (const field of wantedFields) {
      const truthValue = expected[field];
      if (truthValue === undefined) continue;
      const tally = tallies.get(field)!;
      tally.wanted++;
      const value = flat[field];
      if (value === undefined) continue;
      tally.filled++;
      if (valueMatches(field, truthValue, value)) tally.correct++;
    }
  }
  const fields: Partial<Record<LeadField, FieldScore>> = {};
  let wanted = 0;
  let filled = 0;
  let correct = 0;
  for (const [field, tally] of tallies) {
    wanted += tally.wanted;
    filled += tally.filled;
    correct += tally.correct;
    fields[field] = {
      ...tally,
      coverage: tally.wanted === 0 ? 0 : tally.filled / tally.wanted,
      accuracy: tally.filled === 0 ? 0 : tally.correct / tally.filled,
    };
  }
  return {
    leads: count,
    identified,
    fields,
    coverage: wanted === 0 ? 0 : filled / wanted,
    accuracy: filled === 0 ? 0 : correct / filled,
  };
}

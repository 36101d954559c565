import {
  HEADCOUNT_RANGES,
  LEAD_FIELDS,
  type LeadField,
  type LeadFieldPatch,
  parseOptions,
  SENIORITY_LEVELS,
} from '@leadpipe/core/adapter-kit';
import { z } from 'zod';
import {
  type GroundTruthData,
  headcountRangeOf,
  type TruthCompany,
  type TruthPerson,
  titleFor,
} from './generate.js';
import { createRng, hashString, unitHash } from './random.js';
import { CITIES, DEPARTMENTS, INDUSTRIES, TECHNOLOGIES } from './words.js';

/**
 * How much of the ground truth one provider knows, and how often it is wrong.
 * Every share is between 0 and 1.
 */
export interface CoverageProfile {
  /** Share of people the provider has a record for. */
  readonly personShare: number;
  /** Share of companies the provider has a record for. */
  readonly companyShare: number;
  /** Per field: share of known records that carry the field. Fields not listed are never returned. */
  readonly fields: Partial<Record<LeadField, number>>;
  /** Per field: share of returned values that are wrong but plausible. */
  readonly errorRates?: Partial<Record<LeadField, number>>;
  /** Error rate of fields not listed in `errorRates`. Default 0. */
  readonly defaultErrorRate?: number;
  /**
   * How much a record's fields come and go together, between 0 (each field drawn on its own) and 1 (a record
   * that has its rarest field has every field). Each field's share in `fields` holds whatever the value: a field
   * follows the record's one draw with this probability and its own draw otherwise. Default 0.
   */
  readonly fieldCorrelation?: number;
}

/** Partial overrides of a {@link CoverageProfile}; field maps are merged with the defaults. */
export interface CoverageOverrides {
  /** Share of people the provider knows. */
  readonly personShare?: number;
  /** Share of companies the provider knows. */
  readonly companyShare?: number;
  /** Per-field coverage shares, merged over the defaults. */
  readonly fields?: Partial<Record<LeadField, number>>;
  /** Per-field error rates, merged over the defaults. */
  readonly errorRates?: Partial<Record<LeadField, number>>;
  /** Error rate of fields without their own. */
  readonly defaultErrorRate?: number;
  /** How much a record's fields come and go together (see {@link CoverageProfile.fieldCorrelation}). */
  readonly fieldCorrelation?: number;
}

/** Apollo's default coverage: strong on people (titles, emails, phones), weaker on company metrics. */
export const APOLLO_COVERAGE: CoverageProfile = {
  personShare: 0.85,
  companyShare: 0.8,
  fields: {
    email: 0.92,
    firstName: 1,
    lastName: 1,
    fullName: 1,
    linkedinUrl: 0.9,
    phone: 0.65,
    title: 0.95,
    seniority: 0.95,
    department: 0.9,
    location: 0.85,
    'company.name': 0.98,
    'company.domain': 0.98,
    'company.industry': 0.8,
    'company.headcount': 0.75,
    'company.headcountRange': 0.75,
    'company.annualRevenue': 0.45,
    'company.location': 0.8,
    'company.technologies': 0.55,
  },
  errorRates: {
    email: 0.03,
    phone: 0.06,
    title: 0.03,
    seniority: 0.04,
    'company.headcount': 0.15,
    'company.headcountRange': 0.12,
    'company.annualRevenue': 0.25,
    'company.technologies': 0.2,
  },
  defaultErrorRate: 0.02,
};

/** Clearbit's default coverage: strong on company metrics and technologies, no phones for people. */
export const CLEARBIT_COVERAGE: CoverageProfile = {
  personShare: 0.7,
  companyShare: 0.92,
  fields: {
    email: 1,
    firstName: 0.95,
    lastName: 0.95,
    fullName: 0.95,
    linkedinUrl: 0.7,
    title: 0.8,
    seniority: 0.7,
    department: 0.7,
    location: 0.8,
    'company.name': 1,
    'company.domain': 1,
    'company.industry': 0.95,
    'company.headcount': 0.95,
    'company.headcountRange': 0.95,
    'company.annualRevenue': 0.85,
    'company.location': 0.95,
    'company.technologies': 0.9,
  },
  errorRates: {
    title: 0.1,
    seniority: 0.12,
    department: 0.08,
    location: 0.06,
  },
  defaultErrorRate: 0.02,
};

/** A share in [0, 1]: `must be a share between 0 and 1, got 2`. */
const share = z
  .number({ error: (issue) => `must be a share between 0 and 1, got ${String(issue.input)}` })
  .min(0, { error: (issue) => `must be a share between 0 and 1, got ${String(issue.input)}` })
  .max(1, { error: (issue) => `must be a share between 0 and 1, got ${String(issue.input)}` });

/** {@link CoverageOverrides} (an emulator's `coverage` option): every key listed, unknown ones refused. */
export const coverageOverridesSchema = z
  .object(
    {
      personShare: share.optional(),
      companyShare: share.optional(),
      fields: z
        .record(z.string(), share.optional(), { error: 'must be an object of shares by LeadField' })
        .optional(),
      errorRates: z
        .record(z.string(), share.optional(), { error: 'must be an object of shares by LeadField' })
        .optional(),
      defaultErrorRate: share.optional(),
      fieldCorrelation: share.optional(),
    },
    { error: 'must be an object' },
  )
  .strict();

/**
 * Merge overrides into a profile, checking every share is in [0, 1].
 *
 * @throws ConfigurationError (`invalid_configuration`, checked by `parseOptions`) naming the share:
 * `coverage: fields.title: must be a share between 0 and 1, got 2`, or an unknown key.
 */
export function resolveCoverage(base: CoverageProfile, overrides: CoverageOverrides = {}): CoverageProfile {
  parseOptions(coverageOverridesSchema, overrides, { name: 'coverage' });
  return {
    personShare: overrides.personShare ?? base.personShare,
    companyShare: overrides.companyShare ?? base.companyShare,
    fields: { ...base.fields, ...overrides.fields },
    errorRates: { ...base.errorRates, ...overrides.errorRates },
    defaultErrorRate: overrides.defaultErrorRate ?? base.defaultErrorRate ?? 0,
    fieldCorrelation: overrides.fieldCorrelation ?? base.fieldCorrelation ?? 0,
  };
}

/**
 * Overrides under which a provider knows every record and every field its
 * `profile` lists, with no wrong values: what round-trip tests use, so that a
 * faithful adapter must score as the truth. Fields the profile does not list
 * stay unknown.
 *
 * @example
 * ```ts
 * await startEmulators({ vendorOptions: { apollo: { coverage: fullCoverage(APOLLO_COVERAGE) } } });
 * ```
 */
export function fullCoverage(profile: CoverageProfile): CoverageOverrides {
  const listed = Object.keys(profile.fields) as LeadField[];
  return {
    personShare: 1,
    companyShare: 1,
    fields: Object.fromEntries(listed.map((field) => [field, 1])),
    errorRates: Object.fromEntries(listed.map((field) => [field, 0])),
    defaultErrorRate: 0,
  };
}

/** What one provider knows about the ground truth. Same record, same answer, always. */
export interface ProviderView {
  /** The provider name the view was built for. */
  readonly provider: string;
  /** The profile in force. */
  readonly profile: CoverageProfile;
  /** The provider's fields for a person (their company's fields included), or `null` when it has no record. */
  person(person: TruthPerson): LeadFieldPatch | null;
  /** The provider's `company.*` fields for a company, or `null` when it has no record. */
  company(company: TruthCompany): LeadFieldPatch | null;
}

/** Every person field of the Lead model, in its order. */
const PERSON_FIELDS: readonly LeadField[] = LEAD_FIELDS.filter((field) => !field.startsWith('company.'));
/** Every `company.*` field of the Lead model, in its order. */
const COMPANY_FIELDS: readonly LeadField[] = LEAD_FIELDS.filter((field) => field.startsWith('company.'));

function otherThan<T>(items: readonly T[], current: T, roll: number, equal = (a: T, b: T) => a === b): T {
  const candidates = items.filter((item) => !equal(item, current));
  return candidates[Math.floor(roll * candidates.length)] ?? current;
}

/** A wrong but plausible value for `field`, derived deterministically from `roll`. */
function corrupt(field: LeadField, value: unknown, roll: number, person?: TruthPerson): unknown {
  const rng = createRng(Math.floor(roll * 2 ** 31));
  switch (field) {
    case 'email': {
      const [local = '', domain = ''] = String(value).split('@');
      const alternative = person ? `${person.firstName[0]}${person.lastName}`.toLowerCase() : `${local}1`;
      return `${alternative === local ? `${local}.${rng.int(1, 99)}` : alternative}@${domain}`;
    }
    case 'firstName':
    case 'lastName':
      return `${String(value)}e`;
    case 'fullName':
      return `${String(value)}son`;
    case 'linkedinUrl':
      return `${String(value)}-${rng.int(10, 99)}`;
    case 'phone': {
      const text = String(value);
      const tail = text.slice(-4);
      let replacement = String(rng.int(1000, 9999));
      if (replacement === tail) replacement = String(((Number(tail) + 1) % 9000) + 1000);
      return `${text.slice(0, -4)}${replacement}`;
    }
    case 'title': {
      const department = DEPARTMENTS.find((item) => item.name === person?.department) ?? DEPARTMENTS[0]!;
      const seniority = otherThan(SENIORITY_LEVELS, person?.seniority ?? 'entry', rng.next());
      return titleFor(seniority, department, rng);
    }
    case 'seniority': {
      const index = SENIORITY_LEVELS.indexOf(value as (typeof SENIORITY_LEVELS)[number]);
      return SENIORITY_LEVELS[index > 0 ? index - 1 : index + 1];
    }
    case 'department':
      return otherThan(
        DEPARTMENTS.map((item) => item.name),
        String(value),
        rng.next(),
      );
    case 'location':
    case 'company.location': {
      const current = value as { city?: string };
      const city = otherThan(CITIES, CITIES[0]!, rng.next(), (a) => a.city === current.city);
      return { city: city.city, region: city.region, country: city.country, countryCode: city.countryCode };
    }
    case 'company.name':
      return `${String(value)} Holdings`;
    case 'company.domain': {
      const text = String(value);
      const dot = text.lastIndexOf('.');
      return `${text.slice(0, dot)}${rng.pick(['-hq', '-inc', 'app'])}${text.slice(dot)}`;
    }
    case 'company.industry':
      return otherThan(
        INDUSTRIES.map((item) => item.name),
        String(value),
        rng.next(),
      );
    case 'company.headcount': {
      const headcount = Number(value);
      const wrong = rng.next() < 0.5 && headcount > 30 ? Math.round(headcount / 4) : headcount * 4 + 7;
      return headcountRangeOf(wrong) === headcountRangeOf(headcount) ? headcount * 12 + 50 : wrong;
    }
    case 'company.headcountRange': {
      const index = HEADCOUNT_RANGES.indexOf(value as (typeof HEADCOUNT_RANGES)[number]);
      return HEADCOUNT_RANGES[index > 0 ? index - 1 : index + 1];
    }
    case 'company.annualRevenue':
      return Math.round(Number(value) * (rng.next() < 0.5 ? 0.3 : 3.5));
    case 'company.technologies': {
      const current = value as string[];
      const keep = current.slice(0, Math.floor(current.length / 3));
      const extra = rng.sample(
        TECHNOLOGIES.filter((tech) => !current.includes(tech)),
        Math.max(2, current.length - keep.length),
      );
      return [...keep, ...extra].sort();
    }
  }
}

function applyProfile(
  seed: number,
  provider: string,
  recordId: string,
  fields: readonly LeadField[],
  values: LeadFieldPatch,
  profile: CoverageProfile,
  person?: TruthPerson,
): LeadFieldPatch {
  const out: Record<string, unknown> = {};
  const correlation = profile.fieldCorrelation ?? 0;
  // One draw for the whole record; each field follows it with probability `correlation`. Both draws are uniform,
  // so a field's share is the same whatever the correlation.
  const recordDraw = unitHash(seed, `${provider}|record|${recordId}`);
  for (const field of fields) {
    const value = values[field];
    if (value === undefined) continue;
    const share = profile.fields[field] ?? 0;
    const follows =
      correlation > 0 && unitHash(seed, `${provider}|follows|${recordId}|${field}`) < correlation;
    const draw = follows ? recordDraw : unitHash(seed, `${provider}|field|${recordId}|${field}`);
    if (draw >= share) continue;
    const errorRate = profile.errorRates?.[field] ?? profile.defaultErrorRate ?? 0;
    const roll = unitHash(seed, `${provider}|error|${recordId}|${field}`);
    out[field] = roll < errorRate ? corrupt(field, value, roll / Math.max(errorRate, 1e-9), person) : value;
  }
  return out as LeadFieldPatch;
}

/**
 * Build a provider's deterministic view of the truth: which people and
 * companies it knows, which fields it has for each, and which of those are
 * wrong. Decisions hash (seed, provider, record id, field), so they do not
 * depend on the order of lookups.
 */
export function createProviderView(
  truth: GroundTruthData,
  provider: string,
  profile: CoverageProfile,
  seed: number = truth.seed,
): ProviderView {
  const viewSeed = hashString(provider, seed);
  const company = (record: TruthCompany): LeadFieldPatch | null => {
    if (unitHash(viewSeed, `company|${record.id}`) >= profile.companyShare) return null;
    return applyProfile(viewSeed, provider, record.id, COMPANY_FIELDS, truth.companyFields(record), profile);
  };
  return {
    provider,
    profile,
    company,
    person: (record) => {
      if (unitHash(viewSeed, `person|${record.id}`) >= profile.personShare) return null;
      const own = applyProfile(
        viewSeed,
        provider,
        record.id,
        PERSON_FIELDS,
        truth.personFields(record),
        profile,
        record,
      );
      // Without a company record the provider still knows the employer's name and domain.
      const employer =
        company(truth.companyOf(record)) ??
        applyProfile(
          viewSeed,
          provider,
          record.id,
          ['company.name', 'company.domain'],
          truth.companyFields(truth.companyOf(record)),
          profile,
        );
      return { ...employer, ...own };
    },
  };
}

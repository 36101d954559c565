import {
  HEADCOUNT_RANGES,
  type HeadcountRange,
  headcountToRange,
  type LeadField,
  type LeadFieldPatch,
  type LeadLocation,
  leadFieldSchemas,
  locationSchema,
  normalizeLinkedinUrl,
  normalizeSeniority,
  type Seniority,
} from '@leadpipe/core/adapter-kit';
import { z } from 'zod';

/**
 * Lenient readers of Clearbit's v2 shapes: a field with an unexpected type
 * becomes `undefined` instead of failing the whole record, because Clearbit
 * fills most fields with `null` and has changed shapes between versions.
 */
const text = z.string().trim().min(1).nullish().catch(undefined);
const count = z.number().finite().nonnegative().nullish().catch(undefined);
const flag = z.boolean().nullish().catch(undefined);

/** Clearbit's `geo`: a person's or a company's location, in parts. */
const geoSchema = z
  .object({
    /** City name. */
    city: text,
    /** State or region, spelled out (`California`). */
    state: text,
    /** Short code of the state (`CA`); not read by the mapping. */
    stateCode: text,
    /** Country, spelled out (`United States`). */
    country: text,
    /** ISO 3166-1 alpha-2 code (`US`); kept only when it is two letters. */
    countryCode: text,
  })
  .nullish()
  .catch(undefined);

/** Clearbit's `linkedin` object. */
const handleSchema = z
  .object({
    /** LinkedIn profile path without the host (`in/jdoe`); anything but `in/...` or `company/...` is dropped. */
    handle: text,
  })
  .nullish()
  .catch(undefined);

/** The parts of a Clearbit v2 person object the adapter reads. */
export const clearbitPersonSchema = z.object({
  /** Clearbit's id of the person (a UUID). */
  id: text,
  /** The person's name, in parts. */
  name: z
    .object({
      /** Full name as Clearbit displays it; built from the two parts when missing. */
      fullName: text,
      /** Given name. */
      givenName: text,
      /** Family name. */
      familyName: text,
    })
    .nullish()
    .catch(undefined),
  /** The email the person was found by; not mapped (the lead already has it). */
  email: text,
  /** Where the person is based. */
  geo: geoSchema,
  /** The person's current job. */
  employment: z
    .object({
      /** Employer's domain (`acme.com`); a company object's `domain` wins over it. */
      domain: text,
      /** Employer's name; a company object's `name` wins over it. */
      name: text,
      /** Job title, free text; also used to refine a coarse `seniority`. */
      title: text,
      /** Department slug (`engineering`, `human_resources`); unknown slugs are title-cased. */
      role: text,
      /** Finer slug within `role` (`software_engineer`); UNVERIFIED upstream, not read by the mapping. */
      subRole: text,
      /** Coarse bucket: `executive`, `director` or `manager`; `null` below manager. */
      seniority: text,
    })
    .nullish()
    .catch(undefined),
  /** The person's LinkedIn profile. */
  linkedin: handleSchema,
  /** `true` when Clearbit matched on weaker signals than the email (lower confidence); UNVERIFIED. */
  fuzzy: flag,
});

/**
 * A Clearbit v2 person, as far as the adapter reads it.
 *
 * @interface
 */
export type ClearbitPerson = z.infer<typeof clearbitPersonSchema>;

/** The parts of a Clearbit v2 company object the adapter reads. */
export const clearbitCompanySchema = z.object({
  /** Clearbit's id of the company (a UUID). */
  id: text,
  /** Common name of the company (`legalName` holds the registered one). */
  name: text,
  /** Bare domain (`acme.com`); normalized and dropped when not a valid domain. */
  domain: text,
  /** Clearbit's industry classification, broadest level first. */
  category: z
    .object({
      /** Broadest level (`Information Technology`); the last fallback for the industry. */
      sector: text,
      /** Second level (`Software & Services`); the fallback when `industry` is missing. */
      industryGroup: text,
      /** Third level (`Internet Software & Services`); the one mapped to the industry. */
      industry: text,
      /** Finest level; not read by the mapping. */
      subIndustry: text,
    })
    .nullish()
    .catch(undefined),
  /** Where the headquarters are. */
  geo: geoSchema,
  /** Size and money figures. */
  metrics: z
    .object({
      /** Headcount as a whole number; preferred over `employeesRange`. */
      employees: count,
      /** Headcount bucket, `1-10` to `100K+`, read without `employees`; `51-250` and `251-1K` span two ranges. */
      employeesRange: text,
      /** Annual revenue in USD, as a number; mostly `null` for private companies. */
      annualRevenue: count,
      /** Revenue bucket as text (`$10M-$50M`); not read by the mapping. */
      estimatedAnnualRevenue: text,
    })
    .nullish()
    .catch(undefined),
  /** Technologies detected on the company's site, as slugs (`google_analytics`); non-strings are skipped. */
  tech: z.array(z.unknown()).nullish().catch(undefined),
});

/**
 * A Clearbit v2 company, as far as the adapter reads it.
 *
 * @interface
 */
export type ClearbitCompany = z.infer<typeof clearbitCompanySchema>;

/** The body of `GET /v2/combined/find`: `{ person, company }`, either may be `null`. */
export const clearbitCombinedSchema = z.object({
  person: clearbitPersonSchema.nullish(),
  company: clearbitCompanySchema.nullish(),
});

/** Fields a Clearbit person object can supply. */
export const CLEARBIT_PERSON_FIELDS: readonly LeadField[] = [
  'firstName',
  'lastName',
  'fullName',
  'title',
  'seniority',
  'department',
  'location',
  'linkedinUrl',
];

/** Fields a Clearbit company object can supply. */
export const CLEARBIT_COMPANY_FIELDS: readonly LeadField[] = [
  'company.name',
  'company.domain',
  'company.industry',
  'company.headcount',
  'company.headcountRange',
  'company.annualRevenue',
  'company.location',
  'company.technologies',
];

/**
 * Clearbit's `employment.seniority` buckets and the core levels each one
 * covers. Clearbit only grades the upper levels; everything below manager is
 * `null` there.
 */
const SENIORITY_BUCKETS: Readonly<Record<string, readonly Seniority[]>> = {
  executive: ['owner', 'founder', 'c_suite', 'partner', 'vp'],
  director: ['director', 'head'],
  manager: ['manager'],
};

/** The level a bucket maps to when the title does not say more. */
const BUCKET_DEFAULT: Readonly<Record<string, Seniority>> = {
  executive: 'c_suite',
  director: 'director',
  manager: 'manager',
};

/** Clearbit `employment.role` slugs and the department names they stand for. */
const ROLE_DEPARTMENTS: Readonly<Record<string, string>> = {
  ceo: 'Executive',
  communications: 'Communications',
  consulting: 'Consulting',
  customer_service: 'Customer Service',
  education: 'Education',
  engineering: 'Engineering',
  finance: 'Finance',
  founder: 'Executive',
  health_professional: 'Healthcare',
  human_resources: 'Human Resources',
  information_technology: 'Information Technology',
  legal: 'Legal',
  marketing: 'Marketing',
  operations: 'Operations',
  owner: 'Executive',
  product: 'Product',
  public_relations: 'Public Relations',
  real_estate: 'Real Estate',
  recruiting: 'Recruiting',
  research: 'Research',
  sales: 'Sales',
};

/**
 * Clearbit's `metrics.employeesRange` buckets that fall inside one standard
 * headcount range. `51-250` and `251-1K` straddle two standard ranges and are
 * not mapped (the exact `metrics.employees` is used when present).
 */
const EMPLOYEE_RANGES: Readonly<Record<string, HeadcountRange>> = {
  '1-10': '1-10',
  '11-50': '11-50',
  '1K-5K': '1001-5000',
  '5K-10K': '5001-10000',
  '10K-50K': '10001+',
  '50K-100K': '10001+',
  '100K+': '10001+',
};

/** Confidence of a person matched by email (Clearbit's `fuzzy: false`). */
const PERSON_CONFIDENCE = 0.9;
/** Confidence of a person Clearbit marked `fuzzy: true` (matched on weaker signals). */
const FUZZY_PERSON_CONFIDENCE = 0.6;
/** Confidence of a company found by its domain. */
const COMPANY_CONFIDENCE = 0.95;
/** Confidence of a seniority taken from Clearbit's coarse `executive` bucket without a title to refine it. */
const COARSE_SENIORITY_CONFIDENCE = 0.6;

/** What a Clearbit record maps to. */
export interface MappedRecord {
  /** Lead field values, each already valid for its schema. */
  readonly fields: LeadFieldPatch;
  /** Per-field confidence where it differs from the overall one. */
  readonly fieldConfidence: Partial<Record<LeadField, number>>;
  /** Overall confidence. */
  readonly confidence: number;
}

type MutablePatch = { -readonly [F in keyof LeadFieldPatch]: LeadFieldPatch[F] };

function mapLocation(geo: z.infer<typeof geoSchema>): LeadLocation | undefined {
  if (geo === undefined || geo === null) return undefined;
  const countryCode = geo.countryCode?.toUpperCase();
  const location: { city?: string; region?: string; country?: string; countryCode?: string } = {};
  if (geo.city) location.city = geo.city;
  if (geo.state) location.region = geo.state;
  if (geo.country) location.country = geo.country;
  if (countryCode !== undefined && /^[A-Z]{2}$/.test(countryCode)) location.countryCode = countryCode;
  if (Object.keys(location).length === 0) return undefined;
  const parsed = locationSchema.safeParse(location);
  return parsed.success ? parsed.data : undefined;
}

function mapDomain(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  const domain = value
    .toLowerCase()
    .replace(/^https?:\/\//, '')
    .replace(/^www\./, '')
    .replace(/[/.]+$/, '');
  return leadFieldSchemas['company.domain'].safeParse(domain).success ? domain : undefined;
}

function tryLevel(title: string): Seniority | undefined {
  try {
    return normalizeSeniority(title);
  } catch {
    return undefined;
  }
}

/**
 * Map Clearbit's coarse seniority bucket to a core level, refined by the
 * title when the title names a level inside the same bucket ("VP of Sales"
 * in `executive` gives `vp`). Unknown buckets are read as level names.
 */
export function mapSeniority(
  bucket: string | null | undefined,
  title: string | null | undefined,
):
  | {
      /** The core level. */
      readonly level: Seniority;
      /** Whether the level is a multi-level bucket's default, which the title did not confirm. */
      readonly coarse: boolean;
    }
  | undefined {
  if (!bucket) return undefined;
  const key = bucket.toLowerCase();
  const levels = SENIORITY_BUCKETS[key];
  if (levels === undefined) {
    const level = tryLevel(bucket);
    return level === undefined ? undefined : { level, coarse: false };
  }
  const fromTitle = title ? tryLevel(title) : undefined;
  if (fromTitle !== undefined && levels.includes(fromTitle)) return { level: fromTitle, coarse: false };
  return { level: BUCKET_DEFAULT[key]!, coarse: levels.length > 1 };
}

/** Map a Clearbit `employment.role` slug to a department name. Unknown slugs are title-cased. */
export function mapRole(role: string | null | undefined): string | undefined {
  if (!role) return undefined;
  const known = ROLE_DEPARTMENTS[role.toLowerCase()];
  if (known !== undefined) return known;
  return humanize(role);
}

/** `google_analytics` → `Google Analytics`. */
function humanize(slug: string): string | undefined {
  const words = slug
    .split(/[_\s-]+/)
    .filter((word) => word !== '')
    .map((word) => word[0]!.toUpperCase() + word.slice(1));
  return words.length === 0 ? undefined : words.join(' ');
}

/** Map Clearbit's `metrics.employeesRange` to a standard range, when it fits in one. */
export function mapEmployeesRange(range: string | null | undefined): HeadcountRange | undefined {
  if (!range) return undefined;
  const mapped = EMPLOYEE_RANGES[range.trim()];
  return mapped !== undefined && HEADCOUNT_RANGES.includes(mapped) ? mapped : undefined;
}

function mapLinkedin(handle: string | null | undefined): string | undefined {
  if (!handle) return undefined;
  const path = handle.replace(/^https?:\/\/([a-z]+\.)?linkedin\.com\//i, '').replace(/^\/+/, '');
  if (!/^(in|company)\//.test(path)) return undefined;
  try {
    return normalizeLinkedinUrl(`https://www.linkedin.com/${path}`);
  } catch {
    return undefined;
  }
}

function mapTechnologies(tech: readonly unknown[] | null | undefined): string[] | undefined {
  if (!tech) return undefined;
  const seen = new Set<string>();
  const out: string[] = [];
  for (const item of tech) {
    if (typeof item !== 'string') continue;
    const name = humanize(item.trim());
    if (name === undefined || seen.has(name.toLowerCase())) continue;
    seen.add(name.toLowerCase());
    out.push(name);
  }
  return out.length === 0 ? undefined : out;
}

/** Map a Clearbit v2 company to Lead fields (`company.*`). */
export function mapCompany(company: ClearbitCompany): LeadFieldPatch {
  const fields: MutablePatch = {};
  if (company.name) fields['company.name'] = company.name;
  const domain = mapDomain(company.domain);
  if (domain !== undefined) fields['company.domain'] = domain;
  const industry = company.category?.industry ?? company.category?.industryGroup ?? company.category?.sector;
  if (industry) fields['company.industry'] = industry;
  const employees = company.metrics?.employees;
  if (employees !== undefined && employees !== null && Number.isSafeInteger(employees)) {
    fields['company.headcount'] = employees;
    fields['company.headcountRange'] = headcountToRange(employees);
  } else {
    const range = mapEmployeesRange(company.metrics?.employeesRange);
    if (range !== undefined) fields['company.headcountRange'] = range;
  }
  const revenue = company.metrics?.annualRevenue;
  if (revenue !== undefined && revenue !== null) fields['company.annualRevenue'] = revenue;
  const location = mapLocation(company.geo);
  if (location !== undefined) fields['company.location'] = location;
  const technologies = mapTechnologies(company.tech);
  if (technologies !== undefined) fields['company.technologies'] = technologies;
  return fields;
}

/** Map a Clearbit v2 person to Lead fields; `employment` fills `company.name` / `company.domain`. */
export function mapPerson(person: ClearbitPerson): {
  /** Lead field values, each already valid for its schema. */
  readonly fields: LeadFieldPatch;
  /** Per-field confidence where it differs from the overall one (a coarse seniority). */
  readonly fieldConfidence: Partial<Record<LeadField, number>>;
} {
  const fields: MutablePatch = {};
  const fieldConfidence: Partial<Record<LeadField, number>> = {};
  if (person.name?.givenName) fields.firstName = person.name.givenName;
  if (person.name?.familyName) fields.lastName = person.name.familyName;
  const fullName =
    person.name?.fullName ??
    ([person.name?.givenName, person.name?.familyName].filter(Boolean).join(' ') || undefined);
  if (fullName) fields.fullName = fullName;
  const employment = person.employment;
  if (employment?.title) fields.title = employment.title;
  const seniority = mapSeniority(employment?.seniority, employment?.title);
  if (seniority !== undefined) {
    fields.seniority = seniority.level;
    if (seniority.coarse) fieldConfidence.seniority = COARSE_SENIORITY_CONFIDENCE;
  }
  const department = mapRole(employment?.role);
  if (department !== undefined) fields.department = department;
  const location = mapLocation(person.geo);
  if (location !== undefined) fields.location = location;
  const linkedinUrl = mapLinkedin(person.linkedin?.handle);
  if (linkedinUrl !== undefined) fields.linkedinUrl = linkedinUrl;
  if (employment?.name) fields['company.name'] = employment.name;
  const domain = mapDomain(employment?.domain);
  if (domain !== undefined) fields['company.domain'] = domain;
  return { fields, fieldConfidence };
}

/**
 * Map a combined `{ person, company }` answer. Company values come from the
 * company object over the person's `employment`; `undefined` when neither
 * object yields a field.
 */
export function mapCombined(body: z.infer<typeof clearbitCombinedSchema>): MappedRecord | undefined {
  const person = body.person ? mapPerson(body.person) : undefined;
  const company = body.company ? mapCompany(body.company) : {};
  const fields: LeadFieldPatch = { ...person?.fields, ...company };
  if (Object.keys(fields).length === 0) return undefined;
  const confidence =
    person === undefined || Object.keys(person.fields).length === 0
      ? COMPANY_CONFIDENCE
      : body.person?.fuzzy === true
        ? FUZZY_PERSON_CONFIDENCE
        : PERSON_CONFIDENCE;
  const fieldConfidence: Partial<Record<LeadField, number>> = { ...person?.fieldConfidence };
  if (fieldConfidence.seniority !== undefined) {
    fieldConfidence.seniority = Math.min(fieldConfidence.seniority, confidence);
  }
  return { fields, fieldConfidence, confidence };
}

/** Map a company answer; `undefined` when it yields no field. */
export function mapCompanyRecord(company: ClearbitCompany): MappedRecord | undefined {
  const fields = mapCompany(company);
  if (Object.keys(fields).length === 0) return undefined;
  return { fields, fieldConfidence: {}, confidence: COMPANY_CONFIDENCE };
}

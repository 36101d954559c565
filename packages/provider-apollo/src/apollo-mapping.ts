import {
  domainFromUrl,
  headcountToRange,
  type LeadField,
  type LeadFieldPatch,
  type LeadLocation,
  normalizeDomain,
  normalizeLinkedinUrl,
  normalizeLocation,
  normalizePhone,
  normalizeSeniority,
  normalizeTechnologies,
} from '@leadpipe/core/adapter-kit';
import type { ApolloOrganization, ApolloPerson } from './apollo-schemas.js';

/**
 * How a person was found, which sets the overall confidence of the match:
 * a unique identifier (email, LinkedIn URL) is stronger than a name at a
 * company domain.
 */
export type ApolloMatchKey = 'email' | 'linkedinUrl' | 'name';

/**
 * Confidence of a match, by how it was found. Apollo gives no match score,
 * so these are fixed: an exact identifier 0.9, a name at a domain 0.75, an
 * organization by its domain 0.9.
 */
export const APOLLO_MATCH_CONFIDENCE: Readonly<Record<ApolloMatchKey | 'domain', number>> = {
  email: 0.9,
  linkedinUrl: 0.9,
  name: 0.75,
  domain: 0.9,
};

/**
 * Per-field confidence where Apollo's data is an estimate, whatever the
 * match: headcount and revenue are modelled figures, technologies are
 * scraped.
 */
const APOLLO_FIELD_CONFIDENCE: Readonly<Partial<Record<LeadField, number>>> = {
  'company.headcount': 0.7,
  'company.headcountRange': 0.8,
  'company.annualRevenue': 0.6,
  'company.technologies': 0.7,
};

/**
 * Confidence of an email by Apollo's `email_status`: `verified` 0.95,
 * `unverified` 0.6, `extrapolated` / `guessed` / `likely to engage` Apollo's
 * `extrapolated_email_confidence` (read as 0..1, or as a percentage when
 * above 1; capped at 0.9) or 0.5, anything else 0.5.
 * `unavailable` emails are not returned at all.
 */
export function emailConfidence(status: string | null | undefined, extrapolated?: number | null): number {
  switch (status) {
    case 'verified':
      return 0.95;
    case 'unverified':
      return 0.6;
    case 'extrapolated':
    case 'guessed':
    case 'likely to engage':
      if (typeof extrapolated === 'number' && extrapolated > 0) {
        return Math.min(0.9, extrapolated > 1 ? extrapolated / 100 : extrapolated);
      }
      return 0.5;
    default:
      return 0.5;
  }
}

/** Apollo's department slugs (with or without `master_`) and the names they map to: the vocabulary every leadpipe adapter uses (`Engineering`, `Product`, `Customer Service`, ...). */
const APOLLO_DEPARTMENTS: Readonly<Record<string, string>> = {
  c_suite: 'C-Suite',
  engineering_technical: 'Engineering',
  sales: 'Sales',
  marketing: 'Marketing',
  finance: 'Finance',
  human_resources: 'Human Resources',
  information_technology: 'Information Technology',
  operations: 'Operations',
  product_management: 'Product',
  support: 'Customer Service',
  legal: 'Legal',
  consulting: 'Consulting',
  design: 'Design',
  education: 'Education',
  medical_health: 'Medical & Health',
  arts_and_design: 'Arts & Design',
  business_development: 'Business Development',
  entrepreneurship: 'Entrepreneurship',
  media_and_commmunication: 'Media & Communication',
  media_and_communication: 'Media & Communication',
};

/** A department name for an Apollo slug such as `master_engineering_technical`. Unknown slugs are title-cased. */
export function departmentName(slug: string): string | undefined {
  const key = slug
    .trim()
    .toLowerCase()
    .replace(/^master_/, '');
  if (key === '') return undefined;
  return (
    APOLLO_DEPARTMENTS[key] ??
    key
      .split('_')
      .filter((part) => part !== '')
      .map((part) => part[0]!.toUpperCase() + part.slice(1))
      .join(' ')
  );
}

/** Apollo's placeholder for emails the team has not unlocked. */
const LOCKED_EMAIL = /^email_not_unlocked@/i;

function attempt<T>(run: () => T): T | undefined {
  try {
    return run();
  } catch {
    return undefined;
  }
}

function nonEmpty(value: string | null | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

function location(
  city: string | null | undefined,
  region: string | null | undefined,
  country: string | null | undefined,
  field: string,
): LeadLocation | undefined {
  if (!nonEmpty(city) && !nonEmpty(region) && !nonEmpty(country)) return undefined;
  const parsed = attempt(() => normalizeLocation({ city, region, country }, field));
  return parsed === undefined || Object.keys(parsed).length === 0 ? undefined : parsed;
}

/** Lead fields with their confidence, as mapped from an Apollo object. */
export interface MappedFields {
  /** Lead field values. */
  readonly fields: LeadFieldPatch;
  /** Confidence of the fields that differ from the match's overall confidence. */
  readonly fieldConfidence: Partial<Record<LeadField, number>>;
}

/** The bare domain of an organization: `primary_domain`, else the host of `website_url`. */
export function organizationDomain(organization: ApolloOrganization): string | undefined {
  const primary = nonEmpty(organization.primary_domain);
  if (primary !== undefined) return attempt(() => normalizeDomain(primary));
  const website = nonEmpty(organization.website_url);
  return website === undefined ? undefined : attempt(() => domainFromUrl(website));
}

/**
 * Map an Apollo organization to `company.*` Lead fields: `name`,
 * `primary_domain` (or `website_url`), `industry`, `estimated_num_employees`
 * (and its range), `annual_revenue`, `city`/`state`/`country`,
 * `technology_names` (or `current_technologies[].name`).
 */
export function mapOrganization(organization: ApolloOrganization): MappedFields {
  const fields: LeadFieldPatch = {};
  const fieldConfidence: Partial<Record<LeadField, number>> = {};
  const name = nonEmpty(organization.name);
  if (name !== undefined) fields['company.name'] = name;
  const domain = organizationDomain(organization);
  if (domain !== undefined) fields['company.domain'] = domain;
  const industry = nonEmpty(organization.industry) ?? nonEmpty(organization.industries?.[0]);
  if (industry !== undefined) fields['company.industry'] = industry;
  const headcount = organization.estimated_num_employees;
  if (typeof headcount === 'number' && Number.isInteger(headcount) && headcount > 0) {
    fields['company.headcount'] = headcount;
    fields['company.headcountRange'] = headcountToRange(headcount);
  }
  const revenue = organization.annual_revenue;
  if (typeof revenue === 'number' && Number.isFinite(revenue) && revenue > 0) {
    fields['company.annualRevenue'] = revenue;
  }
  const place = location(organization.city, organization.state, organization.country, 'company.location');
  if (place !== undefined) fields['company.location'] = place;
  const technologyNames =
    organization.technology_names && organization.technology_names.length > 0
      ? organization.technology_names
      : (organization.current_technologies ?? []).flatMap((item) => (item.name ? [item.name] : []));
  if (technologyNames.length > 0) {
    const technologies = attempt(() => normalizeTechnologies(technologyNames));
    if (technologies !== undefined && technologies.length > 0) fields['company.technologies'] = technologies;
  }
  for (const key of Object.keys(fields) as LeadField[]) {
    const confidence = APOLLO_FIELD_CONFIDENCE[key];
    if (confidence !== undefined) fieldConfidence[key] = confidence;
  }
  return { fields, fieldConfidence };
}

/**
 * The first usable phone of a list, in E.164, with a confidence from Apollo's
 * status and confidence codes: valid and high 0.9, valid 0.75, otherwise 0.5.
 * Numbers libphonenumber does not know as valid are skipped.
 */
export function pickPhone(
  phones: readonly {
    sanitized_number?: string | null;
    raw_number?: string | null;
    status_cd?: string | null;
    confidence_cd?: string | null;
  }[],
): { phone: string; confidence: number } | undefined {
  for (const item of phones) {
    const number = nonEmpty(item.sanitized_number) ?? nonEmpty(item.raw_number);
    if (number === undefined) continue;
    const phone = attempt(() => normalizePhone(number));
    // Numbers libphonenumber does not know as valid are dropped: the core's lead model refuses them.
    if (phone === undefined) continue;
    const valid =
      item.status_cd === undefined || item.status_cd === null || item.status_cd === 'valid_number';
    const high = item.confidence_cd === 'high';
    return { phone, confidence: valid ? (high ? 0.9 : 0.75) : 0.5 };
  }
  return undefined;
}

/**
 * Map an Apollo person (and their nested organization) to Lead fields:
 * names, `title`, `email` (unless `unavailable` or locked), `linkedin_url`,
 * `seniority`, the first non-empty `departments` slug, `city`/`state`/`country`, phones already
 * revealed, and the organization's `company.*` fields.
 */
export function mapPerson(person: ApolloPerson): MappedFields {
  const fields: LeadFieldPatch = {};
  const fieldConfidence: Partial<Record<LeadField, number>> = {};
  const firstName = nonEmpty(person.first_name);
  const lastName = nonEmpty(person.last_name);
  const fullName = nonEmpty(person.name) ?? ([firstName, lastName].filter(Boolean).join(' ') || undefined);
  if (firstName !== undefined) fields.firstName = firstName;
  if (lastName !== undefined) fields.lastName = lastName;
  if (fullName !== undefined) fields.fullName = fullName;
  const title = nonEmpty(person.title);
  if (title !== undefined) fields.title = title;
  const email = nonEmpty(person.email)?.toLowerCase();
  if (email !== undefined && person.email_status !== 'unavailable' && !LOCKED_EMAIL.test(email)) {
    fields.email = email;
    fieldConfidence.email = emailConfidence(person.email_status, person.extrapolated_email_confidence);
  }
  const linkedin = nonEmpty(person.linkedin_url);
  if (linkedin !== undefined) {
    const url = attempt(() => normalizeLinkedinUrl(linkedin));
    if (url !== undefined) fields.linkedinUrl = url;
  }
  const seniorityText = nonEmpty(person.seniority);
  if (seniorityText !== undefined) {
    const seniority = attempt(() => normalizeSeniority(seniorityText));
    if (seniority !== undefined) fields.seniority = seniority;
  }
  const departmentSlug = person.departments?.find((item) => nonEmpty(item) !== undefined);
  const department = departmentSlug === undefined ? undefined : departmentName(departmentSlug);
  if (department !== undefined) fields.department = department;
  const place = location(person.city, person.state, person.country, 'location');
  if (place !== undefined) fields.location = place;
  const phone = pickPhone(person.phone_numbers ?? []);
  if (phone !== undefined) {
    fields.phone = phone.phone;
    fieldConfidence.phone = phone.confidence;
  }
  if (person.organization) {
    const company = mapOrganization(person.organization);
    Object.assign(fields, company.fields);
    Object.assign(fieldConfidence, company.fieldConfidence);
  }
  return { fields, fieldConfidence };
}

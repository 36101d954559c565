import type { LeadFieldPatch, Seniority } from '@leadpipe/core/adapter-kit';
import type { TruthCompany, TruthPerson } from '../../truth/generate.js';
import { hashString } from '../../truth/random.js';
import { CITIES, DEPARTMENTS } from '../../truth/words.js';

/** A Clearbit v2 person or company object. */
export type ClearbitObject = Record<string, unknown>;

/** A deterministic UUID-shaped id from a truth id. */
export function clearbitId(id: string): string {
  const hex = Array.from({ length: 4 }, (_, round) =>
    hashString(`${id}|${round}`).toString(16).padStart(8, '0'),
  ).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function clearbitSeniority(seniority: Seniority | undefined): string | null {
  switch (seniority) {
    case 'owner':
    case 'founder':
    case 'c_suite':
    case 'partner':
    case 'vp':
      return 'executive';
    case 'head':
    case 'director':
      return 'director';
    case 'manager':
      return 'manager';
    default:
      return null;
  }
}

/** Clearbit's `metrics.employeesRange` buckets. */
export function clearbitEmployeesRange(employees: number): string {
  const ranges: [number, string][] = [
    [10, '1-10'],
    [50, '11-50'],
    [250, '51-250'],
    [1000, '251-1K'],
    [5000, '1K-5K'],
    [10000, '5K-10K'],
    [50000, '10K-50K'],
    [100000, '50K-100K'],
  ];
  return ranges.find(([max]) => employees <= max)?.[1] ?? '100K+';
}

function revenueRange(revenue: number): string {
  const ranges: [number, string][] = [
    [1e6, '$0-$1M'],
    [1e7, '$1M-$10M'],
    [5e7, '$10M-$50M'],
    [1e8, '$50M-$100M'],
    [2.5e8, '$100M-$250M'],
    [5e8, '$250M-$500M'],
    [1e9, '$500M-$1B'],
    [1e10, '$1B-$10B'],
  ];
  return ranges.find(([max]) => revenue < max)?.[1] ?? '$10B+';
}

function geoOf(
  location: { city?: string; region?: string; country?: string; countryCode?: string } | undefined,
) {
  const city = CITIES.find((item) => item.city === location?.city);
  return {
    streetNumber: null,
    streetName: null,
    subPremise: null,
    city: location?.city ?? null,
    postalCode: null,
    state: location?.region ?? null,
    stateCode: null,
    country: location?.country ?? null,
    countryCode: location?.countryCode ?? null,
    lat: city?.lat ?? null,
    lng: city?.lng ?? null,
  };
}

/**
 * Clearbit's `tech` entries are slugs (`google_analytics`, `node_js`), so the
 * emulator sends slugs too, and punctuation is lost on the way (`Node.js`
 * becomes `node_js`). That is the vendor's behaviour, kept on purpose: the
 * truth's `score()` compares technologies by `technologyKey` (letters and
 * digits, lower case) on both sides, so a slug, the adapter's humanized
 * `Node Js` and the truth's `Node.js` all count as the same technology.
 */
const slug = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');

/** Clearbit's v2 company object, carrying only the fields the provider view supplied. */
export function clearbitCompany(
  company: TruthCompany,
  fields: LeadFieldPatch,
  indexedAt: string,
): ClearbitObject {
  const location = fields['company.location'];
  const employees = fields['company.headcount'];
  const revenue = fields['company.annualRevenue'];
  return {
    id: clearbitId(company.id),
    name: fields['company.name'] ?? null,
    legalName: null,
    domain: fields['company.domain'] ?? null,
    domainAliases: [],
    site: { phoneNumbers: [company.phone], emailAddresses: [] },
    category: {
      sector: null,
      industryGroup: null,
      industry: fields['company.industry'] ?? null,
      subIndustry: null,
      sicCode: null,
      naicsCode: null,
    },
    tags: [],
    description: null,
    foundedYear: company.foundedYear,
    location:
      location === undefined
        ? null
        : [location.city, location.region, location.country].filter(Boolean).join(', '),
    timeZone: location === undefined ? null : company.timeZone,
    utcOffset: null,
    geo: geoOf(location),
    logo: null,
    facebook: { handle: null, likes: null },
    linkedin: { handle: company.linkedinUrl.replace('https://www.linkedin.com/', '') },
    twitter: {
      handle: null,
      id: null,
      bio: null,
      followers: null,
      following: null,
      location: null,
      site: null,
      avatar: null,
    },
    crunchbase: { handle: null },
    emailProvider: false,
    type: 'private',
    ticker: null,
    identifiers: { usEIN: null },
    phone: company.phone,
    metrics: {
      alexaUsRank: null,
      alexaGlobalRank: null,
      trafficRank: null,
      employees: employees ?? null,
      employeesRange: employees === undefined ? null : clearbitEmployeesRange(employees),
      marketCap: null,
      raised: null,
      annualRevenue: revenue ?? null,
      estimatedAnnualRevenue: revenue === undefined ? null : revenueRange(revenue),
      fiscalYearEnd: null,
    },
    indexedAt,
    tech: (fields['company.technologies'] ?? []).map(slug),
    techCategories: [],
    parent: { domain: null },
    ultimateParent: { domain: null },
  };
}

/** Clearbit's v2 person object, carrying only the fields the provider view supplied. */
export function clearbitPerson(
  person: TruthPerson,
  fields: LeadFieldPatch,
  indexedAt: string,
): ClearbitObject {
  const location = fields.location;
  const department = DEPARTMENTS.find((item) => item.name === fields.department);
  return {
    id: clearbitId(person.id),
    name: {
      fullName: fields.fullName ?? null,
      givenName: fields.firstName ?? null,
      familyName: fields.lastName ?? null,
    },
    email: fields.email ?? person.email,
    location:
      location === undefined
        ? null
        : [location.city, location.region, location.country].filter(Boolean).join(', '),
    timeZone: location === undefined ? null : person.timeZone,
    utcOffset: null,
    geo: geoOf(location),
    bio: null,
    site: null,
    avatar: null,
    employment: {
      domain: fields['company.domain'] ?? null,
      name: fields['company.name'] ?? null,
      title: fields.title ?? null,
      role: department?.clearbitRole ?? null,
      subRole: null,
      seniority: clearbitSeniority(fields.seniority),
    },
    facebook: { handle: null },
    github: {
      handle: null,
      id: null,
      avatar: null,
      company: null,
      blog: null,
      followers: null,
      following: null,
    },
    twitter: {
      handle: null,
      id: null,
      bio: null,
      followers: null,
      following: null,
      statuses: null,
      favorites: null,
      location: null,
      site: null,
      avatar: null,
    },
    linkedin: {
      handle:
        fields.linkedinUrl === undefined
          ? null
          : fields.linkedinUrl.replace(/^https?:\/\/(www\.)?linkedin\.com\//, ''),
    },
    googleplus: { handle: null },
    gravatar: { handle: null, urls: [], avatar: null, avatars: [] },
    fuzzy: false,
    emailProvider: false,
    indexedAt,
    phone: null,
    activeAt: indexedAt,
    inactiveAt: null,
  };
}

import {
  HEADCOUNT_RANGES,
  type HeadcountRange,
  type LeadFieldPatch,
  type LeadLocation,
  parseOptions,
  type Seniority,
} from '@leadpipe/core/adapter-kit';
import { isValidPhoneNumber } from 'libphonenumber-js/max';
import { z } from 'zod';
import { createRng, hashString, type Rng } from './random.js';
import {
  CITIES,
  COMPANY_FORMS,
  COMPANY_PREFIXES,
  COMPANY_SUFFIXES,
  DEPARTMENTS,
  FIRST_NAMES,
  INDUSTRIES,
  LAST_NAMES,
  TECHNOLOGIES,
  TLDS,
} from './words.js';

/** A company of the ground truth. */
export interface TruthCompany {
  /** Stable id: 24 hex digits. */
  readonly id: string;
  /** Company name, such as `Blue Harbor Labs`. */
  readonly name: string;
  /** Lower-case bare domain, unique in the population. */
  readonly domain: string;
  /** Industry, such as `Computer Software`. */
  readonly industry: string;
  /** Number of employees. */
  readonly headcount: number;
  /** The headcount range the headcount falls in. */
  readonly headcountRange: HeadcountRange;
  /** Annual revenue in US dollars. */
  readonly annualRevenue: number;
  /** Headquarters. */
  readonly location: Required<LeadLocation>;
  /** Technologies used, sorted. */
  readonly technologies: readonly string[];
  /** Year founded. */
  readonly foundedYear: number;
  /** Switchboard number, E.164. */
  readonly phone: string;
  /** `https://www.linkedin.com/company/<handle>`. */
  readonly linkedinUrl: string;
  /** IANA time zone of the headquarters. */
  readonly timeZone: string;
  /** Latitude of the headquarters city. */
  readonly lat: number;
  /** Longitude of the headquarters city. */
  readonly lng: number;
}

/** A person of the ground truth. */
export interface TruthPerson {
  /** Stable id: 24 hex digits. */
  readonly id: string;
  /** Given name. */
  readonly firstName: string;
  /** Family name. */
  readonly lastName: string;
  /** `firstName lastName`. */
  readonly fullName: string;
  /** Lower-case work email at the company's domain, unique in the population. */
  readonly email: string;
  /** Job title, consistent with seniority and department. */
  readonly title: string;
  /** Seniority level. */
  readonly seniority: Seniority;
  /** Department name, such as `Engineering`. */
  readonly department: string;
  /** Department slug, such as `engineering_technical`. */
  readonly departmentSlug: string;
  /** Where the person lives. */
  readonly location: Required<LeadLocation>;
  /** `https://www.linkedin.com/in/<handle>`, unique in the population. */
  readonly linkedinUrl: string;
  /** Mobile number, E.164. */
  readonly phone: string;
  /** Id of the employer. */
  readonly companyId: string;
  /** IANA time zone of the person. */
  readonly timeZone: string;
}

/** Options of {@link createGroundTruth}. */
export interface GroundTruthOptions {
  /** Seed of the population. Default 1. */
  readonly seed?: number;
  /** How many people. Default 20,000. */
  readonly people?: number;
  /** How many companies. Default 3,000. */
  readonly companies?: number;
}

/** A seeded, deterministic population of people and companies to emulate vendors from and score runs against. */
export interface GroundTruthData {
  /** The seed the population was generated from. */
  readonly seed: number;
  /** Every person, in generation order. */
  readonly people: readonly TruthPerson[];
  /** Every company, in generation order. */
  readonly companies: readonly TruthCompany[];
  /** The person with this email (case-insensitive), if any. */
  personByEmail(email: string): TruthPerson | undefined;
  /** The person with this LinkedIn URL (scheme, `www.`, case and trailing slash ignored), if any. */
  personByLinkedin(url: string): TruthPerson | undefined;
  /** The person with this first and last name at this company domain (case-insensitive), if any. */
  personByNameAndDomain(firstName: string, lastName: string, domain: string): TruthPerson | undefined;
  /** The company with this domain (case-insensitive, `www.` and scheme ignored), if any. */
  companyByDomain(domain: string): TruthCompany | undefined;
  /** The company with this id. */
  companyById(id: string): TruthCompany | undefined;
  /** The person with this id. */
  personById(id: string): TruthPerson | undefined;
  /** The company a person works at. */
  companyOf(person: TruthPerson): TruthCompany;
  /** Every Lead field value of a person and their company, keyed by LeadField path. */
  personFields(person: TruthPerson): LeadFieldPatch;
  /** Every `company.*` Lead field value of a company. */
  companyFields(company: TruthCompany): LeadFieldPatch;
}

const DEFAULT_PEOPLE = 20_000;
const DEFAULT_COMPANIES = 3_000;

/** The {@link HeadcountRange} a headcount falls in. */
export function headcountRangeOf(headcount: number): HeadcountRange {
  const bounds = [10, 50, 200, 500, 1000, 5000, 10000];
  const index = bounds.findIndex((bound) => headcount <= bound);
  return HEADCOUNT_RANGES[index === -1 ? HEADCOUNT_RANGES.length - 1 : index]!;
}

/**
 * A lenient key for comparing domains: lower-cases and strips a scheme, `www.`,
 * a path and a trailing dot. Unlike core's `normalizeDomain` it never throws and
 * does not validate or punycode the host, so it can compare whatever a vendor
 * or a run returned against the ground truth.
 */
export function domainComparisonKey(value: string): string {
  return value
    .trim()
    .toLowerCase()
    .replace(/^[a-z]+:\/\//, '')
    .replace(/^www\./, '')
    .replace(/[/?#].*$/, '')
    .replace(/\.$/, '');
}

/**
 * A lenient key for comparing LinkedIn profile URLs: reduces one to
 * `linkedin.com/in/<handle>`. Unlike core's `normalizeLinkedinUrl` it never
 * throws, keeps no scheme and does not check the path is a profile.
 */
export function linkedinComparisonKey(value: string): string {
  return value
    .trim()
    .toLowerCase()
    .replace(/^[a-z]+:\/\//, '')
    .replace(/^([a-z]{2,3}\.)?(www\.)?/, '')
    .replace(/[?#].*$/, '')
    .replace(/\/+$/, '');
}

/** A zod message that echoes the value it rejects: `<reason>, got <value>`. */
function got(reason: string): { error: (issue: { input?: unknown }) => string } {
  return { error: (issue) => `${reason}, got ${String(issue.input)}` };
}

const anInteger = got('must be an integer');
const aPositiveInteger = got('must be a positive integer');

/** The options of {@link createGroundTruth}: every key listed, unknown ones refused. */
const groundTruthOptionsSchema = z
  .object(
    {
      seed: z.number(anInteger).int(anInteger).optional(),
      people: z.number(aPositiveInteger).int(aPositiveInteger).min(1, aPositiveInteger).optional(),
      companies: z.number(aPositiveInteger).int(aPositiveInteger).min(1, aPositiveInteger).optional(),
    },
    { error: 'must be an object' },
  )
  .strict();

/**
 * Check {@link createGroundTruth}'s options with zod (through core's `parseOptions`).
 *
 * @throws ConfigurationError naming every wrong option: `createGroundTruth: people: must be a positive integer, got 0`.
 */
export function checkGroundTruthOptions(options: GroundTruthOptions): void {
  parseOptions(groundTruthOptionsSchema, options, { name: 'createGroundTruth' });
}

function hexId(rng: Rng): string {
  let out = '';
  for (let index = 0; index < 24; index++) out += Math.floor(rng.next() * 16).toString(16);
  return out;
}

/**
 * A phone number in the city's plan. Random digits are not always a valid
 * number (London needs 3, 7 or 8 after 20; São Paulo landlines start 2-5), so
 * an invalid draw is repaired deterministically, without drawing again: the
 * rest of the population does not shift.
 */
function phoneFor(rng: Rng, city: (typeof CITIES)[number]): string {
  let digits = String(rng.int(2, 9));
  for (let index = 1; index < city.subscriberDigits; index++) digits += String(rng.int(0, 9));
  for (let position = 0; position < Math.min(3, digits.length); position++) {
    for (let offset = 0; offset < 10; offset++) {
      const candidate = `${city.phonePrefix}${digits}`;
      if (isValidPhoneNumber(candidate)) return candidate;
      const next = (Number(digits[position]) + 1) % 10;
      digits = `${digits.slice(0, position)}${position === 0 && next < 2 ? 2 : next}${digits.slice(position + 1)}`;
    }
  }
  return `${city.phonePrefix}${digits}`;
}

function locationOf(city: (typeof CITIES)[number]): Required<LeadLocation> {
  return { city: city.city, region: city.region, country: city.country, countryCode: city.countryCode };
}

const SENIORITY_WEIGHTS: readonly (readonly [Seniority, number])[] = [
  ['intern', 3],
  ['entry', 22],
  ['senior', 25],
  ['manager', 18],
  ['director', 11],
  ['head', 5],
  ['vp', 7],
  ['c_suite', 4],
  ['founder', 2],
  ['partner', 2],
  ['owner', 1],
];
const SENIORITY_TOTAL = SENIORITY_WEIGHTS.reduce((sum, [, weight]) => sum + weight, 0);

function pickSeniority(rng: Rng): Seniority {
  let roll = rng.next() * SENIORITY_TOTAL;
  for (const [seniority, weight] of SENIORITY_WEIGHTS) {
    roll -= weight;
    if (roll < 0) return seniority;
  }
  return 'senior';
}

/** A realistic title for a seniority in a department. */
export function titleFor(seniority: Seniority, department: (typeof DEPARTMENTS)[number], rng: Rng): string {
  switch (seniority) {
    case 'intern':
      return `${department.name} Intern`;
    case 'entry':
      return rng.pick(department.roles);
    case 'senior':
      return `Senior ${rng.pick(department.roles)}`;
    case 'manager':
      return `${department.name} Manager`;
    case 'director':
      return `Director of ${department.name}`;
    case 'head':
      return `Head of ${department.name}`;
    case 'vp':
      return `VP of ${department.name}`;
    case 'c_suite':
      return department.chief;
    case 'founder':
      return rng.pick(['Founder', 'Co-Founder', 'Founder & CEO']);
    case 'partner':
      return 'Partner';
    case 'owner':
      return 'Owner';
  }
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '');
}

const EMAIL_PATTERNS = [
  (first: string, last: string) => `${first}.${last}`,
  (first: string, last: string) => `${first[0]}${last}`,
  (first: string, _last: string) => first,
  (first: string, last: string) => `${first}${last[0]}`,
  (first: string, last: string) => `${first}_${last}`,
] as const;

function generateCompanies(rng: Rng, count: number): TruthCompany[] {
  const companies: TruthCompany[] = [];
  const domains = new Set<string>();
  const names = new Set<string>();
  for (let index = 0; index < count; index++) {
    let base = `${rng.pick(COMPANY_PREFIXES)}${rng.pick(COMPANY_SUFFIXES)}`;
    if (names.has(base))
      base = `${base} ${rng.pick(['Global', 'Digital', 'Analytics', 'Cloud', 'Health', 'Capital'])}`;
    let suffix = 2;
    let unique = base;
    while (names.has(unique)) unique = `${base} ${suffix++}`;
    names.add(unique);
    const name = `${unique}${rng.pick(COMPANY_FORMS)}`;
    const tld = rng.pick(TLDS);
    let domain = `${slug(unique)}.${tld}`;
    let attempt = 2;
    while (domains.has(domain)) domain = `${slug(unique)}${attempt++}.${tld}`;
    domains.add(domain);
    const industry = rng.pick(INDUSTRIES);
    const roll = rng.next();
    const headcount = Math.max(2, Math.round(10 ** (0.4 + roll * roll * 4)));
    const revenue =
      Math.round((headcount * industry.revenuePerEmployee * (0.6 + rng.next() * 0.8)) / 1000) * 1000;
    const city = rng.pick(CITIES);
    companies.push({
      id: hexId(rng),
      name,
      domain,
      industry: industry.name,
      headcount,
      headcountRange: headcountRangeOf(headcount),
      annualRevenue: revenue,
      location: locationOf(city),
      technologies: rng.sample(TECHNOLOGIES, rng.int(3, 10)).sort(),
      foundedYear: rng.int(1950, 2023),
      phone: phoneFor(rng, city),
      linkedinUrl: `https://www.linkedin.com/company/${slug(unique)}`,
      timeZone: city.timeZone,
      lat: city.lat,
      lng: city.lng,
    });
  }
  return companies;
}

function generatePeople(rng: Rng, count: number, companies: readonly TruthCompany[]): TruthPerson[] {
  // Larger companies get more of the population, with diminishing returns.
  const cumulative: number[] = [];
  let total = 0;
  for (const company of companies) {
    total += Math.sqrt(company.headcount);
    cumulative.push(total);
  }
  const pickCompany = (): TruthCompany => {
    const target = rng.next() * total;
    let low = 0;
    let high = cumulative.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (cumulative[middle]! > target) high = middle;
      else low = middle + 1;
    }
    return companies[low]!;
  };
  const patternOf = new Map<string, number>();
  const emails = new Set<string>();
  const handles = new Set<string>();
  const people: TruthPerson[] = [];
  for (let index = 0; index < count; index++) {
    const company = pickCompany();
    const firstName = rng.pick(FIRST_NAMES);
    const lastName = rng.pick(LAST_NAMES);
    let pattern = patternOf.get(company.id);
    if (pattern === undefined) {
      pattern = hashString(company.domain) % EMAIL_PATTERNS.length;
      patternOf.set(company.id, pattern);
    }
    const local = EMAIL_PATTERNS[pattern]!(slug(firstName), slug(lastName));
    let email = `${local}@${company.domain}`;
    let attempt = 2;
    while (emails.has(email)) email = `${local}${attempt++}@${company.domain}`;
    emails.add(email);
    let handle = `${slug(firstName)}-${slug(lastName)}`;
    if (handles.has(handle)) handle = `${handle}-${Math.floor(rng.next() * 0xffffff).toString(16)}`;
    while (handles.has(handle)) handle = `${handle}${rng.int(0, 9)}`;
    handles.add(handle);
    const department = rng.pick(DEPARTMENTS);
    const seniority = pickSeniority(rng);
    // Most people live in their company's city; some work remotely elsewhere.
    const city =
      rng.next() < 0.75 ? CITIES.find((item) => item.city === company.location.city)! : rng.pick(CITIES);
    people.push({
      id: hexId(rng),
      firstName,
      lastName,
      fullName: `${firstName} ${lastName}`,
      email,
      title: titleFor(seniority, department, rng),
      seniority,
      department: department.name,
      departmentSlug: department.slug,
      location: locationOf(city),
      linkedinUrl: `https://www.linkedin.com/in/${handle}`,
      phone: phoneFor(rng, city),
      companyId: company.id,
      timeZone: city.timeZone,
    });
  }
  return people;
}

/** Every `company.*` Lead field of a company. */
function companyFieldValues(company: TruthCompany): LeadFieldPatch {
  return {
    'company.name': company.name,
    'company.domain': company.domain,
    'company.industry': company.industry,
    'company.headcount': company.headcount,
    'company.headcountRange': company.headcountRange,
    'company.annualRevenue': company.annualRevenue,
    'company.location': { ...company.location },
    'company.technologies': [...company.technologies],
  };
}

/** Every Lead field of a person, including their company's. */
function personFieldValues(person: TruthPerson, company: TruthCompany): LeadFieldPatch {
  return {
    email: person.email,
    firstName: person.firstName,
    lastName: person.lastName,
    fullName: person.fullName,
    linkedinUrl: person.linkedinUrl,
    phone: person.phone,
    title: person.title,
    seniority: person.seniority,
    department: person.department,
    location: { ...person.location },
    ...companyFieldValues(company),
  };
}

/**
 * Generate the seeded ground-truth population: people with work emails at
 * their company's domain, titles, seniorities, departments, locations,
 * LinkedIn URLs and E.164 phones; companies with name, domain, industry,
 * headcount, revenue, location and technologies. The same options always give
 * the same population.
 *
 * @throws ConfigurationError (see {@link checkGroundTruthOptions}) when `seed` is not an integer, `people` or
 * `companies` not a positive integer, or an option is unknown.
 */
export function generatePopulation(options: GroundTruthOptions = {}): GroundTruthData {
  checkGroundTruthOptions(options);
  const seed = options.seed ?? 1;
  const peopleCount = options.people ?? DEFAULT_PEOPLE;
  const companyCount = options.companies ?? DEFAULT_COMPANIES;
  const rng = createRng(hashString('leadpipe-truth', seed));
  const companies = generateCompanies(rng, companyCount);
  const people = generatePeople(rng, peopleCount, companies);

  const companiesById = new Map(companies.map((company) => [company.id, company]));
  const companiesByDomain = new Map(companies.map((company) => [company.domain, company]));
  const peopleById = new Map(people.map((person) => [person.id, person]));
  const peopleByEmail = new Map(people.map((person) => [person.email, person]));
  const peopleByLinkedin = new Map(
    people.map((person) => [linkedinComparisonKey(person.linkedinUrl), person]),
  );
  const peopleByNameDomain = new Map<string, TruthPerson>();
  for (const person of people) {
    const key =
      `${person.firstName}|${person.lastName}|${companiesById.get(person.companyId)!.domain}`.toLowerCase();
    if (!peopleByNameDomain.has(key)) peopleByNameDomain.set(key, person);
  }
  const companyOf = (person: TruthPerson) => companiesById.get(person.companyId)!;

  return {
    seed,
    people,
    companies,
    personByEmail: (email) => peopleByEmail.get(email.trim().toLowerCase()),
    personByLinkedin: (url) => peopleByLinkedin.get(linkedinComparisonKey(url)),
    personByNameAndDomain: (firstName, lastName, domain) =>
      peopleByNameDomain.get(
        `${firstName.trim()}|${lastName.trim()}|${domainComparisonKey(domain)}`.toLowerCase(),
      ),
    companyByDomain: (domain) => companiesByDomain.get(domainComparisonKey(domain)),
    companyById: (id) => companiesById.get(id),
    personById: (id) => peopleById.get(id),
    companyOf,
    personFields: (person) => personFieldValues(person, companyOf(person)),
    companyFields: companyFieldValues,
  };
}

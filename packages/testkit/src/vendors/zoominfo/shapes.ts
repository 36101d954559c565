import type { LeadFieldPatch, Seniority } from '@leadpipe/core/adapter-kit';
import type { TruthCompany, TruthPerson } from '../../truth/generate.js';
import { hashString } from '../../truth/random.js';

/** A ZoomInfo record (contact or company) as the enrich endpoints return it, before field selection. */
export type ZoomInfoRecord = Record<string, unknown>;

/** Contact output fields of the enrich endpoint (the documented list, trimmed of the rarest). */
export const CONTACT_OUTPUT_FIELDS: readonly string[] = [
  'id',
  'firstName',
  'middleName',
  'lastName',
  'email',
  'hasCanadianEmail',
  'phone',
  'directPhoneDoNotCall',
  'mobilePhone',
  'mobilePhoneDoNotCall',
  'street',
  'city',
  'region',
  'metroArea',
  'zipCode',
  'state',
  'country',
  'continent',
  'personHasMoved',
  'withinEu',
  'withinCalifornia',
  'withinCanada',
  'validDate',
  'lastUpdatedDate',
  'noticeProvidedDate',
  'salutation',
  'suffix',
  'jobTitle',
  'jobFunction',
  'managementLevel',
  'education',
  'hashedEmails',
  'picture',
  'externalUrls',
  'employmentHistory',
  'contactAccuracyScore',
  'locationCompanyId',
  'positionStartDate',
  'yearsOfExperience',
  'techSkills',
  'engagements',
  'companyId',
  'companyName',
  'companyPhone',
  'companyWebsite',
  'companyRevenue',
  'companyRevenueNumeric',
  'companyEmployeeCount',
  'companyEmployeeRange',
  'companyRevenueRange',
  'companyPrimaryIndustry',
  'companyIndustries',
  'companySicCodes',
  'companyNaicsCodes',
  'companyType',
  'companyTicker',
  'companyCity',
  'companyState',
  'companyCountry',
];

/** Company output fields of the enrich endpoint (the documented list, trimmed of the rarest). */
export const COMPANY_OUTPUT_FIELDS: readonly string[] = [
  'id',
  'name',
  'website',
  'domainList',
  'logo',
  'ticker',
  'socialMediaUrls',
  'phone',
  'fax',
  'street',
  'city',
  'state',
  'zipCode',
  'country',
  'continent',
  'revenue',
  'revenueRange',
  'employeeCount',
  'employeeRange',
  'companyStatus',
  'descriptionList',
  'sicCodes',
  'naicsCodes',
  'primaryIndustry',
  'industries',
  'type',
  'foundedYear',
  'techAttributes',
  'lastUpdatedDate',
];

/** ZoomInfo's numeric id for a truth record id (ZoomInfo ids are integers). */
export function zoominfoId(truthId: string): number {
  return 100_000_000 + (hashString(truthId) % 1_800_000_000);
}

/** A person's contact accuracy score: ZoomInfo's 70-99, fixed per person. */
export function contactAccuracyScore(person: TruthPerson): number {
  return 70 + (hashString(`${person.id}|accuracy`) % 30);
}

const MANAGEMENT_LEVELS: Readonly<Record<Seniority, string>> = {
  owner: 'C-Level',
  founder: 'C-Level',
  c_suite: 'C-Level',
  partner: 'C-Level',
  vp: 'VP-Level',
  head: 'Director',
  director: 'Director',
  manager: 'Manager',
  senior: 'Non-Manager',
  entry: 'Non-Manager',
  intern: 'Non-Manager',
};

/** ZoomInfo's employee ranges, as its records print them. */
function employeeRange(headcount: number): string {
  const ranges: [number, string][] = [
    [10, '1 - 10'],
    [50, '10 - 50'],
    [100, '50 - 100'],
    [250, '100 - 250'],
    [500, '250 - 500'],
    [1000, '500 - 1,000'],
    [5000, '1,000 - 5,000'],
    [10000, '5,000 - 10,000'],
  ];
  return ranges.find(([bound]) => headcount <= bound)?.[1] ?? 'Over 10,000';
}

function revenueRange(thousands: number): string {
  const ranges: [number, string][] = [
    [1000, 'Under $1 mil.'],
    [5000, '$1 mil. - $5 mil.'],
    [10000, '$5 mil. - $10 mil.'],
    [25000, '$10 mil. - $25 mil.'],
    [50000, '$25 mil. - $50 mil.'],
    [100000, '$50 mil. - $100 mil.'],
    [250000, '$100 mil. - $250 mil.'],
    [500000, '$250 mil. - $500 mil.'],
    [1000000, '$500 mil. - $1 bil.'],
  ];
  return ranges.find(([bound]) => thousands <= bound)?.[1] ?? 'Over $1 bil.';
}

function printedRevenue(thousands: number): string {
  return thousands >= 1_000_000
    ? `$${(thousands / 1_000_000).toFixed(1).replace(/\.0$/, '')} Billion`
    : thousands >= 1000
      ? `$${Math.round(thousands / 1000)} Million`
      : `$${thousands} Thousand`;
}

function nationalPhone(phone: string): string {
  return phone.startsWith('+1') ? `(${phone.slice(2, 5)}) ${phone.slice(5, 8)}-${phone.slice(8)}` : phone;
}

function day(truthId: string, salt: string, fromYear: number): string {
  const hash = hashString(`${truthId}|${salt}`);
  const month = 1 + (hash % 12);
  return `${fromYear + (hash % 3)}-${String(month).padStart(2, '0')}-${String(1 + (hash % 28)).padStart(2, '0')}`;
}

/** Every company field ZoomInfo holds for `company`, by its own output field names (unknown ones `null`). */
export function companyRecord(company: TruthCompany, fields: LeadFieldPatch): ZoomInfoRecord {
  const domain = fields['company.domain'];
  const location = fields['company.location'];
  const revenue = fields['company.annualRevenue'];
  const headcount = fields['company.headcount'];
  const industry = fields['company.industry'];
  const technologies = fields['company.technologies'];
  const thousands = revenue === undefined ? undefined : Math.round(revenue / 1000);
  return {
    id: zoominfoId(company.id),
    name: fields['company.name'] ?? null,
    website: domain === undefined ? null : `www.${domain}`,
    domainList: domain === undefined ? [] : [domain],
    logo: null,
    ticker: null,
    socialMediaUrls: [{ type: 'LINKED_IN', url: company.linkedinUrl, followerCount: null }],
    phone: nationalPhone(company.phone),
    fax: null,
    street: null,
    city: location?.city ?? null,
    state: location?.region ?? null,
    zipCode: null,
    country: location?.country ?? null,
    continent: null,
    revenue: thousands ?? null,
    revenueRange: thousands === undefined ? null : revenueRange(thousands),
    employeeCount: headcount ?? null,
    employeeRange: headcount === undefined ? null : employeeRange(headcount),
    companyStatus: 'Active',
    descriptionList: [],
    sicCodes: [],
    naicsCodes: [],
    primaryIndustry: industry === undefined ? [] : [industry],
    industries: industry === undefined ? [] : [industry],
    type: 'Private',
    foundedYear: company.foundedYear,
    techAttributes: (technologies ?? []).map((product, index) => ({
      tag: `${100 + index}.${hashString(product) % 1000}.${index}`,
      categoryParent: 'Software',
      category: 'Other',
      vendor: product,
      product,
    })),
    lastUpdatedDate: day(company.id, 'updated', 2025),
  };
}

/** The company fields a contact record nests under `company`, by the `companyX` output field they answer. */
const NESTED_COMPANY: Readonly<Record<string, (record: ZoomInfoRecord) => [string, unknown]>> = {
  companyId: (record) => ['id', record.id],
  companyName: (record) => ['name', record.name],
  companyPhone: (record) => ['phone', record.phone],
  companyWebsite: (record) => ['website', record.website],
  companyRevenue: (record) => [
    'revenue',
    typeof record.revenue === 'number' ? printedRevenue(record.revenue) : null,
  ],
  companyRevenueNumeric: (record) => ['revenueNumeric', record.revenue],
  companyEmployeeCount: (record) => ['employeeCount', record.employeeCount],
  companyEmployeeRange: (record) => ['employeeRange', record.employeeRange],
  companyRevenueRange: (record) => ['revenueRange', record.revenueRange],
  companyPrimaryIndustry: (record) => ['primaryIndustry', record.primaryIndustry],
  companyIndustries: (record) => ['industries', record.industries],
  companySicCodes: (record) => ['sicCodes', record.sicCodes],
  companyNaicsCodes: (record) => ['naicsCodes', record.naicsCodes],
  companyType: (record) => ['type', record.type],
  companyTicker: (record) => ['ticker', record.ticker],
  companyCity: (record) => ['city', record.city],
  companyState: (record) => ['state', record.state],
  companyCountry: (record) => ['country', record.country],
};

/** Every contact field ZoomInfo holds for `person`, by its own output field names. */
export function contactRecord(
  person: TruthPerson,
  company: TruthCompany,
  fields: LeadFieldPatch,
): ZoomInfoRecord {
  const location = fields.location;
  return {
    id: zoominfoId(person.id),
    firstName: fields.firstName ?? null,
    middleName: null,
    lastName: fields.lastName ?? null,
    email: fields.email ?? null,
    hasCanadianEmail: false,
    phone: fields.phone === undefined ? null : nationalPhone(fields.phone),
    directPhoneDoNotCall: false,
    mobilePhone: null,
    mobilePhoneDoNotCall: false,
    street: null,
    city: location?.city ?? null,
    region: null,
    metroArea: null,
    zipCode: null,
    state: location?.region ?? null,
    country: location?.country ?? null,
    continent: null,
    personHasMoved: false,
    withinEu: false,
    withinCalifornia: location?.region === 'California',
    withinCanada: location?.country === 'Canada',
    validDate: day(person.id, 'valid', 2025),
    lastUpdatedDate: day(person.id, 'updated', 2025),
    noticeProvidedDate: null,
    salutation: null,
    suffix: null,
    jobTitle: fields.title ?? null,
    jobFunction:
      fields.department === undefined ? [] : [{ name: fields.department, department: fields.department }],
    managementLevel: fields.seniority === undefined ? [] : [MANAGEMENT_LEVELS[fields.seniority]],
    education: [],
    hashedEmails: [],
    picture: null,
    externalUrls: fields.linkedinUrl === undefined ? [] : [{ type: 'linkedin.com', url: fields.linkedinUrl }],
    employmentHistory: [],
    contactAccuracyScore: contactAccuracyScore(person),
    locationCompanyId: null,
    positionStartDate: day(person.id, 'start', 2018),
    yearsOfExperience: null,
    techSkills: [],
    engagements: [],
    company: companyRecord(company, fields),
  };
}

/**
 * The record as returned for `outputFields`: only the fields asked for, with
 * `companyX` fields nested under `company` (as ZoomInfo nests them).
 */
export function selectFields(record: ZoomInfoRecord, outputFields: readonly string[]): ZoomInfoRecord {
  const out: ZoomInfoRecord = {};
  const nested: ZoomInfoRecord = {};
  const company = record.company as ZoomInfoRecord | undefined;
  for (const field of outputFields) {
    const fromCompany = NESTED_COMPANY[field];
    if (fromCompany !== undefined && company !== undefined) {
      const [key, value] = fromCompany(company);
      nested[key] = value;
    } else if (field in record && field !== 'company') out[field] = record[field];
  }
  if (Object.keys(nested).length > 0) out.company = nested;
  return out;
}

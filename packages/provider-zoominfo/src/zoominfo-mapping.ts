import {
  domainFromUrl,
  headcountToRange,
  isPhoneCountry,
  type LeadField,
  type LeadFieldPatch,
  type LeadLocation,
  normalizeDomain,
  normalizeEmail,
  normalizeLinkedinUrl,
  normalizeLocation,
  normalizePhone,
  normalizeSeniority,
  normalizeTechnologies,
  type Seniority,
} from '@leadpipe/core/adapter-kit';

/** A ZoomInfo record (contact or company), as either API returns it, with its `id`. */
export type ZoomInfoRecord = Readonly<Record<string, unknown>>;

/** Which of ZoomInfo's entities a call enriches. */
export type ZoomInfoEntity = 'contact' | 'company';

/** What a `matchStatus` means to the engine. */
export type MatchOutcome = 'matched' | 'not_found' | 'quota' | 'bad_input' | 'service_error';

/**
 * ZoomInfo's `matchStatus` values and what each means: a match (`FULL_MATCH`,
 * `CONTACT_ONLY_MATCH`), a miss (`NO_MATCH`, `COMPANY_ONLY_MATCH`: no such
 * contact at that company, the `NON_MATCH_BY_*` filters, `OPT_OUT`), the
 * record limit reached (`LIMIT_EXCEEDED`), or bad input (`INVALID_INPUT`).
 * `SERVICE_ERROR` is ZoomInfo failing on that record. Unknown values count
 * as a match when a record came with them, else as a miss.
 */
export function matchOutcome(status: string | undefined, hasRecord: boolean): MatchOutcome {
  switch (status) {
    case 'FULL_MATCH':
    case 'CONTACT_ONLY_MATCH':
      return hasRecord ? 'matched' : 'not_found';
    case 'COMPANY_ONLY_MATCH':
    case 'NO_MATCH':
    case 'OPT_OUT':
      return 'not_found';
    case 'LIMIT_EXCEEDED':
      return 'quota';
    case 'INVALID_INPUT':
      return 'bad_input';
    case 'SERVICE_ERROR':
      return 'service_error';
    default:
      if (status?.startsWith('NON_MATCH_BY_')) return 'not_found';
      return hasRecord ? 'matched' : 'not_found';
  }
}

/**
 * The output fields the adapter asks for, per Lead field it can fill (ZoomInfo's
 * names). `id` and `contactAccuracyScore` are always asked for; the rest only
 * when the account is entitled to them.
 */
const CONTACT_FIELDS_FOR: Readonly<Partial<Record<LeadField, readonly string[]>>> = {
  email: ['email'],
  firstName: ['firstName'],
  lastName: ['lastName'],
  fullName: ['firstName', 'lastName'],
  linkedinUrl: ['externalUrls'],
  phone: ['phone', 'mobilePhone'],
  title: ['jobTitle'],
  seniority: ['managementLevel', 'jobTitle'],
  department: ['jobFunction'],
  location: ['city', 'state', 'country'],
  'company.name': ['companyName'],
  'company.domain': ['companyWebsite'],
  'company.industry': ['companyPrimaryIndustry'],
  'company.headcount': ['companyEmployeeCount'],
  'company.headcountRange': ['companyEmployeeCount', 'companyEmployeeRange'],
  'company.annualRevenue': ['companyRevenueNumeric'],
  'company.location': ['companyCity', 'companyState', 'companyCountry'],
};

/** The company output fields the adapter asks for, per Lead field. */
const COMPANY_FIELDS_FOR: Readonly<Partial<Record<LeadField, readonly string[]>>> = {
  'company.name': ['name'],
  'company.domain': ['website', 'domainList'],
  'company.industry': ['primaryIndustry'],
  'company.headcount': ['employeeCount'],
  'company.headcountRange': ['employeeCount', 'employeeRange'],
  'company.annualRevenue': ['revenue'],
  'company.location': ['city', 'state', 'country'],
  'company.technologies': ['techAttributes'],
};

/** Output fields always asked for, entitled or not (every account has them). */
const ALWAYS_ASKED: Readonly<Record<ZoomInfoEntity, readonly string[]>> = {
  contact: ['id', 'contactAccuracyScore'],
  company: ['id'],
};

/** Every output field the adapter may ask for on `entity`. */
export function wantedOutputFields(entity: ZoomInfoEntity): string[] {
  const map = entity === 'contact' ? CONTACT_FIELDS_FOR : COMPANY_FIELDS_FOR;
  return [...new Set([...ALWAYS_ASKED[entity], ...Object.values(map).flat()])];
}

/** Lead fields a contact lookup supplies, and those a company lookup supplies. */
export const CONTACT_SUPPLIES = Object.keys(CONTACT_FIELDS_FOR) as LeadField[];
/** Lead fields a company lookup supplies. */
export const COMPANY_SUPPLIES = Object.keys(COMPANY_FIELDS_FOR) as LeadField[];

function attempt<T>(run: () => T): T | undefined {
  try {
    return run();
  } catch {
    return undefined;
  }
}

function text(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

function number(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim())) return Number(value);
  return undefined;
}

function first(value: unknown): unknown {
  return Array.isArray(value) ? value[0] : value;
}

function place(city: unknown, region: unknown, country: unknown, field: string): LeadLocation | undefined {
  const parts = { city: text(city), region: text(region), country: text(country) };
  if (parts.city === undefined && parts.region === undefined && parts.country === undefined) return undefined;
  const parsed = attempt(() => normalizeLocation(parts, field));
  return parsed === undefined || Object.keys(parsed).length === 0 ? undefined : parsed;
}

/** A bare domain from ZoomInfo's `website` (`www.acme.com`, `http://acme.com/`) or `domainList`. */
function domainOf(website: unknown, domainList?: unknown): string | undefined {
  const site = text(website);
  const fromSite =
    site === undefined
      ? undefined
      : attempt(() =>
          normalizeDomain(/^https?:\/\//i.test(site) ? domainFromUrl(site) : site).replace(/^www\./, ''),
        );
  if (fromSite !== undefined) return fromSite;
  const listed = text(first(domainList));
  return listed === undefined ? undefined : attempt(() => normalizeDomain(listed).replace(/^www\./, ''));
}

const TITLE_LEVELS: Readonly<Record<string, readonly Seniority[]>> = {
  'C-Level': ['owner', 'founder', 'c_suite', 'partner'],
  'VP-Level': ['vp'],
  Director: ['head', 'director'],
  Manager: ['manager'],
  'Non-Manager': ['senior', 'entry', 'intern'],
};
const LEVEL_DEFAULT: Readonly<Record<string, Seniority>> = {
  'C-Level': 'c_suite',
  'VP-Level': 'vp',
  Director: 'director',
  Manager: 'manager',
  'Non-Manager': 'entry',
};

/** Words of a job title that name a level inside a management band. */
const TITLE_WORDS: readonly [RegExp, Seniority][] = [
  [/\bintern(ship)?\b/i, 'intern'],
  [/\bco-?founder\b|\bfounder\b/i, 'founder'],
  [/\bowner\b/i, 'owner'],
  [/\bpartner\b/i, 'partner'],
  [/\bhead of\b/i, 'head'],
  [/\b(senior|sr\.?|lead|principal|staff)\b/i, 'senior'],
];

/**
 * A seniority from ZoomInfo's `managementLevel` (`C-Level`, `VP-Level`,
 * `Director`, `Manager`, `Non-Manager`), refined by the job title where the
 * title names a level inside that band (`Founder` in `C-Level`, `Head of` in
 * `Director`, `Senior` or `Intern` in `Non-Manager`).
 */
export function seniorityOf(managementLevel: unknown, title: string | undefined): Seniority | undefined {
  const level = text(first(managementLevel));
  const named =
    title === undefined
      ? []
      : TITLE_WORDS.filter(([pattern]) => pattern.test(title)).map(([, found]) => found);
  if (level === undefined) {
    return named[0] ?? (title === undefined ? undefined : attempt(() => normalizeSeniority(title)));
  }
  const band = TITLE_LEVELS[level];
  if (band === undefined) return attempt(() => normalizeSeniority(level)) ?? named[0];
  return named.find((found) => band.includes(found)) ?? LEVEL_DEFAULT[level];
}

function phoneOf(value: unknown, country: string | undefined): string | undefined {
  const raw = text(value);
  if (raw === undefined) return undefined;
  const code = country === undefined ? undefined : normalizeLocation({ country }).countryCode;
  const defaultCountry = code !== undefined && isPhoneCountry(code) ? code : 'US';
  return attempt(() => normalizePhone(raw, { defaultCountry }));
}

function linkedinOf(externalUrls: unknown): string | undefined {
  if (!Array.isArray(externalUrls)) return undefined;
  for (const entry of externalUrls) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { type, url } = entry as { type?: unknown; url?: unknown };
    const link = text(url);
    if (link === undefined) continue;
    if (
      String(type ?? '')
        .toLowerCase()
        .includes('linkedin') ||
      /linkedin\.com\/in\//i.test(link)
    ) {
      const normalized = attempt(() => normalizeLinkedinUrl(link));
      if (normalized !== undefined) return normalized;
    }
  }
  return undefined;
}

function set<F extends LeadField>(out: LeadFieldPatch, field: F, value: LeadFieldPatch[F] | undefined): void {
  if (value !== undefined) (out as Record<string, unknown>)[field] = value;
}

/** The `company.*` fields of a company record (or of a contact's nested `company`). */
export function mapCompany(
  company: ZoomInfoRecord,
  revenueKey: 'revenue' | 'revenueNumeric',
): LeadFieldPatch {
  const out: LeadFieldPatch = {};
  set(out, 'company.name', text(company.name));
  set(out, 'company.domain', domainOf(company.website, company.domainList));
  set(out, 'company.industry', text(first(company.primaryIndustry)) ?? text(first(company.industries)));
  const headcount = number(company.employeeCount);
  if (headcount !== undefined) {
    set(out, 'company.headcount', Math.round(headcount));
    set(out, 'company.headcountRange', headcountToRange(Math.round(headcount)));
  }
  // ZoomInfo's numeric revenue is in thousands of US dollars (400000 is $400M).
  const thousands = number(company[revenueKey]);
  if (thousands !== undefined) set(out, 'company.annualRevenue', Math.round(thousands * 1000));
  set(out, 'company.location', place(company.city, company.state, company.country, 'company.location'));
  if (Array.isArray(company.techAttributes)) {
    const names = company.techAttributes
      .map((item) =>
        typeof item === 'object' && item !== null
          ? (text((item as { product?: unknown }).product) ?? text((item as { vendor?: unknown }).vendor))
          : undefined,
      )
      .filter((name): name is string => name !== undefined);
    const technologies = names.length === 0 ? undefined : attempt(() => normalizeTechnologies(names));
    if (technologies !== undefined && technologies.length > 0) set(out, 'company.technologies', technologies);
  }
  return out;
}

/** The company ZoomInfo nests in a contact: `company: {…}`, or the flat `companyX` fields some answers carry. */
function nestedCompany(record: ZoomInfoRecord): ZoomInfoRecord {
  if (typeof record.company === 'object' && record.company !== null) return record.company as ZoomInfoRecord;
  return {
    name: record.companyName,
    website: record.companyWebsite,
    primaryIndustry: record.companyPrimaryIndustry,
    employeeCount: record.companyEmployeeCount,
    revenueNumeric: record.companyRevenueNumeric,
    city: record.companyCity,
    state: record.companyState,
    country: record.companyCountry,
  };
}

/** The Lead fields of a contact record, its company's included. */
export function mapContact(record: ZoomInfoRecord): LeadFieldPatch {
  const out: LeadFieldPatch = { ...mapCompany(nestedCompany(record), 'revenueNumeric') };
  const email = text(record.email);
  set(out, 'email', email === undefined ? undefined : attempt(() => normalizeEmail(email)));
  const firstName = text(record.firstName);
  const lastName = text(record.lastName);
  set(out, 'firstName', firstName);
  set(out, 'lastName', lastName);
  if (firstName !== undefined && lastName !== undefined) set(out, 'fullName', `${firstName} ${lastName}`);
  set(out, 'linkedinUrl', linkedinOf(record.externalUrls));
  set(
    out,
    'phone',
    phoneOf(record.phone, text(record.country)) ?? phoneOf(record.mobilePhone, text(record.country)),
  );
  const title = text(record.jobTitle);
  set(out, 'title', title);
  set(out, 'seniority', seniorityOf(record.managementLevel, title));
  const job = first(record.jobFunction);
  if (typeof job === 'object' && job !== null) {
    const { department, name } = job as { department?: unknown; name?: unknown };
    set(out, 'department', text(department) ?? text(name));
  }
  set(out, 'location', place(record.city, record.state, record.country, 'location'));
  return out;
}

/**
 * The confidence of a contact match from `contactAccuracyScore` (ZoomInfo's
 * 70-99): the score as a share (0.70-0.99), 0.8 when absent; a
 * `CONTACT_ONLY_MATCH` (found, but not at the company given) counts 0.9 of that.
 */
export function contactConfidence(score: unknown, status: string | undefined): number {
  const value = number(score);
  const base = value === undefined ? 0.8 : Math.min(0.99, Math.max(0.5, value / 100));
  return Math.round((status === 'CONTACT_ONLY_MATCH' ? base * 0.9 : base) * 1000) / 1000;
}

/** Confidence of a company matched by ZoomInfo. */
export const COMPANY_CONFIDENCE = 0.9;

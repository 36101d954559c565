import { v7 as uuidv7 } from 'uuid';
import type { z } from 'zod';
import { ValidationError } from '../contracts/errors.js';
import type { HeadcountRange, LeadLocation } from '../contracts/fields.js';
import { type FieldProvenance, type Lead, type LeadCompany, leadSchema } from '../contracts/lead.js';
import { normalizeHeadcountRange, parseHeadcount, parseRevenue } from './company-size.js';
import { domainFromUrl } from './domain.js';
import { domainFromEmail, normalizeEmail } from './email.js';
import { normalizeCompanyDomain } from './field-values.js';
import { isFreeMailDomain } from './free-mail-domains.js';
import { companyInputSchema, type LeadInput, leadInputSchema } from './input.js';
import { IssueCollector, invalid, isPlainObject, normalizeShortText } from './issues.js';
import { normalizeLinkedinUrl } from './linkedin.js';
import { type LocationInput, normalizeLocation } from './location.js';
import { joinName, normalizePersonName, splitFullName } from './names.js';
import { flattenLead } from './paths.js';
import { type CountryCode, isPhoneCountry, normalizePhone } from './phone.js';
import { normalizeSeniority } from './seniority.js';
import { normalizeTechnologies } from './technologies.js';

/** Options of {@link createLead}. */
export interface CreateLeadOptions {
  /**
   * Country for phone numbers written without a country code. When missing,
   * the lead's `location.countryCode`, then its company's, is used.
   */
  readonly defaultCountry?: CountryCode;
  /** Clock for `createdAt`, `updatedAt`, provenance and the id's time part. Defaults to the system clock. */
  readonly now?: () => Date;
  /** Id for the new lead (a UUIDv7); generated when missing. */
  readonly id?: string;
}

/** The result of {@link safeCreateLead}. */
export type SafeCreateLeadResult =
  | {
      /** The input was valid; `lead` holds the result. */
      readonly success: true;
      /** The normalized, validated lead, as {@link createLead} returns it. */
      readonly lead: Lead;
    }
  | {
      /** The input was refused; `error` says why. */
      readonly success: false;
      /** Lists every bad field with its reason, as {@link createLead} would throw it. */
      readonly error: ValidationError;
    };

const isoDateTime = leadSchema.shape.createdAt;
const uuidV7 = leadSchema.shape.id;

type Shape = Record<string, z.ZodType>;

/** Read the keys of `value` that `shape` knows; unknown keys become issues. */
function readKeys(
  value: Record<string, unknown>,
  shape: Shape,
  prefix: string,
  collector: IssueCollector,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const field = `${prefix}${key}`;
    const schema = Object.hasOwn(shape, key) ? shape[key] : undefined;
    if (schema === undefined) {
      collector.add(field, 'is not a known lead field; put host-defined values under custom');
      continue;
    }
    const raw = value[key];
    if (raw === undefined || raw === null) continue;
    if (typeof raw === 'string' && raw.trim() === '') continue;
    // Locations and the company object are checked part by part below.
    if (key === 'location' || key === 'company') {
      out[key] = raw;
      continue;
    }
    const checked = schema.safeParse(raw);
    if (checked.success) out[key] = checked.data;
    else {
      for (const issue of checked.error.issues)
        collector.add([field, ...issue.path.map(String)].join('.'), issue.message);
    }
  }
  return out;
}

function text(values: Record<string, unknown>, key: string): string | undefined {
  const value = values[key];
  return typeof value === 'string' ? value : undefined;
}

/** Pick one of two spellings of the same field; both given and different is an issue. */
function oneOf<T>(
  collector: IssueCollector,
  primary: { field: string; value: T | undefined },
  alias: { field: string; value: T | undefined },
  same: (left: T, right: T) => boolean = (left, right) => left === right,
): T | undefined {
  if (primary.value !== undefined && alias.value !== undefined && !same(primary.value, alias.value)) {
    collector.add(alias.field, `conflicts with ${primary.field}; give one of them`);
  }
  return primary.value ?? alias.value;
}

interface ReadOptions {
  defaultCountry: CountryCode | undefined;
  now: Date;
  /** Whether `now` came from an injected clock. */
  clock: boolean;
  id: string | undefined;
}

function readOptions(options: unknown, collector: IssueCollector): ReadOptions {
  const read: ReadOptions = { defaultCountry: undefined, now: new Date(), clock: false, id: undefined };
  if (options === undefined || options === null) return read;
  if (typeof options !== 'object') {
    collector.add('options', 'must be an object');
    return read;
  }
  const { defaultCountry, now, id } = options as Record<string, unknown>;
  if (defaultCountry !== undefined) {
    if (isPhoneCountry(defaultCountry)) read.defaultCountry = defaultCountry;
    else collector.add('options.defaultCountry', 'must be an upper-case ISO 3166-1 alpha-2 code such as US');
  }
  if (now !== undefined) {
    const time = typeof now === 'function' ? (now as () => unknown)() : undefined;
    if (time instanceof Date && !Number.isNaN(time.getTime())) {
      read.now = time;
      read.clock = true;
    } else collector.add('options.now', 'must be a function returning a valid Date');
  }
  if (id !== undefined) {
    const checked = typeof id === 'string' ? uuidV7.safeParse(id.trim().toLowerCase()) : undefined;
    if (checked?.success === true) read.id = checked.data;
    else collector.add('options.id', 'must be a UUIDv7');
  }
  return read;
}

function readCreatedAt(value: unknown, collector: IssueCollector): Date | undefined {
  if (value === undefined) return undefined;
  if (value instanceof Date) {
    if (!Number.isNaN(value.getTime())) return value;
  } else if (typeof value === 'string' && isoDateTime.safeParse(value.trim()).success) {
    const date = new Date(value.trim());
    if (!Number.isNaN(date.getTime())) return date;
  }
  collector.add('createdAt', 'must be an ISO 8601 date-time with offset, such as 2026-01-31T09:00:00Z');
  return undefined;
}

function readLocation(value: unknown, field: string, collector: IssueCollector): LeadLocation | undefined {
  if (value === undefined) return undefined;
  const location = collector.run(
    field,
    () => normalizeLocation(value as string | LocationInput, field),
    field,
  );
  return location === undefined || Object.keys(location).length === 0 ? undefined : location;
}

function assign<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

function readCompany(
  person: Record<string, unknown>,
  emailDomain: string | undefined,
  collector: IssueCollector,
): LeadCompany | undefined {
  let values: Record<string, unknown> = {};
  const raw = person.company;
  if (raw !== undefined) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      collector.add('company', 'must be an object');
    else values = readKeys(raw as Record<string, unknown>, companyInputSchema.shape, 'company.', collector);
  }
  const company: LeadCompany = {};
  const nameOf = (field: string, value: string | undefined) =>
    value === undefined ? undefined : collector.run(field, () => normalizeShortText(value, field));
  assign(
    company,
    'name',
    oneOf(
      collector,
      { field: 'company.name', value: nameOf('company.name', text(values, 'name')) },
      { field: 'companyName', value: nameOf('companyName', text(person, 'companyName')) },
    ),
  );
  const domainOf = (field: string, value: string | undefined) =>
    value === undefined ? undefined : collector.run(field, () => normalizeCompanyDomain(value));
  const explicitDomain = oneOf(
    collector,
    { field: 'company.domain', value: domainOf('company.domain', text(values, 'domain')) },
    { field: 'companyDomain', value: domainOf('companyDomain', text(person, 'companyDomain')) },
  );
  const websiteOf = (field: string, value: string | undefined) =>
    value === undefined
      ? undefined
      : collector.run(field, () => {
          const domain = domainFromUrl(value);
          if (isFreeMailDomain(domain)) invalid(field, 'is a free-mail site, not a company website');
          return domain;
        });
  const websiteDomain = oneOf(
    collector,
    { field: 'company.website', value: websiteOf('company.website', text(values, 'website')) },
    { field: 'website', value: websiteOf('website', text(person, 'website')) },
  );
  assign(company, 'domain', explicitDomain ?? websiteDomain ?? emailDomain);
  const industry = text(values, 'industry');
  if (industry !== undefined) {
    assign(
      company,
      'industry',
      collector.run('company.industry', () => normalizeShortText(industry, 'industry')),
    );
  }

  const headcountInput = values.headcount as number | string | undefined;
  const parsed =
    headcountInput === undefined
      ? undefined
      : collector.run('company.headcount', () => parseHeadcount(headcountInput));
  const rangeInput = text(values, 'headcountRange');
  const range: HeadcountRange | undefined =
    rangeInput === undefined
      ? undefined
      : collector.run('company.headcountRange', () => normalizeHeadcountRange(rangeInput));
  if (parsed !== undefined && range !== undefined && parsed.headcountRange !== range) {
    collector.add('company.headcountRange', 'does not match company.headcount');
  }
  assign(company, 'headcount', parsed?.headcount);
  assign(company, 'headcountRange', parsed?.headcountRange ?? range);

  const revenue = values.annualRevenue as number | string | undefined;
  if (revenue !== undefined) {
    assign(
      company,
      'annualRevenue',
      collector.run('company.annualRevenue', () => parseRevenue(revenue)),
    );
  }
  const technologies = values.technologies as string[] | string | undefined;
  if (technologies !== undefined) {
    const list = collector.run(
      'company.technologies',
      () => normalizeTechnologies(technologies),
      'company.technologies',
    );
    if (list !== undefined && list.length > 0) company.technologies = list;
  }
  assign(company, 'location', readLocation(values.location, 'company.location', collector));
  return Object.keys(company).length === 0 ? undefined : company;
}

/**
 * A UUIDv7 whose time part is `at` when it fits the 48-bit field. With the
 * system clock, uuid's own state keeps ids monotonic within a millisecond.
 */
function newLeadId(at: Date | undefined): string {
  const msecs = at?.getTime();
  return msecs !== undefined && msecs >= 0 && msecs < 2 ** 48 ? uuidv7({ msecs }) : uuidv7();
}

function build(input: unknown, options: unknown): Lead {
  const collector = new IssueCollector();
  const settings = readOptions(options, collector);
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    collector.add('input', 'must be an object of lead fields');
    throw new ValidationError(collector.issues);
  }
  const values = readKeys(input as Record<string, unknown>, leadInputSchema.shape, '', collector);
  const lead: Omit<Lead, 'id' | 'createdAt' | 'updatedAt' | 'provenance'> = {};

  const rawEmail = text(values, 'email');
  const email = rawEmail === undefined ? undefined : collector.run('email', () => normalizeEmail(rawEmail));
  assign(lead, 'email', email);

  const nameOf = (field: string) => {
    const value = text(values, field);
    return value === undefined ? undefined : collector.run(field, () => normalizePersonName(value, field));
  };
  let firstName = nameOf('firstName');
  let lastName = nameOf('lastName');
  let fullName = oneOf(
    collector,
    { field: 'fullName', value: nameOf('fullName') },
    { field: 'name', value: nameOf('name') },
  );
  if (fullName !== undefined) {
    const parts = splitFullName(fullName);
    firstName ??= parts.firstName;
    lastName ??= parts.lastName;
  } else {
    fullName = joinName({ firstName, lastName });
  }
  assign(lead, 'firstName', firstName);
  assign(lead, 'lastName', lastName);
  assign(lead, 'fullName', fullName);

  const linkedin = text(values, 'linkedinUrl');
  if (linkedin !== undefined)
    assign(
      lead,
      'linkedinUrl',
      collector.run('linkedinUrl', () => normalizeLinkedinUrl(linkedin)),
    );
  for (const field of ['title', 'department'] as const) {
    const value = text(values, field);
    if (value !== undefined)
      assign(
        lead,
        field,
        collector.run(field, () => normalizeShortText(value, field)),
      );
  }
  const seniority = text(values, 'seniority');
  if (seniority !== undefined)
    assign(
      lead,
      'seniority',
      collector.run('seniority', () => normalizeSeniority(seniority)),
    );
  assign(lead, 'location', readLocation(values.location, 'location', collector));

  let emailDomain: string | undefined;
  if (email !== undefined) {
    try {
      const domain = domainFromEmail(email);
      if (!isFreeMailDomain(domain)) emailDomain = domain;
    } catch {
      // An address whose domain is not a company domain (say, a new IDN TLD) gives no company domain.
    }
  }
  assign(lead, 'company', readCompany(values, emailDomain, collector));

  const phone = values.phone as string | number | undefined;
  if (phone !== undefined) {
    const fromLocation = [lead.location?.countryCode, lead.company?.location?.countryCode].find(
      isPhoneCountry,
    );
    const defaultCountry = settings.defaultCountry ?? fromLocation;
    assign(
      lead,
      'phone',
      collector.run('phone', () => normalizePhone(phone, { defaultCountry })),
    );
  }

  const custom = values.custom;
  if (custom !== undefined) {
    if (isPlainObject(custom)) lead.custom = { ...custom };
    else collector.add('custom', 'must be an object of host-defined values');
  }

  const inputId = text(values, 'id');
  let id: string | undefined;
  if (inputId !== undefined) {
    const checked = uuidV7.safeParse(inputId.trim().toLowerCase());
    if (checked.success) id = checked.data;
    else collector.add('id', 'must be a UUIDv7');
  }
  if (id !== undefined && settings.id !== undefined && id !== settings.id) {
    collector.add('id', 'conflicts with options.id; give one of them');
  }
  const createdInput = readCreatedAt(values.createdAt, collector);
  const created = createdInput ?? settings.now;

  if (!collector.ok) throw new ValidationError(collector.issues);

  const createdAt = created.toISOString();
  const updatedAt = (settings.now.getTime() > created.getTime() ? settings.now : created).toISOString();
  const withoutProvenance: Lead = {
    id: id ?? settings.id ?? newLeadId(createdInput !== undefined || settings.clock ? created : undefined),
    createdAt,
    updatedAt,
    ...lead,
    provenance: {},
  };
  const origin: FieldProvenance = { providerId: 'input', confidence: 1, at: createdAt, credits: 0 };
  const provenance: Record<string, FieldProvenance> = {};
  for (const field of Object.keys(flattenLead(withoutProvenance))) provenance[field] = { ...origin };
  const result: Lead = { ...withoutProvenance, provenance };

  const checked = leadSchema.safeParse(result);
  if (!checked.success) {
    throw new ValidationError(
      checked.error.issues.map((issue) => ({
        field: issue.path.map(String).join('.'),
        reason: issue.message,
      })),
    );
  }
  return result;
}

/**
 * Like {@link createLead}, but returns the error instead of throwing it:
 * `{ success: true, lead }` or `{ success: false, error }` with a
 * `ValidationError` that lists every bad field. Never throws, whatever the
 * input: values that cannot even be read (a throwing getter) give an issue on
 * the field `input`.
 */
export function safeCreateLead(input: unknown, options?: CreateLeadOptions): SafeCreateLeadResult {
  try {
    return { success: true, lead: build(input, options) };
  } catch (error) {
    if (ValidationError.isInstance(error)) return { success: false, error };
    return {
      success: false,
      error: new ValidationError(
        [{ field: 'input', reason: 'could not be read: a property access or the clock threw' }],
        {
          cause: error,
        },
      ),
    };
  }
}

/**
 * Normalize and validate a lead handed in by a host:
 * - the email trimmed and lower-cased;
 * - first and last name split from the full name (`name` is an alias) when
 *   missing, the full name joined from them when missing;
 * - the phone in E.164, read with `defaultCountry`, else the lead's or its
 *   company's country code (never guessed);
 * - seniority mapped to `SENIORITY_LEVELS`, locations parsed;
 * - the company domain from `company.domain`, else the website, else the
 *   email's domain unless it is free-mail;
 * - headcounts and ranges to the standard ranges, revenue to US dollars;
 * - a UUIDv7 id, `createdAt`/`updatedAt`, and `input` provenance
 *   (confidence 1, 0 credits) on every field.
 *
 * Throws a `ValidationError` listing every bad field with its reason (all of
 * them, not only the first); nothing else is ever thrown. Blank text and
 * `null` count as absent; unknown keys are issues (put host-defined values
 * under `custom`).
 *
 * @example createLead({ email: ' Jane@Acme.com ', name: 'Jane Doe' }).company?.domain // 'acme.com'
 */
export function createLead(input: LeadInput, options?: CreateLeadOptions): Lead {
  const result = safeCreateLead(input, options);
  if (!result.success) throw result.error;
  return result.lead;
}

import { z } from 'zod';

/**
 * Seniority levels a person can have, normalized across providers.
 */
export const SENIORITY_LEVELS = [
  'owner',
  'founder',
  'c_suite',
  'partner',
  'vp',
  'head',
  'director',
  'manager',
  'senior',
  'entry',
  'intern',
] as const;

/** One of {@link SENIORITY_LEVELS}. */
export type Seniority = (typeof SENIORITY_LEVELS)[number];

/**
 * Standard company headcount ranges (the LinkedIn / HubSpot buckets).
 * `10001+` is open-ended.
 */
export const HEADCOUNT_RANGES = [
  '1-10',
  '11-50',
  '51-200',
  '201-500',
  '501-1000',
  '1001-5000',
  '5001-10000',
  '10001+',
] as const;

/** One of {@link HEADCOUNT_RANGES}. */
export type HeadcountRange = (typeof HEADCOUNT_RANGES)[number];

/** A postal location, as precise as the source knows it. All parts optional. */
export const locationSchema = z
  .object({
    /** City name as written, such as `Berlin`; whitespace collapsed. */
    city: z.string().min(1).optional(),
    /** Region, state or province as written, such as `CA` or `Bavaria`; not mapped to a code. */
    region: z.string().min(1).optional(),
    /**
     * Country name, such as `Germany`; `normalizeLocation` fills in the English
     * name when only `countryCode` is known.
     */
    country: z.string().min(1).optional(),
    /** ISO 3166-1 alpha-2, upper case; `normalizeLocation` derives it from a recognized `country` name. */
    countryCode: z
      .string()
      .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code such as "US"')
      .optional(),
  })
  .strict();

/** A postal location; see {@link locationSchema}. */
export type LeadLocation = z.infer<typeof locationSchema>;

/**
 * The value schema of every enrichable Lead field, keyed by its path.
 *
 * Paths are flat strings (`company.domain`), so providers answer with a flat
 * `Partial<LeadFieldValues>` and the waterfall merges one field at a time.
 * The schemas check the stored format; `createLead` and `applyLeadFields`
 * also canonicalize values (as noted per field) before they are stored.
 */
export const leadFieldSchemas = {
  /**
   * Email address, the preferred identity key for dedupe. Canonicalized to trimmed,
   * lower-case text with a punycode domain; the schema checks only the syntax.
   */
  email: z.string().email(),
  /** Given name, such as `Jane`; whitespace collapsed. */
  firstName: z.string().min(1),
  /** Family name with its particles, such as `van der Berg`; whitespace collapsed. */
  lastName: z.string().min(1),
  /** Display name, such as `Dr. Jane Doe`; whitespace collapsed. */
  fullName: z.string().min(1),
  /**
   * LinkedIn profile or company page, canonicalized to
   * `https://www.linkedin.com/in/<handle>` or `https://www.linkedin.com/company/<slug>`
   * with a lower-case handle. The schema checks only that it is a URL.
   */
  linkedinUrl: z.string().url(),
  /** E.164, such as `+14155550100`. */
  phone: z.string().regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 phone number such as +14155550100'),
  /** Job title as written, such as `VP of Sales`; whitespace collapsed, at most 500 characters. */
  title: z.string().min(1),
  /**
   * Seniority level, one of {@link SENIORITY_LEVELS}. `createLead` maps free
   * text such as `SVP` or `Chief Executive Officer` onto it.
   */
  seniority: z.enum(SENIORITY_LEVELS),
  /** Department or function as written, such as `Marketing`; whitespace collapsed. */
  department: z.string().min(1),
  /** Where the person is based. */
  location: locationSchema,
  /** Company name as written, such as `Acme Inc.`; whitespace collapsed. */
  'company.name': z.string().min(1),
  /**
   * Bare company domain, such as `acme.com` or `shop.acme.com`: lower-case ASCII
   * (IDNs in punycode) without scheme, port, path or trailing dot. Canonicalization
   * also drops a leading `www.` and refuses free-mail domains.
   */
  'company.domain': z
    .string()
    .regex(
      /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/,
      'must be a bare domain such as acme.com',
    ),
  /** Industry as written, such as `Computer Software`; free text, not mapped to a taxonomy. */
  'company.industry': z.string().min(1),
  /** Exact number of employees: a non-negative integer. */
  'company.headcount': z.number().int().nonnegative(),
  /**
   * Employee-count bucket, one of {@link HEADCOUNT_RANGES}. `createLead` and
   * `applyLeadFields` derive it from `company.headcount` and refuse a range
   * that does not match it.
   */
  'company.headcountRange': z.enum(HEADCOUNT_RANGES),
  /**
   * Annual revenue in US dollars, non-negative; `createLead` refuses other
   * currencies rather than converting them.
   */
  'company.annualRevenue': z.number().nonnegative(),
  /** Company headquarters. */
  'company.location': locationSchema,
  /**
   * Technologies the company uses, such as `Salesforce`. Canonicalized to
   * trimmed names without blanks or case-insensitive duplicates, first spelling kept.
   */
  'company.technologies': z.array(z.string().min(1)),
} as const;

/** The path of an enrichable Lead field, such as `title` or `company.headcount`. */
export type LeadField = keyof typeof leadFieldSchemas;

/** Every {@link LeadField}, in a stable order. */
export const LEAD_FIELDS = Object.keys(leadFieldSchemas) as LeadField[];

/** The value type of each {@link LeadField}. */
export type LeadFieldValues = { [F in LeadField]: z.infer<(typeof leadFieldSchemas)[F]> };

/** A partial set of field values, as a provider returns them. */
export type LeadFieldPatch = Partial<LeadFieldValues>;

/** Zod schema of a {@link LeadFieldPatch}: unknown keys are rejected. */
export const leadFieldPatchSchema = z.object(leadFieldSchemas).partial().strict();

/** Whether a string names a {@link LeadField}. */
export function isLeadField(value: string): value is LeadField {
  return Object.hasOwn(leadFieldSchemas, value);
}

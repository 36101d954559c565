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
    city: z.string().min(1).optional(),
    region: z.string().min(1).optional(),
    country: z.string().min(1).optional(),
    /** ISO 3166-1 alpha-2, upper case. */
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
 */
export const leadFieldSchemas = {
  email: z.string().email(),
  firstName: z.string().min(1),
  lastName: z.string().min(1),
  fullName: z.string().min(1),
  linkedinUrl: z.string().url(),
  /** E.164, such as `+14155550100`. */
  phone: z.string().regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 phone number such as +14155550100'),
  title: z.string().min(1),
  seniority: z.enum(SENIORITY_LEVELS),
  department: z.string().min(1),
  location: locationSchema,
  'company.name': z.string().min(1),
  'company.domain': z
    .string()
    .regex(
      /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/,
      'must be a bare domain such as acme.com',
    ),
  'company.industry': z.string().min(1),
  'company.headcount': z.number().int().nonnegative(),
  'company.headcountRange': z.enum(HEADCOUNT_RANGES),
  /** Annual revenue in US dollars. */
  'company.annualRevenue': z.number().nonnegative(),
  'company.location': locationSchema,
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

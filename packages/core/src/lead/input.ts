import { z } from 'zod';

const text = () => z.string({ error: 'must be a string' }).nullish();
const numberOrText = () =>
  z.union([z.number(), z.string()], { error: 'must be a number or a string' }).nullish();

/** A location as hosts hand it in: an object of parts or free text such as `Berlin, Germany`. */
export const locationInputSchema = z.union(
  [
    z.string(),
    z
      .object({
        /** City, such as `Berlin`. */
        city: text(),
        /** Region, state or province, such as `CA` or `Bavaria`. */
        region: text(),
        /**
         * Country name, such as `Germany`; a name known in English, German, French,
         * Spanish, Italian, Dutch or Portuguese also sets `countryCode`.
         */
        country: text(),
        /**
         * ISO 3166-1 alpha-2 code in any case, such as `de` (`uk` reads as `GB`);
         * must agree with `country` when both are given.
         */
        countryCode: text(),
      })
      .strict(),
  ],
  { error: 'must be a string or an object with city, region, country and countryCode' },
);

/** The company part of a {@link LeadInput}. Every field optional; `null` and blank text mean absent. */
export const companyInputSchema = z
  .object({
    /** Company name. */
    name: text(),
    /** Company domain or URL; wins over `website` and the email's domain. */
    domain: text(),
    /** Website URL; its domain is used when `domain` is missing. */
    website: text(),
    /** Industry, free text. */
    industry: text(),
    /** Headcount: `1200`, `"1,200"`, `"51-200"`, `"10001+"`. */
    headcount: numberOrText(),
    /** A headcount range such as `51-200`; must agree with `headcount` when both are given. */
    headcountRange: text(),
    /** Annual revenue in US dollars: `12500000`, `"$12.5M"`, `"3B"`. */
    annualRevenue: numberOrText(),
    /** Headquarters location. */
    location: locationInputSchema.nullish(),
    /** Technologies: an array or a comma-separated string. */
    technologies: z
      .union([z.array(z.string({ error: 'must be a string' })), z.string()], {
        error: 'must be an array of strings or a comma-separated string',
      })
      .nullish(),
  })
  .strict();

/**
 * The loose shape of a lead as hosts hand it in: every field optional,
 * `null` and blank text meaning absent, numbers accepted where people write
 * them as text. Unknown keys are rejected (put host-defined values under
 * `custom`), so nothing is dropped silently. `createLead()` turns this into a
 * normalized `Lead`.
 */
export const leadInputSchema = z
  .object({
    /** UUIDv7; generated when missing. */
    id: text(),
    /** ISO 8601 date-time with offset, or a Date; defaults to now. */
    createdAt: z.union([z.string(), z.date()], { error: 'must be an ISO 8601 string or a Date' }).nullish(),
    /** Email address. */
    email: text(),
    /** Given name. */
    firstName: text(),
    /** Family name. */
    lastName: text(),
    /** Full name; split into first and last name when those are missing. */
    fullName: text(),
    /** Alias of `fullName`. */
    name: text(),
    /** LinkedIn profile or company URL. */
    linkedinUrl: text(),
    /** Phone number, international or national (needs a known country). */
    phone: numberOrText(),
    /** Job title. */
    title: text(),
    /** Seniority, free text such as `VP` or `Head of`. */
    seniority: text(),
    /** Department, free text. */
    department: text(),
    /** The person's location. */
    location: locationInputSchema.nullish(),
    /** Company website; same as `company.website`. */
    website: text(),
    /** Company name; same as `company.name`. */
    companyName: text(),
    /** Company domain; same as `company.domain`. */
    companyDomain: text(),
    /** The company. */
    company: companyInputSchema.nullish(),
    /** Host-defined fields, passed through untouched. */
    custom: z
      .record(z.string(), z.unknown(), { error: 'must be an object of host-defined values' })
      .nullish(),
  })
  .strict();

/**
 * A lead as hosts hand it in; see {@link leadInputSchema}.
 *
 * @interface
 */
export type LeadInput = z.input<typeof leadInputSchema>;

/** The company part of a {@link LeadInput}. */
export type CompanyInput = z.input<typeof companyInputSchema>;

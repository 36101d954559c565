import { z } from 'zod';
import { leadFieldSchemas, locationSchema } from './fields.js';

/**
 * Where one field's value came from: which provider set it, how sure it was,
 * when, and what it cost. Kept per field in the `provenance` record of a {@link Lead}.
 */
export const fieldProvenanceSchema = z
  .object({
    /** Id of the provider that supplied the value, or `input` for values the lead came in with. */
    providerId: z.string().min(1),
    /** Confidence between 0 and 1. Input values have confidence 1. */
    confidence: z.number().min(0).max(1),
    /** ISO 8601 timestamp of when the value was set. */
    at: z.string().datetime({ offset: true }),
    /** Credits spent on the call that supplied the value (shared calls are not split). */
    credits: z.number().nonnegative(),
  })
  .strict();

/** See {@link fieldProvenanceSchema}. */
export type FieldProvenance = z.infer<typeof fieldProvenanceSchema>;

/** The company part of a {@link Lead}. */
export const leadCompanySchema = z
  .object({
    /** Company name as written, such as `Acme Inc.`; whitespace collapsed. */
    name: leadFieldSchemas['company.name'].optional(),
    /**
     * Bare company domain, such as `acme.com`: lower-case ASCII (IDNs in punycode)
     * without scheme, `www.`, path or trailing dot, never a free-mail domain.
     * `createLead` falls back to the website's domain, then the email's.
     */
    domain: leadFieldSchemas['company.domain'].optional(),
    /** Industry as written, such as `Computer Software`; free text, not mapped to a taxonomy. */
    industry: leadFieldSchemas['company.industry'].optional(),
    /** Exact number of employees: a non-negative integer. */
    headcount: leadFieldSchemas['company.headcount'].optional(),
    /**
     * Employee-count bucket, one of {@link HEADCOUNT_RANGES}; `createLead` and
     * `applyLeadFields` keep it consistent with `headcount`.
     */
    headcountRange: leadFieldSchemas['company.headcountRange'].optional(),
    /** Annual revenue in US dollars, non-negative. */
    annualRevenue: leadFieldSchemas['company.annualRevenue'].optional(),
    /** Company headquarters. */
    location: locationSchema.optional(),
    /** Technologies the company uses, such as `Salesforce`; no blanks or case-insensitive duplicates. */
    technologies: leadFieldSchemas['company.technologies'].optional(),
  })
  .strict();

/**
 * The company part of a {@link Lead}. See {@link leadCompanySchema}.
 *
 * @interface
 */
export type LeadCompany = z.infer<typeof leadCompanySchema>;

const uuidV7 = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'must be a UUIDv7');

/**
 * A lead: one person, their company, custom fields and per-field provenance.
 *
 * Build one with `createLead()` (which normalizes and validates); this schema
 * checks an already-normalized lead.
 */
export const leadSchema = z
  .object({
    /** UUIDv7: sortable by creation time. */
    id: uuidV7,
    /** ISO 8601 creation time. */
    createdAt: z.string().datetime({ offset: true }),
    /** ISO 8601 time of the last change. */
    updatedAt: z.string().datetime({ offset: true }),
    /**
     * Email address, trimmed and lower-cased with a punycode domain; the preferred
     * identity key for dedupe.
     */
    email: leadFieldSchemas.email.optional(),
    /** Given name, such as `Jane`; split from `fullName` when not given. */
    firstName: leadFieldSchemas.firstName.optional(),
    /** Family name with its particles, such as `van der Berg`; split from `fullName` when not given. */
    lastName: leadFieldSchemas.lastName.optional(),
    /** Display name, such as `Dr. Jane Doe`; joined from the first and last name when not given. */
    fullName: leadFieldSchemas.fullName.optional(),
    /**
     * Canonical LinkedIn URL: `https://www.linkedin.com/in/<handle>` for a profile or
     * `https://www.linkedin.com/company/<slug>` for a company page, handle lower-cased.
     */
    linkedinUrl: leadFieldSchemas.linkedinUrl.optional(),
    /** Phone number in E.164, such as `+14155550100`; no extension. */
    phone: leadFieldSchemas.phone.optional(),
    /** Job title as written, such as `VP of Sales`; whitespace collapsed. */
    title: leadFieldSchemas.title.optional(),
    /** Seniority level, one of {@link SENIORITY_LEVELS}. */
    seniority: leadFieldSchemas.seniority.optional(),
    /** Department or function as written, such as `Marketing`; free text. */
    department: leadFieldSchemas.department.optional(),
    /** Where the person is based. */
    location: locationSchema.optional(),
    /** The person's company. */
    company: leadCompanySchema.optional(),
    /** Host-defined fields, passed through untouched. */
    custom: z.record(z.string(), z.unknown()).optional(),
    /** Provenance per enriched or input field, keyed by field path. */
    provenance: z.record(z.string(), fieldProvenanceSchema),
  })
  .strict();

/**
 * A validated, normalized lead. See {@link leadSchema}.
 *
 * @interface
 */
export type Lead = z.infer<typeof leadSchema>;

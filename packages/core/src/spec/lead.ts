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
    name: leadFieldSchemas['company.name'].optional(),
    domain: leadFieldSchemas['company.domain'].optional(),
    industry: leadFieldSchemas['company.industry'].optional(),
    headcount: leadFieldSchemas['company.headcount'].optional(),
    headcountRange: leadFieldSchemas['company.headcountRange'].optional(),
    annualRevenue: leadFieldSchemas['company.annualRevenue'].optional(),
    location: locationSchema.optional(),
    technologies: leadFieldSchemas['company.technologies'].optional(),
  })
  .strict();

/** See {@link leadCompanySchema}. */
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
    email: leadFieldSchemas.email.optional(),
    firstName: leadFieldSchemas.firstName.optional(),
    lastName: leadFieldSchemas.lastName.optional(),
    fullName: leadFieldSchemas.fullName.optional(),
    linkedinUrl: leadFieldSchemas.linkedinUrl.optional(),
    phone: leadFieldSchemas.phone.optional(),
    title: leadFieldSchemas.title.optional(),
    seniority: leadFieldSchemas.seniority.optional(),
    department: leadFieldSchemas.department.optional(),
    location: locationSchema.optional(),
    company: leadCompanySchema.optional(),
    /** Host-defined fields, passed through untouched. */
    custom: z.record(z.string(), z.unknown()).optional(),
    /** Provenance per enriched or input field, keyed by field path. */
    provenance: z.record(z.string(), fieldProvenanceSchema),
  })
  .strict();

/** A validated, normalized lead. See {@link leadSchema}. */
export type Lead = z.infer<typeof leadSchema>;

import { z } from 'zod';

/**
 * Zod schemas of the Apollo responses the adapter reads. They are lenient on
 * purpose: Apollo adds fields freely and sends `null` for unknown values, so
 * only the fields the adapter uses are declared (all nullable and optional)
 * and unknown keys pass through.
 */

const text = z.string().nullish();
const count = z.number().nullish();

/** A technology an organization uses. */
const technologySchema = z.looseObject({ uid: text, name: text, category: text });

/** A phone number as Apollo reports it on people and in reveal webhooks. */
export const apolloPhoneNumberSchema = z.looseObject({
  raw_number: text,
  sanitized_number: text,
  type_cd: text,
  status_cd: text,
  confidence_cd: text,
});

/** Apollo's organization object (the fields the adapter maps). */
export const apolloOrganizationSchema = z.looseObject({
  id: text,
  name: text,
  website_url: text,
  primary_domain: text,
  industry: text,
  industries: z.array(z.string()).nullish(),
  estimated_num_employees: count,
  annual_revenue: count,
  technology_names: z.array(z.string()).nullish(),
  current_technologies: z.array(technologySchema).nullish(),
  city: text,
  state: text,
  country: text,
});

/** An Apollo organization, as parsed. */
export type ApolloOrganization = z.infer<typeof apolloOrganizationSchema>;

/** Apollo's person object (the fields the adapter maps). */
export const apolloPersonSchema = z.looseObject({
  id: text,
  first_name: text,
  last_name: text,
  name: text,
  title: text,
  email: text,
  email_status: text,
  extrapolated_email_confidence: count,
  linkedin_url: text,
  city: text,
  state: text,
  country: text,
  seniority: text,
  departments: z.array(z.string()).nullish(),
  subdepartments: z.array(z.string()).nullish(),
  phone_numbers: z.array(apolloPhoneNumberSchema).nullish(),
  organization: apolloOrganizationSchema.nullish(),
});

/** An Apollo person, as parsed. */
export type ApolloPerson = z.infer<typeof apolloPersonSchema>;

/** `request_id` after the adapter rewrote it into a string (it does not fit a JS number). */
const requestIdSchema = z
  .string()
  .regex(/^-?\d+$/)
  .nullish();

/** The body of `POST /people/match`. */
export const peopleMatchResponseSchema = z.looseObject({
  person: apolloPersonSchema.nullish(),
  request_id: requestIdSchema,
  waterfall: z.looseObject({ status: text, message: text }).nullish(),
});

/**
 * The body of `POST /people/bulk_match`. `credits_consumed`,
 * `unique_enriched_records` and `missing_records` are absent in the waterfall
 * variant.
 */
export const peopleBulkMatchResponseSchema = z.looseObject({
  status: text,
  matches: z.array(apolloPersonSchema.nullable()),
  credits_consumed: count,
  unique_enriched_records: count,
  missing_records: count,
  request_id: requestIdSchema,
});

/** The body of `GET /organizations/enrich`: `{}` or `{ organization: null }` when unknown. */
export const organizationEnrichResponseSchema = z.looseObject({
  organization: apolloOrganizationSchema.nullish(),
});

/** The body of `POST /organizations/bulk_enrich`: found organizations only, not in request order. */
export const organizationBulkEnrichResponseSchema = z.looseObject({
  status: text,
  organizations: z.array(apolloOrganizationSchema.nullable()).nullish(),
});

/** One person in a phone-reveal or waterfall webhook (and in `GET /webhook_result/{id}`). */
export const apolloWebhookPersonSchema = z.looseObject({
  id: z.string().min(1),
  status: text,
  phone_numbers: z.array(apolloPhoneNumberSchema).nullish(),
  emails: z.array(z.looseObject({ email: text, email_status: text })).nullish(),
});

/** A phone-reveal or waterfall webhook body. The shape is UNVERIFIED upstream; parsed leniently. */
export const apolloWebhookSchema = z.looseObject({
  status: text,
  request_id: z.string().regex(/^-?\d+$/),
  people: z.array(apolloWebhookPersonSchema).nullish(),
  credits_consumed: count,
});

/** A parsed webhook body. */
export type ApolloWebhookBody = z.infer<typeof apolloWebhookSchema>;

/** The 404 body of `GET /webhook_result/{id}` while the result is still being worked on. */
export const webhookResultPendingSchema = z.looseObject({
  error: text,
  retry_after_seconds: count,
});

const REQUEST_ID = /("request_id"\s*:\s*)(-?\d+)/g;

/**
 * Parse Apollo JSON with every bare `request_id` number rewritten as a
 * string first: it is a signed 64-bit integer and would lose digits as a JS
 * number. Throws `SyntaxError` when the text is not JSON.
 */
export function parseApolloJson(bodyText: string): unknown {
  return JSON.parse(bodyText.replace(REQUEST_ID, '$1"$2"'));
}

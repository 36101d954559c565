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
const technologySchema = z.looseObject({
  /** Apollo's slug for the technology (`google_analytics`); not read by the mapping. */
  uid: text,
  /** Display name (`Google Analytics`): the mapping's fallback when `technology_names` is empty. */
  name: text,
  /** Apollo's category for it (`Analytics and Tracking`); not read by the mapping. */
  category: text,
});

/** A phone number as Apollo reports it on people and in reveal webhooks. */
const apolloPhoneNumberSchema = z.looseObject({
  /** The number as Apollo found it, in any format; used when `sanitized_number` is missing. */
  raw_number: text,
  /** The number in E.164 (`+14155550123`); preferred over `raw_number`. */
  sanitized_number: text,
  /** Line type, such as `mobile`; not read by the mapping. */
  type_cd: text,
  /** Validity check, `valid_number` when it passed; absent is read as valid. */
  status_cd: text,
  /** Apollo's confidence in the number, such as `high`; only `high` raises the mapped confidence. */
  confidence_cd: text,
});

/** Apollo's organization object (the fields the adapter maps). */
const apolloOrganizationSchema = z.looseObject({
  /** Apollo's organization id (a 24-character hex string). */
  id: text,
  /** Company name as Apollo displays it. */
  name: text,
  /** Home page URL, often `http://www.` plus the domain; its host is the fallback domain. */
  website_url: text,
  /** Bare domain (`acme.com`), no scheme or `www.`; preferred over `website_url`. */
  primary_domain: text,
  /** Main industry, in lower case (`computer software`). */
  industry: text,
  /** Every industry Apollo files the company under, lower case; the first is the fallback for `industry`. */
  industries: z.array(z.string()).nullish(),
  /** Headcount, modelled by Apollo rather than reported. */
  estimated_num_employees: count,
  /** Modelled annual revenue in USD, a plain number (`annual_revenue_printed` has the `12.5M` text). */
  annual_revenue: count,
  /** Names of technologies detected on the company's site (`Salesforce`, `Google Analytics`). */
  technology_names: z.array(z.string()).nullish(),
  /** The same technologies with their slug and category; read only when `technology_names` is empty. */
  current_technologies: z.array(technologySchema).nullish(),
  /** City of the headquarters. */
  city: text,
  /** State or region of the headquarters, spelled out (`California`). */
  state: text,
  /** Country of the headquarters, spelled out (`United States`), not an ISO code. */
  country: text,
});

/**
 * An Apollo organization, as parsed.
 *
 * @interface
 */
export type ApolloOrganization = z.infer<typeof apolloOrganizationSchema>;

/** Apollo's person object (the fields the adapter maps). */
const apolloPersonSchema = z.looseObject({
  /** Apollo's person id (a 24-character hex string); ties a phone-reveal webhook back to the lookup. */
  id: text,
  /** Given name. */
  first_name: text,
  /** Family name. */
  last_name: text,
  /** Full name as Apollo displays it; built from the two parts when missing. */
  name: text,
  /** Current job title, free text. */
  title: text,
  /** Work email; `email_not_unlocked@domain.com` stands for a locked one. Omitted on waterfall email lookups. */
  email: text,
  /** Apollo's grade of `email`: `verified`, `unverified`, `extrapolated`, `guessed`, `unavailable`, ... */
  email_status: text,
  /** Apollo's confidence in an extrapolated or guessed email, on a 0..1 or 0..100 scale. */
  extrapolated_email_confidence: count,
  /** LinkedIn profile URL, often `http://www.linkedin.com/in/...`. */
  linkedin_url: text,
  /** City the person is based in. */
  city: text,
  /** State or region, spelled out (`California`). */
  state: text,
  /** Country, spelled out (`United States`), not an ISO code. */
  country: text,
  /** Seniority slug such as `founder`, `c_suite`, `vp` or `director` (the full list is unpublished). */
  seniority: text,
  /** Department slugs, `master_` prefixed (`master_engineering_technical`); the first non-empty is mapped. */
  departments: z.array(z.string()).nullish(),
  /** Finer slugs within `departments`, without the prefix; not read by the mapping. */
  subdepartments: z.array(z.string()).nullish(),
  /** Phones the team has already revealed; a new phone reveal arrives later, by webhook, not here. */
  phone_numbers: z.array(apolloPhoneNumberSchema).nullish(),
  /** The person's current employer, in full; fills the `company.*` fields. */
  organization: apolloOrganizationSchema.nullish(),
});

/**
 * An Apollo person, as parsed.
 *
 * @interface
 */
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
const apolloWebhookPersonSchema = z.looseObject({
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

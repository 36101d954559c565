import type { LeadFieldPatch } from '@leadpipe/core/adapter-kit';
import type { TruthCompany, TruthPerson } from '../../truth/generate.js';
import { hashString } from '../../truth/random.js';
import { DEPARTMENTS } from '../../truth/words.js';

/** An Apollo organization object as the API returns it. */
export type ApolloOrganization = Record<string, unknown>;

/** An Apollo person object as the API returns it. */
export type ApolloPerson = Record<string, unknown>;

function printedRevenue(value: number): string {
  if (value >= 1e9) return `${(value / 1e9).toFixed(1).replace(/\.0$/, '')}B`;
  if (value >= 1e6) return `${(value / 1e6).toFixed(1).replace(/\.0$/, '')}M`;
  if (value >= 1e3) return `${Math.round(value / 1e3)}K`;
  return String(value);
}

function nationalFormat(phone: string): string {
  return phone.startsWith('+1') ? `+1 (${phone.slice(2, 5)}) ${phone.slice(5, 8)}-${phone.slice(8)}` : phone;
}

const TECH_CATEGORIES: Readonly<Record<string, string>> = {
  Salesforce: 'CRM',
  HubSpot: 'Marketing Automation',
  Stripe: 'Payments',
  AWS: 'Hosting',
  'Google Analytics': 'Analytics and Tracking',
};

/**
 * Apollo's organization object for a company, carrying only the fields the
 * provider view supplied (others are `null`, as Apollo sends them).
 */
export function apolloOrganization(company: TruthCompany, fields: LeadFieldPatch): ApolloOrganization {
  const domain = fields['company.domain'] ?? null;
  const location = fields['company.location'];
  const technologies = fields['company.technologies'];
  const revenue = fields['company.annualRevenue'];
  const headcount = fields['company.headcount'];
  return {
    id: company.id,
    name: fields['company.name'] ?? null,
    website_url: domain === null ? null : `http://www.${domain}`,
    blog_url: null,
    angellist_url: null,
    linkedin_url: company.linkedinUrl.replace('https://www.', 'http://www.'),
    twitter_url: null,
    facebook_url: null,
    primary_phone: {
      number: nationalFormat(company.phone),
      source: 'Scraped',
      sanitized_number: company.phone,
    },
    languages: [],
    alexa_ranking: null,
    phone: nationalFormat(company.phone),
    linkedin_uid: String(hashString(company.id) % 10_000_000),
    founded_year: company.foundedYear,
    publicly_traded_symbol: null,
    publicly_traded_exchange: null,
    logo_url: null,
    crunchbase_url: null,
    primary_domain: domain,
    sanitized_phone: company.phone,
    industry: fields['company.industry']?.toLowerCase() ?? null,
    keywords: [],
    estimated_num_employees: headcount ?? null,
    industries: fields['company.industry'] === undefined ? [] : [fields['company.industry'].toLowerCase()],
    secondary_industries: [],
    snippets_loaded: true,
    industry_tag_id: null,
    retail_location_count: 0,
    raw_address:
      location === undefined
        ? null
        : [location.city, location.region, location.country].filter(Boolean).join(', '),
    street_address: null,
    city: location?.city ?? null,
    state: location?.region ?? null,
    postal_code: null,
    country: location?.country ?? null,
    owned_by_organization_id: null,
    short_description: null,
    suborganizations: [],
    num_suborganizations: 0,
    annual_revenue_printed: revenue === undefined ? null : printedRevenue(revenue),
    annual_revenue: revenue ?? null,
    total_funding: null,
    total_funding_printed: null,
    latest_funding_round_date: null,
    latest_funding_stage: null,
    funding_events: [],
    technology_names: technologies ?? [],
    current_technologies: (technologies ?? []).map((name) => ({
      uid: name.toLowerCase().replace(/[^a-z0-9]+/g, '_'),
      name,
      category: TECH_CATEGORIES[name] ?? 'Other',
    })),
    departmental_head_count: {},
    organization_headcount_six_month_growth: null,
    organization_headcount_twelve_month_growth: null,
    organization_headcount_twenty_four_month_growth: null,
    market_cap: null,
  };
}

/** Apollo's person object (with `organization` nested), from the provider view's fields. */
export function apolloPerson(
  person: TruthPerson,
  company: TruthCompany,
  fields: LeadFieldPatch,
  options: { omitEmail: boolean },
): ApolloPerson {
  const department = DEPARTMENTS.find((item) => item.name === fields.department);
  const location = fields.location;
  const organization = apolloOrganization(company, fields);
  const email = fields.email ?? null;
  const body: ApolloPerson = {
    id: person.id,
    first_name: fields.firstName ?? null,
    last_name: fields.lastName ?? null,
    name: fields.fullName ?? null,
    linkedin_url: fields.linkedinUrl?.replace('https://www.', 'http://www.') ?? null,
    title: fields.title ?? null,
    email_status: email === null ? 'unavailable' : 'verified',
    photo_url: null,
    twitter_url: null,
    github_url: null,
    facebook_url: null,
    extrapolated_email_confidence: null,
    headline:
      fields.title === undefined ? null : `${fields.title} at ${fields['company.name'] ?? company.name}`,
    email,
    organization_id: company.id,
    employment_history: [
      {
        _id: `${person.id.slice(0, 12)}${company.id.slice(12)}`,
        created_at: null,
        current: true,
        degree: null,
        description: null,
        emails: null,
        end_date: null,
        grade_level: null,
        kind: null,
        major: null,
        organization_id: company.id,
        organization_name: fields['company.name'] ?? company.name,
        raw_address: null,
        start_date: `${2015 + (hashString(person.id) % 9)}-0${1 + (hashString(person.id) % 9)}-01`,
        school: null,
        title: fields.title ?? null,
        updated_at: null,
        id: `${company.id.slice(0, 12)}${person.id.slice(12)}`,
        key: `${company.id.slice(0, 12)}${person.id.slice(12)}`,
      },
    ],
    state: location?.region ?? null,
    city: location?.city ?? null,
    country: location?.country ?? null,
    departments: department === undefined ? [] : [`master_${department.slug}`],
    subdepartments: department === undefined ? [] : [department.slug],
    functions: department === undefined ? [] : [department.slug],
    seniority: fields.seniority ?? null,
    organization,
    is_likely_to_engage: true,
    intent_strength: null,
    show_intent: false,
    revealed_for_current_team: true,
  };
  if (options.omitEmail) {
    delete body.email;
    delete body.email_status;
  }
  return body;
}

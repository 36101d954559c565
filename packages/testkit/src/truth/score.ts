import {
  isLeadField,
  type LeadField,
  type LeadFieldPatch,
  type LeadLocation,
  parseOptions,
} from '@leadpipe/core/adapter-kit';
import { z } from 'zod';
import {
  domainComparisonKey,
  type GroundTruthData,
  headcountRangeOf,
  linkedinComparisonKey,
  type TruthCompany,
  type TruthPerson,
} from './generate.js';
import { DEPARTMENTS } from './words.js';

/**
 * An enriched lead to score: the core's `Lead` (nested: `{ email, title,
 * company: { domain, headcount }, provenance }`), an enrichment outcome that
 * carries one as `lead`, or a flat {@link LeadFieldPatch} keyed by LeadField
 * path (`company.domain`).
 */
export type ScorableLead = Readonly<Record<string, unknown>>;

/** Coverage and accuracy of one field. */
export interface FieldScore {
  /** Identified leads the truth has a value for. */
  readonly wanted: number;
  /** Of those, leads with a value. */
  readonly filled: number;
  /** Of those, values that match the truth after normalization. */
  readonly correct: number;
  /** `filled / wanted` (0 when nothing was wanted). */
  readonly coverage: number;
  /** `correct / filled` (0 when nothing was filled). */
  readonly accuracy: number;
}

/** What {@link GroundTruth.score} reports. */
export interface ScoreReport {
  /** Leads given. */
  readonly leads: number;
  /** Leads found in the truth (by email, LinkedIn URL, name and domain, or company domain). */
  readonly identified: number;
  /** Per wanted field. */
  readonly fields: Readonly<Partial<Record<LeadField, FieldScore>>>;
  /** Filled over wanted, summed over every wanted field. */
  readonly coverage: number;
  /** Correct over filled, summed over every wanted field. */
  readonly accuracy: number;
}

const COMPANY_KEYS: Readonly<Record<string, LeadField>> = {
  name: 'company.name',
  domain: 'company.domain',
  industry: 'company.industry',
  headcount: 'company.headcount',
  headcountRange: 'company.headcountRange',
  annualRevenue: 'company.annualRevenue',
  location: 'company.location',
  technologies: 'company.technologies',
};

const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The lead inside a scorable entry: the entry itself, or its `lead` when the
 * entry is an enrichment outcome (`{ lead, status, ... }`) with no Lead field
 * of its own.
 */
function leadOf(entry: ScorableLead): ScorableLead {
  const inner = entry.lead;
  if (!isRecord(inner)) return entry;
  const ownFields = Object.keys(entry).some((key) => key === 'company' || isLeadField(key));
  return ownFields ? entry : inner;
}

/**
 * Flatten anything scorable: a nested or flat lead, or an enrichment outcome
 * whose `lead` holds it, into LeadField paths. Unlike core's `flattenLead`
 * (which takes a core `Lead`), it accepts loose shapes. Keys that are not Lead fields (`id`, `provenance`,
 * `custom`...) are ignored, and so are `null` and `undefined` values.
 */
export function flattenScorableLead(lead: ScorableLead): LeadFieldPatch {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(leadOf(lead))) {
    if (value === undefined || value === null) continue;
    if (key === 'company' && isRecord(value)) {
      for (const [companyKey, companyValue] of Object.entries(value)) {
        const field = COMPANY_KEYS[companyKey];
        if (field !== undefined && companyValue !== undefined && companyValue !== null)
          out[field] = companyValue;
      }
    } else if (isLeadField(key)) {
      out[key] = value;
    }
  }
  return out as LeadFieldPatch;
}

/**
 * The fields a core `Lead` came in with: those whose provenance names the
 * `input` provider. `undefined` when the lead carries no provenance (a flat
 * patch), so every field counts as an identifier.
 */
function inputFieldsOf(lead: ScorableLead, flat: LeadFieldPatch): LeadFieldPatch | undefined {
  const provenance = leadOf(lead).provenance;
  if (!isRecord(provenance)) return undefined;
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(flat)) {
    const origin = provenance[field];
    if (isRecord(origin) && origin.providerId === 'input') out[field] = value;
  }
  return out as LeadFieldPatch;
}

/**
 * The key a technology name is compared by: lower case, letters and digits
 * only, so a vendor slug and the display name agree (`node_js`, `Node Js`
 * and `Node.js` all give `nodejs`).
 */
export function technologyKey(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

const DEPARTMENT_NAMES = new Map<string, string>(
  DEPARTMENTS.flatMap((department) =>
    [department.name, ...department.aliases].map((name) => [departmentText(name), department.name] as const),
  ),
);

function departmentText(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/&/g, ' and ')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

/**
 * The key a department is compared by: the truth's department name for any
 * of its names (Apollo's `Engineering & Technical` and Clearbit's
 * `Engineering` both give `engineering`), else the name itself in lower case
 * with punctuation dropped.
 */
export function departmentKey(name: string): string {
  const text = departmentText(name);
  return departmentText(DEPARTMENT_NAMES.get(text) ?? text);
}

const text = (value: unknown) =>
  typeof value === 'string' ? value.trim().toLowerCase().replace(/\s+/g, ' ') : '';

function sameLocation(truth: unknown, value: unknown): boolean {
  const expected = truth as LeadLocation;
  const actual = value as LeadLocation;
  if (typeof actual !== 'object' || actual === null) return false;
  if (actual.city !== undefined && text(actual.city) !== text(expected.city)) return false;
  const sameCountry =
    (actual.countryCode !== undefined && text(actual.countryCode) === text(expected.countryCode)) ||
    (actual.country !== undefined && text(actual.country) === text(expected.country));
  return sameCountry;
}

/**
 * Whether `value` is a correct value of `field` given the truth, after
 * normalization: case and spacing ignored for text, lower-case emails and
 * domains, digits only for phones, the same headcount range for headcounts,
 * revenue within 10 %, the same city and country for locations, the same
 * department under any of its vendor names ({@link departmentKey}), and at
 * least half of the larger technology list in common (names compared by
 * {@link technologyKey}, so Clearbit's `tech` slugs such as `node_js` match
 * `Node.js`).
 */
export function valueMatches(field: LeadField, truth: unknown, value: unknown): boolean {
  switch (field) {
    case 'company.domain':
      return typeof value === 'string' && domainComparisonKey(value) === domainComparisonKey(String(truth));
    case 'linkedinUrl':
      return (
        typeof value === 'string' && linkedinComparisonKey(value) === linkedinComparisonKey(String(truth))
      );
    case 'phone':
      return typeof value === 'string' && value.replace(/\D/g, '') === String(truth).replace(/\D/g, '');
    case 'company.headcount':
      return typeof value === 'number' && headcountRangeOf(value) === headcountRangeOf(Number(truth));
    case 'company.annualRevenue':
      return typeof value === 'number' && Math.abs(value - Number(truth)) <= Number(truth) * 0.1;
    case 'location':
    case 'company.location':
      return sameLocation(truth, value);
    case 'department':
      return (
        typeof value === 'string' &&
        value.trim() !== '' &&
        departmentKey(value) === departmentKey(String(truth))
      );
    case 'company.technologies': {
      if (!Array.isArray(value) || !Array.isArray(truth)) return false;
      const key = (item: unknown) => (typeof item === 'string' ? technologyKey(item) : '');
      const expected = new Set(truth.map(key).filter((item) => item !== ''));
      const actual = new Set(value.map(key).filter((item) => item !== ''));
      if (actual.size === 0) return false;
      const common = [...actual].filter((item) => expected.has(item)).length;
      return common * 2 >= Math.max(expected.size, actual.size);
    }
    default:
      return text(value) === text(truth) && text(value) !== '';
  }
}

type TruthRecord = { person?: TruthPerson; company?: TruthCompany };

/** The truth record a set of fields describes: a person (with company) or a company alone. */
function identifyLead(truth: GroundTruthData, lead: LeadFieldPatch): TruthRecord | undefined {
  const person =
    (lead.email !== undefined ? truth.personByEmail(lead.email) : undefined) ??
    (lead.linkedinUrl !== undefined ? truth.personByLinkedin(lead.linkedinUrl) : undefined) ??
    (lead.firstName !== undefined && lead.lastName !== undefined && lead['company.domain'] !== undefined
      ? truth.personByNameAndDomain(lead.firstName, lead.lastName, lead['company.domain'])
      : undefined);
  if (person !== undefined) return { person, company: truth.companyOf(person) };
  const company =
    lead['company.domain'] !== undefined ? truth.companyByDomain(lead['company.domain']) : undefined;
  return company === undefined ? undefined : { company };
}

/**
 * Identify a lead by what it came in with before what providers added: a
 * wrong email a provider filled must not turn the lead into someone else. A
 * person found only through enriched fields is used when the input named no
 * company, or the same company.
 */
function identifyScored(
  truth: GroundTruthData,
  lead: ScorableLead,
  flat: LeadFieldPatch,
): TruthRecord | undefined {
  const input = inputFieldsOf(lead, flat);
  if (input === undefined) return identifyLead(truth, flat);
  const fromInput = identifyLead(truth, input);
  if (fromInput?.person !== undefined) return fromInput;
  const fromAll = identifyLead(truth, flat);
  if (fromAll?.person !== undefined && (fromInput === undefined || fromInput.company === fromAll.company))
    return fromAll;
  return fromInput ?? fromAll;
}

/** `scoreLeads`' arguments, checked before any lead is read. */
const scoreArgumentsSchema = z.object({
  wantedFields: z.array(
    z.custom<LeadField>((field) => typeof field === 'string' && isLeadField(field), {
      error: (issue) => `"${String(issue.input)}" is not a LeadField path`,
    }),
    { error: 'must be an array of LeadField paths' },
  ),
  leads: z.custom<Iterable<unknown>>(
    (value) => typeof value === 'object' && value !== null && Symbol.iterator in value,
    { error: 'must be an iterable of leads (core Lead objects, enrichment outcomes or flat patches)' },
  ),
});

/** What an entry of `leads` is, in words, for the error. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : typeof value;
}

/** One entry of `leads`, as `{ leads: { <index>: entry } }` so that the error names `leads.<index>`. */
const scoredLeadSchema = z.object({
  leads: z.record(
    z.string(),
    z.custom<Readonly<Record<string, unknown>>>(isRecord, {
      error: (issue) =>
        `must be an object (a Lead, an enrichment outcome or a flat patch), got ${kindOf(issue.input)}`,
    }),
  ),
});

/**
 * Score enriched leads against the truth: per wanted field, how many leads
 * got a value (coverage) and how many of those values are right (accuracy).
 * Leads are core `Lead` objects (or enrichment outcomes carrying one) or flat
 * patches; a `Lead` is identified by its `input` fields first (see
 * {@link identifyLead}). Leads the truth does not know count in `leads` only.
 *
 * @throws ConfigurationError (`invalid_configuration`, checked by `parseOptions`) naming `wantedFields.<i>`
 * when a wanted field is not a LeadField path, `leads` when it is not iterable, `leads.<i>` when an entry is
 * not an object: `score: wantedFields.1: "company.size" is not a LeadField path`.
 */
export function scoreLeads(
  truth: GroundTruthData,
  leads: Iterable<ScorableLead>,
  wantedFields: readonly LeadField[],
): ScoreReport {
  parseOptions(scoreArgumentsSchema, { leads, wantedFields }, { name: 'score' });
  const tallies = new Map<LeadField, { wanted: number; filled: number; correct: number }>(
    wantedFields.map((field) => [field, { wanted: 0, filled: 0, correct: 0 }]),
  );
  let count = 0;
  let identified = 0;
  for (const entry of leads as Iterable<unknown>) {
    // The iterable is read once (it may be a generator), so each entry is checked as it comes.
    parseOptions(scoredLeadSchema, { leads: { [count]: entry } }, { name: 'score' });
    const lead = entry as Readonly<Record<string, unknown>>; // an object: the schema refused anything else
    count++;
    const flat = flattenScorableLead(lead);
    const record = identifyScored(truth, lead, flat);
    if (record === undefined) continue;
    identified++;
    const expected: LeadFieldPatch =
      record.person !== undefined ? truth.personFields(record.person) : truth.companyFields(record.company!);
    for (const field of wantedFields) {
      const truthValue = expected[field];
      if (truthValue === undefined) continue;
      const tally = tallies.get(field)!;
      tally.wanted++;
      const value = flat[field];
      if (value === undefined) continue;
      tally.filled++;
      if (valueMatches(field, truthValue, value)) tally.correct++;
    }
  }
  const fields: Partial<Record<LeadField, FieldScore>> = {};
  let wanted = 0;
  let filled = 0;
  let correct = 0;
  for (const [field, tally] of tallies) {
    wanted += tally.wanted;
    filled += tally.filled;
    correct += tally.correct;
    fields[field] = {
      ...tally,
      coverage: tally.wanted === 0 ? 0 : tally.filled / tally.wanted,
      accuracy: tally.filled === 0 ? 0 : tally.correct / tally.filled,
    };
  }
  return {
    leads: count,
    identified,
    fields,
    coverage: wanted === 0 ? 0 : filled / wanted,
    accuracy: filled === 0 ? 0 : correct / filled,
  };
}

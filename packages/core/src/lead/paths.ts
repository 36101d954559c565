import { ValidationError } from '../contracts/errors.js';
import {
  isLeadField,
  LEAD_FIELDS,
  type LeadField,
  type LeadFieldPatch,
  type LeadFieldValues,
  leadFieldSchemas,
} from '../contracts/fields.js';
import {
  type FieldProvenance,
  fieldProvenanceSchema,
  type Lead,
  type LeadCompany,
  leadSchema,
} from '../contracts/lead.js';
import { headcountToRange } from './company-size.js';
import { canonicalFieldValue } from './field-values.js';
import { IssueCollector, isPlainObject } from './issues.js';

type CompanyKey = keyof LeadCompany;
type PersonKey = Exclude<LeadField, `company.${string}`>;

function companyKey(field: LeadField): CompanyKey | undefined {
  return field.startsWith('company.') ? (field.slice('company.'.length) as CompanyKey) : undefined;
}

function copyValue<T>(value: T): T {
  if (Array.isArray(value)) return [...value] as T;
  if (value !== null && typeof value === 'object') return { ...value };
  return value;
}

function assertFields(fields: readonly unknown[], name: string): asserts fields is readonly LeadField[] {
  const issues = fields.flatMap((field, index) =>
    typeof field === 'string' && isLeadField(field)
      ? []
      : [{ field: `${name}.${index}`, reason: 'is not a lead field' }],
  );
  if (issues.length > 0) throw new ValidationError(issues);
}

/**
 * The value of one field of a lead, by path (`title`, `company.domain`), or
 * `undefined` when the lead does not have it. Throws `ValidationError` when
 * `field` is not a lead field.
 */
export function getLeadField<F extends LeadField>(lead: Lead, field: F): LeadFieldValues[F] | undefined {
  assertFields([field], 'field');
  const key = companyKey(field);
  const value =
    key === undefined ? lead[field as PersonKey] : lead.company === undefined ? undefined : lead.company[key];
  return value as LeadFieldValues[F] | undefined;
}

/**
 * Every field the lead has, keyed by path (`company.domain`), in the order
 * of `LEAD_FIELDS`. Objects and arrays are copied, so changing the patch
 * never changes the lead.
 */
export function flattenLead(lead: Lead): LeadFieldPatch {
  const patch: Record<string, unknown> = {};
  for (const field of LEAD_FIELDS) {
    const value = getLeadField(lead, field);
    if (value !== undefined) patch[field] = copyValue(value);
  }
  return patch as LeadFieldPatch;
}

/**
 * The fields of `wanted` the lead does not have yet, in the order given,
 * without duplicates. Throws `ValidationError` when an entry is not a lead
 * field.
 */
export function missingFields(lead: Lead, wanted: readonly LeadField[]): LeadField[] {
  if (!Array.isArray(wanted)) throw new ValidationError([{ field: 'wanted', reason: 'must be an array' }]);
  assertFields(wanted, 'wanted');
  return [...new Set(wanted)].filter((field) => getLeadField(lead, field) === undefined);
}

/**
 * Set fields on a lead and return the new lead; the given lead is not
 * changed. Every value is validated with `leadFieldSchemas` and canonicalized
 * like `createLead` does (lower-case email, bare domain, canonical LinkedIn
 * URL, cleaned text); free-mail company domains are refused. Every patched
 * field needs a provenance entry, and provenance may only be given for
 * patched fields. `updatedAt` becomes `now`. When the patch sets
 * `company.headcount` without `company.headcountRange`, the range is set to
 * match (with the headcount's provenance); a headcount and range that
 * disagree are an issue. `undefined` values in the patch are ignored.
 *
 * Throws one `ValidationError` listing every bad field, with issues on
 * provenance named `provenance.<field>`.
 */
export function applyLeadFields(
  lead: Lead,
  patch: LeadFieldPatch,
  provenance: Partial<Record<LeadField, FieldProvenance>>,
  now: Date,
): Lead {
  const collector = new IssueCollector();
  const checkedLead = leadSchema.safeParse(lead);
  if (!checkedLead.success) {
    for (const issue of checkedLead.error.issues) {
      collector.add(['lead', ...issue.path.map(String)].join('.'), issue.message);
    }
  }
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) collector.add('now', 'must be a valid Date');
  if (!isPlainObject(patch)) collector.add('patch', 'must be an object of field values');
  if (!isPlainObject(provenance)) collector.add('provenance', 'must be an object of field provenance');
  if (!collector.ok) throw new ValidationError(collector.issues);

  const values: Partial<Record<LeadField, unknown>> = {};
  for (const [field, value] of Object.entries(patch)) {
    if (!isLeadField(field)) {
      collector.add(field, 'is not a lead field');
      continue;
    }
    if (value === undefined) continue;
    // Text is canonicalized before the schema check (so `WWW.Acme.com` passes as `acme.com`);
    // objects and arrays must have the schema's shape before they are canonicalized.
    const candidate =
      typeof value === 'string'
        ? collector.run(field, () => canonicalFieldValue(field, value), field)
        : value;
    if (candidate === undefined) continue;
    const checked = leadFieldSchemas[field].safeParse(candidate);
    if (!checked.success) {
      for (const issue of checked.error.issues) {
        collector.add([field, ...issue.path.map(String)].join('.'), issue.message);
      }
      continue;
    }
    const canonical =
      typeof value === 'string'
        ? checked.data
        : collector.run(field, () => canonicalFieldValue(field, checked.data), field);
    if (canonical !== undefined) values[field] = canonical;
  }

  const origins: Partial<Record<LeadField, FieldProvenance>> = {};
  for (const [field, entry] of Object.entries(provenance)) {
    if (!isLeadField(field)) {
      collector.add(`provenance.${field}`, 'is not a lead field');
    } else if (entry === undefined) {
      // An explicit undefined entry carries nothing.
    } else if (!Object.hasOwn(patch, field) || (patch as Record<string, unknown>)[field] === undefined) {
      collector.add(`provenance.${field}`, 'is given for a field the patch does not set');
    } else {
      const checked = fieldProvenanceSchema.safeParse(entry);
      if (checked.success) origins[field] = checked.data;
      else {
        for (const issue of checked.error.issues) {
          collector.add(['provenance', field, ...issue.path.map(String)].join('.'), issue.message);
        }
      }
    }
  }
  for (const [field, value] of Object.entries(patch)) {
    if (isLeadField(field) && value !== undefined && provenance[field] === undefined) {
      collector.add(`provenance.${field}`, 'is missing; every patched field needs its provenance');
    }
  }

  const headcount = values['company.headcount'] as number | undefined;
  const range = values['company.headcountRange'] as LeadFieldValues['company.headcountRange'] | undefined;
  if (headcount !== undefined && range === undefined && collector.ok) {
    values['company.headcountRange'] = headcountToRange(headcount);
    const origin = origins['company.headcount'];
    if (origin !== undefined) origins['company.headcountRange'] = { ...origin };
  } else if (headcount !== undefined && range !== undefined && headcountToRange(headcount) !== range) {
    collector.add('company.headcountRange', 'does not match company.headcount');
  } else if (headcount === undefined && range !== undefined) {
    const current = lead.company?.headcount;
    if (current !== undefined && headcountToRange(current) !== range) {
      collector.add('company.headcountRange', 'does not match the headcount already on the lead');
    }
  }
  if (!collector.ok) throw new ValidationError(collector.issues);

  const next: Lead = {
    ...lead,
    updatedAt: now.toISOString(),
    provenance: { ...lead.provenance },
  };
  if (lead.location !== undefined) next.location = { ...lead.location };
  if (lead.custom !== undefined) next.custom = { ...lead.custom };
  let company: LeadCompany | undefined = lead.company === undefined ? undefined : { ...lead.company };
  if (company?.location !== undefined) company.location = { ...company.location };
  if (company?.technologies !== undefined) company.technologies = [...company.technologies];
  for (const field of LEAD_FIELDS) {
    const value = values[field];
    if (value === undefined) continue;
    const key = companyKey(field);
    if (key === undefined) (next as Record<string, unknown>)[field] = value;
    else {
      company ??= {};
      (company as Record<string, unknown>)[key] = value;
    }
    next.provenance[field] = { ...origins[field]! };
  }
  if (company !== undefined) next.company = company;
  return next;
}

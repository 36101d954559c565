import { z } from 'zod';
import type { CrmProperties, CrmPropertyValue, CrmRecord } from '../contracts/crm-adapter.js';
import type {
  CrmConflictPolicy,
  CrmFieldMappingDefinition,
  CrmFieldMappingEntry,
  CrmFieldSource,
} from '../contracts/crm-mapping.js';
import { ValidationError, type ValidationIssue } from '../contracts/errors.js';
import { isLeadField } from '../contracts/fields.js';
import type { Lead } from '../contracts/lead.js';
import { redactSecrets } from '../contracts/secrets.js';
import { getLeadField } from '../lead/index.js';

export type { CrmFieldMappingDefinition } from '../contracts/crm-mapping.js';

const mappingMarker = Symbol.for('leadpipe.crm.FieldMapping');

/**
 * A validated, frozen field mapping. Build it with {@link defineFieldMapping}
 * (which marks it, so `isFieldMapping` can tell it from a look-alike).
 */
export interface CrmFieldMapping extends CrmFieldMappingDefinition {
  /** CRM properties whose conflict policy is not `overwrite`, with the policy. */
  readonly guardedProperties: Readonly<Record<string, Exclude<CrmConflictPolicy, 'overwrite'>>>;
}

/** What {@link mapLead} returns: the record, or why the lead cannot be mapped. */
export type MapLeadResult =
  | {
      /** The record to upsert: its normalized key and every non-empty mapped property. */
      readonly record: CrmRecord;
      /** Absent: the lead was mapped. */
      readonly issues?: undefined;
    }
  | {
      /** Absent: the lead was not mapped. */
      readonly record?: undefined;
      /** Every reason the lead cannot be mapped, each naming the CRM property. */
      readonly issues: readonly ValidationIssue[];
    };

const NON_SCALAR_FIELDS: ReadonlySet<string> = new Set([
  'location',
  'company.location',
  'company.technologies',
]);

const isFunction = (value: unknown): value is (...args: never[]) => unknown => typeof value === 'function';

const sourceSchema = z.union([
  z.custom<(lead: Lead) => unknown>(isFunction, {
    message: 'must be a Lead field, "id", "custom.<name>" or a function',
  }),
  z.string().refine((value) => value === 'id' || isLeadField(value) || /^custom\.[^.\s]+$/.test(value), {
    message: 'must be a Lead field, "id", "custom.<name>" or a function',
  }),
]);

const propertyNameSchema = z.string().trim().min(1, 'must be a non-empty property name');

const scalarSchema = z.union([z.string(), z.number().refine(Number.isFinite, 'must be finite'), z.boolean()]);

const definitionSchema = z.object({
  object: z.string().trim().min(1, 'must be a non-empty object type'),
  idProperty: z.object({
    from: sourceSchema,
    to: propertyNameSchema,
    caseSensitive: z.boolean().optional(),
  }),
  fields: z.array(
    z.object({
      from: sourceSchema,
      to: propertyNameSchema,
      transform: z
        .custom<(value: unknown, lead: Lead) => unknown>(isFunction, 'must be a function')
        .optional(),
      default: scalarSchema.optional(),
      required: z.boolean().optional(),
      conflict: z.enum(['overwrite', 'fillEmpty', 'never']).optional(),
    }),
  ),
});

function pathOf(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, part) => {
    if (typeof part === 'number') return `${out}[${part}]`;
    return out === '' ? String(part) : `${out}.${String(part)}`;
  }, '');
}

/**
 * Define how leads become CRM records. Checked at once with zod; a bad
 * definition throws a {@link ValidationError} whose issues name each
 * offending setting (`fields[2].conflict`).
 *
 * @example
 * ```ts
 * const contacts = defineFieldMapping({
 *   object: 'contacts',
 *   idProperty: { from: 'email', to: 'email' },
 *   fields: [
 *     { from: 'firstName', to: 'firstname' },
 *     { from: 'title', to: 'jobtitle', conflict: 'fillEmpty' },
 *     { from: 'company.name', to: 'company', required: true },
 *     { from: (lead) => lead.custom?.source, to: 'lead_source', default: 'leadpipe', conflict: 'never' },
 *   ],
 * });
 * ```
 */
export function defineFieldMapping(definition: CrmFieldMappingDefinition): CrmFieldMapping {
  const parsed = definitionSchema.safeParse(definition);
  if (!parsed.success) {
    throw new ValidationError(
      parsed.error.issues.map((issue) => ({ field: pathOf(issue.path) || 'mapping', reason: issue.message })),
      {
        message: `defineFieldMapping: ${parsed.error.issues.map((issue) => `${pathOf(issue.path) || 'mapping'}: ${issue.message}`).join('; ')}`,
      },
    );
  }
  const issues: ValidationIssue[] = [];
  const seen = new Map<string, number>();
  const idTo = definition.idProperty.to.trim();
  const checkSource = (from: CrmFieldSource, hasTransform: boolean, field: string): void => {
    if (typeof from === 'string' && NON_SCALAR_FIELDS.has(from) && !hasTransform) {
      issues.push({
        field,
        reason: `"${from}" holds an object or a list; give a transform that turns it into a string, number or boolean`,
      });
    }
  };
  checkSource(definition.idProperty.from, false, 'idProperty.from');
  definition.fields.forEach((entry, index) => {
    const to = entry.to.trim();
    if (to === idTo) {
      issues.push({
        field: `fields[${index}].to`,
        reason: `"${to}" is the id property; it is written from the key`,
      });
    }
    const previous = seen.get(to);
    if (previous !== undefined) {
      issues.push({
        field: `fields[${index}].to`,
        reason: `"${to}" is already mapped by fields[${previous}]`,
      });
    } else {
      seen.set(to, index);
    }
    checkSource(entry.from, entry.transform !== undefined, `fields[${index}].from`);
  });
  if (issues.length > 0) {
    throw new ValidationError(issues, {
      message: `defineFieldMapping: ${issues.map((issue) => `${issue.field}: ${issue.reason}`).join('; ')}`,
    });
  }
  const guarded: Record<string, Exclude<CrmConflictPolicy, 'overwrite'>> = {};
  const fields = definition.fields.map((entry) => {
    const to = entry.to.trim();
    if (entry.conflict === 'fillEmpty' || entry.conflict === 'never') guarded[to] = entry.conflict;
    return Object.freeze({ ...entry, to });
  });
  const mapping = {
    object: definition.object.trim(),
    idProperty: Object.freeze({ ...definition.idProperty, to: idTo }),
    fields: Object.freeze(fields),
    guardedProperties: Object.freeze(guarded),
  };
  // Not enumerable: a spread copy (which may have been edited) is not trusted as checked.
  Object.defineProperty(mapping, mappingMarker, { value: true, enumerable: false });
  return Object.freeze(mapping as CrmFieldMapping);
}

/** Whether a value is a mapping built by {@link defineFieldMapping}. */
export function isFieldMapping(value: unknown): value is CrmFieldMapping {
  return (
    typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[mappingMarker] === true
  );
}

function readSource(lead: Lead, from: CrmFieldSource): unknown {
  if (typeof from === 'function') return from(lead);
  if (from === 'id') return lead.id;
  if (from.startsWith('custom.')) return lead.custom?.[from.slice('custom.'.length)];
  return isLeadField(from) ? getLeadField(lead, from) : undefined;
}

function isEmpty(value: unknown): value is undefined | null | '' {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Date) return 'a Date';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

type Resolved = { readonly value: CrmPropertyValue | undefined } | { readonly reason: string };

function resolve(lead: Lead, entry: Pick<CrmFieldMappingEntry, 'from' | 'transform' | 'default'>): Resolved {
  let value: unknown;
  try {
    value = readSource(lead, entry.from);
    if (entry.transform) value = entry.transform(value, lead);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      reason: `${entry.transform ? 'transform' : 'source function'} threw: ${redactSecrets(message)}`,
    };
  }
  if (isEmpty(value)) return { value: entry.default };
  if (typeof value === 'number' && !Number.isFinite(value)) return { reason: 'value is not a finite number' };
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return { value };
  return { reason: `value is ${describe(value)}; transform it into a string, number or boolean` };
}

/**
 * Normalize a key the way records are matched: trimmed, and lower-cased
 * unless the id property is case-sensitive.
 */
export function normalizeCrmKey(key: string, caseSensitive = false): string {
  const trimmed = key.trim();
  return caseSensitive ? trimmed : trimmed.toLowerCase();
}

/**
 * Map a lead to a CRM record. Every field is checked before anything is
 * sent: a missing key, a missing required value, a value that is not a
 * string, number or boolean, or a transform that throws each yield an issue
 * naming the CRM property and the reason, and no record.
 */
export function mapLead(lead: Lead, mapping: CrmFieldMapping): MapLeadResult {
  const issues: ValidationIssue[] = [];
  const id = mapping.idProperty;
  const keyValue = resolve(lead, { from: id.from });
  let key: string | undefined;
  if ('reason' in keyValue) {
    issues.push({ field: id.to, reason: `id property: ${keyValue.reason}` });
  } else if (keyValue.value === undefined || typeof keyValue.value === 'boolean') {
    issues.push({
      field: id.to,
      reason:
        keyValue.value === undefined
          ? `id property is missing (from ${typeof id.from === 'function' ? 'a function' : id.from})`
          : 'id property must be a string or a number',
    });
  } else {
    key = normalizeCrmKey(String(keyValue.value), id.caseSensitive);
  }
  const properties: Record<string, CrmPropertyValue> = {};
  for (const entry of mapping.fields) {
    const resolved = resolve(lead, entry);
    if ('reason' in resolved) {
      issues.push({ field: entry.to, reason: resolved.reason });
    } else if (resolved.value === undefined) {
      if (entry.required) {
        issues.push({
          field: entry.to,
          reason: `required value is missing (from ${typeof entry.from === 'function' ? 'a function' : entry.from})`,
        });
      }
    } else {
      properties[entry.to] = resolved.value;
    }
  }
  if (issues.length > 0 || key === undefined) return { issues };
  return { record: { key, properties } };
}

/**
 * Merge two records with the same key: properties of `later` win, since a
 * mapped record holds non-empty values only.
 */
export function mergeCrmProperties(earlier: CrmProperties, later: CrmProperties): CrmProperties {
  return { ...earlier, ...later };
}

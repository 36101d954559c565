import type { CrmPropertyValue, CrmRecord, CrmRecordError } from '@leadpipe/core/adapter-kit';
import { z } from 'zod';
import { matchPicklistValue, type PicklistSynonyms } from './salesforce-picklists.js';

/** One field of an sObject, as `describe` reports it (the keys the adapter reads). */
export interface SalesforceField {
  /** API name, such as `LastName`. */
  readonly name: string;
  /** Field type: `string`, `picklist`, `int`, `double`, `currency`, `percent`, `boolean`, `date`, `datetime`… */
  readonly type: string;
  /** Longest text value, 0 when not text. */
  readonly length: number;
  /** Whether it may be empty. */
  readonly nillable: boolean;
  /** Whether a create may set it. */
  readonly createable: boolean;
  /** Whether an update may set it. */
  readonly updateable: boolean;
  /** Whether Salesforce fills it in on create. */
  readonly defaultedOnCreate: boolean;
  /** Whether it is an External ID. */
  readonly externalId: boolean;
  /** Whether it can identify a record (Id and External IDs). */
  readonly idLookup: boolean;
  /** Whether a picklist rejects other values. */
  readonly restrictedPicklist: boolean;
  /** Active picklist values. */
  readonly picklistValues: readonly string[];
  /** Digits of an `int` field. */
  readonly digits: number;
  /** Total digits of a `double`/`currency`/`percent` field. */
  readonly precision: number;
  /** Digits after the point. */
  readonly scale: number;
}

/** The fields of one sObject, by lower-cased name. */
export interface SalesforceObjectDescription {
  /** The sObject name. */
  readonly name: string;
  /** Fields by lower-cased API name. */
  readonly fields: ReadonlyMap<string, SalesforceField>;
  /** Fields a create must set: not nillable, createable, not defaulted on create (Lead: LastName, Company). */
  readonly requiredOnCreate: readonly SalesforceField[];
}

/** `describe` as the adapter reads it. */
export const describeSchema = z.object({
  name: z.string(),
  fields: z.array(
    z.object({
      name: z.string(),
      type: z.string(),
      length: z.number().optional(),
      nillable: z.boolean().optional(),
      createable: z.boolean().optional(),
      updateable: z.boolean().optional(),
      defaultedOnCreate: z.boolean().optional(),
      externalId: z.boolean().optional(),
      idLookup: z.boolean().optional(),
      restrictedPicklist: z.boolean().optional(),
      picklistValues: z
        .array(z.object({ value: z.string(), active: z.boolean().optional() }))
        .nullable()
        .optional(),
      digits: z.number().optional(),
      precision: z.number().optional(),
      scale: z.number().optional(),
    }),
  ),
});

/** Turn a `describe` body into a {@link SalesforceObjectDescription}. */
export function toDescription(body: z.infer<typeof describeSchema>): SalesforceObjectDescription {
  const fields = new Map<string, SalesforceField>();
  for (const raw of body.fields) {
    fields.set(raw.name.toLowerCase(), {
      name: raw.name,
      type: raw.type,
      length: raw.length ?? 0,
      nillable: raw.nillable ?? true,
      createable: raw.createable ?? true,
      updateable: raw.updateable ?? true,
      defaultedOnCreate: raw.defaultedOnCreate ?? false,
      externalId: raw.externalId ?? false,
      idLookup: raw.idLookup ?? false,
      restrictedPicklist: raw.restrictedPicklist ?? false,
      picklistValues: (raw.picklistValues ?? [])
        .filter((item) => item.active !== false)
        .map((item) => item.value),
      digits: raw.digits ?? 0,
      precision: raw.precision ?? 0,
      scale: raw.scale ?? 0,
    });
  }
  const requiredOnCreate = [...fields.values()].filter(
    (field) => !field.nillable && field.createable && !field.defaultedOnCreate && field.type !== 'boolean',
  );
  return { name: body.name, fields, requiredOnCreate };
}

/** Values ready to send, keyed by the field's exact API name. */
export type SalesforceValues = Record<string, string | number | boolean>;

/** A record after {@link prepareRecord}: ready to send, or failed with why. */
export type PreparedRecord =
  | {
      readonly ok: true;
      readonly key: string;
      readonly values: SalesforceValues;
      /** Required-on-create fields the record does not set (it can only update an existing record). */
      readonly missingRequired: readonly string[];
      /** Fields left out because their value is outside a restricted picklist, each with why. */
      readonly warnings: readonly { readonly field: string; readonly reason: string }[];
    }
  | { readonly ok: false; readonly key: string; readonly error: CrmRecordError };

const NUMBER_TEXT = /^[+-]?(?:\d{1,3}(?:[,\s]\d{3})+|\d+)(?:\.\d+)?$/;
const NUMBER_TYPES = new Set(['int', 'double', 'currency', 'percent', 'long']);
const TEXT_TYPES = new Set([
  'string',
  'email',
  'phone',
  'url',
  'textarea',
  'picklist',
  'multipicklist',
  'combobox',
]);

function toNumber(value: CrmPropertyValue): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim().replace(/^\$/, '').replace(/%$/, '');
  if (!NUMBER_TEXT.test(text)) return undefined;
  return Number(text.replace(/[,\s]/g, ''));
}

function toBoolean(value: CrmPropertyValue): boolean | undefined {
  if (typeof value === 'boolean') return value;
  const text = String(value).trim().toLowerCase();
  if (['true', '1', 'yes'].includes(text)) return true;
  if (['false', '0', 'no'].includes(text)) return false;
  return undefined;
}

function describeValue(value: CrmPropertyValue): string {
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/**
 * Convert one property to what the field takes, or say why it cannot be:
 * numbers from text (`"1,200"` → 1200; `int` fields must be whole), booleans
 * from `yes`/`no`/`1`/`0`, picklist values matched to the field's own
 * spelling (case-insensitively; on a restricted picklist also through the
 * synonym table), text checked against the field's length, dates from
 * epoch milliseconds.
 */
function convertValue(
  field: SalesforceField,
  value: CrmPropertyValue,
  synonyms: PicklistSynonyms,
):
  | {
      /** The value to send: a number, a boolean, the picklist's own spelling, or text (epoch ms become ISO 8601). */
      value: string | number | boolean;
    }
  | {
      /** Why the value does not fit (`must be a number, got "abc"`); shown after the field name. */
      reason: string;
      /** Set when the value is outside a restricted picklist: the field can be left out instead. */
      restricted?: true;
    } {
  if (NUMBER_TYPES.has(field.type)) {
    const number = toNumber(value);
    if (number === undefined) return { reason: `must be a number, got ${describeValue(value)}` };
    if ((field.type === 'int' || field.type === 'long') && !Number.isInteger(number)) {
      return { reason: `must be a whole number, got ${describeValue(value)}` };
    }
    const integerDigits = field.type === 'int' ? field.digits : field.precision - field.scale;
    if (integerDigits > 0 && Math.abs(Math.trunc(number)) >= 10 ** integerDigits) {
      return {
        reason: `must have at most ${integerDigits} digits before the decimal point, got ${describeValue(value)}`,
      };
    }
    return { value: number };
  }
  if (field.type === 'boolean') {
    const bool = toBoolean(value);
    return bool === undefined
      ? { reason: `must be true or false, got ${describeValue(value)}` }
      : { value: bool };
  }
  if (field.type === 'date' || field.type === 'datetime') {
    if (typeof value === 'number') {
      const date = new Date(value);
      if (Number.isNaN(date.getTime())) return { reason: `must be a date, got ${describeValue(value)}` };
      const iso = date.toISOString();
      return { value: field.type === 'date' ? iso.slice(0, 10) : iso };
    }
    if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return { value };
    return { reason: `must be an ISO 8601 date or epoch milliseconds, got ${describeValue(value)}` };
  }
  const text = typeof value === 'string' ? value : String(value);
  if (field.type === 'picklist') {
    if (!field.restrictedPicklist) {
      // Any value is accepted: only the spelling of an existing value is adopted.
      const match = field.picklistValues.find((option) => option.toLowerCase() === text.trim().toLowerCase());
      return { value: match ?? text };
    }
    const match = matchPicklistValue(text.trim(), field.picklistValues, synonyms);
    if (match !== undefined) return { value: match.value };
    const shown = field.picklistValues.slice(0, 8).join(', ');
    return {
      restricted: true,
      reason: `${describeValue(value)} is not a value of this restricted picklist (${shown}${field.picklistValues.length > 8 ? ', ...' : ''}) and no synonym fits`,
    };
  }
  if (TEXT_TYPES.has(field.type) && field.length > 0 && text.length > field.length) {
    return { reason: `is ${text.length} characters long; at most ${field.length} fit` };
  }
  return { value: text };
}

function validation(
  key: string,
  issues: readonly { field: string; reason: string }[],
  vendorCode: string,
): PreparedRecord {
  return {
    ok: false,
    key,
    error: {
      code: 'validation_failed',
      message: issues.map((issue) => `${issue.field}: ${issue.reason}`).join('; '),
      retryable: false,
      vendorCode,
      raw: { issues },
    },
  };
}

/** What {@link prepareRecord} needs beside the record and the description. */
export interface PrepareRules {
  /** Enriched values and the picklist values they stand for. */
  readonly synonyms: PicklistSynonyms;
  /** Lower-cased names of the fields the mapping marks required: never left out, the record fails instead. */
  readonly required: ReadonlySet<string>;
}

/**
 * Check and convert one record against the object's description before it
 * is sent, so one bad value fails its own record instead of the whole call
 * (Salesforce answers a wrongly typed JSON value with a 400 for the request).
 * A value outside a restricted picklist that nothing maps onto leaves its
 * field out with a warning, unless the mapping marks the field required:
 * then the record fails (`INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST`).
 */
export function prepareRecord(
  record: CrmRecord,
  idField: SalesforceField,
  description: SalesforceObjectDescription,
  rules: PrepareRules,
): PreparedRecord {
  const issues: { field: string; reason: string }[] = [];
  const warnings: { field: string; reason: string }[] = [];
  let vendorCode = 'INVALID_FIELD_VALUE';
  const values: SalesforceValues = {};
  if (record.key.trim() === '') issues.push({ field: idField.name, reason: 'the key is empty' });
  else if (idField.length > 0 && record.key.length > idField.length) {
    issues.push({
      field: idField.name,
      reason: `the key is ${record.key.length} characters long; at most ${idField.length} fit`,
    });
  }
  for (const [name, value] of Object.entries(record.properties)) {
    const field = description.fields.get(name.toLowerCase());
    if (field === undefined) {
      issues.push({ field: name, reason: `no such field on ${description.name}` });
      continue;
    }
    if (field.name === 'Id') {
      issues.push({ field: name, reason: 'the record Id cannot be written in an upsert by external id' });
      continue;
    }
    if (field.name === idField.name) {
      if (String(value).toLowerCase() !== record.key.toLowerCase()) {
        issues.push({ field: name, reason: 'differs from the record key it is upserted by' });
      }
      continue;
    }
    if (!field.createable && !field.updateable) {
      issues.push({ field: field.name, reason: 'is read-only' });
      continue;
    }
    if (typeof value === 'string' && value.trim() === '') continue;
    const converted = convertValue(field, value, rules.synonyms);
    if (!('reason' in converted)) values[field.name] = converted.value;
    else if (converted.restricted === true && !rules.required.has(field.name.toLowerCase())) {
      warnings.push({
        field: field.name,
        reason: `${converted.reason}: left out, the record is written without it`,
      });
    } else {
      if (converted.restricted === true && issues.length === 0)
        vendorCode = 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST';
      issues.push({
        field: field.name,
        reason:
          converted.restricted === true
            ? `${converted.reason}, and the mapping marks it required`
            : converted.reason,
      });
    }
  }
  if (issues.length > 0) return validation(record.key, issues, vendorCode);
  const missingRequired = description.requiredOnCreate
    .filter((field) => field.name !== idField.name && values[field.name] === undefined)
    .map((field) => field.name);
  return { ok: true, key: record.key, values, missingRequired, warnings };
}

/** The failure of a record that lacks required fields and matches no existing record. */
export function missingRequiredFailure(
  key: string,
  object: string,
  missing: readonly string[],
): PreparedRecord {
  return validation(
    key,
    missing.map((field) => ({
      field,
      reason: `required to create a ${object}, and no ${object} has this key yet`,
    })),
    'REQUIRED_FIELD_MISSING',
  );
}

/** Quote a value as a SOQL string literal. */
export function soqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r')}'`;
}

/** A valid sObject or field API name (no SOQL can hide in one): every name a request carries is checked against it. */
export const SALESFORCE_API_NAME = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;

import type { SalesforceRecordError } from './errors.js';
import { httpFailure } from './errors.js';

/** A value stored in an emulated record. Datetimes are kept as epoch milliseconds. */
export type FieldValue = string | number | boolean | null;

/** Field types the emulated Lead uses, as `describe` names them. */
export type SalesforceFieldType =
  | 'id'
  | 'string'
  | 'email'
  | 'phone'
  | 'url'
  | 'textarea'
  | 'picklist'
  | 'int'
  | 'double'
  | 'currency'
  | 'boolean'
  | 'datetime'
  | 'reference';

/** One field of the emulated Lead, as `describe` reports it. */
export interface SalesforceFieldDefinition {
  /** API name, such as `LastName` or `Lead_Key__c`. */
  readonly name: string;
  /** Label shown in the UI and used in error messages. */
  readonly label: string;
  /** Field type, as `describe` names it; sets how values are checked and converted. */
  readonly type: SalesforceFieldType;
  /** Maximum length of text values. */
  readonly length?: number;
  /** Whether the field may be null. Default true. */
  readonly nillable?: boolean;
  /** Whether a create may set it. Default true. */
  readonly createable?: boolean;
  /** Whether an update may set it. Default true. */
  readonly updateable?: boolean;
  /** Whether the field is an External ID (usable for upsert). Default false. */
  readonly externalId?: boolean;
  /** Whether values must be unique across records. Default false. */
  readonly unique?: boolean;
  /** Whether uniqueness and matching are case-sensitive. Default false. */
  readonly caseSensitive?: boolean;
  /** Allowed values of a picklist. */
  readonly picklistValues?: readonly string[];
  /** Whether a picklist rejects values outside {@link picklistValues}. */
  readonly restrictedPicklist?: boolean;
  /** Value a create fills in when the field is not given. */
  readonly defaultValue?: FieldValue;
  /** Total digits of a number field (int: digits; double/currency: digits including scale). */
  readonly precision?: number;
  /** Digits after the decimal point of a double or currency field. */
  readonly scale?: number;
}

const INDUSTRIES = [
  'Agriculture',
  'Apparel',
  'Banking',
  'Biotechnology',
  'Chemicals',
  'Communications',
  'Construction',
  'Consulting',
  'Education',
  'Electronics',
  'Energy',
  'Engineering',
  'Entertainment',
  'Environmental',
  'Finance',
  'Food & Beverage',
  'Government',
  'Healthcare',
  'Hospitality',
  'Insurance',
  'Machinery',
  'Manufacturing',
  'Media',
  'Not For Profit',
  'Recreation',
  'Retail',
  'Shipping',
  'Technology',
  'Telecommunications',
  'Transportation',
  'Utilities',
  'Other',
] as const;

/** Status values of the emulated Lead (a restricted picklist, defaulted on create). */
const LEAD_STATUSES = [
  'Open - Not Contacted',
  'Working - Contacted',
  'Closed - Converted',
  'Closed - Not Converted',
] as const;

/**
 * The fields of the emulated Lead: the standard ones leadpipe uses (LastName
 * and Company required), system fields, and two custom External ID fields:
 * `Lead_Key__c` (unique) and `Legacy_Id__c` (not unique, so an upsert on it
 * can answer 300 Multiple Choices).
 */
const LEAD_FIELDS: readonly SalesforceFieldDefinition[] = [
  {
    name: 'Id',
    label: 'Lead ID',
    type: 'id',
    length: 18,
    nillable: false,
    createable: false,
    updateable: false,
  },
  {
    name: 'IsDeleted',
    label: 'Deleted',
    type: 'boolean',
    nillable: false,
    createable: false,
    updateable: false,
  },
  { name: 'LastName', label: 'Last Name', type: 'string', length: 80, nillable: false },
  { name: 'FirstName', label: 'First Name', type: 'string', length: 40 },
  {
    name: 'Name',
    label: 'Full Name',
    type: 'string',
    length: 121,
    nillable: false,
    createable: false,
    updateable: false,
  },
  { name: 'Title', label: 'Title', type: 'string', length: 128 },
  { name: 'Company', label: 'Company', type: 'string', length: 255, nillable: false },
  { name: 'Email', label: 'Email', type: 'email', length: 80 },
  { name: 'Phone', label: 'Phone', type: 'phone', length: 40 },
  { name: 'Website', label: 'Website', type: 'url', length: 255 },
  { name: 'City', label: 'City', type: 'string', length: 40 },
  { name: 'State', label: 'State/Province', type: 'string', length: 80 },
  { name: 'Country', label: 'Country', type: 'string', length: 80 },
  { name: 'Description', label: 'Description', type: 'textarea', length: 32000 },
  {
    name: 'LeadSource',
    label: 'Lead Source',
    type: 'picklist',
    length: 255,
    picklistValues: ['Web', 'Phone Inquiry', 'Partner Referral', 'Purchased List', 'Other'],
    restrictedPicklist: false,
  },
  {
    name: 'Status',
    label: 'Lead Status',
    type: 'picklist',
    length: 255,
    nillable: false,
    picklistValues: LEAD_STATUSES,
    restrictedPicklist: true,
    defaultValue: 'Open - Not Contacted',
  },
  {
    name: 'Industry',
    label: 'Industry',
    type: 'picklist',
    length: 255,
    picklistValues: INDUSTRIES,
    restrictedPicklist: true,
  },
  { name: 'NumberOfEmployees', label: 'Employees', type: 'int', precision: 8 },
  { name: 'AnnualRevenue', label: 'Annual Revenue', type: 'currency', precision: 18, scale: 0 },
  {
    name: 'Lead_Key__c',
    label: 'Lead Key',
    type: 'string',
    length: 255,
    externalId: true,
    unique: true,
    caseSensitive: false,
  },
  { name: 'Legacy_Id__c', label: 'Legacy Id', type: 'string', length: 100, externalId: true, unique: false },
  { name: 'Score__c', label: 'Score', type: 'double', precision: 18, scale: 2 },
  { name: 'OwnerId', label: 'Owner ID', type: 'reference', length: 18, nillable: false, createable: false },
  {
    name: 'CreatedDate',
    label: 'Created Date',
    type: 'datetime',
    nillable: false,
    createable: false,
    updateable: false,
  },
  {
    name: 'CreatedById',
    label: 'Created By ID',
    type: 'reference',
    length: 18,
    nillable: false,
    createable: false,
    updateable: false,
  },
  {
    name: 'LastModifiedDate',
    label: 'Last Modified Date',
    type: 'datetime',
    nillable: false,
    createable: false,
    updateable: false,
  },
  {
    name: 'LastModifiedById',
    label: 'Last Modified By ID',
    type: 'reference',
    length: 18,
    nillable: false,
    createable: false,
    updateable: false,
  },
  {
    name: 'SystemModstamp',
    label: 'System Modstamp',
    type: 'datetime',
    nillable: false,
    createable: false,
    updateable: false,
  },
];

/** The Lead schema with case-insensitive lookup. */
export class LeadSchema {
  /** Every field, standard first, then the extra custom fields. */
  readonly fields: readonly SalesforceFieldDefinition[];
  private readonly byLowerName: Map<string, SalesforceFieldDefinition>;

  /** @param extraFields - custom fields to add to the standard ones. */
  constructor(extraFields: readonly SalesforceFieldDefinition[] = []) {
    this.fields = [...LEAD_FIELDS, ...extraFields];
    this.byLowerName = new Map(this.fields.map((field) => [field.name.toLowerCase(), field]));
  }

  /** The field named `name` (any case), if it exists. */
  field(name: string): SalesforceFieldDefinition | undefined {
    return this.byLowerName.get(name.toLowerCase());
  }

  /** Fields required on create: not nillable, createable, and with no default. */
  requiredFields(): SalesforceFieldDefinition[] {
    return this.fields.filter(
      (field) => field.nillable === false && field.createable !== false && field.defaultValue === undefined,
    );
  }

  /** The `describe` body of the Lead, in Salesforce's shape (the subset of keys clients read). */
  describe(version: string): Record<string, unknown> {
    const base = `/services/data/v${version}/sobjects/Lead`;
    return {
      name: 'Lead',
      label: 'Lead',
      labelPlural: 'Leads',
      keyPrefix: '00Q',
      custom: false,
      createable: true,
      updateable: true,
      deletable: true,
      queryable: true,
      searchable: true,
      undeletable: true,
      urls: { sobject: base, describe: `${base}/describe`, rowTemplate: `${base}/{ID}` },
      fields: this.fields.map((field) => describeField(field)),
    };
  }
}

function describeField(field: SalesforceFieldDefinition): Record<string, unknown> {
  const nillable = field.nillable ?? true;
  const createable = field.createable ?? true;
  const isNumber = field.type === 'int' || field.type === 'double' || field.type === 'currency';
  return {
    name: field.name,
    label: field.label,
    type: field.type,
    soapType: soapType(field.type),
    length: isNumber || field.type === 'boolean' || field.type === 'datetime' ? 0 : (field.length ?? 255),
    digits: field.type === 'int' ? (field.precision ?? 9) : 0,
    precision: field.type === 'double' || field.type === 'currency' ? (field.precision ?? 18) : 0,
    scale: field.type === 'double' || field.type === 'currency' ? (field.scale ?? 0) : 0,
    nillable,
    createable,
    updateable: field.updateable ?? true,
    defaultedOnCreate:
      field.defaultValue !== undefined ||
      field.type === 'id' ||
      field.type === 'datetime' ||
      field.name === 'OwnerId',
    defaultValue: field.defaultValue ?? null,
    externalId: field.externalId ?? false,
    idLookup: field.type === 'id' || (field.externalId ?? false),
    unique: field.unique ?? false,
    caseSensitive: field.caseSensitive ?? false,
    custom: field.name.endsWith('__c'),
    calculated: field.name === 'Name',
    filterable: true,
    sortable: field.type !== 'textarea',
    restrictedPicklist: field.restrictedPicklist ?? false,
    picklistValues: (field.picklistValues ?? []).map((value) => ({
      active: true,
      defaultValue: field.defaultValue === value,
      label: value,
      validFor: null,
      value,
    })),
    referenceTo: field.type === 'reference' ? ['User'] : [],
  };
}

function soapType(type: SalesforceFieldType): string {
  switch (type) {
    case 'id':
    case 'reference':
      return 'tns:ID';
    case 'int':
      return 'xsd:int';
    case 'double':
    case 'currency':
      return 'xsd:double';
    case 'boolean':
      return 'xsd:boolean';
    case 'datetime':
      return 'xsd:dateTime';
    default:
      return 'xsd:string';
  }
}

/** Where field values came from: JSON bodies are typed, CSV cells are text with Bulk API rules. */
export type ValueSource = 'json' | 'csv';

/** The outcome of reading one raw value. */
export type CoercedValue =
  | { readonly kind: 'value'; readonly value: FieldValue }
  | { readonly kind: 'skip' }
  | { readonly kind: 'error'; readonly error: SalesforceRecordError };

/** Parse an ISO-8601 datetime the way SOQL and the REST API accept it; `undefined` when malformed. */
export function parseDatetime(text: string): number | undefined {
  const match =
    /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(text);
  if (match === null) return undefined;
  const [, year, month, day, hour = '00', minute = '00', second = '00', fraction = '0', zone = 'Z'] = match;
  const offsetText =
    zone === 'Z' ? '+00:00' : zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const iso = `${year}-${month}-${day}T${hour}:${minute}:${second}.${fraction.padEnd(3, '0')}${offsetText}`;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Salesforce's JSON datetime format: `2026-01-01T00:00:00.000+0000`. */
export function formatDatetime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

function typeError(field: SalesforceFieldDefinition, raw: unknown): SalesforceRecordError {
  return {
    statusCode: 'INVALID_TYPE_ON_FIELD_IN_RECORD',
    message: `${field.label}: value not of required type: ${String(raw)}`,
    fields: [field.name],
  };
}

function coerceText(field: SalesforceFieldDefinition, text: string): CoercedValue {
  switch (field.type) {
    case 'int': {
      if (!/^[+-]?\d+(?:\.0+)?$/.test(text.trim())) return { kind: 'error', error: typeError(field, text) };
      return { kind: 'value', value: Number.parseInt(text.trim(), 10) };
    }
    case 'double':
    case 'currency': {
      const value = Number(text.trim());
      if (text.trim() === '' || !Number.isFinite(value))
        return { kind: 'error', error: typeError(field, text) };
      return { kind: 'value', value };
    }
    case 'boolean': {
      const lower = text.trim().toLowerCase();
      if (lower === 'true' || lower === '1') return { kind: 'value', value: true };
      if (lower === 'false' || lower === '0') return { kind: 'value', value: false };
      return { kind: 'error', error: typeError(field, text) };
    }
    case 'datetime': {
      const ms = parseDatetime(text.trim());
      if (ms === undefined) return { kind: 'error', error: typeError(field, text) };
      return { kind: 'value', value: ms };
    }
    default:
      return { kind: 'value', value: text };
  }
}

/**
 * Read one raw value for `field`. JSON: `null` clears, wrong JSON types fail
 * with a top-level `JSON_PARSER_ERROR` (thrown, as Salesforce fails the whole
 * request). CSV (Bulk API): an empty cell leaves the field unchanged, `#N/A`
 * clears it, bad numbers fail the row.
 */
export function coerceValue(
  field: SalesforceFieldDefinition,
  raw: unknown,
  source: ValueSource,
): CoercedValue {
  if (source === 'csv') {
    const text = typeof raw === 'string' ? raw : String(raw);
    if (text === '') return { kind: 'skip' };
    if (text === '#N/A') return { kind: 'value', value: null };
    return coerceText(field, text);
  }
  if (raw === null) return { kind: 'value', value: null };
  const isText = typeof raw === 'string';
  const ok =
    field.type === 'int' || field.type === 'double' || field.type === 'currency'
      ? typeof raw === 'number' || isText
      : field.type === 'boolean'
        ? typeof raw === 'boolean' || isText
        : isText || typeof raw === 'number' || typeof raw === 'boolean';
  if (ok) {
    if (typeof raw === 'number' && field.type === 'int' && Number.isInteger(raw))
      return { kind: 'value', value: raw };
    if (typeof raw === 'number' && (field.type === 'double' || field.type === 'currency')) {
      return { kind: 'value', value: raw };
    }
    if (typeof raw === 'boolean' && field.type === 'boolean') return { kind: 'value', value: raw };
    const coerced = coerceText(field, String(raw));
    if (coerced.kind !== 'error') return coerced;
  }
  const javaType =
    field.type === 'int'
      ? 'int'
      : field.type === 'boolean'
        ? 'boolean'
        : field.type === 'double'
          ? 'double'
          : 'String';
  const jsonType = Array.isArray(raw)
    ? 'START_ARRAY'
    : typeof raw === 'object'
      ? 'START_OBJECT'
      : 'VALUE_STRING';
  throw httpFailure(
    400,
    'JSON_PARSER_ERROR',
    `Cannot deserialize instance of ${javaType} from ${jsonType} value ${JSON.stringify(raw)} or request may be missing a required field`,
  );
}

const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * Field-level checks Salesforce runs on save, returning per-record errors:
 * length, email format, restricted picklists, number ranges.
 */
export function checkValue(field: SalesforceFieldDefinition, value: FieldValue): SalesforceRecordError[] {
  if (value === null) return [];
  const errors: SalesforceRecordError[] = [];
  if (typeof value === 'string') {
    if (field.length !== undefined && value.length > field.length) {
      errors.push({
        statusCode: 'STRING_TOO_LONG',
        message: `${field.label}: data value too large: ${value.slice(0, 80)} (max length=${field.length})`,
        fields: [field.name],
      });
    }
    if (field.type === 'email' && !EMAIL_PATTERN.test(value)) {
      errors.push({
        statusCode: 'INVALID_EMAIL_ADDRESS',
        message: `${field.label}: invalid email address: ${value}`,
        fields: [field.name],
      });
    }
    if (
      field.type === 'picklist' &&
      field.restrictedPicklist === true &&
      !field.picklistValues?.includes(value)
    ) {
      errors.push({
        statusCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
        message: `${field.label}: bad value for restricted picklist field: ${value}`,
        fields: [field.name],
      });
    }
  }
  if (
    typeof value === 'number' &&
    (field.type === 'int' || field.type === 'double' || field.type === 'currency')
  ) {
    const integerDigits = (field.precision ?? 18) - (field.scale ?? 0);
    if (Math.abs(Math.trunc(value)) >= 10 ** integerDigits) {
      errors.push({
        statusCode: 'NUMBER_OUTSIDE_VALID_RANGE',
        message: `${field.label}: value outside of valid range on numeric field: ${value}`,
        fields: [field.name],
      });
    }
  }
  return errors;
}

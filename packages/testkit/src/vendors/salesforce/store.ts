import type { SalesforceRecordError } from './errors.js';
import type { FieldValue, LeadSchema, SalesforceFieldDefinition } from './schema.js';
import { checkValue } from './schema.js';

/** A stored Lead: canonical field names to values (datetimes as epoch ms). */
export type LeadRecord = Readonly<Record<string, FieldValue>>;

/** The outcome of one save. */
export type SaveOutcome =
  | { readonly ok: true; readonly id: string; readonly created: boolean }
  | { readonly ok: false; readonly errors: readonly SalesforceRecordError[] }
  | {
      readonly ok: false;
      readonly multipleIds: readonly string[];
      readonly errors: readonly SalesforceRecordError[];
    };

/** Values to write, keyed by canonical field name. */
export type FieldValues = ReadonlyMap<string, FieldValue>;

/** What the store needs from the emulator. */
export interface LeadStoreDependencies {
  readonly schema: LeadSchema;
  readonly now: () => number;
  readonly userId: string;
  readonly newId: () => string;
}

function matchKey(field: SalesforceFieldDefinition, value: FieldValue): string {
  const text = String(value);
  return field.caseSensitive === true ? text : text.toLowerCase();
}

/** In-memory Leads with Salesforce's save rules (required fields, uniqueness, read-only fields). */
export class LeadStore {
  private records = new Map<string, Record<string, FieldValue>>();
  private readonly deps: LeadStoreDependencies;

  /** @param deps - schema, clock and id source. */
  constructor(deps: LeadStoreDependencies) {
    this.deps = deps;
  }

  /** The record with `id`, deleted or not. */
  get(id: string): LeadRecord | undefined {
    return this.records.get(id);
  }

  /** Every record in creation order, deleted ones included. */
  all(): LeadRecord[] {
    return [...this.records.values()];
  }

  /** Live records whose `field` matches `value` (case-insensitively unless the field is case-sensitive). */
  findBy(field: SalesforceFieldDefinition, value: FieldValue): LeadRecord[] {
    if (value === null || value === '') return [];
    const key = matchKey(field, value);
    return this.all().filter((record) => {
      const stored = record[field.name];
      return (
        record.IsDeleted !== true &&
        stored !== null &&
        stored !== undefined &&
        matchKey(field, stored) === key
      );
    });
  }

  /** A copy of the state, for all-or-none rollbacks. */
  snapshot(): Map<string, Record<string, FieldValue>> {
    return new Map([...this.records].map(([id, record]) => [id, { ...record }]));
  }

  /** Put back a {@link snapshot}. */
  restore(snapshot: Map<string, Record<string, FieldValue>>): void {
    this.records = snapshot;
  }

  /** Forget every record. */
  clear(): void {
    this.records.clear();
  }

  private check(values: FieldValues, mode: 'create' | 'update', selfId?: string): SalesforceRecordError[] {
    const { schema } = this.deps;
    const errors: SalesforceRecordError[] = [];
    const readOnly: string[] = [];
    for (const [name, value] of values) {
      const field = schema.field(name);
      if (field === undefined) continue;
      const writable = mode === 'create' ? field.createable !== false : field.updateable !== false;
      if (!writable) {
        readOnly.push(field.name);
        continue;
      }
      errors.push(...checkValue(field, value));
      if (field.unique === true && value !== null && value !== '') {
        const clash = this.findBy(field, value).find((record) => record.Id !== selfId);
        if (clash !== undefined) {
          errors.push({
            statusCode: 'DUPLICATE_VALUE',
            message: `duplicate value found: ${field.name} duplicates value on record with id: ${String(clash.Id)}`,
            fields: [],
          });
        }
      }
    }
    if (readOnly.length > 0) {
      errors.unshift({
        statusCode: 'INVALID_FIELD_FOR_INSERT_UPDATE',
        message: `Unable to create/update fields: ${readOnly.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
        fields: readOnly,
      });
    }
    const missing = schema
      .requiredFields()
      .filter((field) => {
        const value = values.get(field.name);
        if (mode === 'create') return value === undefined || value === null || value === '';
        return values.has(field.name) && (value === null || value === '');
      })
      .map((field) => field.name);
    if (missing.length > 0) {
      errors.unshift({
        statusCode: 'REQUIRED_FIELD_MISSING',
        message: `Required fields are missing: [${missing.join(', ')}]`,
        fields: missing,
      });
    }
    return errors;
  }

  private stamp(record: Record<string, FieldValue>, now: number): void {
    record.LastModifiedDate = now;
    record.SystemModstamp = now;
    record.LastModifiedById = this.deps.userId;
    const first = record.FirstName;
    const last = record.LastName;
    record.Name = [first, last].filter((part) => typeof part === 'string' && part !== '').join(' ');
  }

  /** Create a Lead. */
  create(values: FieldValues): SaveOutcome {
    const errors = this.check(values, 'create');
    if (errors.length > 0) return { ok: false, errors };
    const now = this.deps.now();
    const id = this.deps.newId();
    const record: Record<string, FieldValue> = {};
    for (const field of this.deps.schema.fields) {
      record[field.name] = field.defaultValue ?? (field.type === 'boolean' ? false : null);
    }
    for (const [name, value] of values) record[name] = value;
    record.Id = id;
    record.IsDeleted = false;
    record.OwnerId = this.deps.userId;
    record.CreatedById = this.deps.userId;
    record.CreatedDate = now;
    this.stamp(record, now);
    this.records.set(id, record);
    return { ok: true, id, created: true };
  }

  /** Update the live Lead `id`; unknown or deleted ids fail with ENTITY_IS_DELETED or NOT_FOUND-like errors. */
  update(id: string, values: FieldValues): SaveOutcome {
    const record = this.records.get(id);
    if (record === undefined) {
      return {
        ok: false,
        errors: [
          { statusCode: 'INVALID_CROSS_REFERENCE_KEY', message: 'invalid cross reference id', fields: [] },
        ],
      };
    }
    if (record.IsDeleted === true) {
      return {
        ok: false,
        errors: [{ statusCode: 'ENTITY_IS_DELETED', message: 'entity is deleted', fields: [] }],
      };
    }
    const errors = this.check(values, 'update', id);
    if (errors.length > 0) return { ok: false, errors };
    for (const [name, value] of values) record[name] = value;
    this.stamp(record, this.deps.now());
    return { ok: true, id, created: false };
  }

  /**
   * Upsert on External ID `field` = `value`: create when nothing matches
   * (unless `updateOnly`), update the one match, or report several matches.
   */
  upsert(
    field: SalesforceFieldDefinition,
    value: string,
    values: FieldValues,
    options: { updateOnly?: boolean } = {},
  ): SaveOutcome {
    const matches = this.findBy(field, value);
    if (matches.length > 1) {
      return {
        ok: false,
        multipleIds: matches.map((record) => String(record.Id)),
        errors: [
          {
            statusCode: 'DUPLICATE_EXTERNAL_ID',
            message: `${field.label}: more than one record found for external id field: ${matches.map((record) => String(record.Id)).join(', ')}`,
            fields: [field.name],
          },
        ],
      };
    }
    const match = matches[0];
    if (match !== undefined) return this.update(String(match.Id), values);
    if (options.updateOnly === true) {
      return {
        ok: false,
        errors: [{ statusCode: 'NOT_FOUND', message: 'The requested resource does not exist', fields: [] }],
      };
    }
    const withKey = new Map(values);
    withKey.set(field.name, value);
    return this.create(withKey);
  }

  /** Move the Lead `id` to the recycle bin (it stays visible to `queryAll`). */
  delete(id: string): boolean {
    const record = this.records.get(id);
    if (record === undefined || record.IsDeleted === true) return false;
    record.IsDeleted = true;
    this.stamp(record, this.deps.now());
    return true;
  }
}

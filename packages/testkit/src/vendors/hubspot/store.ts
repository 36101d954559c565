import type { PropertyValueIssue, WriteFailure } from './errors.js';
import { invalidInput, propertyValuesInvalid } from './errors.js';
import { builtinProperties, READ_ONLY_PROPERTIES } from './properties.js';
import type {
  HubspotAssociationRecord,
  HubspotObjectRecord,
  HubspotObjectType,
  HubspotPropertyDefinition,
} from './types.js';
import { iso, isValidEmail, objectTypeId, objectTypeLabel } from './util.js';

/** A record as held in memory. */
export interface StoredObject {
  /** Record id. */
  readonly id: string;
  /** Object type. */
  readonly objectType: HubspotObjectType;
  /** Property values (strings, as HubSpot stores them). */
  readonly properties: Record<string, string>;
  /** Creation time, emulated epoch ms. */
  readonly createdAt: number;
  /** Last change, emulated epoch ms. */
  updatedAt: number;
  /** Whether archived. */
  archived: boolean;
  /** When archived. */
  archivedAt: number | undefined;
}

/** A change the store made, for webhooks. */
export interface StoreChange {
  /** What happened. */
  readonly kind: 'creation' | 'propertyChange' | 'deletion';
  /** Object type. */
  readonly objectType: HubspotObjectType;
  /** Record id. */
  readonly objectId: string;
  /** Changed property. */
  readonly propertyName?: string;
  /** New value. */
  readonly propertyValue?: string;
  /** When, emulated epoch ms. */
  readonly occurredAt: number;
}

/** A validated write, ready to commit. */
export interface WritePlan {
  /** Object type. */
  readonly objectType: HubspotObjectType;
  /** The record to update; undefined to create one. */
  readonly target: StoredObject | undefined;
  /** Values to set; null clears a value. */
  readonly changes: Readonly<Record<string, string | null>>;
}

/** Property values as they arrive in request bodies. */
export type InputProperties = Readonly<Record<string, string | number | boolean | null>>;

/** Outcome of planning a write. */
export type PlanResult =
  | { readonly ok: true; readonly plan: WritePlan }
  | { readonly ok: false; readonly failure: WriteFailure };

/** Unique values claimed by earlier inputs of the same batch. */
export type BatchClaims = Map<string, string | symbol>;

/** HubSpot's contact<->company association types: contact->company id to company->contact id. */
export const CONTACT_TO_COMPANY_TYPES: ReadonlyMap<number, number> = new Map([
  [279, 280],
  [1, 2],
]);

/** The reverse: company->contact id to contact->company id. */
export const COMPANY_TO_CONTACT_TYPES: ReadonlyMap<number, number> = new Map(
  [...CONTACT_TO_COMPANY_TYPES].map(([forward, reverse]) => [reverse, forward]),
);

/** Labels HubSpot gives its defined association types. */
export const ASSOCIATION_LABELS: ReadonlyMap<number, string | null> = new Map([
  [279, null],
  [280, null],
  [1, 'Primary'],
  [2, 'Primary'],
]);

/** In-memory CRM state: records, property definitions, associations. */
export class HubspotStore {
  private nextId = 0;
  private readonly objects: Record<HubspotObjectType, Map<string, StoredObject>> = {
    contacts: new Map(),
    companies: new Map(),
  };
  private readonly definitions: Record<HubspotObjectType, Map<string, HubspotPropertyDefinition>> = {
    contacts: new Map(),
    companies: new Map(),
  };
  /** Unique property names per object type, recomputed when definitions change. */
  private readonly uniqueNames = new Map<HubspotObjectType, string[]>();
  /** Key `objectType|property|value` -> id of the live record holding that unique value. */
  private readonly uniqueIndex = new Map<string, string>();
  /** Key `contactId|companyId` -> contact->company type ids. */
  private readonly links = new Map<string, Set<number>>();

  /**
   * @param now - emulated clock
   * @param portalId - account id, quoted in property-value errors
   * @param firstId - first record id handed out
   * @param onChange - told of every committed change
   */
  constructor(
    private readonly now: () => number,
    private readonly portalId: number,
    private readonly firstId: number,
    private readonly onChange: (change: StoreChange) => void,
  ) {
    this.clear();
  }

  /** Drop every record, custom property and association. */
  clear(): void {
    this.nextId = this.firstId;
    this.links.clear();
    this.uniqueIndex.clear();
    this.uniqueNames.clear();
    for (const objectType of ['contacts', 'companies'] as const) {
      this.objects[objectType].clear();
      this.definitions[objectType].clear();
      for (const definition of builtinProperties(objectType, this.now())) {
        this.definitions[objectType].set(definition.name, definition);
      }
    }
  }

  /** Property definitions of an object type. */
  propertyDefinitions(objectType: HubspotObjectType): HubspotPropertyDefinition[] {
    return [...this.definitions[objectType].values()];
  }

  /** One property definition. */
  property(objectType: HubspotObjectType, name: string): HubspotPropertyDefinition | undefined {
    return this.definitions[objectType].get(name);
  }

  /** Add or replace a property definition. */
  putProperty(objectType: HubspotObjectType, definition: HubspotPropertyDefinition): void {
    this.definitions[objectType].set(definition.name, definition);
    this.reindex(objectType);
  }

  private reindex(objectType: HubspotObjectType): void {
    this.uniqueNames.delete(objectType);
    for (const key of [...this.uniqueIndex.keys()])
      if (key.startsWith(`${objectType}|`)) this.uniqueIndex.delete(key);
    for (const record of this.objects[objectType].values()) if (!record.archived) this.index(record, true);
  }

  private index(record: StoredObject, add: boolean): void {
    for (const name of this.uniqueProperties(record.objectType)) {
      const value = record.properties[name];
      if (value === undefined) continue;
      const key = `${record.objectType}|${name}|${value}`;
      if (add) this.uniqueIndex.set(key, record.id);
      else if (this.uniqueIndex.get(key) === record.id) this.uniqueIndex.delete(key);
    }
  }

  /** Remove a custom property definition (values stay on records, as in HubSpot). */
  deleteProperty(objectType: HubspotObjectType, name: string): void {
    this.definitions[objectType].delete(name);
    this.reindex(objectType);
  }

  /** Properties whose values must be distinct across records (email for contacts, plus `hasUniqueValue`). */
  uniqueProperties(objectType: HubspotObjectType): string[] {
    const cached = this.uniqueNames.get(objectType);
    if (cached !== undefined) return cached;
    const names = [...this.definitions[objectType].values()]
      .filter((definition) => definition.hasUniqueValue && definition.name !== 'hs_object_id')
      .map((definition) => definition.name);
    const all = objectType === 'contacts' ? ['email', ...names] : names;
    this.uniqueNames.set(objectType, all);
    return all;
  }

  /** Whether `name` may serve as `idProperty`: the record id, contact email, or a `hasUniqueValue` property. */
  isIdProperty(objectType: HubspotObjectType, name: string): boolean {
    if (name === 'hs_object_id') return true;
    if (objectType === 'contacts' && name === 'email') return true;
    return this.definitions[objectType].get(name)?.hasUniqueValue === true;
  }

  /** Normalize a value the way HubSpot stores it (emails lower-cased and trimmed). */
  normalize(propertyName: string, value: string): string {
    return propertyName === 'email' ? value.trim().toLowerCase() : value;
  }

  /** The record `id` names under `idProperty` (default the record id); archived ones only when asked. */
  find(
    objectType: HubspotObjectType,
    id: string,
    idProperty = 'hs_object_id',
    archived = false,
  ): StoredObject | undefined {
    if (idProperty === 'hs_object_id') {
      const found = this.objects[objectType].get(id);
      return found !== undefined && found.archived === archived ? found : undefined;
    }
    const wanted = this.normalize(idProperty, id);
    if (!archived && this.uniqueProperties(objectType).includes(idProperty)) {
      const holder = this.uniqueIndex.get(`${objectType}|${idProperty}|${wanted}`);
      return holder === undefined ? undefined : this.objects[objectType].get(holder);
    }
    for (const record of this.objects[objectType].values()) {
      if (record.archived === archived && record.properties[idProperty] === wanted) return record;
    }
    return undefined;
  }

  /** Records of a type, ordered by id. */
  list(objectType: HubspotObjectType, archived = false): StoredObject[] {
    return [...this.objects[objectType].values()]
      .filter((record) => record.archived === archived)
      .sort((left, right) => Number(left.id) - Number(right.id));
  }

  /**
   * Validate a create (target undefined) or update, without changing anything.
   * `claims` holds unique values taken by earlier inputs of the same batch.
   */
  planWrite(
    objectType: HubspotObjectType,
    target: StoredObject | undefined,
    input: InputProperties,
    claims: BatchClaims = new Map(),
  ): PlanResult {
    const self: string | symbol = target?.id ?? Symbol('new record');
    const issues: PropertyValueIssue[] = [];
    const changes: Record<string, string | null> = {};
    const issue = (name: string, error: string, message: string): void => {
      issues.push({
        isValid: false,
        message,
        error,
        name,
        localizedErrorMessage: message,
        portalId: this.portalId,
      });
    };
    for (const [name, raw] of Object.entries(input)) {
      const definition = this.definitions[objectType].get(name);
      if (definition === undefined) {
        issue(name, 'PROPERTY_DOESNT_EXIST', `Property "${name}" does not exist`);
        continue;
      }
      if (READ_ONLY_PROPERTIES.has(name)) {
        issue(name, 'READ_ONLY_VALUE', `${name} is a read only property; its value cannot be set.`);
        continue;
      }
      if (raw === null || raw === '') {
        changes[name] = null;
        continue;
      }
      const value = this.normalize(name, String(raw));
      if (name === 'email' && !isValidEmail(value)) {
        issue(name, 'INVALID_EMAIL', `Email address ${value} is invalid`);
        continue;
      }
      if (definition.type === 'bool' && value !== 'true' && value !== 'false') {
        issue(name, 'INVALID_BOOLEAN', `${value} is not a valid boolean; use true or false`);
        continue;
      }
      if (
        definition.type === 'enumeration' &&
        definition.options.length > 0 &&
        !definition.options.some((option) => option.value === value)
      ) {
        issue(
          name,
          'INVALID_OPTION',
          `${value} was not one of the allowed options: ${definition.options.map((o) => o.value).join(', ')}`,
        );
        continue;
      }
      changes[name] = value;
    }
    if (issues.length > 0) return { ok: false, failure: propertyValuesInvalid(issues) };

    for (const name of this.uniqueProperties(objectType)) {
      const value = changes[name];
      if (value === undefined || value === null) continue;
      const key = `${name}|${value}`;
      if (claims.has(key) && claims.get(key) !== self) {
        return {
          ok: false,
          failure: {
            ...invalidInput(`Duplicate ${name} values found in batch input: [${value}]`),
            duplicate: true,
          },
        };
      }
      const holder = this.find(objectType, value, name);
      if (holder !== undefined && holder.id !== target?.id) {
        return { ok: false, failure: this.conflict(objectType, name, value, holder.id) };
      }
    }
    for (const name of this.uniqueProperties(objectType)) {
      const value = changes[name];
      if (value !== undefined && value !== null) claims.set(`${name}|${value}`, self);
    }
    return { ok: true, plan: { objectType, target, changes } };
  }

  private conflict(
    objectType: HubspotObjectType,
    name: string,
    value: string,
    existingId: string,
  ): WriteFailure {
    const message =
      objectType === 'contacts' && name === 'email'
        ? `Contact already exists. Existing ID: ${existingId}`
        : `A ${objectTypeLabel(objectType).toLowerCase()} with ${name} "${value}" already exists. Existing ID: ${existingId}`;
    return { httpStatus: 409, duplicate: true, body: { status: 'error', message, category: 'CONFLICT' } };
  }

  /** Apply a validated plan; returns the record and whether it was created. */
  commit(plan: WritePlan): { record: StoredObject; created: boolean } {
    const at = this.now();
    if (plan.target === undefined) {
      this.nextId += 1;
      const id = String(this.nextId);
      const properties: Record<string, string> = {};
      for (const [name, value] of Object.entries(plan.changes)) if (value !== null) properties[name] = value;
      Object.assign(properties, {
        hs_object_id: id,
        createdate: iso(at),
        lastmodifieddate: iso(at),
        hs_lastmodifieddate: iso(at),
      });
      const record: StoredObject = {
        id,
        objectType: plan.objectType,
        properties,
        createdAt: at,
        updatedAt: at,
        archived: false,
        archivedAt: undefined,
      };
      this.objects[plan.objectType].set(id, record);
      this.index(record, true);
      this.onChange({ kind: 'creation', objectType: plan.objectType, objectId: id, occurredAt: at });
      for (const [name, value] of Object.entries(plan.changes)) {
        if (value !== null) this.emitProperty(plan.objectType, id, name, value, at);
      }
      return { record, created: true };
    }
    const record = plan.target;
    this.index(record, false);
    for (const [name, value] of Object.entries(plan.changes)) {
      const before = record.properties[name];
      if (value === null) delete record.properties[name];
      else record.properties[name] = value;
      if (before !== (value ?? undefined))
        this.emitProperty(plan.objectType, record.id, name, value ?? '', at);
    }
    this.index(record, true);
    record.updatedAt = at;
    record.properties.lastmodifieddate = iso(at);
    record.properties.hs_lastmodifieddate = iso(at);
    return { record, created: false };
  }

  private emitProperty(
    objectType: HubspotObjectType,
    objectId: string,
    name: string,
    value: string,
    at: number,
  ): void {
    this.onChange({
      kind: 'propertyChange',
      objectType,
      objectId,
      propertyName: name,
      propertyValue: value,
      occurredAt: at,
    });
  }

  /** Archive a record and drop its associations. Returns false when it does not exist. */
  archive(objectType: HubspotObjectType, id: string): boolean {
    const record = this.find(objectType, id);
    if (record === undefined) return false;
    const at = this.now();
    this.index(record, false);
    record.archived = true;
    record.archivedAt = at;
    for (const key of [...this.links.keys()]) {
      const [contactId, companyId] = key.split('|');
      if ((objectType === 'contacts' ? contactId : companyId) === id) this.links.delete(key);
    }
    this.onChange({ kind: 'deletion', objectType, objectId: id, occurredAt: at });
    return true;
  }

  /** Add contact->company association types (279 and/or 1). */
  associate(contactId: string, companyId: string, typeIds: readonly number[]): void {
    const key = `${contactId}|${companyId}`;
    const types = this.links.get(key) ?? new Set<number>();
    for (const typeId of typeIds) types.add(typeId);
    this.links.set(key, types);
  }

  /** Remove an association (all types). Returns whether one existed. */
  dissociate(contactId: string, companyId: string): boolean {
    return this.links.delete(`${contactId}|${companyId}`);
  }

  /** Associated records of `objectType`/`id` of the other type, with type ids seen from `objectType`. */
  associationsOf(objectType: HubspotObjectType, id: string): { id: string; typeIds: number[] }[] {
    const out: { id: string; typeIds: number[] }[] = [];
    for (const [key, types] of this.links) {
      const [contactId = '', companyId = ''] = key.split('|');
      if (objectType === 'contacts' && contactId === id)
        out.push({ id: companyId, typeIds: [...types].sort() });
      if (objectType === 'companies' && companyId === id) {
        out.push({
          id: contactId,
          typeIds: [...types].map((typeId) => CONTACT_TO_COMPANY_TYPES.get(typeId) ?? typeId).sort(),
        });
      }
    }
    return out.sort((left, right) => Number(left.id) - Number(right.id));
  }

  /** Every association. */
  allAssociations(): HubspotAssociationRecord[] {
    return [...this.links].map(([key, types]) => {
      const [contactId = '', companyId = ''] = key.split('|');
      return { contactId, companyId, typeIds: [...types].sort((left, right) => left - right) };
    });
  }

  /** A public, copied view of a record. */
  snapshot(record: StoredObject): HubspotObjectRecord {
    return {
      id: record.id,
      properties: { ...record.properties },
      createdAt: iso(record.createdAt),
      updatedAt: iso(record.updatedAt),
      archived: record.archived,
    };
  }

  /** HubSpot's object type id, for messages. */
  typeId(objectType: HubspotObjectType): string {
    return objectTypeId(objectType);
  }
}

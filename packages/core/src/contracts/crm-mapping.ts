import type { CrmPropertyValue } from './crm-adapter.js';
import type { LeadField } from './fields.js';
import type { Lead } from './lead.js';

/*
 * How leads map onto CRM records, as data. Orchestration validates and
 * applies a mapping (`defineFieldMapping`, `mapLead`); adapters only declare
 * their default one.
 */

/**
 * How a mapped property treats a value already in the CRM:
 * - `overwrite`: always write (the default);
 * - `fillEmpty`: write only when the CRM's value is empty, or the record is new;
 * - `never`: write only when the record is new; never touch an existing record's value.
 */
export type CrmConflictPolicy = 'overwrite' | 'fillEmpty' | 'never';

/**
 * Where a property's value comes from: a Lead field path (`title`,
 * `company.domain`), the lead's `id`, a custom field (`custom.plan`), or a
 * function of the lead.
 */
export type CrmFieldSource = LeadField | 'id' | `custom.${string}` | ((lead: Lead) => unknown);

/** One mapped CRM property. */
export interface CrmFieldMappingEntry {
  /** Where the value comes from. */
  readonly from: CrmFieldSource;
  /** The CRM property written, such as `jobtitle`. */
  readonly to: string;
  /**
   * Turn the source value into what the CRM stores. Return `undefined`,
   * `null` or `''` for "no value". Required for object and array sources
   * (`location`, `company.technologies`).
   */
  readonly transform?: (value: unknown, lead: Lead) => unknown;
  /** Value written when the source (after `transform`) is empty. */
  readonly default?: CrmPropertyValue;
  /** Whether a lead without a value (after `default`) is rejected before any call. */
  readonly required?: boolean;
  /** What to do with a value already in the CRM. Default `overwrite`. */
  readonly conflict?: CrmConflictPolicy;
}

/** The unique property records are upserted by. */
export interface CrmIdPropertyMapping {
  /** Where the key comes from, usually `email`. */
  readonly from: CrmFieldSource;
  /** The CRM's unique property, such as `email` or `External_Id__c`. */
  readonly to: string;
  /**
   * Whether keys differ by case. Default `false`: keys are trimmed and
   * lower-cased, so `Ada@X.com` and `ada@x.com` are one record.
   */
  readonly caseSensitive?: boolean;
}

/**
 * How leads become records of one CRM object, as plain data: what
 * `defineFieldMapping()` takes, and what a CRM adapter's descriptor offers as
 * its default mapping.
 */
export interface CrmFieldMappingDefinition {
  /** CRM object type, such as `contacts` or `Lead`. */
  readonly object: string;
  /** The key records are upserted by; a lead without it is rejected. */
  readonly idProperty: CrmIdPropertyMapping;
  /** The mapped properties. */
  readonly fields: readonly CrmFieldMappingEntry[];
}

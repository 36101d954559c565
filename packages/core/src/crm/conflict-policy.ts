import type { CrmProperties, CrmPropertyValue, CrmRecordSnapshot } from '../contracts/crm-adapter.js';
import type { CrmFieldMapping } from './mapping.js';

function isEmptyValue(value: CrmPropertyValue | null | undefined): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

/**
 * Drop the properties a record must not overwrite, given what the CRM holds:
 * `never` properties are dropped, `fillEmpty` ones are dropped unless the
 * CRM's value is empty (missing, null or blank). A record the CRM does not
 * hold yet (no snapshot) is sent whole.
 */
export function applyConflictPolicy(
  properties: CrmProperties,
  guarded: CrmFieldMapping['guardedProperties'],
  snapshot: CrmRecordSnapshot | undefined,
): CrmProperties {
  if (!snapshot) return properties;
  const out: Record<string, CrmPropertyValue> = {};
  for (const [name, value] of Object.entries(properties)) {
    const policy = guarded[name];
    if (policy === 'never') continue;
    if (policy === 'fillEmpty' && !isEmptyValue(snapshot.properties[name])) continue;
    out[name] = value;
  }
  return out;
}

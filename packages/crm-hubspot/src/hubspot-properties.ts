import { ConfigurationError, ValidationError } from '@leadpipe/core/adapter-kit';
import type { HubspotClient } from './hubspot-client.js';
import { propertiesResponseSchema } from './hubspot-schemas.js';

/** Objects the adapter writes and reads. */
export const HUBSPOT_OBJECTS: readonly string[] = ['contacts', 'companies'];

/** What a HubSpot property's internal name looks like. */
export const HUBSPOT_PROPERTY_NAME = /^[A-Za-z0-9_]+$/;

/** A property definition, as discovered through the Properties API. */
export interface HubspotProperty {
  /** Internal name, such as `email` or `external_id`. */
  readonly name: string;
  /** Label shown in HubSpot. */
  readonly label: string;
  /** Value type: `string`, `number`, `date`, `datetime`, `enumeration`, `bool`. */
  readonly type: string;
  /** UI field type. */
  readonly fieldType: string;
  /** Whether values are unique (such a property can be an upsert `idProperty`). */
  readonly hasUniqueValue: boolean;
  /** Whether HubSpot defined it (otherwise it is a custom property). */
  readonly hubspotDefined: boolean;
  /** Allowed values of an enumeration. */
  readonly options: readonly string[];
}

/** Property discovery and the id-property check; see {@link createHubspotProperties}. */
export interface HubspotProperties {
  /** Every property of an object, cached; `refresh` reads again. */
  properties(
    object: string,
    options?: { readonly refresh?: boolean; readonly signal?: AbortSignal },
  ): Promise<HubspotProperty[]>;
  /** Check that `idProperty` can key upserts of `object`, once per pair (a transient failure is tried again). */
  checkIdProperty(
    object: string,
    idProperty: string,
    options?: { readonly signal?: AbortSignal },
  ): Promise<void>;
}

/** Throws a `ValidationError` naming `field` unless `object` is one HubSpot adapter objects. */
function checkHubspotObject(object: unknown, adapterId: string, field = 'object'): asserts object is string {
  if (typeof object !== 'string' || !HUBSPOT_OBJECTS.includes(object)) {
    throw new ValidationError(
      [{ field, reason: `must be one of ${HUBSPOT_OBJECTS.join(', ')}, got ${JSON.stringify(object)}` }],
      { providerId: adapterId },
    );
  }
}

/**
 * Property discovery through the Properties API (cached per object for the
 * adapter's life) and the check that an upsert's `idProperty` is unique.
 */
export function createHubspotProperties(client: HubspotClient, adapterId: string): HubspotProperties {
  const propertyCache = new Map<string, Promise<HubspotProperty[]>>();
  const idPropertyChecks = new Map<string, Promise<void>>();

  async function properties(
    object: string,
    options: { readonly refresh?: boolean; readonly signal?: AbortSignal } = {},
  ): Promise<HubspotProperty[]> {
    checkHubspotObject(object, adapterId);
    const cached = propertyCache.get(object);
    if (cached !== undefined && options.refresh !== true) return cached;
    const loading = client
      .call(
        { method: 'GET', path: `/crm/v3/properties/${object}`, schema: propertiesResponseSchema },
        { signal: options.signal },
      )
      .then((response) =>
        response.data.results.map((definition) => ({
          name: definition.name,
          label: definition.label,
          type: definition.type,
          fieldType: definition.fieldType,
          hasUniqueValue: definition.hasUniqueValue,
          hubspotDefined: definition.hubspotDefined,
          options: definition.options.map((option) => option.value),
        })),
      );
    propertyCache.set(object, loading);
    loading.catch(() => {
      if (propertyCache.get(object) === loading) propertyCache.delete(object);
    });
    return loading;
  }

  async function checkIdProperty(
    object: string,
    idProperty: string,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<void> {
    checkHubspotObject(object, adapterId);
    if (typeof idProperty !== 'string' || !HUBSPOT_PROPERTY_NAME.test(idProperty)) {
      throw new ValidationError([{ field: 'idProperty', reason: 'must be a HubSpot property name' }], {
        providerId: adapterId,
      });
    }
    if (idProperty === 'hs_object_id') {
      throw new ConfigurationError('invalid_configuration', {
        message: `idProperty: hs_object_id cannot create records; upsert ${object} by email or by a property with hasUniqueValue`,
        providerId: adapterId,
      });
    }
    // HubSpot enforces unique contact emails itself, though the Properties API reports hasUniqueValue false.
    if (object === 'contacts' && idProperty === 'email') return;
    const key = `${object}\u0000${idProperty}`;
    let check = idPropertyChecks.get(key);
    if (check === undefined) {
      check = (async () => {
        const list = await properties(object, { refresh: true, signal: options.signal });
        const definition = list.find((item) => item.name === idProperty);
        if (definition === undefined) {
          throw new ConfigurationError('invalid_configuration', {
            message: `idProperty: "${idProperty}" is not a property of HubSpot ${object}; create it with hasUniqueValue: true`,
            providerId: adapterId,
          });
        }
        if (!definition.hasUniqueValue) {
          throw new ConfigurationError('invalid_configuration', {
            message: `idProperty: "${idProperty}" of HubSpot ${object} does not have hasUniqueValue; HubSpot upserts only by a unique property ("Unable to perform update/upsert by non-unique property")`,
            providerId: adapterId,
          });
        }
      })();
      idPropertyChecks.set(key, check);
      const pending = check;
      // A check that failed for a transient reason (network, 5xx) is tried again next time.
      pending.catch((error: unknown) => {
        if (!ConfigurationError.isInstance(error) && idPropertyChecks.get(key) === pending) {
          idPropertyChecks.delete(key);
        }
      });
    }
    return check;
  }

  return { properties, checkIdProperty };
}

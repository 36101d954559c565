import { type CrmCallOptions, ValidationError } from '@leadpipe/core/adapter-kit';
import type { SalesforceApi } from './salesforce-api.js';
import { SALESFORCE_PROVIDER_ID } from './salesforce-auth.js';
import {
  describeSchema,
  type SalesforceField,
  type SalesforceObjectDescription,
  toDescription,
} from './salesforce-fields.js';

/** Object descriptions, read once per object (a failed read is tried again next time). */
export interface SalesforceDescriptions {
  /** The description of `object`. */
  describe(object: string, options: CrmCallOptions): Promise<SalesforceObjectDescription>;
}

/** Cache `sobjects/{object}/describe` answers for the adapter's life. */
export function createDescriptions(api: SalesforceApi): SalesforceDescriptions {
  const descriptions = new Map<string, Promise<SalesforceObjectDescription>>();
  return {
    describe(object, options) {
      let cached = descriptions.get(object);
      if (cached === undefined) {
        cached = api
          .call({
            path: `sobjects/${object}/describe`,
            schema: describeSchema,
            ...(options.signal === undefined ? {} : { signal: options.signal }),
            onRateLimit: options.onRateLimit,
          })
          .then((response) => toDescription(response.data));
        descriptions.set(object, cached);
        cached.catch(() => descriptions.delete(object));
      }
      return cached;
    },
  };
}

/**
 * The External ID field `idProperty` names on the object.
 *
 * @throws ValidationError naming `idProperty` when it is not an External ID field (or is `Id`).
 */
export function idFieldOf(description: SalesforceObjectDescription, idProperty: unknown): SalesforceField {
  const field = typeof idProperty === 'string' ? description.fields.get(idProperty.toLowerCase()) : undefined;
  if (field === undefined || !field.idLookup || field.name === 'Id') {
    throw new ValidationError(
      [
        {
          field: 'idProperty',
          reason: `${JSON.stringify(idProperty)} is not an External ID field of ${description.name}`,
        },
      ],
      { providerId: SALESFORCE_PROVIDER_ID },
    );
  }
  return field;
}

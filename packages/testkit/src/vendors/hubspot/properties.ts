import type { HubspotObjectType, HubspotPropertyDefinition, HubspotPropertyType } from './types.js';
import { iso } from './util.js';

/** Properties HubSpot maintains itself; writing them fails with READ_ONLY_VALUE. */
export const READ_ONLY_PROPERTIES: ReadonlySet<string> = new Set([
  'hs_object_id',
  'createdate',
  'lastmodifieddate',
  'hs_lastmodifieddate',
]);

/** Properties returned when a request names none. */
export const DEFAULT_RETURNED_PROPERTIES: Readonly<Record<HubspotObjectType, readonly string[]>> = {
  contacts: ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'],
  companies: ['createdate', 'domain', 'hs_lastmodifieddate', 'hs_object_id', 'name'],
};

/** Properties the free-text `query` of a search looks in. */
export const SEARCHABLE_PROPERTIES: Readonly<Record<HubspotObjectType, readonly string[]>> = {
  contacts: ['email', 'firstname', 'lastname', 'phone', 'company', 'website'],
  companies: ['name', 'domain', 'website', 'phone'],
};

type Builtin = readonly [name: string, type: HubspotPropertyType, fieldType: string, label: string];

const SYSTEM: readonly Builtin[] = [
  ['hs_object_id', 'number', 'number', 'Record ID'],
  ['createdate', 'datetime', 'date', 'Create Date'],
  ['lastmodifieddate', 'datetime', 'date', 'Last Modified Date'],
  ['hs_lastmodifieddate', 'datetime', 'date', 'Object last modified date/time'],
];

const BUILTINS: Readonly<Record<HubspotObjectType, readonly Builtin[]>> = {
  contacts: [
    ...SYSTEM,
    ['email', 'string', 'text', 'Email'],
    ['firstname', 'string', 'text', 'First Name'],
    ['lastname', 'string', 'text', 'Last Name'],
    ['phone', 'string', 'phonenumber', 'Phone Number'],
    ['mobilephone', 'string', 'phonenumber', 'Mobile Phone Number'],
    ['company', 'string', 'text', 'Company Name'],
    ['website', 'string', 'text', 'Website URL'],
    ['jobtitle', 'string', 'text', 'Job Title'],
    ['industry', 'string', 'text', 'Industry'],
    ['city', 'string', 'text', 'City'],
    ['state', 'string', 'text', 'State/Region'],
    ['country', 'string', 'text', 'Country/Region'],
    ['zip', 'string', 'text', 'Postal Code'],
    ['address', 'string', 'text', 'Street Address'],
    ['lifecyclestage', 'enumeration', 'radio', 'Lifecycle Stage'],
    ['hs_lead_status', 'enumeration', 'radio', 'Lead Status'],
    ['numemployees', 'enumeration', 'select', 'Number of Employees'],
    ['annualrevenue', 'string', 'text', 'Annual Revenue'],
    ['linkedin_url', 'string', 'text', 'LinkedIn URL'],
  ],
  companies: [
    ...SYSTEM,
    ['name', 'string', 'text', 'Company name'],
    ['domain', 'string', 'text', 'Company Domain Name'],
    ['website', 'string', 'text', 'Website URL'],
    ['phone', 'string', 'phonenumber', 'Phone Number'],
    ['industry', 'enumeration', 'select', 'Industry'],
    ['numberofemployees', 'number', 'number', 'Number of Employees'],
    ['annualrevenue', 'number', 'number', 'Annual Revenue'],
    ['city', 'string', 'text', 'City'],
    ['state', 'string', 'text', 'State/Region'],
    ['country', 'string', 'text', 'Country/Region'],
    ['description', 'string', 'textarea', 'Description'],
    ['linkedin_company_page', 'string', 'text', 'LinkedIn Company Page'],
  ],
};

/** HubSpot's built-in property definitions of an object type. */
export function builtinProperties(objectType: HubspotObjectType, now: number): HubspotPropertyDefinition[] {
  return BUILTINS[objectType].map(([name, type, fieldType, label], index) => ({
    name,
    label,
    type,
    fieldType,
    groupName: objectType === 'contacts' ? 'contactinformation' : 'companyinformation',
    description: '',
    options: [],
    // HubSpot reports false even for contact email, whose uniqueness it enforces separately.
    hasUniqueValue: name === 'hs_object_id',
    hubspotDefined: true,
    readOnlyValue: READ_ONLY_PROPERTIES.has(name),
    hidden: false,
    formField: !READ_ONLY_PROPERTIES.has(name),
    displayOrder: index,
    createdAt: iso(now),
    updatedAt: iso(now),
  }));
}

/** The JSON HubSpot's Properties API returns for a definition. */
export function propertyJson(definition: HubspotPropertyDefinition): Record<string, unknown> {
  return {
    updatedAt: definition.updatedAt,
    createdAt: definition.createdAt,
    name: definition.name,
    label: definition.label,
    type: definition.type,
    fieldType: definition.fieldType,
    description: definition.description,
    groupName: definition.groupName,
    options: definition.options,
    displayOrder: definition.displayOrder,
    calculated: false,
    externalOptions: false,
    hasUniqueValue: definition.hasUniqueValue,
    hidden: definition.hidden,
    hubspotDefined: definition.hubspotDefined,
    modificationMetadata: {
      archivable: !definition.hubspotDefined,
      readOnlyDefinition: definition.hubspotDefined,
      readOnlyValue: definition.readOnlyValue,
    },
    formField: definition.formField,
  };
}

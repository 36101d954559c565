import { describe, expect, it } from 'vitest';
import { isFieldMapping } from '../src/crm/mapping.js';
import {
  type CrmFieldMappingDefinition,
  defineFieldMapping,
  mapLead,
  registerSecret,
  ValidationError,
} from '../src/index.js';
import { lead } from './crm-fixtures.js';

function definitionError(definition: unknown): ValidationError {
  try {
    defineFieldMapping(definition as CrmFieldMappingDefinition);
  } catch (error) {
    if (ValidationError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected defineFieldMapping to throw');
}

describe('defineFieldMapping', () => {
  it('returns a frozen mapping that knows its guarded properties', () => {
    const mapping = defineFieldMapping({
      object: 'contacts',
      idProperty: { from: 'email', to: 'email' },
      fields: [
        { from: 'title', to: ' jobtitle ', conflict: 'fillEmpty' },
        { from: 'firstName', to: 'firstname' },
        { from: 'custom.source', to: 'lead_source', conflict: 'never' },
      ],
    });
    expect(isFieldMapping(mapping)).toBe(true);
    expect(isFieldMapping({ ...mapping })).toBe(false);
    expect(Object.isFrozen(mapping)).toBe(true);
    expect(mapping.guardedProperties).toEqual({ jobtitle: 'fillEmpty', lead_source: 'never' });
    expect(mapping.fields[0]?.to).toBe('jobtitle');
  });

  it('names every bad setting with its reason', () => {
    const error = definitionError({
      object: '',
      idProperty: { from: 'email', to: 'email' },
      fields: [
        { from: 'jobTitle', to: 'jobtitle' },
        { from: 'title', to: 'jobtitle2', conflict: 'keep' },
        { from: 'title', to: 'x', default: { nested: true } },
      ],
    });
    const fields = error.issues.map((issue) => issue.field);
    expect(fields).toEqual(
      expect.arrayContaining(['object', 'fields[0].from', 'fields[1].conflict', 'fields[2].default']),
    );
    expect(error.issues.find((issue) => issue.field === 'fields[0].from')?.reason).toMatch(/Lead field/);
    expect(error.code).toBe('validation_failed');
  });

  it('rejects a property mapped twice, the id property mapped as a field, and lists without a transform', () => {
    const error = definitionError({
      object: 'contacts',
      idProperty: { from: 'email', to: 'email' },
      fields: [
        { from: 'title', to: 'jobtitle' },
        { from: 'department', to: 'jobtitle' },
        { from: 'email', to: 'email' },
        { from: 'company.technologies', to: 'tech' },
      ],
    });
    expect(error.issues).toEqual([
      { field: 'fields[1].to', reason: '"jobtitle" is already mapped by fields[0]' },
      { field: 'fields[2].to', reason: '"email" is the id property; it is written from the key' },
      { field: 'fields[3].from', reason: expect.stringMatching(/transform/) },
    ]);
  });

  it('accepts lists and objects with a transform', () => {
    const mapping = defineFieldMapping({
      object: 'contacts',
      idProperty: { from: 'email', to: 'email' },
      fields: [
        { from: 'company.technologies', to: 'tech', transform: (value) => (value as string[]).join(';') },
      ],
    });
    const result = mapLead(
      lead({ email: 'a@acme.com', company: { technologies: ['react', 'node'] } }),
      mapping,
    );
    expect(result.record?.properties).toEqual({ tech: 'react;node' });
  });
});

describe('mapLead', () => {
  const mapping = defineFieldMapping({
    object: 'contacts',
    idProperty: { from: 'email', to: 'email' },
    fields: [
      { from: 'firstName', to: 'firstname' },
      { from: 'company.name', to: 'company', required: true },
      { from: 'company.headcount', to: 'numberofemployees' },
      { from: 'custom.plan', to: 'plan', default: 'free' },
      { from: 'id', to: 'leadpipe_id' },
      { from: (input) => (input.title ? input.title.toUpperCase() : undefined), to: 'jobtitle' },
      {
        from: 'phone',
        to: 'phone',
        transform: (value) => (typeof value === 'string' ? value.slice(1) : value),
      },
    ],
  });

  it('reads paths, custom fields, functions and transforms, applies defaults, and lower-cases the key', () => {
    const input = lead({
      email: 'Ada@Example.COM',
      firstName: 'Ada',
      title: 'cto',
      phone: '+14155550100',
      company: { name: 'Example', headcount: 42 },
    });
    const result = mapLead(input, mapping);
    expect(result.issues).toBeUndefined();
    expect(result.record).toEqual({
      key: 'ada@example.com',
      properties: {
        firstname: 'Ada',
        company: 'Example',
        numberofemployees: 42,
        plan: 'free',
        leadpipe_id: input.id,
        jobtitle: 'CTO',
        phone: '14155550100',
      },
    });
  });

  it('omits empty values instead of sending them', () => {
    const result = mapLead(
      lead({ email: 'a@acme.com', company: { name: 'Acme' }, custom: { plan: '  ' } }),
      mapping,
    );
    expect(result.record?.properties).toEqual({
      company: 'Acme',
      plan: 'free',
      leadpipe_id: expect.any(String),
    });
  });

  it('fails on a missing key and a missing required value, naming the CRM property', () => {
    const result = mapLead(lead({ firstName: 'Ada' }), mapping);
    expect(result.record).toBeUndefined();
    expect(result.issues).toEqual([
      { field: 'email', reason: 'id property is missing (from email)' },
      { field: 'company', reason: 'required value is missing (from company.name)' },
    ]);
  });

  it('keeps the case of keys when the id property is case-sensitive', () => {
    const sensitive = defineFieldMapping({
      object: 'Lead',
      idProperty: { from: 'custom.externalId', to: 'External_Id__c', caseSensitive: true },
      fields: [],
    });
    expect(mapLead(lead({ custom: { externalId: ' AbC-1 ' } }), sensitive).record?.key).toBe('AbC-1');
    expect(mapLead(lead({ custom: { externalId: 12 } }), sensitive).record?.key).toBe('12');
  });

  it('rejects values that are not strings, numbers or booleans, and transforms that throw, without leaking secrets', () => {
    registerSecret('map-secret-7f3k2');
    const strict = defineFieldMapping({
      object: 'contacts',
      idProperty: { from: 'email', to: 'email' },
      fields: [
        { from: (input) => input.location, to: 'address' },
        { from: 'custom.score', to: 'score' },
        {
          from: 'title',
          to: 'jobtitle',
          transform: () => {
            throw new Error('lookup failed with key map-secret-7f3k2');
          },
        },
      ],
    });
    const result = mapLead(
      lead({ email: 'a@acme.com', title: 'CEO', location: { city: 'Paris' }, custom: { score: Number.NaN } }),
      strict,
    );
    expect(result.issues).toEqual([
      { field: 'address', reason: 'value is an object; transform it into a string, number or boolean' },
      { field: 'score', reason: 'value is not a finite number' },
      { field: 'jobtitle', reason: 'transform threw: lookup failed with key [REDACTED]' },
    ]);
  });
});
